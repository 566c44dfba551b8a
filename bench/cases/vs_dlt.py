"""dlt's ``rest_api`` source against our products flow, reading the same WooCommerce sandbox.

The work, the same on both sides: read every product and each product's variations over HTTP, hand
the raw records from the reading stage to the normalizing stage, and normalize them; neither side
loads. Records = products + variations; both sides must count the same.

* dlt: ``pipeline.extract()`` then ``pipeline.normalize()`` of a ``rest_api`` source with a
  ``products`` resource and a child ``variations`` resource (``products/{resources.products.id}/
  variations``). Extract writes the items to dlt's intermediary files, normalize infers the schema,
  flattens them into tables (nested lists become child tables) and writes the load files of the
  configured destination (DuckDB). The load step is not run: the DuckDB file is never opened.
* ours: the products flow's real ``fetch`` op (``prepare`` reads the shop's settings, the
  connector reads products and variations, each raw record kept as JSON text), its output pickled
  to a file and read back (what the IO manager of a deployed run does between ops; dlt's extract
  files are its counterpart), then the real ``normalize`` op (every product with its variations
  mapped to a canonical ``Product``: prices, tax, stock). The ``diff`` and ``push`` ops, which
  write to Fortnox, are not run: they are the load, which dlt does not do here either.

Why this pairing and not "both load": ours loads into Fortnox through rate-limited writes, dlt into
a database; those loads are different work. Up to the load both do what their tool must do to have
the records ready to load, so that is what is timed.

Each side's time starts after its objects are built (our op definitions and resource, dlt's
pipeline and source) and includes everything the stages do, bookkeeping included: our cursor and
failure records in a SQLite state store; dlt's pipeline state, schema and load package.

Like for like, as the issue asks: the same requests (dlt pages by the ``Link`` header the sandbox
sends, as its docs say for such APIs, and is given the query parameters our reader sends, so both
get the same answers; the sandbox's request counts are recorded for both, ours includes the three
settings reads of ``prepare``); sequential against sequential (our ``read_concurrency=1``, dlt
without ``parallelized``) and parallel against parallel (ours with its default of 8 variation lists
at once, dlt with ``parallelized`` on the source and on the child resource and 8 extract workers).
dlt's anonymous telemetry is switched off so that no request leaves the machine during a run.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from bench.common import WOO_KEY, WOO_SECRET, Sandbox, start_sandbox

CONCURRENCY = 8  # our reader's default read_concurrency; dlt gets as many extract workers


@contextmanager
def _env(**values: str) -> Iterator[None]:
    """dlt reads its settings from environment variables too ([doc] https://dlthub.com/docs/
    general-usage/credentials/setup: SECTION__KEY); set for one run only."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _dlt_source(woo_url: str, parallel: bool):
    from dlt.sources.rest_api import rest_api_source

    from integrations_dagster.connectors.woocommerce import mapping

    def params(fields: tuple[str, ...]) -> dict:
        # The query our reader sends (client.Stream): the same answers on both sides.
        return {"per_page": 100, "orderby": "id", "order": "asc", "_fields": ",".join(fields)}

    variations = {"name": "variations",
                  "endpoint": {"path": "products/{resources.products.id}/variations",
                               "params": params(mapping.VARIATION_FIELDS)}}
    if parallel:
        # [doc] https://dlthub.com/docs/dlt-ecosystem/verified-sources/rest_api/advanced
        # ("Per-resource parallelization for dependent resources"): each parent item's child fetch
        # runs in dlt's thread pool instead of one after another.
        variations["parallelized"] = True
    return rest_api_source({
        # [doc] https://dlthub.com/docs/dlt-ecosystem/verified-sources/rest_api/basic (client, auth
        # http_basic) and .../rest_api/advanced#headerlinkpaginator: the next page's URL is in the
        # Link header (rel="next"), as WooCommerce sends it; the last page has no "next", so no
        # empty page is asked for. (dlt's source: dlt/sources/helpers/rest_client/paginators.py.)
        "client": {"base_url": f"{woo_url}/wp-json/wc/v3/",
                   "auth": {"type": "http_basic", "username": WOO_KEY, "password": WOO_SECRET},
                   "paginator": {"type": "header_link"}},
        "resource_defaults": {"write_disposition": "replace"},
        "resources": [{"name": "products", "endpoint": {"path": "products", "params": params(mapping.PRODUCT_FIELDS)}},
                      variations],
    # [doc] rest_api_source(parallelized=...): "resource generators will be extracted in parallel
    # with other resources" (https://dlthub.com/docs/dlt-ecosystem/verified-sources/rest_api/advanced).
    }, parallelized=parallel)


def _dlt(woo: Sandbox, workdir: Path, parallel: bool) -> dict:
    import dlt

    # [doc] https://dlthub.com/docs/reference/performance#extract: the thread pool that runs
    # parallelized resources has `workers` threads (default 5), set in the [extract] section.
    settings = {"EXTRACT__WORKERS": str(CONCURRENCY)} if parallel else {}
    with _env(**settings):
        source = _dlt_source(woo.url, parallel)
        pipeline = dlt.pipeline(pipeline_name="bench_woo", pipelines_dir=str(workdir / "pipelines"),
                                destination=dlt.destinations.duckdb(str(workdir / "bench.duckdb")),
                                dataset_name="woocommerce")
        woo.clear_stats()
        started = time.perf_counter()
        # [doc] https://dlthub.com/docs/reference/explainers/how-dlt-works: extract, normalize and
        # load are separate steps; pipeline.run() is the three in a row.
        pipeline.extract(source)
        pipeline.normalize()
        elapsed = time.perf_counter() - started
    rows = pipeline.last_trace.last_normalize_info.row_counts
    return _side(rows["products"] + rows["variations"], elapsed, woo.stats())


