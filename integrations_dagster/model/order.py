"""Orders with their customer, addresses and lines."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from integrations_dagster.model.base import CanonicalRecord, Value
from integrations_dagster.model.money import Money, Price


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
    name: str
    company: str | None = None
    phone: str | None = None
    billing: Address | None = None
    shipping: Address | None = None

    @property
    def key(self) -> str:
        return (self.email or "").strip().lower() or f"number:{self.customer_number or self.source_id}"


class OrderLine(Value):
    sku: str | None
    name: str
    quantity: Decimal
    unit_price: Price
    source_product_id: str | None = None


class Order(CanonicalRecord):
    volatile_fields: ClassVar[frozenset[str]] = frozenset({"modified_at"})

    source: str  # connection name the order came from; with ``source_id`` its identity
    source_id: str
    number: str
    status: OrderStatus
    created_at: str
    modified_at: str | None = None
    currency: str
    prices_include_vat: bool
    customer: Customer
    billing: Address | None = None
    shipping: Address | None = None
    lines: tuple[OrderLine, ...]
    shipping_total: Money | None = None
    total: Money
    total_vat: Money | None = None

    @property
    def key(self) -> str:
        return f"{self.source}:{self.source_id}"
