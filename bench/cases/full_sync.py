"""Rate-limited full sync: a WooCommerce catalogue into a Fortnox sandbox that enforces Fortnox's
real limit (25 requests per 5 s sliding window, counted at arrival; an excess is answered 429).

The floor is the time any correct sync needs for what it must send to Fortnox: per new article one
create and one price create, plus one list read (500 a page) to learn which articles exist. The
sliding window takes its first 25 requests at once (the window starts empty) and then one per
1/5 s, so the floor is (minimum − 25) ÷ 5 req/s. WooCommerce has no such limit, so its reads are
not part of the floor (they are part of the wall time: the ratio includes them).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.common import FORTNOX_LIMIT, FORTNOX_WINDOW_S, Flows, delta, start_sandbox


def run(args) -> dict:
    n, v = args.full_products, args.variations
    woo = start_sandbox("woocommerce", latency_ms=args.latency_ms, products=n, variations=v)
    fx = start_sandbox("fortnox", latency_ms=args.latency_ms, rate_limit=FORTNOX_LIMIT,
                       rate_window_s=FORTNOX_WINDOW_S)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            flows = Flows(Path(tmp), woo.url, fx.url, rate_limit=FORTNOX_LIMIT)
            fx.clear_stats()
            woo.clear_stats()
            wall = flows.run("bench_products")
        got, read = delta(fx.stats()), delta(woo.stats())
    finally:
        woo.stop()
        fx.stop()
    articles = n * max(v, 1)
    # the company starts empty: one list page (500 a page) + a create and a price per article
    minimum = 2 * articles + 1
    floor_s = max(minimum - FORTNOX_LIMIT, 0) / (FORTNOX_LIMIT / FORTNOX_WINDOW_S)  # the first 25: a burst
    return {
        "products": n, "variations_per_product": v, "articles": articles,
        "fortnox_requests": got["reads"] + got["writes"], "fortnox_reads": got["reads"],
        "fortnox_writes": got["writes"], "responses_429": got["429"],
        "woocommerce_requests": read["reads"] + read["writes"],
        "minimum_requests": minimum, "floor_s": round(floor_s, 1), "wall_s": round(wall, 1),
        "ratio_to_floor": round(wall / floor_s, 3),
        "requests_to_minimum": round((got["reads"] + got["writes"]) / minimum, 3),
    }
