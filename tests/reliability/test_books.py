"""Books exact: every order the shop charges reaches Fortnox totalling what the shop charged.

hypothesis draws orders (default 500; ``BOOKS_EXAMPLES`` raises it) over Swedish rates 25/12/6/0
mixed in one order, shipping taxed, untaxed and split over the goods' rates, fees, percentage,
fixed-cart and fixed-product coupons, prices entered with and without VAT, tax rounded per line or at
subtotal, quantities up to 7 and prices at rounding edges (0.14 at 12 % carries exactly half an öre
of VAT), to Swedish and foreign addresses, as orders and as invoices, rows with and without VAT.

Each order is charged by the WooCommerce sandbox (WooCommerce's arithmetic), read and mapped by the
WooCommerce connector, written by the Fortnox connector, and totalled by the Fortnox sandbox
(Fortnox's recorded arithmetic). The oracle is the shop's own figures and Fortnox's documented
rounding, written here: the document's total before whole-krona rounding (``Total - RoundOff``) is the
order's ``total``, its ``TotalVAT`` the order's ``total_tax``, the VAT of each rate (recomputed here
from the rows as Fortnox totals them) the shop's ``tax_lines``, and ``RoundOff`` within half a krona.
"""

from __future__ import annotations

import os
from decimal import ROUND_HALF_UP, Decimal

import pytest
import requests
from hypothesis import given, settings, strategies as st

from conftest import FORTNOX_TOKEN, WOO_KEY, WOO_SECRET
from integrations_dagster.connectors.base import Change, WriteContext
from integrations_dagster.connectors.fortnox import FortnoxResource
from integrations_dagster.connectors.woocommerce import WooCommerceResource
from integrations_dagster.connectors.woocommerce.mapping import ORDER_FIELDS

pytestmark = pytest.mark.reliability

EXAMPLES = int(os.environ.get("BOOKS_EXAMPLES", "500"))
PRICES = ("0.14", "0.99", "1.05", "7.77", "9.95", "12.34", "19.90", "49.90", "99.00", "99.99", "149.00", "249.50",
          "1234.57", "0.50")
CLASSES = ("", "reduced-rate", "super-reduced-rate", "zero-rate")
CENT = Decimal("0.01")
API = "/wp-json/wc/v3"


class Binder:
    def __init__(self) -> None:
        self.ids: dict[tuple[str, str], str] = {}

    def external_id(self, entity, key):
        return self.ids.get((entity, key))

    def key_for(self, entity, external_id):
        return next((k for (e, k), v in self.ids.items() if e == entity and v == external_id), None)

    def bind(self, entity, key, external_id, parent_id=None):
        self.ids[(entity, key)] = external_id

    def all(self, entity):
        return {k: v for (e, k), v in self.ids.items() if e == entity}


orders = st.fixed_dictionaries({
    "prices_include_tax": st.sampled_from(["yes", "no"]),
    "round_at_subtotal": st.sampled_from(["no", "no", "yes"]),
    "shipping_class": st.sampled_from(["inherit", "inherit", "zero-rate", "reduced-rate"]),
    "split_shipping": st.sampled_from(["no", "yes"]),
    "lines": st.lists(st.tuples(st.integers(0, len(PRICES) * len(CLASSES) - 1), st.integers(1, 7)),
                      min_size=1, max_size=6),
    "shipping": st.lists(st.sampled_from(["0.00", "39.20", "49.00", "59.99", "0.05", "125.50"]), max_size=2),
    "fees": st.lists(st.tuples(st.sampled_from(["29.00", "0.01", "15.50", "99.99"]), st.sampled_from(CLASSES),
                               st.sampled_from(["taxable", "taxable", "none"])), max_size=2),
    "coupon": st.one_of(st.none(), st.tuples(st.just("percent"), st.sampled_from(["5", "10", "12.5", "33", "50"])),
                        st.tuples(st.just("fixed_cart"), st.sampled_from(["10.00", "25.50", "0.99"])),
                        st.tuples(st.just("fixed_product"), st.sampled_from(["1.00", "5.00"]))),
    "country": st.sampled_from(["SE"] * 9 + ["NO"]),
    "document": st.sampled_from(["order", "invoice"]),
    "vat_included": st.sampled_from([None, True, False]),
})


