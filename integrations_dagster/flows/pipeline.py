"""A flow as a Dagster job: fetch → normalize → diff → push.

Read top-down:

1. **fetch** reads the source's raw records for a window: from the flow's cursor minus an overlap
   (the default), everything (``full``, the first run and the periodic reconcile), a given range
   (run config), one day (the backfill job's partition), or named records (``keys``, and with
   ``retry_failed`` every record that failed and has not landed since: a re-send, pushed even when
   unchanged). First it asks the source how to read it (``prepare``: the shop's own currency, VAT
   setup...), under the YAML's options.
2. **normalize** maps each raw record to a canonical record; a record that cannot be mapped goes
   to the sync log with its reason and the rest go on, and so do the parts a mapper left out.
3. **diff** compares content hashes with the snapshot of what the target last accepted:
   create / update / unchanged / deleted.
4. **push** hands the changes to the target's writer in batches and records each outcome as it
   lands (snapshot + id map + sync log in one transaction). It first claims each batch's records in
   the state store, so that a second run racing on the same target (the tag concurrency limit
   bypassed) waits for them instead of creating them twice. The cursor advances only when every
   change was either accepted or refused for a reason of its own (a bad record), so a run that gave
   up is re-read next time. It reports the flow's target asset with the run's record table
   (``report``), the ``failed_records`` check (``assets``) and the run's failed count as a tag.
   A ``dry_run`` stops before the writer: the record table says what would happen; nothing is
   written, not even to the state store.

The engine only calls the connector contract (``connectors.base``); it never names a system.
"""


import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pydantic_core
from dagster import (
    Config, DailyPartitionsDefinition, Failure, In, JobDefinition, MetadataValue, OpExecutionContext,
    Out, Output, RetryPolicy, Backoff, in_process_executor, job, op,
)
from pydantic import Field, ValidationError

from integrations_dagster.config import ConfigError
from integrations_dagster.connectors.base import (
    Change, ConnectorResource, MapNotes, Outcome, Window, WriteContext,
)
from integrations_dagster.connectors.http import ApiError
from integrations_dagster.model import RECORD_TYPES, CanonicalRecord, RecordError
from integrations_dagster.flows.assets import failed_records_result
from integrations_dagster.flows.changes import describe, record_changes
from integrations_dagster.flows import lineage
from integrations_dagster.flows.lineage import describe as order_lineage
from integrations_dagster.flows.memory import collector_paused
from integrations_dagster.flows import journal, lifecycle, pairs, separate, shaping
from integrations_dagster.flows.prints import mapping_salt, source_print
from integrations_dagster.flows.shaping import Shaper
from integrations_dagster.flows.report import RunReport, Tally, failure_table
from integrations_dagster.flows.spec import FlowSpec, resource_key  # noqa: F401 - resource_key: re-exported
from integrations_dagster.state import DuplicateBinding, StateStore
from integrations_dagster.state.store import claim_owner

TARGET_TAG = "integrations/target"  # realtime runs: one at a time per target (dagster.yaml)
BACKFILL_TARGET_TAG = "integrations/backfill_target"  # backfill runs: their own slot per target
PRIORITY_TAG = "dagster/priority"  # the run queue dequeues higher first
BACKFILL_PRIORITY = "-10"
FLOW_TAG = "integrations/flow"
FAILED_RECORDS_TAG = "integrations/failed_records"  # set on every flow run: how many records failed
DRY_RUN_TAG = "integrations/dry_run"
IGNORED = "ignored"  # an outcome the target has no place for: logged, neither failed nor remembered as landed
# An outcome of work the target's quota has no room for today: neither failed nor landed; the cursor
# stays, so the next run takes it again (``connectors.quota``).
DEFERRED = "deferred"
WAITING_TAG = "integrations/waiting"  # set on a run some of whose records wait for the target's quota
MAX_RUNTIME_TAG = "dagster/max_runtime"  # read by Dagster's run monitoring (dagster.yaml)
CLAIM_WAIT_S = 120.0  # how long push waits for records another run is writing to the same target
CLAIM_POLL_S = 0.1
MAX_KEY = 300  # characters of a record key the state store's tables hold (``state.tables``)
CLAIM_RENEW_S = 60.0  # well within state.store.CLAIM_TTL


class FetchConfig(Config):
    """Run config of the fetch op (all optional: the default is "since the cursor")."""

    full: bool = Field(default=False, description="read everything: initial sync or reconcile")
    since: str | None = Field(default=None, description="ISO date or date-time (UTC): read from here")
    until: str | None = Field(default=None, description="ISO date or date-time (UTC): read until here")
    keys: list[str] = Field(default_factory=list, description=(
        "re-send these records (keys as the sync log shows them: a SKU, an order number): read from the "
        "source by key and pushed even when unchanged; never a duplicate"))
    retry_failed: bool = Field(default=False, description=(
        "re-send every record of this flow that failed and has not landed since"))
    dry_run: bool = Field(default=False, description=(
        "say what would be created or updated, field by field, and write nothing"))
    withdraw_all: bool = Field(default=False, description=(
        "disconnect, deleting: delete in the target every record this flow landed there; reads no source"))


@dataclass
class Fetched:
    """The fetch op's output. Each raw record is held as compact JSON text: a fifth of the memory of
    the parsed dicts, and a list of strings is what the IO manager pickles between ops."""

    raw: list[str]
    window: Window
    started: datetime
    moves_cursor: bool
    options: dict[str, Any] = field(default_factory=dict)  # the source's options as ``prepare`` settled them
    by_key: bool = False  # read by key (re-send): every record is pushed even when unchanged, none is "deleted"
    dry_run: bool = False
    missing: list[tuple[str, str]] = field(default_factory=list)  # (key, why the source has no such record)
    withdraw_all: bool = False  # every landed record is to be deleted in the target (disconnect)
    idle: bool = False  # the integration is disconnected: the run reads and writes nothing
    receipt: str | None = None  # the batch to acknowledge once the push recorded it (``Batch``)

    @classmethod
    def of(cls, records: Iterable[dict], window: Window, started: datetime, moves_cursor: bool,
           options: dict[str, Any] | None = None) -> "Fetched":
        return cls([json.dumps(r, separators=(",", ":"), default=str) for r in records], window, started,
                   moves_cursor, options or {})

    def records(self) -> Iterator[dict]:
        return map(parse_text, self.raw)

    def without_records(self) -> "Fetched":
        """What the later ops need (window, start, cursor rule) without the raw records."""
        return replace(self, raw=[])


