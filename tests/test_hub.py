"""The hub over real HTTP: plugs import into it and export out of it, records keep their origin.

A WooCommerce shop's products and orders are imported into the hub (``source: shop, target: hub``),
and exported from it to a Fortnox company (``source: hub, target: erp``) — no shop ⇄ ERP pair is
written. Expected values come from the shop's own records (read over HTTP in the test), never from the
code under test.
"""

from __future__ import annotations

import json
import textwrap

from sqlalchemy import create_engine, text

from flowkit import fx_all, run, woo_get
from integrations_dagster import config
from integrations_dagster.build import build_definitions

YAML = """
integrations:
  - name: plugs
    start_date: 2026-11-01
    connections:
      shop:
        system: woocommerce
        base_url: "{woo}"
        credentials: {{consumer_key: {{env: WOO_CONSUMER_KEY}}, consumer_secret: {{env: WOO_CONSUMER_SECRET}}}}
        options: {{currency: SEK, prices_include_tax: true, tax_rates: {{"": 25, "reduced-rate": 12}}}}
      hub:
        system: hub
      erp:
        system: fortnox
        base_url: "{fortnox}"
        credentials: {{access_token: {{env: FORTNOX_ACCESS_TOKEN}}}}
    flows:
      products_in: {{entity: products, source: shop, target: hub}}
      orders_in: {{entity: orders, source: shop, target: hub, mode: create, options: {{statuses: [processing, completed]}}}}
      products_out: {{entity: products, source: hub, target: erp, after: [products_in]}}
      orders_out:
        entity: orders
        source: hub
        target: erp
        mode: create
        after: [products_out]
        options: {{document: order, vat_included: true, origins: [{origins}]}}
"""


def definitions(tmp_path, woo, fortnox, origins="shop"):
    path = tmp_path / "integrations.yaml"
    path.write_text(textwrap.dedent(YAML.format(woo=woo.url, fortnox=fortnox.url, origins=origins)))
    return build_definitions(config.load(path))


def hub_rows(state_url: str, entity: str) -> dict[str, tuple[str, dict]]:
    engine = create_engine(state_url)
    with engine.connect() as conn:
        rows = conn.execute(text("select key, origin, payload from hub_records where entity = :e"), {"e": entity}).all()
    engine.dispose()
    return {k: (o, json.loads(p)) for k, o, p in rows}


def test_products_and_orders_reach_the_erp_through_the_hub_with_their_origin(
        tmp_path, state_url, woo_sandbox, fortnox_empty):
    defs = definitions(tmp_path, woo_sandbox, fortnox_empty)
    for job in ("plugs_products_in", "plugs_products_out", "plugs_orders_in", "plugs_orders_out"):
        assert run(defs, job).success, job

    shop_skus = {p["sku"] for p in woo_get(woo_sandbox.url, "/products") if p["sku"] and p["type"] == "simple"}
    shop_skus |= {v["sku"] for p in woo_get(woo_sandbox.url, "/products") if p["type"] == "variable"
                  for v in woo_get(woo_sandbox.url, f"/products/{p['id']}/variations") if v["sku"]}
    articles = {a["ArticleNumber"] for a in fx_all(fortnox_empty.url, "articles", "Articles")}
    assert shop_skus and shop_skus <= articles

    products = hub_rows(state_url, "products")
    assert products and {origin for origin, _ in products.values()} == {"shop"}
    orders = hub_rows(state_url, "orders")
    paid = [o for o in woo_get(woo_sandbox.url, "/orders") if o["status"] in ("processing", "completed")]
    assert {f"shop:{o['id']}" for o in paid} == set(orders)
    assert {payload["total"]["amount"] for _, payload in orders.values()} == {o["total"] for o in paid}
    documents = fx_all(fortnox_empty.url, "orders", "Orders")
    assert len(documents) == len(paid)

    # a second round moves nothing: the hub's copies did not change
    for job in ("plugs_products_in", "plugs_products_out", "plugs_orders_out"):
        result = run(defs, job)
        push = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT" and e.step_key.endswith("_push")]
        assert result.success and push
    assert len(fx_all(fortnox_empty.url, "orders", "Orders")) == len(paid)


def test_an_export_plug_carries_only_the_origins_it_names(tmp_path, state_url, woo_sandbox, fortnox_empty):
    defs = definitions(tmp_path, woo_sandbox, fortnox_empty, origins="market")
    for job in ("plugs_products_in", "plugs_products_out", "plugs_orders_in", "plugs_orders_out"):
        assert run(defs, job).success, job
    assert hub_rows(state_url, "orders")  # imported from the shop ...
    assert fx_all(fortnox_empty.url, "orders", "Orders") == []  # ... but the export names only "market"
