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
import time
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


class WarmRunner:
    """Runs the flows webhooks hint at in this process, warm — the fast path of ``receiver --runs here``.

    A run Dagster launches starts a process (imports, code load: 2-3 s on a 2-core machine) after
    its queue's next dequeue; a change announced by a webhook would wait longer for that than for the
    run itself. Here the receiver keeps the definitions loaded and executes the flow's job in process
    against the same Dagster instance (``execute_in_process``): the run shows in the UI, its
    failure alerts like any other, and the engine's claims keep it from writing a record another
    run is writing. Runs go one at a time, from one worker thread; hints arriving while a flow's run
    is going make one more run of it after (they may have come too late for its read).

    Not run here, but asked of Dagster (``fallback``): a flow of a pair (its runs must not overlap
    the other flow's, which Dagster's queue ensures) and a flow still waiting for the first sync of
    those named in ``after:``.
    """

    def __init__(self, file, instance=None, fallback: Launcher | None = None) -> None:
        from integrations_dagster.build import build_definitions, integration_specs

        self.defs = build_definitions(file)
        self.specs = {spec.job_name: spec for i in file.integrations for spec in integration_specs(i)}
        self._instance, self.fallback = instance, fallback
        self._pending: dict[str, int] = {}  # job -> newest hint waiting for a run
        self._cond = threading.Condition()
        self._busy = False
        self.runs = 0  # done here (for tests and metrics)
        threading.Thread(target=self._work, daemon=True, name="warm-runs").start()

    @property
    def instance(self):
        if self._instance is None:
            from dagster import DagsterInstance

            self._instance = DagsterInstance.get()
        return self._instance

    def request_later(self, job_name: str, hint: int) -> None:
        from integrations_dagster.flows.triggers import held_back

        spec = self.specs.get(job_name)
        if spec is None:
            return
        if spec.reverse or held_back(spec):
            if self.fallback is not None:
                self.fallback.request_later(job_name, hint)
            return  # (else the webhook sensor asks for it)
        with self._cond:
            self._pending[job_name] = max(hint, self._pending.get(job_name, 0))
            self._cond.notify()

    def idle(self, timeout: float = 30.0) -> bool:
        """Wait until no run is waiting or going here (tests)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait()
                job_name = next(iter(self._pending))
                hint = self._pending.pop(job_name)
                self._busy = True
            try:
                self.defs.resolve_job_def(job_name).execute_in_process(
                    instance=self.instance, raise_on_error=False,
                    tags={TRIGGER_TAG: "webhook", HINT_TAG: str(hint)})
                self.runs += 1
            except Exception as exc:  # a run that cannot even start: the sensor behind it tries again
                log.warning("run of %s for webhook hint %s did not start: %s", job_name, hint, exc)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
