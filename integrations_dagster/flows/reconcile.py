"""Reconciliation: an asset check per flow, ``drift``, that finds where the target no longer holds
what the source says — a price edited by hand in the ERP, stock changed in the shop, a document
whose total differs from the order — before a customer does. It runs on a schedule of its own
(``triggers.drift_check``, hourly by default) and from the UI's *Execute*.

It reads the source (everything; orders from the last ``triggers.drift_window_days`` days), maps
the records as the flow does, and hands the target's ``verify`` only the records the state store
says the target holds as they are (snapshot hash = the record's hash): a difference on those is
drift, not a change still on its way. The rest are counted as pending. Read-only on both sides.
A flow whose target cannot verify (``verify`` not implemented) gets no drift check.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dagster import (
    AssetCheckResult, AssetCheckSeverity, AssetChecksDefinition, AssetSelection, DefaultScheduleStatus,
    MetadataValue, ScheduleDefinition, TableColumn, TableRecord, TableSchema, asset_check, define_asset_job,
    in_process_executor,
)

from integrations_dagster import config as cfg
from integrations_dagster.connectors import resource_class
from integrations_dagster.connectors.base import ConnectorResource, Drift, Window, WriteContext
from integrations_dagster.flows.assets import CHECK_NAME as FAILED_RECORDS_CHECK, target_key
from integrations_dagster.flows.pipeline import accepted_records, connection_options, filter_statuses
from integrations_dagster.flows.spec import FlowSpec
from integrations_dagster.state import StateStore

CHECK_NAME = "drift"
DRIFTS_SHOWN = 200
WINDOWED = {"orders"}  # entities read over the last drift_window_days, not in full: they only grow


def can_verify(target_system: str, entity: str) -> bool:
    return entity in resource_class(target_system).verifies


def drift_check(spec: FlowSpec, trigger: cfg.Trigger) -> AssetChecksDefinition:
    name = CHECK_NAME if spec.check_name == FAILED_RECORDS_CHECK else f"{CHECK_NAME}_{spec.name}"  # (shared asset)

    @asset_check(asset=target_key(spec), name=name,
                 required_resource_keys={spec.source_key, spec.target_key, "state"},
                 description=f"{spec.target} holds what {spec.source} says for flow {spec.state_name} "
                             "(read-only comparison of the records last synced)")
    def _check(context) -> AssetCheckResult:  # (no annotation: Dagster reads it before it is resolved)
        source: ConnectorResource = getattr(context.resources, spec.source_key)
        target: ConnectorResource = getattr(context.resources, spec.target_key)
        report = find_drift(spec, source, target, context.resources.state.store(),
                            window_days=trigger.drift_window_days)
        return report.result(spec)

    return _check


def drift_schedule(spec: FlowSpec, trigger: cfg.Trigger, check: AssetChecksDefinition) -> ScheduleDefinition | None:
    cron = trigger.cron("drift_check")
    if not cron:
        return None
    job = define_asset_job(f"{spec.job_name}_drift", selection=AssetSelection.checks(check),
                           executor_def=in_process_executor, tags={"integrations/integration": spec.integration,
                                                                   "integrations/flow": spec.state_name},
                           description=f"reconciliation of flow {spec.state_name}: {spec.target} against {spec.source}")
    return ScheduleDefinition(name=f"{spec.job_name}_drift_check", job=job, cron_schedule=cron,
                              execution_timezone="UTC", default_status=DefaultScheduleStatus.RUNNING,
                              description=f"finds where {spec.target} no longer holds what {spec.source} says")


class DriftReport:
    def __init__(self, checked: int, pending: int, unmapped: int, drifts: list[Drift]) -> None:
        self.checked, self.pending, self.unmapped, self.drifts = checked, pending, unmapped, drifts

    def result(self, spec: FlowSpec) -> AssetCheckResult:
        keys = {d.key for d in self.drifts}
        severity = AssetCheckSeverity.ERROR if len(keys) >= spec.error_at else AssetCheckSeverity.WARN
        first = "; ".join(f"{d.key} {d.field}: {d.actual if d.actual is not None else 'missing'} "
                          f"(should be {d.expected})" for d in self.drifts[:5])
        return AssetCheckResult(
            passed=not self.drifts, severity=severity,
            description=(f"{len(keys)} of {self.checked} records differ in {spec.target}: {first}"[:1000]
                         if self.drifts else f"all {self.checked} records synced are as {spec.source} says"),
            metadata={"records checked": self.checked, "records that differ": len(keys),
                      "fields that differ": len(self.drifts), "pending (changed since the last sync)": self.pending,
                      "not mappable (see failed_records)": self.unmapped, "drift": _table(self.drifts)})


def find_drift(spec: FlowSpec, source: ConnectorResource, target: ConnectorResource, store: StateStore, *,
               window_days: int, now: datetime | None = None) -> DriftReport:
    """The records of ``spec``'s source that the target should hold as they are, and where it does not."""
    options = source.prepare(spec.entity, connection_options(spec, "source"))
    window = Window(since=(now or datetime.now(UTC)) - timedelta(days=window_days)) \
        if spec.entity in WINDOWED else Window()
    records, unmapped = [], 0
    for raw in source.read(spec.entity, window, options):
        try:
            records.append(source.to_canonical(spec.entity, raw, options))
        except Exception:  # noqa: BLE001 - an unmappable record is the failed_records check's business
            unmapped += 1
    records, _ = filter_statuses(spec, records)
    hashes = store.snapshot_hashes(spec.state_name, [r.key for r in records])
    in_sync = [r for r in records if hashes.get(r.key) == r.content_hash()]
    ctx = WriteContext(binder=store.binder(spec.target), source_binder=store.binder(spec.source),
                       options=connection_options(spec, "target"), owns=spec.owns,
                       accepted=accepted_records(spec, store))
    drifts = list(target.verify(spec.entity, in_sync, ctx)) if in_sync else []
    return DriftReport(len(in_sync), len(records) - len(in_sync), unmapped, drifts)


def _table(drifts: list[Drift]) -> Any:
    columns = ("key", "field", "expected", "actual")
    return MetadataValue.table(
        records=[TableRecord({"key": d.key, "field": d.field, "expected": _text(d.expected),
                              "actual": "missing" if d.actual is None else _text(d.actual)})
                 for d in drifts[:DRIFTS_SHOWN]],
        schema=TableSchema(columns=[TableColumn(c, "string") for c in columns]))


def _text(value: Any) -> str:
    return "" if value is None else str(value)[:300]
