"""Engine overhead: the real normalize and diff ops of the products flow on records already fetched,
against a state store that holds the whole catalogue — no network. Its floor is the CPU of merely
parsing the same fetched input (``json.loads`` of every record text the fetch op holds), measured in
the same process, so the ratio holds on a slower or faster machine.

Each store (SQLite, and PostgreSQL when one answers) is measured in a child process of its own, so
that its peak RSS is the ops'. The raw records are a real WooCommerce sandbox answer (one variable
product with its variations), copied with new ids, SKUs, names and prices. The store is filled
beforehand by another child (not measured) as earlier runs would have left it: every product's
snapshot (with its source fingerprint) and id-map row, the odd ones at an older price, so the diff
finds half the catalogue updated. A cold case (empty store: a first sync, nothing to skip) is
measured too, for the record; the goal is the filled store's.

Also reported: ``handoff_cpu_s``, the pickling of the ops' outputs that the run's IO manager does
between them (not part of the goal: Dagster's, not the ops' code).

``python -m bench.cases.engine fill N VARIATIONS STORE_URL`` fills a store;
``python -m bench.cases.engine measure N VARIATIONS STORE_URL warm|cold [PROFILE_FILE]`` measures and
prints JSON (with a profile: cProfile's top functions to PROFILE_FILE).
"""

from __future__ import annotations

import copy
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Iterator

from scripts.pg_up import answers

ROOT = Path(__file__).resolve().parents[2]
PG_SERVER = os.environ.get("BENCH_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
PG_DATABASE = "integrations_bench_engine"
REPEATS = 3


def _template(variations: int) -> dict:
    """One variable product with its variations, as the WooCommerce sandbox answers the reader."""
    from integrations_dagster.connectors.base import Window
    from integrations_dagster.connectors.woocommerce import WooCommerceResource
    from integrations_dagster.sandbox.runner import start_in_thread
    from integrations_dagster.sandbox.woocommerce.demo import load_catalogue

    creds = {"consumer_key": "ck_bench", "consumer_secret": "cs_bench"}
    sb = start_in_thread("woocommerce", credentials=creds, demo=False)
    try:
        load_catalogue(sb.sandbox, 1, variations)
        woo = WooCommerceResource(base_url=sb.url, **creds)
        return next(iter(woo.read("products", Window(), {})))
    finally:
        sb.stop()


def raw_catalogue(n: int, variations: int, *, older: bool = False) -> Iterator[dict]:
    """One product at a time, as the connector's reader yields them. ``older``: the version the
    snapshot holds, where every odd product had another price."""
    template = _template(variations)
    for i in range(1, n + 1):
        raw = copy.deepcopy(template)
        raw.update(id=i, name=f"Bench product {i}", slug=f"bench-product-{i}")
        bump = 1 if older and i % 2 else 0
        for j, var in enumerate(raw["_variations"], start=1):
            var.update(id=n + i * variations + j, parent_id=i, sku=f"BENCH-{i:06d}-{j}",
                       regular_price=f"{100 + i % 97 + bump}.00", stock_quantity=(i + j) % 50)
        yield raw


def _store_url(kind: str, workdir: Path) -> str:
    """An empty state store of ``kind``: a new SQLite file, or a new PostgreSQL database."""
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'state.db'}"
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DATABASE}"))
        conn.execute(text(f"CREATE DATABASE {PG_DATABASE}"))
    admin.dispose()
    return PG_SERVER.rsplit("/", 1)[0] + f"/{PG_DATABASE}"


def _definitions(workdir: Path):
    """The bench integration's definitions and its products flow's spec (the connections' hosts are
    never called: normalize and diff do not touch the network)."""
    from bench.common import env, write_yaml
    from integrations_dagster import config
    from integrations_dagster.build import build_definitions, flow_spec

    env()
    file = config.load(write_yaml(workdir / "bench.yaml", "http://127.0.0.1:9", "http://127.0.0.1:9"))
    integration = file.integrations[0]
    return build_definitions(file), flow_spec(integration, "products", integration.flows["products"])


