"""Sending changes to counts (stock) exactly once, where the vendor takes them only as changes.

A relative stock adjustment or a stock movement is not idempotent: sent twice, it counts twice.

* **A lost answer** (a 5xx after the write, a dropped connection) may hide a write that applied. So
  the counts are read just before the write; when its answer is lost they are read again: a count
  that moved by exactly the change says the payload applied (a payload is one transaction: all of it
  or none [BigCommerce: spec inventory.v3.yml, one transaction id per payload; Zettle: doc
  …/update-inventory-balance, one 204]), and the write counts as landed; otherwise the error goes up
  and the run fails with nothing to undo.
* **A killed run** (the process dies after the vendor applied the write and before the engine
  recorded it) leaves no answer at all, and the next run computes the same change from the same
  snapshot. So each change goes into the flow's :class:`Journal` (the state store's ``intents``)
  before it is sent — with the count read just before and what earlier killed runs are known to have
  landed (``carried``) — and leaves it only in the transaction that records the record as landed.
  The next push settles what a dead run left (:func:`net_of_dead_runs`) against the counts it reads:
  moved by exactly the change — it landed; not moved — it did not; moved by something else too (a sale
  at that moment) — it cannot be told: counted as landed and said in the sync log, the rarer error and
  one a count on either side corrects. Only the rest of the new change is sent, and the outcome
  reports the whole change as moved, so the reverse flow's snapshot shifts by it (no echo). The other
  flow of a pair leaves a key alone while this flow has an unsettled change of it (``flows.journal``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Callable, Mapping, Protocol

from integrations_dagster.connectors.http import ApiError, TransientError

ZERO = Decimal(0)


class Journal(Protocol):
    """A flow's unsettled changes to counts, by record key: (count before, change sent, carried)."""

    def pending(self, keys: list[str]) -> dict[str, tuple[Decimal, Decimal, Decimal]]: ...

    def begin(self, entries: dict[str, tuple[Decimal, Decimal, Decimal]]) -> None: ...


def net_of_dead_runs(journal: Journal | None, counts: Callable[[], Mapping[str, Decimal | None]],
                     changes: Mapping[str, Decimal]) -> tuple[dict[str, Decimal], dict[str, Decimal], dict[str, str]]:
    """Settle what killed runs left for these keys (``changes``: record key -> change wanted; ``counts()``:
    record key -> count now, read only when there is something to settle): the changes still to send,
    what had landed already (key -> amount, to carry), and a note per key a reading could not settle."""
    left: dict[str, Decimal] = dict(changes)
    landed: dict[str, Decimal] = {}
    notes: dict[str, str] = {}
    stale = journal.pending(list(changes)) if journal is not None else {}
    if not stale:
        return left, landed, notes
    read = counts()
    for key, (before, delta, carried) in stale.items():
        now = read.get(key)
        if now is None:
            continue
        landed[key] = carried
        if now - before == delta:
            landed[key] += delta
        elif now != before:
            landed[key] += delta
            notes[key] = (f"a change of {delta} sent by a run that died could not be settled: the count moved by "
                          f"{now - before} since; it is counted as landed — check this count")
        left[key] -= landed[key]
    return left, landed, notes


def apply_once(send: Callable[[], None], read: Callable[[], Mapping[str, Decimal]],
               changes: Mapping[str, Decimal], *, journal: Journal | None = None,
               keys: Mapping[str, str] | None = None, carried: Mapping[str, Decimal] | None = None) -> None:
    """``send()`` the payload carrying ``changes`` (read key -> amount); ``read()`` gives the counts by read
    key. With a ``journal`` the changes go into it first under their record keys (``keys``: read key ->
    record key) with what earlier dead runs landed (``carried``, by record key); the engine removes them
    when it records the landing. A refused payload applied nothing: its entries keep only the carried."""
    before = read()
    named = keys or {k: k for k in changes}
    carried = carried or {}

    def note(sent: bool) -> None:
        if journal is not None:
            journal.begin({named[k]: (before.get(k, ZERO), d if sent else ZERO, carried.get(named[k], ZERO))
                           for k, d in changes.items() if k in named})

    note(True)
    try:
        send()
    except TransientError:
        after = read()
        if not any(d and k in before and k in after and after[k] - before[k] == d for k, d in changes.items()):
            raise  # not applied as far as the counts tell: the journal keeps it for the next run to settle
    except ApiError:
        note(False)
        raise
