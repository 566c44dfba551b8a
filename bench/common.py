"""Shared machinery: sandboxes served from a child process, stats, an integrations YAML, job runs.

The sandboxes run in their own process so that their clocks (the rate limit is counted at arrival)
and their CPU do not share a GIL with the sync being measured.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import secrets
import signal
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

WOO_KEY = "ck_" + secrets.token_hex(8)
WOO_SECRET = "cs_" + secrets.token_hex(8)
FORTNOX_TOKEN = secrets.token_hex(16)
ZETTLE_CLIENT_ID, ZETTLE_API_KEY = secrets.token_hex(8), secrets.token_hex(16)
BIGCOMMERCE_STORE_HASH, BIGCOMMERCE_TOKEN = "benchstore", secrets.token_hex(16)
RACKBEAT_KEY = secrets.token_hex(16)
SHOPBOX_LOGIN = {"username": "bench@example.no", "password": secrets.token_hex(16), "client": "1701"}
TRADERA = {"app_id": "4711", "app_key": secrets.token_hex(16), "public_key": secrets.token_hex(16), "user_id": "90210",
           "user_token": secrets.token_hex(16)}
CREDENTIALS = {"tradera": TRADERA, "rackbeat": {"api_key": RACKBEAT_KEY}, "shopbox": SHOPBOX_LOGIN,
               "woocommerce": {"consumer_key": WOO_KEY, "consumer_secret": WOO_SECRET},
               "fortnox": {"access_token": FORTNOX_TOKEN},
               "zettle": {"client_id": ZETTLE_CLIENT_ID, "api_key": ZETTLE_API_KEY},
               "bigcommerce": {"store_hash": BIGCOMMERCE_STORE_HASH, "access_token": BIGCOMMERCE_TOKEN}}
FORTNOX_LIMIT, FORTNOX_WINDOW_S = 25, 5.0


def _serve(system: str, credentials: dict, knobs: dict, products: int, variations: int, demo: bool,
           port: int, ready) -> None:
    from integrations_dagster.sandbox.base import Knobs
    from integrations_dagster.sandbox.runner import start_in_thread

    # An ignored SIGTERM survives exec: a parent that ignores it would leave this child deaf to stop().
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    running = start_in_thread(system, credentials=credentials, knobs=Knobs(**knobs), demo=demo, port=port)
    if products:
        from integrations_dagster.sandbox.woocommerce.demo import load_catalogue
        load_catalogue(running.sandbox, products, variations)
    ready.put(running.port)
    while True:
        time.sleep(3600)


@dataclass
class Sandbox:
    system: str
    url: str
    process: mp.Process

    def stats(self) -> dict:
        return requests.get(f"{self.url}/__sandbox__/stats", timeout=30).json()

    def clear_stats(self) -> None:
        requests.post(f"{self.url}/__sandbox__/stats/clear", timeout=30).raise_for_status()

    def knobs(self, **values: Any) -> None:
        requests.post(f"{self.url}/__sandbox__/knobs", json=values, timeout=30).raise_for_status()

    def stop(self) -> None:
        """Stop the child: SIGTERM, then SIGKILL, which nothing can ignore, if it is still there."""
        self.process.terminate()
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(10)


def start_sandbox(system: str, *, latency_ms: float = 20, products: int = 0, variations: int = 3,
                  demo: bool = False, port: int = 0, **knobs: Any) -> Sandbox:
    ctx = mp.get_context("spawn")
    ready = ctx.Queue()
    proc = ctx.Process(target=_serve, daemon=True, name=f"bench-{system}",
                       args=(system, CREDENTIALS[system], {"latency_ms": latency_ms, **knobs}, products,
                             variations, demo, port, ready))
    proc.start()
    port = ready.get(timeout=600)
    return Sandbox(system, f"http://127.0.0.1:{port}", proc)


def env() -> None:
    os.environ.update(WOO_CONSUMER_KEY=WOO_KEY, WOO_CONSUMER_SECRET=WOO_SECRET, FORTNOX_ACCESS_TOKEN=FORTNOX_TOKEN,
                      ZETTLE_CLIENT_ID=ZETTLE_CLIENT_ID, ZETTLE_API_KEY=ZETTLE_API_KEY,
                      BIGCOMMERCE_ACCESS_TOKEN=BIGCOMMERCE_TOKEN, RACKBEAT_API_KEY=RACKBEAT_KEY,
                      SHOPBOX_USERNAME=SHOPBOX_LOGIN["username"], SHOPBOX_PASSWORD=SHOPBOX_LOGIN["password"],
                      SHOPBOX_CLIENT=SHOPBOX_LOGIN["client"], TRADERA_APP_KEY=TRADERA["app_key"],
                      TRADERA_USER_TOKEN=TRADERA["user_token"])


YAML = """
integrations:
  - name: bench
    start_date: 2026-11-01
    connections:
      shop:
        system: woocommerce
        base_url: "{woo}"
        credentials: {{consumer_key: {{env: WOO_CONSUMER_KEY}}, consumer_secret: {{env: WOO_CONSUMER_SECRET}}}}
        options: {{currency: SEK, prices_include_tax: true, tax_rates: {{"": 25, "reduced-rate": 12}}}}
        {shop_settings}
      erp:
        system: fortnox
        base_url: "{fortnox}"
        credentials: {{access_token: {{env: FORTNOX_ACCESS_TOKEN}}}}
        settings: {{rate_limit: {rate_limit}, rate_window_s: {rate_window_s}}}
    flows:
      products:
        entity: products
        source: shop
        target: erp
        mode: both
        triggers: {{schedule: {schedule}, sensor: {sensor}, sensor_interval_s: {sensor_interval_s}}}
      stock:
        entity: stock
        source: erp
        target: shop
        triggers: {{schedule: {schedule}, sensor: {sensor}, sensor_interval_s: {sensor_interval_s}}}
