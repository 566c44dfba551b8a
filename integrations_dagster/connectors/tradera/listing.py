"""The listing settings of a Tradera connection (seed 000 steps 13–18), checked before anything is listed.

What each becomes in ``ShopItemData`` [spec ``#/components/schemas/ShopItemData``]:

* **price list** (step 13) → ``price``: whole kronor (int32), from the shop's price including VAT (Tradera
  lists consumer prices; GUESS MONEY_RULES), rounded **half up to the krona** (öre are no longer coins in
  Sweden; 0.50 goes up) — :func:`krona`;
* **description** (step 14) → ``description`` (≤ 7000 characters) from the shop's long or short text, the
  other when the chosen one is empty; the name → ``title`` (≤ 80) [spec];
* **condition** (step 15) → ``itemAttributes``: ``[1]`` Ny or ``[2]`` Begagnad — never both ("Du kan inte
  välja båda" [seed l. 96–98]);
* **region** (step 16) → ``acceptedBuyerId``: 1 Sweden, 4 EU, 3 International [spec ``acceptedBuyerId``];
* **shipping** (step 17) → ``shippingOptions[{shippingOptionId, cost}]``: at most 2, 3 when one is Pickup
  (id 8) [spec ``shippingOptions``]; ``cost`` required, whole kronor, not negative;
* **payment options** (step 18) → ``paymentOptionIds``.

Each is refused here, naming the setting, where Tradera would refuse it: a shipping or payment id its
reference data does not list, a VAT rate it does not take — so a bad setting fails the run before a call
is spent on an item Tradera would refuse. A payment option Tradera lists but has not switched on for the
seller (Klarna) is only known from the request result (result 4), where it fails the item.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from integrations_dagster.config import ConfigError
from integrations_dagster.connectors.tradera.reference import Reference

PICKUP = 8  # "Avhämtning" [doc: plugin tradera-publish]
REGIONS = {"sweden": 1, "eu": 4, "international": 3}
CONDITIONS = {"new": 1, "used": 2}
TITLE_MAX, DESCRIPTION_MAX, REFERENCE_MAX = 80, 7000, 60


def krona(amount: Decimal) -> int:
    """Whole kronor, half up (199.50 → 200, 199.49 → 199)."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Listing:
    """The settings as Tradera's fields, the same for every item of the connection."""

    price_list: str
    markup: Decimal
    description: str
    attributes: tuple[int, ...]
    buyers: int
    shipping: tuple[tuple[int, int], ...]  # (shippingOptionId, cost)
    payments: tuple[int, ...]
    category: int
    untracked_quantity: int

    @classmethod
    def of(cls, options: dict[str, Any], where: str) -> "Listing":
        """The settings from a flow's options; refuses what Tradera would, naming ``where``'s setting."""
        def bad(name: str, why: str) -> ConfigError:
            return ConfigError(f"{where}.{name}: {why}")

        condition = options.get("condition") or "new"
        if condition not in CONDITIONS:
            raise bad("condition", f"{condition!r} is neither new nor used (Tradera takes one of them, never both)")
        region = options.get("region") or "sweden"
        if region not in REGIONS:
            raise bad("region", f"{region!r} is none of {', '.join(REGIONS)}")
        category = options.get("category")
        if not isinstance(category, int) or category <= 0:
            raise bad("category", "the Tradera category id items are listed in is required (GET /v4/categories)")
        shipping = []
        for n, entry in enumerate(options.get("shipping") or []):
            if not isinstance(entry, dict) or not isinstance(entry.get("option"), int):
                raise bad(f"shipping[{n}]", "give {option: <Tradera shipping id>, cost: <whole kronor>}")
            cost = entry.get("cost")
            if not isinstance(cost, int) or isinstance(cost, bool) or cost < 0:
                raise bad(f"shipping[{n}].cost", f"{cost!r}: Tradera needs a cost for every shipping option, in "
                                                 "whole kronor, not negative")
            shipping.append((entry["option"], cost))
        most = 3 if any(option == PICKUP for option, _ in shipping) else 2
        if len(shipping) > most:
            raise bad("shipping", f"{len(shipping)} options: Tradera takes at most 2 (3 when one is Pickup, id 8)")
        if len({option for option, _ in shipping}) != len(shipping):
            raise bad("shipping", "an option is named twice")
        payments = options.get("payment_options") or []
        if not all(isinstance(p, int) and not isinstance(p, bool) for p in payments):
            raise bad("payment_options", "give Tradera's payment type ids (numbers)")
        markup = Decimal(str(options.get("price_markup_percent") or 0))
        if markup <= -100:
            raise bad("price_markup_percent", f"{markup} would list every item at no price")
        untracked = options.get("untracked_quantity", 1)
        if not isinstance(untracked, int) or untracked < 0:
            raise bad("untracked_quantity", f"{untracked!r} is not a count")
        return cls(options.get("price_list") or "shop", markup, options.get("description") or "long",
                   (CONDITIONS[condition],), REGIONS[region], tuple(shipping), tuple(payments), category, untracked)

    def check(self, ref: Reference, where: str) -> None:
        """Against Tradera's reference data: every id it does not list is refused, naming the setting."""
        for n, (option, _) in enumerate(self.shipping):
            if ref.shipping and option not in ref.shipping:
                raise ConfigError(f"{where}.shipping[{n}].option: Tradera has no shipping option {option} (it lists "
                                  f"{_listed(ref.shipping)})")
        for n, payment in enumerate(self.payments):
            if ref.payments and payment not in ref.payments:
                raise ConfigError(f"{where}.payment_options[{n}]: Tradera has no payment type {payment} (it lists "
                                  f"{_listed(ref.payments)})")
        for attribute in self.attributes:
            if ref.attributes and attribute not in ref.attributes:
                raise ConfigError(f"{where}.condition: Tradera lists no item attribute {attribute} "
                                  f"({_listed(ref.attributes)})")

    def fields(self) -> dict[str, Any]:
        """What every item gets from the settings."""
        return {"categoryId": self.category, "acceptedBuyerId": self.buyers, "itemAttributes": list(self.attributes),
                "shippingOptions": [{"shippingOptionId": option, "cost": cost} for option, cost in self.shipping],
                "paymentOptionIds": list(self.payments)}

    def price(self, regular: Decimal | None, current: Decimal | None) -> int | None:
        """The listed price from the shop's gross prices (regular, and what it charges now)."""
        base = regular if self.price_list == "regular" else (current if current is not None else regular)
        if base is None:
            return None
        return krona(base * (1 + self.markup / 100))


def _listed(pairs: dict[int, str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(pairs.items()))
