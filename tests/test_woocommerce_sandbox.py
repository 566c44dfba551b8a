"""The WooCommerce sandbox against the vendor docs, over real HTTP: the documented request examples
are accepted and answered with the documented keys; auth, paging, batch limits, SKU uniqueness,
date filters and the fault knobs behave as WooCommerce does."""

from __future__ import annotations

import json
import re
import time

import pytest
import requests

from integrations_dagster.sandbox.woocommerce.demo import load_catalogue
from conftest import API_SPECS, WOO_KEY, WOO_SECRET

DOCS = API_SPECS / "woocommerce"
AUTH = (WOO_KEY, WOO_SECRET)
API = "/wp-json/wc/v3"


def doc_examples(name: str) -> list[tuple[str, str, dict, dict | None]]:
    """(method, path, request body, example response) for every curl ``-d '{...}'`` example."""
    text = (DOCS / name).read_text()
    out = []
    for m in re.finditer(r"curl -X (\w+) https://example\.com/wp-json/wc/v3(\S*) \\[^`]*?-d '(\{.*?\})'\n```", text, re.S):
        rest = text[m.end():]
        resp = re.search(r"```json\n(\{.*?\})\n```", rest, re.S)
        next_curl = rest.find("curl -X")
        example = json.loads(resp.group(1)) if resp and (next_curl < 0 or resp.start() < next_curl) else None
        out.append((m.group(1), m.group(2), json.loads(m.group(3)), example))
    return out


def keys_of(example: dict) -> set[str]:
    return set(example) - {"_links"}


def api(running, method: str, path: str, **kw) -> requests.Response:
    kw.setdefault("auth", AUTH)
    return requests.request(method, f"{running.url}{API}{path}", timeout=10, **kw)


def test_doc_examples_of_products_are_accepted_with_documented_keys(woo_empty):
    examples = doc_examples("products.md")
    assert len(examples) >= 4
    created: list[int] = []
    for method, path, body, example in examples:
        if method == "POST" and path == "/products":
            resp = api(woo_empty, "POST", path, json=body)
            assert resp.status_code == 201, resp.text
            assert keys_of(example) <= set(resp.json()), keys_of(example) - set(resp.json())
            assert resp.json()["name"] == body["name"]
            created.append(resp.json()["id"])
        elif method == "PUT":
            resp = api(woo_empty, "PUT", f"/products/{created[0]}", json=body)
            assert resp.status_code == 200, resp.text
            assert resp.json()["regular_price"] == body["regular_price"]
            assert keys_of(example) <= set(resp.json())
        elif path == "/products/batch":
            resp = api(woo_empty, "POST", path, json=body)
            assert resp.status_code == 200, resp.text
            answer = resp.json()
            assert all("error" not in item for item in answer["create"])
            assert keys_of(example["create"][0]) <= set(answer["create"][0])
            # the doc's ids 799 / 794 do not exist here: each is refused on its own, the rest applies
            assert answer["update"][0]["error"]["code"] == "woocommerce_rest_product_invalid_id"
            assert answer["delete"][0]["error"]["data"]["status"] == 404
    variable = api(woo_empty, "GET", f"/products/{created[1]}").json()
    assert variable["type"] == "variable"
    assert [a["name"] for a in variable["attributes"]] == ["Color", "Size"]
    assert variable["categories"][0] == {"id": 9, "name": "Clothing", "slug": "clothing"}


def test_doc_examples_of_variations_are_accepted(woo_empty):
    parent = api(woo_empty, "POST", "/products", json={"name": "Ship Your Idea", "type": "variable"}).json()
    for method, path, body, example in doc_examples("product-variations.md"):
        body.pop("image", None)  # the doc's media id 423 does not exist in an empty shop
        if method == "POST" and path.endswith("/variations"):
            resp = api(woo_empty, "POST", f"/products/{parent['id']}/variations", json=body)
            assert resp.status_code == 201, resp.text
            assert keys_of(example) <= set(resp.json())
            assert resp.json()["attributes"] == [{"id": 6, "name": "Color", "option": "Black"}]
        elif path.endswith("/batch"):
            resp = api(woo_empty, "POST", f"/products/{parent['id']}/variations/batch", json=body)
            assert [v["attributes"][0]["option"] for v in resp.json()["create"]] == ["Blue", "White"]
    assert len(api(woo_empty, "GET", f"/products/{parent['id']}").json()["variations"]) == 3


