"""Pure mapping of canonical products to BigCommerce v3 catalog payloads (no HTTP here).

Field rules, from the vendor's OpenAPI files (digest ``docs/research/bigcommerce.md`` §2.4, §3.2):
``name`` 1..250 and unique, ``type``/``weight``/``price`` required on create, ``sku`` ≤ 255 unique
across products and variants, ``gtin`` ≤ 14, prices are JSON numbers kept to 4 decimals
[doc: BCdocs catalog/index.mdx "Pricing precision is 4 decimal places"]. Variants created with the
product name their option values by ``option_display_name`` + ``label``, and BigCommerce creates the
options [doc: BCdocs catalog/index.mdx]. ``tax_class_id`` is never sent: the store's tax classes are
the merchant's [seed 004: "Momsinställningarna exporteras inte"].

Prices: a store's prices include VAT or not ("based on the store settings" [spec:
product_Base_POST.price]); a VAT-inclusive source price going into an exclusive store is divided by
its own rate and kept to 4 decimals, so the shopper's 2-decimal price is the source's exactly.
When prices are not synced (different currencies, or the merchant's choice) the product lands with
price 0 and its price is never written again [seed 004].
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterable

from integrations_dagster.model.money import Price
from integrations_dagster.model.product import Product, Variant

NAME_MAX = 250
GTIN_MAX = 14
# What a flow into BigCommerce may own (``owns`` in the YAML); the rest of a product is the merchant's.
OWNABLE = ("name", "description", "price", "weight", "sku", "barcode", "images", "variants")


def money(value: Decimal) -> float:
    """A 4-decimal Decimal as a JSON number (the float only carries the rounded value)."""
    return float(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


class PriceRule:
    """How source prices become store prices: synced or not, and VAT included or not."""

    def __init__(self, sync: bool, includes_tax: bool) -> None:
        self.sync, self.includes_tax = sync, includes_tax

    def amount(self, price: Price | None) -> float | None:
        """The store's price for ``price``; None: nothing to write — no price, or prices not synced
        (a new product then lands at 0, :func:`create_payload`, and the merchant's price is never
        overwritten: "kan du sätta priserna i BigCommerce utan att de skrivs över" [seed 004])."""
        if not self.sync:
            return None
        if price is None:
            return None
        return money(price.as_(self.includes_tax, places=4))


def _barcode(ean: str | None) -> dict[str, Any]:
    return {"gtin": ean} if ean and len(ean) <= GTIN_MAX else {}


def product_fields(p: Product, rule: PriceRule, owned: Iterable[str]) -> dict[str, Any]:
    """The product-level fields ``owned`` of a product, as an update or create sends them."""
    owned = set(owned)
    body: dict[str, Any] = {}
    if "name" in owned:
        body["name"] = p.name[:NAME_MAX]
    if "description" in owned:
        body["description"] = p.description or ""
    if "weight" in owned:
        body["weight"] = money(p.weight or Decimal(0))
    if "price" in owned:
        first = p.price if p.kind == "simple" else next((v.price for v in p.variants if v.price), None)
        price = rule.amount(first)
        if price is not None:
            body["price"] = price
    if p.kind == "simple":
        if "sku" in owned:
            body["sku"] = p.sku
        if "barcode" in owned:
            body.update(_barcode(p.ean))
    return body


def option_values(p: Product, v: Variant) -> list[dict[str, str]]:
    names = p.option_names or tuple(v.options)
    return [{"option_display_name": n, "label": v.options[n]} for n in names if n in v.options]


def variant_fields(v: Variant, rule: PriceRule, owned: Iterable[str]) -> dict[str, Any]:
    owned = set(owned)
    body: dict[str, Any] = {}
    if "price" in owned:
        price = rule.amount(v.price)
        if price is not None:
            body["price"] = price
    if "barcode" in owned:
        body.update(_barcode(v.ean))
    return body


def create_payload(p: Product, rule: PriceRule, category_id: int, owned: Iterable[str]) -> dict[str, Any]:
    """A new product: hidden, in the landing category [seed 004: "placeras … först i kategorin
    Zettle … göra dem synliga"], with its variants and images."""
    owned = set(owned) | {"name", "weight"}  # required on create [spec: createProduct]
    body = {"type": "physical", "is_visible": False, "categories": [category_id],
            **product_fields(p, rule, owned)}
    body.setdefault("price", 0.0)  # required on create; an open price lands as 0 until one is set
    if p.images and "images" in owned:
        body["images"] = [{"image_url": url, "is_thumbnail": i == 0} for i, url in enumerate(p.images)]
    if p.kind == "variable":
        body["variants"] = [{"sku": v.sku, "option_values": option_values(p, v), **variant_fields(v, rule, owned)}
                            for v in p.variants]
    return body


def skus(p: Product) -> list[str]:
    """Every SKU a product holds in the store (its own, or its variants')."""
    return [p.sku] if p.kind == "simple" and p.sku else [v.sku for v in p.variants]
