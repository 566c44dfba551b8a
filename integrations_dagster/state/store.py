"""The state store: what the engine remembers between runs, in SQLite or PostgreSQL.

Everything a landed record changes — its snapshot, its id-map rows, its sync-log row — is written
in one transaction, right after the target accepted it. A crash between the target's answer and
that transaction loses only the memory of the write, never the data: the next run's writer looks
the record up by SKU / external reference before creating it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Iterable

import pandas as pd
from sqlalchemy import and_, create_engine, delete, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from integrations_dagster.state.tables import cursors, id_map, metadata, snapshots, sync_log

DEFAULT_STATE_DIR = ".state"


def default_url() -> str:
    """``INTEGRATIONS_STATE_URL``, else a SQLite file beside Dagster's home (or ./.state)."""
    url = os.environ.get("INTEGRATIONS_STATE_URL")
    if url:
        return normalize_url(url)
    home = os.environ.get("DAGSTER_HOME")
    folder = Path(home) if home else Path(DEFAULT_STATE_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'integrations_state.db'}"


def normalize_url(url: str) -> str:
    """SQLAlchemy 2.1 maps ``postgresql://`` to psycopg 3, which is not installed: use psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class FlowRef:
    """Who a flow's state belongs to: ``demo.products`` from ``shop`` to ``erp``."""

    name: str
    source: str
    target: str
    entity: str