def test_doc_examples_of_orders_and_customers_are_accepted(woo_sandbox):
    products = {p["name"]: p for p in api(woo_sandbox, "GET", "/products", params={"per_page": 100}).json()}
    simple, variable = products["Mugg Fika"], products["T-shirt Basic"]
    for method, path, body, example in doc_examples("orders.md"):
        if method == "POST" and path == "/orders":
            body["line_items"] = [{"product_id": simple["id"], "quantity": 2},
                                  {"product_id": variable["id"], "variation_id": variable["variations"][0], "quantity": 1}]
            resp = api(woo_sandbox, "POST", path, json=body)
            assert resp.status_code == 201, resp.text
            order = resp.json()
            assert keys_of(example) <= set(order), keys_of(example) - set(order)
            assert order["status"] == "processing" and order["date_paid"]
            assert keys_of(example["line_items"][0]) <= set(order["line_items"][0])
            assert isinstance(order["line_items"][0]["price"], (int, float))
            # The documented order ships to San Francisco: no Swedish VAT. The shop's prices include
            # 25 % VAT, which comes out of them (adjust_non_base_location_prices): (2 x 149 + 199) / 1.25
            # + 10.00 shipping, untaxed.
            assert (order["total"], order["total_tax"]) == ("407.60", "0.00")
        elif method == "PUT":
            resp = api(woo_sandbox, "PUT", f"/orders/{order['id']}", json=body)
            assert resp.json()["status"] == "completed" and resp.json()["date_completed"]
    for method, path, body, example in doc_examples("customers.md"):
        if method == "POST" and path == "/customers":
            resp = api(woo_sandbox, "POST", path, json=body)
            assert resp.status_code == 201, resp.text
            assert keys_of(example) <= set(resp.json())
            again = api(woo_sandbox, "POST", path, json=body)
            assert again.status_code == 400 and again.json()["code"] == "registration-error-email-exists"


def test_auth_errors_have_woocommerce_bodies(woo_sandbox):
    missing = api(woo_sandbox, "GET", "/products", auth=None)
    assert missing.status_code == 401
    assert missing.json() == {"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources.",
                              "data": {"status": 401}}
    wrong = api(woo_sandbox, "GET", "/products", auth=(WOO_KEY, "cs_wrong"))
    assert wrong.status_code == 401 and wrong.json()["code"] == "woocommerce_rest_authentication_error"
    assert api(woo_sandbox, "POST", "/products", auth=None, json={}).json()["code"] == "woocommerce_rest_cannot_create"
    by_query = api(woo_sandbox, "GET", "/products", auth=None,
                   params={"consumer_key": WOO_KEY, "consumer_secret": WOO_SECRET})
    assert by_query.status_code == 200


def test_paging_headers_and_per_page_bounds(woo_sandbox):
    resp = api(woo_sandbox, "GET", "/products", params={"per_page": 5, "page": 2, "orderby": "id", "order": "asc"})
    assert resp.headers["X-WP-Total"] == "12" and resp.headers["X-WP-TotalPages"] == "3"
    assert [p["id"] for p in resp.json()] == [6, 7, 8, 9, 10]
    assert 'rel="next"' in resp.headers["Link"] and 'rel="prev"' in resp.headers["Link"]
    assert "page=3" in resp.headers["Link"]
    assert len(api(woo_sandbox, "GET", "/products").json()) == 10  # default per_page
    for bad in (0, 101):
        refused = api(woo_sandbox, "GET", "/products", params={"per_page": bad})
        assert refused.status_code == 400
        assert refused.json()["code"] == "rest_invalid_param"
        assert refused.json()["message"] == "Invalid parameter(s): per_page"
    assert api(woo_sandbox, "GET", "/products", params={"orderby": "sku"}).status_code == 400
    offset = api(woo_sandbox, "GET", "/products", params={"offset": 10, "orderby": "id", "order": "asc"}).json()
    assert [p["id"] for p in offset] == [11, 12]