def parse_text(text: str) -> Any:
    """A fetched record's text as Python objects. pydantic-core's parser (with the dicts' keys shared
    across records) reads the same objects in half ``json.loads``' time (``make bench``, engine case);
    ``json.loads`` reads what it refuses (a lone surrogate a vendor escaped: ``"\\ud800"``)."""
    try:
        return pydantic_core.from_json(text, cache_strings="keys")
    except ValueError:
        return json.loads(text)


@dataclass
class Normalized:
    records: list[CanonicalRecord]
    fetched: Fetched
    failed: int  # records that could not be mapped
    parts_failed: int = 0  # parts of mapped records left out (a variation without SKU)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (key, reason) of both, for the record table
    # Records not mapped again: their source text is the one the target's version came from (``prints``).
    unchanged: list[tuple[str, str]] = field(default_factory=list)  # (key, hash)
    prints: dict[str, str] = field(default_factory=dict)  # key -> source fingerprint of each mapped record
    # What the target had accepted when normalize read it: key -> (hash, id in the target's map);
    # None for records with a freshness token (their diff reads it itself, as late as it can).
    landed: dict[str, tuple[str, str | None]] | None = None
    # Keys of records the source no longer assigns to the target's channel (``scope: assigned``).
    withdrawn: list[str] = field(default_factory=list)


@dataclass
class Diff:
    changes: list[Change]
    unchanged: int
    deleted: list[str]
    fetched: Fetched
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (key, stage, reason) before the push
    prints: dict[str, str] = field(default_factory=dict)  # key -> source fingerprint, stored as each lands


