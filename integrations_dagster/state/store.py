"""The state store: what the engine remembers between runs, in SQLite or PostgreSQL.

Everything a landed record changes — its snapshot, its id-map rows, its sync-log row — is written
in one transaction, right after the target accepted it. A crash between the target's answer and
that transaction loses only the memory of the write, never the data: the next run's writer looks
the record up by SKU / external reference before creating it.

Two runs writing one target at once (the tag concurrency limit bypassed) would both look a new
record up, both miss it and both create it. So a run *claims* the records it is about to write
(:meth:`StateStore.claim`: one row per target connection, entity and key under a primary key, taken
in its own transaction); the run that loses a claim waits until the winner has recorded the record,
then finds it landed. A claim left by a killed run is stale at once when its process on this host is
gone, else after :data:`CLAIM_TTL` without renewal.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Iterator

import pandas as pd
from sqlalchemy import and_, bindparam, create_engine, delete, event, func, inspect, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from integrations_dagster.state.tables import (
    ADDED_COLUMNS, call_ledger, claims, cursors, id_map, intents, metadata, snapshots, sync_log, tokens, webhook_events,
)

DEFAULT_STATE_DIR = ".state"
CLAIM_TTL = timedelta(minutes=5)  # a claim not renewed for this long is stale (its run is gone)


def default_url(*, create: bool = True) -> str:
    """``INTEGRATIONS_STATE_URL``, else a SQLite file beside Dagster's home (or ./.state); its folder
    is made unless ``create`` is False (a command that only reads must not make an empty store)."""
    url = os.environ.get("INTEGRATIONS_STATE_URL")
    if url:
        return normalize_url(url)
    home = os.environ.get("DAGSTER_HOME")
    folder = Path(home) if home else Path(DEFAULT_STATE_DIR)
    if create:
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


def hashed_key(kind: str, *parts: str) -> str:
    """A key of the ``tokens`` table for what a connector keeps there (a login, pending requests), from
    what identifies it (an application id, a user id): ``<kind>:<hash>``, so the table never holds an
    identifier that might be secret."""
    return f"{kind}:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


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
        _add_columns(self.engine)

    # -- snapshots -------------------------------------------------------------------------------
    def snapshot_frame(self, flow: str) -> pd.DataFrame:
        """``key``, ``hash`` of every record the target accepted for this flow."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(snapshots.c.key, snapshots.c.hash).where(snapshots.c.flow == flow)).all()
        # Columns, not rows: pandas probes every SQLAlchemy row for namedtuple fields (a failed
        # attribute lookup each: a third of a 100 000-row read).
        return pd.DataFrame({"key": [r[0] for r in rows], "hash": [r[1] for r in rows]}, columns=["key", "hash"])

    def landed(self, flow: str, connection: str, entity: str) -> list[tuple[str, str, str | None, str | None]]:
        """``(key, hash, external_id, source_print)`` of every record the target accepted for this
        flow, with its id in the target's map (``connection``, ``entity``) when bound: the one read of
        the whole flow a run makes (normalize skips by the prints, the diff joins by key; reading them
        apart, and the ids a query per 500 keys, cost twice as much at 100 000 records).

        Two plain scans joined here, not an outer join in SQL: on a freshly filled PostgreSQL table
        (no statistics yet) the planner chose a nested loop, and 100 000 rows took many minutes."""
        with self.engine.connect() as conn:
            ids = dict(conn.execute(select(id_map.c.key, id_map.c.external_id).where(
                and_(id_map.c.connection == connection, id_map.c.entity == entity))).all())
            rows = conn.execute(select(snapshots.c.key, snapshots.c.hash, snapshots.c.source_print)
                                .where(snapshots.c.flow == flow)).all()
        return [(key, digest, ids.get(key), fingerprint) for key, digest, fingerprint in rows]

    def snapshot_payloads(self, flow: str, keys: Iterable[str]) -> dict[str, dict]:
        """The accepted records of these keys as parsed JSON (``snapshot_versions``' texts)."""
        return {k: json.loads(p) for k, (_, p) in self.snapshot_versions(flow, keys).items()}

    def put_snapshot(self, flow: FlowRef, key: str, record_hash: str, payload: dict) -> None:
        """Set what a flow takes as already seen for one record, with no sync-log row: the other
        flow of a pair wrote it (``flows.pairs``), so it is not a change this flow must carry back."""
        with self.engine.begin() as conn:
            _put_snapshot(conn, flow, key, record_hash, payload)

    def refresh_payloads(self, flow: str, payloads: dict[str, dict]) -> None:
        """Replace the stored payload of records whose hash did not change (a newer freshness token)."""
        self._set_snapshot_column(flow, "payload", {k: json.dumps(v, default=str) for k, v in payloads.items()})

    def rehash(self, flow: str, hashes: dict[str, str]) -> None:
        """Store new hashes for records whose content did not change (the hash scheme did)."""
        self._set_snapshot_column(flow, "hash", hashes)

    def _set_snapshot_column(self, flow: str, column: str, values: dict[str, str]) -> None:
        stmt = (snapshots.update().where(and_(snapshots.c.flow == flow, snapshots.c.key == bindparam("k")))
                .values({column: bindparam("v")}))
        with self.engine.begin() as conn:
            conn.execute(stmt, [{"k": k, "v": v} for k, v in values.items()])

    # -- a record landed (or failed) -------------------------------------------------------------
    def record_landed(self, run_id: str, flow: FlowRef, *, key: str, action: str, outcome: str,
                      record_hash: str | None, payload: dict | None, target_id: str | None,
                      source_id: str | None, bindings: dict[str, tuple[str, str | None]] | None = None,
                      binding_entity: str | None = None, changed: str | None = None,
                      target_entity: str | None = None, source_ids: dict[str, str] | None = None,
                      warnings: Iterable[str] = (), changes: dict[str, list] | None = None,
                      parts: list[dict[str, Any]] | None = None, source_print: str | None = None,
                      settles: bool = False, echo: tuple[FlowRef, str, dict] | None = None) -> None:
        """Snapshot + id map + sync log for one accepted record, in one transaction.

        ``source_ids``: the source's ids of the record's parts (a product's variants), bound like the
        record's own ``source_id``; ``warnings``: reservations it landed with, one sync-log row each;
        ``changes``: field path -> [old, new] of an update; ``parts``: one more sync-log row each (a
        variant: ``key``, ``source_id``, ``target_id``, ``outcome``, ``changes``); ``source_print``:
        the fingerprint of the source text the record was mapped from (``flows.prints``); ``settles``:
        the write was a change to a count, whose journal entry (``intents``) goes with this landing;
        ``echo``: (the reverse flow, hash, payload) of what that flow now takes as seen (``flows.pairs``),
        in the same transaction — a run killed between the two would carry our write back.
        """
        at = now()
        with self.engine.begin() as conn:
            if settles:  # a change to a count sent for this record is settled by its landing (connectors.deltas)
                conn.execute(delete(intents).where(and_(intents.c.flow == flow.name, intents.c.key == key)))
            if echo is not None:
                _put_snapshot(conn, echo[0], key, echo[1], echo[2])
            if action == "delete":
                conn.execute(delete(snapshots).where(and_(snapshots.c.flow == flow.name, snapshots.c.key == key)))
            else:
                _upsert(conn, snapshots, {
                    "flow": flow.name, "key": key, "source": flow.source, "target": flow.target,
                    "entity": flow.entity, "hash": record_hash, "payload": json.dumps(payload, default=str),
                    "updated_at": at, "source_print": source_print,
                }, ["flow", "key"])
                if target_id:
                    _bind(conn, flow.target, target_entity or flow.entity, key, target_id, None, at)
                if source_id:
                    _bind(conn, flow.source, flow.entity, key, source_id, None, at, move=True)
                for part, part_id in (source_ids or {}).items():
                    if part != key:
                        _bind(conn, flow.source, flow.entity, part, part_id, source_id, at, move=True)
            for bkey, (ext_id, parent) in (bindings or {}).items():
                _bind(conn, flow.target, binding_entity or flow.entity, bkey, ext_id, parent, at)
            conn.execute(sync_log.insert().values(
                run_id=run_id, flow=flow.name, record_key=key, stage="push", action=action,
                outcome=outcome, error=None, source_id=source_id, target_id=target_id,
                changed=changed, changes=json.dumps(changes, default=str) if changes else None, at=at))
            part_rows = [{**_failure_row(run_id, flow.name, part["key"], "push", action, "", at,
                                         source_id=part.get("source_id"), target_id=part.get("target_id"),
                                         outcome=part["outcome"]),
                          "error": None, "changes": json.dumps(part["changes"], default=str) if part.get("changes") else None}
                         for part in parts or ()]
            if part_rows:
                conn.execute(sync_log.insert(), part_rows)
            notes = [_failure_row(run_id, flow.name, key, "push", action, w, at, source_id=source_id,
                                  target_id=target_id, outcome="warning") for w in warnings]
            if notes:
                conn.execute(sync_log.insert(), notes)

    def record_failed(self, run_id: str, flow: str, *, key: str, stage: str, action: str, error: str,
                      source_id: str | None = None, target_id: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(sync_log.insert().values(**_failure_row(
                run_id, flow, key, stage, action, error, now(), source_id=source_id, target_id=target_id)))

    def record_outcome(self, run_id: str, flow: str, *, key: str, stage: str, action: str, outcome: str,
                       note: str | None = None) -> None:
        """A sync-log row that is neither a landing nor a failure (``gone``: the source no longer has
        the record), which closes the record's earlier failure."""
        with self.engine.begin() as conn:
            conn.execute(sync_log.insert().values(**_failure_row(run_id, flow, key, stage, action, note or "", now(),
                                                                 outcome=outcome)))

    def record_failures(self, run_id: str, flow: str, failures: list[tuple[str, str]], *, stage: str,
                        action: str, source_ids: dict[str, str | None] | None = None) -> None:
        """Many ``(key, reason)`` failures of one stage in one transaction (a batch of bad records);
        ``source_ids``: the source's id of a failed record by key, where known."""
        if not failures:
            return
        at = now()
        ids = source_ids or {}
        rows = [_failure_row(run_id, flow, key, stage, action, error, at, source_id=ids.get(key))
                for key, error in failures]
        with self.engine.begin() as conn:
            conn.execute(sync_log.insert(), rows)

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

    def unresolved_failures(self, flow: str, keys: Iterable[str] | None = None) -> pd.DataFrame:
        """Records of ``flow`` whose latest sync-log row is a failure: failed and not landed since.
        A record that failed before it had a key (no SKU: logged as ``product 32``) is resolved
        when a record with its source id lands later, under whatever key. Columns ``record_key,
        error, run_id, at, stage, source_id``; oldest first."""
        columns = ["record_key", "error", "run_id", "at", "stage", "source_id"]
        latest = (select(sync_log.c.record_key, func.max(sync_log.c.id).label("id"))
                  .where(sync_log.c.flow == flow, sync_log.c.outcome != "warning")
                  .group_by(sync_log.c.record_key).subquery())
        q = (select(sync_log.c.id, *(sync_log.c[c] for c in columns))
             .join(latest, sync_log.c.id == latest.c.id).where(sync_log.c.outcome == "failed")
             .order_by(sync_log.c.id))
        if keys is not None:
            q = q.where(sync_log.c.record_key.in_(list(keys)))
        landed = (select(sync_log.c.source_id, func.max(sync_log.c.id))
                  .where(sync_log.c.flow == flow, sync_log.c.outcome.not_in(("failed", "warning")),
                         sync_log.c.source_id.is_not(None))
                  .group_by(sync_log.c.source_id))
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
            wanted = {r.source_id for r in rows if r.source_id}
            later = dict(conn.execute(landed.where(sync_log.c.source_id.in_(wanted))).all()) if wanted else {}
        rows = [r for r in rows if not (r.source_id and later.get(r.source_id, -1) > r.id)]
        return pd.DataFrame([tuple(r)[1:] for r in rows], columns=columns)

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

    def bound_under(self, keys: Iterable[str]) -> list[tuple[str, str, str, str]]:
        """``(key, connection, entity, external_id)`` of every id-map row under ``keys``, any connection."""
        out: list[tuple[str, str, str, str]] = []
        with self.engine.connect() as conn:
            for chunk in _chunks(list(keys)):
                out += [tuple(r) for r in conn.execute(
                    select(id_map.c.key, id_map.c.connection, id_map.c.entity, id_map.c.external_id)
                    .where(id_map.c.key.in_(chunk)).order_by(id_map.c.id)).all()]
        return out

    # -- cursors -------------------------------------------------------------------------------
    def get_cursor(self, name: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(cursors.c.value).where(cursors.c.name == name)).scalar()

    def set_cursor(self, name: str, value: str) -> None:
        with self.engine.begin() as conn:
            _upsert(conn, cursors, {"name": name, "value": value, "updated_at": now()}, ["name"])

    # -- claims: one writer per target record at a time ----------------------------------------
    def claim(self, connection: str, entity: str, keys: Iterable[str], owner: str) -> set[str]:
        """Claim the records ``keys`` of ``connection`` for ``owner`` (see :func:`claim_owner`); return
        the keys ``owner`` holds afterwards. Free and stale claims are taken; a claim another live
        writer holds is not. Of two writers inserting one claim, the primary key lets exactly one win."""
        keys = sorted(set(keys))  # one order for every writer: no lock-order deadlock on PostgreSQL
        if not keys:
            return set()
        self.expire_claims(connection, entity, owner, keys)
        held: set[str] = set()
        at = now()
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            with self.engine.begin() as conn:
                dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
                conn.execute(dialect.insert(claims).values(
                    [{"connection": connection, "entity": entity, "key": k, "owner": owner, "claimed_at": at}
                     for k in chunk]).on_conflict_do_nothing())
                held.update(conn.execute(select(claims.c.key).where(and_(
                    claims.c.connection == connection, claims.c.entity == entity, claims.c.owner == owner,
                    claims.c.key.in_(chunk)))).scalars())
        return held

    def expire_claims(self, connection: str, entity: str, owner: str, keys: list[str] | None = None) -> None:
        """Drop the stale claims of other owners on ``keys`` (on every key of the entity when None)."""
        base = and_(claims.c.connection == connection, claims.c.entity == entity, claims.c.owner != owner)
        rows = []
        with self.engine.connect() as conn:
            if keys is None:
                rows = conn.execute(select(claims.c.key, claims.c.owner, claims.c.claimed_at).where(base)).all()
            for i in range(0, len(keys or []), 500):
                rows += conn.execute(select(claims.c.key, claims.c.owner, claims.c.claimed_at).where(and_(
                    base, claims.c.key.in_(keys[i:i + 500])))).all()
        stale = [(k, o) for k, o, at in rows if claim_is_stale(o, at)]
        if stale:
            with self.engine.begin() as conn:
                for key, old in stale:
                    conn.execute(delete(claims).where(and_(
                        claims.c.connection == connection, claims.c.entity == entity, claims.c.key == key,
                        claims.c.owner == old)))

    def renew_claims(self, owner: str) -> None:
        """Keep ``owner``'s claims fresh while its run is still writing."""
        with self.engine.begin() as conn:
            conn.execute(claims.update().where(claims.c.owner == owner).values(claimed_at=now()))

    def release_claims(self, owner: str, keys: Iterable[str] | None = None) -> None:
        """Drop ``owner``'s claims on ``keys`` (all of them when None)."""
        with self.engine.begin() as conn:
            if keys is None:
                conn.execute(delete(claims).where(claims.c.owner == owner))
                return
            keys = list(keys)
            for i in range(0, len(keys), 500):
                conn.execute(delete(claims).where(and_(claims.c.owner == owner, claims.c.key.in_(keys[i:i + 500]))))

    def snapshot_hashes(self, flow: str, keys: Iterable[str]) -> dict[str, str]:
        return {k: h for k, (h, _) in self.snapshot_versions(flow, keys, payloads=False).items()}

    def snapshot_versions(self, flow: str, keys: Iterable[str], *,
                          payloads: bool = True) -> dict[str, tuple[str, str | None]]:
        """``(hash, payload JSON text)`` of what the target accepted for these keys, 500 per query
        (the text is parsed only by whoever needs the record)."""
        keys = list(keys)
        out: dict[str, tuple[str, str | None]] = {}
        columns = [snapshots.c.key, snapshots.c.hash] + ([snapshots.c.payload] if payloads else [])
        with self.engine.connect() as conn:
            for i in range(0, len(keys), 500):
                for row in conn.execute(select(*columns).where(
                        and_(snapshots.c.flow == flow, snapshots.c.key.in_(keys[i:i + 500])))):
                    out[row[0]] = (row[1], row[2] if payloads else None)
        return out

    # -- webhook hints ----------------------------------------------------------------------------
    def add_webhook_event(self, integration: str, connection: str, entities: Iterable[str], topic: str,
                          digest: str) -> int:
        """Store one verified delivery (a row per entity it hints at); the newest row's id."""
        rows = [{"integration": integration, "connection": connection, "entity": entity, "topic": topic[:200],
                 "digest": digest, "received_at": now()} for entity in sorted(set(entities))]
        if not rows:
            return 0
        with self.engine.begin() as conn:
            conn.execute(webhook_events.insert(), rows)
            return int(conn.execute(select(func.max(webhook_events.c.id))).scalar() or 0)

    def webhook_events_after(self, integration: str, connection: str, entity: str, after: int) -> tuple[int, int]:
        """(newest id, how many) of the hints for one flow's source since ``after`` (0, 0 when none)."""
        c = webhook_events.c
        with self.engine.connect() as conn:
            newest, count = conn.execute(select(func.max(c.id), func.count()).where(and_(
                c.integration == integration, c.connection == connection, c.entity == entity, c.id > after))).one()
        return int(newest or 0), int(count or 0)

    def webhook_log(self, limit: int = 50) -> list[dict]:
        """The newest stored deliveries, newest first (the receiver's status page)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(webhook_events).order_by(webhook_events.c.id.desc()).limit(limit)).mappings()
            return [dict(r) for r in rows]

    # -- call quotas (connectors.quota) ------------------------------------------------------------
    def spend_call(self, budget: str, purpose: str, *, limit: int, window: timedelta, reserve: int = 0,
                   priority: frozenset[str] = frozenset()) -> tuple[list[datetime], int]:
        """Record one call under ``budget`` if the last ``window`` leaves room for it: ``limit`` calls,
        of which ``reserve`` are kept for the ``priority`` purposes until they have spent them. Returns
        the times of the calls in the window before this one (oldest first) and how many ``purpose`` was
        allowed in all; the call was recorded when the first are fewer than the second. One process at a
        time per budget (the store's lock), so two runs never both take the last call."""
        at = now()
        with self.lock(f"calls:{budget}"):
            with self.engine.begin() as conn:
                conn.execute(delete(call_ledger).where(and_(call_ledger.c.budget == budget,
                                                            call_ledger.c.at < at - 2 * window)))
                rows = conn.execute(select(call_ledger.c.at, call_ledger.c.purpose).where(and_(
                    call_ledger.c.budget == budget, call_ledger.c.at > at - window))
                    .order_by(call_ledger.c.at)).all()
                kept = 0 if purpose in priority else max(reserve - sum(p in priority for _, p in rows), 0)
                allowed = max(limit - kept, 0)
                if len(rows) < allowed:
                    conn.execute(call_ledger.insert().values(budget=budget, purpose=purpose, at=at))
        return [_aware(t) for t, _ in rows], allowed

    def calls_sent(self, budget: str, window: timedelta) -> list[tuple[datetime, str]]:
        """``(time, purpose)`` of the calls recorded under ``budget`` in the last ``window``, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(call_ledger.c.at, call_ledger.c.purpose).where(and_(
                call_ledger.c.budget == budget, call_ledger.c.at > now() - window)).order_by(call_ledger.c.at)).all()
        return [(_aware(t), p) for t, p in rows]

    # -- rotating credentials ---------------------------------------------------------------------
    def token(self, key: str) -> dict | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(tokens.c.value).where(tokens.c.key == key)).scalar()
        return json.loads(value) if value else None

    def save_token(self, key: str, value: dict) -> None:
        with self.engine.begin() as conn:
            _upsert(conn, tokens, {"key": key, "value": json.dumps(value), "updated_at": now()}, ["key"])

    def delete_token(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(tokens).where(tokens.c.key == key))

    def forget_keys(self, flow: FlowRef, keys: list[str]) -> None:
        """Drop the flow's snapshot of ``keys``: its next run takes them as a first sync does."""
        with self.engine.begin() as conn:
            for chunk in _chunks(keys):
                conn.execute(delete(snapshots).where(and_(snapshots.c.flow == flow.name, snapshots.c.key.in_(chunk))))

    # -- intents: changes to counts being sent (connectors.deltas) ---------------------------------
    def intents(self, flow: str, keys: Iterable[str] | None = None) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
        """key -> (count before, change sent, carried) of the flow's unsettled sends (of ``keys``, or all)."""
        q = select(intents.c.key, intents.c.before, intents.c.delta, intents.c.carried).where(intents.c.flow == flow)
        out: dict[str, tuple[Decimal, Decimal, Decimal]] = {}
        with self.engine.connect() as conn:
            for chunk in ([None] if keys is None else _chunks(list(keys))):
                rows = conn.execute(q if chunk is None else q.where(intents.c.key.in_(chunk))).all()
                out.update((k, (Decimal(b), Decimal(d), Decimal(c))) for k, b, d, c in rows)
        return out

    def begin_intents(self, flow: str, entries: dict[str, tuple[Decimal, Decimal, Decimal]], run_id: str) -> None:
        at = now()
        with self.engine.begin() as conn:
            for key, (before, delta, carried) in entries.items():
                _upsert(conn, intents, {"flow": flow, "key": key, "before": str(before), "delta": str(delta),
                                        "carried": str(carried), "run_id": run_id, "at": at}, ["flow", "key"])

    # -- forgetting a flow (disconnect) -----------------------------------------------------------
    def forget_flow(self, flow: FlowRef) -> None:
        """Drop the flow's snapshot, its cursor and the target's id map of the records it landed
        (their parts too: ids bound under a landed record's id), in one transaction. The sync log stays."""
        with self.engine.begin() as conn:
            keys = list(conn.execute(select(snapshots.c.key).where(snapshots.c.flow == flow.name)).scalars())
            ids = []
            for chunk in _chunks(keys):
                ids += conn.execute(select(id_map.c.external_id).where(and_(
                    id_map.c.connection == flow.target, id_map.c.entity == flow.entity, id_map.c.key.in_(chunk)))).scalars()
                conn.execute(delete(id_map).where(and_(
                    id_map.c.connection == flow.target, id_map.c.entity == flow.entity, id_map.c.key.in_(chunk))))
            for chunk in _chunks(ids):
                conn.execute(delete(id_map).where(and_(id_map.c.connection == flow.target, id_map.c.parent_id.in_(chunk))))
            conn.execute(delete(snapshots).where(snapshots.c.flow == flow.name))
            conn.execute(delete(cursors).where(cursors.c.name == flow.name))
            conn.execute(delete(intents).where(intents.c.flow == flow.name))

    @contextmanager
    def lock(self, name: str, *, timeout: float = 60.0, poll: float = 0.05) -> Iterator[None]:
        """Hold ``name`` exclusively across processes and hosts sharing this store (a claim under the
        claims table's primary key; a holder that died is taken over as any stale claim)."""
        owner = claim_owner(f"lock-{uuid.uuid4().hex[:12]}")
        deadline = time.monotonic() + timeout
        while not self.claim("lock", "lock", [name], owner):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name!r} is held by another process for more than {timeout:.0f} s")
            time.sleep(poll)
        try:
            yield
        finally:
            self.release_claims(owner)

    def dispose(self) -> None:
        self.engine.dispose()


def _aware(at: datetime) -> datetime:
    """SQLite gives back naive datetimes (stored as UTC)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _put_snapshot(conn: Connection, flow: FlowRef, key: str, record_hash: str, payload: dict) -> None:
    _upsert(conn, snapshots, {
        "flow": flow.name, "key": key, "source": flow.source, "target": flow.target, "entity": flow.entity,
        "hash": record_hash, "payload": json.dumps(payload, default=str), "updated_at": now(),
        "source_print": None}, ["flow", "key"])


def _chunks(values: list[str], size: int = 500) -> Iterator[list[str]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def claim_owner(run_id: str) -> str:
    """Who holds a claim: ``host:pid:run id`` (the pid tells a killed run's claims apart at once)."""
    return f"{socket.gethostname()}:{os.getpid()}:{run_id}"


def claim_is_stale(owner: str, claimed_at: datetime, ttl: timedelta = CLAIM_TTL) -> bool:
    """Not renewed within ``ttl``, or held by a process of this host that no longer exists."""
    if claimed_at.tzinfo is None:  # SQLite gives naive UTC
        claimed_at = claimed_at.replace(tzinfo=UTC)
    if now() - claimed_at > ttl:
        return True
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False  # another host: only the age tells
    pid = int(parts[1])
    if pid == os.getpid():
        return False  # another run (thread) of this process: alive
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class DuplicateBinding(ValueError):
    """Two canonical keys claim one external id: the id map refuses instead of hiding a duplicate.

    A ValueError: it is the record's conflict, not the run's - writers and the engine log that
    record as failed with this message and go on with the rest."""


class TableBinder:
    """The id map of one connection (implements ``connectors.base.Binder``)."""

    def __init__(self, store: StateStore, connection: str) -> None:
        self.store, self.connection = store, connection

    def external_id(self, entity: str, key: str) -> str | None:
        with self.store.engine.connect() as conn:
            return conn.execute(select(id_map.c.external_id).where(and_(
                id_map.c.connection == self.connection, id_map.c.entity == entity, id_map.c.key == key))).scalar()

    def external_ids(self, entity: str, keys: Iterable[str]) -> dict[str, str]:
        """``external_id`` of many keys in a query per 500 (a diff of 100 000 changes made 100 000
        queries one by one); keys the map does not hold are left out."""
        keys = list(dict.fromkeys(keys))
        out: dict[str, str] = {}
        with self.store.engine.connect() as conn:
            for i in range(0, len(keys), 500):
                out.update(conn.execute(select(id_map.c.key, id_map.c.external_id).where(
                    id_map.c.connection == self.connection, id_map.c.entity == entity,
                    id_map.c.key.in_(keys[i:i + 500]))).all())
        return out

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
          parent_id: str | None, at: datetime, *, move: bool = False) -> None:
    """Bind ``key`` to ``external_id``. An id already bound to another key is refused, unless
    ``move``: the source system is the authority on its own ids (a SKU renamed in the shop keeps
    its product id), so that binding moves to the new key."""
    existing = conn.execute(select(id_map.c.key).where(and_(
        id_map.c.connection == connection, id_map.c.entity == entity,
        id_map.c.external_id == external_id))).scalar()
    if existing is not None and existing != key and move:
        conn.execute(delete(id_map).where(and_(
            id_map.c.connection == connection, id_map.c.entity == entity, id_map.c.key == existing)))
    elif existing is not None and existing != key:
        raise DuplicateBinding(f"{connection} {entity} id {external_id!r} is already bound to {existing!r}, "
                               f"not {key!r}")
    try:
        with conn.begin_nested():
            _upsert(conn, id_map, {"connection": connection, "entity": entity, "key": key,
                                   "external_id": external_id, "parent_id": parent_id, "updated_at": at},
                    ["connection", "entity", "key"])
    except IntegrityError as exc:  # a concurrent writer bound the same external id first
        raise DuplicateBinding(f"{connection} {entity} id {external_id!r}: {exc.orig}") from None


def _failure_row(run_id: str, flow: str, key: str, stage: str, action: str, error: str, at: datetime, *,
                 source_id: str | None = None, target_id: str | None = None,
                 outcome: str = "failed") -> dict[str, Any]:
    return {"run_id": run_id, "flow": flow, "record_key": _text(key, 300), "stage": stage, "action": action,
            "outcome": outcome, "error": _text(error), "source_id": _text(source_id, 300),
            "target_id": _text(target_id, 300), "changed": None, "at": at}


def _add_columns(engine: Engine) -> None:
    """Add the columns a newer release put on an existing table (``tables.ADDED_COLUMNS``)."""
    present = inspect(engine)
    for table_name, names in ADDED_COLUMNS.items():
        have = {c["name"] for c in present.get_columns(table_name)}
        table = metadata.tables[table_name]
        for name in names:
            if name in have:
                continue
            column_type = table.c[name].type.compile(dialect=engine.dialect)
            try:
                with engine.begin() as conn:
                    conn.execute(text(f"ALTER TABLE {table_name} ADD COLUMN {name} {column_type}"))
            except Exception:  # noqa: BLE001 - another process added it first
                if name not in {c["name"] for c in inspect(engine).get_columns(table_name)}:
                    raise


def _text(value: str | None, limit: int | None = None) -> str | None:
    """Text a hostile record put in the sync log: no NUL (PostgreSQL refuses it), within the column."""
    if value is None:
        return None
    value = str(value).replace("\x00", "\\x00")
    return value[:limit] if limit else value


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

