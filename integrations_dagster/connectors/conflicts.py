"""Both ways without ping-pong: what a writer writes to a record the other side may also have changed.

A flow carried both ways (products Rackbeat → Shopbox and Shopbox → Rackbeat) meets two cases a one-way
flow never sees:

* **The echo of our own write.** Flow A writes a name to the till; flow B, reading the till, sees that
  product changed and would write it back to A's source. B's writer compares first: the source already
  holds that value, so nothing is written and nothing bounces back (the other side's timestamps never
  move for a value that did not change).
* **A conflict**: both sides changed the same field since the last sync. A writer knows three values of
  a field: what the target holds now (``current``), what the source wants (``wanted``) and what this
  flow last wrote (``last``, from its snapshot). ``current != last`` means someone changed the target
  since; ``wanted != last`` means the source changed too; both, and they disagree: a conflict. The
  integration states who wins (``conflict_winner`` in the YAML, one connection for both flows): when
  the target wins the field is left as it is (the reverse flow carries it to the other side), when the
  source wins it is written. Either way the writer reports it, and the sync log keeps it as a warning.

Writers call :func:`settle` with their own field names and comparable values (Decimals normalised).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Conflict:
    field: str
    wanted: Any  # the source's new value
    current: Any  # what the target holds, changed there since the last sync
    written: bool  # the source's value won and was written

    def describe(self, key: str, target: str) -> str:
        kept = f"wrote {self.wanted!r} over it" if self.written else f"kept it, left {self.wanted!r} unwritten"
        return (f"conflict on {key} {self.field}: both sides changed it since the last sync; {target} has "
                f"{self.current!r}: {kept} (conflict_winner)")


def settle(current: dict[str, Any], wanted: dict[str, Any], last: dict[str, Any] | None, *,
           target_wins: bool) -> tuple[dict[str, Any], list[Conflict]]:
    """The fields of ``wanted`` to write (those that differ from ``current``) and the conflicts among them
    (module docstring). ``last`` None: this flow never wrote the record, so nothing can conflict."""
    write: dict[str, Any] = {}
    conflicts: list[Conflict] = []
    for name, value in wanted.items():
        held = current.get(name)
        if value == held:
            continue
        before = last.get(name) if last is not None else None
        if last is not None and name in last and held != before and value != before:
            conflicts.append(Conflict(name, value, held, written=not target_wins))
            if target_wins:
                continue
        elif last is not None and name in last and value == before:
            continue  # the source did not change it: the target's own change stands (the reverse flow carries it)
        write[name] = value
    return write, conflicts
