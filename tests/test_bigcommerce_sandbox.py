"""The BigCommerce sandbox over real HTTP; every answer is checked against the vendor's OpenAPI files."""

from __future__ import annotations

import time
from urllib.parse import urlparse

import pytest
import requests

import bigcommerce_spec as spec
from integrations_dagster.sandbox.runner import start_in_thread

STORE_HASH = "bc5t0re"
TOKEN = "bc_test_5ecr3t_t0ken_do_not_leak_0007"
HEADERS = {"X-Auth-Token": TOKEN, "Accept": "application/json", "Content-Type": "application/json"}

pytestmark = pytest.mark.skipif(not spec.available(), reason="../shared/api-specs/bigcommerce is not available")


@pytest.fixture(scope="module")
def bc():
    running = start_in_thread("bigcommerce", credentials={"store_hash": STORE_HASH, "access_token": TOKEN}, demo=True)
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def fresh(bc):
    requests.post(bc.url + "/__sandbox__/reset?demo=true").raise_for_status()
    requests.post(bc.url + "/__sandbox__/bigcommerce/quota", json={"requests": 150, "window_ms": 30000}).raise_for_status()


def call(bc, method: str, path: str, *, json=None, params=None, validate: bool = True, headers=None) -> requests.Response:
    """One request; the answer (and a JSON request body) is validated against the spec."""
    resp = requests.request(method, f"{bc.url}/stores/{STORE_HASH}{path}", json=json, params=params,
                            headers=headers or HEADERS, timeout=10)
    if validate:
        spec_path = urlparse(path).path
        spec.check_response(method, spec_path, resp.status_code, resp.json() if resp.content else None)
    return resp


def new_product(bc, name: str, sku: str, **extra) -> dict:
    body = {"name": name, "type": "physical", "sku": sku, "price": 100.0, "weight": 1, **extra}
    spec.check_request("POST", "/v3/catalog/products", body)
    resp = call(bc, "POST", "/v3/catalog/products", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]


def test_bad_token_is_401_and_wrong_store_too(bc):
    resp = call(bc, "GET", "/v3/catalog/products", headers={**HEADERS, "X-Auth-Token": "nope"}, validate=False)
    assert resp.status_code == 401
    assert resp.json()["status"] == 401 and resp.json()["title"].startswith("Unauthorized")
    other = requests.get(f"{bc.url}/stores/otherstore/v3/catalog/products", headers=HEADERS, timeout=10)
    assert other.status_code == 401
    v2 = requests.get(f"{bc.url}/stores/{STORE_HASH}/v2/orders", headers={"X-Auth-Token": "nope"}, timeout=10)
    assert v2.status_code == 401 and isinstance(v2.json(), list)


def test_list_paging_envelope(bc):
    for i in range(3):
        new_product(bc, f"Paging {i}", f"PAGE-{i}")
    total = 2 + 3  # demo products + the three above
    first = call(bc, "GET", "/v3/catalog/products", params={"limit": 2, "page": 1}).json()
    pagination = first["meta"]["pagination"]
    assert pagination["total"] == total and pagination["count"] == 2 and pagination["per_page"] == 2
    assert pagination["total_pages"] == 3 and pagination["current_page"] == 1
    assert "previous" not in pagination["links"] and pagination["links"]["next"] == "?page=2&limit=2"
    last = call(bc, "GET", "/v3/catalog/products", params={"limit": 2, "page": 3}).json()
    assert last["meta"]["pagination"]["count"] == 1 and "next" not in last["meta"]["pagination"]["links"]
    seen = [p["id"] for page in (1, 2, 3)
            for p in call(bc, "GET", "/v3/catalog/products", params={"limit": 2, "page": page}).json()["data"]]
    assert seen == sorted(seen) and len(set(seen)) == total
    assert call(bc, "GET", "/v3/catalog/products", params={"limit": 251}, validate=False).status_code == 413