def test_every_order_reaches_fortnox_totalling_what_the_shop_charged(woo_empty, fortnox_empty, figures):
    woo_url, fx_url = woo_empty.url + API, fortnox_empty.url
    auth = (WOO_KEY, WOO_SECRET)

    def woo(method: str, path: str, body=None, **params):
        resp = requests.request(method, woo_url + path, json=body, params=params or None, auth=auth, timeout=10)
        assert resp.status_code < 300, resp.text
        return resp.json()

    shop = WooCommerceResource(base_url=woo_empty.url, consumer_key=WOO_KEY, consumer_secret=WOO_SECRET)
    erp = FortnoxResource(base_url=fx_url, access_token=FORTNOX_TOKEN, rate_limit=0)
    products = []
    for i, (price, tax_class) in enumerate((p, c) for p in PRICES for c in CLASSES):
        products.append(woo("POST", "/products", {"name": f"Vara {i}", "sku": f"P{i}", "regular_price": price,
                                                  "tax_class": tax_class})["id"])
        if i % 2 == 0:  # half the shop's SKUs are Fortnox articles; the others become rows without article
            requests.post(f"{fx_url}/3/articles", json={"Article": {"ArticleNumber": f"P{i}", "Description": f"V{i}"}},
                          headers={"Authorization": f"Bearer {FORTNOX_TOKEN}"}, timeout=10).raise_for_status()
    state = {"settings": {}, "coupons": {}, "options": {}}
    tally = {"orders drawn": 0, "documents exact (total, VAT, VAT per rate)": 0, "as invoices": 0,
             "with 2+ VAT rates": 0, "with a coupon": 0, "with fees": 0, "shipping taxed": 0, "shipping untaxed": 0,
             "shipping split over rates": 0, "prices entered with VAT": 0, "tax rounded at subtotal": 0,
             "foreign (untaxed)": 0, "with rows without article": 0, "with Fortnox RoundOff != 0": 0,
             "with öre rows (VAT or total rounding)": 0}

    def put(name: str, value: str) -> None:
        if state["settings"].get(name) != value:
            woo("PUT", f"/settings/tax/{name}", {"value": value})
            state["settings"][name] = value

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None)
    @given(orders)
    def check(drawn: dict) -> None:
        put("woocommerce_prices_include_tax", drawn["prices_include_tax"])
        put("woocommerce_tax_round_at_subtotal", drawn["round_at_subtotal"])
        put("woocommerce_shipping_tax_class", drawn["shipping_class"])
        put("se_vat_shipping_proportional", drawn["split_shipping"])
        body = {"status": "processing", "billing": {"first_name": "Kim", "email": "kim@example.se",
                                                    "country": drawn["country"]},
                "line_items": [{"product_id": products[p], "quantity": q} for p, q in drawn["lines"]],
                "shipping_lines": [{"method_id": "flat_rate", "method_title": "PostNord", "total": t}
                                   for t in drawn["shipping"]],
                "fee_lines": [{"name": "Avgift", "total": t, "tax_class": c, "tax_status": s}
                              for t, c, s in drawn["fees"]]}
        if drawn["coupon"]:
            kind, amount = drawn["coupon"]
            code = f"{kind}-{amount}".replace(".", "-")
            if code not in state["coupons"]:
                state["coupons"][code] = woo("POST", "/coupons", {"code": code, "discount_type": kind, "amount": amount})
            body["coupon_lines"] = [{"code": code}]
        made = woo("POST", "/orders", body)
        raw = woo("GET", f"/orders/{made['id']}", _fields=",".join(ORDER_FIELDS))
        options = shop.prepare("orders", {"connection": "shop"})
        order = shop.to_canonical("orders", raw, options)
        [outcome] = erp.write("orders", [Change("create", order.key, order)],
                              WriteContext(Binder(), Binder(), {"document": drawn["document"],
                                                                "vat_included": drawn["vat_included"]},
                                           log=lambda line: None))
        assert outcome.ok, outcome.error
        assert not [w for w in outcome.warnings if w.startswith("Fortnox totals")], outcome.warnings
        resource, wrapper, rows_key = (("orders", "Order", "OrderRows") if drawn["document"] == "order"
                                       else ("invoices", "Invoice", "InvoiceRows"))
        doc = requests.get(f"{fx_url}/3/{resource}/{outcome.target_id}", timeout=10,
                           headers={"Authorization": f"Bearer {FORTNOX_TOKEN}"}).json()[wrapper]
        total, vat, round_off = (Decimal(str(doc[k])) for k in ("Total", "TotalVAT", "RoundOff"))
        assert total - round_off == Decimal(raw["total"]), (raw, doc)
        assert vat == Decimal(raw["total_tax"]), (raw, doc)
        assert abs(round_off) <= Decimal("0.5") and total == total.to_integral_value()
        # VAT per rate as Fortnox totals it (each rate's row totals at that rate) against the shop's tax lines.
        by_rate: dict[Decimal, Decimal] = {}
        for row in doc[rows_key]:
            rate = Decimal(str(row["VAT"]))
            by_rate[rate] = by_rate.get(rate, Decimal(0)) + Decimal(str(row["Total"]))
        fortnox_vat = {rate: (amount * rate / ((100 + rate) if doc["VATIncluded"] else 100)).quantize(CENT, ROUND_HALF_UP)
                       for rate, amount in by_rate.items() if rate}
        shop_vat: dict[Decimal, Decimal] = {}
        for line in raw["tax_lines"]:
            rate = Decimal(str(line["rate_percent"]))
            shop_vat[rate] = shop_vat.get(rate, Decimal(0)) + Decimal(line["tax_total"]) + Decimal(line["shipping_tax_total"])
        for rate in set(fortnox_vat) | set(shop_vat):
            slack = CENT * len(shop_vat) if drawn["round_at_subtotal"] == "yes" else 0  # per-rate vs total rounding
            assert abs(fortnox_vat.get(rate, Decimal(0)) - shop_vat.get(rate, Decimal(0))) <= slack, (rate, raw, doc)
        _count(tally, drawn, raw, doc, rows_key)

    check()
    figures["books"] = tally
    assert tally["orders drawn"] >= EXAMPLES
    assert tally["documents exact (total, VAT, VAT per rate)"] == tally["orders drawn"]


