"""The Tradera REST v4 sandbox over real HTTP: app/user credentials (401/403 envelopes), the token login,
the 100-calls quota (429 without headers, errors counted), queued shop-item writes and their request
results, first-step listing refusals, variants, quantity delta vs absolute, the batch calls, late failures,
row versions, a buyer's purchase and its order arithmetic, order windows, shipping, transactions.

Expected values come from the data each test sends and arithmetic in the test, or from the evidence in
docs/research/tradera.md ([spec] the vendor's OpenAPI v4 document, [doc] vendor pages). Where a test leans
on a sandbox choice (a GUESS in ``integrations_dagster/sandbox/tradera/guesses.py``) it says so. Every 200
JSON answer a test receives is checked against the vendor spec (``spec.validate_response``), and every error
against the documented envelope ``{"error": {"code", "message"}}`` [doc: rest].
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from conftest import TRADERA_APP_ID, TRADERA_APP_KEY, TRADERA_PUBLIC_KEY, TRADERA_USER_ID, TRADERA_USER_TOKEN
from hookkit import client_fixture
from integrations_dagster.sandbox.tradera import spec

T = 10  # request timeout, seconds
CONTROL = "/__sandbox__/tradera"
needs_spec = pytest.mark.skipif(not spec.AVAILABLE, reason="the Tradera OpenAPI file is not beside the repo")
MUG = {"title": "Kaffemugg stengods", "description": "Handgjord mugg, 3 dl.", "price": 149, "quantity": 5,
       "categoryId": 344482, "vat": 25, "itemAttributes": [1], "acceptedBuyerId": 1, "ownReferences": ["MUG-01"],
       "shippingOptions": [{"shippingOptionId": 1, "cost": 59}, {"shippingOptionId": 2, "cost": 79}],
       "paymentOptionIds": [4096]}


class Tradera:
    """A minimal client: the four headers, every 200 JSON answer checked against the spec."""

    def __init__(self, url: str, token: str = TRADERA_USER_TOKEN) -> None:
        self.url, self.token = url, token

    def headers(self, user: bool = True) -> dict[str, str]:
        app = {"X-App-Id": TRADERA_APP_ID, "X-App-Key": TRADERA_APP_KEY}
        return {**app, "X-User-Id": TRADERA_USER_ID, "X-User-Token": self.token} if user else app

    def call(self, method: str, path: str, *, user: bool = True, headers: dict | None = None, **kwargs):
        resp = requests.request(method, f"{self.url}{path}", headers=headers if headers is not None
                                else self.headers(user), timeout=T, **kwargs)
        if resp.status_code == 200 and resp.content:
            problems = spec.validate_response(method, urlsplit(path).path, resp.json())
            assert problems == [], (method, path, problems)
        elif resp.status_code >= 400 and path.startswith("/v4"):
            error = resp.json()["error"]
            assert set(error) == {"code", "message"} and error["message"], resp.text
        return resp

    def ok(self, method: str, path: str, **kwargs):
        resp = self.call(method, path, **kwargs)
        assert resp.status_code == 200, (resp.status_code, resp.text)
        return resp.json() if resp.content else None

    def refused(self, method: str, path: str, status: int, code: str, **kwargs) -> str:
        resp = self.call(method, path, **kwargs)
        assert resp.status_code == status, (resp.status_code, resp.text)
        assert resp.json()["error"]["code"] == code  # GUESS ERROR_CODES beyond BadRequest
        return resp.json()["error"]["message"]

    def control(self, path: str, body: dict | None = None, status: int = 200):
        resp = requests.request("POST" if body is not None else "GET", f"{self.url}{CONTROL}{path}",
                                json=body, timeout=T)
        assert resp.status_code == status, resp.text
        return resp.json()

    # --- shortcuts ---
    def create(self, data: dict, path: str = "/v4/listings/shop-items") -> dict:
        return self.ok("POST", path, json=data)

    def results(self, *request_ids: int) -> dict[int, dict]:
        got = self.ok("GET", "/v4/listings/request-results", params={"requestIds": list(request_ids)})
        return {r["requestId"]: r for r in got}

    def listed(self, data: dict, path: str = "/v4/listings/shop-items") -> int:
        """Create and process at once (queue delay 0): the new item id, its result checked Ok."""
        queued = self.create(data, path)
        assert self.results(queued["requestId"])[queued["requestId"]]["resultCode"] == 1
        return queued["itemId"]

    def item(self, item_id: int) -> dict:
        return self.ok("GET", f"/v4/listings/items/{item_id}")

    def buy(self, item_id: int, quantity: int = 1, status: int = 200, **extra) -> dict:
        """A buyer's purchase (control route); the order it answers must be a valid SellerOrder too."""
        order = self.control("/buy", {"itemId": item_id, "quantity": quantity, **extra}, status)
        if status == 200:
            assert spec.validate_response("GET", f"/v4/orders/{order['orderId']}", [order]) == []
        return order


