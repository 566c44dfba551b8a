"""The WooCommerce connector against the sandbox over real HTTP: connection test, paged reads with
variations, incremental windows, mapping of good and bad records, stock written through batches."""

from __future__ import annotations

import copy
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import requests

from conftest import WOO_KEY, WOO_SECRET
from flowkit import MemoryBinder
from integrations_dagster.connectors.base import Change, Watermark, Window, WriteContext
from integrations_dagster.config import ConfigError
from integrations_dagster.connectors.woocommerce import WooCommerceResource
from integrations_dagster.model import OrderStatus, RecordError, StockLevel
from integrations_dagster.sandbox.woocommerce.demo import load_catalogue

API = "/wp-json/wc/v3"


def shop(running) -> WooCommerceResource:
    return WooCommerceResource(base_url=running.url, consumer_key=WOO_KEY, consumer_secret=WOO_SECRET, timeout=5)


def stats(running) -> dict:
    return requests.get(f"{running.url}/__sandbox__/stats", timeout=5).json()


def clear_stats(running) -> None:
    requests.post(f"{running.url}/__sandbox__/stats/clear", timeout=5)


def get(running, path: str, **params):
    return requests.get(f"{running.url}{API}{path}", auth=(WOO_KEY, WOO_SECRET), params=params, timeout=5).json()


def stock_changes(levels: dict[str, object]) -> list[Change]:
    return [Change("update", sku, StockLevel(sku=sku, quantity=Decimal(str(q)))) for sku, q in levels.items()]


def test_connection_names_version_site_and_the_shops_own_setup(woo_sandbox):
    assert shop(woo_sandbox).test_connection() == (
        "WooCommerce 9.4.2 at https://shop.example.com, currency SEK, prices include VAT, tax rates standard 25 %, "
        "reduced-rate 12 %, super-reduced-rate 6 %, zero-rate 0 %")


def test_the_shop_says_how_to_read_it_and_the_yaml_may_not_contradict_it(woo_sandbox):
    connector = shop(woo_sandbox)
    settled = connector.prepare("products", {"connection": "shop"})
    assert (settled["currency"], settled["prices_include_tax"]) == ("SEK", True)
    assert settled["tax_rates"] == {"": "25", "reduced-rate": "12", "super-reduced-rate": "6", "zero-rate": "0"}
    assert connector.prepare("products", {"connection": "shop", "tax_rates": {"reduced-rate": "12.00"}})
    for option, message in (
            ({"currency": "EUR"}, "connections.shop.options.currency: 'EUR', but the shop's currency is 'SEK'"),
            ({"prices_include_tax": False}, "connections.shop.options.prices_include_tax: False, but the shop enters "
                                            "prices with VAT"),
            ({"tax_rates": {"reduced-rate": 6}}, "connections.shop.options.tax_rates.reduced-rate: 6 %, but the "
                                                 "shop's rate is 12 %"),
            ({"tax_rates": {"food": 12}}, "connections.shop.options.tax_rates: the shop has no tax class 'food'"),
            ({"missing_sku": "invent"}, "connections.shop.options.missing_sku: 'invent' is not one of refuse, generate")):
        with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
            connector.prepare("products", {"connection": "shop", **option})
    requests.put(f"{woo_sandbox.url}{API}/settings/tax/woocommerce_prices_include_tax", json={"value": "no"},
                 auth=(WOO_KEY, WOO_SECRET), timeout=5).raise_for_status()
    assert connector.prepare("products", {"connection": "shop"})["prices_include_tax"] is False


def test_read_products_pages_and_attaches_variations(woo_empty):
    load_catalogue(woo_empty.sandbox, 250, 3)
    clear_stats(woo_empty)
    raws = list(shop(woo_empty).read("products", Window(), {}))
    assert len(raws) == 250 and len({r["id"] for r in raws}) == 250
    assert all(len(r["_variations"]) == 3 for r in raws)
    requests_made = stats(woo_empty)["requests"]
    assert requests_made["GET /wp-json/wc/v3/products"] == 3
    assert requests_made["GET /wp-json/wc/v3/products/{id}/variations"] == 250
    product = shop(woo_empty).to_canonical("products", raws[0], {})
    assert product.kind == "variable" and [v.sku for v in product.variants] == ["BENCH-00001-1", "BENCH-00001-2",
                                                                                "BENCH-00001-3"]


