"""The Zettle sandbox over real HTTP: assertion grant, 401s, products + ETags, inventory movements and
rate limit, the till's sales, and purchase paging. Expected values come from the data each test
sends and from the vendor's documented rules, never from the sandbox's code."""

from __future__ import annotations

import base64
import time
import uuid
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
import requests

from integrations_dagster.sandbox.runner import start_in_thread

CREDS = {"client_id": "0f5c1a52-6a0e-4d1f-8a5e-2b7c3d4e5f60", "api_key": "eyJhbGciOi.sandbox-api-key.sig"}
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
PRODUCTS = "/products/organizations/self/products"
INV = "/inventory/v3"


@pytest.fixture(scope="module")
def base():
    running = start_in_thread("zettle", credentials=CREDS, demo=True)
    yield running.url
    running.stop()


def grant(base: str, **overrides) -> requests.Response:
    form = {"grant_type": JWT_BEARER, "client_id": CREDS["client_id"], "assertion": CREDS["api_key"], **overrides}
    return requests.post(f"{base}/oauth/token", data=form, timeout=10)


@pytest.fixture(scope="module")
def auth(base):
    return {"Authorization": f"Bearer {grant(base).json()['access_token']}"}


def call(method: str, url: str, auth: dict, **kw) -> requests.Response:
    """A polite client: on 429 it waits as Retry-After says (inventory allows 4 requests/s)."""
    for _ in range(20):
        resp = requests.request(method, url, headers={**auth, **kw.pop("headers", {})}, timeout=10, **kw)
        if resp.status_code != 429:
            return resp
        time.sleep(float(resp.headers.get("Retry-After", "1")))
    raise AssertionError("still rate limited")


def products_by_name(base, auth) -> dict[str, dict]:
    return {p["name"]: p for p in call("GET", f"{base}{PRODUCTS}/v2", auth).json()}


def store_uuid(base, auth) -> str:
    invs = call("GET", f"{base}{INV}/inventories", auth).json()
    return next(i["inventoryUuid"] for i in invs if i["inventoryType"] == "STORE" and i["defaultInventory"])


def inventory_of(base, auth, kind: str) -> str:
    return next(i["inventoryUuid"] for i in call("GET", f"{base}{INV}/inventories", auth).json()
                if i["inventoryType"] == kind)


def balances(base, auth, product_uuid: str, inventory: str | None = None) -> dict[str, int]:
    inv = inventory or store_uuid(base, auth)
    rows = call("GET", f"{base}{INV}/stock/{inv}/products/{product_uuid}", auth).json()
    return {r["variantUuid"]: r["balance"] for r in rows}


def new_product(n_variants: int = 1, price: int = 12900, vat: str = "25") -> dict:
    return {"uuid": str(uuid.uuid1()), "name": "Testprodukt", "vatPercentage": vat,
            "variants": [{"uuid": str(uuid.uuid1()), "name": f"V{i}", "sku": f"TEST-{i}",
                          "price": {"amount": price, "currencyId": "SEK"}, "vatPercentage": vat}
                         for i in range(n_variants)]}


# --- auth ------------------------------------------------------------------------------------------
def test_assertion_grant_issues_a_token_without_refresh_token(base):
    resp = grant(base)
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"access_token", "expires_in"} and body["expires_in"] == 7200


def test_bad_assertion_and_bad_client_are_refused(base):
    bad = grant(base, assertion="not-the-key")
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    wrong_client = grant(base, client_id="someone-else")
    assert wrong_client.status_code == 400 and wrong_client.json()["error"] == "invalid_client"
    assert grant(base, grant_type="password").status_code == 400


def test_resource_routes_need_a_valid_bearer_token(base):
    for headers in ({}, {"Authorization": "Bearer made-up"}):
        resp = requests.get(f"{base}{PRODUCTS}/v2", headers=headers, timeout=10)
        assert resp.status_code == 401
        assert resp.headers["WWW-Authenticate"].startswith("Bearer error=")
        assert set(resp.json()) == {"developerMessage", "errorType", "violations"}


