"""Suite 6 — PostgreSQL and racing runs.

The whole reliability suite runs twice (``make test``): state store and Dagster's own storage on
SQLite / in memory, then both on PostgreSQL (``INTEGRATIONS_TEST_PG_URL``; ``dagster_instance`` and
``dagster_home`` put Dagster's runs and events on a fresh PostgreSQL database). This file adds:

* two runs of one flow racing on one target with an empty id map, the tag concurrency limit
  bypassed (two processes calling ``execute_in_process``): the state store's claims (a unique
  constraint) must still stop a duplicate;
* the tag concurrency limit itself: with the repository's dagster.yaml, of two queued runs with one
  ``integrations/target`` tag the run queue dequeues one at a time.
"""

from __future__ import annotations

import json
import os
import time

import pytest
from dagster import DagsterRunStatus

from flowkit import run, stats
from integrations_dagster import config
from integrations_dagster.build import build_definitions
from integrations_dagster.flows.pipeline import TARGET_TAG
from reliability.crashkit import child_env, child_home, fail_dead_runs, forget_state, reset_sandbox
from reliability.relkit import BACKEND, fortnox_duplicates, knobs, write_config

pytestmark = pytest.mark.reliability

RACERS = 2
ROUNDS = 2


def _race(zygote, tmp_path, cfg, jobs, dagster_home, tag: str) -> list[dict]:
    """Start RACERS children on ``jobs`` at the same instant; wait for all; their exit states."""
    go = tmp_path / f"go-{tag}"
    done = [tmp_path / f"racer-{tag}-{i}.done" for i in range(RACERS)]
    pids = [zygote.fork("reliability.crashkit:run_jobs",
                        {"config": str(cfg), "jobs": jobs, "go": str(go), "dagster_home": child_home(dagster_home),
                         "done": str(done[i])},
                        env=child_env(), log=str(tmp_path / f"racer-{tag}-{i}.log"))
            for i in range(RACERS)]
    time.sleep(0.05)
    go.write_text("go")
    exits = [zygote.wait(pid) for pid in pids]
    return [{**e, **(json.loads(d.read_text()) if d.exists() else {})} for e, d in zip(exits, done)]


def test_racing_runs_on_one_target_make_no_duplicates(tmp_path, woo_sandbox, fortnox_empty, state_url, alert_env,
                                                      zygote, dagster_home, dagster_instance, figures):
    woo, fortnox = woo_sandbox.url, fortnox_empty.url
    cfg = write_config(tmp_path, woo, fortnox)
    defs = build_definitions(config.load(cfg))
    zygote.preload(cfg, child_home(dagster_home), child_env())
    knobs(fortnox, latency_ms=10)  # widen the window between a writer's lookup and its create
    exits = []
    for round_no in range(ROUNDS):
        if round_no:
            reset_sandbox(fortnox)
            forget_state(state_url)
        exits += _race(zygote, tmp_path, cfg, ["demo_products", "demo_orders", "demo_invoices"], dagster_home,
                       f"r{round_no}")
    knobs(fortnox, latency_ms=0)
    crashed = [e for e in exits if e["code"] != 0 or e.get("failed")]
    waited_for = sum(e.get("pushed", {}).get("landed by another run", 0) for e in exits)

    dupes, issues = fortnox_duplicates(woo, fortnox)
    for job in ("demo_products", "demo_orders", "demo_invoices"):
        assert run(defs, job, instance=dagster_instance).success
    before = stats(fortnox)["writes"]
    for job in ("demo_products", "demo_orders", "demo_invoices"):
        assert run(defs, job, instance=dagster_instance).success
    rewrites = stats(fortnox)["writes"] - before
    figures.setdefault("postgres", {}).update({
        "racing rounds (2 runs, tag limit bypassed)": ROUNDS, "racing runs that failed": len(crashed),
        "duplicates after racing runs": dupes,
        "records a racing run found landed by the other (claim lost, waited)": waited_for,
        "Dagster storage": "PostgreSQL" if BACKEND == "postgresql" else "in memory",
    })
    assert dupes == 0, "duplicate articles, customers, orders or invoices in Fortnox"
    assert not crashed, [open(tmp_path / f).read()[-3000:] for f in os.listdir(tmp_path) if f.startswith("racer")]
    assert not issues, issues[:10]
    assert rewrites == 0
    assert waited_for > 0, "the runs never contended: this test proved nothing"


def test_tag_concurrency_limit_dequeues_one_run_per_target(tmp_path, woo_sandbox, fortnox_empty, alert_env,
                                                           dagster_home, figures):
    """The repository's dagster.yaml: of queued runs tagged with one target, the run queue (one
    iteration of the daemon's selection, deterministic) starts one at a time; another target's run
    is not held back."""
    from dagster import DagsterEvent, DagsterEventType, DagsterInstance
    from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
    from dagster._core.run_coordinator import QueuedRunCoordinator, SubmitRunContext
    from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon

    defs = build_definitions(config.load(write_config(tmp_path, woo_sandbox.url, fortnox_empty.url)))
    instance = DagsterInstance.from_config(str(dagster_home))
    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
    queue = instance.get_concurrency_config().run_queue_config
    assert {"key": TARGET_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1} in queue.tag_concurrency_limits

    def submit(name: str) -> str:
        job = defs.get_job_def(name)
        origin = RemoteJobOrigin(RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("integrations_dagster"),
                                                        "__repository__"), name)  # as workspace.yaml names it
        dagster_run = instance.create_run_for_job(job, tags={**job.tags, "reliability/test": "tag-limit"},
                                                  remote_job_origin=origin)
        instance.run_coordinator.submit_run(SubmitRunContext(dagster_run, workspace=None))
        return dagster_run.run_id

    def report(run_id: str, event_type: DagsterEventType) -> None:
        job_name = instance.get_run_by_id(run_id).job_name
        instance.report_dagster_event(DagsterEvent(event_type_value=event_type.value, job_name=job_name),
                                      run_id=run_id)

    # A run SIGKILLed elsewhere would still count against its target's limit (see fail_dead_runs).
    fail_dead_runs(instance, "its process was killed")

    daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)

    def dequeued() -> list[str]:
        picked = daemon._get_runs_to_dequeue(instance, instance.get_concurrency_config(), fixed_iteration_time=None)
        return sorted(r.job_name for r in picked if r.tags.get("reliability/test") == "tag-limit")

    submitted: list[str] = []
    try:
        products, orders, stock = submit("demo_products"), submit("demo_orders"), submit("demo_stock")
        submitted += [products, orders, stock]
        assert instance.get_run_by_id(orders).status == DagsterRunStatus.QUEUED
        assert instance.get_run_by_id(products).tags[TARGET_TAG] == instance.get_run_by_id(orders).tags[TARGET_TAG]
        first = dequeued()  # products and orders both write demo.erp: only the older one; stock writes demo.shop
        assert first == ["demo_products", "demo_stock"], first
        for run_id in (products, stock):
            report(run_id, DagsterEventType.RUN_START)
        while_running = dequeued()
        assert while_running == [], while_running  # demo.erp is busy
        report(products, DagsterEventType.RUN_SUCCESS)
        after = dequeued()
        assert after == ["demo_orders"], after
        figures.setdefault("postgres", {}).update({
            "queued runs on one target started together (limit 1)": len([j for j in first if j != "demo_stock"]),
        })
    finally:
        for run_id in submitted:  # leave the shared instance's queue empty
            instance.delete_run(run_id)
        instance.dispose()
