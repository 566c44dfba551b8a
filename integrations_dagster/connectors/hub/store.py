"""The hub's records in SQL: put (only what changed), read by modification window, look up by key.

A write that brings the same content again changes nothing (not even ``modified_at``), so an export
plug reading the hub by window sees only real changes. Times are the hub's own clock (UTC).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Iterable, Iterator

from sqlalchemy import and_, delete, func, select
from sqlalchemy.engine import Engine

from integrations_dagster.connectors.hub.tables import metadata, records
from integrations_dagster.state.store import _aware, _engine, _upsert, normalize_url


@dataclass(frozen=True)
class HubRow:
    entity: str
    key: str
    origin: str
    payload: dict
    modified_at: datetime

    def raw(self) -> dict:
        """The shape the hub connector's reader yields (and its mapper reads)."""
        return {"key": self.key, "origin": self.origin, "modified_at": self.modified_at.isoformat(),
                "record": self.payload}


_ENGINES: dict[str, Engine] = {}


class HubStore:
    def __init__(self, url: str, hub: str) -> None:
        url = normalize_url(url)
        if url not in _ENGINES:
            _ENGINES[url] = _engine(url)
            metadata.create_all(_ENGINES[url])
        self.engine, self.hub = _ENGINES[url], hub

    def put(self, entity: str, key: str, origin: str, record_hash: str, payload: dict) -> bool:
        """Keep ``payload`` under ``key``; False when the hub held the same content from the same origin."""
        with self.engine.begin() as conn:
            held = conn.execute(select(records.c.hash, records.c.origin).where(self._one(entity, key))).first()
            if held is not None and tuple(held) == (record_hash, origin):
                return False
            _upsert(conn, records, {"hub": self.hub, "entity": entity, "key": key, "origin": origin,
                                    "hash": record_hash, "payload": json.dumps(payload, default=str),
                                    "modified_at": datetime.now(UTC)}, ["hub", "entity", "key"])
        return True

    def remove(self, entity: str, key: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(records).where(self._one(entity, key))).rowcount > 0

    def read(self, entity: str, since: datetime | None = None, until: datetime | None = None,
             origins: Iterable[str] | None = None) -> Iterator[HubRow]:
        q = select(records).where(records.c.hub == self.hub, records.c.entity == entity)
        if since is not None:
            q = q.where(records.c.modified_at >= since)
        if until is not None:
            q = q.where(records.c.modified_at < until)
        if origins is not None:
            q = q.where(records.c.origin.in_(list(origins)))
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(records.c.modified_at, records.c.key)).mappings().all()
        for r in rows:
            yield _row(r)

    def get(self, entity: str, keys: Iterable[str]) -> dict[str, HubRow]:
        keys = list(keys)
        out: dict[str, HubRow] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(keys), 500):
                q = select(records).where(records.c.hub == self.hub, records.c.entity == entity,
                                          records.c.key.in_(keys[i:i + 500]))
                out.update((r["key"], _row(r)) for r in conn.execute(q).mappings())
        return out

    def newest(self, entity: str) -> tuple[datetime | None, int]:
        """The newest change's time and the number of records (a sensor's cheap look)."""
        with self.engine.connect() as conn:
            at, count = conn.execute(select(func.max(records.c.modified_at), func.count()).where(
                and_(records.c.hub == self.hub, records.c.entity == entity))).one()
        return (_aware(at) if at else None), int(count or 0)

    def _one(self, entity: str, key: str):
        return and_(records.c.hub == self.hub, records.c.entity == entity, records.c.key == key)


def _row(r) -> HubRow:
    return HubRow(r["entity"], r["key"], r["origin"], json.loads(r["payload"]), _aware(r["modified_at"]))
