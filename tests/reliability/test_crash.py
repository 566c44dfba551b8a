"""Suite 2 — crash: SIGKILL the run process at many points of push, then re-run.

Each round starts from an empty Fortnox and an empty state store (an initial sync: every write is a
create, where a crash can duplicate). A child process, forked from a pre-warmed interpreter, runs the
products, orders and invoices jobs one after the other and is SIGKILLed at its Nth create of one
entity — articles, prices, customers, orders, invoices in turn, N drawn by a seeded generator among
the creates of that entity still to come; the next child picks up what is left and is killed at the
next entity; then the test process re-runs the jobs. Kill points, in three kinds (taking turns):

* ``applied`` — the target applied the Nth create of the entity and holds the answer (sandbox knobs
  ``hold_write`` and ``hold_route``): the target has the record, the run never learns it;
* ``answered`` — the run got the answer of that create and is about to write it to the state store
  (the writer's id-map binding or the engine's landed record): neither is written;
* ``writes`` — the target's count of creates of the entity reached N (polled): anywhere, mid-request too.

After each round: no duplicate (article numbers, order and invoice ExternalInvoiceReference1,
customer e-mails), Fortnox equals what the shop's raw data give (``oracle.py``: articles, prices,
documents' totals, VAT, shipping, rows and customers), and one more re-run writes nothing.

Then the state store itself is killed mid-transaction (a large batch, and a transaction held open):
SQLite must pass ``PRAGMA integrity_check`` and on both backends every record is whole: its
snapshot, id-map rows, bindings and sync-log row all there or all absent.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import time
from collections import Counter

import pytest
from sqlalchemy import and_, func, select, text

from flowkit import fx_all, run, stats, woo_get
from integrations_dagster import config
from integrations_dagster.build import build_definitions
from integrations_dagster.state import StateStore
from integrations_dagster.state.tables import claims, id_map, snapshots, sync_log
from reliability.oracle import article_problems, shop_units
from reliability.relkit import BACKEND, fortnox_duplicates, knobs, write_config
from reliability.crashkit import child_env, child_home, fail_dead_runs, forget_state, reset_sandbox

pytestmark = pytest.mark.reliability

SEED = 20261126
JOBS = ["demo_products", "demo_orders", "demo_invoices"]
# What an initial sync of the demo shop creates in Fortnox, entity by entity, in the jobs' order: the
# route of its create and how many the shop's data make (counted from the shop in the test).
ENTITIES = {"articles": "/3/articles", "prices": "/3/prices", "customers": "/3/customers",
            "orders": "/3/orders", "invoices": "/3/invoices"}
KINDS = ("applied", "answered", "writes")
ROUNDS = 6  # each round kills once per entity, the kinds taking turns: 6 kills per entity, 2 of each kind
MIN_KILLS_PER_ENTITY = 5
CHILD_TIMEOUT_S = 30


def _faults(url: str) -> dict:
    return stats(url)["faults"]


def _creates(url: str, entity: str) -> int:
    """How many create requests of ``entity`` the Fortnox sandbox has served since its reset."""
    return stats(url)["requests"].get(f"POST /{{id}}/{entity}", 0)


def _kill_once(zygote, tmp_path, cfg, fortnox: str, dagster_home, kind: str, entity: str, n: int,
               tag: str) -> dict:
    """Fork a child that runs JOBS; SIGKILL it at its ``n``-th create of ``entity`` (the kind says
    where in that create). Returns what happened."""
    done = tmp_path / f"{tag}.done"
    marker = tmp_path / f"{tag}.marker"
    args = {"config": str(cfg), "jobs": JOBS, "dagster_home": child_home(dagster_home), "done": str(done)}
    creates_before = _creates(fortnox, entity)
    held_before = _faults(fortnox).get("held_after_write", 0)
    if kind == "applied":
        knobs(fortnox, hold_write=n, hold_route=f"POST {ENTITIES[entity]}")
    elif kind == "answered":
        args["probe"] = {"answers": n, "route": f"POST {ENTITIES[entity]}", "marker": str(marker)}
    pid = zygote.fork("reliability.crashkit:run_jobs", args, env=child_env(), log=str(tmp_path / f"{tag}.log"))
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    reached = False
    while time.monotonic() < deadline and not done.exists():
        if kind == "answered":
            reached = marker.exists()
        elif kind == "applied":
            reached = _faults(fortnox).get("held_after_write", 0) > held_before
        else:
            reached = _creates(fortnox, entity) >= creates_before + n
        if reached:
            break
        time.sleep(0.003)
    if reached:
        os.kill(pid, signal.SIGKILL)
    exit_state = zygote.wait(pid)
    if kind == "applied":
        knobs(fortnox, hold_write=0, hold_route="")  # let the held answer go (to a closed socket)
    if not reached:
        assert done.exists(), f"child {tag} neither reached its kill point nor finished: {exit_state}"
        failed = json.loads(done.read_text())["failed"]
        assert not failed, f"child {tag} runs failed: {failed}; see {tag}.log"
    else:
        assert exit_state["signal"] == signal.SIGKILL, exit_state
    return {"killed": reached, "held": {e: len(fx_all(fortnox, e, e.capitalize())) for e in
                                        ("articles", "customers", "orders", "invoices")}}


def _shop_counts(woo: str) -> dict[str, int]:
    """What an initial sync must create, counted from the shop's raw data (not from the code)."""
    units = shop_units(woo)
    orders = [o for o in woo_get(woo, "/orders") if o["status"] in ("processing", "completed")]
    return {"articles": len(units), "prices": sum("price" in u for u in units.values()),
            "customers": len({o["billing"]["email"].lower() for o in orders}), "orders": len(orders),
            "invoices": sum(o["status"] == "completed" for o in orders)}


