"""The ready-made transforms (see the package docstring). Money stays ``Decimal`` throughout: a price
is changed in its own convention (with or without VAT) and currency, variants with their product."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable

from integrations_dagster.model import CanonicalRecord, RecordError
from integrations_dagster.model.money import Money, Price
from integrations_dagster.model.product import Product


def _prices(record: CanonicalRecord, change: Callable[[Decimal], Decimal]) -> CanonicalRecord:
    """The record with every price and sale price of it (and of its variants) changed by ``change``."""
    if not isinstance(record, Product):
        raise RecordError(f"a price transform takes products, not {type(record).__name__}")

    def one(price: Price | None) -> Price | None:
        if price is None:
            return None
        amount = change(price.amount.amount)
        if amount < 0:
            raise RecordError(f"the price would be negative ({amount})")
        return price.model_copy(update={"amount": Money(amount=amount, currency=price.amount.currency)})

    variants = tuple(v.model_copy(update={"price": one(v.price), "sale_price": one(v.sale_price)})
                     for v in record.variants)
    return record.model_copy(update={"price": one(record.price), "sale_price": one(record.sale_price),
                                     "variants": variants})


def price_markup(record: CanonicalRecord, percent: float | str = 0, amount: float | str = 0) -> CanonicalRecord:
    """Every price × (1 + percent/100) + amount (``amount`` in the price's own currency and convention)."""
    factor, plus = 1 + Decimal(str(percent)) / 100, Decimal(str(amount))
    return _prices(record, lambda value: value * factor + plus)


def round_prices(record: CanonicalRecord, step: float | str = 1, minus: float | str = 0) -> CanonicalRecord:
    """Every price to the nearest multiple of ``step`` (half up), less ``minus``: ``step: 10, minus:
    0.10`` makes 1 234.56 into 1 229.90 (a "price ending" in the shop's own convention)."""
    size, less = Decimal(str(step)), Decimal(str(minus))
    if size <= 0:
        raise RecordError(f"round_prices: step must be above 0 (got {step})")
    return _prices(record, lambda value: (value / size).quantize(Decimal(1), ROUND_HALF_UP) * size - less)


def sku_replace(record: CanonicalRecord, pattern: str, replace: str = "") -> CanonicalRecord:
    """A regular-expression search and replace on the record's SKU and its variants' SKUs."""
    found = re.compile(pattern)
    if not hasattr(record, "sku"):
        raise RecordError(f"sku_replace takes records with a SKU, not {type(record).__name__}")
    update: dict[str, Any] = {"sku": found.sub(replace, record.sku) if record.sku else record.sku}
    if isinstance(record, Product):
        update["variants"] = tuple(v.model_copy(update={"sku": found.sub(replace, v.sku)}) for v in record.variants)
    return record.model_copy(update=update)


def _field(record: CanonicalRecord, field: str) -> Any:
    value: Any = record
    for part in field.split("."):
        value = getattr(value, part, None) if not isinstance(value, dict) else value.get(part)
    return value


def _matches(record: CanonicalRecord, field: str, equals: Any = None, matches: str | None = None,
             below: Any = None, above: Any = None) -> bool:
    value = _field(record, field)
    if isinstance(value, Price):
        value = value.amount
    if isinstance(value, Money):
        value = value.amount
    if equals is not None and str(value) != str(equals):
        return False
    if matches is not None and (value is None or not re.search(matches, str(value))):
        return False
    if below is not None and (value is None or Decimal(str(value)) >= Decimal(str(below))):
        return False
    if above is not None and (value is None or Decimal(str(value)) <= Decimal(str(above))):
        return False
    return True


def skip_if(record: CanonicalRecord, field: str, **condition: Any) -> CanonicalRecord | None:
    """Leave the record out (not synced, not failed) when ``field`` meets the condition (``equals``,
    ``matches`` a regular expression, ``below`` / ``above`` a number; all given must hold)."""
    return None if _matches(record, field, **condition) else record


def fail_if(record: CanonicalRecord, field: str, reason: str = "", **condition: Any) -> CanonicalRecord:
    """Fail the record, with ``reason`` in the sync log, when ``field`` meets the condition."""
    if _matches(record, field, **condition):
        raise RecordError(reason or f"{field} is {_field(record, field)!r}")
    return record


def set_status(record: CanonicalRecord, status: str) -> CanonicalRecord:
    """Give an order the status ``status`` (an order status of the canonical model)."""
    if not hasattr(record, "status"):
        raise RecordError(f"set_status takes orders, not {type(record).__name__}")
    return type(record).model_validate({**record.model_dump(), "status": status})


BUILTIN: dict[str, Callable[..., CanonicalRecord | None]] = {
    f.__name__: f for f in (price_markup, round_prices, sku_replace, skip_if, fail_if, set_status)}
