"""Tradera's reference data, cached: VAT rates, item attributes, payment and shipping types.

``GET /v4/reference-data/item-field-values`` → ``{vat: [int], itemAttributes, paymentTypes, shippingTypes:
[IdDescriptionPair]}`` [spec ``#/components/schemas/ItemFieldsResponse``] — what the listing settings are
checked against. Each call counts against the day's 100 [§3], and the lists change rarely, so they are
kept in the state store for :data:`MAX_AGE` (under the quota's name: one application, one copy) and
fetched again only when older.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

MAX_AGE = timedelta(days=7)
PATH = "/v4/reference-data/item-field-values"


@dataclass(frozen=True)
class Reference:
    vat: tuple[int, ...]
    attributes: dict[int, str]
    payments: dict[int, str]
    shipping: dict[int, str]

    @classmethod
    def parse(cls, body: dict) -> "Reference":
        def pairs(name: str) -> dict[int, str]:
            return {int(p["id"]): str(p.get("description") or p.get("value") or p["id"])
                    for p in body.get(name) or [] if isinstance(p, dict) and p.get("id") is not None}

        return cls(tuple(int(v) for v in body.get("vat") or []), pairs("itemAttributes"), pairs("paymentTypes"),
                   pairs("shippingTypes"))


def reference(adapter: Any, store: Any, key: str) -> Reference:
    """The cached lists (one call when the copy is older than a week)."""
    held = store.token(key)
    if held and datetime.fromisoformat(held["at"]) > datetime.now(UTC) - MAX_AGE:
        return Reference.parse(held["body"])
    with adapter.budget.spending_on("reference"):
        body = adapter.get(PATH)
    store.save_token(key, {"at": datetime.now(UTC).isoformat(), "body": body})
    return Reference.parse(body)