def build_flow_job(spec: FlowSpec, *, partitions: DailyPartitionsDefinition | None = None) -> JobDefinition:
    """The four ops of one flow wired as a job (a daily-partitioned sibling when ``partitions``)."""
    suffix = "_backfill" if partitions else ""
    prefix = f"{spec.job_name}{suffix}"
    flow_tag = {FLOW_TAG: spec.state_name}

    @op(name=f"{prefix}_fetch", required_resource_keys={spec.source_key, "state"}, out=Out(Fetched),
        tags=flow_tag)
    def fetch(context: OpExecutionContext, config: FetchConfig) -> Fetched:
        """Read the source's raw records for this run's window."""
        store: StateStore = context.resources.state.store()
        source: ConnectorResource = getattr(context.resources, spec.source_key)
        window, moves_cursor = _window(context, spec, config, store, partitioned=partitions is not None)
        started = datetime.now(UTC)
        since = lifecycle.disconnected_since(store, spec.integration)
        if config.withdraw_all or since:
            return _nothing_to_read(context, spec, window, started, config.withdraw_all, since)
        keys = _keys_to_send(spec, config, store)
        try:
            options = source.prepare(spec.entity, connection_options(spec, "source"))
            if keys is not None:
                records, missing = source.read_keys(spec.entity, keys, options) if keys else ([], {})
                fetched = Fetched.of(records, window, started, False, options)
                fetched.by_key, fetched.missing = True, list(missing.items())
            elif spec.entity in type(source).batched:
                batch = source.read_batch(spec.entity, options)
                fetched = Fetched.of(batch.records, window, started, moves_cursor, options)
                fetched.receipt = batch.receipt
            else:
                fetched = Fetched.of(source.read(spec.entity, window, options), window, started, moves_cursor,
                                     options)
            fetched.dry_run = config.dry_run
        except ConfigError as exc:  # a retry would not change the YAML
            raise Failure(f"{spec.state_name}: connection {spec.source}: {exc}", allow_retries=False) from None
        except ApiError as exc:
            raise Failure(f"{spec.state_name}: reading {spec.entity} from {spec.source} failed: {exc}") from None
        what = f"{len(keys)} records by key" if keys is not None else _describe(window)
        context.log.info(f"fetched {len(fetched.raw)} {spec.entity} from {spec.source} ({what})"
                         + (" — dry run: nothing will be written" if config.dry_run else ""))
        for key, reason in fetched.missing:
            context.log.warning(f"{key}: {reason}")
        if keys is not None and not fetched.dry_run:
            _close_gone_failures(context, spec, store, fetched.missing)
        if config.dry_run and _in_run(context):
            context.instance.add_run_tags(context.run_id, {DRY_RUN_TAG: "true"})
        context.add_output_metadata({"records": len(fetched.raw), "window": what, "not found": len(fetched.missing)})
        return fetched

    @op(name=f"{prefix}_normalize", required_resource_keys={spec.source_key, "state"},
        ins={"fetched": In(Fetched)}, out=Out(Normalized), tags=flow_tag)
    def normalize(context: OpExecutionContext, fetched: Fetched) -> Normalized:
        """Map raw records to canonical ones; log each one that cannot be mapped, with its reason."""
        store: StateStore = context.resources.state.store()
        source: ConnectorResource = getattr(context.resources, spec.source_key)
        options = fetched.options or connection_options(spec, "source")
        records, failures, parts, notes, ids = [], [], [], MapNotes(), {}
        shaper = Shaper(spec.field_map, spec.transforms, f"flows.{spec.name}")
        shaped_out = 0
        salt = mapping_salt(source, spec.entity, {**options, "__shaping__": shaper.signature} if shaper else options)
        unchanged, prints = [], {}
        with collector_paused():
            # Read once, for the prints and for the diff's join. Not for records with a freshness
            # token: their diff reads what has landed as late as it can (another run may land a
            # newer version meanwhile, and an older one must never win), and they skip no text.
            dated = _dated(spec)
            rows = [] if dated else store.landed(spec.state_name, spec.target, spec.entity)
            known_prints = {} if fetched.by_key or dated else _current_prints(spec, rows)
            landed = None if dated else _by_key(rows)
            del rows
            for text in fetched.raw:
                fingerprint = source_print(salt, text)
                if (known := known_prints.get(fingerprint)) is not None:
                    unchanged.append(known)
                    continue
                raw = parse_text(text)
                try:
                    record = source.to_canonical(spec.entity, raw, options, notes)
                    if shaper:
                        mapped = record
                        try:
                            record = shaper.shape(mapped, raw)
                        except RecordError as exc:  # mapped: it fails under its own key
                            notes.take()
                            failures.append((mapped.key, str(exc)))
                            ids[mapped.key] = getattr(mapped, "source_id", None)
                            continue
                        if record is None:  # a transform left it out
                            shaped_out += 1
                            notes.take()
                            continue
                    if long := next((k for k in (record.key, *record.part_source_ids()) if len(k) > MAX_KEY), None):
                        raise RecordError(f"its key {long[:60]}… is {len(long)} characters long; the state store "
                                          f"keeps keys (SKUs) of up to {MAX_KEY}")
                    records.append(record)
                    prints[record.key] = fingerprint
                except Exception as exc:  # noqa: BLE001 - one hostile record must never stop the batch
                    notes.take()
                    key = _safe_raw_key(source, spec.entity, raw)
                    failures.append((key, _reason(exc)))
                    ids[key] = _safe_raw_id(source, spec.entity, raw)
                    continue
                parts += [(key, reason[:1000]) for key, reason in notes.take()]
        if not fetched.dry_run:
            store.record_failures(context.run_id, spec.state_name, failures + parts, stage="normalize", action="map",
                                  source_ids=ids)
        records, skipped = filter_statuses(spec, records)
        records, withdrawn = split_scope(spec, records)
        records, kept_apart = separate.apart(spec, records)
        if fetched.withdraw_all:
            withdrawn = [key for key, *_ in store.landed(spec.state_name, spec.target, spec.entity)]
        for key, reason in failures + parts:
            context.log.warning(f"{key}: {reason}")
        context.add_output_metadata({"records": len(records) + len(unchanged), "mapped": len(records),
                                     "unchanged_at_source": len(unchanged), "failed": len(failures),
                                     "parts_failed": len(parts), "skipped_by_status": skipped,
                                     "not_assigned": len(withdrawn), "not_synced_separate": kept_apart,
                                     "left_out_by_transforms": shaped_out,
                                     "failures": MetadataValue.md(failure_table(failures + parts))})
        return Normalized(records, fetched.without_records(), len(failures), len(parts), failures + parts,
                          unchanged, prints, landed, withdrawn)

    @op(name=f"{prefix}_diff", required_resource_keys={spec.target_key, "state"},
        ins={"normalized": In(Normalized)}, out=Out(Diff), tags=flow_tag)
    def diff(context: OpExecutionContext, normalized: Normalized) -> Diff:
        """Compare with the snapshot of what the target accepted: create / update / unchanged."""
        store: StateStore = context.resources.state.store()
        fetched = normalized.fetched
        records, dupes = _dedupe(normalized.records, taken=[k for k, _ in normalized.unchanged])
        for key, reason in dupes:
            if not fetched.dry_run:
                store.record_failed(context.run_id, spec.state_name, key=key, stage="diff", action="map", error=reason)
            context.log.warning(f"{key}: {reason}")
        result = compute_diff(spec, store, records, full=fetched.window.full and not fetched.by_key and not spec.batched,
                              resend=fetched.by_key, dry_run=fetched.dry_run, unchanged=normalized.unchanged,
                              landed=normalized.landed, withdrawn=normalized.withdrawn)
        if not fetched.dry_run:
            result.changes, settling, held = journal.settle_first(spec, store, result.changes, records)
            if settling:
                context.log.info(f"{len(settling)} records ({', '.join(settling[:5])}) have a change a killed run sent "
                                 f"to {spec.target}: sent again to settle it against the counts")
            if held:
                context.log.info(f"{len(held)} records ({', '.join(held[:5])}) wait: flow {spec.reverse} has a change "
                                 "of them a killed run left unsettled")
        if result.stale:
            context.log.info(f"{len(result.stale)} records are older than what {spec.target} already has; "
                             "not pushed")
        context.add_output_metadata({
            "create": sum(c.action == "create" for c in result.changes),
            "update": sum(c.action == "update" for c in result.changes),
            "unchanged": result.unchanged, "deleted_in_source": len(result.deleted),
            "duplicates": len(dupes), "stale_skipped": len(result.stale),
        })
        earlier = ([(k, "fetch", r) for k, r in fetched.missing] + [(k, "normalize", r) for k, r in normalized.failures]
                   + [(k, "diff", r) for k, r in dupes])
        return Diff(result.changes, result.unchanged, result.deleted, normalized.fetched, earlier,
                    {c.key: normalized.prints[c.key] for c in result.changes if c.key in normalized.prints})

    @op(name=f"{prefix}_push", required_resource_keys={spec.target_key, spec.source_key, "state"},
        ins={"diff": In(Diff)}, tags=flow_tag)
    def push(context: OpExecutionContext, diff: Diff) -> Output[None]:
        """Write the changes to the target; record each outcome as it lands."""
        store: StateStore = context.resources.state.store()
        target: ConnectorResource = getattr(context.resources, spec.target_key)
        ctx = WriteContext(binder=store.binder(spec.target), source_binder=store.binder(spec.source),
                           options=connection_options(spec, "target"), log=context.log.info, owns=spec.owns,
                           accepted=accepted_records(spec, store),
                           journal=journal.StoreJournal(store, spec.state_name, context.run_id), source=spec.source)
        tally = Tally()
        for key, stage, reason in diff.failures:
            tally.note_failure(key, "map", reason, stage=stage)
        if diff.fetched.dry_run:
            return _dry_run(context, spec, diff, tally, target, ctx)
        if diff.changes and not diff.fetched.withdraw_all:
            lifecycle.settle_choices(spec, store, type(target), ctx.options)
        if spec.entity == "stock" and not (diff.fetched.withdraw_all or diff.fetched.idle):
            source: ConnectorResource = getattr(context.resources, spec.source_key)
            separate.settle(spec, store, context.run_id, target, ctx, source, reverse_context(spec, store, context),
                            context.log.info)
        try:
            _push_changes(context, spec, store, target, ctx, diff.changes, tally, resend=diff.fetched.by_key,
                          prints=diff.prints)
        except ConfigError as exc:  # the target refuses a setting (before a record was written): no retry helps
            raise Failure(f"{spec.state_name}: connection {spec.target}: {exc}", allow_retries=False) from None
        hint_what_moved(spec, store, type(target), tally, context.run_id)
        if spec.entity == "orders":  # the record table says where each order came from and where it went
            tally.trace(lambda key: order_lineage(store, key))
        report = RunReport(spec, tally, diff.unchanged)
        if _in_run(context):  # (an op invoked outside a run, as tests do, has no run to tag or check)
            context.instance.add_run_tags(context.run_id, {FAILED_RECORDS_TAG: str(tally.all_failed)})
            context.log_event(failed_records_result(spec, store, failed_in_run=tally.all_failed))
        if tally.error:
            context.log_event(report.materialization(context.run_id, succeeded=False))
            raise Failure(
                description=f"{spec.state_name}: gave up after {tally.landed} records landed: {tally.error}",
                metadata=report.metadata(context.run_id))
        if diff.fetched.receipt:
            _acknowledge(context, spec, diff.fetched.receipt)
        if tally.deferred:
            _say_waiting(context, spec, tally)
        elif diff.fetched.moves_cursor:  # (records that wait are read again next run)
            store.set_cursor(spec.state_name, diff.fetched.started.isoformat())
        if tally.all_failed:
            context.log.warning(f"{tally.all_failed} records failed; see the record table or "
                                f"`integrations-dagster log --run {context.run_id} --failed`")
        context.log_event(report.materialization(context.run_id, succeeded=True))
        return Output(None, metadata=report.metadata(context.run_id))

    # A backfill takes its own concurrency slot per target and a lower priority, so a long one never
    # holds realtime runs back; the state store's claims keep the two from creating one record twice.
    slot = {BACKFILL_TARGET_TAG: pairs.slot(spec), PRIORITY_TAG: BACKFILL_PRIORITY} \
        if partitions else {TARGET_TAG: pairs.slot(spec)}
    tags = {**slot, "integrations/integration": spec.integration, FLOW_TAG: spec.state_name,
            MAX_RUNTIME_TAG: str(spec.max_runtime_s)}

    @job(name=prefix, tags=tags, executor_def=in_process_executor, partitions_def=partitions,
         op_retry_policy=RetryPolicy(max_retries=spec.op_retries, delay=spec.op_retry_delay_s,
                                     backoff=Backoff.EXPONENTIAL),
         description=f"{spec.entity}: {spec.source} → {spec.target}"
                     + (" (one day per partition)" if partitions else ""))
    def flow_job() -> None:
        push(diff(normalize(fetch())))

    return flow_job


