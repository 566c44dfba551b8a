"""A canonical product as Tradera items: one shop item per sellable unit, variants grouped.

Tradera has no product with variants: **each variant is its own shop item**, the variants of one
product share a ``variantGroupId`` and each names its ``sellerPartNo`` (required) and its attributes
(``variantData.variantAttributes[{name, value}]``) [spec ``#/components/schemas/ShopItemVariantData``,
``VariantData``]. The group id is the seller's own string (GUESS VARIANT_RULES): the product's key.
Every item carries its SKU in ``ownReferences`` (≤ 60 characters [spec]) — how an order line or a lost
answer finds the SKU again.
"""

from __future__ import annotations

from dataclasses import dataclass

from integrations_dagster.connectors.tradera.listing import DESCRIPTION_MAX, REFERENCE_MAX, TITLE_MAX, Listing
from integrations_dagster.model import Product


@dataclass(frozen=True)
class Unit:
    """One item as the listing writer sends it."""

    sku: str
    title: str
    description: str
    price: int | None
    quantity: int
    vat: int | None
    group: str | None  # variantGroupId of a variant, None for an ordinary item
    attributes: tuple[tuple[str, str], ...]
    active: bool
    notes: tuple[str, ...] = ()  # what was shortened to fit

    def texts(self) -> dict:
        return {"title": self.title, "description": self.description}


def group_id(product: Product) -> str:
    return f"group:{product.key}"


def units(product: Product, listing: Listing) -> list[Unit]:
    """The items ``product`` is listed as (its active sellable units; a variable product's variants)."""
    long, short = product.description or "", product.short_description or ""
    text = (long or short) if listing.description == "long" else (short or long)
    out = []
    for unit in product.sellable_units():
        notes = []
        title = product.name.strip()
        if len(title) > TITLE_MAX:
            notes.append(f"the title was cut to Tradera's {TITLE_MAX} characters")
            title = title[:TITLE_MAX - 1].rstrip() + "…"
        description = text or title
        if len(description) > DESCRIPTION_MAX:
            notes.append(f"the description was cut to Tradera's {DESCRIPTION_MAX} characters")
            description = description[:DESCRIPTION_MAX - 1] + "…"
        regular = unit.price.gross() if unit.price else None
        current = unit.sale_price.gross() if unit.sale_price else regular
        rate = unit.vat_rate if unit.vat_rate is not None else (unit.price.vat_rate if unit.price else None)
        stock = unit.stock_quantity
        quantity = listing.untracked_quantity if stock is None else max(int(stock), 0)
        variant = product.kind == "variable"
        out.append(Unit(
            sku=unit.sku, title=title, description=description, price=listing.price(regular, current),
            quantity=quantity, vat=int(rate) if rate is not None and rate == rate.to_integral_value() else
            (None if rate is None else -1), group=group_id(product) if variant else None,
            attributes=tuple(unit.options.items()) if variant else (), active=unit.active, notes=tuple(notes)))
    return out


def refusal(unit: Unit, vat_rates: tuple[int, ...]) -> str | None:
    """Why Tradera would refuse ``unit`` whatever the settings (checked before a call is spent), or None."""
    if len(unit.sku) > REFERENCE_MAX:
        return f"SKU {unit.sku!r} is longer than the {REFERENCE_MAX} characters Tradera keeps as a reference"
    if unit.price is None or unit.price <= 0:
        return f"SKU {unit.sku!r} has no price above 0 kr to list"
    if unit.vat is None or unit.vat < 0 or (vat_rates and unit.vat not in vat_rates):
        return (f"SKU {unit.sku!r}: Tradera takes VAT of {', '.join(map(str, vat_rates))} %, not "
                f"{'none' if unit.vat is None else 'a fraction' if unit.vat < 0 else unit.vat}")
    return None


