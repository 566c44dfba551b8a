"""dlt's ``rest_api`` source against our fetch + normalize, on the same WooCommerce sandbox.

dlt reads ``/products`` (page number paginator with ``X-WP-TotalPages``) and, for each product, its
``/products/{id}/variations`` (a child resource resolved from the parent's id), then normalizes and
loads both tables into a local DuckDB file. Ours reads the same data with the WooCommerce connector
and maps every product (with its variations) to a canonical ``Product``. Both are timed end to end;
records = products + variations.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.common import WOO_KEY, WOO_SECRET, start_sandbox
from bench.cases.engine import OPTIONS


def _dlt(woo_url: str, workdir: Path, parallel: bool) -> tuple[float, int]:
    import dlt
    from dlt.sources.rest_api import rest_api_source

    source = rest_api_source({
        "client": {"base_url": f"{woo_url}/wp-json/wc/v3/",
                   "auth": {"type": "http_basic", "username": WOO_KEY, "password": WOO_SECRET},
                   "paginator": {"type": "header_link"}},
        "resource_defaults": {"write_disposition": "replace", "endpoint": {"params": {"per_page": 100}}},
        "resources": [
            {"name": "products", "endpoint": {"path": "products",
                                              "paginator": {"type": "page_number", "base_page": 1,
                                                            "total_path": None, "page_param": "page",
                                                            "stop_after_empty_page": True}}},
            {"name": "variations", "endpoint": {
                "path": "products/{resources.products.id}/variations",
                "paginator": {"type": "page_number", "base_page": 1, "total_path": None, "page_param": "page",
                              "stop_after_empty_page": True}}},
        ],
    }, parallelized=parallel)
    pipeline = dlt.pipeline(pipeline_name="bench_woo", destination=dlt.destinations.duckdb(str(workdir / "bench.duckdb")),
                            dataset_name="woocommerce", pipelines_dir=str(workdir / "pipelines"), progress=None)
    started = time.perf_counter()
    info = pipeline.run(source)
    elapsed = time.perf_counter() - started
    del info
    with pipeline.sql_client() as sql:
        products = sql.execute_sql("select count(*) from products")[0][0]
        variations = sql.execute_sql("select count(*) from variations")[0][0]
    return elapsed, products + variations


def _ours(woo_url: str, concurrency: int) -> tuple[float, int]:
    from integrations_dagster.connectors.base import Window
    from integrations_dagster.connectors.woocommerce import WooCommerceResource

    woo = WooCommerceResource(base_url=woo_url, consumer_key=WOO_KEY, consumer_secret=WOO_SECRET,
                              read_concurrency=concurrency)
    started = time.perf_counter()
    records = [woo.to_canonical("products", raw, OPTIONS) for raw in woo.read("products", Window(), OPTIONS)]
    elapsed = time.perf_counter() - started
    return elapsed, len(records) + sum(len(r.variants) for r in records)


def run(args) -> dict:
    woo = start_sandbox("woocommerce", latency_ms=args.latency_ms, products=args.dlt_products,
                        variations=args.variations)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            ours_s, ours_n = _ours(woo.url, 8)
            seq_s, seq_n = _ours(woo.url, 1)
            dlt_s, dlt_n = _dlt(woo.url, Path(tmp), parallel=False)
            with tempfile.TemporaryDirectory() as tmp2:
                dltp_s, dltp_n = _dlt(woo.url, Path(tmp2), parallel=True)
    finally:
        woo.stop()
    ours_rps, dlt_rps, dltp_rps = ours_n / ours_s, dlt_n / dlt_s, dltp_n / dltp_s
    return {
        "products": args.dlt_products, "variations_per_product": args.variations,
        "ours": {"records": ours_n, "wall_s": round(ours_s, 1), "records_per_s": round(ours_rps)},
        "ours_sequential": {"records": seq_n, "wall_s": round(seq_s, 1), "records_per_s": round(seq_n / seq_s)},
        "dlt": {"records": dlt_n, "wall_s": round(dlt_s, 1), "records_per_s": round(dlt_rps)},
        "dlt_parallelized": {"records": dltp_n, "wall_s": round(dltp_s, 1), "records_per_s": round(dltp_rps)},
        "ratio": round(ours_rps / dlt_rps, 2), "ratio_vs_parallelized": round(ours_rps / dltp_rps, 2),
        "ratio_sequential": round((seq_n / seq_s) / dlt_rps, 2),
    }
