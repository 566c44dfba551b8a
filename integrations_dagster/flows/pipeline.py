"""A flow as a Dagster job: fetch → normalize → diff → push.

Read top-down:

1. **fetch** reads the source's raw records for a window: from the flow's cursor minus an overlap
   (the default), everything (``full``, the first run and the periodic reconcile), a given range
   (run config), or one day (the backfill job's partition).
2. **normalize** maps each raw record to a canonical record; a record that cannot be mapped goes
   to the sync log with its reason and the rest go on.
3. **diff** compares content hashes with the snapshot of what the target last accepted (pandas):
   create / update / unchanged / deleted.
4. **push** hands the changes to the target's writer in batches and records each outcome as it
   lands (snapshot + id map + sync log in one transaction); the cursor advances only when every
   change was either accepted or refused for a reason of its own (a bad record), so a run that gave
   up is re-read next time.

The engine only calls the connector contract (``connectors.base``); it never names a system.
"""


from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from dagster import (
    Config, DailyPartitionsDefinition, Failure, In, JobDefinition, MetadataValue, OpExecutionContext,
    Out, Output, RetryPolicy, Backoff, in_process_executor, job, op,
)
from pydantic import ValidationError

from integrations_dagster.connectors.base import Change, ConnectorResource, Outcome, Window, WriteContext
from integrations_dagster.connectors.http import ApiError
from integrations_dagster.model import RECORD_TYPES, CanonicalRecord, RecordError
from integrations_dagster.state import FlowRef, StateStore

TARGET_TAG = "integrations/target"
MAX_FAILURES_SHOWN = 50


@dataclass(frozen=True)
class FlowSpec:
    """Everything a flow's ops need to know, from the YAML."""

    integration: str
    name: str  # flow name in the YAML: products, orders, stock...
    entity: str
    source: str  # connection names
    target: str
    mode: str = "both"
    batch_size: int = 500
    op_retries: int = 2
    op_retry_delay_s: float = 2.0
    overlap: timedelta = timedelta(minutes=10)
    source_options: dict[str, Any] = field(default_factory=dict)
    target_options: dict[str, Any] = field(default_factory=dict)
    flow_options: dict[str, Any] = field(default_factory=dict)

    @property
    def job_name(self) -> str:
        return f"{self.integration}_{self.name}"

    @property
    def state_name(self) -> str:
        return f"{self.integration}.{self.name}"

    @property
    def ref(self) -> FlowRef:
        return FlowRef(self.state_name, self.source, self.target, self.entity)

    @property
    def source_key(self) -> str:
        return resource_key(self.integration, self.source)

    @property
    def target_key(self) -> str:
        return resource_key(self.integration, self.target)


def resource_key(integration: str, connection: str) -> str:
    return f"{integration}__{connection}"


class FetchConfig(Config):
    """Run config of the fetch op (all optional: the default is "since the cursor")."""

    full: bool = False  # read everything: initial sync or reconcile
    since: str | None = None  # ISO date or date-time (UTC): read from here
    until: str | None = None


@dataclass
class Fetched:
    raw: list[dict]
    window: Window
    started: datetime
    moves_cursor: bool


@dataclass
class Normalized:
    records: list[CanonicalRecord]
    fetched: Fetched
    failed: int


@dataclass
class Diff:
    changes: list[Change]
    unchanged: int
    deleted: list[str]
    fetched: Fetched


