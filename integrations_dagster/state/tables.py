"""The state store's tables (SQLAlchemy Core): snapshots, id map, cursors, sync log.

* ``snapshots`` — per flow, the last version of each record that the *target accepted*: its hash
  and its canonical JSON (so a writer can tell which variant changed, and the log what changed).
* ``id_map`` — per connection and entity, the canonical key (SKU, order key, customer e-mail) and
  that system's id. Source id ↔ target id ↔ SKU is the join of two rows on ``key``; the unique
  constraints are the last line of defence against a duplicate binding.
* ``cursors`` — named watermarks (a flow's last fetched modification time).
* ``sync_log`` — one row per record per run: what moved, what failed and why, and for an update
  each changed field's old and new value.
* ``tokens`` — rotating credentials of a connection (an OAuth2 refresh token changes on every use,
  so the current one must outlive the process that got it); never logged anywhere.
* ``webhook_events`` — webhook deliveries the receiver verified, stored before it answered 2xx: a
  hint that an entity of a connection changed (never the data: the run reads the source).
* ``claims`` — which run is writing a record to a target right now: one row per (target
  connection, entity, key), so that of two runs racing on one target (the tag concurrency limit
  bypassed) only one creates the record; the other waits and then finds it landed.
* ``call_ledger`` — the calls sent to a system with a daily call quota (``connectors.quota``): one row
  per request, so every process and run of a deployment spends one budget.
"""

from __future__ import annotations

from sqlalchemy import (
    Column, DateTime, Index, Integer, MetaData, String, Table, Text, UniqueConstraint,
)

metadata = MetaData()

snapshots = Table(
    "snapshots", metadata,
    Column("flow", String(200), primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("source", String(100), nullable=False),
    Column("target", String(100), nullable=False),
    Column("entity", String(50), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # The fingerprint of the source text (and mapping) this version came from: ``flows.prints``.
    Column("source_print", String(64)),
)

id_map = Table(
    "id_map", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("connection", String(100), nullable=False),
    Column("entity", String(50), nullable=False),
    Column("key", String(300), nullable=False),
    Column("external_id", String(300), nullable=False),
    Column("parent_id", String(300)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("connection", "entity", "key", name="uq_id_map_key"),
    UniqueConstraint("connection", "entity", "external_id", name="uq_id_map_external"),
)

cursors = Table(
    "cursors", metadata,
    Column("name", String(200), primary_key=True),
    Column("value", String(100), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

claims = Table(
    "claims", metadata,
    Column("connection", String(100), primary_key=True),
    Column("entity", String(50), primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("owner", String(300), nullable=False),  # host:pid:run id of the writer
    Column("claimed_at", DateTime(timezone=True), nullable=False),  # renewed while the run writes
    Index("ix_claims_owner", "owner"),
)

tokens = Table(
    "tokens", metadata,
    Column("key", String(100), primary_key=True),  # a hash naming one credential chain (never the secret)
    Column("value", Text, nullable=False),  # JSON: the current access token, its expiry, the refresh token
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

webhook_events = Table(
    "webhook_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("integration", String(100), nullable=False),
    Column("connection", String(100), nullable=False),  # the connection whose system sent it
    Column("entity", String(50), nullable=False),  # what it hints changed (one row per entity)
    Column("topic", String(200), nullable=False),  # the vendor's event name, for people
    Column("digest", String(64), nullable=False),  # sha256 of the body: a duplicate delivery is visible
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("ix_webhook_events_flow", "integration", "connection", "entity", "id"),
)

# Changes to counts a writer is about to send (relative, not idempotent): written before the send,
# removed with the record's landing (``record_landed``), one transaction (``connectors.deltas``). One
# left behind is a write a killed run may or may not have made; the next push settles it.
intents = Table(
    "intents", metadata,
    Column("flow", String(200), primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("before", String(50), nullable=False),  # the target's count just before the send
    Column("delta", String(50), nullable=False),  # the change sent
    Column("carried", String(50), nullable=False),  # landed by an earlier killed run, not yet recorded
    Column("run_id", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

# One row per request sent under a call quota (``connectors.quota.CallBudget``): the quota is the
# application's, so every run and process of the deployment counts against the same rows.
call_ledger = Table(
    "call_ledger", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("budget", String(100), nullable=False),  # a hash naming the quota (an application id), never a secret
    Column("purpose", String(50), nullable=False),  # what the call was for: orders, listings...
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_call_ledger_budget_at", "budget", "at"),
)

sync_log = Table(
    "sync_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("flow", String(200), nullable=False),
    Column("record_key", String(300), nullable=False),
    Column("stage", String(20), nullable=False),  # normalize | push
    Column("action", String(20), nullable=False),  # create | update | delete | map
    Column("outcome", String(20), nullable=False),  # created | updated | linked | failed | ...
    Column("error", Text),
    Column("source_id", String(300)),
    Column("target_id", String(300)),
    Column("changed", Text),  # comma-separated top-level fields that changed
    Column("changes", Text),  # JSON {field path: [old, new]} of an update (flows.changes)
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_sync_log_run", "run_id"),
    Index("ix_sync_log_flow_key", "flow", "record_key"),
)


# Columns added after a table's first release: ``StateStore`` adds them to an existing database
# (``create_all`` creates missing tables only). Additive and nullable, so an older release still
# reads and writes the table.
ADDED_COLUMNS = {"sync_log": ("changes",), "snapshots": ("source_print",)}
