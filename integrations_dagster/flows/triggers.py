"""When flows run: schedules (intervals, any cron) and change sensors (realtime); alerts are in ``alerts``.

* A **change sensor** asks the source one cheap question per tick — "what is the newest change
  after my watermark?" — and requests one run for everything that changed (the run reads from the
  flow's own cursor, so a tick never does the I/O of a run). Its cursor is that watermark, never a
  list of ids. It skips a tick while a run of the same job is still waiting or running.
* **Recovery**: when the job's latest finished run failed (an outage of either system), the
  sensor itself requests a retry once a backoff has passed — interval × 2^(failed runs in a row − 1),
  at most ``MAX_RETRY_BACKOFF`` — instead of leaving the pending changes to the next schedule: the
  sensor's watermark has already moved past them, but the flow's cursor has not, so the retry (a
  plain cursor run) reads them again. One retry per failed run (run key ``retry:<run id>``).
* A **webhook sensor** (``triggers.webhook``) ticks over the hints the webhook receiver stored
  (``receiver``): one run for every hint since its cursor (the newest hint's id). The receiver asks
  Dagster for that run itself at once (``launch``): the sensor then finds the hints taken and only
  covers for a receiver that could not reach the webserver (the daemon ticks sensors every 5 s at
  best). It asks the source nothing; the run reads the source as any run does, so lost, doubled or
  reordered deliveries change only latency. While a run is going it waits, and the hints that came
  in meanwhile start the next one.
* A **schedule** runs the flow at an interval; a second, daily **reconcile** schedule does a full
  read, which catches edits that bump no modification date (written straight into the database).
* A flow with ``after:`` is started by neither until the flows it names finished their first sync
  (orders after products: an order's lines then find their articles instead of being booked without).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dagster import (
    DagsterInstance, DefaultScheduleStatus, DefaultSensorStatus, DagsterRunStatus, RunRequest, RunsFilter,
    ScheduleDefinition, SensorDefinition, SensorEvaluationContext, SkipReason, sensor,
)
from dagster import JobDefinition

from integrations_dagster.config import Flow
from integrations_dagster.connectors.base import Watermark
from integrations_dagster.connectors.http import ApiError
from integrations_dagster.flows import lifecycle
from integrations_dagster.flows.pipeline import DRY_RUN_TAG, FlowSpec
from integrations_dagster.launch import HINT_TAG, TRIGGER_TAG
from integrations_dagster.state.resource import open_store

STUCK_AFTER = timedelta(hours=2)
ACTIVE = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
          DagsterRunStatus.STARTED]
FINISHED = [DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED]
# The longest wait between retries: as long as the default interval schedule, so a flow that keeps
# failing is tried no less often than before, and no more often than every half hour at the end.
MAX_RETRY_BACKOFF = timedelta(minutes=30)
# Finished runs looked at to count failures in a row; at the 2 s shortest interval, 2^10 × 2 s is
# past the cap already, so more would not change the backoff.
RETRY_LOOKBACK = 11


def waiting_for(spec: FlowSpec) -> str | None:
    """The first flow of ``spec.after`` that has not finished its first sync (it has no cursor), or None."""
    if not spec.after:
        return None
    store = open_store()
    return next((name for name in spec.after if store.get_cursor(name) is None), None)


def held_back(spec: FlowSpec) -> str | None:
    """Why the flow's triggers start no run now (its integration is disconnected, or a flow of its
    ``after:`` has not finished its first sync), or None."""
    if since := lifecycle.disconnected_since(open_store(), spec.integration):
        return (f"{spec.integration} was disconnected at {since}; "
                f"`integrations-dagster connect {spec.integration}` connects it again")
    if waiting := waiting_for(spec):
        return f"waiting for the first sync of flow {waiting} (after: in the YAML)"
    return None


def flow_schedules(spec: FlowSpec, flow: Flow, job: JobDefinition) -> list[ScheduleDefinition]:
    schedules = []

    def ready(_context) -> bool:
        return held_back(spec) is None

    if cron := flow.triggers.cron("schedule"):
        schedules.append(ScheduleDefinition(
            name=f"{spec.job_name}_schedule", job=job, cron_schedule=cron, execution_timezone="UTC",
            default_status=DefaultScheduleStatus.RUNNING, should_execute=ready,
            description=f"{spec.entity} {spec.source} → {spec.target}: changes since the cursor"))
    if (cron := flow.triggers.cron("reconcile")) and not spec.batched:  # (a feed has no full read)
        schedules.append(ScheduleDefinition(
            name=f"{spec.job_name}_reconcile", job=job, cron_schedule=cron, execution_timezone="UTC",
            default_status=DefaultScheduleStatus.RUNNING, should_execute=ready,
            run_config={"ops": {f"{spec.job_name}_fetch": {"config": {"full": True}}}},
            tags={"integrations/reconcile": "true"},
            description="full read: catches edits that did not bump a modification date"))
    return schedules


@dataclass(frozen=True)
class FailedRun:
    """The job's latest finished run failed: which run, when it ended, how many failed in a row."""

    run_id: str
    ended: datetime
    in_a_row: int

    def backoff(self, interval: timedelta) -> timedelta:
        """interval × 2^(in_a_row − 1), at most MAX_RETRY_BACKOFF."""
        return min(interval * 2 ** (self.in_a_row - 1), MAX_RETRY_BACKOFF)