# -- the pieces, in the order the ops use them -----------------------------------------------------

def _say_waiting(context: OpExecutionContext, spec: FlowSpec, tally: Tally) -> None:
    """Records the target's quota had no room for: in the log, on the run (a tag the alert reads)."""
    key, reason = tally.deferred[0]
    context.log.warning(f"{len(tally.deferred)} records wait for {spec.target}'s quota and go with a later run "
                        f"(e.g. {key}: {reason})")
    if _in_run(context):
        context.instance.add_run_tags(context.run_id, {WAITING_TAG: f"{len(tally.deferred)} records: {reason}"[:250]})


def _acknowledge(context: OpExecutionContext, spec: FlowSpec, receipt: str) -> None:
    """Acknowledge the batch the run took, every record of it recorded (``Batch``). A refusal is a
    warning: the system sends the batch again, and its records diff as unchanged."""
    source: ConnectorResource = getattr(context.resources, spec.source_key)
    try:
        source.acknowledge(spec.entity, receipt)
    except ApiError as exc:
        context.log.warning(f"{spec.source} did not take the acknowledgement of batch {receipt} ({exc}); "
                            "the next run reads the batch again")
        return
    context.log.info(f"acknowledged batch {receipt} to {spec.source}")


def reverse_context(spec: FlowSpec, store: StateStore, context: OpExecutionContext) -> WriteContext:
    """A WriteContext for writing to the flow's *source* (the split of separate stock)."""
    return WriteContext(binder=store.binder(spec.source), source_binder=store.binder(spec.target),
                        options=connection_options(spec, "source"), log=context.log.info, source=spec.target)


def _nothing_to_read(context: OpExecutionContext, spec: FlowSpec, window: Window, started: datetime,
                     withdraw_all: bool, since: str | None) -> Fetched:
    """A run of a disconnected integration reads nothing (so writes nothing); one that withdraws
    everything (disconnect, deleting) reads nothing either: what it deletes is in the snapshot."""
    if withdraw_all:
        context.log.info(f"deleting in {spec.target} every {spec.entity} record this flow landed there")
    else:
        context.log.info(f"{spec.integration} was disconnected at {since}: nothing is synced; "
                         f"`integrations-dagster connect {spec.integration}` connects it again")
    fetched = Fetched([], window, started, False)
    fetched.withdraw_all, fetched.idle = withdraw_all, not withdraw_all
    context.add_output_metadata({"records": 0, "window": "disconnected" if since else "withdraw all"})
    return fetched


def _keys_to_send(spec: FlowSpec, config: FetchConfig, store: StateStore) -> list[str] | None:
    """The keys a re-send reads (those named, and with ``retry_failed`` every record of the flow
    that failed and has not landed since), or None for a read over a window."""
    if not config.keys and not config.retry_failed:
        return None
    if config.keys and (config.full or config.since or config.until):
        raise Failure("run config: keys re-sends named records; it cannot be combined with full, since or until",
                      allow_retries=False)
    keys = [k.strip() for k in config.keys if k.strip()]
    if config.retry_failed:
        keys += [k for k in store.unresolved_failures(spec.state_name)["record_key"] if k not in keys]
    return list(dict.fromkeys(keys))