def test_filters_sku_ids_and_date_modified_min(bc):
    mug = call(bc, "GET", "/v3/catalog/products", params={"sku": "mugg-sten-01"}).json()["data"]
    assert [p["sku"] for p in mug] == ["MUGG-STEN-01"] and mug[0]["price"] == 149
    time.sleep(1.1)
    marker = call(bc, "GET", f"/v3/catalog/products/{mug[0]['id']}").json()["data"]["date_modified"]
    time.sleep(1.1)
    changed = new_product(bc, "Changed later", "LATER-1")
    assert changed["date_modified"] > marker
    found = call(bc, "GET", "/v3/catalog/products", params={"date_modified:min": changed["date_modified"]}).json()["data"]
    assert [p["id"] for p in found] == [changed["id"]]
    put = call(bc, "PUT", f"/v3/catalog/products/{mug[0]['id']}", json={"price": 159.5})
    assert put.status_code == 200 and put.json()["data"]["date_modified"] >= changed["date_modified"]
    found = call(bc, "GET", "/v3/catalog/products", params={"date_modified:min": changed["date_modified"]}).json()["data"]
    assert {p["id"] for p in found} == {changed["id"], mug[0]["id"]}
    by_ids = call(bc, "GET", "/v3/catalog/products", params={"id:in": f"{changed['id']},{mug[0]['id']}"}).json()["data"]
    assert len(by_ids) == 2


def test_create_with_variants_creates_options(bc):
    body = {"name": "Mössa", "type": "physical", "price": "199.00", "weight": 0.1, "inventory_tracking": "variant",
            "variants": [{"sku": f"HAT-{c}", "option_values": [{"option_display_name": "Färg", "label": c}]}
                         for c in ("RED", "BLUE")]}
    resp = call(bc, "POST", "/v3/catalog/products", json=body)
    assert resp.status_code == 200, resp.text
    product = resp.json()["data"]
    assert product["base_variant_id"] is None and product["price"] == 199
    options = call(bc, "GET", f"/v3/catalog/products/{product['id']}/options").json()["data"]
    assert [o["display_name"] for o in options] == ["Färg"]
    assert [v["label"] for v in options[0]["option_values"]] == ["RED", "BLUE"]
    variants = call(bc, "GET", f"/v3/catalog/products/{product['id']}/variants").json()["data"]
    assert [v["sku"] for v in variants] == ["HAT-RED", "HAT-BLUE"]
    assert all(v["calculated_price"] == 199 for v in variants)
    one = call(bc, "GET", f"/v3/catalog/products/{product['id']}/variants/{variants[0]['id']}").json()["data"]
    assert one["option_values"][0]["option_display_name"] == "Färg"
    by_sku = call(bc, "GET", "/v3/catalog/variants", params={"sku": "hat-blue"}).json()["data"]
    assert [v["id"] for v in by_sku] == [variants[1]["id"]]
    added = call(bc, "POST", f"/v3/catalog/products/{product['id']}/variants",
                 json={"sku": "HAT-GREEN", "option_values": [{"option_display_name": "Färg", "label": "GREEN"}]})
    assert added.status_code == 200 and added.json()["data"]["sku"] == "HAT-GREEN"


def test_duplicate_sku_and_name_are_409(bc):
    body = {"name": "Another mug", "type": "physical", "sku": "mugg-sten-01", "price": 1, "weight": 1}
    resp = call(bc, "POST", "/v3/catalog/products", json=body)
    assert resp.status_code == 409 and resp.json()["title"] == "The product sku is a duplicate"
    resp = call(bc, "POST", "/v3/catalog/products", json={**body, "sku": "NEW-1", "name": "Stengodsmugg"})
    assert resp.status_code == 409 and resp.json()["title"] == "The product name is a duplicate"
    tee = call(bc, "GET", "/v3/catalog/products", params={"sku": "TEE"}).json()["data"][0]
    resp = call(bc, "POST", f"/v3/catalog/products/{tee['id']}/variants", validate=False,
                json={"sku": "TEE-M", "option_values": [{"option_display_name": "Size", "label": "XL"}]})
    assert resp.status_code == 409  # the spec declares no 409 here; the status is a guess


def test_spec_refusals_are_refused(bc):
    bad_bodies = [
        {"name": "No type", "price": 1, "weight": 1},  # missing required
        {"name": "Bad price", "type": "physical", "price": -1, "weight": 1},  # minimum 0
        {"name": "Bad type", "type": "furniture", "price": 1, "weight": 1},  # enum
        {"name": "x" * 251, "type": "physical", "price": 1, "weight": 1},  # maxLength 250
        {"name": "Visible", "type": "physical", "price": 1, "weight": 1, "is_visible": "yes"},  # boolean
    ]
    for body in bad_bodies:
        assert not spec.request_valid("POST", "/v3/catalog/products", body), body
        resp = call(bc, "POST", "/v3/catalog/products", json=body)
        assert resp.status_code == 422, (body, resp.text)
    unknown = call(bc, "POST", "/v3/catalog/products",
                   json={"name": "Extra", "type": "physical", "price": 1, "weight": 1, "colour": "red"})
    assert unknown.status_code == 422 and "colour" in unknown.json()["errors"]
    missing = call(bc, "POST", "/v3/catalog/products", json={"name": "Only name"}).json()
    assert missing["title"] == "Missing Required Fields" and set(missing["errors"]) == {"type", "price", "weight"}


