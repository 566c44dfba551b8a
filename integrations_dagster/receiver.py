"""The webhook receiver: one HTTP service for every connection's deliveries, in front of the sensors.

``POST /hooks/<integration>/<connection>`` — the URL each vendor's webhook subscription points at.
The connection's connector verifies the delivery (:meth:`ConnectorResource.webhook_hint`): a bad
signature is answered 401 and nothing is stored. A good one is stored in the state store as a hint
(``webhook_events``: which entities of which connection changed) *before* the 2xx goes out, so a
delivery the vendor saw accepted is never lost. Then it asks Dagster for the run of each flow the
hint concerns at once (:mod:`.launch`, through the webserver); each flow's webhook sensor
(``flows.triggers``) ticks behind it and requests a run for hints no run took (the webserver was down).

The delivery's content is never used: the run reads the source as any run does, so a lost,
duplicated or reordered webhook changes nothing but how soon a change lands, and the schedule's
poll still catches what no webhook announced. ``GET /hooks`` lists the newest stored hints (no
secrets, no bodies), for a person checking that deliveries arrive.
"""

from __future__ import annotations

import hashlib
import logging

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from integrations_dagster import config as cfg
from integrations_dagster.build import connection_resource, integration_specs
from integrations_dagster.connectors.http import ApiError
from integrations_dagster.connectors.signatures import WebhookRefused
from integrations_dagster.launch import Launcher, WarmRunner
from integrations_dagster.state.store import StateStore

log = logging.getLogger("integrations_dagster.receiver")
MAX_BODY = 5 * 1024 * 1024  # a delivery larger than this is no vendor's webhook


class Receiver:
    """The receiver's state: the integrations file, the connectors built from it (lazily, with the
    environment's credentials) and the state store the hints go to."""

    def __init__(self, file: cfg.IntegrationsFile, store: StateStore, launcher: Launcher | WarmRunner | None = None) -> None:
        self.file, self.store, self.launcher = file, store, launcher
        self._connectors: dict[tuple[str, str], object] = {}
        # (integration, connection) -> entities some enabled flow reads from that connection
        self.wanted: dict[tuple[str, str], set[str]] = {}
        # (integration, connection, entity) -> the jobs of the webhook-triggered flows reading it
        self.jobs: dict[tuple[str, str, str], list[str]] = {}
        for integration in file.integrations:
            for spec in integration_specs(integration):  # (the enabled flows)
                self.wanted.setdefault((integration.name, spec.source), set()).add(spec.entity)
                if integration.flows[spec.name].triggers.webhook:
                    self.jobs.setdefault((integration.name, spec.source, spec.entity), []).append(spec.job_name)

    def connector(self, integration: str, connection: str):
        key = (integration, connection)
        if key not in self._connectors:
            found = next((i for i in self.file.integrations if i.name == integration), None)
            if found is None or connection not in found.connections:
                return None
            self._connectors[key] = connection_resource(connection, found.connections[connection], resolved=True)
        return self._connectors[key]

    async def receive(self, request: Request) -> JSONResponse:
        integration, connection = request.path_params["integration"], request.path_params["connection"]
        try:
            connector = self.connector(integration, connection)
        except cfg.ConfigError as exc:
            log.error("webhook for %s.%s: %s", integration, connection, exc)
            return JSONResponse({"error": "connection not configured"}, status_code=503)
        if connector is None:
            return JSONResponse({"error": f"no connection {integration}.{connection}"}, status_code=404)
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "too large"}, status_code=413)
        headers = dict(request.headers)
        signed = await run_in_threadpool(self.signed_by, integration, connection, connector)
        try:
            hint = signed.webhook_hint(headers, body)
        except WebhookRefused as exc:
            log.warning("webhook for %s.%s refused: %s", integration, connection, exc)
            return JSONResponse({"error": "signature not verified"}, status_code=401)
        entities = (hint.entities & self.wanted.get((integration, connection), set())) if hint else set()
        if not entities:
            return JSONResponse({"stored": 0})
        digest = hashlib.sha256(body).hexdigest()
        newest = await run_in_threadpool(self.store.add_webhook_event, integration, connection, entities,
                                         hint.topic, digest)
        if self.launcher is not None:
            for entity in sorted(entities):
                for job in self.jobs.get((integration, connection, entity), ()):
                    self.launcher.request_later(job, newest)
        return JSONResponse({"stored": len(entities), "id": newest})

    def signed_by(self, integration: str, connection: str, connector):
        """The connector with the secret that verifies deliveries: the connection's configured
        ``webhook_secret``, else the one ``integrations-dagster subscribe`` stored."""
        if getattr(connector, "webhook_secret", None):
            return connector
        # Read for every delivery (one row by key): `subscribe` again — a leaked token replaced — and the
        # running receiver refuses the old token at once, without a restart.
        secret = (self.store.token(webhook_secret_key(integration, connection)) or {}).get("secret")
        return connector.model_copy(update={"webhook_secret": secret}) if secret else connector

    async def recent(self, _: Request) -> JSONResponse:
        rows = await run_in_threadpool(self.store.webhook_log, 50)
        return JSONResponse([{**r, "received_at": r["received_at"].isoformat()} for r in rows])


