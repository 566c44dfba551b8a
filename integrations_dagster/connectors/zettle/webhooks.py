"""Zettle Pusher deliveries: verify the signature, name the entities an event hints changed.

Envelope ``{organizationUuid, messageUuid, eventName, messageId, payload, timestamp}`` with
``payload`` a JSON *string* [doc: pusher-api_concept_event-payloads.md]; signature per
:meth:`ZettleResource.webhook_hint`. A ``PurchaseCreated`` hints at stock (a sale moves it), as do
the inventory events [doc: pusher-api_api-reference.md §Supported events].
"""

from __future__ import annotations

import json
from typing import Mapping

from integrations_dagster.connectors.base import WebhookHint
from integrations_dagster.connectors.signatures import WebhookRefused, header, hmac_hex, matches

SIGNATURE = "X-iZettle-Signature"
ENTITIES = {
    "ProductCreated": ("products",), "ProductUpdated": ("products",), "ProductDeleted": ("products",),
    "InventoryBalanceChanged": ("stock",), "InventoryTrackingStarted": ("stock",),
    "InventoryTrackingStopped": ("stock",), "PurchaseCreated": ("stock",),
}


def events_for(entities: set[str]) -> list[str]:
    """The Pusher event names that hint at ``entities``."""
    return sorted(name for name, hinted in ENTITIES.items() if set(hinted) & entities)


def hint(headers: Mapping[str, str], body: bytes, secret: str | None) -> WebhookHint | None:
    try:
        envelope = json.loads(body)
    except ValueError:
        raise WebhookRefused("not a Pusher envelope (no JSON)") from None
    if isinstance(envelope, dict) and envelope.get("eventName") == "TestMessage":
        # Sent once to a new destination, unsigned and without timestamp; the subscription fails
        # unless it is answered 2xx [doc: pusher-api_user-guides_create-subscriptions.md §Step 3.4].
        return None
    if not secret:
        raise WebhookRefused("no webhook_secret (the subscription's signingKey) is configured")
    try:
        message = f"{envelope['timestamp']}.{envelope['payload']}".encode()
    except (KeyError, TypeError):
        raise WebhookRefused("not a Pusher envelope (timestamp and payload)") from None
    if not matches(hmac_hex(secret, message), header(headers, SIGNATURE), case_insensitive=True):
        raise WebhookRefused(f"{SIGNATURE} does not match")
    entities = ENTITIES.get(str(envelope.get("eventName")))
    return WebhookHint(str(envelope.get("eventName")), frozenset(entities)) if entities else None
