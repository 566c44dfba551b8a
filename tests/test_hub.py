"""The hub over real HTTP: plugs import into it and export out of it, records keep their origin.

A WooCommerce shop's products and orders are imported into the hub (``source: shop, target: hub``),
and exported from it to a Fortnox company (``source: hub, target: erp``) — no shop ⇄ ERP pair is
written. Expected values come from the shop's own records (read over HTTP in the test), never from the
code under test.
"""

from __future__ import annotations

import json
from decimal import Decimal
import textwrap

from sqlalchemy import create_engine, text

from flowkit import fx_all, run, woo_get
from tradekit import SHOP_AND_HUB
from integrations_dagster import config
from integrations_dagster.build import build_definitions

YAML = SHOP_AND_HUB.replace("{name}", "plugs") + """      erp:
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


ORDER_YAML = SHOP_AND_HUB.replace("{name}", "plugs") + """    flows:
      orders_to_shop: {{entity: orders, source: hub, target: shop, mode: create, options: {{origins: [market]}}}}
"""


def market_order(sku: str, quantity: int, unit_gross: Decimal, shipping_gross: Decimal):
    """A marketplace's order as the hub keeps it: whole kronor including 25 % VAT (the arithmetic here)."""
    from integrations_dagster.model import Address, Customer, Money, Order, OrderLine, OrderStatus

    gross = unit_gross * quantity
    net, ship_net = gross / Decimal("1.25"), shipping_gross / Decimal("1.25")
    buyer = Address(name="Greta Garbo", line1="Storgatan 1", postcode="11122", city="Stockholm", country="SE",
                    email="greta@example.se")
    return Order(source="market", source_id="9001", number="9001", status=OrderStatus.PAID,
                 created_at="2026-11-30T10:00:00+00:00", currency="SEK", prices_include_vat=True,
                 customer=Customer(source_id="77", email="greta@example.se", name="Greta Garbo", billing=buyer,
                                   shipping=buyer),
                 billing=buyer, shipping=buyer,
                 lines=(OrderLine(sku=sku, name="Sold on the market", quantity=Decimal(quantity), net=net,
                                  vat=gross - net, vat_rate=Decimal(25)),
                        OrderLine(kind="shipping", name="PostNord", net=ship_net, vat=shipping_gross - ship_net,
                                  vat_rate=Decimal(25))),
                 total=Money(amount=gross + shipping_gross, currency="SEK"))


def test_a_marketplace_order_in_the_hub_becomes_one_paid_shop_order_that_lowers_the_shop_stock(
        tmp_path, state_url, woo_sandbox):
    from integrations_dagster.connectors.hub.store import HubStore
    from integrations_dagster.state import StateStore

    product = next(p for p in woo_get(woo_sandbox.url, "/products")
                   if p["type"] == "simple" and p["manage_stock"] and (p["stock_quantity"] or 0) >= 5
                   and p["tax_class"] == "")
    stock_before = product["stock_quantity"]
    order = market_order(product["sku"], 2, Decimal(299), Decimal(49))
    HubStore(state_url, "hub").put("orders", order.key, "market", order.content_hash(), order.model_dump(mode="json"))
    path = tmp_path / "integrations.yaml"
    path.write_text(textwrap.dedent(ORDER_YAML.format(woo=woo_sandbox.url)))
    defs = build_definitions(config.load(path))
    assert run(defs, "plugs_orders_to_shop").success

    made = [o for o in woo_get(woo_sandbox.url, "/orders")
            if any(m["key"] == "_integrations_order" and m["value"] == "market:9001" for m in o["meta_data"])]
    assert len(made) == 1
    shop_order = made[0]
    assert shop_order["status"] == "processing" and shop_order["date_paid"]
    assert Decimal(shop_order["total"]) == 2 * 299 + 49  # what the buyer paid on the market
    assert [(li["sku"], li["quantity"]) for li in shop_order["line_items"]] == [(product["sku"], 2)]
    assert shop_order["billing"]["email"] == "greta@example.se" and shop_order["shipping"]["city"] == "Stockholm"
    assert woo_get(woo_sandbox.url, f"/products/{product['id']}")["stock_quantity"] == stock_before - 2

    # a run killed after the shop's answer, before the id map knew: the next finds the order, makes none
    store = StateStore(state_url)
    with store.engine.begin() as conn:
        conn.execute(text("delete from id_map where connection = 'shop'"))
        conn.execute(text("delete from snapshots"))
    store.dispose()
    assert run(defs, "plugs_orders_to_shop").success
    again = [o for o in woo_get(woo_sandbox.url, "/orders")
             if any(m["key"] == "_integrations_order" for m in o["meta_data"])]
    assert [o["id"] for o in again] == [shop_order["id"]]
    assert woo_get(woo_sandbox.url, f"/products/{product['id']}")["stock_quantity"] == stock_before - 2