"""


def write_yaml(path: Path, woo: str, fortnox: str, *, rate_limit: int = 0, rate_window_s: float = 5.0,
               sensor: bool = False, sensor_interval_s: int = 30, schedule: str = "2h",
               woo_read_concurrency: int | None = None) -> Path:
    """``woo_read_concurrency`` sets the shop's ``read_concurrency`` (None: the connector's default)."""
    shop_settings = "" if woo_read_concurrency is None else f"settings: {{read_concurrency: {woo_read_concurrency}}}"
    path.write_text(textwrap.dedent(YAML.format(
        woo=woo, fortnox=fortnox, rate_limit=rate_limit, rate_window_s=rate_window_s, shop_settings=shop_settings,
        sensor="true" if sensor else "false", sensor_interval_s=sensor_interval_s, schedule=schedule)))
    return path


class Flows:
    """Definitions built from a bench YAML; runs a job in process with a state store in ``workdir``."""

    def __init__(self, workdir: Path, woo: str, fortnox: str, *, rate_limit: int = 0,
                 woo_read_concurrency: int | None = None) -> None:
        env()
        os.environ["INTEGRATIONS_STATE_URL"] = f"sqlite:///{workdir / 'state.db'}"
        from dagster import DagsterInstance

        from integrations_dagster import config
        from integrations_dagster.build import build_definitions

        self.defs = build_definitions(config.load(write_yaml(workdir / "bench.yaml", woo, fortnox,
                                                             rate_limit=rate_limit,
                                                             woo_read_concurrency=woo_read_concurrency)))
        self.instance = DagsterInstance.ephemeral()

    def run(self, job: str, *, full: bool = False) -> float:
        run_config: dict = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        if full:
            run_config["ops"] = {f"{job}_fetch": {"config": {"full": True}}}
        started = time.perf_counter()
        result = self.defs.get_job_def(job).execute_in_process(instance=self.instance, run_config=run_config)
        elapsed = time.perf_counter() - started
        assert result.success, f"{job} failed"
        return elapsed


def delta(after: dict, before: dict | None = None) -> dict:
    """Reads, writes and 429s between two stats snapshots."""
    before = before or {"reads": 0, "writes": 0, "status": {}}
    return {"reads": after["reads"] - before["reads"], "writes": after["writes"] - before["writes"],
            "429": after["status"].get("429", 0) - before["status"].get("429", 0)}


def woo_put(url: str, path: str, body: dict) -> dict:
    resp = requests.put(f"{url}/wp-json/wc/v3{path}", json=body, auth=(WOO_KEY, WOO_SECRET), timeout=30)
    resp.raise_for_status()
    return resp.json()


def woo_get(url: str, path: str, **params: Any) -> Any:
    resp = requests.get(f"{url}/wp-json/wc/v3{path}", params=params, auth=(WOO_KEY, WOO_SECRET), timeout=30)
    resp.raise_for_status()
    return resp.json()


def fortnox(url: str, method: str, path: str, body: dict | None = None, **params: Any) -> dict:
    resp = requests.request(method, f"{url}/3{path}", json=body, params=params or None, timeout=30,
                            headers={"Authorization": f"Bearer {FORTNOX_TOKEN}"})
    resp.raise_for_status()
    return resp.json()