def test_incremental_window_and_latest_change(woo_sandbox):
    connector = shop(woo_sandbox)
    since = datetime.now(timezone.utc) - timedelta(seconds=2)
    assert connector.latest_change("products", Watermark(since)) is None
    requests.put(f"{woo_sandbox.url}{API}/products/3", auth=(WOO_KEY, WOO_SECRET), json={"regular_price": "139.00"},
                 timeout=5)
    changed = list(connector.read("products", Window(since=since), {}))
    assert [r["sku"] for r in changed] == ["TOTE-ECO"]
    latest = connector.latest_change("products", Watermark(since))
    assert latest is not None and latest.new and latest.at.tzinfo is not None and latest.at >= since.replace(microsecond=0)
    assert connector.latest_change("products", latest) is None
    older = list(connector.read("products", Window(since=datetime(2024, 3, 5, 12, tzinfo=timezone.utc),
                                                   until=datetime(2024, 3, 8, 12, 30, tzinfo=timezone.utc)), {}))
    assert [r["id"] for r in older] == [6, 7, 8]
    assert connector.latest_change("orders", None).at == datetime(2024, 4, 7, 18, tzinfo=timezone.utc)


def test_demo_products_and_orders_map(woo_sandbox):
    connector = shop(woo_sandbox)
    products = [connector.to_canonical("products", r, {}) for r in connector.read("products", Window(), {})]
    assert len(products) == 12
    hoodie = next(p for p in products if p.name == "Hoodie Classic")
    assert hoodie.kind == "variable" and hoodie.option_names == ("Size", "Color") and len(hoodie.variants) == 4
    first = hoodie.variants[0]
    assert first.options == {"Size": "M", "Color": "Grå"} and first.sale_price.amount.amount == Decimal("449.00")
    assert first.ean and len(first.ean) == 13 and first.stock_quantity is not None
    mug = next(p for p in products if p.sku == "MUG-FIKA")
    assert mug.price.amount.amount == Decimal("149.00") and mug.price.includes_vat and mug.vat_rate == Decimal(25)
    assert mug.weight == Decimal("0.40") and mug.categories == ("Accessories",) and mug.images
    assert mug.modified_at == "2024-03-01T12:00:00Z"
    assert not next(p for p in products if p.name == "Regnjacka").active
    orders = [connector.to_canonical("orders", r, {"connection": "webshop"})
              for r in connector.read("orders", Window(), {"statuses": ["processing", "completed", "pending", "on-hold"]})]
    assert len(orders) == 8
    first_order = next(o for o in orders if o.source_id == "1")
    assert first_order.key == "webshop:1" and first_order.status is OrderStatus.PROCESSING
    assert first_order.customer.email == "anna.andersson@example.se" and first_order.customer.source_id == "1"
    line = first_order.lines[0]
    # 2 x 199.00 with 25 % VAT: 318.40 without, 79.60 VAT
    assert (line.sku, line.quantity, line.net, line.vat, line.vat_rate) == (
        "TS-BASIC-M", 2, Decimal("318.40"), Decimal("79.60"), 25)
    assert first_order.total.amount == Decimal("596.00") and first_order.billing.country == "SE"
    guest = next(o for o in orders if o.customer.source_id is None)
    assert guest.customer.email == "gustav.gast@example.se"
    default_read = list(connector.read("orders", Window(), {}))
    assert {r["status"] for r in default_read} == {"processing", "completed"}


