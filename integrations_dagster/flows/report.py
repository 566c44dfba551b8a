"""What a flow's run reports: the tally of its push, the record table, the target asset's materialization.

The push records each outcome in a :class:`Tally` as it lands (counts per outcome, and the first
rows of the run's record table — failures first, as they are what a person opens the run for); at
the end :class:`RunReport` turns it into the push output's metadata and the materialization of the
flow's target asset, which the Catalog shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dagster import AssetMaterialization, MetadataValue

from integrations_dagster.flows.assets import record_table, target_key
from integrations_dagster.flows.spec import FlowSpec

MAX_FAILURES_SHOWN = 50
MAX_RECORDS_SHOWN = 200  # rows of a run's record table; the sync log has every record


@dataclass
class Tally:
    """What a run's push did: counts per outcome, and the first rows of the record table."""

    counts: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (key, reason) of records the target refused
    earlier_failed: int = 0  # records that failed before the push (could not be mapped, a key used twice)
    rows: list[dict[str, Any]] = field(default_factory=list)  # failures first, then the others
    error: str | None = None
    deferred: list[tuple[str, str]] = field(default_factory=list)  # (key, reason): waits for the target's quota
    _other_rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def landed(self) -> int:
        return sum(n for k, n in self.counts.items() if k not in ("failed", "warnings", "landed by another run"))

    @property
    def failed(self) -> int:
        return self.counts.get("failed", 0)

    @property
    def all_failed(self) -> int:
        return self.failed + self.earlier_failed

    def add(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1

    def note_failure(self, key: str, action: str, reason: str, *, stage: str, **ids: str | None) -> None:
        if stage == "push":
            self.add("failed")
            self.failures.append((key, reason))
        else:
            self.earlier_failed += 1
        if len(self.rows) < MAX_RECORDS_SHOWN:
            self.rows.append({"key": key, "action": action, "outcome": f"failed ({stage})", "reason": reason, **ids})

    def defer(self, key: str, action: str, reason: str) -> None:
        """A record the target's quota had no room for: neither landed nor failed; the next run takes it."""
        self.deferred.append((key, reason))
        self.note_landed({"key": key, "action": action, "outcome": "waiting", "reason": reason})

    def note_landed(self, row: dict[str, Any]) -> None:
        if len(self._other_rows) < MAX_RECORDS_SHOWN:
            self._other_rows.append(row)

    def trace(self, lineage: Any) -> None:
        """Each landed row's ``lineage`` (``lineage(key)``: where the order came from and went)."""
        for row in self._other_rows:
            if row.get("outcome") in ("created", "updated", "linked"):
                row["lineage"] = lineage(row["key"])

    def table_rows(self) -> list[dict[str, Any]]:
        return (self.rows + self._other_rows)[:MAX_RECORDS_SHOWN]


@dataclass
class RunReport:
    """The push's report: the output's metadata, the target asset's materialization."""

    spec: FlowSpec
    tally: Tally
    unchanged: int

    def metadata(self, run_id: str) -> dict[str, Any]:
        tally = self.tally
        counts = {k: tally.counts.get(k, 0) for k in ("created", "updated", "linked")}
        return {**counts, "failed": tally.all_failed,
                **{k: v for k, v in tally.counts.items() if k not in ("created", "updated", "linked", "failed")},
                "unchanged": self.unchanged,
                **({"waiting": len(tally.deferred)} if tally.deferred else {}),
                "records": record_table(tally.table_rows()),
                "all records": MetadataValue.text(f"integrations-dagster log --run {run_id}"),
                "failures": MetadataValue.md(failure_table(tally.failures))}

    def materialization(self, run_id: str, *, succeeded: bool) -> AssetMaterialization:
        meta = self.metadata(run_id)
        meta.pop("failures")
        if succeeded:
            meta["last successful sync"] = MetadataValue.timestamp(datetime.now(UTC))
        else:
            meta["gave up"] = MetadataValue.text(self.tally.error or "")
        return AssetMaterialization(asset_key=target_key(self.spec), metadata=meta,
                                    description=f"flow {self.spec.state_name}, run {run_id[:8]}"
                                                + ("" if succeeded else " (gave up; what landed is counted)"))


def failure_table(failures: list[tuple[str, str]]) -> str:
    if not failures:
        return "none"
    rows = [f"| {_md(k)} | {_md(r)} |" for k, r in failures[:MAX_FAILURES_SHOWN]]
    more = f"\n\n… and {len(failures) - MAX_FAILURES_SHOWN} more in the sync log" if len(failures) > MAX_FAILURES_SHOWN else ""
    return "| record | reason |\n|---|---|\n" + "\n".join(rows) + more


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")[:300]