def _instant(url: str) -> Tradera:
    client = Tradera(url)
    client.control("/settings", {"queue_delay_s": 0})
    return client


tr = client_fixture(_instant, "tradera_empty")
slow = client_fixture(Tradera, "tradera_empty")  # the default queue delay (2 s, GUESS QUEUE_DELAY_S)
demo = client_fixture(Tradera, "tradera_sandbox")


# --- credentials -------------------------------------------------------------------------------------
def test_bad_app_credentials_are_401_in_the_envelope(tr):
    path = "/v4/reference-data/item-field-values"
    assert tr.ok("GET", path, user=False)["vat"] == [0, 6, 12, 25]  # App level: no user headers needed [doc: rest]
    assert tr.refused("GET", path, 401, "Unauthorized", headers={})
    tr.refused("GET", path, 401, "Unauthorized", headers={**tr.headers(), "X-App-Key": TRADERA_USER_TOKEN})
    message = tr.refused("GET", path, 401, "Unauthorized", headers={**tr.headers(), "X-App-Id": "4712"})
    assert TRADERA_APP_KEY not in message and message == "Invalid application id"  # [rec] fault text


def test_user_paths_need_the_user_token_403(tr):
    for path in ("/v4/listings/shop-settings", "/v4/orders/1", "/v4/listings/request-results"):
        tr.refused("GET", path, 403, "Forbidden", user=False)  # GUESS USER_AUTH_STATUS
        tr.refused("GET", path, 403, "Forbidden", headers={**tr.headers(), "X-User-Token": TRADERA_APP_KEY})
        tr.refused("GET", path, 403, "Forbidden", headers={**tr.headers(), "X-User-Id": "90211"})
    assert tr.ok("GET", "/v4/listings/shop-settings")["maxActiveItems"] == 10_000


def test_token_login_walk_and_single_use_secret(tr):
    skey = "b1946ac9-2492-4d93-a1f2-7c0e1d2f3a4b"  # a UUID, as Tradera recommends [notes]
    login = {"appId": TRADERA_APP_ID, "pkey": TRADERA_PUBLIC_KEY, "skey": skey}
    page = requests.get(f"{tr.url}/token-login", params=login, timeout=T)
    assert page.status_code == 200 and "<form" in page.text and skey in page.text
    for wrong in ({"pkey": TRADERA_APP_KEY}, {"appId": "1"}, {"skey": "too-short"}):
        assert requests.get(f"{tr.url}/token-login", params={**login, **wrong}, timeout=T).status_code == 400
    denied = requests.post(f"{tr.url}/token-login", data={**login, "userName": "sandlada_butik", "allow": "0"},
                           allow_redirects=False, timeout=T)
    assert denied.status_code == 303 and denied.headers["location"].startswith("/token-login/rejected")
    allowed = requests.post(f"{tr.url}/token-login", data={**login, "userName": "sandlada_butik", "allow": "1"},
                            allow_redirects=False, timeout=T)
    assert allowed.status_code == 303
    location = urlsplit(allowed.headers["location"])
    params = {k: v[0] for k, v in parse_qs(location.query).items()}  # GUESS ACCEPT_URL_PARAMS
    assert location.path == "/token-login/accepted" and params["userId"] == TRADERA_USER_ID
    assert requests.get(f"{tr.url}{allowed.headers['location']}", timeout=T).status_code == 200
    fetch = {"userId": int(TRADERA_USER_ID), "secretKey": skey}
    token = tr.ok("POST", "/v4/auth/token", user=False, json=fetch)  # App level [doc: plugin tradera-user-token]
    assert token["authToken"] == params["token"]
    expires = datetime.fromisoformat(token["hardExpirationTime"].replace("Z", "+00:00"))
    assert timedelta(days=539) < expires - datetime.now(timezone.utc) < timedelta(days=541)  # GUESS 540 days
    tr.refused("POST", "/v4/auth/token", 400, "BadRequest", user=False, json=fetch)  # GUESS SKEY_SINGLE_USE
    tr.refused("POST", "/v4/auth/token", 400, "BadRequest", user=False,
               json={"userId": int(TRADERA_USER_ID), "secretKey": "f" * 36})
    assert Tradera(tr.url, token["authToken"]).ok("GET", "/v4/listings/shop-settings")["maxActiveItems"] > 0
    tr.control("/settings", {"accept_url": "https://app.example/tradera/ok"})
    again = requests.post(f"{tr.url}/token-login", data={**login, "skey": "c" * 40, "userName": "x", "allow": "1"},
                          allow_redirects=False, timeout=T)
    assert again.headers["location"].startswith("https://app.example/tradera/ok?userId=90210&token=")


