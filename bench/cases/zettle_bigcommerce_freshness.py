"""Zettle → BigCommerce freshness under ``dagster dev``: how long until a Zettle change shows in the
store — a product's price, and a sale at the till lowering the store's stock — with the webhook
receiver on (Zettle's signed deliveries → receiver → a run asked of the webserver at once) and off
(the polling sensors alone, ticking every ``--freshness-sensor-s`` s: Dagster's daemon evaluates
them every 5 s at best).

Changes fall at random moments over ``--zb-freshness-spread-s``; each is polled for in the store
until it shows. The store's quota is raised for the measurement (the poller's own reads would
otherwise take the connector's share of 150 / 30 s); everything else is as in production.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import requests

from bench import dagster_dev
from bench.cases.freshness import REPO, _free_port, _pct, _round, _wait_quiet
from bench.cases.zettle_bigcommerce import integrations_yaml
from bench.common import BIGCOMMERCE_STORE_HASH, ZETTLE_API_KEY, ZETTLE_CLIENT_ID, env, start_sandbox

PRODUCTS = 20
FLOWS = """      products: {{entity: products, source: till, target: shop,
                  triggers: {{schedule: 2h, sensor: true, sensor_interval_s: {sensor_s}, webhook: {webhook}}}}}
      stock: {{entity: stock, source: till, target: shop, after: [products],
               triggers: {{schedule: 2h, sensor: true, sensor_interval_s: {sensor_s}, webhook: {webhook}}}}}