def test_batch_update_limit_10(bc):
    ids = [new_product(bc, f"Batch {i}", f"BATCH-{i}")["id"] for i in range(11)]
    eleven = [{"id": pid, "price": 10 + i} for i, pid in enumerate(ids)]
    resp = call(bc, "PUT", "/v3/catalog/products", json=eleven)
    assert resp.status_code == 413 and "maximum items allowed in the array is 10" in resp.json()["title"]
    ten = eleven[:10]
    spec.check_request("PUT", "/v3/catalog/products", ten)
    resp = call(bc, "PUT", "/v3/catalog/products", json=ten)
    assert resp.status_code == 200
    assert [p["price"] for p in resp.json()["data"]] == [10 + i for i in range(10)]
    untouched = call(bc, "GET", f"/v3/catalog/products/{ids[10]}").json()["data"]
    assert untouched["price"] == 100


def test_207_when_inventory_part_fails(bc):
    untracked = new_product(bc, "Untracked", "UNTR-1")
    resp = call(bc, "PUT", f"/v3/catalog/products/{untracked['id']}", json={"price": 5, "inventory_level": 7})
    assert resp.status_code == 207
    assert resp.json()["data"]["price"] == 5 and resp.json()["data"]["inventory_level"] == 0
    assert "inventory_level" in resp.json()["errors"]["errors"]


def test_inventory_absolute_then_relative(bc):
    product = new_product(bc, "Stocked", "STOCK-1", inventory_tracking="product")
    relative_first = call(bc, "POST", "/v3/inventory/adjustments/relative",
                          json={"items": [{"location_id": 1, "product_id": product["id"], "quantity": 1}]})
    assert relative_first.status_code == 422 and "absolute adjustment before relative" in relative_first.json()["title"]
    absolute, delta = 17, -5
    resp = call(bc, "PUT", "/v3/inventory/adjustments/absolute",
                json={"reason": "count", "items": [{"location_id": 1, "sku": "STOCK-1", "quantity": absolute}]})
    assert resp.status_code == 200 and resp.json()["transaction_id"]
    before = call(bc, "GET", f"/v3/catalog/products/{product['id']}").json()["data"]
    assert before["inventory_level"] == absolute
    resp = call(bc, "POST", "/v3/inventory/adjustments/relative",
                json={"items": [{"location_id": 1, "product_id": product["id"], "quantity": delta}]})
    assert resp.status_code == 200
    after = call(bc, "GET", f"/v3/catalog/products/{product['id']}").json()["data"]
    assert after["inventory_level"] == absolute + delta and after["date_modified"] >= before["date_modified"]
    tee = call(bc, "GET", "/v3/catalog/products", params={"sku": "TEE", "include": "variants"}).json()["data"][0]
    level_m = next(v["inventory_level"] for v in tee["variants"] if v["sku"] == "TEE-M")
    call(bc, "POST", "/v3/inventory/adjustments/relative", json={"items": [{"location_id": 1, "sku": "TEE-M", "quantity": 2}]})
    items = call(bc, "GET", "/v3/inventory/items", params={"sku:in": "TEE-M"}).json()["data"]
    assert items[0]["locations"][0]["available_to_sell"] == level_m + 2
    tee_after = call(bc, "GET", f"/v3/catalog/products/{tee['id']}").json()["data"]
    assert tee_after["inventory_level"] == tee["inventory_level"] + 2
    by_product = call(bc, "PUT", "/v3/inventory/adjustments/absolute", validate=False,
                      json={"items": [{"location_id": 1, "variant_id": before["base_variant_id"] + 10_000, "quantity": 1}]})
    assert by_product.status_code == 422


