"""SQLite access for the WooCommerce emulator: the shared DocumentStore plus filtered, sorted pages.

Indexed columns: ``key`` = SKU, ``parent`` = product id of a variation, ``modified`` =
``date_modified_gmt``. Other filters use ``json_extract`` on the stored document.
"""

from __future__ import annotations

import json

from integrations_dagster.sandbox.base import DocumentStore


POSTS = frozenset({"products", "variations"})


class WooDocuments(DocumentStore):
    _depth = 0  # nesting of transaction() on the thread that holds the lock
    _last_parent: tuple[int, dict | None] | None = None

    def page(self, collection: str, where: list[str], args: list, order_by: str, limit: int,
             offset: int) -> tuple[list[dict], int]:
        """One page of documents matching SQL ``where`` clauses, and the total number matching."""
        rows, total = self._select(self._table(collection), "data", where, args, order_by, limit, offset)
        return [json.loads(r[0]) for r in rows], total

    def page_posts(self, where: list[str], args: list, order_by: str, limit: int,
                   offset: int) -> tuple[list[tuple[str, dict]], int]:
        """Like :meth:`page`, over products and variations together, each with its collection: the
        products list searches both post types when it filters by SKU (see ``listing.searches_variations``)."""
        tables = [self._table(c) for c in sorted(POSTS)]
        union = " UNION ALL ".join(f"SELECT id, key, parent, modified, data, '{t}' AS kind FROM {t}" for t in tables)
        rows, total = self._select(f"({union})", "kind, data", where, args, order_by, limit, offset)
        return [(r[0], json.loads(r[1])) for r in rows], total

    def _select(self, source: str, columns: str, where: list[str], args: list, order_by: str, limit: int,
                offset: int) -> tuple[list[tuple], int]:
        """One page of ``columns`` from ``source`` (a table or a subquery), and the total matching."""
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self.lock:
            total = self._conn.execute(f"SELECT COUNT(*) FROM {source}{clause}", args).fetchone()[0]
            rows = self._conn.execute(
                f"SELECT {columns} FROM {source}{clause} ORDER BY {order_by} LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        return rows, total

    def exists(self, collection: str, where: str, args: list) -> bool:
        table = self._table(collection)
        with self.lock:
            return self._conn.execute(f"SELECT 1 FROM {table} WHERE {where} LIMIT 1", args).fetchone() is not None

    def children(self, collection: str, parent: int) -> list[dict]:
        return self.find(collection, parent=parent)

    def insert(self, collection: str, doc: dict, *, key: str | None = None, parent: int | None = None,
               modified: str | None = None) -> int:
        """Products and variations are WordPress posts: one id sequence for both, so a variation's id
        is never a product's [source: WooCommerce stores both in wp_posts, post_type product /
        product_variation]. Other collections count on their own."""
        if collection not in POSTS:
            return super().insert(collection, doc, key=key, parent=parent, modified=modified)
        with self.lock:
            post_id = super().insert("posts", {})
            t = self._table(collection)
            self._conn.execute(f"INSERT INTO {t}(id, key, parent, modified, data) VALUES (?,?,?,?,?)",
                               (post_id, key, parent, modified, json.dumps({**doc, "id": post_id})))
            return post_id

    def put(self, collection: str, doc_id: int, doc: dict, **kwargs) -> None:
        self._last_parent = None
        super().put(collection, doc_id, doc, **kwargs)

    def delete(self, collection: str, doc_id: int) -> None:
        self._last_parent = None
        super().delete(collection, doc_id)

    def clear(self) -> None:
        self._last_parent = None
        super().clear()

    def parent_of(self, pid: int) -> dict | None:
        """A variation's stored parent product (the last one asked for is kept: a page of
        variations shares one parent)."""
        cached = self._last_parent
        if cached is not None and cached[0] == pid:
            return cached[1]
        doc = self.get("products", pid)
        self._last_parent = (pid, doc)
        return doc

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