def test_bad_records_give_readable_reasons(woo_sandbox):
    connector = shop(woo_sandbox)
    raws = {r["name"]: r for r in connector.read("products", Window(), {})}
    mug, shirt = raws["Mugg Fika"], raws["T-shirt Basic"]
    cases = [
        ({**mug, "sku": ""}, "product 1 'Mugg Fika' has no SKU: give it a SKU in WooCommerce"),
        ({**mug, "regular_price": "abc"}, "regular_price 'abc' is not a number"),
        ({**mug, "tax_class": "reduced-rate"}, "tax class 'reduced-rate' has no VAT rate"),
        ({**mug, "type": "grouped"}, "product type 'grouped' is not synced"),
    ]
    broken = copy.deepcopy(shirt)
    broken["_variations"][1]["sku"] = ""
    cases.append((broken, f"variation {broken['_variations'][1]['id']} of product {shirt['id']} has no SKU"))
    for raw, reason in cases:
        with pytest.raises(RecordError, match=reason.replace("(", r"\(")):
            connector.to_canonical("products", raw, {})
    assert connector.raw_key("products", mug) == f"product {mug['id']}"
    order = get(woo_sandbox, "/orders/1")
    no_rate = copy.deepcopy(order)
    no_rate["tax_lines"][0]["rate_percent"] = None
    two_rates = copy.deepcopy(order)
    two_rates["line_items"][1]["taxes"].append({"id": 2, "total": "1.00", "subtotal": "1.00"})
    two_rates["tax_lines"].append({"rate_id": 2, "rate_percent": 12, "tax_total": "1.00", "shipping_tax_total": "0"})
    guest = {**order, "customer_id": 0, "billing": {**order["billing"], "email": ""}}
    for raw, reason in ((no_rate, "tax line 'Moms' \\(rate id 1\\) has no rate_percent and the shop's /taxes has no"),
                        (two_rates, "line 2 'Mugg Fika' was taxed at several rates \\(12, 25 %\\)"),
                        (guest, "order has no billing email and no customer"),
                        ({**order, "total": "n/a"}, "total 'n/a' is not a number")):
        with pytest.raises(RecordError, match=reason):
            connector.to_canonical("orders", raw, {"connection": "webshop"})


def test_write_stock_through_batches(woo_empty):
    load_catalogue(woo_empty.sandbox, 150, 0)  # simple products BENCH-00001..00150
    load_catalogue(woo_empty.sandbox, 1, 3)  # one variable product, id 151
    binder = MemoryBinder()
    binder.bind("products", "BENCH-00002", "2")
    levels = {f"BENCH-{i:05d}": i % 7 for i in range(1, 131)}
    levels.update({"BENCH-00151-1": 11, "BENCH-00151-3": 0, "NOT-THERE": 1, "BENCH-00003": "1.5"})
    clear_stats(woo_empty)
    outcomes = list(shop(woo_empty).write("stock", stock_changes(levels), WriteContext(binder, binder)))
    by_key = {o.key: o for o in outcomes}
    assert len(outcomes) == len(levels)
    assert by_key["NOT-THERE"].action == "ignored" and "'NOT-THERE' is not in the shop" in by_key["NOT-THERE"].error
    assert not by_key["BENCH-00003"].ok and "whole number" in by_key["BENCH-00003"].error
    assert sum(o.ok and o.action != "ignored" for o in outcomes) == 131
    assert by_key["BENCH-00151-1"].target_id.startswith("151/") and binder.ids["BENCH-00151-1"] == by_key[
        "BENCH-00151-1"].target_id
    made = stats(woo_empty)["requests"]
    assert made["POST /wp-json/wc/v3/products/batch"] == 2
    assert made["POST /wp-json/wc/v3/products/{id}/variations/batch"] == 1
    assert get(woo_empty, "/products/130")["stock_quantity"] == 130 % 7
    variations = {v["sku"]: v for v in get(woo_empty, "/products/151/variations")}
    assert variations["BENCH-00151-1"]["stock_quantity"] == 11
    assert variations["BENCH-00151-3"]["stock_status"] == "outofstock"
    clear_stats(woo_empty)
    again = list(shop(woo_empty).write("stock", stock_changes({"BENCH-00001": 9}), WriteContext(binder, binder)))
    assert again[0].ok and "GET /wp-json/wc/v3/products" not in stats(woo_empty)["requests"]  # bound: no lookup


def test_write_recovers_from_an_error_after_the_batch_landed(woo_sandbox):
    binder = MemoryBinder()
    connector = shop(woo_sandbox)
    connector.http.retry.base_delay = 0.01
    requests.post(f"{woo_sandbox.url}/__sandbox__/knobs", json={"fault_after_write_rate": 1.0}, timeout=5)
    outcomes = list(connector.write("stock", stock_changes({"MUG-FIKA": 4, "BEANIE-WOOL": 6}),
                                    WriteContext(binder, binder)))
    assert [o.ok for o in outcomes] == [True, True]
    assert stats(woo_sandbox)["requests"]["POST /wp-json/wc/v3/products/batch"] == 1  # re-read, not resent
    assert get(woo_sandbox, "/products/1")["stock_quantity"] == 4


