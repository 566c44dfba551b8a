"""Multishop (seed 002: "flera webbutiker i en och samma koppling … i olika resultatenheter"): three
WooCommerce shops into one Fortnox company over real HTTP. Each shop's orders land once, under its own
key and with its own cost centre; the stock Fortnox keeps reaches every shop, and each shop's prices
come from its own price lists (expected: the list's price without VAT × 1.25, the shops' VAT)."""

from __future__ import annotations

from contextlib import ExitStack
from decimal import Decimal

import yaml

from dagster import DagsterInstance

from conftest import WOO_CREDENTIALS, running
from flowkit import fx, fx_all, run, woo_get
from integrations_dagster import config
from integrations_dagster.build import build_definitions

SHOPS = ("shop1", "shop2", "shop3")
# Each shop's regular and sale price from its own Fortnox price lists ("olika prislistor per butik").
PRICE_LISTS = {"shop1": {"price_list": "A"}, "shop2": {"price_list": "B", "sale_price_list": "C"},
               "shop3": {"sale_price_list": "B"}}  # shop3: the connection's list A, and B as its sale price
LIST_PRICES = {"A": Decimal("100.00"), "B": Decimal("80.00"), "C": Decimal("64.00")}  # without VAT


def _yaml(urls: dict[str, str], fortnox: str) -> str:
    woo = {"system": "woocommerce", "credentials": {"consumer_key": {"env": "WOO_CONSUMER_KEY"},
                                                    "consumer_secret": {"env": "WOO_CONSUMER_SECRET"}},
           "options": {"currency": "SEK", "prices_include_tax": True, "tax_rates": {"": 25, "reduced-rate": 12}}}
    flows = {"products": {"entity": "products", "source": "shop1", "target": "erp"}}
    for n, name in enumerate(urls, 1):
        flows[f"orders_{n}"] = {"entity": "orders", "source": name, "target": "erp", "mode": "create",
                                "after": ["products"], "options": {"document": "order", "cost_center": f"K{n}",
                                                                   "statuses": ["processing", "completed"]}}
        flows[f"stock_{n}"] = {"entity": "stock", "source": "erp", "target": name, "after": ["products"]}
        flows[f"prices_{n}"] = {"entity": "products", "source": "erp", "target": name, "after": ["products"],
                                "owns": ["price", "sale_price"], "options": PRICE_LISTS[name]}
    return yaml.safe_dump({"integrations": [{
        "name": "kedjan", "start_date": "2026-11-01",
        "connections": {**{name: {**woo, "base_url": url} for name, url in urls.items()},
                        "erp": {"system": "fortnox", "base_url": fortnox,
                                "credentials": {"access_token": {"env": "FORTNOX_ACCESS_TOKEN"}},
                                "settings": {"auth_url": f"{fortnox}/oauth-v1"}}},
        "flows": flows}]}, allow_unicode=True)


def test_three_shops_one_company_each_order_once_in_its_cost_centre_stock_to_all(tmp_path, fortnox_empty, state_url):
    fx_url = fortnox_empty.url
    with ExitStack() as stack:
        shops = {name: stack.enter_context(running("woocommerce", WOO_CREDENTIALS, i, demo=True)).url
                 for i, name in enumerate(SHOPS, 1)}
        path = tmp_path / "integrations.yaml"
        path.write_text(_yaml(shops, fx_url))
        defs = build_definitions(config.load(path))
        instance = DagsterInstance.ephemeral()
        assert run(defs, "kedjan_products", instance).success
        for n in (1, 2, 3):
            assert run(defs, f"kedjan_orders_{n}", instance).success
        booked = {d["ExternalInvoiceReference1"]: d for d in fx_all(fx_url, "orders", "Orders")}
        expected = {f"{name}:{o['id']}": f"K{n}" for n, (name, url) in enumerate(shops.items(), 1)
                    for o in woo_get(url, "/orders") if o["status"] in ("processing", "completed")}
        assert set(booked) == set(expected)  # each shop's orders, once, under the shop's own key
        for key, centre in expected.items():
            number = booked[key]["DocumentNumber"]
            assert fx(fx_url, "GET", f"/orders/{number}")["Order"]["CostCenter"] == centre, key
        fx(fx_url, "PUT", "/articles/MUG-FIKA", {"Article": {"QuantityInStock": 77}})
        for n in (1, 2, 3):
            assert run(defs, f"kedjan_stock_{n}", instance).success
        for url in shops.values():
            [mug] = [p for p in woo_get(url, "/products") if p["sku"] == "MUG-FIKA"]
            assert mug["stock_quantity"] == 77

        for code in ("B", "C"):
            fx(fx_url, "POST", "/pricelists", {"PriceList": {"Code": code, "Description": f"Butikslista {code}"}})
        fx(fx_url, "PUT", "/prices/A/MUG-FIKA/0", {"Price": {"Price": float(LIST_PRICES["A"])}})
        for code in ("B", "C"):
            fx(fx_url, "POST", "/prices", {"Price": {"ArticleNumber": "MUG-FIKA", "PriceList": code, "FromQuantity": 0,
                                                     "Price": float(LIST_PRICES[code])}})
        for n in (1, 2, 3):
            assert run(defs, f"kedjan_prices_{n}", instance).success
        with_vat = lambda code: f"{LIST_PRICES[code] * Decimal('1.25'):.2f}"  # noqa: E731
        expected_prices = {"shop1": (with_vat("A"), ""), "shop2": (with_vat("B"), with_vat("C")),
                           "shop3": (with_vat("A"), with_vat("B"))}
        for name, url in shops.items():
            [mug] = [p for p in woo_get(url, "/products") if p["sku"] == "MUG-FIKA"]
            assert (mug["regular_price"], mug["sale_price"]) == expected_prices[name], name
