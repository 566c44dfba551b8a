"""BigCommerce webhook callbacks over real HTTP: a local receiver records what the sandbox POSTs.

Every callback body is checked against its scope's schema in webhooks.v3.yml, and every signature is
verified here with a hand-computed Standard Webhooks HMAC (the key derived the way BigCommerce's
sample feeds the Standard Webhooks library: ``base64(client_secret)``, which the library decodes).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
import requests
from hookkit import receiving

import bigcommerce_spec as spec
from integrations_dagster.sandbox.runner import start_in_thread

STORE_HASH = "bchook1"
TOKEN = "bc_test_5ecr3t_t0ken_do_not_leak_0010"
CLIENT_SECRET = "bc_test_5ecr3t_client_do_not_leak_0011"
HEADERS = {"X-Auth-Token": TOKEN, "Accept": "application/json", "Content-Type": "application/json"}
ZERO_KNOBS = {"webhook_drop_rate": 0.0, "webhook_duplicate_rate": 0.0, "webhook_delay_ms": 0.0, "webhook_reorder": 0}
BASE_FIELDS = {"scope", "store_id", "data", "hash", "created_at", "producer"}

pytestmark = pytest.mark.skipif(not spec.available(), reason="../shared/api-specs/bigcommerce is not available")


@pytest.fixture(scope="module")
def bc():
    running = start_in_thread("bigcommerce", credentials={"store_hash": STORE_HASH, "access_token": TOKEN,
                                                          "client_secret": CLIENT_SECRET}, demo=True)
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def fresh(bc):
    requests.post(bc.url + "/__sandbox__/knobs", json=ZERO_KNOBS).raise_for_status()
    requests.post(bc.url + "/__sandbox__/reset?demo=true").raise_for_status()


@pytest.fixture
def receiver():
    with receiving("/bc-hooks") as rec:
        yield rec


def call(bc, method: str, path: str, *, json=None, params=None, validate: bool = True) -> requests.Response:
    resp = requests.request(method, f"{bc.url}/stores/{STORE_HASH}{path}", json=json, params=params,
                            headers=HEADERS, timeout=10)
    if validate:
        spec.check_response(method, path, resp.status_code, resp.json() if resp.content else None)
    return resp


def hook(bc, scope: str, destination: str, **extra) -> dict:
    body = {"scope": scope, "destination": destination, **extra}
    spec.check_request("POST", "/v3/hooks", body)
    resp = call(bc, "POST", "/v3/hooks", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]


def settle(bc) -> None:
    assert bc.sandbox.outbox.idle(10)


def check_callback(body: dict) -> None:
    """The light payload of its scope [spec: webhooks.v3.yml#components/schemas/<scope with _>]."""
    assert set(body) == BASE_FIELDS
    assert body["producer"] == f"stores/{STORE_HASH}" and body["store_id"].isdigit()
    assert isinstance(body["created_at"], int) and len(body["hash"]) == 40
    doc = spec._doc("webhooks.v3.yml")
    name = body["scope"].replace("/", "_")
    spec._validate(doc, doc["components"]["schemas"][name], body, f"callback {body['scope']}")


def verify(headers: dict, body: bytes, secret: str = CLIENT_SECRET) -> None:
    """Standard Webhooks verification, computed here: BigCommerce's sample passes base64(secret) to the
    library, which base64-decodes it into the HMAC key."""
    key = base64.b64decode(base64.b64encode(secret.encode()).decode())
    msg_id, stamp = headers["webhook-id"], headers["webhook-timestamp"]
    assert abs(time.time() - int(stamp)) < 300
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()).decode()
    versions = [part.split(",", 1) for part in headers["webhook-signature"].split(" ")]
    assert ["v1", expected] in [list(v) for v in versions], headers["webhook-signature"]


def product_body(name: str, sku: str, **extra) -> dict:
    return {"name": name, "type": "physical", "sku": sku, "price": 100.0, "weight": 1, **extra}