def _ours(woo: Sandbox, workdir: Path, concurrency: int) -> dict:
    from dagster import build_op_context

    from bench.common import env, write_yaml
    from integrations_dagster import config
    from integrations_dagster.build import build_definitions, flow_spec
    from integrations_dagster.connectors.woocommerce import WooCommerceResource
    from integrations_dagster.state.resource import StateStoreResource

    env()
    file = config.load(write_yaml(workdir / "bench.yaml", woo.url, "http://127.0.0.1:9"))  # Fortnox: never called
    integration = file.integrations[0]
    spec = flow_spec(integration, "products", integration.flows["products"])
    job = build_definitions(file).get_job_def("bench_products")
    fetch = job.graph.node_named("bench_products_fetch").definition
    normalize = job.graph.node_named("bench_products_normalize").definition
    # The resource the YAML builds, with `settings: {read_concurrency: N}`.
    resources = {spec.source_key: WooCommerceResource(base_url=woo.url, consumer_key=WOO_KEY,
                                                      consumer_secret=WOO_SECRET, read_concurrency=concurrency),
                 "state": StateStoreResource(url=f"sqlite:///{workdir / 'state.db'}")}
    handoff = workdir / "fetched.pickle"
    # The fetch op's run config of a full read ("full: true"); normalize takes none.
    with build_op_context(resources=resources, op_config={"full": True}) as fetch_context, \
            build_op_context(resources=resources) as context:
        woo.clear_stats()
        started = time.perf_counter()
        fetched = fetch(fetch_context)
        handoff.write_bytes(pickle.dumps(fetched, pickle.HIGHEST_PROTOCOL))
        del fetched
        normalized = normalize(context, pickle.loads(handoff.read_bytes()))
        elapsed = time.perf_counter() - started
    assert not normalized.failed and not normalized.parts_failed, "ours: records failed to map"
    records = len(normalized.records) + sum(len(r.variants) for r in normalized.records)
    return _side(records, elapsed, woo.stats())


def _side(records: int, elapsed: float, stats: dict) -> dict:
    catalogue = sum(n for route, n in stats["requests"].items() if "/products" in route)
    return {"records": records, "wall_s": round(elapsed, 2), "records_per_s": round(records / elapsed),
            "requests": stats["reads"], "catalogue_requests": catalogue}


def run(args) -> dict:
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"  # [doc] https://dlthub.com/docs/reference/telemetry
    woo = start_sandbox("woocommerce", latency_ms=args.latency_ms, products=args.dlt_products,
                        variations=args.variations)
    try:
        runs = {}
        for name, measure in (("ours", lambda d: _ours(woo, d, CONCURRENCY)),
                              ("ours_sequential", lambda d: _ours(woo, d, 1)),
                              ("dlt", lambda d: _dlt(woo, d, parallel=False)),
                              ("dlt_parallelized", lambda d: _dlt(woo, d, parallel=True))):
            with tempfile.TemporaryDirectory(prefix="bench-vs-dlt-") as tmp:
                runs[name] = measure(Path(tmp))
    finally:
        woo.stop()
    counts = {name: r["records"] for name, r in runs.items()}
    assert len(set(counts.values())) == 1, f"the sides read different records: {counts}"
    notes = []
    if len({r["catalogue_requests"] for r in runs.values()}) > 1:
        notes.append("the sides asked for products and variations in different numbers of requests: "
                     + ", ".join(f"{n} {r['catalogue_requests']}" for n, r in runs.items()))
    extra = runs["ours"]["requests"] - runs["ours"]["catalogue_requests"]
    notes.append(f"ours' requests include {extra} reads of the shop's settings (prepare: currency, VAT "
                 "convention, tax rates); catalogue_requests counts the /products requests alone")
    # What no reader can beat: the catalogue's requests, each waiting the sandbox's latency, `CONCURRENCY`
    # at a time (sequential: one at a time). How far each side stays above it says where a ratio can go.
    floor = {"sequential": round(runs["dlt"]["catalogue_requests"] * args.latency_ms / 1000, 2),
             "parallel": round(runs["dlt"]["catalogue_requests"] * args.latency_ms / 1000 / CONCURRENCY, 2)}
    return {
        "products": args.dlt_products, "variations_per_product": args.variations, **runs,
        "latency_floor_s": floor,
        "to_latency_floor": {
            "ours_sequential": round(runs["ours_sequential"]["wall_s"] / floor["sequential"], 2),
            "dlt": round(runs["dlt"]["wall_s"] / floor["sequential"], 2),
            "ours": round(runs["ours"]["wall_s"] / floor["parallel"], 2),
            "dlt_parallelized": round(runs["dlt_parallelized"]["wall_s"] / floor["parallel"], 2)},
        "ratio": round(runs["ours_sequential"]["records_per_s"] / runs["dlt"]["records_per_s"], 2),
        "ratio_vs_parallelized": round(runs["ours"]["records_per_s"] / runs["dlt_parallelized"]["records_per_s"], 2),
        "work": "both read every product and its variations over HTTP, hand the raw records to a "
                "normalize stage and normalize them (ours: the fetch and normalize ops to canonical "
                "records; dlt: extract and normalize to DuckDB load files); neither loads",
        "notes": "; ".join(notes),
    }