def build_flow_job(spec: FlowSpec, *, partitions: DailyPartitionsDefinition | None = None) -> JobDefinition:
    """The four ops of one flow wired as a job (a daily-partitioned sibling when ``partitions``)."""
    suffix = "_backfill" if partitions else ""
    prefix = f"{spec.job_name}{suffix}"
    flow_tag = {"integrations/flow": spec.state_name}

    @op(name=f"{prefix}_fetch", required_resource_keys={spec.source_key, "state"}, out=Out(Fetched),
        tags=flow_tag)
    def fetch(context: OpExecutionContext, config: FetchConfig) -> Fetched:
        """Read the source's raw records for this run's window."""
        store: StateStore = context.resources.state.store()
        source: ConnectorResource = getattr(context.resources, spec.source_key)
        window, moves_cursor = _window(context, spec, config, store, partitioned=partitions is not None)
        started = datetime.now(UTC)
        options = _options(spec, "source")
        try:
            raw = list(source.read(spec.entity, window, options))
        except ApiError as exc:
            raise Failure(f"{spec.state_name}: reading {spec.entity} from {spec.source} failed: {exc}") from None
        context.log.info(f"fetched {len(raw)} {spec.entity} from {spec.source} ({_describe(window)})")
        context.add_output_metadata({"records": len(raw), "window": _describe(window)})
        return Fetched(raw, window, started, moves_cursor)

    @op(name=f"{prefix}_normalize", required_resource_keys={spec.source_key, "state"},
        ins={"fetched": In(Fetched)}, out=Out(Normalized), tags=flow_tag)
    def normalize(context: OpExecutionContext, fetched: Fetched) -> Normalized:
        """Map raw records to canonical ones; log each one that cannot be mapped, with its reason."""
        store: StateStore = context.resources.state.store()
        source: ConnectorResource = getattr(context.resources, spec.source_key)
        options = _options(spec, "source")
        records, failures = [], []
        for raw in fetched.raw:
            try:
                records.append(source.to_canonical(spec.entity, raw, options))
            except (RecordError, ValidationError, ValueError, TypeError, KeyError) as exc:
                key = _safe_raw_key(source, spec.entity, raw)
                reason = _reason(exc)
                failures.append((key, reason))
                store.record_failed(context.run_id, spec.state_name, key=key, stage="normalize",
                                    action="map", error=reason)
        records, skipped = _filter_statuses(spec, records)
        for key, reason in failures:
            context.log.warning(f"{key}: {reason}")
        context.add_output_metadata({"records": len(records), "failed": len(failures),
                                     "skipped_by_status": skipped,
                                     "failures": MetadataValue.md(_failure_table(failures))})
        return Normalized(records, fetched, len(failures))

    @op(name=f"{prefix}_diff", required_resource_keys={spec.target_key, "state"},
        ins={"normalized": In(Normalized)}, out=Out(Diff), tags=flow_tag)
    def diff(context: OpExecutionContext, normalized: Normalized) -> Diff:
        """Compare with the snapshot of what the target accepted: create / update / unchanged."""
        store: StateStore = context.resources.state.store()
        records, dupes = _dedupe(normalized.records)
        for key, reason in dupes:
            store.record_failed(context.run_id, spec.state_name, key=key, stage="diff", action="map", error=reason)
            context.log.warning(f"{key}: {reason}")
        result = compute_diff(spec, store, records, full=normalized.fetched.window.full)
        context.add_output_metadata({
            "create": sum(c.action == "create" for c in result.changes),
            "update": sum(c.action == "update" for c in result.changes),
            "unchanged": result.unchanged, "deleted_in_source": len(result.deleted),
            "duplicates": len(dupes),
        })
        return Diff(result.changes, result.unchanged, result.deleted, normalized.fetched)

    @op(name=f"{prefix}_push", required_resource_keys={spec.target_key, spec.source_key, "state"},
        ins={"diff": In(Diff)}, tags=flow_tag)
    def push(context: OpExecutionContext, diff: Diff) -> Output[None]:
        """Write the changes to the target; record each outcome as it lands."""
        store: StateStore = context.resources.state.store()
        target: ConnectorResource = getattr(context.resources, spec.target_key)
        ctx = WriteContext(binder=store.binder(spec.target), source_binder=store.binder(spec.source),
                           options=_options(spec, "target"), log=context.log.info)
        tally = _push_changes(context, spec, store, target, ctx, diff.changes)
        if tally.error:
            raise Failure(
                description=f"{spec.state_name}: gave up after {tally.landed} records landed: {tally.error}",
                metadata=tally.metadata(diff.unchanged))
        if diff.fetched.moves_cursor:
            store.set_cursor(spec.state_name, diff.fetched.started.isoformat())
        if tally.failed:
            context.log.warning(f"{tally.failed} of {len(diff.changes)} records failed; see the sync log")
        return Output(None, metadata=tally.metadata(diff.unchanged))

    tags = {TARGET_TAG: f"{spec.integration}.{spec.target}", "integrations/integration": spec.integration}

    @job(name=prefix, tags=tags, executor_def=in_process_executor, partitions_def=partitions,
         op_retry_policy=RetryPolicy(max_retries=spec.op_retries, delay=spec.op_retry_delay_s,
                                     backoff=Backoff.EXPONENTIAL),
         description=f"{spec.entity}: {spec.source} → {spec.target}"
                     + (" (one day per partition)" if partitions else ""))
    def flow_job() -> None:
        push(diff(normalize(fetch())))

    return flow_job