def test_product_created_updated_deleted_are_signed_light_payloads(bc, receiver):
    hook(bc, "store/product/*", receiver.url, headers={"X-Custom-Auth": "Basic c2FuZGJveDpzYW5kYm94"})
    created = call(bc, "POST", "/v3/catalog/products", json=product_body("Hook mug", "HOOK-1")).json()["data"]
    call(bc, "PUT", f"/v3/catalog/products/{created['id']}", json={"price": 120.0})
    call(bc, "PUT", f"/v3/catalog/products/{created['id']}", json={"mpn": "X-1"})  # MPN does not fire [spec]
    call(bc, "DELETE", f"/v3/catalog/products/{created['id']}")
    settle(bc)
    bodies = receiver.bodies()
    assert [(b["scope"], b["data"]) for b in bodies] == [
        ("store/product/created", {"type": "product", "id": created["id"]}),
        ("store/product/updated", {"type": "product", "id": created["id"]}),
        ("store/product/deleted", {"type": "product", "id": created["id"]}),
    ]
    for headers, raw in receiver.got:
        check_callback(json.loads(raw))
        verify(headers, raw)
        assert headers["x-custom-auth"] == "Basic c2FuZGJveDpzYW5kYm94"
        assert headers["content-type"] == "application/json"
    assert len({h["webhook-id"] for h, _ in receiver.got}) == 3
    with pytest.raises(AssertionError):
        verify(*receiver.got[0], secret=TOKEN)  # the client secret signs, not the access token


def test_inventory_adjustments_name_product_and_variant(bc, receiver):
    hook(bc, "store/product/inventory/updated", receiver.url)
    hook(bc, "store/sku/inventory/updated", receiver.url)
    mug = call(bc, "GET", "/v3/catalog/products", params={"sku": "MUGG-STEN-01"}).json()["data"][0]
    tee_m = call(bc, "GET", "/v3/catalog/variants", params={"sku": "TEE-M"}).json()["data"][0]
    absolute = {"reason": "count", "items": [{"location_id": 1, "product_id": mug["id"], "quantity": mug["inventory_level"] + 5}]}
    assert call(bc, "PUT", "/v3/inventory/adjustments/absolute", json=absolute).status_code == 200
    relative = {"reason": "sale", "items": [{"location_id": 1, "variant_id": tee_m["id"], "quantity": -2}]}
    assert call(bc, "POST", "/v3/inventory/adjustments/relative", json=relative).status_code == 200
    settle(bc)
    bodies = receiver.bodies()
    for body in bodies:
        check_callback(body)
    assert [(b["scope"], b["data"]) for b in bodies] == [
        ("store/product/inventory/updated", {"type": "product", "id": mug["id"],
                                             "inventory": {"product_id": mug["id"], "method": "absolute", "value": 5}}),
        ("store/sku/inventory/updated", {"type": "sku", "id": tee_m["sku_id"],
                                         "inventory": {"product_id": tee_m["product_id"], "method": "absolute",
                                                       "value": -2, "variant_id": tee_m["id"]}}),
    ]


def test_checkout_sends_order_created_then_stock_moves(bc, receiver):
    hook(bc, "store/order/created", receiver.url)
    hook(bc, "store/product/inventory/updated", receiver.url)
    placed = requests.post(bc.url + "/__sandbox__/bigcommerce/order", json={"lines": [{"sku": "MUGG-STEN-01", "quantity": 3}]})
    assert placed.status_code == 200
    settle(bc)
    bodies = receiver.bodies()
    for body in bodies:
        check_callback(body)
    assert bodies[0]["scope"] == "store/order/created" and bodies[0]["data"] == {"type": "order", "id": placed.json()["id"]}
    assert bodies[1]["scope"] == "store/product/inventory/updated"
    assert bodies[1]["data"]["inventory"]["method"] == "relative" and bodies[1]["data"]["inventory"]["value"] == -3


