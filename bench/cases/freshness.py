"""Freshness: ``dagster dev`` (webserver + daemon) runs the stock flow (Fortnox → WooCommerce) from
its change sensor; stock changes in the Fortnox sandbox at random moments; the time until the
WooCommerce sandbox shows each one is measured, and split with Dagster's own run records and event
log into sensor wait (change → run created), queue (created → dequeued), worker start (dequeued →
the run process's RUN_START: process start, imports, code load) and run (RUN_START → success).

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
        dagster = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster"), "dev", "-w", str(REPO / "workspace.yaml"),
             "-h", "127.0.0.1", "-p", str(_free_port())],
            cwd=REPO, env=environ, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        from dagster import DagsterInstance, RunsFilter
        instance = DagsterInstance.get()
        started = time.monotonic()
        _wait_idle(instance, settle_s=args.freshness_settle_s, timeout_s=240)
        startup_s = time.monotonic() - started

        rng = random.Random(7)
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

    def pct(values: list[float], q: float) -> float | None:
        if not values:
            return None
        return round(sorted(values)[min(len(values) - 1, int(round(q * (len(values) - 1))))], 1)

    return {
        "changes": n_changes, "seen": len(latencies), "spread_s": args.freshness_spread_s,
        "p50_s": pct(latencies, 0.5), "p95_s": pct(latencies, 0.95), "max_s": pct(latencies, 1.0),
        "breakdown_median_s": {k: round(statistics.median(v), 1) if v else None for k, v in parts.items()},
        "stock_runs_during_measurement": runs_during, "dagster_startup_s": round(startup_s, 1),
        "settings": {"sensor_interval_s": args.freshness_sensor_s, "dequeue_interval_seconds": _dequeue_interval(),
                     "executor": "in_process"},
    }


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
