"""The webhook receiver over real HTTP: a delivery is verified by its connection's connector, stored
as a hint before the 2xx, refused with 401 (nothing stored) when its signature is wrong; the flow's
webhook sensor turns the stored hints into one run and asks for none again.

Signatures here are made the way the vendor's documentation says it makes them (computed in the
test with ``hmac``), not with the connectors' code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import textwrap

import pytest
import requests
from dagster import DagsterInstance, RunRequest, SkipReason, build_sensor_context

from integrations_dagster import config
from integrations_dagster.build import build_definitions
from integrations_dagster.connectors.bigcommerce.client import BigCommerceResource
from integrations_dagster.connectors.signatures import WebhookRefused
from integrations_dagster.launch import HINT_TAG, TRIGGER_TAG
from integrations_dagster.receiver import build_app, subscribe, unsubscribe, webhook_secret_key
from integrations_dagster.sandbox.runner import serve_in_thread, start_in_thread

from conftest import BIGCOMMERCE_CREDENTIALS, WOO_CREDENTIALS, QuietHandler, serving

SECRET = "wh_test_5ecr3t_do_not_leak_0010"
YAML = """
integrations:
  - name: demo
    start_date: 2026-11-01
    connections:
      shop:
        system: woocommerce
        base_url: "http://127.0.0.1:1"
        credentials: {consumer_key: {env: WOO_CONSUMER_KEY}, consumer_secret: {env: WOO_CONSUMER_SECRET},
                      webhook_secret: {env: WOO_WEBHOOK_SECRET}}
        options: {currency: SEK, prices_include_tax: true, tax_rates: {"": 25}}
      erp:
        system: fortnox
        base_url: "http://127.0.0.1:2"
        credentials: {access_token: {env: FORTNOX_ACCESS_TOKEN}}
    flows:
      products: {entity: products, source: shop, target: erp, triggers: {webhook: true}}
