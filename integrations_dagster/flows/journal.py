"""The state store's ``intents`` as a flow's :class:`~integrations_dagster.connectors.deltas.Journal`,
and what the diff does about a change a killed run left unsettled.

A writer of relative changes (a stock adjustment, a movement) writes each change here before sending
it; the landing of its record removes it (``connectors.deltas``). One that stays belongs to a run that
died mid-write; until the flow's next push settles it against the target's counts:

* that flow sends the record again even when nothing changed since (its change, net of what landed,
  may be zero or even undo the dead write when the source moved back), and
* the pair's other flow (``flows.pairs``) leaves the key alone: it reads the very count the dead write
  may have moved, and without the settled echo it would carry that write back.
"""

from __future__ import annotations

from decimal import Decimal

from integrations_dagster.connectors.base import Change
from integrations_dagster.flows.spec import FlowSpec
from integrations_dagster.model import CanonicalRecord
from integrations_dagster.state import StateStore


class StoreJournal:
    """One flow's unsettled changes to counts, kept in the state store."""

    def __init__(self, store: StateStore, flow: str, run_id: str) -> None:
        self.store, self.flow, self.run_id = store, flow, run_id

    def pending(self, keys: list[str]) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
        return self.store.intents(self.flow, keys)

    def begin(self, entries: dict[str, tuple[Decimal, Decimal, Decimal]]) -> None:
        if entries:
            self.store.begin_intents(self.flow, entries, self.run_id)


def settle_first(spec: FlowSpec, store: StateStore, changes: list[Change],
                 records: list[CanonicalRecord]) -> tuple[list[Change], list[str], list[str]]:
    """The diff's changes with this flow's unsettled keys added (as updates, to be settled) and the
    reverse flow's unsettled keys held back; the keys added and held."""
    own = store.intents(spec.state_name)
    held = set(store.intents(spec.reverse)) if spec.reverse else set()
    if not own and not held:
        return changes, [], []
    out = [c for c in changes if c.key not in held]
    listed = {c.key for c in out}
    by_key = {r.key: r for r in records}
    added = sorted(k for k in own if k not in listed and k not in held and k in by_key)
    ids = store.binder(spec.target).external_ids(spec.entity, added) if added else {}
    out += [Change("update", k, by_key[k], target_id=ids.get(k)) for k in added]
    return out, added, sorted(held & {c.key for c in changes})
