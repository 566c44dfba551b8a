"""Orders with their customer, addresses and lines."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import ClassVar, Literal

from integrations_dagster.model.base import CanonicalRecord, Value
from integrations_dagster.model.money import Money


class OrderStatus(StrEnum):
    """The hub's order states; each system maps its own words or flags to these."""

    PENDING = "pending"
    PROCESSING = "processing"
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    FAILED = "failed"
    DELIVERED = "delivered"
    INVOICED = "invoiced"
    PAID = "paid"


class Address(Value):
    name: str | None = None
    company: str | None = None
    line1: str | None = None
    line2: str | None = None
    postcode: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2
    email: str | None = None
    phone: str | None = None


class Customer(Value):
    source_id: str | None = None  # None for a guest
    email: str | None = None
    customer_number: str | None = None
    org_number: str | None = None  # a company's organisation number (a shop keeps it in a plugin's field)
    name: str
    company: str | None = None
    phone: str | None = None
    billing: Address | None = None
    shipping: Address | None = None

    @property
    def key(self) -> str:
        return (self.email or "").strip().lower() or f"number:{self.customer_number or self.source_id}"


LineKind = Literal["item", "shipping", "fee", "rounding"]


class OrderLine(Value):
    """One thing the customer was charged for, exactly as the source charged it.

    ``net`` is the line's amount without VAT after any discount, ``vat`` the VAT the source charged
    on it at ``vat_rate`` percent (never rounded to a whole percent: 7.5 stays 7.5), in the order's
    currency. Items name what was sold (``sku``, the source's ``source_product_id``); shipping and
    fees are lines of their own; a ``rounding`` line carries what the source's own rounding left
    between its lines and its total, so that the lines always add up to the order.
    """

    kind: LineKind = "item"
    sku: str | None = None
    name: str
    quantity: Decimal = Decimal(1)
    net: Decimal
    vat: Decimal = Decimal(0)
    vat_rate: Decimal = Decimal(0)
    discount: Decimal = Decimal(0)  # the net discount already taken off ``net`` (for the record)
    source_product_id: str | None = None

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


class Order(CanonicalRecord):
    """An order with what was charged: ``lines`` (items, shipping, fees, rounding) add up to ``total``
    with ``total_vat``; ``vat_by_rate`` is the source's own VAT per rate (percent, amount), the
    authority a bookkeeping target must match."""

    volatile_fields: ClassVar[frozenset[str]] = frozenset({"modified_at", "source_status"})

    source: str  # connection name the order came from; with ``source_id`` its identity
    source_id: str
    number: str
    status: OrderStatus
    # The source's own word for the status (a shop's custom "packed" too): what a flow's ``statuses`` name.
    source_status: str | None = None
    created_at: str
    modified_at: str | None = None
    currency: str
    prices_include_vat: bool
    customer: Customer
    billing: Address | None = None
    shipping: Address | None = None
    lines: tuple[OrderLine, ...]
    total: Money
    total_vat: Money | None = None
    vat_by_rate: tuple[tuple[Decimal, Decimal], ...] = ()
    discount_total: Money | None = None  # net discount of the order (for the record)
    # Where it was sold or ships from, as the source names it (a POS branch): a target that keeps stock
    # per location books it there (its connector maps the names, with a main location as the default).
    location: str | None = None

    @property
    def key(self) -> str:
        return f"{self.source}:{self.source_id}"