# --- quota ---------------------------------------------------------------------------------------------
def test_quota_429_without_headers_and_errors_count(demo):
    assert demo.control("/quota") == {"used": 0, "limit": 100, "window_s": 86400.0}  # [doc] 100/24 h
    demo.control("/quota", {"used": 97})
    demo.ok("GET", "/v4/reference-data/time", user=False)
    demo.refused("GET", "/v4/listings/shop-settings", 403, "Forbidden", user=False)  # an error counts too
    demo.refused("POST", "/v4/auth/token", 400, "BadRequest", user=False, json={"userId": 1, "secretKey": "x"})
    requests.get(f"{demo.url}/token-login", params={"appId": TRADERA_APP_ID}, timeout=T)  # a web page: not counted
    assert demo.control("/quota")["used"] == 100  # control routes never count
    resp = demo.call("GET", "/v4/reference-data/time", user=False)
    assert resp.status_code == 429 and resp.json()["error"]["code"] == "TooManyRequests"
    assert not {h.lower() for h in resp.headers} & {"retry-after", "x-ratelimit-limit", "x-ratelimit-remaining",
                                                   "x-ratelimit-reset"}  # GUESS QUOTA_HEADERS: none
    assert demo.control("/quota")["used"] == 101  # GUESS QUOTA_COUNTS_ERRORS: the 429 counted as well
    demo.control("/clock", {"advance_s": 86_400})  # the sliding window moves on (GUESS QUOTA_WINDOW)
    assert demo.control("/quota")["used"] == 0
    assert "time" in demo.ok("GET", "/v4/reference-data/time", user=False)


# --- shop items ----------------------------------------------------------------------------------------
def test_create_is_queued_then_ok_then_readable(slow):
    queued = slow.create(MUG)
    assert set(queued) == {"requestId", "itemId"} and queued["requestId"] != queued["itemId"]
    assert slow.results(queued["requestId"]) == {}  # no result yet [doc: v3 op=GetRequestResults]
    slow.refused("GET", f"/v4/listings/items/{queued['itemId']}", 404, "NotFound")
    slow.control("/clock", {"advance_s": 3})  # past the 2 s delay (GUESS QUEUE_DELAY_S)
    assert slow.results(queued["requestId"], 99) == {queued["requestId"]: {
        "requestId": queued["requestId"], "resultCode": 1, "message": None}}
    item = slow.item(queued["itemId"])  # GUESS ITEM_VIEW below
    assert (item["itemType"], item["shortDescription"], item["buyItNowPrice"], item["remainingQuantity"]) == \
        (4, MUG["title"], 149, 5)
    assert (item["vat"], item["ownReferences"], item["paymentOptions"], item["acceptedBuyerId"]) == \
        (25, ["MUG-01"], [4096], 1)
    assert [o["cost"] for o in item["shippingOptions"]] == [59, 79]


