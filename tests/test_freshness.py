"""No change waits for the nightly reconcile: a variation's edit reaches Fortnox at the next sensor tick.

WooCommerce saves a variation's parent whenever the variation is saved, which moves the parent's
``date_modified`` (evidence in the sandbox's ``catalog`` module): the products sensor's one
request per tick (``/products?modified_after=…``) sees it, and the run it starts reads the parent
with all its variations. Expected prices are worked out here from the shop's numbers: the price
with VAT ÷ (1 + VAT rate), to the öre, half up.
"""

from __future__ import annotations

import time
from decimal import ROUND_HALF_UP, Decimal

import requests
from dagster import DagsterInstance, RunRequest, SkipReason

from flowkit import definitions, fx, stats, woo_get, woo_post, woo_put, sensor_ticks
from conftest import WOO_KEY, WOO_SECRET

REDUCED_RATE = Decimal("12")  # the test YAML's tax_rates: "reduced-rate": 12


def net(gross: str, rate: Decimal) -> Decimal:
    return (Decimal(gross) / (1 + rate / 100)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def a_variable_product(woo: str, prefix: str) -> tuple[dict, list[dict]]:
    """A T-shirt in two sizes at 100.00 with 12 % VAT (the parent's tax class; the variations inherit it)."""
    parent = woo_post(woo, "/products", {
        "name": f"{prefix} T-shirt", "type": "variable", "sku": prefix, "tax_class": "reduced-rate",
        "attributes": [{"name": "Size", "options": ["S", "M"], "variation": True, "visible": True}]})
    variations = [woo_post(woo, f"/products/{parent['id']}/variations", {
        "sku": f"{prefix}-{size}", "regular_price": "100.00", "attributes": [{"name": "Size", "option": size}]})
        for size in ("S", "M")]
    return parent, variations


def next_second() -> None:
    """Sleep into the next wall-clock second, so an edit's date differs from all dates before it."""
    time.sleep(1.05 - time.time() % 1)


def test_a_variation_edit_moves_its_parents_date_modified(woo_sandbox):
    """Update, batch update, stock reduction and delete of a variation all save the parent."""
    woo = woo_sandbox.url
    parent, (small, medium) = a_variable_product(woo, "FRESH-DATES")

    def parent_seen_after(before: str) -> bool:
        found = woo_get(woo, "/products", modified_after=before, dates_are_gmt="true")
        return parent["id"] in [p["id"] for p in found]

    for edit in (lambda: woo_put(woo, f"/products/{parent['id']}/variations/{small['id']}", {"regular_price": "90.00"}),
                 lambda: woo_post(woo, f"/products/{parent['id']}/variations/batch",
                                  {"update": [{"id": medium["id"], "manage_stock": True, "stock_quantity": 7}]}),
                 lambda: requests.delete(f"{woo}/wp-json/wc/v3/products/{parent['id']}/variations/{medium['id']}",
                                         params={"force": "true"}, auth=(WOO_KEY, WOO_SECRET), timeout=10)):
        before = woo_get(woo, f"/products/{parent['id']}")["date_modified_gmt"]
        assert not parent_seen_after(before)
        next_second()
        edit()
        after = woo_get(woo, f"/products/{parent['id']}")
        assert after["date_modified_gmt"] > before
        assert parent_seen_after(before)
    assert after["price"] == "90.00"  # the lowest price of the variation left


def test_a_variation_price_edit_reaches_fortnox_at_the_next_sensor_tick(tmp_path, woo_sandbox, fortnox_empty,
                                                                         state_url):
    woo, erp = woo_sandbox.url, fortnox_empty.url
    defs = definitions(tmp_path, woo, erp)
    parent, (small, medium) = a_variable_product(woo, "FRESH-TEE")
    job = defs.get_job_def("demo_products")
    instance = DagsterInstance.ephemeral()
    tick = sensor_ticks(defs, "products", instance)

    def price_a(sku: str) -> Decimal:
        return Decimal(str(fx(erp, "GET", f"/prices/A/{sku}")["Price"]["Price"]))

    first, cursor = tick(None)
    assert isinstance(first, RunRequest)
    assert job.execute_in_process(instance=instance, tags=first.tags).success  # the first sync
    assert price_a("FRESH-TEE-S") == price_a("FRESH-TEE-M") == net("100.00", REDUCED_RATE)  # 89.29
    idle, cursor = tick(cursor)
    assert isinstance(idle, SkipReason)

    next_second()
    woo_put(woo, f"/products/{parent['id']}/variations/{small['id']}", {"regular_price": "224.14"})
    before = stats(woo)["requests"]
    change, cursor = tick(cursor)
    cost = {k: n - before.get(k, 0) for k, n in stats(woo)["requests"].items() if n != before.get(k, 0)}
    assert cost == {"GET /wp-json/wc/v3/products": 1}  # one request a tick, variations or not
    assert isinstance(change, RunRequest)
    assert job.execute_in_process(instance=instance, tags=change.tags).success
    # 224.14 ÷ 1.12 = 200.125: half up to 200.13 (half to even would give 200.12)
    assert price_a("FRESH-TEE-S") == net("224.14", REDUCED_RATE) == Decimal("200.13")
    assert price_a("FRESH-TEE-M") == net("100.00", REDUCED_RATE)

    next_second()
    woo_put(woo, f"/products/{parent['id']}/variations/{medium['id']}", {"manage_stock": True, "stock_quantity": 3})
    stock, cursor = tick(cursor)
    assert isinstance(stock, RunRequest)  # a stock-only edit of a variation starts a run too


def test_a_change_in_the_watermarks_own_second_is_seen(woo_sandbox):
    """Dates are to the second: a product saved in the same second as the watermark, after the tick
    that set it, is still a change; asking again without one is not."""
    woo = woo_sandbox.url
    from integrations_dagster.connectors.woocommerce.client import WooCommerceResource

    shop = WooCommerceResource(base_url=woo, consumer_key=WOO_KEY, consumer_secret=WOO_SECRET)
    first, second = [p for p in woo_get(woo, "/products") if p["type"] == "simple"][:2]
    for _ in range(5):  # both saves must fall in one second; rarely they do not, then try again
        next_second()
        a = woo_put(woo, f"/products/{first['id']}", {"name": first["name"] + " ·"})
        mark = shop.latest_change("products", None)
        b = woo_put(woo, f"/products/{second['id']}", {"name": second["name"] + " ·"})
        if a["date_modified_gmt"] == b["date_modified_gmt"]:
            break
    else:
        raise AssertionError("two saves never fell in one second")
    assert mark is not None and mark.at.strftime("%Y-%m-%dT%H:%M:%S") == a["date_modified_gmt"]
    again = shop.latest_change("products", mark)
    assert again is not None and again.new and again.at == mark.at
    quiet = shop.latest_change("products", again)
    assert quiet is None or not quiet.new
