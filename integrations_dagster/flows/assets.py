"""Flows as Dagster assets, so the Catalog shows every integration's health at a glance.

* Each flow writes one **target asset**, ``[integration, target connection, entity]`` (``demo/erp/products``),
  which its push reports on every run (created / updated / linked / failed / unchanged, the last
  successful sync, the run's record table). It depends on the **source asset**
  ``[integration, source connection, entity]`` (``demo/shop/products``), which another system owns:
  Dagster draws the lineage. Where one flow's target is another's source (erp products read back
  to a shop), the two are one asset.
* The target asset's **freshness** follows the flow's trigger: a run, and so a report, is due at
  every schedule tick; a flow that missed two is stale.
* An asset check, ``failed_records``, is red while records of the flow failed and have not landed
  since (a warning from ``failed_records.warn_at`` such records, an error from ``error_at``). The
  push reports it after every run; executing it from the UI re-reads the sync log.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from dagster import (
    AssetCheckEvaluation, AssetCheckResult, AssetCheckSeverity, AssetChecksDefinition,
    AssetKey, AssetSpec, FreshnessPolicy, MetadataValue, TableColumn, TableRecord, TableSchema, asset_check,
)

from integrations_dagster import config as cfg
from integrations_dagster.flows.spec import FlowSpec
from integrations_dagster.state import StateStore

CHECK_NAME = "failed_records"
REASONS_SHOWN = 10
FRESHNESS_MARGIN = timedelta(minutes=5)  # a run takes time, and the queue may hold it a little


def source_key(spec: FlowSpec) -> AssetKey:
    return AssetKey([spec.integration, spec.source, spec.entity])


def target_key(spec: FlowSpec) -> AssetKey:
    return AssetKey([spec.integration, spec.target, spec.entity])


@dataclass
class _Asset:
    key: AssetKey
    kind: str
    deps: set[AssetKey] = field(default_factory=set)
    writers: list[str] = field(default_factory=list)  # flows that push into it
    readers: list[str] = field(default_factory=list)
    freshness: FreshnessPolicy | None = None


def name_checks(specs: list[FlowSpec]) -> list[FlowSpec]:
    """Each flow's check is ``failed_records``; suffixed with the flow's name where two flows write one asset."""
    writers = Counter(target_key(s) for s in specs)
    return [replace(s, check_name=f"{CHECK_NAME}_{s.name}") if writers[target_key(s)] > 1 else s for s in specs]


def integration_assets(integration: cfg.Integration, flows: list[tuple[FlowSpec, cfg.Flow]]
                       ) -> tuple[list[AssetSpec], list[AssetChecksDefinition]]:
    """The asset specs and ``failed_records`` checks of one integration's flows (specs named by ``name_checks``)."""
    assets: dict[AssetKey, _Asset] = {}

    def asset(key: AssetKey, connection: str) -> _Asset:
        return assets.setdefault(key, _Asset(key, integration.connections[connection].system))

    for spec, flow in flows:
        asset(source_key(spec), spec.source).readers.append(spec.name)
        target = asset(target_key(spec), spec.target)
        target.deps.add(source_key(spec))
        target.writers.append(spec.name)
        target.freshness = _freshness(flow)
    specs = [AssetSpec(
        a.key, deps=sorted(a.deps, key=str), group_name=integration.name, kinds={a.kind},
        freshness_policy=a.freshness,
        description=(f"{a.key.path[2]} in {a.key.path[1]}, written by flow {', '.join(a.writers)}" if a.writers
                     else f"{a.key.path[2]} in {a.key.path[1]} (read by flow {', '.join(a.readers)}; "
                          f"{a.key.path[1]} owns it)"),
    ) for a in assets.values()]
    return specs, [_failed_records_check(spec) for spec, _ in flows]


