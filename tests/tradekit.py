"""Helpers for the hub ⇄ Tradera flow tests: the integrations file and peeks at the Tradera sandbox."""

from __future__ import annotations

import textwrap

import requests

from conftest import TRADERA_APP_ID, TRADERA_PUBLIC_KEY, TRADERA_USER_ID
from integrations_dagster import config
from integrations_dagster.build import build_definitions

# An integration with the shop (on the sandbox at ``{woo}``) and the hub: the start of every hub test's file
# (a format string; ``{name}`` is the integration's name, the connections of the test follow).
SHOP_AND_HUB = """
integrations:
  - name: {name}
    start_date: 2026-11-01
    connections:
      shop:
        system: woocommerce
        base_url: "{woo}"
        credentials: {{consumer_key: {{env: WOO_CONSUMER_KEY}}, consumer_secret: {{env: WOO_CONSUMER_SECRET}}}}
        options: {{currency: SEK, prices_include_tax: true, tax_rates: {{"": 25, "reduced-rate": 12}}}}
      hub:
        system: hub
"""

YAML = SHOP_AND_HUB.replace("{name}", "market") + """      tradera:
        system: tradera
        base_url: "{tradera}"
        credentials: {{app_key: {{env: TRADERA_APP_KEY}}, user_token: {{env: TRADERA_USER_TOKEN}}}}
        settings: {{app_id: "{app_id}", public_key: "{public_key}", user_id: "{user_id}", quota_calls: {quota},
                   quota_reserve_for_orders: {reserve}, result_waits_s: [0.05, 0.3, 1.0]}}
    flows:
      products_in: {{entity: products, source: shop, target: hub}}
      products_to_tradera:
        entity: products
        source: hub
        target: tradera
        after: [products_in]
        options: {listing}
      orders_from_tradera: {{entity: orders, source: tradera, target: hub, mode: create}}
      orders_to_shop: {{entity: orders, source: hub, target: shop, mode: create, options: {{origins: [tradera]}}}}
      shipped_to_tradera: {{entity: order_status, source: shop, target: tradera}}
"""

LISTING = {"category": 344482, "condition": "new", "region": "sweden", "description": "short",
           "shipping": [{"option": 12, "cost": 49}, {"option": 8, "cost": 0}], "payment_options": [4096, 4]}


def definitions(tmp_path, woo, tradera, *, listing: dict | None = None, quota: int = 100, reserve: int = 30):
    import json

    path = tmp_path / "integrations.yaml"
    path.write_text(textwrap.dedent(YAML.format(
        woo=woo.url, tradera=tradera.url, app_id=TRADERA_APP_ID, public_key=TRADERA_PUBLIC_KEY,
        user_id=TRADERA_USER_ID, quota=quota, reserve=reserve, listing=json.dumps(listing or LISTING))))
    return build_definitions(config.load(path))


def control(tradera, method: str, path: str, body: dict | None = None):
    resp = requests.request(method, f"{tradera.url}/__sandbox__/tradera/{path}", json=body, timeout=10)
    resp.raise_for_status()
    return resp.json()


def items(tradera) -> list[dict]:
    """The seller's live shop items (the sandbox also keeps failed creates and ended items, by state)."""
    return [item for item in control(tradera, "GET", "items") if item.get("state") == "active"]
