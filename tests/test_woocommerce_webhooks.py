"""WooCommerce webhooks in the sandbox, over real HTTP: managed over ``/webhooks`` and delivered,
signed (base64 HMAC-SHA256 of the raw body), to a local receiver; the delivery knobs (drop,
duplicate, reorder) and the disabling after consecutive failures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading

import pytest
import requests

from conftest import QuietHandler, WOO_KEY, WOO_SECRET, serving

AUTH = (WOO_KEY, WOO_SECRET)
API = "/wp-json/wc/v3"
SECRET = "s3cret-for-signing"


def api(running, method: str, path: str, **kw) -> requests.Response:
    kw.setdefault("auth", AUTH)
    return requests.request(method, f"{running.url}{API}{path}", timeout=10, **kw)


class Receiver:
    """Records each POST (headers, raw body); answers ``status``."""

    def __init__(self) -> None:
        self.got: list[tuple[dict, bytes]] = []
        self.status = 200
        self.lock = threading.Lock()

    def handler(self):
        receiver = self

        class Hook(QuietHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.got.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Hook

    def deliveries(self) -> list[tuple[dict, bytes]]:
        """The JSON deliveries (the creation ping is form-encoded and left out)."""
        with self.lock:
            return [(h, b) for h, b in self.got if h.get("Content-Type") == "application/json"]

    def pings(self) -> list[bytes]:
        with self.lock:
            return [b for h, b in self.got if h.get("Content-Type") != "application/json"]


@pytest.fixture
def receiver():
    r = Receiver()
    with serving(r.handler()) as url:
        r.url = f"{url}/hook"
        yield r


def hook(running, receiver, topic="product.updated", **extra) -> dict:
    resp = api(running, "POST", "/webhooks", json={"name": "Sync", "topic": topic, "delivery_url": receiver.url,
                                                   "secret": SECRET, **extra})
    assert resp.status_code == 201, resp.text
    settle(running)
    return resp.json()


def settle(running) -> None:
    assert running.sandbox.outbox.idle(10)


def knobs(running, **values) -> None:
    assert requests.post(f"{running.url}/__sandbox__/knobs", json=values, timeout=10).status_code == 200


def signed(headers: dict, body: bytes, secret: str = SECRET) -> bool:
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, headers["X-WC-Webhook-Signature"])


def test_product_update_is_delivered_signed_with_the_rest_body(woo_empty, receiver):
    product = api(woo_empty, "POST", "/products", json={"name": "Mugg", "regular_price": "99"}).json()
    created = hook(woo_empty, receiver)
    assert created["status"] == "active" and created["resource"] == "product" and created["event"] == "updated"
    assert "woocommerce_update_product_variation" in created["hooks"]
    assert "secret" not in created  # write-only
    assert receiver.pings() == [f"webhook_id={created['id']}".encode()]

    assert api(woo_empty, "PUT", f"/products/{product['id']}", json={"regular_price": "129.00"}).status_code == 200
    settle(woo_empty)
    [(headers, body)] = receiver.deliveries()
    assert signed(headers, body)
    assert not signed(headers, body, "wrong secret")
    assert headers["X-WC-Webhook-Topic"] == "product.updated"
    assert headers["X-WC-Webhook-Resource"] == "product" and headers["X-WC-Webhook-Event"] == "updated"
    assert headers["X-WC-Webhook-ID"] == str(created["id"])
    assert headers["X-WC-Webhook-Delivery-ID"]
    assert headers["X-WC-Webhook-Source"].endswith("/")
    assert json.loads(body) == api(woo_empty, "GET", f"/products/{product['id']}").json()
    assert json.loads(body)["regular_price"] == "129.00"
    assert b"\\/" in body  # PHP's wp_json_encode escapes slashes: verify the raw bytes, not re-encoded JSON


def test_variation_update_fires_product_updated_of_the_variation_and_its_parent(woo_sandbox, receiver):
    products = api(woo_sandbox, "GET", "/products", params={"per_page": 100}).json()
    parent = next(p for p in products if p["name"] == "T-shirt Basic")
    vid = parent["variations"][0]
    hook(woo_sandbox, receiver)
    resp = api(woo_sandbox, "PUT", f"/products/{parent['id']}/variations/{vid}", json={"regular_price": "219.00"})
    assert resp.status_code == 200
    settle(woo_sandbox)
    got = [(h["X-WC-Webhook-Topic"], json.loads(b)) for h, b in receiver.deliveries()]
    assert [(t, p["id"]) for t, p in got] == [("product.updated", vid), ("product.updated", parent["id"])]
    assert got[0][1]["type"] == "variation" and got[0][1]["regular_price"] == "219.00"
    assert got[1][1] == api(woo_sandbox, "GET", f"/products/{parent['id']}").json()


def test_only_matching_active_webhooks_are_delivered_to(woo_empty, receiver):
    created = hook(woo_empty, receiver, topic="product.created")
    paused = hook(woo_empty, receiver, topic="product.created")
    assert api(woo_empty, "PUT", f"/webhooks/{paused['id']}", json={"status": "paused"}).json()["status"] == "paused"
    product = api(woo_empty, "POST", "/products", json={"name": "Ny"}).json()
    api(woo_empty, "PUT", f"/products/{product['id']}", json={"name": "Ny 2"})  # product.updated: no subscriber
    settle(woo_empty)
    [(headers, body)] = receiver.deliveries()
    assert headers["X-WC-Webhook-ID"] == str(created["id"]) and json.loads(body)["id"] == product["id"]


def test_orders_customers_and_trashed_products(woo_sandbox, receiver):
    for topic in ("order.created", "customer.created", "product.deleted"):
        hook(woo_sandbox, receiver, topic=topic)
    mug = next(p for p in api(woo_sandbox, "GET", "/products", params={"per_page": 100}).json() if p["name"] == "Mugg Fika")
    order = api(woo_sandbox, "POST", "/orders", json={"line_items": [{"product_id": mug["id"], "quantity": 1}]}).json()
    customer = api(woo_sandbox, "POST", "/customers", json={"email": "hook@example.com"}).json()
    api(woo_sandbox, "DELETE", f"/products/{mug['id']}")  # trashed
    settle(woo_sandbox)
    got = {h["X-WC-Webhook-Topic"]: json.loads(b) for h, b in receiver.deliveries()}
    assert got["order.created"] == api(woo_sandbox, "GET", f"/orders/{order['id']}").json()
    assert got["customer.created"]["email"] == "hook@example.com" and got["customer.created"]["id"] == customer["id"]
    assert got["product.deleted"] == {"id": mug["id"]}


def test_drop_knob_loses_every_delivery(woo_empty, receiver):
    product = api(woo_empty, "POST", "/products", json={"name": "A"}).json()
    hook(woo_empty, receiver)
    knobs(woo_empty, webhook_drop_rate=1.0)
    api(woo_empty, "PUT", f"/products/{product['id']}", json={"regular_price": "1.00"})
    settle(woo_empty)
    assert receiver.deliveries() == []
    assert woo_empty.sandbox.outbox.stats["dropped"] == 1


def test_duplicate_knob_sends_twice(woo_empty, receiver):
    product = api(woo_empty, "POST", "/products", json={"name": "A"}).json()
    hook(woo_empty, receiver)
    knobs(woo_empty, webhook_duplicate_rate=1.0)
    api(woo_empty, "PUT", f"/products/{product['id']}", json={"regular_price": "1.00"})
    settle(woo_empty)
    first, second = receiver.deliveries()
    assert first[1] == second[1]
    assert first[0]["X-WC-Webhook-Delivery-ID"] == second[0]["X-WC-Webhook-Delivery-ID"]


def test_reorder_knob_sends_newest_first(woo_empty, receiver):
    product = api(woo_empty, "POST", "/products", json={"name": "A"}).json()
    hook(woo_empty, receiver)
    knobs(woo_empty, webhook_reorder=3)
    for price in ("1.00", "2.00", "3.00"):
        api(woo_empty, "PUT", f"/products/{product['id']}", json={"regular_price": price})
    settle(woo_empty)
    assert [json.loads(b)["regular_price"] for _, b in receiver.deliveries()] == ["3.00", "2.00", "1.00"]


def test_consecutive_failures_disable_the_webhook(woo_empty, receiver):
    """WooCommerce's ``failed_delivery`` disables when the failure count already exceeds 5: on the 7th
    consecutive failure (the doc's "after 5" is looser); a success resets the count."""
    product = api(woo_empty, "POST", "/products", json={"name": "A"}).json()
    created = hook(woo_empty, receiver)
    receiver.status = 500

    def update(n: int) -> None:
        for _ in range(n):
            api(woo_empty, "PUT", f"/products/{product['id']}", json={"name": "A"})
            settle(woo_empty)

    def status() -> str:
        return api(woo_empty, "GET", f"/webhooks/{created['id']}").json()["status"]

    update(5)
    receiver.status = 200
    update(1)  # resets the count
    receiver.status = 500
    update(6)
    assert status() == "active"
    update(1)
    assert status() == "disabled"
    assert [w["id"] for w in api(woo_empty, "GET", "/webhooks", params={"status": "disabled"}).json()] == [created["id"]]
    sent = len(receiver.deliveries())
    assert sent == 13
    update(1)
    assert len(receiver.deliveries()) == sent  # a disabled webhook is not delivered to
    assert api(woo_empty, "PUT", f"/webhooks/{created['id']}", json={"status": "active"}).json()["status"] == "active"
    receiver.status = 200
    update(1)
    assert len(receiver.deliveries()) == sent + 1


def test_webhook_rest_errors_and_listing(woo_empty, receiver):
    missing = api(woo_empty, "POST", "/webhooks", json={"name": "x"})
    assert missing.status_code == 400 and missing.json()["code"] == "rest_missing_callback_param"
    assert missing.json()["message"] == "Missing parameter(s): topic, delivery_url"
    bad_topic = api(woo_empty, "POST", "/webhooks", json={"topic": "product.exploded", "delivery_url": receiver.url})
    assert bad_topic.json()["code"] == "woocommerce_rest_shop_webhook_invalid_topic"
    bad_url = api(woo_empty, "POST", "/webhooks", json={"topic": "order.updated", "delivery_url": "ftp://x"})
    assert bad_url.json()["code"] == "woocommerce_rest_shop_webhook_invalid_delivery_url"
    bad_status = api(woo_empty, "POST", "/webhooks", json={"topic": "order.updated", "delivery_url": receiver.url,
                                                            "status": "sleeping"})
    assert bad_status.status_code == 400 and bad_status.json()["code"] == "rest_invalid_param"

    first = hook(woo_empty, receiver, topic="order.updated")
    second = api(woo_empty, "POST", "/webhooks", json={"topic": "customer.created", "delivery_url": receiver.url})
    assert second.json()["name"].startswith("Webhook created on ")
    listed = api(woo_empty, "GET", "/webhooks")
    assert listed.headers["X-WP-Total"] == "2"
    assert {w["id"] for w in listed.json()} == {first["id"], second.json()["id"]}
    assert set(first) >= {"id", "name", "status", "topic", "resource", "event", "hooks", "delivery_url",
                          "date_created", "date_created_gmt", "date_modified", "date_modified_gmt", "_links"}

    trash = api(woo_empty, "DELETE", f"/webhooks/{first['id']}")
    assert trash.status_code == 501 and trash.json()["code"] == "woocommerce_rest_trash_not_supported"
    gone = api(woo_empty, "DELETE", f"/webhooks/{first['id']}", params={"force": "true"})
    assert gone.status_code == 200 and gone.json()["id"] == first["id"]
    assert api(woo_empty, "GET", f"/webhooks/{first['id']}").json()["code"] == "woocommerce_rest_shop_webhook_invalid_id"
    assert api(woo_empty, "DELETE", f"/webhooks/{first['id']}", params={"force": "true"}).status_code == 404

    batch = api(woo_empty, "POST", "/webhooks/batch", json={
        "create": [{"topic": "coupon.created", "delivery_url": receiver.url}, {"topic": "nope"}],
        "delete": [second.json()["id"]]})
    assert batch.status_code == 200
    assert batch.json()["create"][0]["topic"] == "coupon.created"
    assert batch.json()["create"][1]["error"]["code"] == "rest_missing_callback_param"
    assert batch.json()["delete"][0]["id"] == second.json()["id"]