def _close_gone_failures(context: OpExecutionContext, spec: FlowSpec, store: StateStore,
                         missing: list[tuple[str, str]]) -> None:
    """A failed record the source no longer has will never land: its failure is closed ("gone")."""
    failed = set(store.unresolved_failures(spec.state_name, [k for k, _ in missing])["record_key"])
    for key, reason in missing:
        if key in failed:
            store.record_outcome(context.run_id, spec.state_name, key=key, stage="fetch", action="resend",
                                 outcome="gone", note=reason)


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


def connection_options(spec: FlowSpec, side: str) -> dict[str, Any]:
    conn = spec.source_options if side == "source" else spec.target_options
    name = spec.source if side == "source" else spec.target
    out = {**conn, **spec.flow_options, "connection": name, "mode": spec.mode}
    if side == "target" and spec.conflict_winner:
        out["conflict_winner"] = spec.conflict_winner
    if side == "source" and spec.field_map:  # the raw fields a field_map reads: a reader that trims asks for them
        out["extra_raw_fields"] = sorted({path.split(".")[0] for path in spec.field_map.values()})
    return out


def _in_run(context: OpExecutionContext) -> bool:
    return context.instance.get_run_by_id(context.run_id) is not None


def _safe_raw_key(source: ConnectorResource, entity: str, raw: Any) -> str:
    try:
        return source.raw_key(entity, raw)
    except Exception:  # a hostile record may break even its own name
        return f"{entity} record"


def _safe_raw_id(source: ConnectorResource, entity: str, raw: Any) -> str | None:
    try:
        return source.raw_id(entity, raw)
    except Exception:  # noqa: BLE001
        return None


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in exc.errors()[:5])
    if not isinstance(exc, (RecordError, ValueError)):  # a field of an unexpected type or shape
        return f"the record has a field of an unexpected type or shape ({type(exc).__name__}: {str(exc)[:200]})"
    return (str(exc) or type(exc).__name__)[:1000]


def filter_statuses(spec: FlowSpec, records: list[CanonicalRecord]) -> tuple[list[CanonicalRecord], int]:
    """Orders move only in the statuses the flow names (default: processing, completed)."""
    statuses = spec.flow_options.get("statuses")
    if spec.entity != "orders" or not statuses:
        return records, 0
    wanted = set(statuses)  # the source's own words (a custom status too), else the canonical status
    kept = [r for r in records if str(getattr(r, "source_status", None) or getattr(r, "status", "")) in wanted]
    return kept, len(records) - len(kept)


def split_scope(spec: FlowSpec, records: list[CanonicalRecord]) -> tuple[list[CanonicalRecord], list[str]]:
    """With ``scope: assigned``, the records the source assigns to the target's channel, and the keys
    of those it does not (the diff deletes them where they landed: unassigning removes the product
    from the channel). A record whose source does not say (None) is assigned."""
    if spec.scope != "assigned":
        return records, []
    kept = [r for r in records if getattr(r, "channel_assigned", None) is not False]
    if len(kept) == len(records):
        return records, []
    withdrawn = [r.key for r in records if getattr(r, "channel_assigned", None) is False]
    return kept, withdrawn


def _dedupe(records: list[CanonicalRecord], taken: Iterable[str] = ()) -> tuple[list[CanonicalRecord],
                                                                                list[tuple[str, str]]]:
    """Two source records with one key (a SKU used twice) cannot both land: keep the first. ``taken``:
    keys of records normalize found unchanged at the source (they come first)."""
    unchanged = set(taken)
    seen: dict[str, CanonicalRecord] = {}
    dupes = []
    for r in records:
        key = r.key  # (a property: read once)
        if key in seen or key in unchanged:
            first = getattr(seen[key], "source_id", "?") if key in seen else "one unchanged since it landed"
            dupes.append((key, f"key {key!r} is used by two source records "
                               f"({first} and {getattr(r, 'source_id', '?')}); the second was not synced"))
        else:
            seen[key] = r
    return list(seen.values()), dupes


def _current_prints(spec: FlowSpec, landed: Iterable[tuple[str, str, str | None, str | None]]
                    ) -> dict[str, tuple[str, str]]:
    """``{source fingerprint: (key, hash)}`` of the flow's landed records (``StateStore.landed``
    rows) whose hash is of the current scheme (one of an older scheme is mapped again, so that the
    diff can bring its hash up to date)."""
    tag = RECORD_TYPES[spec.entity].hash_scheme()
    return {p: (key, digest) for key, digest, _, p in landed if p is not None and digest.startswith(tag)}


def _by_key(landed: Iterable[tuple[str, str, str | None, str | None]]) -> dict[str, tuple[str, str | None]]:
    """``StateStore.landed`` rows as the diff joins them: key -> (hash, id in the target's map)."""
    return {key: (digest, target_id) for key, digest, target_id, _ in landed}


def _dated(spec: FlowSpec) -> bool:
    """Records of the flow carry a freshness token (``CanonicalRecord.freshness``)."""
    return RECORD_TYPES[spec.entity].freshness is not CanonicalRecord.freshness


@dataclass
class DiffResult:
    changes: list[Change]
    unchanged: int
    deleted: list[str]
    stale: list[str] = field(default_factory=list)  # older than what the target accepted: not pushed


