"""Zettle → BigCommerce: a first full sync of a POS catalogue into a store that enforces the quota.

The BigCommerce sandbox counts requests per store in a 30 s window and answers 429 past 150 (the
Standard plan [doc: api-rate-limits.mdx]; a fixed window is the sandbox's guess). The connector
paces itself on the quota headers every answer carries, so the goal is no 429 at all and a wall
time close to the floor.

The floor is the time any correct sync needs for what it must send: one create per product (its
variants ride along) plus the landing category (looked up, created) and one list read to learn
which SKUs the store has. With a fixed window the first ``quota`` requests go at once and each
further ``quota`` waits for the next window: floor = ⌊(minimum − 1) / quota⌋ × window. Zettle's
library is one request and has no such limit; it is in the wall time, not the floor.
"""

from __future__ import annotations

import os
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import requests

from bench.common import ZETTLE_API_KEY, ZETTLE_CLIENT_ID, BIGCOMMERCE_STORE_HASH, delta, env, start_sandbox

QUOTA, WINDOW_S = 150, 30.0  # [doc: api-rate-limits.mdx: Standard plan]
# The integration the cases run (``flows`` is the YAML of its flows, indented as a flows: block).
CONNECTIONS = """
integrations:
  - name: bench
    start_date: 2026-11-01
    connections:
      till:
        system: zettle
        base_url: "{zettle}/{{service}}"
        credentials: {{client_id: {{env: ZETTLE_CLIENT_ID}}, api_key: {{env: ZETTLE_API_KEY}}}}
        settings: {{auth_url: "{zettle}/oauth", contact_email: bench@example.com}}
      shop:
        system: bigcommerce
        base_url: "{bigcommerce}"
        credentials: {{access_token: {{env: BIGCOMMERCE_ACCESS_TOKEN}}}}
        settings: {{store_hash: {store_hash}}}
    flows:
"""
FLOWS = """      products: {{entity: products, source: till, target: shop, triggers: {{schedule: 2h, sensor: false}}}}
"""


def integrations_yaml(zettle: str, bigcommerce: str, flows: str, **values) -> str:
    return textwrap.dedent(CONNECTIONS).format(zettle=zettle, bigcommerce=bigcommerce,
                                               store_hash=BIGCOMMERCE_STORE_HASH) + flows.format(**values)


def _catalogue(url: str, products: int, variants: int) -> None:
    """``products`` products of ``variants`` sizes each, through Zettle's API [doc: product-library.adoc]."""
    token = requests.post(f"{url}/oauth/token", timeout=30, data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "client_id": ZETTLE_CLIENT_ID,
        "assertion": ZETTLE_API_KEY}).json()["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    sizes = ["S", "M", "L", "XL", "XXL"][:variants]
    for i in range(products):
        body = {"uuid": str(uuid.uuid1()), "name": f"Produkt {i:05d}", "vatPercentage": "25",
                "variantOptionDefinitions": {"definitions": [{"name": "Storlek", "properties": [{"value": s} for s in sizes]}]},
                "variants": [{"uuid": str(uuid.uuid1()), "name": s, "sku": f"P{i:05d}-{s}",
                              "price": {"amount": 10000 + 100 * i % 50000, "currencyId": "SEK"},
                              "options": [{"name": "Storlek", "value": s}]} for s in sizes]}
        session.post(f"{url}/products/organizations/self/products", json=body, timeout=30).raise_for_status()


def run(args) -> dict:
    from bench.cases.zettle_bigcommerce_freshness import measure

    out = full_sync(args)
    out["freshness_webhook"] = measure(args, webhooks=True)
    out["freshness_poll"] = measure(args, webhooks=False)
    return out


def full_sync(args) -> dict:
    n, v = args.zb_products, args.variations
    zettle = start_sandbox("zettle", latency_ms=args.latency_ms)
    bigcommerce = start_sandbox("bigcommerce", latency_ms=args.latency_ms)
    try:
        _catalogue(zettle.url, n, v)
        with tempfile.TemporaryDirectory() as tmp:
            env()
            os.environ["INTEGRATIONS_STATE_URL"] = f"sqlite:///{Path(tmp) / 'state.db'}"
            from dagster import DagsterInstance

            from integrations_dagster import config
            from integrations_dagster.build import build_definitions

            path = Path(tmp) / "bench.yaml"
            path.write_text(integrations_yaml(zettle.url, bigcommerce.url, FLOWS))
            defs = build_definitions(config.load(path))
            bigcommerce.clear_stats()
            started = time.perf_counter()
            result = defs.get_job_def("bench_products").execute_in_process(
                instance=DagsterInstance.ephemeral(),
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
            wall = time.perf_counter() - started
            assert result.success, "bench_products failed"
        got = delta(bigcommerce.stats())
        landed = requests.get(f"{bigcommerce.url}/stores/{BIGCOMMERCE_STORE_HASH}/v3/catalog/products",
                              params={"limit": 1}, timeout=30,
                              headers={"X-Auth-Token": os.environ["BIGCOMMERCE_ACCESS_TOKEN"]}).json()
    finally:
        zettle.stop()
        bigcommerce.stop()
    minimum = n + 3  # a create per product, the landing category looked up and created, one SKU list read
    floor_s = ((minimum - 1) // QUOTA) * WINDOW_S
    return {"full_sync": {
        "products": n, "variants_per_product": v, "products_in_store": landed["meta"]["pagination"]["total"],
        "bigcommerce_requests": got["reads"] + got["writes"], "responses_429": got["429"],
        "minimum_requests": minimum, "quota": f"{QUOTA} / {WINDOW_S:.0f} s (fixed window)",
        "floor_s": round(floor_s, 1), "wall_s": round(wall, 1),
        "ratio_to_floor": round(wall / floor_s, 3) if floor_s else None,
        "requests_to_minimum": round((got["reads"] + got["writes"]) / minimum, 3),
    }}
