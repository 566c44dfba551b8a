"""Two flows of counted quantities (stock) between the same two connections, one each way: a pair.

Both systems change stock (a POS sells, a webshop takes orders), so each flow carries its source's
*changes* — the level now minus the level it last carried, its snapshot — and the target applies
them as movements or relative adjustments: sales on both sides between two runs add up instead of
the later write erasing the earlier one.

No echo: a write of one flow changes the other flow's source. So when flow A lands a change on the
target, flow B (which reads that target) is told it has seen it: B's snapshot of the record moves by
what A moved (``Outcome.moved``), or is set to what A set (``Outcome.level``, an absolute write: the
first sync). B then carries only what happened at the target itself — a webshop order, a stock
count — never A's write back to A's source.

The two flows of a pair never run at once: they share one concurrency slot (their jobs' target
tag), so B never reads the target before A's write and takes A's snapshot shift after it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Iterable

from integrations_dagster.connectors.base import Change, Outcome
from integrations_dagster.flows.spec import FlowSpec
from integrations_dagster.model import RECORD_TYPES, StockLevel
from integrations_dagster.state import FlowRef, StateStore


def find_reverse(specs: Iterable[FlowSpec]) -> dict[str, str]:
    """state name -> the state name of its pair, for the stock flows of one integration."""
    stock = [s for s in specs if s.entity == "stock" and not s.once]
    return {a.state_name: b.state_name for a in stock for b in stock
            if a is not b and (a.source, a.target) == (b.target, b.source)}


def slot(spec: FlowSpec) -> str:
    """The concurrency slot of a flow's realtime runs: its target, or the pair's two connections."""
    if spec.reverse:
        return f"{spec.integration}.{'+'.join(sorted((spec.source, spec.target)))}.{spec.entity}"
    return f"{spec.integration}.{spec.target}"


def echo(store: StateStore, spec: FlowSpec, change: Change, outcome: Outcome) -> tuple[FlowRef, str, dict] | None:
    """What the reverse flow is to take as seen after this write (module docstring): (its FlowRef, the
    record's hash, payload), recorded with the landing in one transaction; None when nothing to shift."""
    if not spec.reverse or not outcome.ok or not isinstance(change.record, StockLevel):
        return None
    if outcome.moved is None and outcome.level is None:
        return None
    reverse = FlowRef(spec.reverse, spec.target, spec.source, spec.entity)
    if outcome.level is not None:
        seen = replace_quantity(change.record, outcome.level)
    else:
        held = store.snapshot_payloads(spec.reverse, [outcome.key]).get(outcome.key)
        if held is None:
            return None  # the reverse flow has not seen the record yet: its first read takes it as it is
        before = RECORD_TYPES[spec.entity].model_validate(held)
        seen = replace_quantity(before, before.quantity + outcome.moved)
    return reverse, seen.content_hash(), seen.model_dump(mode="json")


def replace_quantity(level: StockLevel, quantity) -> StockLevel:
    """The level as the reverse flow will read it after our write: ``quantity``, as of now — so that a
    reading of the target made before the write, replayed late, is older and never wins (``_stale``)."""
    return level.model_copy(update={"quantity": quantity, "source_id": None,
                                    "as_of": datetime.now(UTC).isoformat()})

