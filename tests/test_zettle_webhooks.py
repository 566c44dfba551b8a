"""Zettle Pusher webhooks over real HTTP: a receiver in the test records what the sandbox POSTs.

Expected values come from the vendor's documented rules (docs/research/zettle.md §5) and from the data
each test sends: the envelope keys [doc: pusher-api_concept_event-payloads.md], the signature recipe
(HMAC-SHA256 hex over ``"<timestamp>.<payload>"`` with the subscription's ``signingKey``
[doc: pusher-api_user-guides_create-subscriptions.md §Step 4]), the retry schedule (10×60 s, 9×600 s,
70×3600 s [doc-repo: pusher-api/troubleshooting.md §Retry policy]). The signature is computed here,
never taken from the sandbox."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import uuid

import pytest
import requests

from integrations_dagster.sandbox.base import Knobs
from integrations_dagster.sandbox.runner import start_in_thread
from conftest import QuietHandler, serving

CREDS = {"client_id": "0f5c1a52-6a0e-4d1f-8a5e-2b7c3d4e5f60", "api_key": "eyJhbGciOi.sandbox-api-key.sig"}
PRODUCTS = "/products/organizations/self/products"
INV = "/inventory/v3"
SUBS = "/pusher/organizations/self/subscriptions"
ENVELOPE_KEYS = ["organizationUuid", "messageUuid", "eventName", "messageId", "payload", "timestamp"]
# The vendor's retry schedule, from the evidence (not from the sandbox).
VENDOR_RETRIES = [60.0] * 10 + [600.0] * 9 + [3600.0] * 70


class Receiver:
    """Records every POST (path, headers, raw body, arrival time); answers ``statuses`` in turn, then 200."""

    def __init__(self) -> None:
        self.got: list[dict] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()

    def handler(self) -> type[QuietHandler]:
        receiver = self

        class Hook(QuietHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.got.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                         "at": time.monotonic()})
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
        return Hook

    def envelopes(self, path: str | None = None) -> list[dict]:
        return [json.loads(r["body"]) for r in self.got if path is None or r["path"] == path]


@pytest.fixture
def zettle():
    running = start_in_thread("zettle", credentials=CREDS, knobs=Knobs(seed=7), demo=False)
    token = requests.post(f"{running.url}/oauth/token", timeout=10, data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "client_id": CREDS["client_id"],
        "assertion": CREDS["api_key"]}).json()["access_token"]
    running.auth = {"Authorization": f"Bearer {token}"}
    yield running
    running.stop()


@pytest.fixture
def receiver():
    rec = Receiver()
    with serving(rec.handler()) as url:
        rec.url = url
        yield rec


def call(z, method: str, path: str, **kw) -> requests.Response:
    for _ in range(20):  # inventory allows 4 requests/s: wait as Retry-After says
        resp = requests.request(method, f"{z.url}{path}", headers={**z.auth, **kw.pop("headers", {})},
                                timeout=10, **kw)
        if resp.status_code != 429:
            return resp
        time.sleep(float(resp.headers.get("Retry-After", "1")))
    raise AssertionError("still rate limited")


def subscribe(z, destination: str, events: list[str]) -> dict:
    assert requests.post(f"{z.url}/__sandbox__/zettle/allow-http", json={"allow": True}, timeout=10).ok
    body = {"uuid": str(uuid.uuid1()), "transportName": "WEBHOOK", "eventNames": events,
            "destination": destination, "contactEmail": "kassa@example.se"}
    resp = call(z, "POST", SUBS, json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()


def settle(z, rec: Receiver, expected: int | None = None, timeout: float = 10.0) -> None:
    assert z.sandbox.outbox.idle(timeout)
    if expected is not None:
        deadline = time.monotonic() + timeout
        while len(rec.got) < expected and time.monotonic() < deadline:
            time.sleep(0.01)


def expected_signature(signing_key: str, envelope: dict) -> str:
    """[doc: create-subscriptions.md §Step 4, Python 3]: hex HMAC-SHA256 of '<timestamp>.<payload>'."""
    message = f"{envelope['timestamp']}.{envelope['payload']}"
    return hmac.new(signing_key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def new_product(name: str = "Mössa Röd", n_variants: int = 1) -> dict:
    return {"uuid": str(uuid.uuid1()), "name": name, "vatPercentage": "25",
            "variants": [{"uuid": str(uuid.uuid1()), "name": f"V{i}", "sku": f"SKU-{i}",
                          "price": {"amount": 19900, "currencyId": "SEK"}, "vatPercentage": "25"}
                         for i in range(n_variants)]}


def inventory_of(z, kind: str) -> str:
    return next(i["inventoryUuid"] for i in call(z, "GET", f"{INV}/inventories").json()
                if i["inventoryType"] == kind and (kind != "STORE" or i["defaultInventory"]))


# --- envelope and signature ------------------------------------------------------------------------
def test_product_created_is_delivered_in_the_vendor_envelope_and_signature_verifies(zettle, receiver):
    sub = subscribe(zettle, f"{receiver.url}/hook", ["ProductCreated"])
    product = new_product()
    assert call(zettle, "POST", PRODUCTS, json=product).status_code in (200, 201)
    settle(zettle, receiver, 1)
    assert len(receiver.got) == 1
    raw = receiver.got[0]
    assert raw["headers"]["Content-Type"] == "application/json"
    env = json.loads(raw["body"])
    assert list(env) == ENVELOPE_KEYS and env["eventName"] == "ProductCreated"
    assert isinstance(env["payload"], str)  # a JSON string in every vendor example
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", env["timestamp"])
    assert uuid.UUID(env["messageId"]).version == 5 and uuid.UUID(env["messageUuid"]).version == 1
    assert env["messageUuid"][-17:] == env["messageId"][-17:]  # clock-seq/node shared [derived §5.3]
    # the signature, computed here from the signingKey, over the decoded timestamp and payload strings
    assert raw["headers"]["X-iZettle-Signature"] == expected_signature(sub["signingKey"], env)
    # signing the wrong bytes (the raw body) would not verify
    assert raw["headers"]["X-iZettle-Signature"] != hmac.new(
        sub["signingKey"].encode(), raw["body"], hashlib.sha256).hexdigest()
    payload = json.loads(env["payload"])
    assert payload["uuid"] == product["uuid"] and payload["name"] == "Mössa Röd"
    assert [v["uuid"] for v in payload["variants"]] == [v["uuid"] for v in product["variants"]]
    assert payload["variants"][0]["price"] == {"amount": 19900, "currencyId": "SEK"}
    assert payload["organizationUuid"] == env["organizationUuid"]
    assert re.fullmatch(r"[0-9A-F]{32}", payload["etag"])


def test_update_and_delete_carry_new_old_and_last_state_per_subscription(zettle, receiver):
    only_updates = subscribe(zettle, f"{receiver.url}/updates", ["ProductUpdated"])
    everything = subscribe(zettle, f"{receiver.url}/all", [])  # [] = all events [doc: §Parameters]
    assert only_updates["signingKey"] != everything["signingKey"]
    product = new_product("Halsduk")
    call(zettle, "POST", PRODUCTS, json=product)
    before = call(zettle, "GET", f"{PRODUCTS}/{product['uuid']}").json()
    # a conditional update with a stale etag is refused: nothing was stored, so nothing is sent
    assert call(zettle, "PUT", f"{PRODUCTS}/v2/{product['uuid']}", json={"name": "X"},
                headers={"If-Match": '"00000000000000000000000000000000"'}).status_code == 412
    resp = call(zettle, "PUT", f"{PRODUCTS}/v2/{product['uuid']}", json={"name": "Halsduk Blå"},
                headers={"If-Match": f'"{before["etag"]}"'})
    assert resp.status_code == 200
    assert call(zettle, "DELETE", f"{PRODUCTS}/{product['uuid']}").status_code == 204
    settle(zettle, receiver, 4)
    assert [e["eventName"] for e in receiver.envelopes("/updates")] == ["ProductUpdated"]
    assert [e["eventName"] for e in receiver.envelopes("/all")] == ["ProductCreated", "ProductUpdated",
                                                                     "ProductDeleted"]
    for raw in receiver.got:
        key = (only_updates if raw["path"] == "/updates" else everything)["signingKey"]
        assert raw["headers"]["X-iZettle-Signature"] == expected_signature(key, json.loads(raw["body"]))
    updated = json.loads(receiver.envelopes("/updates")[0]["payload"])
    assert set(updated) == {"organizationUuid", "newEntity", "oldEntity"}
    assert updated["oldEntity"]["name"] == "Halsduk" and updated["newEntity"]["name"] == "Halsduk Blå"
    assert updated["oldEntity"]["etag"] == before["etag"] != updated["newEntity"]["etag"]
    assert updated["newEntity"]["etag"] == resp.json()["etag"]
    deleted = json.loads(receiver.envelopes("/all")[2]["payload"])
    assert deleted["uuid"] == product["uuid"] and deleted["name"] == "Halsduk Blå"


def test_https_is_required_unless_the_test_switch_allows_http(zettle, receiver):
    body = {"uuid": str(uuid.uuid1()), "transportName": "WEBHOOK", "eventNames": [],
            "destination": f"{receiver.url}/hook", "contactEmail": "kassa@example.se"}
    assert call(zettle, "POST", SUBS, json=body).status_code == 422  # vendor rule by default
    requests.post(f"{zettle.url}/__sandbox__/zettle/allow-http", json={"allow": True}, timeout=10)
    assert call(zettle, "POST", SUBS, json=body).status_code == 200
    requests.post(f"{zettle.url}/__sandbox__/reset?demo=false", timeout=10)  # a reset restores the rule
    assert call(zettle, "POST", SUBS, json={**body, "uuid": str(uuid.uuid1())}).status_code == 422


# --- inventory ------------------------------------------------------------------------------------
def test_tracking_and_movements_raise_balance_events_consistent_with_the_movement(zettle, receiver):
    sub = subscribe(zettle, f"{receiver.url}/hook", ["InventoryBalanceChanged", "InventoryTrackingStarted",
                                                     "InventoryTrackingStopped"])
    product = new_product("Kaffe", 2)
    p, (v0, v1) = product["uuid"], [v["uuid"] for v in product["variants"]]
    call(zettle, "POST", PRODUCTS, json=product)
    assert call(zettle, "POST", f"{INV}/products", json={"productUuids": [p]}).status_code == 204
    store, supplier, bin_ = inventory_of(zettle, "STORE"), inventory_of(zettle, "SUPPLIER"), inventory_of(zettle, "BIN")
    external = str(uuid.uuid1())
    moves = [{"productUuid": p, "variantUuid": v0, "change": 10, "from": supplier, "to": store},
             {"productUuid": p, "variantUuid": v1, "change": 4, "from": supplier, "to": store},
             {"productUuid": p, "variantUuid": v0, "change": 3, "from": store, "to": bin_}]
    assert call(zettle, "POST", f"{INV}/movements", json={"movements": moves, "externalUuid": external}).status_code == 204
    second = [{"productUuid": p, "variantUuid": v0, "change": 2, "from": store, "to": bin_}]
    assert call(zettle, "POST", f"{INV}/movements", json={"movements": second}).status_code == 204
    assert call(zettle, "POST", f"{INV}/products/status", json={"productUuids": [p]}).status_code == 204
    settle(zettle, receiver, 4)
    envs = receiver.envelopes()
    assert [e["eventName"] for e in envs] == ["InventoryTrackingStarted", "InventoryBalanceChanged",
                                              "InventoryBalanceChanged", "InventoryTrackingStopped"]
    for raw in receiver.got:
        assert raw["headers"]["X-iZettle-Signature"] == expected_signature(sub["signingKey"], json.loads(raw["body"]))
    started, stopped = json.loads(envs[0]["payload"]), json.loads(envs[3]["payload"])
    assert started["productUuid"] == p and set(started["created"]) == {"uuid", "timestamp", "userType", "clientUuid"}
    assert stopped["productUuid"] == p and "changeInformation" in stopped and "created" not in stopped

    def store_net(movements, variant):
        return (sum(m["change"] for m in movements if m["variantUuid"] == variant and m["to"] == store)
                - sum(m["change"] for m in movements if m["variantUuid"] == variant and m["from"] == store))

    first = json.loads(envs[1]["payload"])
    assert first["externalUuid"] == external
    before = {b["variantUuid"]: b for b in first["balanceBefore"]}
    after = {a["variantUuid"]: a for a in first["balanceAfter"]}
    assert [b["variantUuid"] for b in first["balanceBefore"]] == [a["variantUuid"] for a in first["balanceAfter"]]
    assert set(after) == {v0, v1}
    for v in (v0, v1):
        assert before[v]["balance"] == "0"  # balances are strings [doc: event-payloads]
        assert int(after[v]["balance"]) - int(before[v]["balance"]) == store_net(moves, v)
        assert after[v]["locationUuid"] == before[v]["locationUuid"] == store and after[v]["productUuid"] == p
        assert "created" in after[v] and "created" not in before[v]
    assert (after[v0]["balance"], after[v1]["balance"]) == ("7", "4")
    nxt = json.loads(envs[2]["payload"])
    assert nxt["externalUuid"] is None
    assert [(b["variantUuid"], b["balance"]) for b in nxt["balanceBefore"]] == [(v0, "7")]
    assert [(a["variantUuid"], a["balance"]) for a in nxt["balanceAfter"]] == [(v0, str(7 - 2))]


def test_till_sale_raises_purchase_created_and_a_store_balance_change(zettle, receiver):
    subscribe(zettle, f"{receiver.url}/hook", ["PurchaseCreated", "InventoryBalanceChanged"])
    product = new_product("Mössa Ull")
    p, v = product["uuid"], product["variants"][0]["uuid"]
    call(zettle, "POST", PRODUCTS, json=product)
    call(zettle, "POST", f"{INV}/products", json={"productUuids": [p]})
    store, supplier = inventory_of(zettle, "STORE"), inventory_of(zettle, "SUPPLIER")
    call(zettle, "POST", f"{INV}/movements", json={"movements": [
        {"productUuid": p, "variantUuid": v, "change": 5, "from": supplier, "to": store}]})
    settle(zettle, receiver, 1)
    receiver.got.clear()
    sale = requests.post(f"{zettle.url}/__sandbox__/zettle/sale", timeout=10,
                         json={"lines": [{"productUuid": p, "variantUuid": v, "quantity": 2}]})
    assert sale.status_code == 201
    settle(zettle, receiver, 2)
    by_event = {e["eventName"]: json.loads(e["payload"]) for e in receiver.envelopes()}
    assert set(by_event) == {"PurchaseCreated", "InventoryBalanceChanged"}
    purchase = by_event["PurchaseCreated"]
    assert purchase["purchaseUuid"] == sale.json()["purchaseUUID1"]
    assert isinstance(purchase["timestamp"], int) and purchase["amount"] == 2 * 19900
    assert [(line["variantUuid"], line["quantity"]) for line in purchase["products"]] == [(v, "2")]
    balance = by_event["InventoryBalanceChanged"]
    assert [(b["locationUuid"], b["balance"]) for b in balance["balanceBefore"]] == [(store, "5")]
    assert [(a["locationUuid"], a["balance"]) for a in balance["balanceAfter"]] == [(store, "3")]


# --- delivery knobs and retries --------------------------------------------------------------------
def _knobs(z, **values) -> None:
    assert requests.post(f"{z.url}/__sandbox__/knobs", json=values, timeout=10).ok


def test_drop_rate_one_delivers_nothing(zettle, receiver):
    subscribe(zettle, f"{receiver.url}/hook", [])
    _knobs(zettle, webhook_drop_rate=1.0)
    for _ in range(3):
        call(zettle, "POST", PRODUCTS, json=new_product())
    settle(zettle, receiver)
    time.sleep(0.2)
    assert receiver.got == []
    assert requests.get(f"{zettle.url}/__sandbox__/webhooks", timeout=10).json()["stats"]["dropped"] == 3


def test_duplicate_rate_one_delivers_each_event_twice(zettle, receiver):
    sub = subscribe(zettle, f"{receiver.url}/hook", ["ProductCreated"])
    _knobs(zettle, webhook_duplicate_rate=1.0)
    products = [new_product(f"P{i}") for i in range(2)]
    for product in products:
        call(zettle, "POST", PRODUCTS, json=product)
    settle(zettle, receiver, 4)
    envs = receiver.envelopes()
    assert len(envs) == 4
    assert [json.loads(e["payload"])["uuid"] for e in envs] == [p["uuid"] for p in products for _ in range(2)]
    assert envs[0]["messageId"] == envs[1]["messageId"] != envs[2]["messageId"] == envs[3]["messageId"]
    for raw in receiver.got:
        assert raw["headers"]["X-iZettle-Signature"] == expected_signature(sub["signingKey"], json.loads(raw["body"]))


def test_reorder_three_delivers_newest_first(zettle, receiver):
    subscribe(zettle, f"{receiver.url}/hook", ["ProductUpdated"])
    product = new_product("R0")
    call(zettle, "POST", PRODUCTS, json=product)
    _knobs(zettle, webhook_reorder=3)
    for i in (1, 2, 3):
        assert call(zettle, "PUT", f"{PRODUCTS}/v2/{product['uuid']}", json={"name": f"R{i}"}).status_code == 200
    settle(zettle, receiver, 3)
    names = [json.loads(e["payload"])["newEntity"]["name"] for e in receiver.envelopes()]
    assert names == ["R3", "R2", "R1"]


def test_a_destination_answering_500_is_retried_per_the_retry_delays(zettle, receiver):
    sub = subscribe(zettle, f"{receiver.url}/hook", ["ProductCreated"])
    delays = requests.post(f"{zettle.url}/__sandbox__/zettle/webhook-retries", json={"delays_s": [0.2, 0.3, 0.2]},
                           timeout=10).json()["delays_s"]
    assert delays == [0.2, 0.3, 0.2]
    receiver.statuses = [500, 500]  # two failures, then 200
    call(zettle, "POST", PRODUCTS, json=new_product())
    settle(zettle, receiver, 3)
    assert len(receiver.got) == 3
    assert len({r["body"] for r in receiver.got}) == 1  # the same message, the same signature
    assert receiver.got[0]["headers"]["X-iZettle-Signature"] == expected_signature(
        sub["signingKey"], json.loads(receiver.got[0]["body"]))
    gaps = [b["at"] - a["at"] for a, b in zip(receiver.got, receiver.got[1:])]
    assert gaps[0] >= 0.2 - 0.02 and gaps[1] >= 0.3 - 0.02
    log = requests.get(f"{zettle.url}/__sandbox__/webhooks", timeout=10).json()
    assert [row["status"] for row in log["log"]] == [500, 500, 200] and log["stats"]["delivered"] == 1


def test_the_default_schedule_is_the_vendors_and_a_dead_destination_gets_all_of_it(zettle, receiver):
    restored = requests.post(f"{zettle.url}/__sandbox__/zettle/webhook-retries", json={}, timeout=10).json()
    assert restored["delays_s"] == VENDOR_RETRIES
    scaled = requests.post(f"{zettle.url}/__sandbox__/zettle/webhook-retries", json={"scale": 1e-5},
                           timeout=10).json()["delays_s"]
    assert scaled == pytest.approx([d * 1e-5 for d in VENDOR_RETRIES])
    subscribe(zettle, f"{receiver.url}/hook", ["ProductCreated"])
    receiver.statuses = [500] * 1000
    call(zettle, "POST", PRODUCTS, json=new_product())
    settle(zettle, receiver, 1 + len(VENDOR_RETRIES), timeout=30)
    assert len(receiver.got) == 1 + 10 + 9 + 70
    stats = requests.get(f"{zettle.url}/__sandbox__/webhooks", timeout=10).json()["stats"]
    assert stats["gave_up"] == 1 and stats["failed_attempts"] == 90
