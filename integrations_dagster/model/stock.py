"""Stock levels: an absolute quantity of one SKU at one location.

Systems that only take movements (Zettle, Fortnox warehouse documents, BigCommerce relative
adjustments) compute the delta from the previous snapshot at their writer; the hub keeps absolute
levels. ``as_of`` is the freshness token: the source's time of the level, so that an older value
never overwrites a newer one.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import field_validator

from integrations_dagster.model.base import CanonicalRecord, parse_instant


class StockLevel(CanonicalRecord):
    volatile_fields: ClassVar[frozenset[str]] = frozenset({"as_of", "source_id"})

    sku: str
    quantity: Decimal
    location: str = "default"
    source_id: str | None = None
    as_of: str | None = None  # ISO 8601 UTC

    @field_validator("quantity")
    @classmethod
    def _finite(cls, v: Decimal) -> Decimal:
        if not v.is_finite():
            raise ValueError(f"stock quantity {v} is not a finite number")
        return v

    @property
    def key(self) -> str:
        return self.sku if self.location == "default" else f"{self.sku}@{self.location}"

    def freshness(self) -> datetime | None:
        return parse_instant(self.as_of)
