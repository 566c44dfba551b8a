"""Suite 2 — crash: SIGKILL the run process at many points of push, then re-run.

Each round starts from an empty Fortnox and an empty state store (an initial sync: every write is a
create, where a crash can duplicate). A child process, forked from a pre-warmed interpreter, runs the
products, orders and invoices jobs one after the other and is SIGKILLed at a point chosen by a
seeded random generator; the next child picks up what is left and is killed again; then the test
process re-runs the jobs. Kill points, in three kinds:

* ``applied`` — the target applied its Nth write and holds the answer (sandbox knob ``hold_write``):
  the target has the record, the run never learns it;
* ``answered`` — the run got the target's answer and is about to write the Nth record to the state
  store (the writer's id-map binding or the engine's landed record): neither is written;
* ``writes`` — the target's count of applied writes reached N (polled): anywhere, mid-request too.

After each round: no duplicate (article numbers, order and invoice ExternalInvoiceReference1,
customer e-mails), the target equals the shop field by field, and one more re-run writes nothing.

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

from flowkit import run, stats
from integrations_dagster import config
from integrations_dagster.build import build_definitions
from integrations_dagster.state import StateStore
from integrations_dagster.state.tables import claims, id_map, snapshots, sync_log
from reliability.relkit import (
    BACKEND, article_mismatches, expected_units, fortnox_duplicates, knobs, write_config,
)
from reliability.crashkit import child_env, child_home, fail_dead_runs, forget_state, reset_sandbox

pytestmark = pytest.mark.reliability

SEED = 20261126
ROUNDS = 4
KILLS_PER_ROUND = 6  # 24 kill points
JOBS = ["demo_products", "demo_orders", "demo_invoices"]
WRITES_PER_ROUND = 60  # about what an initial sync of the demo shop writes to Fortnox
KINDS = ("applied", "answered", "writes")
CHILD_TIMEOUT_S = 30


def _faults(url: str) -> dict:
    return stats(url)["faults"]


def _kill_once(zygote, tmp_path, cfg, fortnox: str, dagster_home, kind: str, n: int, tag: str) -> dict:
    """Fork a child that runs JOBS; SIGKILL it at kill point (kind, n). Returns what happened."""
    done = tmp_path / f"{tag}.done"
    marker = tmp_path / f"{tag}.marker"
    args = {"config": str(cfg), "jobs": JOBS, "dagster_home": child_home(dagster_home), "done": str(done)}
    writes_before = stats(fortnox)["writes"]
    held_before = _faults(fortnox).get("held_after_write", 0)
    if kind == "applied":
        knobs(fortnox, hold_write=n)
    elif kind == "answered":
        args["probe"] = {"state_writes": n, "marker": str(marker)}
    pid = zygote.fork("reliability.crashkit:run_jobs", args, env=child_env(), log=str(tmp_path / f"{tag}.log"))
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    reached = False
    while time.monotonic() < deadline and not done.exists():
        if kind == "answered":
            reached = marker.exists()
        elif kind == "applied":
            reached = _faults(fortnox).get("held_after_write", 0) > held_before
        else:
            reached = stats(fortnox)["writes"] >= writes_before + n
        if reached:
            break
        time.sleep(0.003)
    if reached:
        os.kill(pid, signal.SIGKILL)
    exit_state = zygote.wait(pid)
    if kind == "applied":
        knobs(fortnox, hold_write=0)  # let the held answer go (to a closed socket)
    if not reached:
        assert done.exists(), f"child {tag} neither reached its kill point nor finished: {exit_state}"
        failed = json.loads(done.read_text())["failed"]
        assert not failed, f"child {tag} runs failed: {failed}; see {tag}.log"
    else:
        assert exit_state["signal"] == signal.SIGKILL, exit_state
    return {"killed": reached, "writes_at_kill": stats(fortnox)["writes"] - writes_before}


def _target_problems(woo: str, fortnox: str, units: dict) -> tuple[int, list[str]]:
    """(duplicates, other differences between the shop and Fortnox)."""
    dupes, issues = fortnox_duplicates(woo, fortnox)
    return dupes, article_mismatches(fortnox, units) + issues


def test_sigkill_during_push_then_rerun_converges(tmp_path, woo_sandbox, fortnox_empty, state_url, alert_env,
                                                  zygote, dagster_home, dagster_instance, figures):
    woo, fortnox = woo_sandbox.url, fortnox_empty.url
    cfg = write_config(tmp_path, woo, fortnox)
    defs = build_definitions(config.load(cfg))
    zygote.preload(cfg, child_home(dagster_home), child_env())
    units = expected_units(woo)
    rng = random.Random(SEED)
    kinds: Counter = Counter()
    missed = dupes_found = rewrites = left_started = 0
    problems: list[str] = []
    points: list[tuple] = []
    for round_no in range(ROUNDS):
        reset_sandbox(fortnox)
        forget_state(state_url)
        for k in range(KILLS_PER_ROUND):
            left = max(1, WRITES_PER_ROUND - stats(fortnox)["writes"])
            n = rng.randint(1, max(1, left // (KILLS_PER_ROUND - k)))
            kind = rng.choice(KINDS)
            got = _kill_once(zygote, tmp_path, cfg, fortnox, dagster_home, kind, n, f"r{round_no}k{k}")
            if got["killed"]:
                kinds[kind] += 1
                points.append((round_no, kind, n))
            else:
                missed += 1
        # Runs on PostgreSQL storage: the killed ones are still STARTED there (see fail_dead_runs).
        left_started += fail_dead_runs(dagster_instance, "its process was SIGKILLed by the crash suite")
        for job in JOBS:  # the re-run, in the test process
            assert run(defs, job, instance=dagster_instance).success, f"round {round_no}: re-run of {job} failed"
        dupes, issues = _target_problems(woo, fortnox, units)
        dupes_found += dupes
        problems += [f"round {round_no}: {p}" for p in issues]
        before = stats(fortnox)["writes"]
        for job in JOBS:
            assert run(defs, job, instance=dagster_instance).success
        rewrites += stats(fortnox)["writes"] - before
        with StateStore(state_url).engine.connect() as conn:  # no claim outlives its run
            assert conn.execute(select(func.count()).select_from(claims)).scalar() == 0
    kills = sum(kinds.values())
    figures.setdefault("crash", {}).update({
        "kill points (SIGKILL)": kills,
        "killed after the target applied a write, before its answer": kinds["applied"],
        "killed after the answer, before the state store recorded it": kinds["answered"],
        "killed at a count of applied writes": kinds["writes"],
        "runs that finished before their kill point": missed,
        f"rounds (initial sync, killed {KILLS_PER_ROUND} times, then re-run)": ROUNDS,
        "duplicates found": dupes_found, "differences from the shop after re-run": len(problems),
        "writes by a re-run after convergence": rewrites,
        "killed runs left STARTED in Dagster's storage (then marked failed)": (
            left_started if BACKEND == "postgresql" else "n/a (in memory)"),
    })
    assert kills >= 20, (kinds, missed)
    assert dupes_found == 0
    assert not problems, problems[:10]
    assert rewrites == 0


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
    records = batches = 0
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
                assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        else:
            _no_stuck_locks(state_url)
        state = _whole(state_url)
        assert not state["half"], state["half"][:10]
        assert not state["torn_batches"], state["torn_batches"]
        assert state["open_rows"] == 0
        records, batches = state["records"], state["batches"]
    figures.setdefault("crash", {}).update({
        "state store kills mid-write (1 inside an open 3000-row transaction)": CHURN_KILLS,
        "records whole after them (snapshot + id map + bindings + log)": records,
        "3000-row failure batches whole after them": batches,
        "half-written records or batches": 0,
        "integrity": "PRAGMA integrity_check ok" if BACKEND == "sqlite" else "tables lockable, rows whole",
    })