@pytest.mark.parametrize("change, words", [
    ({"price": 0}, "greater than 0"), ({"price": None}, "Price is required"),
    ({"title": ""}, "Title is required"), ({"title": "x" * 81}, "80 characters"),
    ({"description": "x" * 7001}, "7000 characters"), ({"absoluteQuantity": 3}, "both AbsoluteQuantity"),
    ({"itemAttributes": [1, 2]}, "both new (1) and used (2)"), ({"itemAttributes": [7]}, "Unknown item attribute"),
    ({"acceptedBuyerId": 2}, "AcceptedBuyerId"), ({"vat": 20}, "Invalid VAT"),
    ({"shippingOptions": [{"shippingOptionId": i, "cost": 10} for i in (1, 2, 12)]}, "At most 2 shipping"),
    ({"shippingOptions": [{"shippingOptionId": i, "cost": 10} for i in (1, 2, 12, 8)]}, "At most 2 shipping"),
    ({"shippingOptions": [{"shippingOptionId": 1}]}, "Shipping cost is required"),
    ({"shippingOptions": [{"shippingOptionId": 1, "cost": -5}]}, "cannot be negative"),
    ({"shippingOptions": [{"shippingOptionId": 99, "cost": 5}]}, "Unknown shipping option"),
    ({"paymentOptionIds": [3]}, "Unknown payment option"), ({"ownReferences": ["x" * 61]}, "60 characters"),
    ({"categoryId": 1}, "Category 1 does not exist"), ({"paymentCondition": "x" * 501}, "500 characters"),
])
def test_first_step_listing_rules_refuse_with_400(tr, change, words):
    message = tr.refused("POST", "/v4/listings/shop-items", 400, "BadRequest", json={**MUG, **change})
    assert words in message  # the limits are [spec]; the 400s and texts are GUESS LISTING_RULES
    assert tr.control("/requests") == [] and tr.control("/items") == []  # nothing queued, no id reserved


def test_pickup_allows_a_third_shipping_option(tr):
    options = [{"shippingOptionId": 1, "cost": 59}, {"shippingOptionId": 2, "cost": 79},
               {"shippingOptionId": 8, "cost": 0}]  # "3 if Pickup is included" [spec]
    assert tr.item(tr.listed({**MUG, "shippingOptions": options}))["acceptsPickup"] is True


@needs_spec
@pytest.mark.parametrize("change", [{"price": 149.5}, {"price": 149.0}, {"price": "149"}, {"quantity": 2.5},
                                    {"sku": "MUG-01"}, {"shippingOptions": [{"shippingOptionId": 1, "cost": 9.9}]}])
def test_bodies_that_do_not_bind_are_400(tr, change):
    tr.refused("POST", "/v4/listings/shop-items", 400, "BadRequest", json={**MUG, **change})  # GUESS BIND_ERROR
    assert spec.validate_request("POST", "/v4/listings/shop-items", {**MUG, **change}) != []
    assert spec.validate_request("POST", "/v4/listings/shop-items", MUG) == []


def test_variants_group_part_number_and_duplicates(tr):
    def variant(size: str, part: str | None = None, group: str | None = "TSHIRT-LOGO") -> dict:
        return {**MUG, "title": f"T-shirt logo {size}", "sellerPartNo": part or f"TS-{size}",
                "variantData": {"variantGroupId": group, "variantAttributes": [{"name": "Storlek", "value": size}]}}

    path = "/v4/listings/shop-items/variant"
    small, medium = tr.listed(variant("S"), path), tr.listed(variant("M"), path)
    assert "SellerPartNo is required" in tr.refused("POST", path, 400, "BadRequest",
                                                    json={**variant("L"), "sellerPartNo": None})
    assert "VariantGroupId is required" in tr.refused("POST", path, 400, "BadRequest", json=variant("L", group=None))
    for dup in ("S", "s"):  # GUESS VARIANT_RULES: the same attribute set twice in a group
        assert "same attributes" in tr.refused("POST", path, 400, "BadRequest", json=variant(dup, part="TS-S2"))
    assert tr.listed(variant("S", part="OTHER-S", group="HOODIE"), path)  # another group may have it
    clash = {"itemId": medium, "itemData": {"variantData": {"variantAttributes": [{"name": "Storlek", "value": "S"}]}}}
    tr.refused("PUT", path, 400, "BadRequest", json=clash)
    tr.refused("PUT", path, 400, "BadRequest", json={"itemId": tr.listed(MUG), "itemData": {"sellerPartNo": "X"}})
    order = tr.buy(small)
    assert order["items"][0]["merchantPartNumber"] == "TS-S"  # GUESS: merchantPartNumber = sellerPartNo


