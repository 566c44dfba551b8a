"""The WooCommerce sandbox charges orders as WooCommerce does, over real HTTP.

Expected amounts are worked out here, by hand, from WooCommerce's source (abstract-wc-order.php
calculate_totals, class-wc-tax.php, class-wc-discounts.php: line amounts kept without VAT to 6
decimals, VAT per line rounded to the cent — half down when prices include VAT —, shipping at the
goods' class, coupons on prices with VAT), and from the shop's setup that the settings and taxes
endpoints show.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from conftest import WOO_KEY, WOO_SECRET

API = "/wp-json/wc/v3"


class Shop:
    def __init__(self, running) -> None:
        self.url = running.url + API

    def call(self, method: str, path: str, body=None, **params):
        resp = requests.request(method, self.url + path, json=body, params=params or None,
                                auth=(WOO_KEY, WOO_SECRET), timeout=10)
        assert resp.status_code < 300, resp.text
        return resp.json()

    def product(self, sku: str, price: str, tax_class: str = "") -> int:
        return self.call("POST", "/products", {"name": sku, "sku": sku, "regular_price": price,
                                               "tax_class": tax_class})["id"]

    def order(self, lines: list[tuple[int, int]], **extra) -> dict:
        return self.call("POST", "/orders", {"billing": {"email": "a@example.se", "country": "SE"},
                                             "line_items": [{"product_id": p, "quantity": q} for p, q in lines],
                                             **extra})


@pytest.fixture
def shop(woo_empty) -> Shop:
    return Shop(woo_empty)


def test_the_shop_says_how_it_is_set_up(shop):
    tax = {s["id"]: s for s in shop.call("GET", "/settings/tax")}
    assert tax["woocommerce_prices_include_tax"]["value"] == "yes"
    assert tax["woocommerce_tax_classes"]["value"] == ""  # moved to /taxes/classes in WooCommerce 3.7
    general = {s["id"]: s["value"] for s in shop.call("GET", "/settings/general")}
    assert (general["woocommerce_currency"], general["woocommerce_price_num_decimals"]) == ("SEK", "2")
    assert [(t["class"], t["rate"], t["shipping"]) for t in shop.call("GET", "/taxes")] == [
        ("standard", "25.0000", True), ("reduced-rate", "12.0000", True), ("super-reduced-rate", "6.0000", True),
        ("zero-rate", "0.0000", True)]
    assert shop.call("GET", "/taxes/classes")[0] == {"slug": "standard", "name": "Standard rate"}
    single = shop.call("GET", "/settings/tax/woocommerce_tax_round_at_subtotal")
    assert (single["value"], single["group_id"]) == ("no", "tax")


def test_lines_and_shipping_are_taxed_and_totalled_as_woocommerce_does(shop):
    mug, jam = shop.product("MUG", "99.00"), shop.product("JAM", "49.90", "reduced-rate")
    order = shop.order([(mug, 2), (jam, 1)], shipping_lines=[{"method_id": "flat_rate", "total": "49.00"}])
    # 2 x 99.00 incl. 25 %: net 158.40, VAT 39.60. 49.90 incl. 12 %: VAT 49.90 x 12/112 = 5.346429 (6 dp),
    # net 44.553571, VAT on the line 5.35. Shipping 49.00 without VAT, taxed at the standard class (a
    # line is standard): 12.25. Total: 158.40 + 44.55 + 49.00 + 39.60 + 5.35 + 12.25 = 309.15.
    assert {k: order[k] for k in ("total", "total_tax", "cart_tax", "shipping_tax", "shipping_total")} == {
        "total": "309.15", "total_tax": "57.20", "cart_tax": "44.95", "shipping_tax": "12.25",
        "shipping_total": "49.00"}
    jam_line = order["line_items"][1]
    assert (jam_line["total"], jam_line["total_tax"], jam_line["taxes"], jam_line["price"]) == (
        "44.55", "5.35", [{"id": 2, "total": "5.346429", "subtotal": "5.346429"}], 44.553571)
    assert [(t["rate_percent"], t["tax_total"], t["shipping_tax_total"]) for t in order["tax_lines"]] == [
        (25, "39.60", "12.25"), (12, "5.35", "0.00")]
    exact = shop.call("GET", f"/orders/{order['id']}", dp=6)
    assert exact["line_items"][1]["total"] == "44.553571"


def test_vat_in_prices_is_rounded_half_down(shop):
    # 0.14 incl. 12 %: VAT exactly 0.015 (0.14 x 12/112); a shop entering prices with VAT rounds half
    # down: 0.01 (half up would charge 0.02).
    tiny = shop.product("TINY", "0.14", "reduced-rate")
    order = shop.order([(tiny, 1)])
    assert (order["total_tax"], order["total"]) == ("0.01", "0.14")


def test_shipping_takes_the_goods_class_and_an_untaxed_class_untaxes_it(shop):
    jam = shop.product("JAM", "56.00", "reduced-rate")
    order = shop.order([(jam, 1)], shipping_lines=[{"method_id": "flat_rate", "total": "50.00"}])
    assert order["shipping_tax"] == "6.00"  # only reduced-rate goods: shipping at 12 %
    shop.call("PUT", "/settings/tax/woocommerce_shipping_tax_class", {"value": "zero-rate"})
    order = shop.order([(jam, 1)], shipping_lines=[{"method_id": "flat_rate", "total": "50.00"}])
    assert (order["shipping_tax"], order["total"]) == ("0.00", "106.00")


def test_prices_without_vat(shop):
    shop.call("PUT", "/settings/tax/woocommerce_prices_include_tax", {"value": "no"})
    mug = shop.product("MUG", "99.00")
    order = shop.order([(mug, 2)], fee_lines=[{"name": "Invoice fee", "total": "29.00"}])
    # 198.00 + 25 % = 49.50; the fee 29.00 + 7.25 VAT.
    assert (order["prices_include_tax"], order["total_tax"], order["total"]) == (False, "56.75", "283.75")


def test_coupons_apply_to_prices_with_vat_before_tax(shop):
    mug, jam = shop.product("MUG", "99.00"), shop.product("JAM", "49.90", "reduced-rate")
    shop.call("POST", "/coupons", {"code": "TEN", "discount_type": "percent", "amount": "10"})
    order = shop.order([(mug, 2), (jam, 1)], coupon_lines=[{"code": "ten"}])
    # 10 % of 198.00 (19.80) and of 49.90 (4.99, floored to the cent): 24.79 with VAT. The mug's net
    # 158.40 less 19.80/1.25 = 142.56 (VAT 35.64); the jam's 44.553571 less 4.99/1.12 = 40.098214 (VAT
    # 4.811786 -> 4.81). Total 142.56 + 40.10 + 35.64 + 4.81 = 223.11 = 247.90 - 24.79.
    assert (order["total"], order["total_tax"]) == ("223.11", "40.45")
    assert order["coupon_lines"][0]["code"] == "ten"
    assert Decimal(order["coupon_lines"][0]["discount"]) + Decimal(order["coupon_lines"][0]["discount_tax"]) == \
        Decimal("24.79")
    unknown = requests.post(shop.url + "/orders", json={"line_items": [{"product_id": mug, "quantity": 1}],
                                                        "coupon_lines": [{"code": "nope"}]},
                            auth=(WOO_KEY, WOO_SECRET), timeout=10)
    assert unknown.status_code == 400 and unknown.json()["message"] == 'Coupon "nope" does not exist!'