class StateStore:
    def __init__(self, url: str | None = None) -> None:
        self.url = normalize_url(url) if url else default_url()
        self.engine: Engine = _engine(self.url)
        metadata.create_all(self.engine)

    # -- snapshots -------------------------------------------------------------------------------
    def snapshot_frame(self, flow: str) -> pd.DataFrame:
        """``key``, ``hash`` of every record the target accepted for this flow."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(snapshots.c.key, snapshots.c.hash).where(snapshots.c.flow == flow)).all()
        return pd.DataFrame(rows, columns=["key", "hash"])

    def snapshot_payloads(self, flow: str, keys: Iterable[str]) -> dict[str, dict]:
        keys = list(keys)
        out: dict[str, dict] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                for key, payload in conn.execute(select(snapshots.c.key, snapshots.c.payload).where(
                        and_(snapshots.c.flow == flow, snapshots.c.key.in_(chunk)))):
                    out[key] = json.loads(payload)
        return out

    # -- a record landed (or failed) -------------------------------------------------------------
    def record_landed(self, run_id: str, flow: FlowRef, *, key: str, action: str, outcome: str,
                      record_hash: str | None, payload: dict | None, target_id: str | None,
                      source_id: str | None, bindings: dict[str, tuple[str, str | None]] | None = None,
                      binding_entity: str | None = None, changed: str | None = None) -> None:
        """Snapshot + id map + sync log for one accepted record, in one transaction."""
        at = now()
        with self.engine.begin() as conn:
            if action == "delete":
                conn.execute(delete(snapshots).where(and_(snapshots.c.flow == flow.name, snapshots.c.key == key)))
            else:
                _upsert(conn, snapshots, {
                    "flow": flow.name, "key": key, "source": flow.source, "target": flow.target,
                    "entity": flow.entity, "hash": record_hash, "payload": json.dumps(payload, default=str),
                    "updated_at": at,
                }, ["flow", "key"])
                if target_id:
                    _bind(conn, flow.target, flow.entity, key, target_id, None, at)
                if source_id:
                    _bind(conn, flow.source, flow.entity, key, source_id, None, at)
            for bkey, (ext_id, parent) in (bindings or {}).items():
                _bind(conn, flow.target, binding_entity or flow.entity, bkey, ext_id, parent, at)
            conn.execute(sync_log.insert().values(
                run_id=run_id, flow=flow.name, record_key=key, stage="push", action=action,
                outcome=outcome, error=None, source_id=source_id, target_id=target_id,
                changed=changed, at=at))

    def record_failed(self, run_id: str, flow: str, *, key: str, stage: str, action: str, error: str,
                      source_id: str | None = None, target_id: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(sync_log.insert().values(
                run_id=run_id, flow=flow, record_key=key, stage=stage, action=action, outcome="failed",
                error=error, source_id=source_id, target_id=target_id, changed=None, at=now()))

    def log(self, run_id: str | None = None, flow: str | None = None, key: str | None = None) -> pd.DataFrame:
        """The sync log, filtered by run, flow and/or record key (F19)."""
        q = select(sync_log).order_by(sync_log.c.id)
        if run_id:
            q = q.where(sync_log.c.run_id == run_id)
        if flow:
            q = q.where(sync_log.c.flow == flow)
        if key:
            q = q.where(sync_log.c.record_key == key)
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        return pd.DataFrame(rows, columns=[c.name for c in sync_log.columns])

    # -- id map --------------------------------------------------------------------------------
    def binder(self, connection: str) -> "TableBinder":
        return TableBinder(self, connection)

    def id_pairs(self, source: str, target: str, entity: str) -> pd.DataFrame:
        """Source id ↔ target id ↔ key (SKU) for one connection pair."""
        s, t = id_map.alias("s"), id_map.alias("t")
        q = (select(s.c.key, s.c.external_id.label("source_id"), t.c.external_id.label("target_id"))
             .join(t, and_(s.c.key == t.c.key, s.c.entity == t.c.entity))
             .where(s.c.connection == source, t.c.connection == target, s.c.entity == entity))
        with self.engine.connect() as conn:
            return pd.DataFrame(conn.execute(q).all(), columns=["key", "source_id", "target_id"])

    # -- cursors -------------------------------------------------------------------------------
    def get_cursor(self, name: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(cursors.c.value).where(cursors.c.name == name)).scalar()

    def set_cursor(self, name: str, value: str) -> None:
        with self.engine.begin() as conn:
            _upsert(conn, cursors, {"name": name, "value": value, "updated_at": now()}, ["name"])

    def dispose(self) -> None:
        self.engine.dispose()


class DuplicateBinding(RuntimeError):
    """Two canonical keys claim one external id: the id map refuses instead of hiding a duplicate."""


class TableBinder:
    """The id map of one connection (implements ``connectors.base.Binder``)."""

    def __init__(self, store: StateStore, connection: str) -> None:
        self.store, self.connection = store, connection

    def external_id(self, entity: str, key: str) -> str | None:
        with self.store.engine.connect() as conn:
            return conn.execute(select(id_map.c.external_id).where(and_(
                id_map.c.connection == self.connection, id_map.c.entity == entity, id_map.c.key == key))).scalar()

    def key_for(self, entity: str, external_id: str) -> str | None:
        with self.store.engine.connect() as conn:
            return conn.execute(select(id_map.c.key).where(and_(
                id_map.c.connection == self.connection, id_map.c.entity == entity,
                id_map.c.external_id == external_id))).scalar()

    def bind(self, entity: str, key: str, external_id: str, parent_id: str | None = None) -> None:
        with self.store.engine.begin() as conn:
            _bind(conn, self.connection, entity, key, external_id, parent_id, now())

    def all(self, entity: str) -> dict[str, str]:
        with self.store.engine.connect() as conn:
            return dict(conn.execute(select(id_map.c.key, id_map.c.external_id).where(and_(
                id_map.c.connection == self.connection, id_map.c.entity == entity))).all())


def _bind(conn: Connection, connection: str, entity: str, key: str, external_id: str,
          parent_id: str | None, at: datetime) -> None:
    existing = conn.execute(select(id_map.c.key).where(and_(
        id_map.c.connection == connection, id_map.c.entity == entity,
        id_map.c.external_id == external_id))).scalar()
    if existing is not None and existing != key:
        raise DuplicateBinding(f"{connection} {entity} id {external_id!r} is already bound to {existing!r}, "
                               f"not {key!r}")
    try:
        with conn.begin_nested():
            _upsert(conn, id_map, {"connection": connection, "entity": entity, "key": key,
                                   "external_id": external_id, "parent_id": parent_id, "updated_at": at},
                    ["connection", "entity", "key"])
    except IntegrityError as exc:  # a concurrent writer bound the same external id first
        raise DuplicateBinding(f"{connection} {entity} id {external_id!r}: {exc.orig}") from None


def _upsert(conn: Connection, table, values: dict[str, Any], keys: list[str]) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=keys,
                                      set_={k: v for k, v in values.items() if k not in keys})
    conn.execute(stmt)


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # WAL: a killed writer never corrupts the file
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)

