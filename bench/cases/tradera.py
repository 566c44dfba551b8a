"""Tradera's quota in a day of steady state (issue 15): 500 listed products, price and stock changes on
10 % of them, 50 orders — do the calls fit in Tradera's 100 per 24 hours?

The shop (WooCommerce sandbox) has 500 simple products; they are listed on Tradera through the hub
first (the onboarding: 500 creates, more than a day's quota — Tradera raises a quota on request
[doc: v3 start page], so the bench lists them with a raised one, then measures the day on the default
100, the sandbox counting and refusing as Tradera does). The day is 24 simulated hours; each hour its
share of the events happens, then the flows a production schedule runs that hour:

* every hour: Tradera orders → hub → shop (one ``GET /v4/orders`` call; the hub and the shop are free);
  the shop ships the orders that came in before (its own work: ``completed``);
* every 4 hours: shop products → hub → Tradera (price and stock changes in one batch call each, one
  request-results call), and the shipped orders marked on Tradera (one call per order: no batch exists).

Events: 25 price changes and 25 stock changes on 50 different products, 50 Tradera purchases, at random
hours (seeded). The figure is the Tradera calls the sandbox counted in the day, by endpoint; the goal:
at most 100, nothing deferred, and every change and order arrived (checked at the sandboxes).
"""

from __future__ import annotations

import os
import random
import tempfile
import textwrap
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import requests

from bench.common import TRADERA, env, start_sandbox, woo_get, woo_put

PRODUCTS, CHANGES, ORDERS, HOURS = 500, 50, 50, 24
ORDERS_EVERY_H, LISTING_EVERY_H = 1, 4
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
      hub:
        system: hub
      tradera:
        system: tradera
        base_url: "{tradera}"
        credentials: {{app_key: {{env: TRADERA_APP_KEY}}, user_token: {{env: TRADERA_USER_TOKEN}}}}
        settings: {{app_id: "{app_id}", user_id: "{user_id}", quota_calls: {quota}, quota_reserve_for_orders: 30}}
    flows:
      products_in: {{entity: products, source: shop, target: hub}}
      products_to_tradera:
        entity: products
        source: hub
        target: tradera
        options: {{category: 344482, condition: new, region: sweden, shipping: [{{option: 12, cost: 49}}],
                   payment_options: [4096]}}
      orders_from_tradera: {{entity: orders, source: tradera, target: hub, mode: create}}
      orders_to_shop: {{entity: orders, source: hub, target: shop, mode: create, options: {{origins: [tradera]}}}}
      shipped_to_tradera: {{entity: order_status, source: shop, target: tradera}}