def test_orders_v2_and_checkout(bc):
    orders = call(bc, "GET", "/v2/orders").json()
    assert [o["status_id"] for o in orders] == [11, 10]
    assert orders[0]["currency_code"] == "SEK" and orders[0]["total_inc_tax"] == "298.0000"
    future = "Thu, 01 Jan 2099 00:00:00 +0000"
    none = call(bc, "GET", "/v2/orders", params={"min_date_modified": future}, validate=False)
    assert none.status_code == 204 and none.content == b""
    mug = call(bc, "GET", "/v3/catalog/products", params={"sku": "MUGG-STEN-01"}).json()["data"][0]
    placed = requests.post(bc.url + "/__sandbox__/bigcommerce/order", json={"lines": [{"sku": "MUGG-STEN-01", "quantity": 3}]})
    assert placed.status_code == 200
    order = call(bc, "GET", f"/v2/orders/{placed.json()['id']}").json()
    assert order["total_inc_tax"] == "447.0000" and order["subtotal_ex_tax"] == "357.6000"
    lines = call(bc, "GET", f"/v2/orders/{order['id']}/products").json()
    assert [(line["sku"], line["quantity"], line["price_inc_tax"]) for line in lines] == [("MUGG-STEN-01", 3, "149.0000")]
    after = call(bc, "GET", f"/v3/catalog/products/{mug['id']}").json()["data"]
    assert after["inventory_level"] == mug["inventory_level"] - 3
    pending = call(bc, "GET", "/v2/orders", params={"status_id": 10}).json()
    assert [o["status_id"] for o in pending] == [10]


def test_categories_and_hooks(bc):
    shop = call(bc, "GET", "/v3/catalog/categories", params={"name": "Shop"}).json()["data"]
    assert [c["name"] for c in shop] == ["Shop"]
    body = {"parent_id": 0, "name": "Zettle", "is_visible": False}
    created = call(bc, "POST", "/v3/catalog/categories", json=body)
    assert created.status_code == 200
    assert call(bc, "POST", "/v3/catalog/categories", json=body).status_code == 409
    product = new_product(bc, "In Zettle", "ZET-1", categories=[created.json()["data"]["id"]], is_visible=False)
    assert product["categories"] == [created.json()["data"]["id"]]
    hook = call(bc, "POST", "/v3/hooks", json={"scope": "store/product/updated", "destination": "https://example.com/h"})
    assert hook.status_code == 200
    hook_id = hook.json()["data"]["id"]
    assert call(bc, "PUT", f"/v3/hooks/{hook_id}", json={"is_active": False}).json()["data"]["is_active"] is False
    assert [h["id"] for h in call(bc, "GET", "/v3/hooks").json()["data"]] == [hook_id]
    assert call(bc, "DELETE", f"/v3/hooks/{hook_id}").status_code == 200


def test_rate_limit_headers_and_429(bc):
    quota = 4
    requests.post(bc.url + "/__sandbox__/bigcommerce/quota", json={"requests": quota, "window_ms": 60_000}).raise_for_status()
    lefts = []
    for _ in range(quota):
        resp = call(bc, "GET", "/v3/catalog/categories")
        assert resp.headers["X-Rate-Limit-Requests-Quota"] == str(quota)
        assert resp.headers["X-Rate-Limit-Time-Window-Ms"] == "60000"
        assert 0 < int(resp.headers["X-Rate-Limit-Time-Reset-Ms"]) <= 60_000
        lefts.append(int(resp.headers["X-Rate-Limit-Requests-Left"]))
    assert lefts == [quota - 1 - i for i in range(quota)]
    limited = call(bc, "GET", "/v3/catalog/categories", validate=False)
    assert limited.status_code == 429 and limited.headers["X-Rate-Limit-Requests-Left"] == "0"
    assert int(limited.headers["X-Retry-After"]) >= 1 and limited.json()["status"] == 429


def test_delete_products(bc):
    a, b = new_product(bc, "Del A", "DEL-A"), new_product(bc, "Del B", "DEL-B")
    assert call(bc, "DELETE", "/v3/catalog/products", validate=False).status_code == 422
    assert call(bc, "DELETE", "/v3/catalog/products", params={"id:in": f"{a['id']},{b['id']}"}).status_code == 204
    assert call(bc, "GET", f"/v3/catalog/products/{a['id']}").status_code == 404
    c = new_product(bc, "Del C", "DEL-A")  # the SKU is free again
    assert call(bc, "DELETE", f"/v3/catalog/products/{c['id']}").status_code == 204
