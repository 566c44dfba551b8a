"""Pusher deliveries: the events the sandbox's changes raise, in the vendor's envelope, signed.

Envelope [doc: pusher-api_concept_event-payloads.md; digest §5.3]: ``POST <destination>`` with the JSON
object ``{organizationUuid, messageUuid, eventName, messageId, payload, timestamp}`` in that order, where
``payload`` is a **JSON-encoded string** (every real example; nop models it as a string [3p: nop
Domain/Api/Pusher/Message.cs]) and ``timestamp`` is ISO-8601 ``…Z`` with milliseconds
(``2021-04-19T13:17:56.585Z``). ``messageId`` is a v5 UUID; ``messageUuid`` is a v1 UUID whose time is
the envelope ``timestamp`` and whose clock-seq/node are the tail of ``messageId`` [derived: digest §5.3].
A duplicate delivery (at-least-once [doc: pusher-api_api-reference.md §Create a subscription note]) carries
the same ``messageId``.

Signature [doc: pusher-api_user-guides_create-subscriptions.md §Step 4; digest §5.4]: header
``X-iZettle-Signature`` = lowercase hex HMAC-SHA256, key = the subscription's ``signingKey`` (UTF-8),
message = UTF-8 of ``"<timestamp>.<payload>"`` — the envelope ``timestamp`` string, a literal ``.``, and
the ``payload`` **string value** (not its escaped form in the body). Other headers: only
``Content-Type: application/json`` (no evidence of more [digest §8]).

Who gets it: every subscription whose ``eventNames`` holds the event, or is empty ("all events")
[doc: pusher-api_api-reference.md §Parameters]. Deliveries are queued only after the change committed
(:func:`.wire.on_commit`). Retries [doc-repo: iZettle/api-documentation pusher-api/troubleshooting.md
§Retry policy; digest §5.5]: 10 every 60 s, then 9 every 600 s, then one an hour for 70 h — the default
``retry_delays_s``; a test may scale or replace it (``/__sandbox__/zettle/webhook-retries``).

Payloads, per event [doc: pusher-api_concept_event-payloads.md]: products as the product library holds
them (:func:`product_payload`); ``ProductUpdated`` ``{organizationUuid, newEntity, oldEntity}``;
``InventoryBalanceChanged`` ``{organizationUuid, updated, balanceBefore, balanceAfter, externalUuid}``
with string balances; ``InventoryTrackingStarted`` ``{organizationUuid, productUuid, created}``,
``…Stopped`` with ``changeInformation``; ``PurchaseCreated`` in its own key spelling (:func:`purchase_payload`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from integrations_dagster.sandbox.base import DocumentStore
from integrations_dagster.sandbox.webhooks import Delivery, Outbox
from integrations_dagster.sandbox.zettle import guesses
from integrations_dagster.sandbox.zettle.wire import ORG_UUID, now, on_commit, stamp, stamp_z

SIGNATURE_HEADER = "X-iZettle-Signature"  # [doc: create-subscriptions.md §Step 4]
# [doc-repo: iZettle/api-documentation pusher-api/troubleshooting.md §Retry policy; digest §5.5]
VENDOR_RETRY_DELAYS_S: tuple[float, ...] = (60.0,) * 10 + (600.0,) * 9 + (3600.0,) * 70
_UUID1_EPOCH_OFFSET = 0x01B21DD213814000


def sign(signing_key: str, timestamp: str, payload: str) -> str:
    """[doc: create-subscriptions.md §Step 4, the Python 3 example, verbatim in effect]."""
    message = "{}.{}".format(timestamp, payload)
    return hmac.new(bytes(signing_key, "UTF-8"), msg=bytes(message, "UTF-8"), digestmod=hashlib.sha256).hexdigest()


def message_uuid(moment: datetime, message_id: str) -> str:
    """v1 UUID: time = ``moment`` (100-ns ticks), clock-seq and node = those of ``message_id`` [derived]."""
    ticks = int(moment.timestamp() * 1000) * 10_000 + _UUID1_EPOCH_OFFSET  # ms, as the envelope stamp
    tail = uuid.UUID(message_id)
    return str(uuid.UUID(fields=(ticks & 0xFFFFFFFF, (ticks >> 32) & 0xFFFF, 0x1000 | ((ticks >> 48) & 0x0FFF),
                                 tail.clock_seq_hi_variant, tail.clock_seq_low, tail.node)))


def envelope(event_name: str, payload: dict[str, Any], moment: datetime, message_id: str) -> dict[str, Any]:
    return {"organizationUuid": ORG_UUID, "messageUuid": message_uuid(moment, message_id), "eventName": event_name,
            "messageId": message_id,
            "payload": json.dumps(payload, separators=(",", ":"), ensure_ascii=False),
            "timestamp": stamp_z(moment)}


# --- payloads --------------------------------------------------------------------------------------
def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def product_payload(product: dict[str, Any]) -> dict[str, Any]:
    """The product as the event payloads show it [doc: event-payloads §ProductCreated]: ``organizationUuid``
    after ``uuid``, ``updatedByUserUuid``/``createdByUserUuid`` instead of the GET fixture's ``updatedBy``,
    ``taxExempt``; unset keys omitted rather than null (guesses.WEBHOOK_PRODUCT_OMITS_NULLS)."""
    out: dict[str, Any] = {"uuid": product["uuid"], "organizationUuid": ORG_UUID}
    for key, value in product.items():
        if key in ("uuid", "updatedBy"):
            continue
        out[key] = value
    user = product.get("updatedBy") or guesses.USER_UUID
    out["updatedByUserUuid"] = user
    out["createdByUserUuid"] = user  # GUESS: the sandbox has one user (guesses.USER_UUID)
    out.setdefault("taxExempt", False)
    return _drop_nulls(out) if guesses.WEBHOOK_PRODUCT_OMITS_NULLS else out


def change_info(moment: datetime) -> dict[str, Any]:
    """``{uuid, timestamp, userType, clientUuid}`` [doc: event-payloads §InventoryBalanceChanged, §Tracking]."""
    return {"uuid": guesses.USER_UUID, "timestamp": stamp(moment), "userType": "USER",
            "clientUuid": guesses.WEBHOOK_CLIENT_UUID}


def balance_payload(changes: list[dict[str, Any]], moment: datetime, external_uuid: str | None) -> dict[str, Any]:
    """``changes``: ``{inventoryUuid, productUuid, variantUuid, before, after}`` (STORE only, see stock.move).
    Lists are index-aligned [3p: nop ZettleService.cs pairs them by index]; balances are strings and only
    ``balanceAfter`` items carry ``created`` [doc: event-payloads §InventoryBalanceChanged]."""
    def item(c: dict[str, Any]) -> dict[str, Any]:
        return {"organizationUuid": ORG_UUID, "locationUuid": c["inventoryUuid"], "productUuid": c["productUuid"],
                "variantUuid": c["variantUuid"]}
    return {"organizationUuid": ORG_UUID, "updated": change_info(moment),
            "balanceBefore": [{**item(c), "balance": str(c["before"])} for c in changes],
            "balanceAfter": [{**item(c), "created": stamp(moment), "balance": str(c["after"])} for c in changes],
            "externalUuid": external_uuid}


def tracking_payload(product_uuid: str, started: bool, moment: datetime) -> dict[str, Any]:
    """[doc: event-payloads §InventoryTrackingStarted (``created``), §InventoryTrackingStopped (``changeInformation``)]."""
    return {"organizationUuid": ORG_UUID, "productUuid": product_uuid,
            ("created" if started else "changeInformation"): change_info(moment)}


_PURCHASE_LINE_KEYS = ("id", "productUuid", "variantUuid", "name", "variantName", "sku", "barcode", "unitPrice",
                       "costPrice", "quantity", "vatPercentage")


def purchase_payload(purchase: dict[str, Any], epoch_ms: int) -> dict[str, Any]:
    """PurchaseCreated's own spelling [doc: event-payloads §PurchaseCreated; digest §5.3]: ``purchaseUuid``
    (the v1 id), ``userUuid``, ``timestamp`` as epoch ms and ``created`` as a stamp, ``udid``,
    ``organizationUuid``; lines with ``taxRates[{percentage}]``, ``taxExempt``, ``autoGenerated``, ``details``;
    ``taxationMode``/``taxationType``. No refund keys (the example has none): a refund shows as negative
    quantities and amounts (guesses.WEBHOOK_PURCHASE_REFUND_KEYS)."""
    lines = []
    for line in purchase["products"]:
        out = {k: line[k] for k in _PURCHASE_LINE_KEYS if line.get(k) is not None}
        out.update({"taxRates": [{"percentage": line["vatPercentage"]}], "taxExempt": False})
        for key in ("fromLocationUuid", "toLocationUuid"):
            if key in line:
                out[key] = line[key]
        out.update({"autoGenerated": False, "type": line.get("type", "PRODUCT"), "details": {}})
        lines.append(out)
    body = {"purchaseUuid": purchase["purchaseUUID1"], "source": purchase["source"], "userUuid": guesses.USER_UUID,
            "currency": purchase["currency"], "country": purchase["country"], "amount": purchase["amount"],
            "vatAmount": purchase["vatAmount"], "timestamp": epoch_ms, "created": purchase["created"],
            "purchaseNumber": purchase["purchaseNumber"], "userDisplayName": purchase["userDisplayName"],
            "udid": guesses.WEBHOOK_UDID, "organizationUuid": ORG_UUID, "products": lines,
            "discounts": purchase.get("discounts", []), "payments": purchase.get("payments", []),
            "references": purchase.get("references", {}), "taxationMode": "INCLUSIVE", "taxationType": "VAT"}
    if guesses.WEBHOOK_PURCHASE_REFUND_KEYS:
        for key in ("refund", "refundsPurchaseUUID1"):
            if key in purchase:
                body[key] = purchase[key]
    return body


# --- delivery --------------------------------------------------------------------------------------
@dataclass
class Settings:
    """Test instruments (``/__sandbox__/zettle/allow-http``, ``…/webhook-retries``); a reset restores them."""

    allow_http: bool = False  # the vendor requires an HTTPS destination [doc: api-reference §Update 422]
    retry_delays_s: tuple[float, ...] = field(default=VENDOR_RETRY_DELAYS_S)

    def restore(self) -> None:
        self.allow_http, self.retry_delays_s = False, VENDOR_RETRY_DELAYS_S


class Publisher:
    """Raises events: call :meth:`emit` inside the ``atomic`` block that makes the change."""

    def __init__(self, store: DocumentStore, outbox: Outbox, settings: Settings,
                 subscriptions: Callable[[], list[dict[str, Any]]]) -> None:
        self.store, self.outbox, self.settings, self.subscriptions = store, outbox, settings, subscriptions
        self._lock = threading.Lock()
        self._sequence = 0

    def emit(self, event_name: str, payload: dict[str, Any]) -> None:
        on_commit(self.store, lambda: self._deliver(event_name, payload))

    def _deliver(self, event_name: str, payload: dict[str, Any]) -> None:
        moment = now()
        with self._lock:
            self._sequence += 1
            sequence = self._sequence
        for sub in self.subscriptions():
            if sub.get("eventNames") and event_name not in sub["eventNames"]:
                continue
            # v5 [derived: digest §5.3]; one message per subscription and event (guesses.MESSAGE_ID_PER_SUBSCRIPTION)
            per = sub["uuid"] if guesses.MESSAGE_ID_PER_SUBSCRIPTION else ""
            message_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"zettle-sandbox:{per}:{event_name}:"
                                                            f"{moment.isoformat()}:{sequence}"))
            env = envelope(event_name, payload, moment, message_id)
            headers = {"Content-Type": "application/json",
                       SIGNATURE_HEADER: sign(sub["signingKey"], env["timestamp"], env["payload"])}
            body = json.dumps(env, ensure_ascii=False).encode("utf-8")
            self.outbox.send(Delivery(sub["destination"], body, headers, event=event_name,
                                      retry_delays_s=tuple(self.settings.retry_delays_s)))
