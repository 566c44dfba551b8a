"""Freshness: ``dagster dev`` (webserver + daemon) runs the stock flow (Fortnox → WooCommerce) from
its change sensor; stock changes in the Fortnox sandbox at random moments; the time until the
WooCommerce sandbox shows each one is measured, and split with Dagster's own run records and event
log into sensor wait (change → run created), queue (created → dequeued), worker start (dequeued →
the run process's RUN_START: process start, imports, code load) and run (RUN_START → success).

The goal is a ratio to a floor measured in the same run, not an absolute figure (the machine's
speed cancels out): ``ratio_to_floor`` = p95 ÷ (sensor interval + p95 of an empty run's latency).
With no webhook in the stock flow, a change waits for the sensor's next tick, then for a run; the
floor is the least any sensor-triggered run through this ``dagster dev`` could take:

* the sensor interval is the spacing of the stock sensor's ticks as Dagster recorded them during the
  measurement (the median gap). It is not the configured ``minimum_interval_seconds``: Dagster's
  sensor daemon evaluates sensors at most every ``MIN_INTERVAL_LOOP_TIME`` (5 s in
  dagster/_daemon/sensor.py), so a 3 s minimum ticks every 5 s;
* an empty run is a run of the code location's lightest job (``<integration>_check_connections``:
  one op, one test call per connection, no flow work), submitted through the webserver's GraphQL
  API ([doc] https://docs.dagster.io/api/graphql/dagster-graphql, submit_job_execution) to the same
  instance: the same queued run coordinator, daemon and run launcher, the same code location loaded
  by its worker - the path of a sensor's run from its creation on. Its latency is created →
  RUN_SUCCESS from its run record. ``EMPTY_RUNS`` of them, one at a time while nothing else runs,
  before the stock changes, each after a random pause so that its phase against the daemon's
  dequeue loop is as random as a change's. No job is added to the product's definitions for this.

The floor takes a whole interval (a change just after a tick waits for all of it), so a p95 below
the floor is possible; a ratio well above 1 is time the stock flow spends beyond an empty run.

Settings: sensor ``minimum_interval_seconds`` ``--freshness-sensor-s``, ``dequeue_interval_seconds``
from dagster.yaml, flows on the in-process executor (one process per run: Dagster's default run
launcher).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench.common import WOO_KEY, WOO_SECRET, Flows, env, fortnox, start_sandbox, write_yaml

REPO = Path(__file__).resolve().parents[2]
STOCK_JOB = "bench_stock"
STOCK_SENSOR = f"{STOCK_JOB}_sensor"
EMPTY_JOB = "bench_check_connections"  # the lightest job of the location (build.py: connection_check_job)
LOCATION = "integrations_dagster"  # workspace.yaml
EMPTY_RUNS = 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _woo_stock(url: str) -> dict[str, int]:
    resp = requests.get(f"{url}/wp-json/wc/v3/products", params={"per_page": 100}, auth=(WOO_KEY, WOO_SECRET),
                        timeout=30)
    resp.raise_for_status()
    return {p["sku"]: p.get("stock_quantity") for p in resp.json()}


def _wait_idle(instance, settle_s: float, timeout_s: float) -> None:
    from dagster import RunsFilter

    from integrations_dagster.flows.triggers import ACTIVE

    deadline = time.monotonic() + timeout_s
    idle_since = None
    while time.monotonic() < deadline:
        busy = instance.get_runs_count(RunsFilter(statuses=ACTIVE))
        done = instance.get_runs_count(RunsFilter(job_name=STOCK_JOB))
        if busy == 0 and done > 0:
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= settle_s:
                return
        else:
            idle_since = None
        time.sleep(0.5)
    raise TimeoutError("Dagster did not finish its first stock run")


def run(args) -> dict:
    n_changes, products = args.freshness_changes, 40
    woo = start_sandbox("woocommerce", latency_ms=args.latency_ms, products=products, variations=0)
    fx = start_sandbox("fortnox", latency_ms=args.latency_ms)
    tmp = Path(tempfile.mkdtemp(prefix="bench-freshness-"))
    home = tmp / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    dagster = None
    try:
        # the articles exist in Fortnox and are bound to the shop's products before Dagster starts
        Flows(tmp, woo.url, fx.url).run("bench_products")
        config = write_yaml(tmp / "freshness.yaml", woo.url, fx.url, sensor=True,
                            sensor_interval_s=args.freshness_sensor_s, schedule="2h")
        env()
        os.environ["DAGSTER_HOME"] = str(home)
        environ = {**os.environ, "INTEGRATIONS_CONFIG": str(config),
                   "INTEGRATIONS_STATE_URL": f"sqlite:///{tmp / 'state.db'}"}
        log = open(tmp / "dagster.log", "w")
        port = _free_port()
        dagster = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster"), "dev", "-w", str(REPO / "workspace.yaml"),
             "-h", "127.0.0.1", "-p", str(port)],
            cwd=REPO, env=environ, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        from dagster import DagsterInstance, RunsFilter
        instance = DagsterInstance.get()
        started = time.monotonic()
        _wait_idle(instance, settle_s=args.freshness_settle_s, timeout_s=240)
        startup_s = time.monotonic() - started
        rng = random.Random(7)
        empty = _empty_runs(instance, port, getattr(args, "freshness_empty_runs", EMPTY_RUNS), rng)

        skus = sorted(_woo_stock(woo.url))
        rng.shuffle(skus)
        moments = sorted(rng.uniform(0, args.freshness_spread_s) for _ in range(n_changes))
        plan = [(moments[i], skus[i % len(skus)], 1000 + i) for i in range(n_changes)]
        t0 = time.time()
        pending: dict[str, tuple[float, int]] = {}
        seen: list[dict] = []
        todo = list(plan)
        deadline = t0 + args.freshness_spread_s + 120
        while (todo or pending) and time.time() < deadline:
            now = time.time()
            while todo and t0 + todo[0][0] <= now:
                _, sku, qty = todo.pop(0)
                fortnox(fx.url, "PUT", f"/articles/{sku}", {"Article": {"QuantityInStock": qty}})
                pending[sku] = (time.time(), qty)
            if pending:
                stock = _woo_stock(woo.url)
                at = time.time()
                for sku, (changed_at, qty) in list(pending.items()):
                    if stock.get(sku) == qty:
                        seen.append({"sku": sku, "changed_at": changed_at, "latency_s": at - changed_at})
                        del pending[sku]
            time.sleep(0.2)

        runs = instance.get_run_records(RunsFilter(job_name=STOCK_JOB))
        spans = sorted(_span(instance, r) for r in runs)
        parts: dict[str, list[float]] = {"sensor_wait_s": [], "queue_s": [], "worker_start_s": [], "run_s": []}
        for hit in seen:
            carrier = next((s for s in spans if s[0] > hit["changed_at"] and s[3]), None)
            if carrier:
                created, dequeued, started, ended = carrier
                parts["sensor_wait_s"].append(created - hit["changed_at"])
                parts["queue_s"].append(dequeued - created)
                parts["worker_start_s"].append(started - dequeued)
                parts["run_s"].append(ended - started)
        latencies = sorted(h["latency_s"] for h in seen)
        runs_during = sum(1 for s in spans if s[0] >= t0)
        interval_s = _tick_interval(instance, STOCK_SENSOR, t0, time.time())
    finally:
        if dagster is not None:
            os.killpg(dagster.pid, signal.SIGINT)
            try:
                dagster.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(dagster.pid, signal.SIGKILL)
        woo.stop()
        fx.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    empty_latencies = [ended - created for created, _, _, ended in empty]
    empty_parts = {"queue_s": [d - c for c, d, _, _ in empty], "worker_start_s": [s - d for _, d, s, _ in empty],
                   "run_s": [e - s for _, _, s, e in empty]}
    floor_s = interval_s + _pct(empty_latencies, 0.95) if interval_s and empty_latencies else None
    p95_s = _pct(latencies, 0.95)
    return {
        "changes": n_changes, "seen": len(latencies), "spread_s": args.freshness_spread_s,
        "p50_s": _round(_pct(latencies, 0.5)), "p95_s": _round(p95_s), "max_s": _round(_pct(latencies, 1.0)),
        "floor_s": _round(floor_s, 2), "ratio_to_floor": _round(p95_s / floor_s, 2) if p95_s and floor_s else None,
        "sensor_interval_s": _round(interval_s, 2), "empty_runs": len(empty_latencies),
        "empty_run_p50_s": _round(_pct(empty_latencies, 0.5), 2),
        "empty_run_p95_s": _round(_pct(empty_latencies, 0.95), 2),
        "empty_run_breakdown_median_s": {k: _round(statistics.median(v), 2) if v else None
                                         for k, v in empty_parts.items()},
        "breakdown_median_s": {k: round(statistics.median(v), 1) if v else None for k, v in parts.items()},
        "stock_runs_during_measurement": runs_during, "dagster_startup_s": round(startup_s, 1),
        "settings": {"sensor_interval_s": args.freshness_sensor_s, "dequeue_interval_seconds": _dequeue_interval(),
                     "executor": "in_process"},
    }


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return sorted(values)[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _empty_runs(instance, port: int, n: int, rng: random.Random) -> list[tuple[float, float, float, float]]:
    """Spans (as ``_span``) of ``n`` runs of ``EMPTY_JOB`` submitted one at a time through GraphQL."""
    from dagster_graphql import DagsterGraphQLClient

    from integrations_dagster.flows.triggers import FINISHED

    deadline = time.monotonic() + 60  # the webserver may still be starting
    while True:
        try:
            requests.get(f"http://127.0.0.1:{port}/server_info", timeout=5).raise_for_status()
            break
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    spans = []
    for _ in range(n):
        _wait_quiet(instance, timeout_s=120)
        time.sleep(rng.uniform(0, 2))
        run_id = client.submit_job_execution(EMPTY_JOB, repository_location_name=LOCATION)
        deadline = time.monotonic() + 120
        while (record := instance.get_run_record_by_id(run_id)).dagster_run.status not in FINISHED:
            if time.monotonic() > deadline:
                raise TimeoutError(f"empty run {run_id} did not finish")
            time.sleep(0.2)
        assert record.dagster_run.is_success, f"empty run {run_id}: {record.dagster_run.status}"
        spans.append(_span(instance, record))
    return spans


def _wait_quiet(instance, timeout_s: float) -> None:
    """Until no run is waiting or running (a products or stock sensor run, say)."""
    from dagster import RunsFilter

    from integrations_dagster.flows.triggers import ACTIVE

    deadline = time.monotonic() + timeout_s
    while instance.get_runs_count(RunsFilter(statuses=ACTIVE)):
        if time.monotonic() > deadline:
            raise TimeoutError("runs still active")
        time.sleep(0.2)


def _tick_interval(instance, sensor: str, after: float, before: float) -> float | None:
    """The median gap between the sensor's recorded ticks in [after, before]: the interval it really ran at."""
    state = next((s for s in instance.all_instigator_state() if s.name == sensor), None)
    if state is None:
        return None
    ticks = sorted(t.timestamp for t in instance.get_ticks(state.instigator_origin_id, state.selector_id,
                                                            after=after, before=before))
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    return statistics.median(gaps) if gaps else None


def _span(instance, record) -> tuple[float, float, float, float]:
    """(created, dequeued = RUN_STARTING, RUN_START, end) of one run, from its record and event log."""
    from dagster import DagsterEventType

    created = record.create_timestamp.timestamp()
    dequeued = created
    for event in instance.get_records_for_run(record.dagster_run.run_id,
                                              of_type={DagsterEventType.RUN_STARTING}).records:
        dequeued = event.timestamp
    return created, dequeued, record.start_time or 0, record.end_time or 0


def _dequeue_interval() -> float | None:
    import yaml

    coordinator = yaml.safe_load((REPO / "dagster.yaml").read_text()).get("run_coordinator", {})
    return coordinator.get("config", {}).get("dequeue_interval_seconds")
