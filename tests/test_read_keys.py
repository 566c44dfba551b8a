"""Re-sending named records: ``read_keys`` of both connectors against the sandboxes over real HTTP.

Expected records are what the sandboxes answer when the test reads them raw (whole lists, scanned
here), or what the test seeds; never what the connector under test computes.
"""

from __future__ import annotations

from decimal import Decimal

import requests

from conftest import FORTNOX_TOKEN, WOO_KEY, WOO_SECRET
from flowkit import fx, woo_get, woo_post
from integrations_dagster.connectors.base import Window
from integrations_dagster.connectors.fortnox import FortnoxResource
from integrations_dagster.connectors.woocommerce import WooCommerceResource
from integrations_dagster.connectors.woocommerce.mapping import ORDER_FIELDS, PRODUCT_FIELDS, VARIATION_FIELDS

SHOP = {"connection": "shop"}


def shop(running) -> WooCommerceResource:
    return WooCommerceResource(base_url=running.url, consumer_key=WOO_KEY, consumer_secret=WOO_SECRET, timeout=5)


def fortnox(running) -> FortnoxResource:
    return FortnoxResource(base_url=running.url, access_token=FORTNOX_TOKEN, rate_limit=0)


def raw_product(url: str, product: dict) -> dict:
    """A product as a full read carries it: its fields, a variable one with its variations' fields."""
    fields = ",".join(PRODUCT_FIELDS)
    raw = woo_get(url, f"/products/{product['id']}", _fields=fields)
    if raw["type"] == "variable":
        raw["_variations"] = woo_get(url, f"/products/{product['id']}/variations", _fields=",".join(VARIATION_FIELDS),
                                     orderby="id", order="asc")
    return raw


def catalogue(url: str) -> tuple[list[dict], dict[int, list[dict]]]:
    """Every product of the shop, and each variable one's variations (read raw, page by page)."""
    products = woo_get(url, "/products", orderby="id", order="asc")
    return products, {p["id"]: woo_get(url, f"/products/{p['id']}/variations", orderby="id", order="asc")
                      for p in products if p["type"] == "variable"}


def sku_requests(url: str) -> int:
    counts = requests.get(f"{url}/__sandbox__/stats", timeout=5).json()["requests"]
    return counts.get("GET /wp-json/wc/v3/products", 0)


# -- WooCommerce products --------------------------------------------------------------------------

def test_a_simple_product_by_its_sku_comes_as_a_read_brings_it(woo_sandbox):
    products, _ = catalogue(woo_sandbox.url)
    simple = next(p for p in products if p["type"] == "simple" and p["sku"])
    connector = shop(woo_sandbox)
    records, missing = connector.read_keys("products", [simple["sku"]], SHOP)
    assert missing == {}
    assert records == [raw_product(woo_sandbox.url, simple)]
    read = next(r for r in connector.read("products", Window(), SHOP) if r["id"] == simple["id"])
    assert records == [read], "the same shape as read(), so the flow maps it the same way"
    assert connector.to_canonical("products", records[0], SHOP).key == simple["sku"]


def test_a_variations_sku_answers_its_product_with_every_variation(woo_sandbox):
    products, variations = catalogue(woo_sandbox.url)
    parent = next(p for p in products if len([v for v in variations.get(p["id"], []) if v["sku"] != p["sku"]]) >= 2)
    first, second = [v for v in variations[parent["id"]] if v["sku"] != parent["sku"]][:2]
    # The shop's own SKU filter finds the variation and names its parent (WooCommerce searches both post types).
    hit = woo_get(woo_sandbox.url, "/products", sku=first["sku"])
    assert [(h["id"], h["type"], h["parent_id"]) for h in hit] == [(first["id"], "variation", parent["id"])]

    connector = shop(woo_sandbox)
    records, missing = connector.read_keys("products", [first["sku"], second["sku"]], SHOP)
    assert missing == {}
    assert records == [raw_product(woo_sandbox.url, parent)], "one record per product, however many keys name it"
    assert [v["id"] for v in records[0]["_variations"]] == [v["id"] for v in variations[parent["id"]]]
    mapped = connector.to_canonical("products", records[0], SHOP)
    assert {first["sku"], second["sku"]} <= {v.sku for v in mapped.variants}
    # The product's own key (parent:<id> without a SKU of its own) and the sync log's names find it too.
    for key in (mapped.key, f"product {parent['id']}", f"product {parent['id']} variation {first['id']}"):
        assert [r["id"] for r in connector.read_keys("products", [key], SHOP)[0]] == [parent["id"]], key


def test_many_skus_are_one_lookup_and_unknown_ones_get_a_reason(woo_sandbox):
    products, variations = catalogue(woo_sandbox.url)
    simple = [p for p in products if p["type"] == "simple" and p["sku"]][:3]
    variation = next(v for vs in variations.values() for v in vs if v["sku"])
    before = sku_requests(woo_sandbox.url)
    records, missing = shop(woo_sandbox).read_keys(
        "products", [p["sku"] for p in simple] + [variation["sku"], "NO-SUCH-SKU", "parent:999999"], SHOP)
    assert sorted(r["id"] for r in records) == sorted([p["id"] for p in simple] + [variation["parent_id"]])
    assert missing == {"NO-SUCH-SKU": "no product or variation with SKU 'NO-SUCH-SKU' in the shop",
                       "parent:999999": "no product 999999 in the shop (or it is in the trash)"}
    # one SKU lookup for all five SKUs, one read of the products found (variations go to their own route)
    assert sku_requests(woo_sandbox.url) - before == 2


