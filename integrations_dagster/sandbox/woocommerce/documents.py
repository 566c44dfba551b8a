"""SQLite access for the WooCommerce emulator: the shared DocumentStore plus filtered, sorted pages.

Indexed columns: ``key`` = SKU, ``parent`` = product id of a variation, ``modified`` =
``date_modified_gmt``. Other filters use ``json_extract`` on the stored document.
"""

from __future__ import annotations

import json

from integrations_dagster.sandbox.base import DocumentStore


class WooDocuments(DocumentStore):
    _depth = 0  # nesting of transaction() on the thread that holds the lock

    def page(self, collection: str, where: list[str], args: list, order_by: str, limit: int,
             offset: int) -> tuple[list[dict], int]:
        """One page of documents matching SQL ``where`` clauses, and the total number matching."""
        table = self._table(collection)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self.lock:
            total = self._conn.execute(f"SELECT COUNT(*) FROM {table}{clause}", args).fetchone()[0]
            rows = self._conn.execute(
                f"SELECT data FROM {table}{clause} ORDER BY {order_by} LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        return [json.loads(r[0]) for r in rows], total

    def exists(self, collection: str, where: str, args: list) -> bool:
        table = self._table(collection)
        with self.lock:
            return self._conn.execute(f"SELECT 1 FROM {table} WHERE {where} LIMIT 1", args).fetchone() is not None

    def children(self, collection: str, parent: int) -> list[dict]:
        return self.find(collection, parent=parent)

    def transaction(self):
        """Like the base store's, but re-entrant: a write inside another write joins its transaction."""
        return _Reentrant(self)


class _Reentrant:
    def __init__(self, store: WooDocuments) -> None:
        self.store = store

    def __enter__(self) -> WooDocuments:
        self.store.lock.acquire()
        depth = self.store._depth
        if depth == 0:
            self.store._conn.execute("BEGIN")
        self.store._depth = depth + 1
        return self.store

    def __exit__(self, exc_type, *_) -> None:
        try:
            self.store._depth -= 1
            if self.store._depth == 0:
                self.store._conn.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.store.lock.release()
