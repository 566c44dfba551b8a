"""Separate stock per channel: SKUs whose target keeps a count of its own (``separate_stock``).

Seed 004: "Markera kryssrutan 'Separat lager för BigCommerce'. Ange hur du vill fördela lagren mellan
BigCommerce och Zettle", and stock shows on the other side only while "separat lager är avaktiverat".
So a listed SKU is split once and then left alone by both flows of the pair:

* **split** (the listing flow's push, the first run after the SKU is listed): the target is set to its
  share (an absolute write, idempotent) and the share is moved out of the source's count (a change of
  ``-share``: a movement, an adjustment). The split is remembered per flow in the state store, with
  a sync-log row; a failed write is logged and tried again next run. The target is written first: a
  crash between the two writes repeats only the absolute one.
* **apart**: normalize drops the SKU's levels in both flows (``not_synced_separate`` in the metadata).
* **unlisted again**: the split is forgotten with both flows' snapshots of the SKU, so the next run
  carries the source's count to the target as a first sync does (absolute): the source is the master
  again. What the target still held of its share is not added back: count it into the source first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Callable

from integrations_dagster.connectors.base import Change, ConnectorResource, Outcome, WriteContext
from integrations_dagster.flows import pairs
from integrations_dagster.flows.spec import FlowSpec
from integrations_dagster.model import CanonicalRecord, StockLevel
from integrations_dagster.state import FlowRef, StateStore


def splits_key(spec: FlowSpec) -> str:
    return f"separate:{spec.state_name}"


def apart(spec: FlowSpec, records: list[CanonicalRecord]) -> tuple[list[CanonicalRecord], int]:
    """The stock levels the flow carries: those of SKUs kept apart are dropped (and counted)."""
    if not spec.separate_stock:
        return records, 0
    listed = {sku.casefold() for sku in spec.separate_stock}
    kept = [r for r in records if not (isinstance(r, StockLevel) and r.sku.casefold() in listed)]
    return kept, len(records) - len(kept)


def settle(spec: FlowSpec, store: StateStore, run_id: str, target: ConnectorResource, target_ctx: WriteContext,
           source: ConnectorResource, source_ctx: WriteContext, log: Callable[[str], None]) -> None:
    """Split the SKUs newly listed, forget those no longer listed (module docstring)."""
    if not spec.splits and not store.token(splits_key(spec)):
        return
    done: dict[str, Any] = dict((store.token(splits_key(spec)) or {}).get("skus", {}))
    for sku in sorted(set(done) - set(spec.splits)):
        _unlist(spec, store, run_id, sku, done.pop(sku), log)
        store.save_token(splits_key(spec), {"skus": done})
    for sku, share in sorted(spec.splits.items()):
        held = done.get(sku)
        if held is not None:
            if held["share"] != share:
                reason = (f"separate_stock.{sku} changed from {held['share']} to {share}; a split is made once: "
                          "remove the SKU from the list, run, and list it again with its new share")
                store.record_failed(run_id, spec.state_name, key=sku, stage="push", action="split", error=reason)
                log(f"{sku}: {reason}")
            continue
        if _split(spec, store, run_id, sku, share, target, target_ctx, source, source_ctx, log):
            done[sku] = {"share": share, "at": datetime.now(UTC).isoformat(timespec="seconds")}
            store.save_token(splits_key(spec), {"skus": done})


def _split(spec: FlowSpec, store: StateStore, run_id: str, sku: str, share: int, target: ConnectorResource,
           target_ctx: WriteContext, source: ConnectorResource, source_ctx: WriteContext,
           log: Callable[[str], None]) -> bool:
    level = StockLevel(sku=sku, quantity=Decimal(share))
    to_target = Change("update", level.key, level)  # no previous: an absolute write
    [landed] = list(target.write(spec.entity, [to_target], target_ctx)) or [_no_answer(level.key)]
    if not _fine(spec, store, run_id, sku, landed, f"{spec.target} refused its share", log):
        return False
    if seen := pairs.echo(store, spec, to_target, landed):  # the reverse flow has seen the target's new count
        store.put_snapshot(seen[0], level.key, seen[1], seen[2])
    out = Change("update", level.key, StockLevel(sku=sku, quantity=Decimal(0)), previous=level)  # a change of -share
    [moved] = list(source.write(spec.entity, [out], source_ctx)) or [_no_answer(level.key)]
    if not _fine(spec, store, run_id, sku, moved, f"{spec.source} kept the share", log):
        return False
    note = f"separate stock: {spec.target} keeps {share} of its own, moved out of {spec.source}'s count"
    store.record_outcome(run_id, spec.state_name, key=level.key, stage="push", action="split", outcome="separate",
                         note=note)
    log(f"{sku}: {note}")
    return True


def _unlist(spec: FlowSpec, store: StateStore, run_id: str, sku: str, held: dict, log: Callable[[str], None]) -> None:
    key = StockLevel(sku=sku, quantity=Decimal(0)).key
    store.forget_keys(FlowRef(spec.state_name, spec.source, spec.target, spec.entity), [key])
    if spec.reverse:
        store.forget_keys(FlowRef(spec.reverse, spec.target, spec.source, spec.entity), [key])
    note = (f"separate stock ended (split {held.get('at')}, share {held.get('share')}): {spec.target}'s count follows "
            f"{spec.source}'s again from the next run")
    store.record_outcome(run_id, spec.state_name, key=key, stage="push", action="unsplit", outcome="separate", note=note)
    log(f"{sku}: {note}")


def _fine(spec: FlowSpec, store: StateStore, run_id: str, sku: str, outcome: Outcome, what: str,
          log: Callable[[str], None]) -> bool:
    if outcome.ok and outcome.action not in ("ignored", "linked", "skipped"):
        return True
    reason = f"separate stock not split: {what} ({outcome.error or outcome.action}); tried again next run"
    store.record_failed(run_id, spec.state_name, key=sku, stage="push", action="split", error=reason)
    log(f"{sku}: {reason}")
    return False


def _no_answer(key: str) -> Outcome:
    return Outcome(key, ok=False, action="failed", error="the writer gave no outcome")
