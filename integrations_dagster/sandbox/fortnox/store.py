"""Keyed access to the sandbox's Fortnox documents (articles by ArticleNumber, orders by DocumentNumber...).

Documents are stored in Fortnox's own shape (PascalCase, no ``@url``) with what was written and
computed; :func:`present` answers them whole, in the shapes recorded from the real API (:mod:`.shapes`).
"""

from __future__ import annotations

from integrations_dagster.sandbox.base import DocumentStore
from integrations_dagster.sandbox.fortnox.shapes import item, whole
from integrations_dagster.sandbox.fortnox.wire import now_utc


class Keyed:
    """One collection of documents addressed by their Fortnox key."""

    def __init__(self, store: DocumentStore, collection: str, key_field: str) -> None:
        self.store, self.collection, self.key_field = store, collection, key_field

    def get(self, key: str) -> dict | None:
        found = self.store.find(self.collection, key=key, limit=1)
        return found[0] if found else None

    def save(self, doc: dict) -> dict:
        """Insert or replace by key; every save moves the document's ``lastmodified``."""
        key = str(doc[self.key_field])
        with self.store.lock:
            current = self.get(key)
            if current is None:
                self.store.insert(self.collection, doc, key=key, modified=now_utc())
                return self.get(key) or doc
            doc = {**doc, "id": current["id"]}
            self.store.put(self.collection, current["id"], doc, key=key, modified=now_utc())
            return doc

    def delete(self, key: str) -> None:
        current = self.get(key)
        if current is not None:
            self.store.delete(self.collection, current["id"])

    def next_number(self) -> str:
        """Fortnox number series: one above the highest numeric key so far."""
        numbers = [int(d[self.key_field]) for d in self.store.find(self.collection)
                   if str(d[self.key_field]).isdigit()]
        return str(max(numbers, default=0) + 1)


def present(doc: dict, base: str, path: str, shape: dict | None = None,
            fields: tuple[str, ...] | None = None) -> dict:
    """The record as Fortnox shows it: ``@url``, then every field of its recorded ``shape`` (unset
    ones as Fortnox answers them), or just the list item's ``fields``."""
    body = {"@url": f"{base}{path}"}
    if fields is not None:
        body.update(item(fields, doc))
    elif shape is not None:
        body.update(whole(shape, doc))
    else:
        body.update({k: v for k, v in doc.items() if k != "id" and v is not None})
    return body
