"""The WooCommerce sandbox answers as WooCommerce's own getters do (view context), over real HTTP.

Each expectation here is WooCommerce's source, not our connector: a variation without its own SKU,
weight, dimensions or tax class answers its parent's; ``manage_stock`` "parent" shows the parent's
pool on every variation; writing ``stock_quantity`` to a pooled variation moves nothing visible, and
``manage_stock: true`` takes it out of the pool; descriptions come back through ``wpautop``; a bare
``&`` in a name is stored as ``&amp;``; an order line of a SKU-less variation carries the parent's SKU.
(Sources are cited in ``sandbox/woocommerce/views.py`` and ``catalog.py``.)
"""

from __future__ import annotations

import requests

from conftest import WOO_KEY, WOO_SECRET

API = "/wp-json/wc/v3"


def api(running, method: str, path: str, **kw):
    resp = requests.request(method, f"{running.url}{API}{path}", auth=(WOO_KEY, WOO_SECRET), timeout=10, **kw)
    return resp


def ok(running, method: str, path: str, **kw) -> dict | list:
    resp = api(running, method, path, **kw)
    assert resp.status_code < 300, resp.text
    return resp.json()


def shirt(running, *, parent: dict | None = None, variations: list[dict]) -> tuple[dict, list[dict]]:
    """A variable T-shirt with the given variations (sizes S, M, L...)."""
    body = {"name": "Tee & Co", "type": "variable", "sku": "TEE", "weight": "0.25", "tax_class": "reduced-rate",
            "dimensions": {"length": "30", "width": "20", "height": "2"},
            "attributes": [{"name": "Size", "variation": True, "options": ["S", "M", "L"]}], **(parent or {})}
    product = ok(running, "POST", "/products", json=body)
    made = [ok(running, "POST", f"/products/{product['id']}/variations",
               json={"regular_price": "100.00", "attributes": [{"name": "Size", "option": size}], **extra})
            for size, extra in zip("SML", variations)]
    return product, made


def test_a_variation_without_its_own_values_answers_its_parents(woo_empty):
    product, (small, medium) = shirt(woo_empty, variations=[{"sku": "TEE-S", "weight": "0.2"}, {}])
    listed = {v["id"]: v for v in ok(woo_empty, "GET", f"/products/{product['id']}/variations")}
    assert listed[small["id"]]["sku"] == "TEE-S" and listed[small["id"]]["weight"] == "0.2"
    assert listed[medium["id"]]["sku"] == "TEE", "no own SKU: WooCommerce shows the parent's"
    assert listed[medium["id"]]["weight"] == "0.25"
    assert listed[medium["id"]]["dimensions"] == {"length": "30", "width": "20", "height": "2"}
    assert listed[medium["id"]]["tax_class"] == "reduced-rate"
    edit = ok(woo_empty, "GET", f"/products/{product['id']}/variations/{medium['id']}", params={"context": "edit"})
    assert edit["tax_class"] == "parent" and edit["sku"] == "TEE", "the getters ignore context=edit, but tax_class"
    # The inherited SKU occupies nothing: the sku filter matches own SKUs only.
    assert [p["id"] for p in ok(woo_empty, "GET", "/products", params={"sku": "TEE"})] == [product["id"]]
    taken = api(woo_empty, "PUT", f"/products/{product['id']}/variations/{medium['id']}", json={"sku": "tee"})
    assert taken.status_code == 400 and taken.json()["code"] == "product_invalid_sku"


def test_stock_managed_on_the_parent_is_one_pool(woo_empty):
    product, (own, pooled, pooled2) = shirt(
        woo_empty, parent={"manage_stock": True, "stock_quantity": 7},
        variations=[{"sku": "TEE-S", "manage_stock": True, "stock_quantity": 2}, {"sku": "TEE-M"}, {"sku": "TEE-L"}])
    listed = {v["id"]: v for v in ok(woo_empty, "GET", f"/products/{product['id']}/variations")}
    assert (listed[own["id"]]["manage_stock"], listed[own["id"]]["stock_quantity"]) == (True, 2)
    for vid in (pooled["id"], pooled2["id"]):
        assert (listed[vid]["manage_stock"], listed[vid]["stock_quantity"]) == ("parent", 7)
    # Writing a quantity to a pooled variation changes nothing anyone sees.
    ok(woo_empty, "PUT", f"/products/{product['id']}/variations/{pooled['id']}", json={"stock_quantity": 3})
    again = ok(woo_empty, "GET", f"/products/{product['id']}/variations/{pooled['id']}")
    assert (again["manage_stock"], again["stock_quantity"]) == ("parent", 7)
    assert ok(woo_empty, "GET", f"/products/{product['id']}")["stock_quantity"] == 7
    # manage_stock true takes it out of the pool; "parent" is not a value a client may send.
    moved = ok(woo_empty, "PUT", f"/products/{product['id']}/variations/{pooled['id']}",
               json={"manage_stock": True, "stock_quantity": 4})
    assert (moved["manage_stock"], moved["stock_quantity"]) == (True, 4)
    refused = api(woo_empty, "PUT", f"/products/{product['id']}/variations/{pooled2['id']}",
                  json={"manage_stock": "parent"})
    assert refused.status_code == 400 and refused.json()["code"] == "rest_invalid_param"
    # The parent's pool moves for the variations still in it.
    ok(woo_empty, "PUT", f"/products/{product['id']}", json={"stock_quantity": 0})
    last = ok(woo_empty, "GET", f"/products/{product['id']}/variations/{pooled2['id']}")
    assert (last["stock_quantity"], last["stock_status"]) == (0, "outofstock")


def test_texts_are_stored_and_shown_as_wordpress_does(woo_empty):
    made = ok(woo_empty, "POST", "/products", json={
        "name": "Fish & Chips", "type": "variable", "description": "Line one\nline two\n\nSecond paragraph",
        "attributes": [{"id": 6, "name": "Color", "variation": True, "options": ["Dark Blue"]}],
        "default_attributes": [{"id": 6, "option": "Dark Blue"}]})
    assert made["name"] == "Fish &amp; Chips"
    assert made["description"] == "<p>Line one<br />\nline two</p>\n<p>Second paragraph</p>\n"
    assert made["default_attributes"] == [{"id": 6, "name": "Color", "option": "dark-blue"}]
    raw = ok(woo_empty, "GET", f"/products/{made['id']}", params={"context": "edit"})
    assert raw["description"] == "Line one\nline two\n\nSecond paragraph"


def test_an_order_line_of_a_sku_less_variation_carries_the_parents_sku(woo_empty):
    product, (small, medium) = shirt(woo_empty, variations=[{"sku": "TEE-S"}, {}])
    order = ok(woo_empty, "POST", "/orders", json={
        "billing": {"email": "a@example.se"},
        "line_items": [{"product_id": product["id"], "variation_id": medium["id"], "quantity": 1},
                       {"product_id": product["id"], "variation_id": small["id"], "quantity": 1}]})
    lines = order["line_items"]
    assert [(li["sku"], li["name"]) for li in lines] == [("TEE", "Tee &amp; Co - M"), ("TEE-S", "Tee &amp; Co - S")]
    assert lines[0]["parent_name"] == "Tee &amp; Co"
