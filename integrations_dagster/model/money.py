"""Money, prices with VAT, and price lists.

Amounts are ``Decimal`` in major units (219.50 SEK). Vendors that count in minor units (Zettle:
öre as integers) or with 4 decimals (BigCommerce v2 strings) convert at their mapping edge with
:meth:`Money.from_minor` / :meth:`Money.minor`; nothing in the engine uses floats for money.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from pydantic import field_validator

from integrations_dagster.model.base import Value

MAX_DECIMALS = 4  # BigCommerce v2 carries 4; anything finer is a data error, not a price


_PLAIN = re.compile(r"-?[0-9]{1,30}(?:\.[0-9]{0,%d})?" % MAX_DECIMALS)  # "219.00": finite, <= 4 decimals


def to_decimal(value: Any, what: str = "amount") -> Decimal:
    """Parse a vendor amount ("219.00", 219, 219.5) to Decimal, or raise ValueError naming it."""
    if type(value) is str and _PLAIN.fullmatch(value):  # the common case, every check implied (hot path)
        return Decimal(value)
    if type(value) is int:  # a stock count (not bool: type() is exact)
        return Decimal(value)
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError(f"{what} is missing")
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"{what} {value!r} is not a number") from None
    if not amount.is_finite():
        raise ValueError(f"{what} {value!r} is not a finite number")
    if -amount.as_tuple().exponent > MAX_DECIMALS and amount != amount.quantize(Decimal(1).scaleb(-MAX_DECIMALS)):
        raise ValueError(f"{what} {value!r} has more than {MAX_DECIMALS} decimals")
    return amount


class Money(Value):
    amount: Decimal
    currency: str = "SEK"

    @field_validator("amount", mode="before")
    @classmethod
    def _parse(cls, v: Any) -> Decimal:
        return to_decimal(v)

    @field_validator("currency")
    @classmethod
    def _iso(cls, v: str) -> str:
        if len(v) != 3 or not v.isalpha():
            raise ValueError(f"currency {v!r} is not an ISO 4217 code")
        return v.upper()

    @classmethod
    def from_minor(cls, minor: int, currency: str, exponent: int = 2) -> "Money":
        return cls(amount=Decimal(minor).scaleb(-exponent), currency=currency)

    def minor(self, exponent: int = 2) -> int:
        return int((self.amount.scaleb(exponent)).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    def rounded(self, places: int = 2) -> Decimal:
        return self.amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


class Price(Value):
    """A price as a system states it: the amount, its VAT rate (percent) and whether it includes VAT."""

    amount: Money
    vat_rate: Decimal = Decimal("25")
    includes_vat: bool = True

    @field_validator("vat_rate", mode="before")
    @classmethod
    def _rate(cls, v: Any) -> Decimal:
        rate = to_decimal(v, "VAT rate")
        if rate < 0 or rate > 100:
            raise ValueError(f"VAT rate {v!r} is not between 0 and 100")
        return rate

    def gross(self) -> Decimal:
        """Amount including VAT."""
        a = self.amount.amount
        return a if self.includes_vat else a * (1 + self.vat_rate / 100)

    def net(self) -> Decimal:
        """Amount excluding VAT."""
        a = self.amount.amount
        return a / (1 + self.vat_rate / 100) if self.includes_vat else a

    def as_(self, includes_vat: bool, places: int = 2) -> Decimal:
        """The amount in the target's convention, rounded half-up to ``places``."""
        value = self.gross() if includes_vat else self.net()
        return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


class PriceList(Value):
    """A named price list of a connection (Fortnox "A", a marketplace's own list...)."""

    code: str
    name: str = ""
    currency: str = "SEK"
    includes_vat: bool = False