def test_sigkill_at_each_entitys_creates_then_rerun_converges(tmp_path, woo_sandbox, fortnox_empty, state_url,
                                                              alert_env, zygote, dagster_home, dagster_instance,
                                                              figures, store):
    woo, fortnox = woo_sandbox.url, fortnox_empty.url
    cfg = write_config(tmp_path, woo, fortnox)
    defs = build_definitions(config.load(cfg))
    zygote.preload(cfg, child_home(dagster_home), child_env())
    units = shop_units(woo)
    counts = _shop_counts(woo)
    rng = random.Random(SEED)
    kills: Counter = Counter()  # (entity, kind) -> kills
    missed: Counter = Counter()
    held_at_kill: dict[str, Counter] = {e: Counter() for e in ENTITIES}
    dupes_found = rewrites = left_started = 0
    problems: list[str] = []
    for round_no in range(ROUNDS):
        reset_sandbox(fortnox)
        forget_state(state_url)
        for k, entity in enumerate(ENTITIES):
            kind = KINDS[(round_no + k) % len(KINDS)]
            left = counts[entity] - _creates(fortnox, entity)  # creates of this entity still to come
            n = rng.randint(1, max(1, left))
            got = _kill_once(zygote, tmp_path, cfg, fortnox, dagster_home, kind, entity, n, f"r{round_no}-{entity}")
            if got["killed"]:
                kills[entity, kind] += 1
                held_at_kill[entity].update({e: int(c > 0) for e, c in got["held"].items()})
            else:
                missed[entity] += 1
        # Runs on PostgreSQL storage: the killed ones are still STARTED there (see fail_dead_runs).
        left_started += fail_dead_runs(dagster_instance, "its process was SIGKILLed by the crash suite")
        for job in JOBS:  # the re-run, in the test process
            assert run(defs, job, instance=dagster_instance).success, f"round {round_no}: re-run of {job} failed"
        dupes, issues = fortnox_duplicates(woo, fortnox)
        dupes_found += dupes
        problems += [f"round {round_no}: {p}" for p in issues + article_problems(fortnox, units, store.log())]
        before = stats(fortnox)["writes"]
        for job in JOBS:
            assert run(defs, job, instance=dagster_instance).success
        rewrites += stats(fortnox)["writes"] - before
        with StateStore(state_url).engine.connect() as conn:  # no claim outlives its run
            assert conn.execute(select(func.count()).select_from(claims)).scalar() == 0
    by_entity = {e: sum(n for (ent, _), n in kills.items() if ent == e) for e in ENTITIES}
    crash = figures.setdefault("crash", {})
    crash.update({
        f"rounds (initial sync killed once per entity, then re-run)": ROUNDS,
        "kill points (SIGKILL)": sum(kills.values()),
        "duplicates found": dupes_found, "differences from the shop after re-run": len(problems),
        "writes by a re-run after convergence": rewrites,
        "killed runs left STARTED in Dagster's storage (then marked failed)": (
            left_started if BACKEND == "postgresql" else "n/a (in memory)"),
    })
    for entity in ENTITIES:
        crash[f"{entity}: creates in an initial sync"] = counts[entity]
        crash[f"{entity}: kills at its Nth create (applied / answered / writes)"] = " / ".join(
            str(kills[entity, kind]) for kind in KINDS)
        crash[f"{entity}: runs that finished before their kill point"] = missed[entity]
    crash["kills while Fortnox held orders / invoices"] = (
        f"{sum(c['orders'] for c in held_at_kill.values())} / {sum(c['invoices'] for c in held_at_kill.values())}")
    assert dupes_found == 0
    assert not problems, problems[:10]
    assert rewrites == 0
    assert all(n >= MIN_KILLS_PER_ENTITY for n in by_entity.values()), (by_entity, dict(missed))


# -- the state store killed mid-transaction ---------------------------------------------------------