def test_quantity_is_a_delta_absolute_quantity_absolute_never_both(tr):
    item_id = tr.listed(MUG)  # 5
    update = lambda data: tr.ok("PUT", "/v4/listings/shop-items", json={"itemId": item_id, "itemData": data})
    for data, expected in (({"quantity": 3}, 8), ({"quantity": -2}, 6), ({"absoluteQuantity": 10}, 10),
                           ({"title": "Ny titel", "quantity": None}, 10)):  # [spec ShopItemData quantity]
        assert tr.results(update(data)["requestId"])  # processed
        assert tr.item(item_id)["remainingQuantity"] == expected
    assert tr.item(item_id)["shortDescription"] == "Ny titel" and tr.item(item_id)["buyItNowPrice"] == 149
    tr.refused("PUT", "/v4/listings/shop-items", 400, "BadRequest",
               json={"itemId": item_id, "itemData": {"quantity": 1, "absoluteQuantity": 1}})
    below = update({"quantity": -11})  # 10 - 11 < 0: a late failure (GUESS QUEUE_RESULTS)
    assert tr.results(below["requestId"])[below["requestId"]]["resultCode"] == 4
    assert tr.item(item_id)["remainingQuantity"] == 10
    tr.refused("PUT", "/v4/listings/shop-items", 400, "BadRequest", json={"itemId": 1, "itemData": {"price": 5}})


def test_batch_quantities_are_absolute_with_partial_errors(tr):
    a, b, c = (tr.listed({**MUG, "title": f"Mugg {n}"}) for n in "abc")
    got = tr.ok("PUT", "/v4/listings/shop-items/quantities",
                json={"shopItems": [{"id": a, "quantity": 7}, {"id": b, "quantity": 0},
                                    {"id": 123, "quantity": 5}, {"id": c, "quantity": -1}]})
    assert got["successfulUpdates"] == 2  # GUESS BATCH_PARTIAL and BATCH_QUANTITY_IS_ABSOLUTE
    assert [e["item"] for e in got["validationErrors"]] == [{"id": 123, "quantity": 5}, {"id": c, "quantity": -1}]
    assert "does not exist" in got["validationErrors"][0]["errorMessage"]
    assert [tr.item(i)["remainingQuantity"] for i in (a, b, c)] == [7, 0, 5]


def test_batch_prices_are_queued_per_item(slow):
    slow.control("/settings", {"queue_delay_s": 0})
    a, b = slow.listed(MUG), slow.listed({**MUG, "title": "Mugg b"})
    slow.control("/settings", {"queue_delay_s": 5})
    got = slow.ok("PUT", "/v4/listings/shop-items/prices",
                  json={"shopItems": [{"id": a, "price": 129}, {"id": b, "price": 159}, {"id": b, "price": 0},
                                      {"id": 7, "price": 10}]})
    queued = got["queuedRequestResponses"]
    assert [q["itemId"] for q in queued] == [a, b] and len({q["requestId"] for q in queued}) == 2
    assert [e["item"] for e in got["validationErrors"]] == [{"id": b, "price": 0}, {"id": 7, "price": 10}]
    assert slow.item(a)["buyItNowPrice"] == 149  # not applied before it is processed
    slow.control("/clock", {"advance_s": 6})
    ids = ",".join(str(q["requestId"]) for q in queued)  # a comma list works too (GUESS REQUEST_IDS_REPEATED)
    got = slow.ok("GET", f"/v4/listings/request-results?requestIds={ids}")
    assert [r["resultCode"] for r in got] == [1, 1]
    assert (slow.item(a)["buyItNowPrice"], slow.item(b)["buyItNowPrice"]) == (129, 159)


def test_more_than_500_rows_refuse_the_whole_call(tr):
    item_id = tr.listed(MUG)
    for path, field in (("quantities", "quantity"), ("prices", "price")):
        rows = [{"id": item_id, field: 9}] * 501  # GUESS BATCH_MAX
        assert "500" in tr.refused("PUT", f"/v4/listings/shop-items/{path}", 400, "BadRequest",
                                   json={"shopItems": rows})
    assert (tr.item(item_id)["remainingQuantity"], tr.item(item_id)["buyItNowPrice"]) == (5, 149)


def test_late_failures_payment_option_and_max_active_items(tr):
    queued = tr.create({**MUG, "paymentOptionIds": [16384]})  # not enabled for the seller ([seed]: Klarna)
    result = tr.results(queued["requestId"])[queued["requestId"]]
    assert result["resultCode"] == 4 and "16384" in result["message"]  # GUESS QUEUE_RESULTS
    tr.refused("GET", f"/v4/listings/items/{queued['itemId']}", 404, "NotFound")  # GUESS FAILED_CREATE_GONE
    assert tr.ok("GET", "/v4/listings/seller-items", params={"filterItemType": 3}) == []
    assert tr.ok("GET", "/v4/listings/updated-seller-items") == []
    tr.control("/settings", {"max_active_items": 1})
    tr.listed(MUG)
    over = tr.create({**MUG, "title": "En till"})
    assert tr.results(over["requestId"])[over["requestId"]]["resultCode"] == 64