def test_the_next_page_of_products_is_read_while_the_variation_lists_are(woo_empty):
    """A variable product's variation list is asked for as soon as its page arrives (8 at a time),
    and the next page of products meanwhile, not after the page's last list came back; the
    products still come out in order, each with its own list."""
    load_catalogue(woo_empty.sandbox, 150, 2)
    requests.post(f"{woo_empty.url}/__sandbox__/knobs", json={"latency_ms": 5}, timeout=5)
    arrived: list[str] = []
    woo_empty.sandbox.log = arrived.append  # the sandbox's own log of each request as it arrives
    raws = list(shop(woo_empty).read("products", Window(), {}))
    ids = [r["id"] for r in raws]
    assert ids == sorted(ids) and len(set(ids)) == 150
    assert all([v["sku"][:-2] for v in r["_variations"]] == [r["_variations"][0]["sku"][:-2]] * 2 for r in raws)
    pages = [i for i, line in enumerate(arrived) if line.endswith("/products")]
    first_page_lists = [i for i, line in enumerate(arrived)
                        if line.endswith("/variations") and int(line.split("/")[-2]) in set(ids[:100])]
    assert len(pages) == 2 and len(first_page_lists) == 100
    assert pages[1] < first_page_lists[-1]  # page 2 asked for before page 1's last list


def test_a_read_stopped_early_leaves_no_request_behind(woo_empty):
    """A consumer that stops after the first product: the lists not yet asked for are never asked."""
    load_catalogue(woo_empty.sandbox, 150, 2)
    requests.post(f"{woo_empty.url}/__sandbox__/knobs", json={"latency_ms": 5}, timeout=5)
    clear_stats(woo_empty)
    reader = shop(woo_empty).read("products", Window(), {})
    assert len(next(reader)["_variations"]) == 2
    reader.close()
    asked = stats(woo_empty)["requests"]["GET /wp-json/wc/v3/products/{id}/variations"]
    assert asked < 100  # the first page's other lists were dropped, not read
    time.sleep(0.2)
    assert stats(woo_empty)["requests"]["GET /wp-json/wc/v3/products/{id}/variations"] == asked


def test_read_survives_injected_faults(woo_empty):
    load_catalogue(woo_empty.sandbox, 120, 2)
    connector = shop(woo_empty)
    connector.http.retry.base_delay = 0.01
    # The sandbox faults at most ``streak`` tries of one request in a row, and the client tries more
    # often than that: the read must pass by design, not because the dice were kind.
    streak = connector.http.retry.attempts - 1
    assert 0 < streak < connector.http.retry.attempts
    requests.post(f"{woo_empty.url}/__sandbox__/knobs",
                  json={"fault_rate": 0.2, "seed": 7, "fault_streak_max": streak}, timeout=5)
    raws = list(connector.read("products", Window(), {}))
    assert len(raws) == 120 and all(len(r["_variations"]) == 2 for r in raws)
    assert stats(woo_empty)["faults"]["server_error"] > 0


def test_reads_ask_for_the_mapped_fields_only_and_map_the_same(woo_sandbox):
    """The reader sends ``_fields``; every canonical record equals the one mapped from the full
    answer, so no field the mapping reads is missing from the lists."""
    connector = shop(woo_sandbox)
    options = {"connection": "webshop"}
    read = {r["id"]: r for r in connector.read("products", Window(), {})}
    full = get(woo_sandbox, "/products", per_page=100)
    assert len(full) == len(read) and all(set(r) - {"_variations"} < set(f) for r, f in zip(read.values(), full))
    for raw in full:
        if raw["type"] == "variable":
            raw["_variations"] = get(woo_sandbox, f"/products/{raw['id']}/variations", per_page=100,
                                     orderby="id", order="asc")
        assert connector.to_canonical("products", raw, options) == \
            connector.to_canonical("products", read[raw["id"]], options)
    statuses = {"statuses": ["processing", "completed", "pending", "on-hold"]}
    orders = {r["id"]: r for r in connector.read("orders", Window(), statuses)}
    for raw in get(woo_sandbox, "/orders", per_page=100, status="processing,completed,pending,on-hold"):
        assert set(orders[raw["id"]]) < set(raw)
        assert connector.to_canonical("orders", raw, options) == \
            connector.to_canonical("orders", orders[raw["id"]], options)
