"""A backfill never blocks the realtime flows (issue 10, "Recover by itself"): with the repository's
dagster.yaml, a backfill run takes a concurrency slot of its own per target and a lower priority.

One iteration of the run queue's selection (the daemon's own code, deterministic) is asked which
queued runs it would start while a backfill of the same target is running.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from dagster import DagsterEvent, DagsterEventType, DagsterInstance

from flowkit import definitions
from integrations_dagster.flows.pipeline import BACKFILL_TARGET_TAG, PRIORITY_TAG, TARGET_TAG


def test_a_running_backfill_holds_back_another_backfill_but_never_a_realtime_run(tmp_path, woo_sandbox,
                                                                                 fortnox_empty, state_url):
    from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
    from dagster._core.run_coordinator import SubmitRunContext
    from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon

    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(Path(__file__).parents[1] / "dagster.yaml", home / "dagster.yaml")
    defs = definitions(tmp_path, woo_sandbox.url, fortnox_empty.url)
    with DagsterInstance.from_config(str(home)) as instance:
        def submit(name: str, partition: str | None = None) -> str:
            job = defs.get_job_def(name)
            origin = RemoteJobOrigin(RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("integrations_dagster"),
                                                            "__repository__"), name)
            tags = {**job.tags, **({"dagster/partition": partition} if partition else {})}
            run = instance.create_run_for_job(job, tags=tags, remote_job_origin=origin)
            instance.run_coordinator.submit_run(SubmitRunContext(run, workspace=None))
            return run.run_id

        def started(run_id: str) -> None:
            instance.report_dagster_event(DagsterEvent(event_type_value=DagsterEventType.RUN_START.value,
                                                       job_name=instance.get_run_by_id(run_id).job_name), run_id=run_id)

        daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)

        def dequeued() -> list[str]:
            picked = daemon._get_runs_to_dequeue(instance, instance.get_concurrency_config(), fixed_iteration_time=None)
            return [f"{r.job_name}:{r.tags.get('dagster/partition', '')}" for r in picked]

        backfill = submit("demo_products_backfill", "2026-11-02")
        assert instance.get_run_by_id(backfill).tags[PRIORITY_TAG] == "-10"
        assert TARGET_TAG not in instance.get_run_by_id(backfill).tags  # not in the realtime runs' slot
        assert dequeued() == ["demo_products_backfill:2026-11-02"]
        started(backfill)
        second_day = submit("demo_products_backfill", "2026-11-03")
        realtime = submit("demo_orders")  # writes the same target, demo.erp, as the running backfill
        assert dequeued() == ["demo_orders:"]  # the backfill's own slot is busy; the realtime slot is not
        assert instance.get_run_by_id(second_day).tags[BACKFILL_TARGET_TAG] == \
            instance.get_run_by_id(realtime).tags[TARGET_TAG] == "demo.erp"