def test_errors_ids_and_values(woo_sandbox):
    missing = api(woo_sandbox, "GET", "/products/9999")
    assert missing.status_code == 404
    assert missing.json() == {"code": "woocommerce_rest_product_invalid_id", "message": "Invalid ID.",
                              "data": {"status": 404}}
    number = api(woo_sandbox, "POST", "/products", json={"name": "X", "regular_price": 12.5})
    assert number.status_code == 400 and number.json()["code"] == "rest_invalid_param"
    assert number.json()["data"]["params"]["regular_price"] == "regular_price is not of type string."
    assert api(woo_sandbox, "POST", "/products", json={"name": "X", "regular_price": "abc"}).status_code == 400
    assert api(woo_sandbox, "PUT", "/products/1", json={"stock_quantity": 2.5}).status_code == 400
    assert api(woo_sandbox, "POST", "/products", data="{not json").json()["code"] == "rest_invalid_json"
    ok = api(woo_sandbox, "PUT", "/products/1", json={"regular_price": "150", "manage_stock": True, "stock_quantity": 0})
    assert ok.json()["regular_price"] == "150.00" and ok.json()["stock_status"] == "outofstock"
    assert api(woo_sandbox, "GET", "/nowhere").json()["code"] == "rest_no_route"


def test_duplicate_sku_is_refused_across_products_and_variations(woo_sandbox):
    for path, sku in (("/products", "MUG-FIKA"), ("/products", "TS-BASIC-M"), ("/products/7/variations", "MUG-FIKA")):
        resp = api(woo_sandbox, "POST", path, json={"name": "Copy", "sku": sku, "regular_price": "1.00"})
        assert resp.status_code == 400
        assert resp.json() == {"code": "product_invalid_sku", "message": "Invalid or duplicated SKU.",
                               "data": {"status": 400}}
    found = api(woo_sandbox, "GET", "/products", params={"sku": "MUG-FIKA"}).json()
    assert [p["sku"] for p in found] == ["MUG-FIKA"]


def test_batch_limit_and_partial_failure(woo_sandbox):
    too_many = api(woo_sandbox, "POST", "/products/batch", json={"update": [{"id": 1}] * 60, "delete": [2] * 41})
    assert too_many.status_code == 413
    assert too_many.json() == {"code": "woocommerce_rest_request_entity_too_large",
                               "message": "Unable to accept more than 100 items for this request.",
                               "data": {"status": 413}}
    mixed = api(woo_sandbox, "POST", "/products/batch", json={"update": [
        {"id": 1, "stock_quantity": 5, "manage_stock": True}, {"id": 2, "sku": "TOTE-ECO"}]}).json()
    assert mixed["update"][0]["stock_quantity"] == 5
    assert mixed["update"][1] == {"id": 2, "error": {"code": "product_invalid_sku", "message": "Invalid or duplicated SKU.",
                                                     "data": {"status": 400}}}


def test_modified_filters_use_site_time_unless_dates_are_gmt(woo_sandbox):
    # MUG-FIKA (id 1) was modified 2024-03-01 12:00:00 GMT = 13:00:00 in Stockholm.
    one = api(woo_sandbox, "GET", "/products/1").json()
    assert (one["date_modified"], one["date_modified_gmt"]) == ("2024-03-01T13:00:00", "2024-03-01T12:00:00")
    params = {"modified_after": "2024-03-01T12:30:00", "modified_before": "2024-03-01T23:00:00"}
    site = api(woo_sandbox, "GET", "/products", params=params).json()
    gmt = api(woo_sandbox, "GET", "/products", params={**params, "dates_are_gmt": "true"}).json()
    assert [p["id"] for p in site] == [1] and gmt == []
    bad = api(woo_sandbox, "GET", "/products", params={"modified_after": "yesterday"})
    assert bad.status_code == 400 and bad.json()["message"] == "Invalid parameter(s): modified_after"


