"""Multishop (seed 002: "flera webbutiker i en och samma koppling … i olika resultatenheter"): three
WooCommerce shops into one Fortnox company over real HTTP. Each shop's orders land once, under its own
key and with its own cost centre; the stock Fortnox keeps reaches every shop."""

from __future__ import annotations

from contextlib import ExitStack

import yaml

from dagster import DagsterInstance

from conftest import WOO_CREDENTIALS, running
from flowkit import fx, fx_all, run, woo_get
from integrations_dagster import config
from integrations_dagster.build import build_definitions

SHOPS = ("shop1", "shop2", "shop3")


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