"""


class Day:
    def __init__(self, workdir: Path, woo: str, tradera: str) -> None:
        env()
        os.environ["INTEGRATIONS_STATE_URL"] = f"sqlite:///{workdir / 'state.db'}"
        from dagster import DagsterInstance

        self.workdir, self.woo, self.tradera = workdir, woo, tradera
        self.instance = DagsterInstance.ephemeral()
        self.defs = None

    def load(self, quota: int) -> None:
        from integrations_dagster import config
        from integrations_dagster.build import build_definitions
        from integrations_dagster.state.resource import _store

        _store.cache_clear()
        path = self.workdir / f"bench-{quota}.yaml"
        path.write_text(textwrap.dedent(YAML.format(woo=self.woo, tradera=self.tradera, quota=quota,
                                                    app_id=TRADERA["app_id"], user_id=TRADERA["user_id"])))
        self.defs = build_definitions(config.load(path))

    def run(self, flow: str) -> dict:
        result = self.defs.get_job_def(f"bench_{flow}").execute_in_process(
            instance=self.instance, run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
        assert result.success, f"{flow} failed"
        return self.instance.get_run_by_id(result.run_id).tags


def control(tradera: str, method: str, path: str, body: dict | None = None):
    resp = requests.request(method, f"{tradera}/__sandbox__/tradera/{path}", json=body, timeout=30)
    resp.raise_for_status()
    return resp.json()


def run(args) -> dict:
    from integrations_dagster.flows.pipeline import WAITING_TAG

    woo = start_sandbox("woocommerce", latency_ms=args.latency_ms, products=PRODUCTS, variations=0)
    tradera = start_sandbox("tradera", latency_ms=args.latency_ms)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            day = Day(Path(tmp), woo.url, tradera.url)
            control(tradera.url, "POST", "quota", {"limit": 0})  # the onboarding: a quota raised on request
            day.load(quota=100_000)
            started = time.perf_counter()
            day.run("products_in")
            day.run("products_to_tradera")
            onboarding_s = round(time.perf_counter() - started, 1)
            listed = {i["ownReferences"][0]: i for i in control(tradera.url, "GET", "items") if i.get("state") == "active"}
            assert len(listed) == PRODUCTS, f"{len(listed)} of {PRODUCTS} listed"

            # the day, on Tradera's default quota, counted by the sandbox as Tradera would
            from integrations_dagster.state.resource import open_store

            with open_store().engine.begin() as conn:
                conn.exec_driver_sql("delete from call_ledger")
            control(tradera.url, "POST", "quota", {"limit": 100, "window_s": 86400, "used": 0})
            day.load(quota=100)
            tradera.clear_stats()
            rng = random.Random(15)
            products = {p["sku"]: p for page in range(1, PRODUCTS // 100 + 1)
                        for p in woo_get(woo.url, "/products", per_page=100, page=page)}
            stocked = sorted(s for s, p in products.items() if (p["stock_quantity"] or 0) >= 5)
            changed = rng.sample(stocked, CHANGES)
            events: dict[int, list] = {h: [] for h in range(HOURS)}
            for n, sku in enumerate(changed):
                kind = "price" if n < CHANGES // 2 else "stock"
                events[rng.randrange(HOURS - 1)].append((kind, sku))
            buyable = [s for s in stocked if s not in changed]
            for sku in rng.sample(buyable, ORDERS):
                events[rng.randrange(HOURS - 1)].append(("buy", sku))
            waited, expected_prices, expected_stock, bought = [], {}, {}, []
            for hour in range(HOURS):
                for kind, sku in events[hour]:
                    product = products[sku]
                    if kind == "price":
                        price = Decimal(product["regular_price"]) + Decimal("10.50")
                        woo_put(woo.url, f"/products/{product['id']}", {"regular_price": str(price)})
                        expected_prices[sku] = int(price.quantize(Decimal(1), rounding=ROUND_HALF_UP))
                    elif kind == "stock":
                        woo_put(woo.url, f"/products/{product['id']}", {"stock_quantity": 3})
                        expected_stock[sku] = 3
                    else:
                        order = control(tradera.url, "POST", "buy", {"itemId": listed[sku]["itemId"], "quantity": 1,
                                                                    "shippingOptionId": 12})
                        bought.append((order["orderId"], sku))
                for flow in ("orders_from_tradera", "orders_to_shop"):
                    waited += [t for t in [day.run(flow).get(WAITING_TAG)] if t]
                for shop_order in woo_get(woo.url, "/orders", status="processing", per_page=100):
                    woo_put(woo.url, f"/orders/{shop_order['id']}", {"status": "completed"})  # the shop ships it
                if hour % LISTING_EVERY_H == LISTING_EVERY_H - 1:
                    for flow in ("products_in", "products_to_tradera", "shipped_to_tradera"):
                        waited += [t for t in [day.run(flow).get(WAITING_TAG)] if t]
            stats = tradera.stats()
            used = control(tradera.url, "GET", "quota")["used"]
            now = {i["ownReferences"][0]: i for i in control(tradera.url, "GET", "items") if i.get("state") == "active"}
            shipped = {o["orderId"]: o["shipped"] for o in control(tradera.url, "GET", "orders")}
            shop_orders = [o for page in (1, 2) for o in woo_get(woo.url, "/orders", per_page=100, page=page)
                           if any(m["key"] == "_integrations_order" for m in o["meta_data"])]
            arrived = {
                "prices": sum(now[s]["price"] == p for s, p in expected_prices.items()),
                "stock": sum(now[s]["remainingQuantity"] == q for s, q in expected_stock.items()),
                "orders_in_shop": len(shop_orders),
                "orders_marked_shipped": sum(shipped.get(o) is True for o, _ in bought)}
            by_route = {k: v for k, v in sorted((stats.get("requests") or {}).items()) if "/v4/" in k}
            ok = (used <= 100 and not waited and arrived == {"prices": len(expected_prices), "stock": len(expected_stock),
                                                             "orders_in_shop": ORDERS, "orders_marked_shipped": ORDERS})
            return {"steady_state_calls_per_day": used, "fits_in_quota": ok, "quota": 100,
                    "calls_by_endpoint": by_route, "deferred_runs": waited, "arrived": arrived,
                    "day": {"products_listed": PRODUCTS, "price_changes": len(expected_prices),
                            "stock_changes": len(expected_stock), "orders": ORDERS, "hours": HOURS,
                            "orders_every_h": ORDERS_EVERY_H, "listing_every_h": LISTING_EVERY_H},
                    "onboarding": {"products": PRODUCTS, "wall_s": onboarding_s, "note": "with a raised quota"}}
    finally:
        woo.stop()
        tradera.stop()
