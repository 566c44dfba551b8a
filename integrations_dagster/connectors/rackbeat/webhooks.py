"""Rackbeat's webhooks: which events to subscribe for which flows, and verifying a delivery.

Evidence (``docs/research/rackbeat.md`` §10): a subscription is ``POST /webhooks {"event", "url",
"is_active"}``; its 32-character ``token`` comes back **only when it is created** (the same event and
url updates the old one instead, without a token) [doc: portal intro-to-webhooks]. A delivery carries
that token in ``Rackbeat-Webhook-Token`` — a shared secret, no HMAC: compare in constant time
[doc: portal monitoring-security] — and the event in ``Rackbeat-Webhook-Event``, **singular**
("product.updated") while subscriptions name it plural ("products.updated") [doc: portal; 3p:
mother-sku reads the event from the header, the body being only ``{"key_name", "key"}``].

So :func:`subscribe` deletes this receiver's old subscriptions and makes them anew, and returns every
token (a comma-separated secret the receiver keeps); a delivery verifies when its token is one of them.
The stock event's name was not captured: ``product.stock_changed`` is the sandbox's guess
(``sandbox/rackbeat/guesses.STOCK_EVENT``), kept here in :data:`EVENTS` only.
"""

from __future__ import annotations

import hmac
from typing import Mapping

from integrations_dagster.connectors.base import WebhookHint, to_receiver_path
from integrations_dagster.connectors.rackbeat.adapter import Adapter
from integrations_dagster.connectors.signatures import WebhookRefused

# flow entity -> the events (as subscribed: plural) that say its records changed
EVENTS = {
    "stock": ("products.stock_changed",),  # GUESS: the name is not in the captured catalogue
    "products": ("products.created", "products.updated", "products.deleted", "lots.created", "lots.updated"),
}


def _delivered(event: str) -> str:
    """The name a delivery carries for a subscribed event: ``products.updated`` -> ``product.updated``."""
    kind, _, action = event.partition(".")
    return f"{kind[:-1] if kind.endswith('s') else kind}.{action}"


HINTS = {_delivered(event): entity for entity, events in EVENTS.items() for event in events}


def subscribe(adapter: Adapter, destination: str, entities: set[str]) -> str | None:
    """Subscriptions for ``entities`` to ``destination``, made anew; their tokens, comma-separated."""
    unsubscribe(adapter, destination)
    tokens = []
    for entity in sorted(entities):
        for event in EVENTS.get(entity, ()):
            made = adapter.write("POST", "/webhooks", {"event": event, "url": destination, "is_active": True})
            tokens.append(str((made.get("webhook") or {}).get("token") or ""))
    return ",".join(t for t in tokens if t) or None


def unsubscribe(adapter: Adapter, destination: str, *, by_path: bool = False) -> int:
    """Delete the subscriptions whose url is ``destination`` (or whose path is, ``by_path``)."""
    gone = 0
    for hook in list(adapter.pages("/webhooks", "webhooks")):
        url = str(hook.get("url") or "")
        if (to_receiver_path(url, destination) if by_path else url == destination):
            adapter.http.request("DELETE", f"/webhooks/{hook['id']}", expect=(404,))
            gone += 1
    return gone


def hint(headers: Mapping[str, str], secret: str | None) -> WebhookHint | None:
    """Verify a delivery by its token; what its event hints changed (None: an event no flow reads)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    token = str(lowered.get("rackbeat-webhook-token") or "")
    known = [t for t in (secret or "").split(",") if t]
    if not token or not any(hmac.compare_digest(token.encode(), t.encode()) for t in known):
        raise WebhookRefused("Rackbeat-Webhook-Token is not the token of a subscription of this receiver")
    event = str(lowered.get("rackbeat-webhook-event") or "")
    entity = HINTS.get(event)
    return WebhookHint(topic=event, entities=frozenset({entity})) if entity else None