"""


@pytest.fixture
def receiver(tmp_path, store, monkeypatch):
    monkeypatch.setenv("WOO_WEBHOOK_SECRET", SECRET)
    path = tmp_path / "integrations.yaml"
    path.write_text(textwrap.dedent(YAML))
    file = config.load(path)
    server, thread, port = serve_in_thread(build_app(file, store), name="receiver")
    yield f"http://127.0.0.1:{port}", build_definitions(file), store
    server.should_exit = True
    thread.join(timeout=10)


def woo_delivery(body: dict, topic: str = "product.updated", secret: str = SECRET) -> tuple[bytes, dict]:
    """As WooCommerce sends it: base64 HMAC-SHA256 of the body [doc: woocommerce/webhooks.md]."""
    raw = json.dumps(body).encode()
    signature = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    return raw, {"X-WC-Webhook-Topic": topic, "X-WC-Webhook-Signature": signature,
                 "Content-Type": "application/json"}


def tick(defs, cursor=None):
    sensor = defs.get_sensor_def("demo_products_webhook")
    with build_sensor_context(instance=DagsterInstance.ephemeral(), cursor=cursor, definitions=defs) as ctx:
        return sensor(ctx), ctx.cursor


def test_a_signed_delivery_is_stored_and_becomes_one_run(receiver):
    url, defs, store = receiver
    result, cursor = tick(defs)
    assert isinstance(result, SkipReason)
    for _ in range(3):  # the same change announced three times (a retried delivery)
        body, headers = woo_delivery({"id": 42, "sku": "TS-RED-M"})
        answer = requests.post(f"{url}/hooks/demo/shop", data=body, headers=headers, timeout=10)
        assert answer.status_code == 200 and answer.json()["stored"] == 1
    result, cursor = tick(defs, cursor)
    assert isinstance(result, RunRequest) and result.tags["integrations/webhook_hints"] == "3"
    again, _ = tick(defs, cursor)
    assert isinstance(again, SkipReason), "the hints were taken by the run requested"
    assert [row["topic"] for row in requests.get(f"{url}/hooks", timeout=10).json()] == ["product.updated"] * 3


def test_hints_a_receiver_launched_run_took_start_no_second_run(receiver):
    """The receiver asks Dagster for the run itself (launch.py) and tags it with the newest hint; the
    sensor behind it then takes those hints as handled instead of requesting another run."""
    url, defs, store = receiver
    body, headers = woo_delivery({"id": 42})
    newest = requests.post(f"{url}/hooks/demo/shop", data=body, headers=headers, timeout=10).json()["id"]
    instance = DagsterInstance.ephemeral()
    sensor = defs.get_sensor_def("demo_products_webhook")
    job = defs.resolve_job_def("demo_products")
    instance.create_run_for_job(job, tags={TRIGGER_TAG: "webhook", HINT_TAG: str(newest)})  # (as it is queued)
    with build_sensor_context(instance=instance, definitions=defs) as ctx:
        result = sensor(ctx)
        assert isinstance(result, SkipReason) and ctx.cursor == str(newest)
    requests.post(f"{url}/hooks/demo/shop", data=body, headers=headers, timeout=10)  # a newer hint
    with build_sensor_context(instance=instance, cursor=str(newest), definitions=defs) as ctx:
        waiting = sensor(ctx)  # the queued run has not read yet, but may have: one more after it
        assert isinstance(waiting, SkipReason) and "wait" in waiting.skip_message and ctx.cursor == str(newest)


def test_a_bad_signature_is_refused_and_nothing_is_stored(receiver):
    url, defs, store = receiver
    body, headers = woo_delivery({"id": 42}, secret="not-the-secret")
    answer = requests.post(f"{url}/hooks/demo/shop", data=body, headers=headers, timeout=10)
    assert answer.status_code == 401
    assert SECRET not in answer.text
    tampered, headers = woo_delivery({"id": 42})
    answer = requests.post(f"{url}/hooks/demo/shop", data=tampered.replace(b"42", b"43"), headers=headers, timeout=10)
    assert answer.status_code == 401
    assert store.webhook_events_after("demo", "shop", "products", 0) == (0, 0)
    assert isinstance(tick(defs)[0], SkipReason)


def test_pings_other_topics_and_unknown_connections(receiver):
    url, defs, store = receiver
    ping = requests.post(f"{url}/hooks/demo/shop", data=b"webhook_id=7",
                         headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    assert (ping.status_code, ping.json()["stored"]) == (200, 0)
    body, headers = woo_delivery({"id": 1}, topic="coupon.created")  # no flow reads coupons
    assert requests.post(f"{url}/hooks/demo/shop", data=body, headers=headers, timeout=10).json()["stored"] == 0
    assert requests.post(f"{url}/hooks/demo/nowhere", data=body, headers=headers, timeout=10).status_code == 404
    assert store.webhook_events_after("demo", "shop", "products", 0) == (0, 0)


# -- what the vendors' sandboxes send verifies with the connectors' checks ----------------------

class Recorder(QuietHandler):
    got: list[tuple[dict, bytes]] = []

    def do_POST(self):  # noqa: N802
        Recorder.got.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_bigcommerce_callbacks_verify_and_a_forged_one_does_not(monkeypatch):
    """The sandbox signs per Standard Webhooks with the app's client secret; the connector subscribes
    (``POST /v3/hooks``) and verifies with the same secret, and refuses a callback signed otherwise."""
    client_secret = "bc_test_5ecr3t_client_do_not_leak_0011"
    bc = start_in_thread("bigcommerce", credentials={**BIGCOMMERCE_CREDENTIALS, "client_secret": client_secret},
                         demo=False)
    Recorder.got = []
    try:
        with serving(Recorder) as url:
            connector = BigCommerceResource(base_url=bc.url, store_hash=BIGCOMMERCE_CREDENTIALS["store_hash"],
                                            access_token=BIGCOMMERCE_CREDENTIALS["access_token"],
                                            webhook_secret=client_secret)
            assert connector.subscribe_webhooks(f"{url}/hooks/pos/webshop", {"products", "stock"}) is None
            connector.http.request("POST", "/v3/catalog/products", json={
                "name": "Mugg", "type": "physical", "sku": "MUG-1", "price": 10, "weight": 1})
            assert bc.sandbox.outbox.idle(10) and Recorder.got
            headers, body = Recorder.got[0]
            hint = connector.webhook_hint(headers, body)
            assert hint is not None and hint.topic == "store/product/created" and hint.entities == {"products"}
            other = connector.model_copy(update={"webhook_secret": "another secret"})
            with pytest.raises(WebhookRefused):
                other.webhook_hint(headers, body)
            with pytest.raises(WebhookRefused):
                connector.webhook_hint(headers, body.replace(b"created", b"deleted"))
            scopes = len(connector.http.get("/v3/hooks")["data"])
            assert scopes >= 2  # a scope each (products, stock)
            assert connector.unsubscribe_webhooks("/hooks/pos/webshop") == scopes  # disconnect
            assert connector.http.get("/v3/hooks")["data"] == []
    finally:
        bc.stop()


def test_woocommerce_subscribe_then_its_deliveries_become_hints(tmp_path, store, monkeypatch):
    """``subscribe`` creates the shop's webhooks through its REST API with a secret it keeps in the
    state store; a price edit in the shop then arrives signed with it and is stored as a hint."""
    woo = start_in_thread("woocommerce", credentials=WOO_CREDENTIALS, demo=True)
    monkeypatch.delenv("WOO_WEBHOOK_SECRET", raising=False)
    path = tmp_path / "integrations.yaml"
    path.write_text(textwrap.dedent(YAML).replace("http://127.0.0.1:1", woo.url))
    file = config.load(path)
    server, thread, port = serve_in_thread(build_app(file, store), name="receiver")
    try:
        receiver_url = f"http://127.0.0.1:{port}"
        assert subscribe(file, store, "demo", receiver_url) == [f"demo.shop: products → {receiver_url}/hooks/demo/shop"]
        secret = store.token(webhook_secret_key("demo", "shop"))["secret"]
        auth = (WOO_CREDENTIALS["consumer_key"], WOO_CREDENTIALS["consumer_secret"])
        hooks = requests.get(f"{woo.url}/wp-json/wc/v3/webhooks", auth=auth, timeout=10).json()
        assert sorted(h["topic"] for h in hooks) == ["product.created", "product.deleted", "product.updated"]
        assert all("secret" not in h for h in hooks) and secret
        product = requests.get(f"{woo.url}/wp-json/wc/v3/products", auth=auth, timeout=10).json()[0]
        requests.put(f"{woo.url}/wp-json/wc/v3/products/{product['id']}", auth=auth, timeout=10,
                     json={"regular_price": "123.00"}).raise_for_status()
        assert woo.sandbox.outbox.idle(10)
        assert store.webhook_events_after("demo", "shop", "products", 0)[1] >= 1
        assert unsubscribe(file, "demo") == ["demo.shop: 3 webhook subscriptions removed"]  # disconnect
        assert requests.get(f"{woo.url}/wp-json/wc/v3/webhooks", auth=auth, timeout=10).json() == []
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        woo.stop()