"""


class Till:
    """The Zettle API as the back office and the till use it."""

    def __init__(self, url: str) -> None:
        self.url = url
        token = requests.post(f"{url}/oauth/token", timeout=30, data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "client_id": ZETTLE_CLIENT_ID,
            "assertion": ZETTLE_API_KEY}).json()["access_token"]
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.products: dict[str, tuple[str, str]] = {}  # sku -> (product uuid, variant uuid)

    def catalogue(self, n: int) -> None:
        for i in range(n):
            sku, product, variant = f"FRESH-{i:03d}", str(uuid.uuid1()), str(uuid.uuid1())
            self.session.post(f"{self.url}/products/organizations/self/products", timeout=30, json={
                "uuid": product, "name": f"Färsk {i:03d}", "vatPercentage": "25", "variants": [{
                    "uuid": variant, "sku": sku, "price": {"amount": 10000, "currencyId": "SEK"}}]}).raise_for_status()
            self.products[sku] = (product, variant)
        self.inventory("POST", "/products", {"productUuids": [p for p, _ in self.products.values()]})
        kinds = {i["inventoryType"]: i["inventoryUuid"] for i in self.inventory("GET", "/inventories").json()}
        self.inventory("POST", "/movements", {"movements": [
            {"productUuid": p, "variantUuid": v, "change": 1000, "from": kinds["SUPPLIER"], "to": kinds["STORE"]}
            for p, v in self.products.values()]})

    def inventory(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        while True:
            resp = self.session.request(method, f"{self.url}/inventory/v3{path}", json=body, timeout=30)
            if resp.status_code != 429:
                resp.raise_for_status()
                return resp
            time.sleep(0.3)

    def price(self, sku: str, ore: int) -> None:
        product, variant = self.products[sku]
        path = f"{self.url}/products/organizations/self/products"
        etag = self.session.get(f"{path}/{product}", timeout=30).json()["etag"]
        self.session.put(f"{path}/v2/{product}", timeout=30, headers={"If-Match": f'"{etag}"'}, json={
            "variants": [{"uuid": variant, "price": {"amount": ore, "currencyId": "SEK"}}]}).raise_for_status()

    def sell(self, sku: str) -> None:
        product, variant = self.products[sku]
        requests.post(f"{self.url}/__sandbox__/zettle/sale", timeout=30, json={"lines": [
            {"productUuid": product, "variantUuid": variant, "quantity": 1}]}).raise_for_status()


def _store(url: str) -> dict[str, tuple[float, int]]:
    """sku -> (price, stock level) of every product in the store."""
    resp = requests.get(f"{url}/stores/{BIGCOMMERCE_STORE_HASH}/v3/catalog/products", params={"limit": 250},
                        headers={"X-Auth-Token": os.environ["BIGCOMMERCE_ACCESS_TOKEN"]}, timeout=30)
    resp.raise_for_status()
    return {p["sku"]: (p["price"], p["inventory_level"]) for p in resp.json()["data"]}


def measure(args, *, webhooks: bool) -> dict:
    zettle = start_sandbox("zettle", latency_ms=args.latency_ms)
    bigcommerce = start_sandbox("bigcommerce", latency_ms=args.latency_ms)
    requests.post(f"{bigcommerce.url}/__sandbox__/bigcommerce/quota", json={"requests": 100_000, "window_ms": 30_000},
                  timeout=30).raise_for_status()
    requests.post(f"{zettle.url}/__sandbox__/zettle/allow-http", json={"allow": True}, timeout=30).raise_for_status()
    tmp = Path(tempfile.mkdtemp(prefix="bench-zb-freshness-"))
    home = tmp / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    processes: list[subprocess.Popen] = []
    try:
        till = Till(zettle.url)
        till.catalogue(PRODUCTS)
        config = tmp / "bench.yaml"
        config.write_text(integrations_yaml(zettle.url, bigcommerce.url, FLOWS, sensor_s=args.freshness_sensor_s,
                                            webhook=str(webhooks).lower()))
        env()
        os.environ.update(DAGSTER_HOME=str(home), INTEGRATIONS_CONFIG=str(config),
                          INTEGRATIONS_STATE_URL=f"sqlite:///{tmp / 'state.db'}")
        dagster_port, receiver_port = _free_port(), _free_port()
        processes += dagster_dev.start(tmp, dagster_port, receiver_port=receiver_port if webhooks else None,
                                       config=config)
        if webhooks:
            from integrations_dagster import config as cfg
            from integrations_dagster.receiver import subscribe
            from integrations_dagster.state.resource import open_store
            subscribe(cfg.load(config), open_store(), "bench", f"http://127.0.0.1:{receiver_port}")
        from dagster import DagsterInstance
        instance = DagsterInstance.get()
        deadline = time.monotonic() + 300
        while len({k for k, (_, level) in _store(bigcommerce.url).items() if level == 1000}) < PRODUCTS:
            if time.monotonic() > deadline:
                raise TimeoutError("the first sync did not land")
            time.sleep(1)
        _wait_quiet(instance, timeout_s=120)
        time.sleep(args.freshness_settle_s)

        rng = random.Random(11)
        skus = sorted(till.products)
        moments = sorted(rng.uniform(0, args.zb_freshness_spread_s) for _ in range(args.freshness_changes))
        plan = [(m, "price" if i % 2 == 0 else "sale", skus[i % len(skus)]) for i, m in enumerate(moments)]
        expected = {sku: [10000 / 100, 1000] for sku in skus}
        pending: list[tuple[str, str, float, float]] = []  # kind, sku, value, changed at
        seen = {"price": [], "sale": []}
        t0, todo = time.time(), list(plan)
        deadline = t0 + args.zb_freshness_spread_s + 120
        while (todo or pending) and time.time() < deadline:
            while todo and t0 + todo[0][0] <= time.time():
                _, kind, sku = todo.pop(0)
                if kind == "price":
                    expected[sku][0] += 1
                    till.price(sku, int(expected[sku][0] * 100))
                    pending.append((kind, sku, expected[sku][0], time.time()))
                else:
                    expected[sku][1] -= 1
                    till.sell(sku)
                    pending.append((kind, sku, expected[sku][1], time.time()))
            if pending:
                store, at = _store(bigcommerce.url), time.time()
                for item in list(pending):
                    kind, sku, value, changed_at = item
                    if store.get(sku, (None, None))[0 if kind == "price" else 1] == value:
                        seen[kind].append(at - changed_at)
                        pending.remove(item)
            time.sleep(0.1)
    finally:
        dagster_dev.stop(processes)
        zettle.stop()
        bigcommerce.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    every = sorted(seen["price"] + seen["sale"])
    return {
        "changes": len(plan), "seen": len(every), "p50_s": _round(_pct(every, 0.5), 2),
        "p95_s": _round(_pct(every, 0.95), 2), "max_s": _round(_pct(every, 1.0), 2),
        "product_change_p95_s": _round(_pct(sorted(seen["price"]), 0.95), 2),
        "sale_to_stock_p95_s": _round(_pct(sorted(seen["sale"]), 0.95), 2),
        "settings": {"webhooks": webhooks, "sensor_interval_s": args.freshness_sensor_s,
                     "spread_s": args.zb_freshness_spread_s},
    }
