"""The Shopbox connector against the Shopbox sandbox over real HTTP: login and the token's secrecy,
products with variations, till receipts as orders whose lines add up to what the till charged, and
stock written per branch through the flow's location map.

Expected values come from the demo shop's records read here and the test's own arithmetic (øre / 100,
the line totals summed), never from the connector."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests

from conftest import SHOPBOX_CLIENT, SHOPBOX_PASSWORD, SHOPBOX_USERNAME
from integrations_dagster.connectors.base import Change, Window, WriteContext
from integrations_dagster.connectors.http import ApiError
from integrations_dagster.connectors.shopbox.client import ShopboxResource
from integrations_dagster.model.stock import StockLevel
from test_fortnox_connector import MemoryBinder


def connector(sb) -> ShopboxResource:
    return ShopboxResource(base_url=f"{sb.url}/api/v3", username=SHOPBOX_USERNAME, password=SHOPBOX_PASSWORD,
                           client=SHOPBOX_CLIENT)


def raw(sb, path: str, **params) -> dict:
    """The shop's own answer, read with a login of the test's own."""
    token = requests.post(f"{sb.url}/api/v3/authenticate/credentials", timeout=10,
                          json={"username": SHOPBOX_USERNAME, "password": SHOPBOX_PASSWORD}).json()["accessToken"]
    resp = requests.get(f"{sb.url}/api/v3{path}", params={"accessToken": token, "client": SHOPBOX_CLIENT, **params},
                        timeout=10)
    resp.raise_for_status()
    return resp.json()


def test_products_with_variations_and_prices_in_kroner_with_vat(shopbox_sandbox):
    sb, box = shopbox_sandbox, connector(shopbox_sandbox)
    shop = {p["uid"]: p for p in raw(sb, "/products", expand="product_variances")["data"]}
    got = {p.source_id: p for p in (box.to_canonical("products", r, {}) for r in box.read("products", Window(), {}))}
    assert set(got) == {str(uid) for uid in shop}
    for uid, source in shop.items():
        product = got[str(uid)]
        assert product.price.amount.amount == Decimal(source["selling_price"]) / 100
        assert product.price.includes_vat and product.price.amount.currency == "DKK"
        assert product.vat_rate == Decimal(source["tax0"]["percentage"])
        variances = source.get("product_variances") or []
        assert product.kind == ("variable" if variances else "simple")
        assert [v.sku for v in product.variants] == [v["sku_code"] for v in variances]
        assert [v.source_id for v in product.variants] == [str(v["uid"]) for v in variances]  # Rackbeat keeps them
        if not variances:
            assert product.sku == source["sku_code"]


def test_a_spent_token_is_renewed_once_and_no_error_names_it(shopbox_sandbox):
    sb, box = shopbox_sandbox, connector(shopbox_sandbox)
    assert box.test_connection().startswith(f"Shopbox: shop {SHOPBOX_CLIENT}, 2 branches")
    token = box.adapter()._token.value
    requests.post(f"{sb.url}/__sandbox__/shopbox/tokens/expire", timeout=10).raise_for_status()
    assert len(list(box.read("products", Window(), {}))) == len(raw(sb, "/products")["data"])
    assert box.adapter()._token.value != token  # logged in again
    with pytest.raises(ApiError) as err:
        box.adapter().get("/products/999999999")
    assert err.value.status == 404
    for text in (str(err.value), repr(box), repr(box.adapter()), repr(box.adapter().http)):
        assert box.adapter()._token.value not in text and SHOPBOX_PASSWORD not in text


def test_baskets_become_orders_that_total_what_the_till_charged(shopbox_sandbox):
    sb, box = shopbox_sandbox, connector(shopbox_sandbox)
    baskets = raw(sb, "/baskets")["data"]
    options = box.prepare("orders", {"connection": "kasse"})
    orders = [box.to_canonical("orders", r, options) for r in box.read("orders", Window(), options)]
    assert [o.source_id for o in orders] == [str(b["uid"]) for b in baskets]  # newest first, every one
    branches = {b["uid"]: b["name"] for b in raw(sb, "/branches")["data"]}
    for order, basket in zip(orders, baskets):
        assert order.key == f"kasse:{basket['uid']}" and order.location == str(basket["branch"])
        assert order.total.amount == Decimal(basket["total"]) / 100
        assert sum((line.gross for line in order.lines), Decimal(0)) == order.total.amount
        assert order.total_vat.amount == Decimal(basket["vat_amount"]) / 100
        assert order.customer.name == f"Shopbox {branches[basket['branch']]}"
        assert [line.sku for line in order.lines] == [i["sku_code"] for i in basket["basket_items"]]
    mark = box.latest_change("orders", None)
    assert not box.latest_change("orders", mark).new
    registers = raw(sb, "/cash-registers")["data"]
    products = raw(sb, "/products")["data"]
    sold = requests.post(f"{sb.url}/__sandbox__/shopbox/sale", timeout=10, json={
        "cash_register": registers[0]["uid"], "lines": [{"product": products[0]["uid"], "quantity": 2}]})
    sold.raise_for_status()
    assert box.latest_change("orders", mark).new  # a new sale is a new first basket
    since = datetime.now(UTC) - timedelta(minutes=5)
    recent = [r["uid"] for r in box.read("orders", Window(since=since), options)]
    assert recent == [sold.json()["uid"]]  # the window stops at the first older basket
    [order] = [box.to_canonical("orders", r, options) for r in box.read("orders", Window(since=since), options)]
    assert order.total.amount == Decimal(2 * products[0]["selling_price"]) / 100


def test_stock_is_written_to_the_branch_its_location_maps_to(shopbox_sandbox):
    sb, box = shopbox_sandbox, connector(shopbox_sandbox)
    shop = raw(sb, "/products", expand="product_variances")["data"]
    plain = next(p for p in shop if not p["product_variances"])
    variable = next(p for p in shop if p["product_variances"])
    size = variable["product_variances"][0]
    here, there = (b["uid"] for b in raw(sb, "/branches")["data"])
    levels = [StockLevel(sku=plain["sku_code"], quantity=Decimal(31), location="1"),
              StockLevel(sku=size["sku_code"], quantity=Decimal(4), location="2"),
              StockLevel(sku="NOT-IN-SHOPBOX", quantity=Decimal(1), location="1"),
              StockLevel(sku=plain["sku_code"], quantity=Decimal(9), location="9")]
    ctx = WriteContext(binder=MemoryBinder(), source_binder=MemoryBinder(), options={"branches": {"1": str(here), "2": str(there)}})
    outcomes = {(o.key, o.ok, o.action) for o in box.write(
        "stock", [Change("update", lv.key, lv) for lv in levels], ctx)}
    assert outcomes == {(levels[0].key, True, "updated"), (levels[1].key, True, "updated"),
                        (levels[2].key, True, "ignored"), (levels[3].key, False, "failed")}
    counts = lambda branch: {(r["product"], r["product_variance"]): r["quantity"]  # noqa: E731
                             for r in raw(sb, "/product-inventories", branch=branch)["data"]}
    assert counts(here)[(plain["uid"], None)] == 31
    assert counts(there)[(variable["uid"], size["uid"])] == 4
    main = WriteContext(binder=MemoryBinder(), source_binder=MemoryBinder(), options={"branches": {}, "main_branch": str(there)})
    [done] = box.write("stock", [Change("update", levels[3].key, levels[3])], main)
    assert done.ok and counts(there)[(plain["uid"], None)] == 9  # no mapping: the main branch
