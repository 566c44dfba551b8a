"""The hub connector: the engine's own canonical store, a system like the others (F3, seed 000).

A marketplace hub keeps a copy of products, orders and stock, and each connected system has
**plugs**: order import (``source: market, target: hub``), order export (``source: hub, target:
shop``), product import and export, stock import and export. Adding a channel means adding its plugs,
never a pair per other system; what one channel sells reaches the others through the hub.

The hub holds canonical records as they are (no mapping: ``to_canonical`` revives the stored JSON),
each with its **origin** — the connection whose import plug wrote it last — so an export plug can carry
the records of chosen origins only (``origins``), and the UI can show where each order came from
(lineage: ``flows.lineage``). Its database is the state store's unless ``database_url`` names another
(SQLite or PostgreSQL); ``name`` keeps several hubs apart in one database.

* **reader** — records changed in the window (the hub's own modification time: a write of the same
  content is no change), or by key (``read_keys``: a re-send).
* **exporter** — keeps each record with its origin; a delete removes it.
* **verify** — what the hub holds against what it should (the drift check).
* **moves** — a write into the hub is, for the hub's export plugs, what a webhook would say: their
  realtime triggers take it within a second (``pipeline.hint_what_moved``).
"""

from __future__ import annotations

from datetime import UTC
from typing import Any, ClassVar, Iterator

from pydantic import PrivateAttr

from integrations_dagster.connectors.base import (
    Change, ConnectorResource, Drift, MapNotes, Outcome, Watermark, Window, WriteContext,
)
from integrations_dagster.connectors.hub.store import HubStore
from integrations_dagster.model import RECORD_TYPES, CanonicalRecord, RecordError
from integrations_dagster.state.store import default_url

ENTITIES = frozenset({"products", "orders", "stock"})


class HubResource(ConnectorResource):
    """The hub ``name`` in the database at ``database_url`` (empty: the state store's)."""

    system: ClassVar[str] = "hub"
    reads: ClassVar[frozenset[str]] = ENTITIES
    writes: ClassVar[frozenset[str]] = ENTITIES
    verifies: ClassVar[frozenset[str]] = ENTITIES
    secret_fields: ClassVar[tuple[str, ...]] = ("database_url",)  # a PostgreSQL URL may hold a password
    credential_sets: ClassVar[tuple[tuple[str, ...], ...]] = ((),)  # none needed: the state store's database
    moves: ClassVar[dict[str, frozenset[str]]] = {e: frozenset({e}) for e in ENTITIES}
    options_model: ClassVar[str] = "integrations_dagster.connectors.hub.options:HubOptions"

    base_url: str = "hub:"
    database_url: str = ""
    name: str = "hub"

    _store: HubStore | None = PrivateAttr(default=None)

    def store(self) -> HubStore:
        if self._store is None:
            self._store = HubStore(self.database_url or default_url(), self.name)
        return self._store

    def test_connection(self) -> str:
        counts = {e: self.store().newest(e)[1] for e in sorted(ENTITIES)}
        return f"hub {self.name!r}: " + ", ".join(f"{n} {e}" for e, n in counts.items())

    # -- reader / mapper -----------------------------------------------------------------------
    def read(self, entity: str, window: Window, options: dict[str, Any]) -> Iterator[dict]:
        for row in self.store().read(entity, window.since, window.until, options.get("origins")):
            yield row.raw()

    def read_keys(self, entity: str, keys: list[str], options: dict[str, Any]) -> tuple[list[dict], dict[str, str]]:
        found = self.store().get(entity, keys)
        return ([found[k].raw() for k in keys if k in found],
                {k: f"the hub holds no {entity} record {k!r}" for k in keys if k not in found})

    def to_canonical(self, entity: str, raw: dict, options: dict[str, Any],
                     notes: MapNotes | None = None) -> CanonicalRecord:
        try:
            return RECORD_TYPES[entity].model_validate(raw["record"])
        except ValueError as exc:  # a record kept by an older release, in a shape this one refuses
            raise RecordError(f"the hub's copy no longer reads as a {entity} record: {exc}") from None

    def raw_key(self, entity: str, raw: dict) -> str:
        return str(raw.get("key", "?"))

    def raw_id(self, entity: str, raw: dict) -> str | None:
        return (raw.get("record") or {}).get("source_id")

    def latest_change(self, entity: str, since: Watermark | None) -> Watermark | None:
        at, count = self.store().newest(entity)
        if at is None:
            return None
        mark = f"{count}"
        return Watermark(at, mark, new=since is None or at > since.at or since.fingerprint != mark)

    # -- exporter ------------------------------------------------------------------------------
    def write(self, entity: str, changes: list[Change], ctx: WriteContext) -> Iterator[Outcome]:
        store = self.store()
        origin = ctx.source or "?"
        for change in changes:
            if change.action == "delete" or change.record is None:
                store.remove(entity, change.key)
                yield Outcome(change.key, ok=True, action="deleted", target_id=change.key)
                continue
            record = change.record
            changed = store.put(entity, change.key, origin, record.content_hash(), record.model_dump(mode="json"))
            action = ("created" if change.action == "create" else "updated") if changed else "linked"
            yield Outcome(change.key, ok=True, action=action, target_id=change.key)

    def verify(self, entity: str, records: list[CanonicalRecord], ctx: WriteContext) -> Iterator[Drift]:
        held = self.store().get(entity, [r.key for r in records])
        for record in records:
            row = held.get(record.key)
            if row is None:
                yield Drift(record.key, "record", "held", None)
                continue
            try:
                kept = RECORD_TYPES[entity].model_validate(row.payload)
            except ValueError:
                yield Drift(record.key, "record", "readable", "unreadable")
                continue
            if kept.content_hash() != record.content_hash():
                yield Drift(record.key, "record", "as the source has it", f"as {row.origin} wrote it at "
                            f"{row.modified_at.astimezone(UTC).strftime('%Y-%m-%d %H:%M')} UTC")