# -- the pieces, in the order the ops use them -----------------------------------------------------

def _window(context: OpExecutionContext, spec: FlowSpec, config: FetchConfig, store: StateStore,
            *, partitioned: bool) -> tuple[Window, bool]:
    """The window to read, and whether a success may move the flow's cursor."""
    if partitioned:
        tw = context.partition_time_window
        return Window(since=tw.start.astimezone(UTC), until=tw.end.astimezone(UTC)), False
    if config.full:
        return Window(), True
    if config.since or config.until:
        return Window(since=_parse_time(config.since), until=_parse_time(config.until)), False
    cursor = store.get_cursor(spec.state_name)
    if cursor is None:
        return Window(), True  # the initial sync reads everything
    return Window(since=datetime.fromisoformat(cursor) - spec.overlap), True


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Failure(f"run config: {value!r} is not an ISO date or date-time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _describe(window: Window) -> str:
    if window.full:
        return "everything"
    return f"{window.since.isoformat() if window.since else '…'} to {window.until.isoformat() if window.until else 'now'}"


def _options(spec: FlowSpec, side: str) -> dict[str, Any]:
    conn = spec.source_options if side == "source" else spec.target_options
    name = spec.source if side == "source" else spec.target
    return {**conn, **spec.flow_options, "connection": name, "mode": spec.mode}


def _safe_raw_key(source: ConnectorResource, entity: str, raw: Any) -> str:
    try:
        return source.raw_key(entity, raw)
    except Exception:  # a hostile record may break even its own name
        return f"{entity} record"


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in exc.errors()[:5])
    return str(exc) or type(exc).__name__


def _filter_statuses(spec: FlowSpec, records: list[CanonicalRecord]) -> tuple[list[CanonicalRecord], int]:
    """Orders move only in the statuses the flow names (default: processing, completed)."""
    statuses = spec.flow_options.get("statuses")
    if spec.entity != "orders" or not statuses:
        return records, 0
    kept = [r for r in records if str(getattr(r, "status", "")) in set(statuses)]
    return kept, len(records) - len(kept)


def _dedupe(records: list[CanonicalRecord]) -> tuple[list[CanonicalRecord], list[tuple[str, str]]]:
    """Two source records with one key (a SKU used twice) cannot both land: keep the first."""
    seen: dict[str, CanonicalRecord] = {}
    dupes = []
    for r in records:
        if r.key in seen:
            dupes.append((r.key, f"key {r.key!r} is used by two source records "
                                 f"({getattr(seen[r.key], 'source_id', '?')} and {getattr(r, 'source_id', '?')}); "
                                 "the second was not synced"))
        else:
            seen[r.key] = r
    return list(seen.values()), dupes


@dataclass
class DiffResult:
    changes: list[Change]
    unchanged: int
    deleted: list[str]


