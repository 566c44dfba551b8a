"""The Pusher API (pusher.izettle.com, served under ``/pusher``): webhook subscriptions, stored only.

[doc: pusher-api_api-reference.md §Create/Get/Update/Delete, §Parameters, §Supported events; digest §5.1]:

* ``POST /organizations/{org|self}/subscriptions`` JSON ``{uuid (v1), transportName: "WEBHOOK", eventNames,
  destination, contactEmail}`` → **200** with ``updated`` (µs ``Z``), ``status: "ACTIVE"`` and a 64-char
  alphanumeric ``signingKey``. 400: missing ``transportName``/``uuid``, duplicate ``uuid``, unsupported
  event; 422: missing ``destination``/``contactEmail``, bad email (≤ 512 chars).
* ``GET …/subscriptions`` → 200 array (each with its own ``signingKey``).
* ``PUT …/subscriptions/{uuid}`` → **200 with an empty body**; 404 unknown; 422 empty or non-HTTPS
  destination; 400 unsupported event.
* ``DELETE …/subscriptions/{uuid}`` → **204**; also ``…/subscriptions/uuid/{uuid}`` as the doc example
  spells it (nop uses the first [3p: nop DeleteSubscriptionsRequest.cs]).

Deliveries (envelope, signature, retries) are :mod:`.events`. Test instruments (not vendor behaviour;
a reset undoes them):

* ``POST /__sandbox__/zettle/allow-http {"allow": true}`` — accept plain ``http://`` destinations (the
  vendor's HTTPS rule stays the default), so a test can subscribe a loopback receiver.
* ``POST /__sandbox__/zettle/webhook-retries {"scale": 0.001}`` (the vendor schedule × scale) or
  ``{"delays_s": [0.05, 0.05]}`` (any schedule); ``{}`` restores the vendor's. Answers the schedule.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations_dagster.sandbox.base import DocumentStore
from integrations_dagster.sandbox.zettle.events import VENDOR_RETRY_DELAYS_S, Settings
from integrations_dagster.sandbox.zettle.wire import (Refusal, atomic, handler, is_uuid, json_body,
                                                      not_found, now, stamp_z)

PREFIX = "/pusher/organizations/{org}/subscriptions"
CONTROL = "/__sandbox__/zettle"
SUBSCRIPTIONS = "subscriptions"
EVENTS = frozenset({"PurchaseCreated", "ProductCreated", "ProductUpdated", "ProductDeleted",
                    "InventoryBalanceChanged", "InventoryTrackingStarted", "InventoryTrackingStopped",
                    "OrganizationUpdated", "ApplicationConnectionRemoved", "PersonalAssertionDeleted"})
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _signing_key(subscription_uuid: str) -> str:
    """64 alphanumerics, distinct per subscription [doc: §Get webhook subscriptions example]."""
    digest = hashlib.sha512(f"zettle-sandbox|{subscription_uuid}".encode()).digest()
    return "".join(_ALNUM[b % len(_ALNUM)] for b in digest)[:64]


def _problem(status: int, message: str) -> Refusal:
    return Refusal(status, message, "VALIDATION" if status == 422 else "BAD_REQUEST")


def _check(body: dict[str, Any], creating: bool, allow_http: bool = False) -> None:
    if creating and not is_uuid(body.get("uuid")):
        raise _problem(400, "uuid is required and must be a UUID")
    if creating and body.get("transportName") != "WEBHOOK":
        raise _problem(400, "transportName must be WEBHOOK")
    events = body.get("eventNames", [] if creating else None)
    if events is not None and (not isinstance(events, list) or not set(events) <= EVENTS):
        raise _problem(400, f"Unsupported event in {events!r}")
    destination = body.get("destination")
    if (creating or "destination" in body) and (not isinstance(destination, str) or not destination):
        raise _problem(422, "destination is required")
    schemes = ("https://", "http://") if allow_http else ("https://",)
    if destination is not None and not str(destination).startswith(schemes):
        raise _problem(422, "destination must be an HTTPS URL")  # documented for update; GUESS on create
    email = body.get("contactEmail")
    if (creating or "contactEmail" in body) and (not isinstance(email, str) or len(email) > 512
                                                 or not _EMAIL.fullmatch(email)):
        raise _problem(422, "contactEmail must be a valid email address")


class Subscriptions:
    def __init__(self, store: DocumentStore, settings: Settings | None = None) -> None:
        self.store = store
        self.settings = settings or Settings()

    def _row(self, subscription_uuid: str) -> dict | None:
        rows = self.store.find(SUBSCRIPTIONS, key=subscription_uuid)
        return rows[0] if rows else None

    def all(self) -> list[dict[str, Any]]:
        return [_public(row) for row in self.store.find(SUBSCRIPTIONS)]

    def create(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _problem(400, "The body must be a JSON object")
        _check(body, creating=True, allow_http=self.settings.allow_http)
        with atomic(self.store):
            if self._row(body["uuid"]):
                raise _problem(400, f"Subscription {body['uuid']} already exists")
            sub = {"uuid": body["uuid"], "transportName": "WEBHOOK", "eventNames": body.get("eventNames", []),
                   "updated": stamp_z(now(), micros=True), "destination": body["destination"],
                   "contactEmail": body["contactEmail"], "status": "ACTIVE",
                   "signingKey": _signing_key(body["uuid"])}
            self.store.insert(SUBSCRIPTIONS, sub, key=sub["uuid"])
        return sub

    def update(self, subscription_uuid: str, body: Any) -> None:
        if not isinstance(body, dict):
            raise _problem(400, "The body must be a JSON object")
        with atomic(self.store):
            row = self._row(subscription_uuid)
            if row is None:
                raise not_found(f"Subscription {subscription_uuid} not found")
            _check(body, creating=False, allow_http=self.settings.allow_http)
            changed = {k: body[k] for k in ("eventNames", "destination", "contactEmail") if k in body}
            self.store.put(SUBSCRIPTIONS, row["id"], {**row, **changed, "updated": stamp_z(now())},
                           key=subscription_uuid)

    def delete(self, subscription_uuid: str) -> None:
        with atomic(self.store):
            row = self._row(subscription_uuid)
            if row is None:
                raise not_found(f"Subscription {subscription_uuid} not found")
            self.store.delete(SUBSCRIPTIONS, row["id"])


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "id"}


def routes(subs: Subscriptions) -> list[Route]:
    @handler
    async def create(request: Request) -> Response:
        return JSONResponse(subs.create(await json_body(request)))

    @handler
    async def list_all(_: Request) -> Response:
        # list `updated` uses ms precision, create µs [doc: §Create vs §Get examples; digest §6.3]
        return JSONResponse([{**s, "updated": s["updated"][:23] + "Z"} for s in subs.all()])

    @handler
    async def update(request: Request) -> Response:
        subs.update(request.path_params["uuid"], await json_body(request))
        return Response(status_code=200)

    @handler
    async def delete(request: Request) -> Response:
        subs.delete(request.path_params["uuid"])
        return Response(status_code=204)

    async def allow_http(request: Request) -> Response:
        body = await request.json()
        subs.settings.allow_http = bool(body.get("allow", True))
        return JSONResponse({"allow": subs.settings.allow_http})

    async def webhook_retries(request: Request) -> Response:
        body = await request.json() if await request.body() else {}
        if "delays_s" in body:
            subs.settings.retry_delays_s = tuple(float(d) for d in body["delays_s"])
        else:
            scale = float(body.get("scale", 1.0))
            subs.settings.retry_delays_s = tuple(d * scale for d in VENDOR_RETRY_DELAYS_S)
        return JSONResponse({"delays_s": list(subs.settings.retry_delays_s)})

    return [Route(f"{CONTROL}/allow-http", allow_http, methods=["POST"]),
            Route(f"{CONTROL}/webhook-retries", webhook_retries, methods=["POST"]),
            Route(PREFIX, create, methods=["POST"]), Route(PREFIX, list_all, methods=["GET"]),
            Route(f"{PREFIX}/{{uuid}}", update, methods=["PUT"]),
            Route(f"{PREFIX}/{{uuid}}", delete, methods=["DELETE"]),
            Route(f"{PREFIX}/uuid/{{uuid}}", delete, methods=["DELETE"])]
