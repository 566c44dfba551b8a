"""What the ERP did with a shop's order: delivered (with tracking numbers), invoiced, paid, cancelled.

Seed 002: "När en order i Specter ändrar status (t.ex. till Levererad, Fakturerad, Betald, Makulerad)
så kan Sharespine fånga upp detta och skicka signalen vidare till WooCommerce", with "eventuell
paketspårningsinformation". One record per shop order, keyed by the order's canonical key (the one
the orders flow sent the ERP as its reference, ``<shop connection>:<shop order id>``), carrying the
furthest state the order reached; ``as_of`` is the freshness token, so a late or replayed event never
moves a shop order back.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from integrations_dagster.model.base import CanonicalRecord, parse_instant

ProgressState = Literal["open", "delivered", "invoiced", "paid", "cancelled"]
STATES: tuple[str, ...] = ("open", "delivered", "invoiced", "paid", "cancelled")


class OrderProgress(CanonicalRecord):
    volatile_fields: ClassVar[frozenset[str]] = frozenset({"as_of", "source_id"})

    order_key: str  # the shop order's canonical key ("shop:1042")
    state: ProgressState
    tracking_numbers: tuple[str, ...] = ()
    source_id: str | None = None  # the ERP's own order number
    as_of: str | None = None  # ISO 8601 UTC

    @property
    def key(self) -> str:
        return self.order_key

    def freshness(self) -> datetime | None:
        return parse_instant(self.as_of)