def test_a_sku_holding_a_comma_is_asked_for_alone(woo_sandbox):
    """WooCommerce splits the ``sku`` filter at commas and tries the whole value too: "A,B" among other
    SKUs would be lost in the whole value."""
    made = woo_post(woo_sandbox.url, "/products", {"name": "Comma", "sku": "SET,2", "regular_price": "10.00"})
    records, missing = shop(woo_sandbox).read_keys("products", ["MUG-FIKA", "SET,2"], SHOP)
    mug = next(p for p in woo_get(woo_sandbox.url, "/products") if p["sku"] == "MUG-FIKA")
    assert sorted(r["id"] for r in records) == sorted([mug["id"], made["id"]]) and missing == {}


# -- WooCommerce orders ----------------------------------------------------------------------------

def test_an_order_by_the_number_the_shop_shows(woo_sandbox):
    orders = woo_get(woo_sandbox.url, "/orders", orderby="id", order="asc")
    order = next(o for o in orders if o["status"] == "processing")
    expected = woo_get(woo_sandbox.url, f"/orders/{order['id']}", _fields=",".join(ORDER_FIELDS))
    connector = shop(woo_sandbox)
    for key in (order["number"], f"#{order['number']}", f"shop:{order['id']}", f"order {order['id']}"):
        records, missing = connector.read_keys("orders", [key], SHOP)
        assert (records, missing) == ([expected], {}), key
    assert connector.to_canonical("orders", records[0], SHOP).key == f"shop:{order['id']}"


def test_unknown_unreadable_and_unsent_orders_say_why(woo_sandbox):
    orders = woo_get(woo_sandbox.url, "/orders", orderby="id", order="asc")
    pending = next(o for o in orders if o["status"] == "pending")
    unknown = str(max(o["id"] for o in orders) + 1000)
    records, missing = shop(woo_sandbox).read_keys("orders", [unknown, "ABC-1", pending["number"]], SHOP)
    assert records == []
    assert missing == {
        unknown: f"no order {unknown} in the shop (or it is in the trash)",
        "ABC-1": "'ABC-1' is not an order number of the shop (digits, e.g. 1234 or #1234), nor an order key "
                 "(shop:<order id>)",
        pending["number"]: f"order {pending['number']} is 'pending' in the shop; this flow sends orders that are "
                           "processing, completed",
    }
    # A flow that sends pending orders gets it.
    records, missing = shop(woo_sandbox).read_keys("orders", [pending["number"]], {**SHOP, "statuses": ["pending"]})
    assert [r["id"] for r in records] == [pending["id"]] and missing == {}


def test_a_typed_number_never_answers_an_order_numbered_otherwise(woo_sandbox):
    """A numbering plugin (WooCommerce's ``woocommerce_order_number`` filter) gives order 1 the number
    "2024-0001": typing "1" means another order, and the order by its id still reads."""
    store = woo_sandbox.sandbox.store
    doc = store.get("orders", 1)
    assert doc["status"] == "processing"
    doc["number"] = "2024-0001"
    store.put("orders", 1, doc, key=doc["number"], modified=doc["date_modified_gmt"])
    records, missing = shop(woo_sandbox).read_keys("orders", ["1", "order 1"], SHOP)
    assert [(r["id"], r["number"]) for r in records] == [(1, "2024-0001")]
    assert missing == {"1": "order id 1 has number '2024-0001' in the shop, not '1': this shop numbers orders apart "
                            "from their ids; give the order as 'order <id>'"}


# -- Fortnox stock ---------------------------------------------------------------------------------

def test_a_fortnox_article_by_number_is_its_stock_level(fortnox_sandbox):
    article = fx(fortnox_sandbox.url, "GET", "/articles/HOODIE-GREY")["Article"]
    connector = fortnox(fortnox_sandbox)
    records, missing = connector.read_keys("stock", ["HOODIE-GREY", "NO-SUCH-ARTICLE"], {})
    assert missing == {"NO-SUCH-ARTICLE": "no article 'NO-SUCH-ARTICLE' in Fortnox"}
    assert [{k: v for k, v in r.items() if k != "_fetched_at"} for r in records] == [article]
    level = connector.to_canonical("stock", records[0], {})
    assert (level.key, level.quantity) == ("HOODIE-GREY", Decimal(str(article["QuantityInStock"])))
    assert level.as_of == records[0]["_fetched_at"]
    # Off the default location the key carries it (StockLevel.key), and the bare number still reads.
    records, missing = connector.read_keys("stock", ["HOODIE-GREY@store", "HOODIE-GREY"], {"location": "store"})
    assert [r["ArticleNumber"] for r in records] == ["HOODIE-GREY"] and missing == {}
    assert connector.to_canonical("stock", records[0], {"location": "store"}).key == "HOODIE-GREY@store"


def test_an_article_number_is_quoted_as_one_path_segment(fortnox_sandbox):
    fx(fortnox_sandbox.url, "POST", "/articles", {"Article": {"ArticleNumber": "ÅSKA+1", "Description": "Åska",
                                                              "QuantityInStock": 7, "StockGoods": True}})
    connector = fortnox(fortnox_sandbox)
    records, missing = connector.read_keys("stock", ["ÅSKA+1"], {})
    assert missing == {} and [(r["ArticleNumber"], r["QuantityInStock"]) for r in records] == [("ÅSKA+1", 7)]
    # Unquoted, "?" and "#" would end the path and ask for MUG-LOGO: a lookup must never answer another article.
    records, missing = connector.read_keys("stock", ["MUG-LOGO?page=1", "MUG-LOGO#top"], {})
    assert records == []
    assert missing == {"MUG-LOGO?page=1": "no article 'MUG-LOGO?page=1' in Fortnox",
                       "MUG-LOGO#top": "no article 'MUG-LOGO#top' in Fortnox"}