def test_inactive_hooks_and_refused_writes_send_nothing(bc, receiver):
    hook(bc, "store/product/created", receiver.url, is_active=False)
    active = hook(bc, "store/product/updated", receiver.url)
    call(bc, "POST", "/v3/catalog/products", json=product_body("Quiet", "QUIET-1"))
    dup = call(bc, "POST", "/v3/catalog/products", json=product_body("Quiet", "QUIET-2"))
    assert dup.status_code == 409  # rolled back: no event
    call(bc, "PUT", f"/v3/hooks/{active['id']}", json={"is_active": False})
    mug = call(bc, "GET", "/v3/catalog/products", params={"sku": "MUGG-STEN-01"}).json()["data"][0]
    call(bc, "PUT", f"/v3/catalog/products/{mug['id']}", json={"price": 1.0})
    settle(bc)
    assert receiver.got == []


def test_knobs_drop_duplicate_and_reorder(bc, receiver):
    hook(bc, "store/product/created", receiver.url)
    requests.post(bc.url + "/__sandbox__/knobs", json={"webhook_drop_rate": 1.0}).raise_for_status()
    call(bc, "POST", "/v3/catalog/products", json=product_body("Dropped", "DROP-1"))
    settle(bc)
    assert receiver.got == []

    requests.post(bc.url + "/__sandbox__/knobs", json={"webhook_drop_rate": 0.0, "webhook_duplicate_rate": 1.0}).raise_for_status()
    twice = call(bc, "POST", "/v3/catalog/products", json=product_body("Twice", "TWICE-1")).json()["data"]
    settle(bc)
    assert [b["data"]["id"] for b in receiver.bodies()] == [twice["id"], twice["id"]]
    (h1, b1), (h2, b2) = receiver.got
    assert h1["webhook-id"] == h2["webhook-id"] and b1 == b2  # a duplicate repeats id and hash
    receiver.got.clear()

    requests.post(bc.url + "/__sandbox__/knobs", json={"webhook_duplicate_rate": 0.0, "webhook_reorder": 3}).raise_for_status()
    ids = [call(bc, "POST", "/v3/catalog/products", json=product_body(f"Late {i}", f"LATE-{i}")).json()["data"]["id"]
           for i in range(3)]
    settle(bc)
    assert [b["data"]["id"] for b in receiver.bodies()] == list(reversed(ids))
    for headers, raw in receiver.got:
        verify(headers, raw)


def test_failing_destination_is_retried_then_hook_deactivated(bc, receiver):
    receiver.statuses = [500, 503]
    created_hook = hook(bc, "store/product/created", receiver.url)
    product = call(bc, "POST", "/v3/catalog/products", json=product_body("Retry", "RETRY-1")).json()["data"]
    settle(bc)
    assert len(receiver.got) == 3  # two failures, then 200
    assert len({h["webhook-id"] for h, _ in receiver.got}) == 1 and len({b for _, b in receiver.got}) == 1
    assert json.loads(receiver.got[-1][1])["data"]["id"] == product["id"]
    assert call(bc, "GET", f"/v3/hooks/{created_hook['id']}").json()["data"]["is_active"] is True

    receiver.got.clear()
    receiver.statuses = [500] * 12  # the first attempt and all 11 retries fail
    call(bc, "POST", "/v3/catalog/products", json=product_body("Retry 2", "RETRY-2"))
    settle(bc)
    assert len(receiver.got) == 12
    assert call(bc, "GET", f"/v3/hooks/{created_hook['id']}").json()["data"]["is_active"] is False
    stats = requests.get(bc.url + "/__sandbox__/webhooks").json()["stats"]
    assert stats["gave_up"] == 1 and stats["delivered"] == 1
    receiver.got.clear()
    call(bc, "POST", "/v3/catalog/products", json=product_body("Retry 3", "RETRY-3"))
    settle(bc)
    assert receiver.got == []  # deactivated: nothing more
    call(bc, "PUT", f"/v3/hooks/{created_hook['id']}", json={"is_active": True})  # re-enable [doc]
    call(bc, "POST", "/v3/catalog/products", json=product_body("Retry 4", "RETRY-4"))
    settle(bc)
    assert len(receiver.got) == 1
