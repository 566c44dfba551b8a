"""Realtime Zettle → BigCommerce: a product change in Zettle reaches the store through the vendor's
signed webhook, the receiver and the flow's webhook sensor — and a webhook that is lost, doubled or
late changes nothing but when the change lands (the run reads Zettle, never the delivery)."""

from __future__ import annotations


import pytest
import requests
from dagster import DagsterInstance, RunRequest, SkipReason, build_sensor_context

from integrations_dagster.build import build_definitions
from integrations_dagster.launch import WarmRunner
from integrations_dagster.receiver import build_app, subscribe, unsubscribe, webhook_secret_key
from integrations_dagster.sandbox.base import Knobs
from integrations_dagster.sandbox.runner import serve_in_thread, start_in_thread

from conftest import BIGCOMMERCE_CREDENTIALS, ZETTLE_CREDENTIALS
from flowkit import run
from zettlekit import BigCommerce, Zettle, integrations_file

EVENTS = ["ProductCreated", "ProductUpdated", "ProductDeleted"]


@pytest.fixture
def realtime(tmp_path, store, monkeypatch):
    """Both sandboxes, the receiver, and Zettle subscribed to it; yields a namespace of handles."""
    zettle = start_in_thread("zettle", credentials=ZETTLE_CREDENTIALS, knobs=Knobs(seed=5), demo=False)
    bigcommerce = start_in_thread("bigcommerce", credentials=BIGCOMMERCE_CREDENTIALS, knobs=Knobs(seed=6), demo=False)
    file = integrations_file(tmp_path, zettle.url, bigcommerce.url)
    server, thread, port = serve_in_thread(build_app(file, store), name="receiver")
    zt = Zettle(zettle.url)
    monkeypatch.setenv("ZETTLE_WEBHOOK_SECRET", zt.subscribe(f"http://127.0.0.1:{port}/hooks/pos/till", EVENTS))

    class Handles:
        defs = build_definitions(file)
        instance = DagsterInstance.ephemeral()
        cursor: str | None = None

        def __init__(self) -> None:
            self.zettle, self.bigcommerce, self.zt, self.bc = zettle, bigcommerce, zt, BigCommerce(bigcommerce.url)
            self.store = store

        def tick(self):
            sensor = self.defs.get_sensor_def("pos_products_webhook")
            with build_sensor_context(instance=self.instance, cursor=self.cursor, definitions=self.defs) as ctx:
                result = sensor(ctx)
                self.cursor = ctx.cursor
            return result

        def delivered(self) -> None:
            self.zettle.sandbox.outbox.flush()
            assert self.zettle.sandbox.outbox.idle(10)

        def knobs(self, **values) -> None:
            self.zettle.sandbox.knobs.update(values)

    handles = Handles()
    yield handles
    server.should_exit = True
    thread.join(timeout=10)
    zettle.stop()
    bigcommerce.stop()


def shop_price(h, sku: str) -> float | None:
    found = h.bc.by_sku(sku)
    return h.bc.product(found[0]["product_id"])["price"] if found else None


def test_a_zettle_change_reaches_the_store_through_its_webhook(realtime):
    h = realtime
    assert isinstance(h.tick(), SkipReason)
    mug = h.zt.create("Mugg Sten", [{"sku": "MUG-STONE", "amount": 24900}])
    h.delivered()
    request = h.tick()
    assert isinstance(request, RunRequest), request
    assert run(h.defs, "pos_products", h.instance).success
    assert shop_price(h, "MUG-STONE") == 249.0
    h.zt.update(mug, {"variants": [{"uuid": h.zt.get(mug)["variants"][0]["uuid"],
                                    "price": {"amount": 27900, "currencyId": "SEK"}}]})
    h.delivered()
    assert isinstance(h.tick(), RunRequest)
    assert run(h.defs, "pos_products", h.instance).success
    assert shop_price(h, "MUG-STONE") == 279.0
    assert isinstance(h.tick(), SkipReason), "no new webhook: no new run"


def test_duplicated_and_reordered_webhooks_make_one_run_and_no_duplicate(realtime):
    h = realtime
    h.knobs(webhook_duplicate_rate=1.0, webhook_reorder=3)
    h.zt.create("Mugg Sten", [{"sku": "MUG-STONE", "amount": 24900}])
    h.zt.create("Kaffe", [{"sku": "COF-1", "amount": 8900}], vat="12")
    h.delivered()
    assert h.store.webhook_events_after("pos", "till", "products", 0)[1] == 4  # two events, each twice
    assert isinstance(h.tick(), RunRequest)
    assert run(h.defs, "pos_products", h.instance).success
    assert isinstance(h.tick(), SkipReason), "every hint was taken by the one run"
    assert sorted(p["sku"] for p in h.bc.products()) == ["COF-1", "MUG-STONE"]


