"""Products with their variant structure.

A ``Product`` is what a shop shows as one item. A simple product is itself sellable and has a SKU;
a variable product is a parent whose ``variants`` are the sellable units (one per combination of
``options`` such as size/colour). Systems without a variant structure (an ERP article register)
take :meth:`Product.sellable_units` — one unit per SKU.

Stock: a variant's ``stock_quantity`` is its own count. A variable product's ``stock_quantity``
is a **pool** its variants without a count of their own share (WooCommerce: stock managed on the
parent). An ERP counts per article, so the pool goes to the first such variant's unit (the others
start at none) and the shop's pool is the sum of their articles' stock.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import Field

from integrations_dagster.model.base import CanonicalRecord, Value
from integrations_dagster.model.money import Price


class Variant(Value):
    sku: str
    source_id: str
    options: dict[str, str] = Field(default_factory=dict)  # {"Size": "M", "Colour": "Blue"}
    name: str | None = None  # None: the parent's name plus the options
    ean: str | None = None
    weight: Decimal | None = None  # kg
    price: Price | None = None
    sale_price: Price | None = None
    stock_quantity: Decimal | None = None
    active: bool = True


class Component(Value):
    """One line of a structured product (a bill of materials, Rackbeat's lot): ``quantity`` of ``sku``."""

    sku: str
    quantity: Decimal


class SellableUnit(Value):
    """One SKU as an ERP article sees it: a simple product, or one variant with its parent's data."""

    sku: str
    source_id: str
    parent_key: str | None
    name: str
    description: str | None
    ean: str | None
    weight: Decimal | None
    price: Price | None
    sale_price: Price | None
    vat_rate: Decimal | None
    stock_quantity: Decimal | None
    active: bool
    options: dict[str, str]


class Product(CanonicalRecord):
    # ``channel_assigned`` says which records a flow carries, it is nothing the target holds.
    volatile_fields: ClassVar[frozenset[str]] = frozenset({"modified_at", "channel_assigned"})

    source_id: str
    sku: str | None = None  # required for a simple product; optional on a variable parent
    kind: Literal["simple", "variable"] = "simple"
    name: str
    description: str | None = None
    short_description: str | None = None
    ean: str | None = None
    weight: Decimal | None = None
    price: Price | None = None
    sale_price: Price | None = None
    vat_rate: Decimal | None = None
    stock_quantity: Decimal | None = None
    categories: tuple[str, ...] = ()
    images: tuple[str, ...] = ()
    active: bool = True
    option_names: tuple[str, ...] = ()
    variants: tuple[Variant, ...] = ()
    # A structured product (a kit, bill of materials, "strukturvare"): what one of it is made of. Selling it
    # draws its components' stock; empty for an ordinary product.
    components: tuple[Component, ...] = ()
    modified_at: str | None = None  # ISO 8601 UTC, the source's own modification time
    # Whether the source assigns the product to the sales channel the integration feeds (a POS's
    # "assign to channels"); None: the source has no such notion. Read by a flow with ``scope: assigned``.
    channel_assigned: bool | None = None

    @property
    def key(self) -> str:
        return self.sku or f"parent:{self.source_id}"

    def part_source_ids(self) -> dict[str, str]:
        return {v.sku: v.source_id for v in self.variants} if self.kind == "variable" else {}

    def sellable_units(self) -> list[SellableUnit]:
        if self.kind == "simple":
            return [SellableUnit(
                sku=self.sku or "", source_id=self.source_id, parent_key=None, name=self.name,
                description=self.short_description or self.description, ean=self.ean,
                weight=self.weight, price=self.price, sale_price=self.sale_price,
                vat_rate=self.vat_rate, stock_quantity=self.stock_quantity, active=self.active,
                options={},
            )]
        pool = self.stock_quantity
        units = []
        for v in self.variants:
            stock = v.stock_quantity
            if stock is None and pool is not None:  # the first variant of the pool carries it
                stock, pool = pool, None
            units.append(SellableUnit(
                sku=v.sku, source_id=v.source_id, parent_key=self.key,
                name=v.name or " ".join([self.name, *v.options.values()]),
                description=self.short_description or self.description, ean=v.ean,
                weight=v.weight if v.weight is not None else self.weight,
                price=v.price or self.price, sale_price=v.sale_price or self.sale_price,
                vat_rate=self.vat_rate, stock_quantity=stock, active=self.active and v.active,
                options=dict(v.options),
            ))
        return units
