"""One Rackbeat account (company) as the sandbox holds it: the store, the clock, the webhooks, and the three
services that own its records — :mod:`.catalog` (groups, items, variations, custom fields), :mod:`.stock`
(locations, stock per location, adjustments) and :mod:`.sales` (customers, orders).

Records live in the shared SQLite :class:`DocumentStore`, one collection each; an item's id is its row id,
so field values and stock rows keyed by it survive a change of the item's number. ``base_url`` is the API
root the last request came to, used for the ``self`` links Rackbeat puts on every record [3p: RackbeatShopifySync
model ``self``] [spec: swagger Product.self].
"""

from __future__ import annotations

from typing import Any

from integrations_dagster.sandbox.base import DocumentStore
from integrations_dagster.sandbox.rackbeat import guesses
from integrations_dagster.sandbox.rackbeat.events import Events
from integrations_dagster.sandbox.rackbeat.wire import Clock
from integrations_dagster.sandbox.webhooks import Outbox


class Account:
    def __init__(self, store: DocumentStore, outbox: Outbox, account_id: str) -> None:
        from integrations_dagster.sandbox.rackbeat.catalog import Catalog
        from integrations_dagster.sandbox.rackbeat.sales import Sales
        from integrations_dagster.sandbox.rackbeat.stock import Stock

        self.store = store
        self.account_id = account_id
        self.clock = Clock()
        self.events = Events(store, outbox, self.clock, account_id)
        self.base_url = "https://app.rackbeat.com/api"
        self.catalog = Catalog(self)
        self.stock = Stock(self)
        self.sales = Sales(self)

    def unit(self, suppress: bool = False):
        """``with account.unit(suppress):`` one write (transaction, then its webhooks)."""
        return self.events.unit(suppress)

    def link(self, path: str) -> str:
        return f"{self.base_url}/{path}"

    def next_number(self, collection: str, first: int) -> int:
        """The next free integer number of a collection keyed by number (max + 1, at least ``first``)."""
        numbers = [int(d["number"]) for d in self.store.find(collection) if str(d.get("number", "")).isdigit()]
        return max([first - 1, *numbers]) + 1

    def counter(self, name: str) -> int:
        """A fresh id from a named sequence (line ids, option ids)."""
        return self.store.insert(f"seq_{name}", {})

    def reset_settings(self) -> None:
        self.clock.pin(None)
        self.events.payload_style = guesses.WEBHOOK_PAYLOAD_STYLE

    def one(self, collection: str, key: Any) -> dict | None:
        rows = self.store.find(collection, key=str(key))
        return rows[0] if rows else None
