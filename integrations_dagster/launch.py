"""Asking Dagster for a flow's run now, from outside the daemon: the webhook receiver's fast path.

Dagster's sensor daemon evaluates sensors at most every 5 s (``MIN_INTERVAL_LOOP_TIME`` in
dagster/_daemon/sensor.py), so a webhook sensor alone would add up to 5 s to every change. The
receiver therefore submits the flow's job itself through the webserver's GraphQL API
(``submit_job_execution`` [doc: docs.dagster.io/api/graphql/dagster-graphql]) as soon as a hint is
stored: the run goes through the same queue, tag limits and launcher as any other. It carries the
newest hint's id (``integrations/webhook_hint``), so the webhook sensor, which still ticks behind it
(the webserver may be down), finds those hints taken and requests nothing more.

A run already waiting in the queue will read the change when it starts: no second one is asked for.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

log = logging.getLogger("integrations_dagster.launch")
HINT_TAG = "integrations/webhook_hint"
TRIGGER_TAG = "integrations/trigger"
LOCATION = "integrations_dagster"  # workspace.yaml's location_name
WAITING = ("QUEUED", "NOT_STARTED")


@dataclass
class Launcher:
    """Submits runs to one Dagster webserver (``url``: ``http://127.0.0.1:3000``), one at a time."""

    url: str
    location: str = LOCATION
    repository: str = "__repository__"  # the name Dagster gives the repository of a Definitions object
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _client: object = field(default=None, repr=False)

    def client(self):
        if self._client is None:
            from urllib.parse import urlparse

            from dagster_graphql import DagsterGraphQLClient

            parsed = urlparse(self.url)
            self._client = DagsterGraphQLClient(parsed.hostname or "127.0.0.1", port_number=parsed.port,
                                                use_https=parsed.scheme == "https", timeout=10)
        return self._client

    def request(self, job_name: str, hint: int) -> str | None:
        """Submit ``job_name`` unless a run of it is still waiting to start; the run id, or None."""
        with self._lock:
            try:
                if self._waiting(job_name):
                    return None
                return self.client().submit_job_execution(
                    job_name, repository_location_name=self.location, repository_name=self.repository,
                    tags={TRIGGER_TAG: "webhook", HINT_TAG: str(hint)})
            except Exception as exc:  # the sensor behind it requests the run within seconds
                log.warning("could not ask Dagster at %s for a run of %s: %s", self.url, job_name, exc)
                return None

    def request_later(self, job_name: str, hint: int) -> None:
        """:meth:`request` from a thread of its own: the vendor's 2xx does not wait for Dagster."""
        threading.Thread(target=self.request, args=(job_name, hint), daemon=True,
                         name=f"launch-{job_name}").start()

    def _waiting(self, job_name: str) -> bool:
        query = """query Waiting($job: String!, $statuses: [RunStatus!]) {
          runsOrError(filter: {pipelineName: $job, statuses: $statuses}, limit: 1) {
            ... on Runs { results { runId } } } }"""
        data = self.client()._execute(query, {"job": job_name, "statuses": list(WAITING)})
        return bool(((data or {}).get("runsOrError") or {}).get("results"))