def _count(tally: dict, drawn: dict, raw: dict, doc: dict, rows_key: str) -> None:
    tally["orders drawn"] += 1
    tally["documents exact (total, VAT, VAT per rate)"] += 1
    tally["as invoices"] += drawn["document"] == "invoice"
    rates = {Decimal(str(t["rate_percent"])) for t in raw["tax_lines"] if Decimal(t["tax_total"]) or
             Decimal(t["shipping_tax_total"])}
    tally["with 2+ VAT rates"] += len(rates) >= 2
    tally["with a coupon"] += bool(drawn["coupon"])
    tally["with fees"] += bool(drawn["fees"])
    shipping_taxes = [t for s in raw["shipping_lines"] for t in s["taxes"] if Decimal(t["total"] or 0)]
    if raw["shipping_lines"]:
        key = ("shipping split over rates" if len({t["id"] for t in shipping_taxes}) > 1
               else "shipping taxed" if shipping_taxes else "shipping untaxed")
        tally[key] += 1
    tally["prices entered with VAT"] += drawn["prices_include_tax"] == "yes"
    tally["tax rounded at subtotal"] += drawn["round_at_subtotal"] == "yes"
    tally["foreign (untaxed)"] += drawn["country"] != "SE"
    rows = doc[rows_key]
    tally["with rows without article"] += any(not r["ArticleNumber"] for r in rows
                                              if r["Description"] not in ("Öresutjämning",) and
                                              not r["Description"].startswith("Momsavrundning"))
    tally["with Fortnox RoundOff != 0"] += Decimal(str(doc["RoundOff"])) != 0
    tally["with öre rows (VAT or total rounding)"] += any(
        r["Description"] == "Öresutjämning" or r["Description"].startswith("Momsavrundning") for r in rows)