def test_a_lost_webhook_is_caught_by_the_schedules_poll(realtime):
    h = realtime
    h.knobs(webhook_drop_rate=1.0)
    h.zt.create("Mugg Sten", [{"sku": "MUG-STONE", "amount": 24900}])
    h.delivered()
    assert isinstance(h.tick(), SkipReason), "the webhook was lost: no hint"
    assert run(h.defs, "pos_products", h.instance).success  # what the schedule runs
    assert shop_price(h, "MUG-STONE") == 249.0


def test_subscribe_keeps_the_signing_key_the_receiver_then_verifies_with(tmp_path, store, monkeypatch):
    """``integrations-dagster subscribe``: the Pusher subscription is made through Zettle's API and its
    signingKey kept in the state store (never in the YAML or the environment); the receiver verifies
    with it, and refuses what another key signed."""
    monkeypatch.delenv("ZETTLE_WEBHOOK_SECRET", raising=False)
    zettle = start_in_thread("zettle", credentials=ZETTLE_CREDENTIALS, knobs=Knobs(seed=7), demo=False)
    bigcommerce = start_in_thread("bigcommerce", credentials=BIGCOMMERCE_CREDENTIALS, demo=False)
    file = integrations_file(tmp_path, zettle.url, bigcommerce.url)
    server, thread, port = serve_in_thread(build_app(file, store), name="receiver")
    try:
        requests.post(f"{zettle.url}/__sandbox__/zettle/allow-http", json={"allow": True}, timeout=10).raise_for_status()
        receiver_url = f"http://127.0.0.1:{port}"
        assert subscribe(file, store, "pos", receiver_url) == [
            f"pos.till: products → {receiver_url}/hooks/pos/till"]
        assert subscribe(file, store, "pos", receiver_url), "again: the old subscription is replaced"
        zt = Zettle(zettle.url)
        listed = requests.get(f"{zettle.url}/pusher/organizations/self/subscriptions", headers=zt.headers, timeout=10).json()
        assert [s["destination"] for s in listed] == [f"{receiver_url}/hooks/pos/till"]
        key = store.token(webhook_secret_key("pos", "till"))["secret"]
        assert key == listed[0]["signingKey"]
        zt.create("Mugg Sten", [{"sku": "MUG-STONE", "amount": 24900}])
        assert zettle.sandbox.outbox.idle(10)
        assert store.webhook_events_after("pos", "till", "products", 0)[1] == 1
        forged = requests.post(f"{receiver_url}/hooks/pos/till", timeout=10, headers={"X-iZettle-Signature": "0" * 64},
                               json={"eventName": "ProductUpdated", "timestamp": "t", "payload": "{}"})
        assert forged.status_code == 401
        assert store.webhook_events_after("pos", "till", "products", 0)[1] == 1
        # Disconnecting removes the subscription, wherever the receiver was reached from.
        assert unsubscribe(file, "pos") == ["pos.till: 1 webhook subscriptions removed"]
        assert requests.get(f"{zettle.url}/pusher/organizations/self/subscriptions", headers=zt.headers,
                            timeout=10).json() == []
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        zettle.stop()
        bigcommerce.stop()


def test_the_receiver_runs_a_hinted_flow_warm_and_the_sensor_asks_for_nothing_more(tmp_path, store, monkeypatch):
    """``receiver --runs here``: the delivery's flow runs at once in the receiver's process, recorded
    in the Dagster instance with the hint it took; no sensor tick is needed and the sensor then
    finds the hint taken. A flow of a pair is left to Dagster's queue (no run here)."""
    zettle = start_in_thread("zettle", credentials=ZETTLE_CREDENTIALS, knobs=Knobs(seed=12), demo=False)
    bigcommerce = start_in_thread("bigcommerce", credentials=BIGCOMMERCE_CREDENTIALS, demo=False)
    file = integrations_file(tmp_path, zettle.url, bigcommerce.url)
    instance = DagsterInstance.ephemeral()
    runner = WarmRunner(file, instance=instance)
    server, thread, port = serve_in_thread(build_app(file, store, runner), name="receiver")
    try:
        zt, bc = Zettle(zettle.url), BigCommerce(bigcommerce.url)
        monkeypatch.setenv("ZETTLE_WEBHOOK_SECRET", zt.subscribe(f"http://127.0.0.1:{port}/hooks/pos/till", EVENTS))
        zt.create("Mugg Sten", [{"sku": "MUG-STONE", "amount": 24900}])
        assert zettle.sandbox.outbox.idle(10) and runner.idle(60)
        assert shop_price(type("H", (), {"bc": bc})(), "MUG-STONE") == 249.0
        runs = instance.get_runs()
        assert [(r.job_name, r.tags.get("integrations/trigger")) for r in runs] == [("pos_products", "webhook")]
        assert runner.runs == 1
        sensor = build_definitions(file).get_sensor_def("pos_products_webhook")
        with build_sensor_context(instance=instance, definitions=build_definitions(file)) as ctx:
            assert isinstance(sensor(ctx), SkipReason)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        zettle.stop()
        bigcommerce.stop()
