"""The hub's table: one canonical record per hub, entity and key, with where it came from.

Kept beside the state store's tables (the same database by default, another by ``database_url``),
in a metadata of its own: the engine's tables never name the hub, the hub never writes theirs.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, MetaData, String, Table, Text

metadata = MetaData()

records = Table(
    "hub_records", metadata,
    Column("hub", String(100), primary_key=True),  # one database may hold several hubs (``settings.name``)
    Column("entity", String(50), primary_key=True),
    Column("key", String(300), primary_key=True),  # the canonical key: a SKU, ``<connection>:<order id>``
    Column("origin", String(100), nullable=False),  # the connection whose import plug wrote it last
    Column("hash", String(64), nullable=False),  # the canonical record's content hash
    Column("payload", Text, nullable=False),  # the canonical record as JSON
    Column("modified_at", DateTime(timezone=True), nullable=False),  # when the hub's copy last changed
    Index("ix_hub_records_changed", "hub", "entity", "modified_at"),
)