def test_order_filters(woo_sandbox):
    done = api(woo_sandbox, "GET", "/orders", params={"status": "completed,on-hold"}).json()
    assert {o["status"] for o in done} == {"completed", "on-hold"}
    assert len(api(woo_sandbox, "GET", "/orders", params=[("status[]", "pending")]).json()) == 1
    assert api(woo_sandbox, "GET", "/orders", params={"status": "shipped"}).status_code == 400
    guest = [o for o in api(woo_sandbox, "GET", "/orders").json() if o["customer_id"] == 0]
    assert guest and guest[0]["billing"]["email"]


def test_a_status_a_plugin_registers_is_a_status_like_any(woo_sandbox):
    """WooCommerce builds the orders endpoint's status enum, its filter and ``GET /orders/statuses``
    from ``wc_get_order_statuses()``, which plugins extend: a custom status is valid everywhere a core
    one is, and unknown until registered."""
    order = api(woo_sandbox, "GET", "/orders", params={"status": "processing"}).json()[0]
    assert api(woo_sandbox, "PUT", f"/orders/{order['id']}", json={"status": "packed"}).status_code == 400
    requests.post(f"{woo_sandbox.url}/__sandbox__/woocommerce/order-statuses", json={"slug": "packed", "name": "Packad"},
                  timeout=10).raise_for_status()
    statuses = api(woo_sandbox, "GET", "/orders/statuses").json()
    assert {"slug": "packed", "name": "Packad"} in statuses and {"slug": "on-hold", "name": "On hold"} in statuses
    assert api(woo_sandbox, "PUT", f"/orders/{order['id']}", json={"status": "packed"}).json()["status"] == "packed"
    assert [o["id"] for o in api(woo_sandbox, "GET", "/orders", params={"status": "packed"}).json()] == [order["id"]]


def test_rate_limit_knob_answers_429_with_retry_after(woo_sandbox):
    requests.post(f"{woo_sandbox.url}/__sandbox__/knobs", json={"rate_limit": 2, "rate_window_s": 5}, timeout=5)
    codes = [api(woo_sandbox, "GET", "/products") for _ in range(3)]
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert int(codes[2].headers["Retry-After"]) >= 1
    assert codes[2].json()["data"] == {"status": 429}
    requests.post(f"{woo_sandbox.url}/__sandbox__/knobs", json={"rate_limit": 0, "fault_rate": 1.0}, timeout=5)
    failed = api(woo_sandbox, "GET", "/products")
    assert failed.status_code >= 500 and failed.json()["data"]["status"] == failed.status_code


def test_stats_and_reset(woo_sandbox):
    api(woo_sandbox, "DELETE", "/products/1", params={"force": "true"})
    api(woo_sandbox, "GET", "/products/1")
    stats = requests.get(f"{woo_sandbox.url}/__sandbox__/stats", timeout=5).json()
    assert stats["requests"]["DELETE /wp-json/wc/v3/products/{id}"] == 1
    assert stats["status"]["404"] == 1
    requests.post(f"{woo_sandbox.url}/__sandbox__/reset", timeout=5)
    assert api(woo_sandbox, "GET", "/products/1").json()["sku"] == "MUG-FIKA"
    requests.post(f"{woo_sandbox.url}/__sandbox__/reset", params={"demo": "false"}, timeout=5)
    assert api(woo_sandbox, "GET", "/products").json() == []