def compute_diff(spec: FlowSpec, store: StateStore, records: list[CanonicalRecord], *, full: bool,
                 resend: bool = False, dry_run: bool = False,
                 unchanged: list[tuple[str, str]] = (),
                 landed: dict[str, tuple[str, str | None]] | None = None,
                 withdrawn: Iterable[str] = ()) -> DiffResult:
    """Hashes of the fetched records against the snapshot. ``resend``: records
    read by key go out even when unchanged (as wholly changed, so the writer sends every field it
    owns); ``dry_run``: the snapshot is only read; ``unchanged``: (key, hash) of fetched records
    normalize did not map (their source text is the one the target's version came from);
    ``landed``: the snapshot with each record's id in the target's map (key -> (hash, id)) as
    normalize read it (the run's one read of the whole flow; read here when not given);
    ``withdrawn``: keys of records the source no longer assigns to the target's channel: deleted
    where they landed, whatever ``deletes`` says (a record deleted at the source needs ``deletes``).

    The snapshot is joined to the fetched hashes in a dict (pandas' outer merge cost twice as much,
    measured at 100 000 records); changes and deletions come in key order, as the merge gave them.
    A snapshot read before another run landed some records is safe: the push compares each batch
    with what has landed by then (``_Claims``).

    An update's earlier version is not read here: the push reads it per batch, just before the
    writer compares the two (``_Claims``). Here only two kinds of accepted version are read back:
    one hashed under an older scheme (its content may be the same), and, for records with a
    freshness token, every updated one (an older version must never win)."""
    with collector_paused():
        by_key = {r.key: r for r in records}
        hashes = dict(unchanged)
        hashes.update((k, r.content_hash()) for k, r in by_key.items())
        if landed is None:
            landed = _by_key(store.landed(spec.state_name, spec.target, spec.entity))
        created, updated, same = [], [], []
        for key, digest in hashes.items():
            known = landed.get(key)
            (created if known is None else same if known[0] == digest else updated).append(key)
        created.sort()
        updated.sort()
        deleted = sorted(k for k in landed if k not in hashes) if full else []
        unassigned = sorted(k for k in set(withdrawn) if k in landed and k not in hashes)
        # A record left unmapped whose snapshot changed since normalize read it (another run landed
        # one meanwhile): this run has no record to send; the next run maps it.
        updated = [k for k in updated if k in by_key]
        record_type = RECORD_TYPES[spec.entity]
        tag = record_type.hash_scheme()
        older_scheme = [k for k in updated if not landed[k][0].startswith(tag)]
        dated = _dated(spec)
        accepted = {k: revive(record_type, p)
                    for k, p in store.snapshot_payloads(spec.state_name, updated if dated else older_scheme).items()}
        # Same content hashed by an older release: no write, the snapshot takes the current hash.
        if rehashed := {k: hashes[k] for k in older_scheme
                        if (a := accepted.get(k)) is not None and a.content_hash() == hashes[k]}:
            if not dry_run:
                store.rehash(spec.state_name, rehashed)
            updated = [k for k in updated if k not in rehashed]
            same += list(rehashed)
        stale = _stale(by_key, accepted, updated) if dated else set()
        if not dry_run and dated:
            _refresh_unchanged(spec, store, record_type, by_key, same)
        updated = [k for k in updated if k not in stale]
        ids = {k: landed[k][1] for k in [*updated, *(same if resend else ())]}
        ids.update(store.binder(spec.target).external_ids(spec.entity, created))  # (bound, never landed)
        changes = [Change("create", k, by_key[k], target_id=ids.get(k)) for k in created]
        changes += [Change("update", k, by_key[k], target_id=ids.get(k)) for k in updated]
        if resend:
            changes += [Change("update", k, by_key[k], target_id=ids.get(k)) for k in same]
            same = []
        removed = sorted(set(deleted if spec.deletes else ()) | set(unassigned))
        changes += [Change("delete", k, None, target_id=landed[k][1]) for k in removed]
    return DiffResult(changes, len(same), sorted(set(deleted) | set(unassigned)), sorted(stale))


def _stale(by_key: dict[str, CanonicalRecord], accepted: dict[str, CanonicalRecord | None],
           keys: list[str]) -> set[str]:
    """Keys whose fetched version is older than the one the target accepted (freshness token)."""
    stale = set()
    for k in keys:
        fresh = by_key[k].freshness()
        known = accepted[k].freshness() if accepted.get(k) is not None else None
        if fresh is not None and known is not None and fresh < known:
            stale.add(k)
    return stale


def _refresh_unchanged(spec: FlowSpec, store: StateStore, record_type: type[CanonicalRecord],
                       by_key: dict[str, CanonicalRecord], keys: list[str]) -> None:
    """An unchanged record seen at a newer time moves the snapshot's freshness token forward, so that
    a late delivery of an intermediate version cannot win afterwards (the target holds this value)."""
    if not keys:
        return
    known = store.snapshot_payloads(spec.state_name, keys)
    newer = {}
    for k in keys:
        accepted = revive(record_type, known.get(k))
        fresh, old = by_key[k].freshness(), accepted.freshness() if accepted is not None else None
        if fresh is not None and (old is None or fresh > old):
            newer[k] = by_key[k].model_dump(mode="json")
    if newer:
        store.refresh_payloads(spec.state_name, newer)


def accepted_records(spec: FlowSpec, store: StateStore) -> Callable[[list[str]], dict[str, CanonicalRecord]]:
    """What the target last accepted for given keys of the flow (the snapshot), as records."""
    record_type = RECORD_TYPES[spec.entity]
    return lambda keys: {k: r for k, p in store.snapshot_payloads(spec.state_name, keys).items()
                         if (r := revive(record_type, p)) is not None}


def revive(record_type: type[CanonicalRecord], payload: dict | None) -> CanonicalRecord | None:
    if payload is None:
        return None
    try:
        return record_type.model_validate(payload)
    except ValidationError:
        return None  # an old snapshot shape: the writer treats the record as wholly changed


def _parsed(payload: str | None) -> dict | None:
    return json.loads(payload) if payload is not None else None


def _wants_previous(change: Change, resend: bool) -> bool:
    """An update goes to the writer with the version the target last accepted (which variant
    changed); a re-send goes without one (the writer sends every field it owns)."""
    return change.action == "update" and change.previous is None and not resend


def with_previous(spec: FlowSpec, store: StateStore, changes: list[Change], *, resend: bool = False) -> list[Change]:
    """The changes as the push hands them to the writer (``_wants_previous``), read from the snapshot."""
    wanted = {c.key for c in changes if _wants_previous(c, resend)}
    accepted = accepted_records(spec, store)(list(wanted)) if wanted else {}
    return [replace(c, previous=accepted[c.key]) if c.key in wanted and c.key in accepted else c for c in changes]