CHURN_KILLS = 4
BATCH_ROWS = 3000


def _whole(url: str) -> dict:
    """Every record of the churn is all there or all absent; every failure batch whole."""
    store = StateStore(url)  # opens (and creates nothing new)
    try:
        with store.engine.connect() as conn:
            snap = set(conn.execute(select(snapshots.c.key).where(snapshots.c.flow == "crash.churn")).scalars())
            payloads = conn.execute(select(snapshots.c.payload).where(snapshots.c.flow == "crash.churn")).scalars()
            assert all(json.loads(p)["sku"] for p in payloads)
            rows = conn.execute(select(id_map.c.connection, id_map.c.key).where(
                id_map.c.key.like("K%"))).all()
            target = {k for c, k in rows if c == "erp" and "-" not in k}
            source = {k for c, k in rows if c == "shop"}
            bindings = Counter(k.split("-")[0] for c, k in rows if c == "erp" and "-" in k)
            logged = set(conn.execute(select(sync_log.c.record_key).where(and_(
                sync_log.c.flow == "crash.churn", sync_log.c.stage == "push",
                sync_log.c.run_id.like("churn-%")))).scalars())
            batches = dict(conn.execute(select(sync_log.c.run_id, func.count()).where(
                sync_log.c.run_id.like("batch-%")).group_by(sync_log.c.run_id)).all())
            open_rows = conn.execute(select(func.count()).select_from(sync_log).where(
                sync_log.c.run_id == "open-transaction")).scalar()
        half = sorted((snap ^ target) | (snap ^ source) | (snap ^ logged)
                      | {k for k in snap if bindings.get(k) != 3} | (set(bindings) - snap))
        return {"records": len(snap), "half": half, "batches": len(batches),
                "torn_batches": [b for b, n in batches.items() if n != BATCH_ROWS], "open_rows": open_rows}
    finally:
        store.dispose()


def _no_stuck_locks(url: str) -> None:
    """PostgreSQL: the killed client's transaction is gone (its locks too): take every table exclusively."""
    store = StateStore(url)
    try:
        with store.engine.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '10s'"))
            conn.execute(text("LOCK TABLE snapshots, id_map, sync_log, claims IN ACCESS EXCLUSIVE MODE"))
    finally:
        store.dispose()


def test_sigkill_mid_transaction_leaves_state_store_whole(tmp_path, state_url, zygote, figures):
    rng = random.Random(SEED + 1)
    records = batches = torn = 0
    checks: list[bool] = []
    examples: list = []
    for i in range(CHURN_KILLS):
        marker = tmp_path / f"churn-{i}.marker"
        hold_open = i == 0  # the first child is killed inside a transaction for sure
        args = {"url": state_url, "start": i * 1_000_000, "marker": str(marker), "batch_every": 3,
                "batch_rows": BATCH_ROWS, "hold_open": hold_open}
        pid = zygote.fork("reliability.crashkit:state_churn", args, env=child_env(),
                          log=str(tmp_path / f"churn-{i}.log"))
        # Killed after a random number of committed transactions, a random moment into the next ones
        # (one-record transactions and 3000-row batches).
        after = 0 if hold_open else rng.randint(1, 12)
        deadline = time.monotonic() + CHILD_TIMEOUT_S
        while not marker.exists() or (not hold_open and int(marker.read_text()) < after):
            assert time.monotonic() < deadline, (tmp_path / f"churn-{i}.log").read_text()[-2000:]
            time.sleep(0.002)
        if not hold_open:
            time.sleep(rng.uniform(0.0, 0.4))
        assert zygote.kill(pid)["signal"] == signal.SIGKILL
        if BACKEND == "sqlite":
            path = state_url.split("///", 1)[1]
            with sqlite3.connect(path) as db:
                checks.append(db.execute("PRAGMA integrity_check").fetchall() == [("ok",)])
        else:
            _no_stuck_locks(state_url)  # raises when a killed client's lock outlived it
            checks.append(True)
        state = _whole(state_url)
        torn += len(state["half"]) + len(state["torn_batches"]) + state["open_rows"]
        examples += state["half"][:3] + state["torn_batches"][:3]
        records, batches = state["records"], state["batches"]
    figures.setdefault("crash", {}).update({
        "state store kills mid-write (1 inside an open 3000-row transaction)": CHURN_KILLS,
        "records whole after them (snapshot + id map + bindings + log)": records,
        "3000-row failure batches whole after them": batches,
        "half-written records, batches or rows of the open transaction": torn,
        "integrity checks passed after a kill": (f"{sum(checks)} of {len(checks)} "
                                                 + ("(PRAGMA integrity_check)" if BACKEND == "sqlite"
                                                    else "(every table lockable)")),
    })
    assert all(checks) and len(checks) == CHURN_KILLS
    assert torn == 0, examples