def compute_diff(spec: FlowSpec, store: StateStore, records: list[CanonicalRecord], *, full: bool) -> DiffResult:
    """Hashes of the fetched records against the snapshot, joined in pandas."""
    fetched = pd.DataFrame({"key": [r.key for r in records], "hash": [r.content_hash() for r in records]},
                           dtype="string")
    snap = store.snapshot_frame(spec.state_name).astype("string")
    merged = fetched.merge(snap, on="key", how="outer", suffixes=("", "_snap"), indicator=True)
    created = merged.loc[merged["_merge"] == "left_only", "key"]
    both = merged[merged["_merge"] == "both"]
    updated = both.loc[both["hash"] != both["hash_snap"], "key"]
    unchanged = int((both["hash"] == both["hash_snap"]).sum())
    deleted = list(merged.loc[merged["_merge"] == "right_only", "key"]) if full else []
    by_key = {r.key: r for r in records}
    record_type = RECORD_TYPES[spec.entity]
    previous = store.snapshot_payloads(spec.state_name, updated)
    binder = store.binder(spec.target)
    changes = [Change("create", k, by_key[k], target_id=binder.external_id(spec.entity, k)) for k in created]
    changes += [Change("update", k, by_key[k], previous=_revive(record_type, previous.get(k)),
                       target_id=binder.external_id(spec.entity, k)) for k in updated]
    return DiffResult(changes, unchanged, deleted)


def _revive(record_type: type[CanonicalRecord], payload: dict | None) -> CanonicalRecord | None:
    if payload is None:
        return None
    try:
        return record_type.model_validate(payload)
    except ValidationError:
        return None  # an old snapshot shape: the writer treats the record as wholly changed


@dataclass
class Tally:
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None

    @property
    def landed(self) -> int:
        return sum(n for k, n in self.counts.items() if k != "failed")

    @property
    def failed(self) -> int:
        return self.counts.get("failed", 0)

    def add(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1

    def metadata(self, unchanged: int) -> dict[str, Any]:
        return {**{k: self.counts.get(k, 0) for k in ("created", "updated", "linked", "failed")},
                **{k: v for k, v in self.counts.items() if k not in ("created", "updated", "linked", "failed")},
                "unchanged": unchanged, "failures": MetadataValue.md(_failure_table(self.failures))}


def _push_changes(context: OpExecutionContext, spec: FlowSpec, store: StateStore, target: ConnectorResource,
                  ctx: WriteContext, changes: list[Change]) -> Tally:
    tally = Tally()
    pending = {c.key: c for c in changes}
    for start in range(0, len(changes), spec.batch_size):
        batch = changes[start:start + spec.batch_size]
        try:
            for outcome in target.write(spec.entity, batch, ctx):
                _record(context, spec, store, pending.pop(outcome.key, None), outcome, tally)
        except ApiError as exc:
            tally.error = str(exc)
            return tally
    return tally


def _record(context: OpExecutionContext, spec: FlowSpec, store: StateStore, change: Change | None,
            outcome: Outcome, tally: Tally) -> None:
    if change is None:
        context.log.warning(f"writer reported {outcome.key!r}, which was not in this batch")
        return
    source_id = getattr(change.record, "source_id", None)
    if not outcome.ok:
        tally.add("failed")
        tally.failures.append((outcome.key, outcome.error or "refused"))
        store.record_failed(context.run_id, spec.state_name, key=outcome.key, stage="push", action=change.action,
                            error=outcome.error or "refused", source_id=source_id, target_id=outcome.target_id)
        return
    tally.add(outcome.action)
    record = change.record
    store.record_landed(
        context.run_id, spec.ref, key=outcome.key, action=change.action, outcome=outcome.action,
        record_hash=record.content_hash() if record else None,
        payload=record.model_dump(mode="json") if record else None,
        target_id=outcome.target_id, source_id=source_id, bindings=outcome.bindings,
        binding_entity=outcome.binding_entity, changed=_changed_fields(change))


def _changed_fields(change: Change) -> str | None:
    if change.previous is None or change.record is None:
        return None
    old, new = change.previous.model_dump(mode="json"), change.record.model_dump(mode="json")
    return ",".join(sorted(k for k in new if old.get(k) != new.get(k) and k not in change.record.volatile_fields)) or None


def _failure_table(failures: list[tuple[str, str]]) -> str:
    if not failures:
        return "none"
    rows = [f"| {_md(k)} | {_md(r)} |" for k, r in failures[:MAX_FAILURES_SHOWN]]
    more = f"\n\n… and {len(failures) - MAX_FAILURES_SHOWN} more in the sync log" if len(failures) > MAX_FAILURES_SHOWN else ""
    return "| record | reason |\n|---|---|\n" + "\n".join(rows) + more


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")[:300]