def hint_what_moved(spec: FlowSpec, store: StateStore, target: type[ConnectorResource], tally: Tally,
                    run_id: str) -> None:
    """Writes that change another entity of the target (``ConnectorResource.moves``: a booked order holds
    stock) are, for the flows reading that entity from the target, what a webhook would have said — and our
    own writes fire none (``suppress_webhooks``): a hint their webhook sensors take within a second."""
    moved = target.moves.get(spec.entity, frozenset())
    if moved and (tally.counts.get("created", 0) or tally.counts.get("updated", 0)):
        store.add_webhook_event(spec.integration, spec.target, moved, topic=f"{spec.name} wrote {spec.entity}",
                                digest=run_id)


def _dry_run(context: OpExecutionContext, spec: FlowSpec, diff: Diff, tally: Tally, target: ConnectorResource,
             ctx: WriteContext) -> Output[None]:
    """What the push would do, record by record, without a write to the target or the state store
    (the target is only read: ``plan``)."""
    store: StateStore = context.resources.state.store()
    planned = target.plan(spec.entity, diff.changes, ctx)
    for change in with_previous(spec, store, diff.changes, resend=diff.fetched.by_key):
        action, why = planned.get(change.key, (change.action, None))
        tally.add(f"would {action}")
        tally.note_landed({"key": change.key, "action": change.action, "outcome": f"would {action}", "reason": why,
                           "source_id": getattr(change.record, "source_id", None), "target_id": change.target_id,
                           "changes": describe(record_changes(change.previous, change.record))
                           or ("every field it owns (re-send)" if change.previous is None and change.target_id
                               else None)})
    context.log.info(f"dry run: {tally.counts.get('would create', 0)} would be created, "
                     f"{tally.counts.get('would link', 0)} matched with what {spec.target} has, "
                     f"{tally.counts.get('would update', 0)} updated, {diff.unchanged} left alone; nothing written")
    return Output(None, metadata={**RunReport(spec, tally, diff.unchanged).metadata(context.run_id),
                                  "dry run": MetadataValue.text("nothing was written")})


def _push_changes(context: OpExecutionContext, spec: FlowSpec, store: StateStore, target: ConnectorResource,
                  ctx: WriteContext, changes: list[Change], tally: Tally, *, resend: bool = False,
                  prints: dict[str, str] | None = None) -> Tally:
    """Per batch: claim its records, write the claimed ones, then wait for the ones another run holds."""
    pending = {c.key: c for c in changes}  # as the source has them: what a landed record is kept as
    claims = _Claims(spec, store, ctx, claim_owner(context.run_id), resend=resend)
    push_shaper = Shaper({}, spec.push_transforms, f"flows.{spec.name}") if spec.push_transforms else None
    try:
        for start in range(0, len(changes), spec.batch_size):
            waiting = changes[start:start + spec.batch_size]
            deadline = time.monotonic() + CLAIM_WAIT_S
            while waiting:
                ready, waiting = claims.take(waiting, tally, pending)
                if ready and push_shaper:
                    ready = _shaped_for_push(context, spec, store, push_shaper, ready, tally, pending, claims)
                if ready:
                    try:
                        for outcome in target.write(spec.entity, ready, ctx):
                            _record(context, spec, store, pending.pop(outcome.key, None), outcome, tally,
                                    prints or {})
                            claims.renew_if_due()
                    except ApiError as exc:
                        tally.error = str(exc)
                        return tally
                    claims.release([c.key for c in ready])
                    deadline = time.monotonic() + CLAIM_WAIT_S
                elif waiting:
                    if time.monotonic() > deadline:
                        tally.error = (f"{len(waiting)} records (e.g. {waiting[0].key!r}) are still being written to "
                                       f"{spec.target} by another run; left for the next run")
                        return tally
                    if not claims.waited:
                        context.log.info(f"{len(waiting)} records are being written to {spec.target} by another "
                                         "run; waiting for it")
                    claims.waited = True
                    time.sleep(CLAIM_POLL_S)
    finally:
        claims.release()
    return tally


def _shaped_for_push(context: OpExecutionContext, spec: FlowSpec, store: StateStore, shaper: Shaper,
                     ready: list[Change], tally: Tally, pending: dict[str, Change], claims: "_Claims") -> list[Change]:
    """The push-stage transforms on the claimed changes: a failure is that record's, one left out is
    not written (nor kept as landed: the next run diffs it again)."""
    write, failed, left_out = shaping.for_push(shaper, ready)
    for change, reason in failed:
        pending.pop(change.key, None)
        store.record_failed(context.run_id, spec.state_name, key=change.key, stage="push", action=change.action,
                            error=reason)
        tally.note_failure(change.key, change.action, reason, stage="push")
    for change in left_out:
        pending.pop(change.key, None)
    if left_out:
        context.log.info(f"{len(left_out)} changes ({', '.join(c.key for c in left_out[:5])}) left out by a "
                         "push-stage transform: not written")
    claims.release([c.key for c, _ in failed] + [c.key for c in left_out])
    return write