def last_failure(instance: DagsterInstance, job_name: str) -> FailedRun | None:
    """The job's latest finished run, if it failed (a cancelled run was stopped on purpose: no retry).
    Runs of other jobs (the flow's backfill job among them) are not looked at."""
    records = [r for r in instance.get_run_records(RunsFilter(job_name=job_name, statuses=FINISHED),
                                                   limit=RETRY_LOOKBACK)
               if r.dagster_run.tags.get(DRY_RUN_TAG) != "true"]  # a dry run changes nothing: nothing to retry
    if not records or records[0].dagster_run.status != DagsterRunStatus.FAILURE:
        return None
    in_a_row = next((n for n, r in enumerate(records) if r.dagster_run.status != DagsterRunStatus.FAILURE),
                    len(records))
    latest = records[0]
    ended = (datetime.fromtimestamp(latest.end_time, UTC) if latest.end_time
             else latest.update_timestamp.astimezone(UTC))
    return FailedRun(latest.dagster_run.run_id, ended, in_a_row)


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
        if why := held_back(spec):
            return SkipReason(why)
        # Direct invocation passes required resources as keyword arguments; the daemon only
        # through the context.
        source = resources.get(spec.source_key) or getattr(context.resources, spec.source_key)
        previous = Watermark.decode(context.cursor)
        if failure := last_failure(context.instance, job.name):
            return _retry(context, failure, source, previous)
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

    def _retry(context: SensorEvaluationContext, failure: FailedRun, source, previous: Watermark | None):
        """After a failed run, every tick either waits out the backoff or requests the one retry of
        that run. No change run is requested meanwhile: during an outage each would fail too."""
        due = failure.ended + failure.backoff(timedelta(seconds=flow.triggers.sensor_interval_s))
        if datetime.now(UTC) < due:
            return SkipReason(f"run {failure.run_id} failed ({failure.in_a_row} failed in a row): next retry "
                              f"due at {due.isoformat(timespec='seconds')}")
        # The retry reads everything since the flow's cursor, so the watermark may move past what
        # it will read; a source that does not answer now leaves the watermark where it is.
        try:
            mark = source.latest_change(spec.entity, previous)
        except ApiError:
            mark = None
        if mark is not None and mark.encode() != context.cursor:
            context.update_cursor(mark.encode())
        return RunRequest(run_key=f"retry:{failure.run_id}",
                          tags={"integrations/trigger": "retry", "integrations/retry_of": failure.run_id})

    return _sensor


WEBHOOK_TICK_S = 1


def webhook_sensor(spec: FlowSpec, job: JobDefinition) -> SensorDefinition:
    @sensor(name=f"{spec.job_name}_webhook", job=job, minimum_interval_seconds=WEBHOOK_TICK_S,
            default_status=DefaultSensorStatus.RUNNING,
            description=f"realtime: a run when webhooks from {spec.source} said {spec.entity} changed")
    def _sensor(context: SensorEvaluationContext):
        after = int(context.cursor or 0)
        newest, count = open_store().webhook_events_after(spec.integration, spec.source, spec.entity, after)
        if not count:
            return SkipReason(f"no webhook from {spec.source} about {spec.entity} since hint {after}")
        taken = _hint_taken(context.instance, job.name)
        if taken >= newest:  # the receiver asked for the run itself (launch.py)
            context.update_cursor(str(newest))
            return SkipReason(f"the receiver already asked for a run for hints up to {taken}")
        recent = datetime.now(UTC) - STUCK_AFTER
        if context.instance.get_runs_count(RunsFilter(job_name=job.name, statuses=ACTIVE, updated_after=recent)):
            return SkipReason(f"{count} hints wait for the run that is going")  # cursor kept: the next tick
        if why := held_back(spec):
            return SkipReason(why)
        context.update_cursor(str(newest))
        return RunRequest(run_key=f"{spec.state_name}@hook{newest}",
                          tags={TRIGGER_TAG: "webhook", HINT_TAG: str(newest), "integrations/webhook_hints": str(count)})

    return _sensor


def _hint_taken(instance: DagsterInstance, job_name: str) -> int:
    """The newest hint id a webhook-triggered run of the job was asked for (0: none)."""
    runs = instance.get_runs(RunsFilter(job_name=job_name, tags={TRIGGER_TAG: "webhook"}), limit=1)
    try:
        return int(runs[0].tags.get(HINT_TAG, 0)) if runs else 0
    except ValueError:
        return 0
