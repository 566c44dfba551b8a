"""Engine overhead: normalize (``to_canonical``) + the diff's hashing and join on records already
fetched — no network, no Dagster. Runs in a child process so that its peak RSS is its own.

The raw records are real WooCommerce sandbox answers (one variable product with its variations),
copied with new ids, SKUs, names and prices. The diff joins against a snapshot holding every key
(half unchanged, half changed), as ``compute_diff`` does.
"""

from __future__ import annotations

import copy
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

OPTIONS = {"currency": "SEK", "prices_include_tax": True, "tax_rates": {"": 25, "reduced-rate": 12}}


def _template(variations: int) -> dict:
    from integrations_dagster.connectors.woocommerce import WooCommerceResource
    from integrations_dagster.sandbox.runner import start_in_thread
    from integrations_dagster.sandbox.woocommerce.demo import load_catalogue

    creds = {"consumer_key": "ck_bench", "consumer_secret": "cs_bench"}
    sb = start_in_thread("woocommerce", credentials=creds, demo=False)
    try:
        load_catalogue(sb.sandbox, 1, variations)
        woo = WooCommerceResource(base_url=sb.url, **creds)
        from integrations_dagster.connectors.base import Window
        return next(iter(woo.read("products", Window(), {})))
    finally:
        sb.stop()


def raw_catalogue(n: int, variations: int) -> Iterator[dict]:
    """One product at a time, as the connector's reader yields them."""
    template = _template(variations)
    for i in range(1, n + 1):
        raw = copy.deepcopy(template)
        raw.update(id=i, name=f"Bench product {i}", slug=f"bench-product-{i}")
        for j, var in enumerate(raw["_variations"], start=1):
            var.update(id=n + i * variations + j, parent_id=i, sku=f"BENCH-{i:06d}-{j}",
                       regular_price=f"{100 + i % 97}.00", stock_quantity=(i + j) % 50)
        yield raw


def measure(n: int, variations: int, profile: str | None = None) -> dict:
    import pandas as pd

    from integrations_dagster.connectors.base import Window
    from integrations_dagster.connectors.woocommerce import WooCommerceResource
    from integrations_dagster.flows.pipeline import Fetched, _dedupe

    fetched = Fetched.of(raw_catalogue(n, variations), Window(), None, False)  # the fetch op's output
    rss_input_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    woo = WooCommerceResource(base_url="http://unused", consumer_key="k", consumer_secret="s")
    profiler = None
    if profile:
        from pyinstrument import Profiler
        profiler = Profiler()
        profiler.start()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    records = [woo.to_canonical("products", raw, OPTIONS) for raw in fetched.records()]
    del fetched  # the normalize op's input is released when the op returns
    cpu_norm = time.process_time() - cpu0
    records, _ = _dedupe(records)
    fetched = pd.DataFrame({"key": [r.key for r in records], "hash": [r.content_hash() for r in records]},
                           dtype="string")
    snap = fetched.copy()
    snap.loc[snap.index % 2 == 1, "hash"] = "0" * 32  # half of them changed since the snapshot
    merged = fetched.merge(snap, on="key", how="outer", suffixes=("", "_snap"), indicator=True)
    both = merged[merged["_merge"] == "both"]
    updated = both.loc[both["hash"] != both["hash_snap"], "key"]
    by_key = {r.key: r for r in records}
    changes = [by_key[k] for k in updated]
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
    if profiler:
        profiler.stop()
        with open(profile, "w") as fh:
            fh.write(profiler.output_text(unicode=False, color=False, show_all=False))
    return {"products": n, "variants": n * variations, "cpu_s": round(cpu, 2),
            "normalize_cpu_s": round(cpu_norm, 2), "diff_cpu_s": round(cpu - cpu_norm, 2),
            "wall_s": round(wall, 2), "updates": len(changes),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "rss_after_input_mb": round(rss_input_mb)}


def run(args) -> dict:
    """In a child process: peak RSS then covers this case only."""
    cmd = [sys.executable, "-m", "bench.cases.engine", str(args.engine_products), str(args.variations)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[2])
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    profile_to = sys.argv[3] if len(sys.argv) > 3 else None
    print(json.dumps(measure(int(sys.argv[1]), int(sys.argv[2]), profile_to)))
