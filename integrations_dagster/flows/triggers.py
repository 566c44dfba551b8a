"""When flows run: schedules (intervals, any cron) and change sensors (realtime); alerts are in ``alerts``.

* A **change sensor** asks the source one cheap question per tick — "what is the newest change
  after my watermark?" — and requests one run for everything that changed (the run reads from the
  flow's own cursor, so a tick never does the I/O of a run). Its cursor is that watermark, never a
  list of ids. It skips a tick while a run of the same job is still waiting or running.
* A **schedule** runs the flow at an interval; a second, daily **reconcile** schedule does a full
  read, which catches edits that do not bump a modification date (WooCommerce variations).
* A flow with ``after:`` is started by neither until the flows it names finished their first sync
  (orders after products: an order's lines then find their articles instead of being booked without).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dagster import (
    DefaultScheduleStatus, DefaultSensorStatus, DagsterRunStatus, RunRequest, RunsFilter,
    ScheduleDefinition, SensorDefinition, SensorEvaluationContext, SkipReason, sensor,
)
from dagster import JobDefinition

from integrations_dagster.config import Flow
from integrations_dagster.connectors.base import Watermark
from integrations_dagster.connectors.http import ApiError
from integrations_dagster.flows.pipeline import FlowSpec
from integrations_dagster.state.resource import open_store

STUCK_AFTER = timedelta(hours=2)
ACTIVE = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
          DagsterRunStatus.STARTED]


def waiting_for(spec: FlowSpec) -> str | None:
    """The first flow of ``spec.after`` that has not finished its first sync (it has no cursor), or None."""
    if not spec.after:
        return None
    store = open_store()
    return next((name for name in spec.after if store.get_cursor(name) is None), None)


def flow_schedules(spec: FlowSpec, flow: Flow, job: JobDefinition) -> list[ScheduleDefinition]:
    schedules = []

    def ready(_context) -> bool:
        return waiting_for(spec) is None

    if cron := flow.triggers.cron("schedule"):
        schedules.append(ScheduleDefinition(
            name=f"{spec.job_name}_schedule", job=job, cron_schedule=cron, execution_timezone="UTC",
            default_status=DefaultScheduleStatus.RUNNING, should_execute=ready,
            description=f"{spec.entity} {spec.source} → {spec.target}: changes since the cursor"))
    if cron := flow.triggers.cron("reconcile"):
        schedules.append(ScheduleDefinition(
            name=f"{spec.job_name}_reconcile", job=job, cron_schedule=cron, execution_timezone="UTC",
            default_status=DefaultScheduleStatus.RUNNING, should_execute=ready,
            run_config={"ops": {f"{spec.job_name}_fetch": {"config": {"full": True}}}},
            tags={"integrations/reconcile": "true"},
            description="full read: catches edits that did not bump a modification date"))
    return schedules


def change_sensor(spec: FlowSpec, flow: Flow, job: JobDefinition) -> SensorDefinition:
    @sensor(name=f"{spec.job_name}_sensor", job=job, minimum_interval_seconds=flow.triggers.sensor_interval_s,
            default_status=DefaultSensorStatus.RUNNING, required_resource_keys={spec.source_key},
            description=f"realtime: a run when {spec.source} has {spec.entity} changed since the watermark")
    def _sensor(context: SensorEvaluationContext, **resources):
        # A run whose process was killed stays STARTED (the default launcher cannot tell): after
        # STUCK_AFTER without a status change it no longer holds the flow's sensor back.
        recent = datetime.now(UTC) - STUCK_AFTER
        if context.instance.get_runs_count(RunsFilter(job_name=job.name, statuses=ACTIVE, updated_after=recent)):
            return SkipReason("a run of this flow is already waiting or running")
        if waiting := waiting_for(spec):
            return SkipReason(f"waiting for the first sync of flow {waiting} (after: in the YAML)")
        # Direct invocation passes required resources as keyword arguments; the daemon only
        # through the context.
        source = resources.get(spec.source_key) or getattr(context.resources, spec.source_key)
        previous = Watermark.decode(context.cursor)
        try:
            mark = source.latest_change(spec.entity, previous)
        except ApiError as exc:
            return SkipReason(f"{spec.source} did not answer: {exc}")
        if mark is not None and mark.encode() != context.cursor:
            context.update_cursor(mark.encode())  # may move on without a run (a new minute, same rows)
        if mark is None or not mark.new:
            seen = mark or previous
            return SkipReason(f"no {spec.entity} changed in {spec.source} since "
                              f"{seen.at.isoformat(timespec='seconds') if seen else 'ever'}")
        return RunRequest(run_key=f"{spec.state_name}@{mark.encode()}", tags={"integrations/trigger": "sensor"})

    return _sensor