def test_row_versions_increase_and_a_sale_bumps_them(tr):
    item_id = tr.listed(MUG)

    def version() -> int:
        feed = tr.ok("GET", "/v4/listings/updated-seller-items")
        assert [f["id"] for f in feed] == [item_id] and feed[0]["itemType"] == 4
        return feed[0]["rowVersion"]

    seen = [version()]
    assert seen[0] > 2**31  # GUESS ROWVERSION_START: beyond int32 (the spec types it int64)
    update = tr.ok("PUT", "/v4/listings/shop-items", json={"itemId": item_id, "itemData": {"price": 139}})
    tr.results(update["requestId"])
    seen.append(version())
    tr.ok("PUT", "/v4/listings/shop-items/quantities", json={"shopItems": [{"id": item_id, "quantity": 4}]})
    seen.append(version())
    tr.buy(item_id, 1)  # GUESS SALE_DECREMENTS_STOCK
    seen.append(version())
    assert seen == sorted(set(seen))  # strictly increasing (GUESS ROWVERSION_RULES)
    feed = tr.ok("GET", "/v4/listings/updated-seller-items", params={"rowVersion": seen[-2]})
    assert feed == [{"id": item_id, "itemType": 4, "rowVersion": seen[-1]}]
    assert tr.ok("GET", "/v4/listings/updated-seller-items", params={"rowVersion": seen[-1]}) == []
    assert tr.item(item_id)["remainingQuantity"] == 3


def test_buy_makes_a_paid_order_with_the_arithmetic(tr):
    item_id = tr.listed(MUG)
    order = tr.buy(item_id, 3, shippingOptionId=2, buyer={"firstName": "Olle", "lastName": "Berg"})
    line = order["items"][0]
    assert (line["itemId"], line["quantity"], line["unitPrice"], line["vatRate"]) == (item_id, 3, 149, 25)
    assert line["merchantPartNumber"] is None and line["ownReferences"] == ["MUG-01"]
    assert order["subTotal"] == 3 * 149 and order["shippingCost"] == 79  # DHL, the option chosen
    payment, = order["sellerOrderPayments"]  # GUESS MONEY_RULES / ORDER_RULES
    assert payment["amount"] == 3 * 149 + 79 and payment["paidDate"] and payment["paymentType"] == "Swish"
    assert order["shipTo"]["name"] == "Olle Berg" and order["buyer"]["countryName"] == "Sverige"
    assert tr.item(item_id)["remainingQuantity"] == 2
    assert tr.buy(item_id, 3, status=409)["error"]["code"] == "Conflict"
    got = tr.ok("GET", f"/v4/orders/{order['orderId']},99")
    assert got == [order]


def test_orders_by_date_window_in_both_modes(tr):
    item_id = tr.listed({**MUG, "quantity": 10})
    first = tr.buy(item_id)
    tr.control("/clock", {"advance_s": 2 * 86_400})
    second = tr.buy(item_id)
    tr.ok("POST", f"/v4/orders/{first['orderId']}/ship")  # moves first's lastUpdatedDate to now
    recent = (datetime.fromisoformat(second["createdDate"].replace("Z", "+00:00")) - timedelta(hours=1)).isoformat()
    future = (datetime.fromisoformat(second["createdDate"].replace("Z", "+00:00")) + timedelta(hours=1)).isoformat()

    def ids(start: str, end: str, mode: int) -> list[int]:
        got = tr.ok("GET", "/v4/orders", params={"fromDate": start, "toDate": end, "queryDateMode": mode})
        return [o["orderId"] for o in got]

    exact = first["createdDate"]
    assert ids(exact, exact, 0) == [first["orderId"]]  # inclusive both ends (GUESS ORDER_WINDOW)
    assert ids(recent, future, 0) == [second["orderId"]]  # mode 0 = created (GUESS ENUM_ORDER)
    assert ids(recent, future, 1) == [first["orderId"], second["orderId"]]  # mode 1 = last updated
    tr.refused("GET", "/v4/orders", 400, "BadRequest", params={"fromDate": recent})
    tr.refused("GET", "/v4/orders", 400, "BadRequest",
               params={"fromDate": recent, "toDate": future, "queryDateMode": 2})