def test_expired_token_is_answered_access_token_expired(base):
    requests.post(f"{base}/__sandbox__/knobs", json={"token_ttl_s": 0.5}, timeout=10)
    try:
        token = grant(base).json()["access_token"]
        time.sleep(0.7)
        resp = requests.get(f"{base}{PRODUCTS}/v2", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert resp.status_code == 401 and "ACCESS_TOKEN_EXPIRED" in resp.headers["WWW-Authenticate"]
    finally:
        requests.post(f"{base}/__sandbox__/knobs", json={"token_ttl_s": 7200}, timeout=10)


# --- products --------------------------------------------------------------------------------------
def test_product_list_and_get_shape(base, auth):
    listing = call("GET", f"{base}{PRODUCTS}/v2", auth)
    assert listing.status_code == 200 and isinstance(listing.json(), list) and len(listing.json()) >= 6
    for product in listing.json():
        assert 1 <= len(product["variants"]) <= 99 and isinstance(product["vatPercentage"], str)
        for variant in product["variants"]:
            assert isinstance(variant["price"]["amount"], int) and variant["price"]["currencyId"] == "SEK"
    first = listing.json()[0]
    one = call("GET", f"{base}{PRODUCTS}/{first['uuid']}", auth)
    assert one.status_code == 200 and one.headers["ETag"] == f'"{one.json()["etag"]}"'
    assert len(one.json()["etag"]) == 32 and one.json()["etag"] == one.json()["etag"].upper()
    assert call("GET", f"{base}{PRODUCTS}/{uuid.uuid1()}", auth).status_code == 404


def test_create_then_get(base, auth):
    body = new_product(2, price=15900)
    created = call("POST", f"{base}{PRODUCTS}", auth, json=body)
    assert created.status_code == 201 and created.headers["Location"].endswith(body["uuid"])
    got = call("GET", f"{base}{PRODUCTS}/{body['uuid']}", auth).json()
    assert got["name"] == "Testprodukt" and [v["uuid"] for v in got["variants"]] == [v["uuid"] for v in body["variants"]]
    assert got["variants"][0]["price"] == {"amount": 15900, "currencyId": "SEK"}
    assert call("POST", f"{base}{PRODUCTS}", auth, json=body).status_code in (400, 409)  # same uuid again


def test_update_with_stale_etag_is_412_and_changes_nothing(base, auth):
    body = new_product()
    call("POST", f"{base}{PRODUCTS}", auth, json=body)
    before = call("GET", f"{base}{PRODUCTS}/{body['uuid']}", auth).json()
    resp = call("PUT", f"{base}{PRODUCTS}/v2/{body['uuid']}", auth, json={"name": "Nytt namn"},
                headers={"If-Match": '"0123456789ABCDEF0123456789ABCDEF"'})
    assert resp.status_code == 412 and resp.content == b""
    after = call("GET", f"{base}{PRODUCTS}/{body['uuid']}", auth).json()
    assert after == before


def test_update_with_current_etag_applies_and_renews_it(base, auth):
    body = new_product(2)
    call("POST", f"{base}{PRODUCTS}", auth, json=body)
    current = call("GET", f"{base}{PRODUCTS}/{body['uuid']}", auth)
    keep = body["variants"][0]["uuid"]
    patch = {"name": "Nytt namn", "description": "Ny beskrivning", "variants": [{"uuid": keep, "name": "Liten"}]}
    resp = call("PUT", f"{base}{PRODUCTS}/v2/{body['uuid']}", auth, json=patch,
                headers={"If-Match": current.headers["ETag"]})
    assert resp.status_code == 200
    updated = resp.json()
    assert updated["name"] == "Nytt namn" and updated["description"] == "Ny beskrivning"
    assert [(v["uuid"], v["name"], v["sku"]) for v in updated["variants"]] == [(keep, "Liten", "TEST-0")]
    assert updated["etag"] != current.json()["etag"] and resp.headers["ETag"] == f'"{updated["etag"]}"'
    # the documented If-None-Match header with the old etag is now stale too
    stale = call("PUT", f"{base}{PRODUCTS}/v2/{body['uuid']}", auth, json={"name": "x"},
                 headers={"If-None-Match": current.headers["ETag"]})
    assert stale.status_code == 412
    again = call("PUT", f"{base}{PRODUCTS}/v2/{body['uuid']}", auth, json={"name": "Tredje namnet"},
                 headers={"If-Match": resp.headers["ETag"]})
    assert again.status_code == 200 and again.json()["name"] == "Tredje namnet"
    assert again.json()["etag"] != updated["etag"]


def test_reset_reloads_the_demo_shop(base, auth):
    assert requests.post(f"{base}/__sandbox__/reset?demo=true", timeout=10).status_code == 200
    shop = products_by_name(base, auth)
    assert len(shop) == 6 and shop["Tygkasse"]["variants"][0]["sku"] is None
    tshirt = shop["T-shirt Ekologisk bomull"]
    assert sorted(balances(base, auth, tshirt["uuid"]).values()) == [0, 5, 6]  # S 5, M 8 - 2 sold, L 0
    assert len(call("GET", f"{base}/purchase/purchases/v2", auth).json()["purchases"]) == 2


def test_more_than_99_variants_is_refused(base, auth):
    body = new_product(100)
    resp = call("POST", f"{base}{PRODUCTS}", auth, json=body)
    assert resp.status_code == 400
    err = resp.json()
    assert err["errorType"] == "VALIDATION" and err["violations"] and "developerMessage" in err
    assert call("GET", f"{base}{PRODUCTS}/{body['uuid']}", auth).status_code == 404
    assert call("POST", f"{base}{PRODUCTS}", auth, json=new_product(99)).status_code == 201
    # and on update: growing a product past 99 variants
    small = new_product(1)
    call("POST", f"{base}{PRODUCTS}", auth, json=small)
    grow = {"variants": small["variants"] + new_product(99)["variants"]}
    assert call("PUT", f"{base}{PRODUCTS}/v2/{small['uuid']}", auth, json=grow).status_code == 400


def test_delete_then_get_is_404(base, auth):
    body = new_product()
    call("POST", f"{base}{PRODUCTS}", auth, json=body)
    assert call("DELETE", f"{base}{PRODUCTS}/{body['uuid']}", auth).status_code == 204
    assert call("GET", f"{base}{PRODUCTS}/{body['uuid']}", auth).status_code == 404


# --- inventory -------------------------------------------------------------------------------------
def test_movements_change_balances_and_balances_equal_their_movements(base, auth):
    body = new_product(2)
    call("POST", f"{base}{PRODUCTS}", auth, json=body)
    p, (v0, v1) = body["uuid"], [v["uuid"] for v in body["variants"]]
    assert call("POST", f"{base}{INV}/products", auth, json={"productUuids": [p]}).status_code == 204
    store, supplier, bin_ = store_uuid(base, auth), inventory_of(base, auth, "SUPPLIER"), inventory_of(base, auth, "BIN")
    moves = [{"productUuid": p, "variantUuid": v0, "change": 10, "from": supplier, "to": store},
             {"productUuid": p, "variantUuid": v1, "change": 4, "from": supplier, "to": store},
             {"productUuid": p, "variantUuid": v0, "change": 3, "from": store, "to": bin_}]
    assert call("POST", f"{base}{INV}/movements", auth, json={"movements": moves}).status_code == 204
    expected = {v: sum(m["change"] for m in moves if m["variantUuid"] == v and m["to"] == store)
                - sum(m["change"] for m in moves if m["variantUuid"] == v and m["from"] == store) for v in (v0, v1)}
    assert balances(base, auth, p) == expected == {v0: 7, v1: 4}
    # never negative or zero changes
    bad = [{"productUuid": p, "variantUuid": v0, "change": -2, "from": supplier, "to": store}]
    assert call("POST", f"{base}{INV}/movements", auth, json={"movements": bad}).status_code == 400
    # every STORE balance in /stock equals the sum of the movements in the sandbox's ledger
    ledger = requests.get(f"{base}/__sandbox__/zettle/ledger", timeout=10).json()
    for row in call("GET", f"{base}{INV}/stock?limit=1000", auth).json():
        moved = sum(m["change"] * ((m["to"] == row["inventoryUuid"]) - (m["from"] == row["inventoryUuid"]))
                    for m in ledger if m["variantUuid"] == row["variantUuid"] and m["productUuid"] == row["productUuid"])
        assert row["balance"] == moved


def test_movement_on_untracked_product_is_refused(base, auth):
    bag = products_by_name(base, auth)["Tygkasse"]  # demo: not tracked
    store, supplier = store_uuid(base, auth), inventory_of(base, auth, "SUPPLIER")
    move = {"productUuid": bag["uuid"], "variantUuid": bag["variants"][0]["uuid"], "change": 5,
            "from": supplier, "to": store}
    resp = call("POST", f"{base}{INV}/movements", auth, json={"movements": [move]})
    assert resp.status_code == 400 and resp.json()["violations"]
    stock_rows = call("GET", f"{base}{INV}/stock?limit=1000", auth).json()
    assert bag["uuid"] not in {r["productUuid"] for r in stock_rows}


def test_stock_pages_follow_the_link_header(base, auth):
    rows, url = [], f"{base}{INV}/stock?limit=3"
    while url:
        resp = call("GET", url, auth)
        rows += resp.json()
        url = resp.links.get("next", {}).get("url")
    everything = call("GET", f"{base}{INV}/stock?limit=1000", auth).json()
    assert [(r["inventoryUuid"], r["variantUuid"]) for r in rows] == \
        [(r["inventoryUuid"], r["variantUuid"]) for r in everything]


def test_inventory_rate_limit_answers_429_with_retry_after(base, auth):
    requests.post(f"{base}/__sandbox__/zettle/inventory-limit", json={"per_second": 4, "burst": 4}, timeout=10)
    time.sleep(1.1)
    statuses, started = [], time.monotonic()
    for _ in range(20):
        resp = requests.get(f"{base}{INV}/inventories", headers=auth, timeout=10)
        statuses.append(resp)
    elapsed = time.monotonic() - started
    ok = sum(r.status_code == 200 for r in statuses)
    limited = [r for r in statuses if r.status_code == 429]
    # documented: 4 requests/s; allowed at most a burst of 4 plus 4 per elapsed second (+1 for timing)
    assert limited and ok <= 4 + 4 * elapsed + 1
    assert int(limited[0].headers["Retry-After"]) >= 1
    assert limited[0].json()["errorType"] and "violations" in limited[0].json()
    # products are not limited by the inventory rule
    assert requests.get(f"{base}{PRODUCTS}/v2", headers=auth, timeout=10).status_code == 200
    time.sleep(1.1)
    assert requests.get(f"{base}{INV}/inventories", headers=auth, timeout=10).status_code == 200


# --- till and purchases ----------------------------------------------------------------------------
def _taxable(gross: int, vat: str) -> int:
    return int((Decimal(gross) / (1 + Decimal(vat) / 100)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_sale_creates_purchase_and_lowers_tracked_balance(base, auth):
    shop = products_by_name(base, auth)
    hat, coffee = shop["Mössa Ull"], shop["Kaffe Mellanrost 500 g"]
    hat_v, coffee_v = hat["variants"][0], coffee["variants"][0]
    before_hat, before_coffee = balances(base, auth, hat["uuid"]), balances(base, auth, coffee["uuid"])
    lines = [{"productUuid": hat["uuid"], "variantUuid": hat_v["uuid"], "quantity": 2},
             {"productUuid": coffee["uuid"], "variantUuid": coffee_v["uuid"], "quantity": 1}]
    resp = requests.post(f"{base}/__sandbox__/zettle/sale", json={"lines": lines, "refund": False}, timeout=10)
    assert resp.status_code == 201
    purchase = resp.json()
    unit = {hat_v["uuid"]: (hat_v["price"]["amount"], hat_v["vatPercentage"]),
            coffee_v["uuid"]: (coffee_v["price"]["amount"], coffee_v["vatPercentage"])}
    gross = {line["variantUuid"]: line["quantity"] * unit[line["variantUuid"]][0] for line in lines}
    assert purchase["amount"] == sum(gross.values()) == 2 * 19900 + 8900
    taxable = sum(_taxable(g, unit[v][1]) for v, g in gross.items())
    assert purchase["vatAmount"] == purchase["amount"] - taxable
    assert [(p["quantity"], p["unitPrice"]) for p in purchase["products"]] == [("2", 19900), ("1", 8900)]
    assert balances(base, auth, hat["uuid"])[hat_v["uuid"]] == before_hat[hat_v["uuid"]] - 2
    assert balances(base, auth, coffee["uuid"])[coffee_v["uuid"]] == before_coffee[coffee_v["uuid"]] - 1
    # the purchase is served by the Purchase API
    got = call("GET", f"{base}/purchase/purchase/v2/{purchase['purchaseUUID1']}", auth)
    assert got.status_code == 200 and got.json()["amount"] == purchase["amount"]
    # a refund of one hat: negative amounts, the stock comes back
    refund = requests.post(f"{base}/__sandbox__/zettle/sale", timeout=10, json={
        "lines": lines[:1][:], "refund": True, "refundsPurchaseUUID1": purchase["purchaseUUID1"]}).json()
    assert refund["amount"] == -2 * 19900 and refund["products"][0]["quantity"] == "-2" and refund["refund"]
    assert balances(base, auth, hat["uuid"])[hat_v["uuid"]] == before_hat[hat_v["uuid"]]
    assert call("GET", f"{base}/purchase/purchase/v2/{purchase['purchaseUUID1']}", auth).json()["refunded"] is True


def _hash(purchase: dict) -> str:
    moment = datetime.strptime(purchase["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z")
    short = base64.urlsafe_b64encode(uuid.UUID(purchase["purchaseUUID1"]).bytes).rstrip(b"=").decode()
    return f"{round(moment.timestamp() * 1000)}{short}"


@pytest.mark.parametrize("descending", [False, True])
def test_purchase_paging_returns_each_purchase_once(base, auth, descending):
    bag = products_by_name(base, auth)["Tygkasse"]
    for q in range(1, 4):
        requests.post(f"{base}/__sandbox__/zettle/sale", timeout=10, json={"lines": [
            {"productUuid": bag["uuid"], "variantUuid": bag["variants"][0]["uuid"], "quantity": q}]})
    everything = call("GET", f"{base}/purchase/purchases/v2?limit=1000", auth).json()["purchases"]
    assert len(everything) >= 5
    seen, last = [], None
    while True:
        params = {"limit": 2, "descending": str(descending).lower()}
        if last:
            params["lastPurchaseHash"] = last
        page = call("GET", f"{base}/purchase/purchases/v2", auth, params=params).json()
        if not page["purchases"]:
            break
        assert len(page["purchases"]) <= 2
        assert page["lastPurchaseHash"] == _hash(page["purchases"][-1])
        assert page["firstPurchaseHash"] == _hash(page["purchases"][0])
        assert "lastPurchaseHash=" + page["lastPurchaseHash"] in page["linkUrls"][0]
        seen += [p["purchaseUUID1"] for p in page["purchases"]]
        last = page["lastPurchaseHash"]
    assert len(seen) == len(set(seen)) == len(everything)
    ordered = [p["purchaseUUID1"] for p in everything]
    assert seen == (ordered[::-1] if descending else ordered)


# --- pusher ----------------------------------------------------------------------------------------
def test_subscriptions_crud(base, auth):
    url = f"{base}/pusher/organizations/self/subscriptions"
    sub = {"uuid": str(uuid.uuid1()), "transportName": "WEBHOOK", "eventNames": ["ProductUpdated"],
           "destination": "https://example.com/hook", "contactEmail": "kassa@example.se"}
    created = call("POST", url, auth, json=sub)
    assert created.status_code == 200 and len(created.json()["signingKey"]) == 64
    assert created.json()["status"] == "ACTIVE"
    assert call("POST", url, auth, json=sub).status_code == 400  # same uuid
    assert call("POST", url, auth, json={**sub, "uuid": str(uuid.uuid1()), "contactEmail": None}).status_code == 422
    assert call("PUT", f"{url}/{sub['uuid']}", auth, json={"eventNames": ["ProductCreated"]}).status_code == 200
    listed = {s["uuid"]: s for s in call("GET", url, auth).json()}
    assert listed[sub["uuid"]]["eventNames"] == ["ProductCreated"]
    assert call("DELETE", f"{url}/{sub['uuid']}", auth).status_code == 204
    assert call("DELETE", f"{url}/{sub['uuid']}", auth).status_code == 404