def _freshness(flow: cfg.Flow) -> FreshnessPolicy | None:
    """A report is due at every schedule tick (the push reports even when nothing changed)."""
    every = _interval(flow.triggers.cron("schedule")) or _interval(flow.triggers.cron("reconcile"))
    if every is None:
        return None
    return FreshnessPolicy.time_window(warn_window=every + FRESHNESS_MARGIN, fail_window=2 * every + FRESHNESS_MARGIN)


def _interval(cron: str | None) -> timedelta | None:
    """The longest gap between two ticks of ``cron`` over the next day's ticks."""
    if not cron:
        return None
    from dagster._utils.schedules import cron_string_iterator  # Dagster's own cron reading

    ticks = cron_string_iterator(time.time(), cron, "UTC")
    first = previous = next(ticks)
    longest = timedelta(0)
    for tick in ticks:
        longest = max(longest, tick - previous)
        previous = tick
        if tick - first >= timedelta(days=1):
            break
    return longest


def _failed_records_check(spec: FlowSpec) -> AssetChecksDefinition:
    @asset_check(asset=target_key(spec), name=spec.check_name, required_resource_keys={"state"},
                 description=f"red while records of flow {spec.state_name} failed and have not landed since "
                             f"(warning from {spec.warn_at}, error from {spec.error_at})")
    def _check(context) -> AssetCheckResult:  # (no annotation: Dagster reads it before it is resolved)
        result = failed_records_result(spec, context.resources.state.store())
        return AssetCheckResult(passed=result.passed, severity=result.severity, metadata=result.metadata,
                                description=result.description)

    return _check


def failed_records_result(spec: FlowSpec, store: StateStore, failed_in_run: int | None = None) -> AssetCheckEvaluation:
    """The check's verdict from the sync log (``failed_in_run``: this run's count, when a run reports it)."""
    open_failures = store.unresolved_failures(spec.state_name)
    count = len(open_failures)
    first = open_failures.head(REASONS_SHOWN)
    metadata: dict[str, Any] = {
        "unresolved": count,
        "first reasons": MetadataValue.md(_reasons_table(first)),
        "see all": MetadataValue.text(f"integrations-dagster log --flow {spec.state_name} --failed"),
    }
    if failed_in_run is not None:
        metadata["failed in this run"] = failed_in_run
    severity = AssetCheckSeverity.ERROR if count >= spec.error_at else AssetCheckSeverity.WARN
    passed = count < spec.warn_at
    description = ("no record is waiting on a failure" if passed else
                   (f"{count} records failed and have not landed since; first: " if count != 1 else
                    "1 record failed and has not landed since: ")
                   + "; ".join(f"{k}: {e}" for k, e in zip(first["record_key"], first["error"]))[:500])
    return AssetCheckEvaluation(asset_key=target_key(spec), check_name=spec.check_name, passed=passed, severity=severity,
                                metadata=metadata, description=description)


def _reasons_table(frame) -> str:
    if not len(frame):
        return "none"
    rows = [f"| {_md(k)} | {_md(e)} | {as_utc(at).isoformat(timespec='seconds')} |"
            for k, e, at in zip(frame["record_key"], frame["error"], frame["at"])]
    return "| record | reason | since |\n|---|---|---|\n" + "\n".join(rows)


# ``lineage``: an order's way through the systems (``flows.lineage``), from where it was first taken
RECORD_COLUMNS = ("key", "action", "outcome", "source_id", "target_id", "changes", "reason", "lineage")


def record_table(rows: list[dict[str, Any]]) -> MetadataValue:
    """The run's records as a Dagster table (the first rows; the sync log holds them all)."""
    schema = TableSchema(columns=[TableColumn(c, "string") for c in RECORD_COLUMNS])
    return MetadataValue.table(
        records=[TableRecord({c: _cell(r.get(c)) for c in RECORD_COLUMNS}) for r in rows], schema=schema)


def _cell(value: Any) -> str:
    return "" if value is None else str(value)[:500]


def as_utc(moment: datetime) -> datetime:
    """A sync-log time (SQLite hands them back naive; they are UTC) as an aware UTC datetime."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")[:300]