def test_ship_is_idempotent_and_transactions(tr):
    order = tr.buy(tr.listed(MUG), 2)
    tr.control("/clock", {"advance_s": 60})
    assert tr.ok("POST", f"/v4/orders/{order['orderId']}/ship") == {"orderId": order["orderId"]}
    shipped, = tr.ok("GET", f"/v4/orders/{order['orderId']}")
    assert shipped["lastUpdatedDate"] > order["lastUpdatedDate"]
    assert tr.ok("POST", f"/v4/orders/{order['orderId']}/ship") == {"orderId": order["orderId"]}
    assert tr.ok("GET", f"/v4/orders/{order['orderId']}")[0]["lastUpdatedDate"] == shipped["lastUpdatedDate"]
    tr.refused("POST", "/v4/orders/424242/ship", 400, "BadRequest")
    transaction, = tr.ok("GET", "/v4/listings/seller-transactions", params={"filter": 4})
    assert transaction["amount"] == 2 * 149 and transaction["isMarkedAsShipped"] is True
    paid = tr.ok("PUT", "/v4/listings/transaction-status",
                 json={"transactionId": transaction["id"], "markAsPaidConfirmed": True})
    assert paid["isMarkedAsPaidConfirmed"] is True
    assert "Transction with id 5 does not exist." in tr.refused(
        "PUT", "/v4/listings/transaction-status", 400, "BadRequest", json={"transactionId": 5})  # [rec]
    tr.refused("GET", "/v4/listings/seller-transactions", 400, "BadRequest", params={"filter": 3})


def test_seller_items_filters_and_removal(tr):
    later = (datetime.now(timezone.utc) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    shown, hidden = tr.listed(MUG), tr.listed({**MUG, "title": "Senare", "activateDate": later})
    assert [i["id"] for i in tr.ok("GET", "/v4/listings/seller-items", params={"filterItemType": 3})] == [shown]
    assert tr.ok("GET", "/v4/listings/seller-items", params={"filterItemType": 1}) == []  # auctions only
    assert tr.item(hidden)["startDate"].startswith(later[:19])
    queued = tr.ok("DELETE", f"/v4/listings/shop-items/{shown}")
    assert tr.results(queued["requestId"])[queued["requestId"]]["resultCode"] == 1
    tr.refused("GET", f"/v4/listings/items/{shown}", 404, "NotFound")
    assert shown in [u["id"] for u in tr.ok("GET", "/v4/listings/updated-seller-items")]
    tr.refused("DELETE", f"/v4/listings/shop-items/{shown}", 400, "BadRequest")


def test_reference_data_and_shop(tr):
    fields = tr.ok("GET", "/v4/reference-data/item-field-values", user=False)
    assert {p["id"] for p in fields["paymentTypes"]} == {4, 8, 16, 32, 4096, 16384}  # [doc: plugin] example ids
    assert {s["id"] for s in fields["shippingTypes"]} == {1, 2, 6, 7, 8, 12, 13, 20}
    assert [b["id"] for b in tr.ok("GET", "/v4/reference-data/accepted-bidder-types", user=False)] == [1, 3, 4]
    assert tr.ok("GET", "/v4/reference-data/shipping-options", user=False)["productsPerWeightSpan"]
    assert tr.ok("GET", "/v4/categories", user=False)[0]["subCategories"]
    assert tr.ok("GET", "/v4/reference-data/time", user=False)["time"].endswith("Z")
    names = [p["displayName"] for p in tr.ok("GET", "/v4/users/me/payment-options")["paymentOptions"]]
    assert names == ["Banköverföring", "Swish"]
    tr.refused("GET", "/v4/reference-data/nothing", 404, "NotFound", user=False)


@needs_spec
def test_the_spec_module_finds_violations():
    assert spec.validate_response("POST", "/v4/orders/7/ship", {"orderId": "7"}) != []
    assert spec.validate_response("GET", "/v4/listings/items/7", {"id": 7, "sku": "x"}) != []
    assert spec.validate_request("PUT", "/v4/listings/shop-items/prices", {"shopItems": [{"id": 1, "price": 1}]}) == []
