"""Incremental, nothing-changed and the naive script, on one catalogue synced without a rate limit.

1. Our initial sync of ``--products`` products (``--variations`` each) fills the Fortnox sandbox.
2. ``incremental``: 1 % of the products change (price of a variation, stock of a variation, or the
   product's name, in turn); our sync runs as a reconcile (a full read, like for like with the naive
   script and dlt, which read everything; a variation's save does move its parent's
   ``date_modified`` [source: WC_Product_Variable::sync via wc_deferred_product_sync], so the
   sensor's cursor run sees such edits too).
   The expected writes are what changed at Fortnox: a name is on every variation's article
   (one PUT per variation), a price is one price row (one PUT); stock is owned by Fortnox after
   the first sync, so a shop stock change writes nothing.
3. ``noop``: the same reconcile again with nothing changed, and the cursor-based run the sensor and
   the schedule start (reads only what changed since the last run).
4. ``vs_naive``: the same 1 % change, then the naive script (``bench/naive.py``); ratio of its
   wall time and requests to our incremental run.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench import naive
from bench.common import Flows, delta, env, start_sandbox, woo_get, woo_put

JOB = "bench_products"


def _product_ids(woo_url: str) -> list[int]:
    """The shop's product ids in order (products and variations share WooCommerce's id sequence, so
    product ids are not 1..n)."""
    ids, page = [], 1
    while True:
        batch = woo_get(woo_url, "/products", _fields="id", orderby="id", order="asc", per_page=100, page=page)
        ids += [p["id"] for p in batch]
        if len(batch) < 100:
            return ids
        page += 1


def _mutate(woo_url: str, n_products: int, share: float, round_no: int) -> dict:
    """Change ``share`` of the products, spread over the catalogue, three kinds in turn."""
    count = max(1, round(n_products * share))
    step = max(1, n_products // count)
    kinds = {"price": 0, "stock": 0, "name": 0}
    expected_writes = 0
    ids = _product_ids(woo_url)
    for i in range(count):
        pid = ids[(i * step + round_no) % n_products]
        kind = ("price", "stock", "name")[i % 3]
        if kind == "name":
            woo_put(woo_url, f"/products/{pid}", {"name": f"Bench product {pid} r{round_no}"})
            variations = len(woo_get(woo_url, f"/products/{pid}/variations"))
            expected_writes += max(variations, 1)
        else:
            var = woo_get(woo_url, f"/products/{pid}/variations")[0]
            if kind == "price":
                body = {"regular_price": f"{100 + round_no + i % 7}.00"}
                expected_writes += 1
            else:
                body = {"stock_quantity": int(var.get("stock_quantity") or 0) + 1 + round_no}
            woo_put(woo_url, f"/products/{pid}/variations/{var['id']}", body)
        kinds[kind] += 1
    return {"changed_products": count, "kinds": kinds, "expected_writes": expected_writes}


def run(args) -> dict:
    n, v = args.products, args.variations
    woo = start_sandbox("woocommerce", latency_ms=args.latency_ms, products=n, variations=v)
    fx = start_sandbox("fortnox", latency_ms=args.latency_ms)
    out: dict = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            flows = Flows(Path(tmp), woo.url, fx.url, rate_limit=0)
            fx.clear_stats()
            woo.clear_stats()
            initial = flows.run(JOB)
            init_fx, init_woo = delta(fx.stats()), delta(woo.stats())
            initial_run = {"wall_s": round(initial, 1), "fortnox": init_fx, "woocommerce": init_woo}

            plan = _mutate(woo.url, n, args.change_share, 1)
            fx_before, woo_before = fx.stats(), woo.stats()
            wall = flows.run(JOB, full=True)
            got_fx, got_woo = delta(fx.stats(), fx_before), delta(woo.stats(), woo_before)
            out["incremental"] = {
                "products": n, "variations_per_product": v, "mode": "reconcile (full read)", **plan,
                "read_requests": got_fx["reads"] + got_woo["reads"], "woocommerce_reads": got_woo["reads"],
                "fortnox_reads": got_fx["reads"], "write_requests": got_fx["writes"] + got_woo["writes"],
                "wall_s": round(wall, 1), "writes_equal_changes": got_fx["writes"] == plan["expected_writes"],
            }

            fx_before, woo_before = fx.stats(), woo.stats()
            wall = flows.run(JOB, full=True)
            got_fx, got_woo = delta(fx.stats(), fx_before), delta(woo.stats(), woo_before)
            fx_before2, woo_before2 = fx.stats(), woo.stats()
            wall_cursor = flows.run(JOB)
            cur_fx, cur_woo = delta(fx.stats(), fx_before2), delta(woo.stats(), woo_before2)
            out["noop"] = {
                "products": n, "variations_per_product": v,
                "write_requests": got_fx["writes"] + got_woo["writes"],
                "read_requests": got_fx["reads"] + got_woo["reads"], "wall_s": round(wall, 1),
                "cursor_run": {"write_requests": cur_fx["writes"] + cur_woo["writes"],
                               "read_requests": cur_fx["reads"] + cur_woo["reads"], "wall_s": round(wall_cursor, 1)},
            }

            _mutate(woo.url, n, args.change_share, 2)
            env()
            fx_before, woo_before = fx.stats(), woo.stats()
            started = time.perf_counter()
            naive.main(woo.url, fx.url)
            naive_wall = time.perf_counter() - started
            nv_fx, nv_woo = delta(fx.stats(), fx_before), delta(woo.stats(), woo_before)
            ours = out["incremental"]
            ours_requests = ours["read_requests"] + ours["write_requests"]
            naive_requests = nv_fx["reads"] + nv_fx["writes"] + nv_woo["reads"]
            out["vs_naive"] = {
                "products": n, "variations_per_product": v, "change": f"{args.change_share:.0%} of products",
                "naive": {"wall_s": round(naive_wall, 1), "requests": naive_requests,
                          "fortnox_writes": nv_fx["writes"], "fortnox_requests": nv_fx["reads"] + nv_fx["writes"]},
                "ours": {"wall_s": ours["wall_s"], "requests": ours_requests,
                         "fortnox_requests": ours["fortnox_reads"] + ours["write_requests"]},
                "ratio_wall": round(naive_wall / ours["wall_s"], 1),
                "ratio_requests": round(naive_requests / ours_requests, 1),
                "ratio_fortnox_requests": round((nv_fx["reads"] + nv_fx["writes"])
                                                / max(1, ours["fortnox_reads"] + ours["write_requests"]), 1),
                "our_initial_sync": initial_run,
            }
    finally:
        woo.stop()
        fx.stop()
    return out
