"""WooCommerce webhook deliveries: verify the signature, name the entities a topic hints changed.

``X-WC-Webhook-Signature`` is "a base64 encoded HMAC-SHA256 hash of the payload" keyed with the
webhook's secret; ``X-WC-Webhook-Topic`` names the topic (``product.updated``) [doc:
api-specs/woocommerce/webhooks.md §Delivery/payload]. A new webhook first sends a ping whose form
body is ``webhook_id=<id>`` [source: woocommerce class-wc-webhook.php ``deliver_ping``]: answered
2xx, hinting at nothing. Saving a variation saves its parent, so a variation edit arrives as the
parent's ``product.updated`` (see the connector's module docstring).
"""

from __future__ import annotations

from typing import Mapping

from integrations_dagster.connectors.base import WebhookHint
from integrations_dagster.connectors.signatures import WebhookRefused, header, hmac_base64, matches

SIGNATURE, TOPIC = "X-WC-Webhook-Signature", "X-WC-Webhook-Topic"
ENTITIES = {"product": ("products",), "order": ("orders",)}


TOPICS = {"products": ("product.created", "product.updated", "product.deleted"),
          "orders": ("order.created", "order.updated")}


def topics_for(entities: set[str]) -> list[str]:
    return sorted({topic for entity in entities for topic in TOPICS.get(entity, ())})


def hint(headers: Mapping[str, str], body: bytes, secret: str | None) -> WebhookHint | None:
    topic = header(headers, TOPIC)
    if topic is None and body.startswith(b"webhook_id="):
        return None  # the ping a new webhook sends
    if not secret:
        raise WebhookRefused("no webhook_secret (the webhook's secret) is configured")
    if not matches(hmac_base64(secret, body), header(headers, SIGNATURE)):
        raise WebhookRefused(f"{SIGNATURE} does not match")
    entities = ENTITIES.get((topic or "").split(".", 1)[0])
    return WebhookHint(topic or "", frozenset(entities)) if entities else None
