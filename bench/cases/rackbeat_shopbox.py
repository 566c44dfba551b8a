"""Rackbeat → Shopbox stock freshness under ``dagster dev`` (issue 14's goal: p95 ≤ 3 s with webhooks):
how long from a count changed in Rackbeat until the till's branch shows it, with Rackbeat's webhooks
delivered to the receiver (its shared-token deliveries → receiver → the flow's webhook sensor → a run).

Rackbeat's stock has no cheap change check (a stock movement does not move a product's ``updated_at``),
so there is no polling variant to compare with: without webhooks the stock flow runs on its schedule.
Changes fall at random moments over ``--rs-freshness-spread-s``; each is polled for at the branch until
it shows. Everything else is as in production (the sandboxes' latency, the in-process executor).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from bench import dagster_dev
from bench.cases.freshness import REPO, _free_port, _pct, _round, _wait_quiet
from bench.common import RACKBEAT_KEY, env, start_sandbox

PRODUCTS = 30  # one per change: no change is overtaken by the next on the same SKU
BRANCH, LOCATION = 6101, 1  # the Shopbox sandbox's first branch, the Rackbeat demo account's main location
START = 1000
YAML = """
integrations:
  - name: bench
    start_date: 2026-11-01
    connections:
      pos:
        system: shopbox
        base_url: "{shopbox}/api/v3"
        credentials: {{username: {{env: SHOPBOX_USERNAME}}, password: {{env: SHOPBOX_PASSWORD}},
                      client: {{env: SHOPBOX_CLIENT}}}}
      erp:
        system: rackbeat
        base_url: "{rackbeat}/api"
        credentials: {{api_key: {{env: RACKBEAT_API_KEY}}}}
    flows:
      stock:
        entity: stock
        source: erp
        target: pos
        triggers: {{schedule: 2h, sensor: false, webhook: true, reconcile: null, drift_check: null}}
        options: {{branches: {{"{location}": "{branch}", "2": "6102"}}}}
"""


def _catalogue(rackbeat: str, shopbox: str) -> list[str]:
    skus = [f"FRISK-{i:03d}" for i in range(PRODUCTS)]
    auth = {"Authorization": f"Bearer {RACKBEAT_KEY}"}
    for sku in skus:
        requests.post(f"{rackbeat}/api/products", headers=auth, timeout=30, json={
            "number": sku, "name": f"Frisk {sku}", "group": 1, "sales_price": 80}).raise_for_status()
        requests.post(f"{shopbox}/__sandbox__/shopbox/products", timeout=30, json={
            "name": f"Frisk {sku}", "sku_code": sku, "selling_price": 10000, "tax": 1}).raise_for_status()
        _count(rackbeat, sku, START)
    return skus


def _count(rackbeat: str, sku: str, quantity: int) -> None:
    requests.post(f"{rackbeat}/__sandbox__/rackbeat/stock", timeout=30, json={
        "item": sku, "location": LOCATION, "quantity": quantity}).raise_for_status()


def _branch(shopbox: str) -> dict[str, int]:
    """sku -> the branch's count, as the till's back office shows it."""
    rows = requests.get(f"{shopbox}/__sandbox__/shopbox/stock", params={"branch": BRANCH}, timeout=30).json()
    return {str(r.get("sku_code")): r["quantity"] for r in rows if r.get("sku_code")}


def run(args) -> dict:
    rackbeat = start_sandbox("rackbeat", latency_ms=args.latency_ms, demo=True)
    shopbox = start_sandbox("shopbox", latency_ms=args.latency_ms)
    tmp = Path(tempfile.mkdtemp(prefix="bench-rs-freshness-"))
    home = tmp / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    processes: list[subprocess.Popen] = []
    try:
        skus = _catalogue(rackbeat.url, shopbox.url)
        config = tmp / "bench.yaml"
        config.write_text(YAML.format(shopbox=shopbox.url, rackbeat=rackbeat.url, location=LOCATION, branch=BRANCH))
        env()
        os.environ.update(DAGSTER_HOME=str(home), INTEGRATIONS_CONFIG=str(config),
                          INTEGRATIONS_STATE_URL=f"sqlite:///{tmp / 'state.db'}")
        dagster_port, receiver_port = _free_port(), _free_port()
        started = time.monotonic()
        processes += dagster_dev.start(tmp, dagster_port, receiver_port=receiver_port, config=config)
        from integrations_dagster import config as cfg
        from integrations_dagster.actions import run_flow
        from integrations_dagster.receiver import subscribe
        from integrations_dagster.state.resource import open_store

        deadline = time.monotonic() + 120
        while True:  # the receiver answers once it has loaded the integrations
            try:
                requests.get(f"http://127.0.0.1:{receiver_port}/", timeout=2)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise TimeoutError("the webhook receiver did not start") from None
                time.sleep(0.5)
        subscribe(cfg.load(config), open_store(), "bench", f"http://127.0.0.1:{receiver_port}")
        first = run_flow("bench", "stock", full=True)  # the first sync (a webhook-only flow waits for a change)
        if not first.success or set(_branch(shopbox.url).values()) != {START}:
            raise RuntimeError(f"the first sync did not land: {first.error}")
        from dagster import DagsterInstance
        deadline = time.monotonic() + 300
        while True:  # the webserver (and with it the daemon's sensors) is up
            try:
                if requests.get(f"http://127.0.0.1:{dagster_port}/server_info", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("dagster dev did not start")
            time.sleep(1)
        startup_s = time.monotonic() - started
        _wait_quiet(DagsterInstance.get(), timeout_s=120)
        time.sleep(args.freshness_settle_s)

        rng = random.Random(14)
        moments = sorted(rng.uniform(0, args.rs_freshness_spread_s) for _ in range(args.freshness_changes))
        expected = {sku: START for sku in skus}
        pending: list[tuple[str, int, float]] = []  # sku, count, changed at
        seen: list[float] = []
        t0, todo = time.time(), list(moments)
        deadline = t0 + args.rs_freshness_spread_s + 120
        n = 0
        while (todo or pending) and time.time() < deadline:
            while todo and t0 + todo[0] <= time.time():
                todo.pop(0)
                sku = skus[n % len(skus)]
                n += 1
                expected[sku] -= rng.randint(1, 5)
                _count(rackbeat.url, sku, expected[sku])
                pending.append((sku, expected[sku], time.time()))
            if pending:
                held, at = _branch(shopbox.url), time.time()
                for item in list(pending):
                    if held.get(item[0]) == item[1]:
                        seen.append(at - item[2])
                        pending.remove(item)
            time.sleep(0.1)
    finally:
        dagster_dev.stop(processes)
        rackbeat.stop()
        shopbox.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    seen.sort()
    return {"freshness_webhook": {
        "changes": len(moments), "seen": len(seen), "p50_s": _round(_pct(seen, 0.5), 2),
        "p95_s": _round(_pct(seen, 0.95), 2), "max_s": _round(_pct(seen, 1.0), 2),
        "dagster_startup_s": _round(startup_s, 1),
        "settings": {"webhooks": True, "spread_s": args.rs_freshness_spread_s, "products": PRODUCTS,
                     "latency_ms": args.latency_ms}}}