def test_large_catalogue_pages_quickly(woo_empty):
    started = time.monotonic()
    load_catalogue(woo_empty.sandbox, 10_000, 3)
    loaded = time.monotonic() - started
    started = time.monotonic()
    last = api(woo_empty, "GET", "/products", params={"per_page": 100, "page": 100, "orderby": "id", "order": "asc"})
    variations = api(woo_empty, "GET", f"/products/{last.json()[-1]['id']}/variations")
    paged = time.monotonic() - started
    assert last.headers["X-WP-Total"] == "10000" and last.json()[-1]["sku"] == ""
    assert [v["sku"] for v in variations.json()] == ["BENCH-10000-3", "BENCH-10000-2", "BENCH-10000-1"]
    assert loaded < 30 and paged < 2, (loaded, paged)


@pytest.mark.parametrize("per_page", ["abc", "-1"])
def test_non_numeric_paging_is_refused(woo_sandbox, per_page):
    assert api(woo_sandbox, "GET", "/products", params={"per_page": per_page}).status_code == 400


def test_fields_parameter_trims_answers_as_wordpress_does(woo_sandbox):
    """WordPress's ``_fields`` global parameter: named fields only, ``a.b`` into objects, both list
    syntaxes, ``_links`` only when named, unknown names ignored."""
    full = api(woo_sandbox, "GET", "/products", params={"per_page": 3}).json()
    trimmed = api(woo_sandbox, "GET", "/products", params={"per_page": 3, "_fields": "id,sku,nope"}).json()
    assert [set(p) for p in trimmed] == [{"id", "sku"}] * 3
    assert [(p["id"], p["sku"]) for p in trimmed] == [(p["id"], p["sku"]) for p in full]
    nested = api(woo_sandbox, "GET", f"/products/{full[0]['id']}",
                 params=[("_fields[]", "dimensions.width"), ("_fields[]", "_links")]).json()
    assert nested == {"dimensions": {"width": full[0]["dimensions"]["width"]}, "_links": full[0]["_links"]}


def test_order_notes_and_the_mails_status_changes_send(woo_sandbox):
    """A customer note is shown to the customer and mailed, an internal one is not; moving an order to
    completed sends the customer's completed-order mail (the core e-mails and their triggers)."""
    order = api(woo_sandbox, "GET", "/orders", params={"status": "processing"}).json()[0]
    mails = lambda: requests.get(f"{woo_sandbox.url}/__sandbox__/woocommerce/mails", timeout=10).json()  # noqa: E731
    before = len(mails())
    missing = api(woo_sandbox, "POST", f"/orders/{order['id']}/notes", json={"customer_note": True})
    assert missing.status_code == 400 and missing.json()["code"] == "rest_missing_callback_param"
    internal = api(woo_sandbox, "POST", f"/orders/{order['id']}/notes", json={"note": "Plockad"})
    assert internal.status_code == 201 and internal.json()["customer_note"] is False
    told = api(woo_sandbox, "POST", f"/orders/{order['id']}/notes",
               json={"note": "Skickad med PostNord, spårning 00370712345", "customer_note": True}).json()
    listed = api(woo_sandbox, "GET", f"/orders/{order['id']}/notes").json()
    assert [n["id"] for n in listed] == [told["id"], internal.json()["id"]]  # newest first
    assert [n["note"] for n in api(woo_sandbox, "GET", f"/orders/{order['id']}/notes",
                                   params={"type": "customer"}).json()] == ["Skickad med PostNord, spårning 00370712345"]
    api(woo_sandbox, "PUT", f"/orders/{order['id']}", json={"status": "completed"})
    api(woo_sandbox, "PUT", f"/orders/{order['id']}", json={"status": "completed"})  # no change: no mail
    sent = mails()[before:]
    assert [(m["template"], m["to"], m["order_id"]) for m in sent] == [
        ("customer_note", order["billing"]["email"], order["id"]),
        ("customer_completed_order", order["billing"]["email"], order["id"])]