def _fill(store, spec, source, options: dict, n: int, variations: int) -> None:
    """The snapshot and id map earlier runs left: every product landed, odd ones at an older price."""
    from integrations_dagster.flows.pipeline import Fetched
    from integrations_dagster.flows.prints import mapping_salt, source_print
    from integrations_dagster.state.tables import id_map, snapshots

    at = datetime.now(UTC)
    salt = mapping_salt(source, spec.entity, options)
    rows, ids = [], []
    for text in Fetched.of(raw_catalogue(n, variations, older=True), None, None, False).raw:
        record = source.to_canonical(spec.entity, json.loads(text), options)
        rows.append({"flow": spec.state_name, "key": record.key, "source": spec.source, "target": spec.target,
                     "entity": spec.entity, "hash": record.content_hash(),
                     "payload": json.dumps(record.model_dump(mode="json")), "updated_at": at,
                     "source_print": source_print(salt, text)})
        ids.append({"connection": spec.target, "entity": spec.entity, "key": record.key,
                    "external_id": record.key, "parent_id": None, "updated_at": at})
    with store.engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(snapshots.insert(), rows[i:i + 5000])
            conn.execute(id_map.insert(), ids[i:i + 5000])


def _parse_all(texts: list[str]) -> None:
    """The floor: read every fetched record once, as normalize must (each parsed record is dropped
    before the next, as normalize drops it once mapped)."""
    for text in texts:
        json.loads(text)


def _cpu(fn):
    started = time.process_time()
    out = fn()
    return out, time.process_time() - started


def _ops(url: str, workdir: Path):
    """The products flow's spec, its real normalize and diff ops, and the resources they take."""
    from integrations_dagster.state.resource import StateStoreResource

    defs, spec = _definitions(workdir)
    job = defs.get_job_def("bench_products")
    ops = [job.graph.node_named(f"bench_products_{name}").definition for name in ("normalize", "diff")]
    resources = {k: v for k, v in defs.resources.items() if k in (spec.source_key, spec.target_key)}
    resources["state"] = StateStoreResource(url=url)
    return spec, ops, resources


def fill(n: int, variations: int, url: str) -> dict:
    from integrations_dagster.flows.pipeline import connection_options

    spec, _, resources = _ops(url, Path(tempfile.mkdtemp(prefix="bench-engine-")))
    store = resources["state"].store()
    _fill(store, spec, resources[spec.source_key], connection_options(spec, "source"), n, variations)
    store.dispose()
    return {"filled": n}


