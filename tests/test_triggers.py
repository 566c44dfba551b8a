"""Definitions from the YAML: job names, schedules, sensors (running by default), the failure alert."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dagster import DagsterInstance, DefaultSensorStatus, RunRequest, SkipReason, build_sensor_context

from flowkit import definitions, run, woo_get, woo_put, sensor_ticks
from integrations_dagster.config import Alerts, EnvRef
from integrations_dagster.flows.alerts import send_alerts


def test_demo_definitions_have_every_trigger(tmp_path, woo_sandbox, fortnox_empty, state_url):
    defs = definitions(tmp_path, woo_sandbox.url, fortnox_empty.url)
    for flow in ("products", "orders", "stock"):
        assert defs.get_job_def(f"demo_{flow}").tags["integrations/target"].startswith("demo.")
        assert defs.get_job_def(f"demo_{flow}_backfill").partitions_def is not None
        assert defs.get_sensor_def(f"demo_{flow}_sensor").default_status == DefaultSensorStatus.RUNNING
        assert defs.get_schedule_def(f"demo_{flow}_reconcile")
    assert defs.get_sensor_def("integrations_failure_alert").default_status == DefaultSensorStatus.RUNNING
    # Dagster's run monitoring (dagster.yaml) fails a run older than its flow's max_runtime_hours
    assert defs.get_job_def("demo_stock").tags["dagster/max_runtime"] == str(12 * 3600)
    monitoring = yaml.safe_load((Path(__file__).parents[1] / "dagster.yaml").read_text())["run_monitoring"]
    assert monitoring["enabled"] and monitoring["start_timeout_seconds"] > 0
    assert defs.get_job_def("demo_check_connections")


def test_change_sensor_requests_one_run_per_new_watermark(tmp_path, woo_sandbox, fortnox_empty, state_url):
    defs = definitions(tmp_path, woo_sandbox.url, fortnox_empty.url)
    sensor = defs.get_sensor_def("demo_products_sensor")
    instance = DagsterInstance.ephemeral()
    resources = {"demo__shop": defs.resources["demo__shop"]}
    with build_sensor_context(instance=instance, resources=resources, definitions=defs) as ctx:
        first = sensor(ctx)
        assert isinstance(first, RunRequest)
        cursor = ctx.cursor
    with build_sensor_context(instance=instance, resources=resources, cursor=cursor, definitions=defs) as ctx:
        assert isinstance(sensor(ctx), SkipReason)
    product = woo_get(woo_sandbox.url, "/products")[0]
    woo_put(woo_sandbox.url, f"/products/{product['id']}", {"name": product["name"] + " (new)"})
    with build_sensor_context(instance=instance, resources=resources, cursor=cursor, definitions=defs) as ctx:
        again = sensor(ctx)
        assert isinstance(again, RunRequest) and again.run_key != first.run_key


def test_slack_alert_is_posted(monkeypatch, webhook_receiver):
    url, got = webhook_receiver
    monkeypatch.setenv("TEST_SLACK_URL", url)
    assert send_alerts(Alerts(slack_webhook=EnvRef(env="TEST_SLACK_URL")), "run failed") == ["slack"]
    assert got == [{"text": "run failed"}]


def test_a_run_that_gives_up_fails_loudly_and_keeps_the_cursor(tmp_path, woo_sandbox, fortnox_empty, store):
    import requests

    defs = definitions(tmp_path, woo_sandbox.url, fortnox_empty.url, max_attempts=2, op_retries=1)
    requests.post(f"{fortnox_empty.url}/__sandbox__/knobs", json={"fault_rate": 1.0}, timeout=5)
    result = run(defs, "demo_products", raise_on_error=False)
    assert not result.success
    assert store.get_cursor("demo.products") is None
    assert store.snapshot_frame("demo.products").empty


def test_a_flow_after_another_waits_for_its_first_sync(tmp_path, woo_sandbox, fortnox_empty, store):
    """Orders after products: until the products flow has synced once, the orders sensor and
    schedules start nothing (the lines would not find their articles and be booked without)."""
    from integrations_dagster import config
    from integrations_dagster.build import build_definitions
    from flowkit import definitions as flow_definitions

    flow_definitions(tmp_path, woo_sandbox.url, fortnox_empty.url)
    path = tmp_path / "integrations.yaml"
    path.write_text(path.read_text().replace("mode: create\n", "mode: create\n        after: [products]\n", 1))
    defs = build_definitions(config.load(path))
    sensor = defs.get_sensor_def("demo_orders_sensor")
    instance = DagsterInstance.ephemeral()
    resources = {"demo__shop": defs.resources["demo__shop"]}
    with build_sensor_context(instance=instance, resources=resources, definitions=defs) as ctx:
        waiting = sensor(ctx)
    assert isinstance(waiting, SkipReason) and "waiting for the first sync of flow demo.products" in waiting.skip_message
    from dagster import build_schedule_context

    reconcile = defs.get_schedule_def("demo_orders_reconcile")
    with build_schedule_context(instance=instance) as ctx:
        assert isinstance(reconcile.evaluate_tick(ctx).skip_message, str)
    store.set_cursor("demo.products", "2026-11-30T00:00:00+00:00")
    with build_schedule_context(instance=instance) as ctx:
        assert reconcile.evaluate_tick(ctx).run_requests
    with build_sensor_context(instance=instance, resources=resources, definitions=defs) as ctx:
        assert isinstance(sensor(ctx), RunRequest)
    bad = path.read_text().replace("after: [products]", "after: [nothing]")
    path.write_text(bad)
    with pytest.raises(config.ConfigError, match=r"flows.orders.after: no other flow named 'nothing'"):
        config.load(path)


def test_run_monitoring_fails_a_run_left_started_past_its_max_runtime(tmp_path, woo_sandbox, fortnox_empty,
                                                                      state_url):
    """A run whose worker died (SIGKILL, host crash) stays STARTED; Dagster's run monitoring, as the
    repository's dagster.yaml configures it, must fail it once it is older than the job's
    ``dagster/max_runtime`` tag — then the failure alert fires and the target's queue moves again.
    Here the daemon's own check runs once on such a run (the daemon loop itself is Dagster's)."""
    import logging
    import shutil
    import time

    from dagster import DagsterRunStatus
    from dagster._core.events import DagsterEvent, DagsterEventType
    from dagster._daemon.monitoring.run_monitoring import check_run_timeout

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(Path(__file__).parents[1] / "dagster.yaml", home / "dagster.yaml")
    instance = DagsterInstance.from_config(str(home))
    assert instance.run_monitoring_enabled
    defs = definitions(tmp_path, woo_sandbox.url, fortnox_empty.url)
    job = defs.get_job_def("demo_stock")
    # The tag the engine gives the flow's max_runtime_hours (default 12 h), whatever its name, made 1 s.
    tags = {k: "1" if v == str(12 * 3600) else v for k, v in job.tags.items()}
    assert tags != job.tags
    dead = instance.create_run_for_job(job, tags=tags)
    # What a worker writes when it starts (then it is SIGKILLed and writes nothing more).
    instance.report_dagster_event(DagsterEvent(DagsterEventType.RUN_START.value, job_name=job.name), run_id=dead.run_id)
    fresh = instance.create_run_for_job(job, tags={**job.tags})  # 12 h allowed: must be left alone
    instance.report_dagster_event(DagsterEvent(DagsterEventType.RUN_START.value, job_name=job.name), run_id=fresh.run_id)
    time.sleep(1.5)
    for run_id in (dead.run_id, fresh.run_id):
        record = instance.get_run_record_by_id(run_id)
        assert record.dagster_run.status == DagsterRunStatus.STARTED
        check_run_timeout(instance, record, logging.getLogger("test"), instance.run_monitoring_max_runtime_seconds)
    assert instance.get_run_by_id(dead.run_id).status == DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(fresh.run_id).status == DagsterRunStatus.STARTED
    instance.dispose()


def test_sensor_retries_a_failed_run_with_backoff_and_the_change_lands(tmp_path, woo_sandbox, fortnox_empty, store):
    """After a Fortnox outage fails a run, the change it carried does not wait for the next
    schedule: the sensor requests a retry once interval × 2^(failed runs in a row − 1) has passed
    since the failure (here 2 s, then 4 s), one per failed run, and the retry lands the change."""
    import time
    from decimal import ROUND_HALF_UP, Decimal

    import requests

    from integrations_dagster import config
    from integrations_dagster.build import build_definitions
    from flowkit import definitions as flow_definitions, fx

    flow_definitions(tmp_path, woo_sandbox.url, fortnox_empty.url, max_attempts=1, op_retries=0)
    path = tmp_path / "integrations.yaml"
    path.write_text(path.read_text().replace("op_retry_delay_s: 0.1", "op_retry_delay_s: 0.1, "
                                             "triggers: {sensor_interval_s: 2}", 1))
    defs = build_definitions(config.load(path))
    job = defs.get_job_def("demo_products")
    instance = DagsterInstance.ephemeral()
    tick = sensor_ticks(defs, "products", instance)

    first, cursor = tick(None)
    assert isinstance(first, RunRequest)
    assert job.execute_in_process(instance=instance, tags=first.tags).success
    simple = next(p for p in woo_get(woo_sandbox.url, "/products")
                  if p["type"] == "simple" and p["sku"] and p["tax_class"] == "" and p["status"] == "publish")
    woo_put(woo_sandbox.url, f"/products/{simple['id']}", {"regular_price": "1000.01"})
    knobs = f"{fortnox_empty.url}/__sandbox__/knobs"
    requests.post(knobs, json={"fault_rate": 1.0}, timeout=5)  # Fortnox answers 503 to everything

    change, cursor = tick(cursor)
    assert isinstance(change, RunRequest) and change.tags["integrations/trigger"] == "sensor"
    failed = job.execute_in_process(instance=instance, tags=change.tags, raise_on_error=False)
    assert not failed.success
    waiting, cursor = tick(cursor)
    assert isinstance(waiting, SkipReason) and f"run {failed.run_id} failed" in waiting.skip_message
    time.sleep(2.2)  # the sensor interval: the backoff after one failed run
    retry, cursor = tick(cursor)
    assert isinstance(retry, RunRequest)
    assert retry.run_key == f"retry:{failed.run_id}" and retry.tags["integrations/trigger"] == "retry"

    # Fortnox still down: the retry fails too, and the next one waits twice as long (4 s).
    again = job.execute_in_process(instance=instance, tags=retry.tags, raise_on_error=False)
    assert not again.success
    time.sleep(2.2)
    waiting, cursor = tick(cursor)
    assert isinstance(waiting, SkipReason) and "2 failed in a row" in waiting.skip_message
    time.sleep(2.2)
    retry, cursor = tick(cursor)
    assert isinstance(retry, RunRequest) and retry.run_key == f"retry:{again.run_id}"

    requests.post(knobs, json={"fault_rate": 0.0}, timeout=5)  # Fortnox is back
    assert job.execute_in_process(instance=instance, tags=retry.tags).success
    price = Decimal(str(fx(fortnox_empty.url, "GET", f"/prices/A/{simple['sku']}")["Price"]["Price"]))
    assert price == (Decimal("1000.01") / Decimal("1.25")).quantize(Decimal("0.01"), ROUND_HALF_UP)  # 800.01
    done, cursor = tick(cursor)
    assert isinstance(done, SkipReason) and "no products changed" in done.skip_message


def test_a_cancelled_run_or_another_jobs_failure_asks_no_retry(tmp_path, woo_sandbox, fortnox_empty, state_url):
    """Only this job's latest finished run counts (not its backfill job's), and a run cancelled
    after a failure was stopped on purpose: the sensor goes back to asking for changes."""
    from dagster import DagsterRunStatus

    defs = definitions(tmp_path, woo_sandbox.url, fortnox_empty.url)
    sensor = defs.get_sensor_def("demo_products_sensor")
    instance = DagsterInstance.ephemeral()
    resources = {"demo__shop": defs.resources["demo__shop"]}
    job = defs.get_job_def("demo_products")
    instance.report_run_failed(instance.create_run_for_job(job))
    instance.create_run_for_job(job, status=DagsterRunStatus.CANCELED)
    instance.report_run_failed(instance.create_run_for_job(defs.get_job_def("demo_products_backfill")))
    with build_sensor_context(instance=instance, resources=resources, definitions=defs) as ctx:
        request = sensor(ctx)
    assert isinstance(request, RunRequest) and request.tags["integrations/trigger"] == "sensor"