def webhook_secret_key(integration: str, connection: str) -> str:
    """Where ``subscribe`` keeps a connection's webhook signing secret (the state store's ``tokens``)."""
    return f"webhook:{integration}.{connection}"


def subscribe(file: cfg.IntegrationsFile, store: StateStore, integration: str, receiver_url: str) -> list[str]:
    """Subscribe the receiver to every connection of ``integration`` that a webhook-triggered flow
    reads; keep each secret the system made or took in the state store. One line per connection."""
    found = next((i for i in file.integrations if i.name == integration), None)
    if found is None:
        raise cfg.ConfigError(f"no integration {integration!r}{cfg.did_you_mean(integration, [i.name for i in file.integrations])}")
    wanted: dict[str, set[str]] = {}
    for flow in found.flows.values():
        if flow.enabled and flow.triggers.webhook:
            wanted.setdefault(flow.source, set()).add(flow.entity)
    lines = []
    for connection, entities in sorted(wanted.items()):
        connector = connection_resource(connection, found.connections[connection], resolved=True)
        destination = f"{receiver_url.rstrip('/')}/hooks/{integration}/{connection}"
        try:
            secret = connector.subscribe_webhooks(destination, entities)
        except NotImplementedError as exc:
            raise cfg.ConfigError(f"integrations[{integration}].flows: triggers.webhook reads {connection}: {exc}") from None
        except cfg.ConfigError as exc:
            raise cfg.ConfigError(f"integrations[{integration}].connections.{connection}.{exc}") from None
        if secret:
            store.save_token(webhook_secret_key(integration, connection), {"secret": secret})
        lines.append(f"{integration}.{connection}: {', '.join(sorted(entities))} → {destination}")
    return lines


def unsubscribe(file: cfg.IntegrationsFile, integration: str) -> list[str]:
    """Delete every subscription of the receiver for ``integration``'s connections, wherever the
    receiver was reached (a system that cannot be asked is named, the others go on). One line each."""
    found = next((i for i in file.integrations if i.name == integration), None)
    if found is None:
        raise cfg.ConfigError(f"no integration {integration!r}{cfg.did_you_mean(integration, [i.name for i in file.integrations])}")
    lines = []
    for connection, conn in sorted(found.connections.items()):
        try:
            gone = connection_resource(connection, conn, resolved=True).unsubscribe_webhooks(
                f"/hooks/{integration}/{connection}")
        except (ApiError, cfg.ConfigError) as exc:
            lines.append(f"{integration}.{connection}: its webhook subscriptions could not be removed ({exc})")
            continue
        if gone:
            lines.append(f"{integration}.{connection}: {gone} webhook subscriptions removed")
    return lines


def build_app(file: cfg.IntegrationsFile, store: StateStore, launcher: Launcher | WarmRunner | None = None) -> Starlette:
    """The receiver's app; with a ``launcher`` it also has each hinted flow run at once: asked of
    Dagster (:class:`Launcher`) or run warm in this process (:class:`WarmRunner`)."""
    receiver = Receiver(file, store, launcher)
    return Starlette(routes=[
        Route("/hooks/{integration}/{connection}", receiver.receive, methods=["POST"]),
        Route("/hooks", receiver.recent, methods=["GET"]),
    ])