def measure(n: int, variations: int, url: str, *, warm: bool, profile: str | None = None,
            repeats: int = REPEATS) -> dict:
    """The floor and the ops, each the best of ``repeats`` (a shared machine's noise is one-sided:
    it only ever adds time)."""
    from integrations_dagster.connectors.base import Window
    from integrations_dagster.flows.pipeline import Fetched, connection_options

    spec, ops, resources = _ops(url, Path(tempfile.mkdtemp(prefix="bench-engine-")))
    store = resources["state"].store()
    options = connection_options(spec, "source")
    texts = Fetched.of(raw_catalogue(n, variations), Window(), datetime.now(UTC), True, options).raw
    rss_input_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    parse = min(_cpu(lambda: _parse_all(texts))[1] for _ in range(repeats))  # the floor
    runs = [_run_ops(ops, resources, Fetched(texts, Window(), datetime.now(UTC), True, options),
                     profile if attempt == 0 else None) for attempt in range(repeats)]
    best = min(runs, key=lambda r: r["normalize_cpu_s"] + r["diff_cpu_s"])
    store.dispose()
    engine_cpu = best["normalize_cpu_s"] + best["diff_cpu_s"]
    handoff = best.pop("handoff_cpu_s")
    expected = {"update": (n + 1) // 2, "create": 0} if warm else {"update": 0, "create": n}  # odd ones changed
    return {"products": n, "variants": n * variations, "repeats": repeats, "parse_cpu_s": round(parse, 3),
            **{k: round(v, 2) if isinstance(v, float) else v for k, v in best.items()},
            "cpu_s": round(engine_cpu, 2), "ratio_to_parse": round(engine_cpu / parse, 2),
            "cpu_s_all_repeats": [round(r["normalize_cpu_s"] + r["diff_cpu_s"], 2) for r in runs],
            "handoff_cpu_s": round(handoff, 2), "ratio_with_handoff": round((engine_cpu + handoff) / parse, 2),
            "expected_changes": expected,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "rss_after_input_mb": round(rss_input_mb)}


def _run_ops(ops, resources: dict, fetched, profile: str | None) -> dict:
    """normalize, the IO manager's handoff, diff, its handoff: CPU of each."""
    from dagster import build_op_context

    normalize, diff = ops
    profiler = None
    if profile:
        import cProfile
        profiler = cProfile.Profile()
        profiler.enable()
    with build_op_context(resources=resources) as context:
        wall0 = time.perf_counter()
        normalized, cpu_norm = _cpu(lambda: normalize(context, fetched))
        del fetched
        mapped, skipped = len(normalized.records), len(normalized.unchanged)
        # Between ops the run's IO manager pickles each output and the next op unpickles it.
        normalized, cpu_norm_io = _cpu(lambda: pickle.loads(pickle.dumps(normalized, pickle.HIGHEST_PROTOCOL)))
        result, cpu_diff = _cpu(lambda: diff(context, normalized))
        del normalized
        _, cpu_diff_io = _cpu(lambda: pickle.loads(pickle.dumps(result, pickle.HIGHEST_PROTOCOL)))
        wall = time.perf_counter() - wall0
    if profiler:
        import pstats
        profiler.disable()
        with open(profile, "w") as fh:
            pstats.Stats(profiler, stream=fh).sort_stats("tottime").print_stats(40)
            pstats.Stats(profiler, stream=fh).sort_stats("cumulative").print_stats(60)
    return {"normalize_cpu_s": cpu_norm, "diff_cpu_s": cpu_diff, "handoff_cpu_s": cpu_norm_io + cpu_diff_io,
            "wall_s": wall, "mapped": mapped, "unchanged_at_source": skipped,
            "changes": {a: sum(c.action == a for c in result.changes) for a in ("create", "update")},
            "unchanged": result.unchanged}


def _child(*argv: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "bench.cases.engine", *argv], capture_output=True, text=True,
                          cwd=ROOT)
    if done.returncode:
        raise RuntimeError(f"engine case {' '.join(argv[:1])} failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_one(n: int, variations: int, kind: str, *, warm: bool = True) -> dict:
    """``warm``: the store holds the catalogue as earlier runs left it (filled by a child of its own,
    so the measuring child's peak RSS is the ops'); cold: an empty store, everything is created."""
    url = _store_url(kind, Path(tempfile.mkdtemp(prefix="bench-engine-")))
    if warm:
        _child("fill", str(n), str(variations), url)
    return {"store": kind, "warm": warm,
            **_child("measure", str(n), str(variations), url, "warm" if warm else "cold")}


def run(args) -> dict:
    """The goal's case (a filled store, half the catalogue changed) on SQLite, then on PostgreSQL
    when a server answers; and a first sync into an empty SQLite store (nothing to skip)."""
    n, v = args.engine_products, args.variations
    out = {"sqlite": run_one(n, v, "sqlite"), "postgresql": None,
           "cold_sqlite": run_one(n, v, "sqlite", warm=False)}
    if answers(PG_SERVER):
        out["postgresql"] = run_one(n, v, "postgresql")
    else:
        out["note"] = f"no PostgreSQL at {PG_SERVER}: SQLite only"
    return out


if __name__ == "__main__":
    what, products, per_product, store_url, *rest = sys.argv[1:]
    if what == "fill":
        print(json.dumps(fill(int(products), int(per_product), store_url)))
    else:
        print(json.dumps(measure(int(products), int(per_product), store_url, warm=rest[0] == "warm",
                                 profile=rest[1] if len(rest) > 1 else None)))
