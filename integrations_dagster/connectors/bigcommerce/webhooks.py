"""BigCommerce webhook callbacks: verify the signature, name the entities a scope hints changed.

Signature: BigCommerce tells receivers to verify with the Standard Webhooks library, giving it the
app's client secret base64-encoded [doc: BCdocs https-webhook-overview.mdx, Python sample
``Webhook(base64.b64encode(client_secret.encode()).decode())``]; the library base64-decodes its key,
so the HMAC key is the client secret's own UTF-8 bytes (digest §8.4). Payloads are "light":
``{"scope", "store_id", "data": {"type", "id", ...}, "hash", "created_at", "producer"}``
[doc: BCdocs webhooks/events/index.mdx]; the run reads the store, never the payload.
"""

from __future__ import annotations

import json
from typing import Mapping

from integrations_dagster.connectors.base import WebhookHint
from integrations_dagster.connectors.signatures import WebhookRefused, standard_webhooks

# scope prefix -> entities it hints changed (an order moves stock too) [spec: webhooks.v3.yml scopes]
ENTITIES = (
    ("store/product/inventory/", ("stock",)),
    ("store/sku/inventory/", ("stock",)),
    ("store/inventory/", ("stock",)),
    ("store/product/", ("products",)),
    ("store/sku/", ("products",)),
    ("store/order/", ("orders", "stock")),
)


SCOPES = {  # entity -> the scopes to subscribe to [spec: webhooks.v3.yml store_* schemas]
    "products": ("store/product/*",),
    "stock": ("store/product/inventory/updated", "store/sku/inventory/updated"),
    "orders": ("store/order/*",),
}


def scopes_for(entities: set[str]) -> list[str]:
    return sorted({scope for entity in entities for scope in SCOPES.get(entity, ())})


def hint(headers: Mapping[str, str], body: bytes, secret: str | None) -> WebhookHint | None:
    if not secret:
        raise WebhookRefused("no webhook_secret (the app's client secret) is configured")
    standard_webhooks(headers, body, secret.encode())
    try:
        scope = str(json.loads(body).get("scope", ""))
    except (ValueError, AttributeError):
        raise WebhookRefused("not a BigCommerce callback (no scope)") from None
    entities = next((e for prefix, e in ENTITIES if scope.startswith(prefix)), None)
    return WebhookHint(scope, frozenset(entities)) if entities else None