class _Claims:
    """The state-store claims of one push: at most one run writes a (target, entity, key) at a time."""

    def __init__(self, spec: FlowSpec, store: StateStore, ctx: WriteContext, owner: str, *, resend: bool = False) -> None:
        self.spec, self.store, self.ctx, self.owner = spec, store, ctx, owner
        self.resend = resend  # re-sent records go out though the snapshot holds them as they are
        self.waited = False  # some record was held by another run: check what it landed before writing
        self.renewed = time.monotonic()
        store.expire_claims(spec.target, spec.entity, owner)  # left by killed runs, on records now unchanged

    def take(self, changes: list[Change], tally: Tally, pending: dict[str, Change]) -> tuple[list[Change], list[Change]]:
        held = self.store.claim(self.spec.target, self.spec.entity, [c.key for c in changes], self.owner)
        mine = [c for c in changes if c.key in held]
        rest = [c for c in changes if c.key not in held]
        if mine:
            mine = self._against_landed(mine, tally, pending)
        return mine, rest

    def _against_landed(self, changes: list[Change], tally: Tally, pending: dict[str, Change]) -> list[Change]:
        """Another run may have landed some of these since the diff (it held them, or finished before
        we claimed): skip those it landed as we have them; hand the writer the others against what
        the target now holds (snapshot and id map). One query when nobody else wrote."""
        spec = self.spec
        versions = self.store.snapshot_versions(spec.state_name, [c.key for c in changes])
        out, done, stale = [], [], set()
        for c in changes:
            known = versions[c.key][0] if c.key in versions else None
            if not self.resend and c.record is not None and known is not None and known == c.record.content_hash():
                tally.add("landed by another run")
                pending.pop(c.key, None)
                done.append(c.key)
                continue
            if c.record is not None and (self.waited or (c.action == "create" and known is not None)):
                stale.add(c.key)
            out.append(c)
        if done:
            self.release(done)
        record_type = RECORD_TYPES[spec.entity]
        fresh = []
        for c in out:
            payload = versions.get(c.key, (None, None))[1]
            if c.key in stale:
                previous = revive(record_type, _parsed(payload))
                action = "update" if c.action == "create" and previous is not None else c.action
                c = replace(c, action=action, previous=previous if previous is not None else c.previous,
                            target_id=self.ctx.binder.external_id(spec.entity, c.key))
            elif _wants_previous(c, self.resend):
                c = replace(c, previous=revive(record_type, _parsed(payload)))
            fresh.append(c)
            pending[c.key] = c  # the sync log compares with the same version the writer did
        return fresh

    def renew_if_due(self) -> None:
        if time.monotonic() - self.renewed > CLAIM_RENEW_S:
            self.store.renew_claims(self.owner)
            self.renewed = time.monotonic()

    def release(self, keys: list[str] | None = None) -> None:
        self.store.release_claims(self.owner, keys)


def _record(context: OpExecutionContext, spec: FlowSpec, store: StateStore, change: Change | None,
            outcome: Outcome, tally: Tally, prints: dict[str, str]) -> None:
    if change is None:
        context.log.warning(f"writer reported {outcome.key!r}, which was not in this batch")
        return
    source_id = getattr(change.record, "source_id", None)

    def failed(reason: str) -> None:
        tally.note_failure(outcome.key, change.action, reason, stage="push", source_id=source_id,
                           target_id=outcome.target_id)
        store.record_failed(context.run_id, spec.state_name, key=outcome.key, stage="push", action=change.action,
                            error=reason, source_id=source_id, target_id=outcome.target_id)

    if outcome.action == DEFERRED:
        tally.defer(outcome.key, change.action, outcome.error or f"waits for {spec.target}")
        store.record_outcome(context.run_id, spec.state_name, key=outcome.key, stage="push", action=change.action,
                             outcome="waiting", note=outcome.error)
        return
    if not outcome.ok:
        failed(outcome.error or "refused")
        return
    if outcome.action == IGNORED:
        tally.add(IGNORED)
        tally.note_landed({"key": outcome.key, "action": change.action, "outcome": IGNORED, "source_id": source_id,
                           "reason": outcome.error})
        store.record_outcome(context.run_id, spec.state_name, key=outcome.key, stage="push", action=change.action,
                             outcome=IGNORED, note=outcome.error)
        return
    record = change.record
    changes = record_changes(change.previous, record)
    parts = part_rows(record, outcome, change.action, changes)
    try:
        store.record_landed(
            context.run_id, spec.ref, key=outcome.key, action=change.action, outcome=outcome.action,
            record_hash=record.content_hash() if record else None,
            payload=record.model_dump(mode="json") if record else None,
            target_id=outcome.target_id, source_id=source_id, bindings=outcome.bindings,
            binding_entity=outcome.binding_entity, changed=_changed_fields(change), changes=changes,
            target_entity=outcome.target_entity, source_ids=record.part_source_ids() if record else None,
            warnings=outcome.warnings, parts=parts, source_print=prints.get(outcome.key),
            settles=outcome.moved is not None or outcome.level is not None,
            echo=pairs.echo(store, spec, change, outcome))  # the reverse flow must not carry this write back
    except DuplicateBinding as exc:  # two source records ended on one target record: say so, go on
        failed(f"{spec.target} took it, but {exc}: two source records map to one target record")
        return
    if spec.entity == "orders" and outcome.target_id and record is not None:
        lineage.remember(store, spec.target, outcome.key, outcome.target_id)
    tally.add(outcome.action)
    tally.note_landed({"key": outcome.key, "action": change.action, "outcome": outcome.action, "source_id": source_id,
                       "target_id": outcome.target_id, "changes": describe(changes) or None,
                       "reason": "; ".join(outcome.warnings) or None})
    for part in parts:  # a product's variants: a row each, as in the sync log
        tally.note_landed({**part, "action": change.action, "changes": describe(part["changes"] or {}) or None})
    for warning in outcome.warnings:
        tally.add("warnings")
        context.log.info(f"{outcome.key}: {warning}")


def part_rows(record: CanonicalRecord | None, outcome: Outcome, action: str,
              changes: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """One sync-log row per part of a landed record (a product's variants: each SKU is an article of
    its own in an ERP), with the part's own ids and the changes under its key (``[SKU]`` in a path).
    A change outside every part (the product's name) changed every part."""
    parts = record.part_source_ids() if record is not None else {}
    if not parts:
        return []
    shared = any("[" not in path for path in changes)
    rows = []
    for key, source_id in parts.items():
        if key == outcome.key:
            continue
        own = {path.split(f"[{key}].", 1)[1]: v for path, v in changes.items() if f"[{key}]." in path}
        changed = action == "create" or shared or bool(own)
        rows.append({"key": key, "source_id": source_id, "target_id": (outcome.bindings or {}).get(key, (None,))[0],
                     "outcome": outcome.action if changed else "unchanged", "changes": own or None})
    return rows


def _changed_fields(change: Change) -> str | None:
    if change.previous is None or change.record is None:
        return None
    old, new = change.previous.model_dump(mode="json"), change.record.model_dump(mode="json")
    return ",".join(sorted(k for k in new if old.get(k) != new.get(k) and k not in change.record.volatile_fields)) or None
