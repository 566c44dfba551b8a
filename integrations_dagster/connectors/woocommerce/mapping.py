"""Pure mapping between WooCommerce REST v3 JSON and the canonical model (no I/O).

Money is Decimal end to end: WooCommerce sends prices and totals as strings ("199.00") and a line's
``price`` as a JSON number, which is read through ``str`` so no binary float reaches an amount.
Every refusal is a :class:`RecordError` whose message names the field and the value.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from integrations_dagster.connectors.base import MapNotes
from integrations_dagster.connectors.woocommerce import orders
from integrations_dagster.model import (
    Address, Customer, Money, Order, OrderProgress, OrderStatus, Price, Product, RecordError, to_decimal,
)

STATUSES = {
    "pending": OrderStatus.PENDING, "processing": OrderStatus.PROCESSING, "on-hold": OrderStatus.ON_HOLD,
    "completed": OrderStatus.COMPLETED, "cancelled": OrderStatus.CANCELLED, "refunded": OrderStatus.REFUNDED,
    "failed": OrderStatus.FAILED, "checkout-draft": OrderStatus.PENDING,
}
EAN_META_KEYS = ("_global_unique_id", "_ean", "ean", "_wpm_gtin_code")

# The raw fields each mapper below reads. The reader asks for just these with WordPress's `_fields`
# global parameter [doc: developer.wordpress.org/rest-api/using-the-rest-api/global-parameters,
# core since WordPress 4.9], so a shop sends (and a run holds) a fraction of each record; a shop
# that ignores the parameter sends everything and the mapping is the same. A field read here and
# missing from these lists would silently read as empty: a connector test maps full and trimmed
# answers and requires equal records.
PRODUCT_FIELDS = ("id", "type", "status", "sku", "name", "description", "short_description", "global_unique_id",
                  "meta_data", "weight", "regular_price", "sale_price", "tax_class", "manage_stock",
                  "stock_quantity", "categories", "images", "attributes", "date_modified_gmt")
VARIATION_FIELDS = ("id", "status", "sku", "global_unique_id", "meta_data", "weight", "regular_price",
                    "sale_price", "tax_class", "manage_stock", "stock_quantity", "attributes")
# The shop's statuses an order's progress reads (a marketplace is told its order shipped or was cancelled).
PROGRESS_OF_STATUS = {"completed": "delivered", "cancelled": "cancelled", "refunded": "cancelled"}
PROGRESS_FIELDS = ("id", "status", "date_modified_gmt", "date_completed_gmt")
ORDER_FIELDS = ("id", "number", "status", "currency", "prices_include_tax", "customer_id", "billing", "shipping",
                "line_items", "shipping_lines", "fee_lines", "tax_lines", "discount_total", "total", "total_tax",
                "date_created_gmt", "date_modified_gmt")


def _decimal(value: Any, what: str) -> Decimal:
    try:
        return to_decimal(value, what)
    except ValueError as exc:
        raise RecordError(str(exc)) from None


def _optional_decimal(value: Any, what: str) -> Decimal | None:
    return None if value in (None, "") else _decimal(value, what)


def _gmt(value: str | None) -> str | None:
    return f"{value}Z" if value else None


def _ean(raw: dict) -> str | None:
    if raw.get("global_unique_id"):
        return str(raw["global_unique_id"])
    for meta in raw.get("meta_data") or []:
        if meta.get("key") in EAN_META_KEYS and meta.get("value"):
            return str(meta["value"])
    return None


class _Pricing:
    """Turns a product's or variation's price strings into canonical prices with its VAT rate."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.currency = options.get("currency", "SEK")
        self.rates = {str(k): v for k, v in options.get("tax_rates", {"": 25}).items()}
        self.includes_vat = bool(options.get("prices_include_tax", True))
        self._rate_of: dict[str, Decimal] = {}  # tax class -> parsed rate (a product's variations share it)
        self._prices: dict[tuple[str, str, int], Price | None] = {}

    def rate(self, tax_class: str | None) -> Decimal:
        tax_class = "" if tax_class in (None, "standard") else tax_class
        if tax_class not in self.rates:
            raise RecordError(f"tax class {tax_class!r} has no VAT rate in the flow's tax_rates option")
        if tax_class not in self._rate_of:
            self._rate_of[tax_class] = _decimal(self.rates[tax_class], f"VAT rate of tax class {tax_class!r}")
        return self._rate_of[tax_class]

    def price(self, raw: dict, field: str, rate: Decimal) -> Price | None:
        value = raw.get(field)
        if type(value) is str and value:  # Price is immutable: equal strings share one validated object
            # keyed by the rate object itself (one per tax class, held by ``_rate_of``): 25 and 25.0
            # are equal but are written differently
            key = (value, field, id(rate))
            shared = self._prices.get(key)
            if shared is None:
                if len(self._prices) > 4096:
                    self._prices.clear()
                shared = self._prices[key] = _price(value, field, rate, self.currency, self.includes_vat)
            return shared
        return _price(value, field, rate, self.currency, self.includes_vat)


def _price(value: Any, field: str, rate: Decimal, currency: str, includes_vat: bool) -> Price | None:
    amount = _optional_decimal(value, field)
    if amount is None:
        return None
    return Price(amount=Money(amount=amount, currency=currency), vat_rate=rate, includes_vat=includes_vat)


class Skus:
    """What a product or variation without a SKU of its own becomes (connection option
    ``missing_sku``): ``refuse`` (default) leaves it out with a reason that says what to do;
    ``generate`` gives it ``generated_sku_prefix`` + its WooCommerce id ("WC-123"): ids are never
    reused or changed, so the number is the same on every run (and the id map keeps it)."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.generate = options.get("missing_sku", "refuse") == "generate"
        self.prefix = str(options.get("generated_sku_prefix", "WC-"))
        self.connection = f"connection {options['connection']}" if options.get("connection") else "the shop's connection"

    def generated(self, shop_id: Any) -> str:
        return f"{self.prefix}{shop_id}"

    def advice(self, where: str) -> str:
        return (f"give it a SKU in WooCommerce ({where}), or set missing_sku: generate on {self.connection} "
                "to sync it under a generated article number")


_SETTLED: dict[int, tuple[dict[str, Any], _Pricing, Skus]] = {}


def _settled(options: dict[str, Any]) -> tuple[_Pricing, Skus]:
    """The pricing and SKU rules of ``options``, built once per options object (a run maps every
    record under one; rebuilding them per record was a tenth of the mapping's time). Held with a
    copy of the options they were built from, so a changed or new options dict is read afresh."""
    held = _SETTLED.get(id(options))
    if held is None or held[0] != options:
        if len(_SETTLED) > 64:
            _SETTLED.clear()
        held = _SETTLED[id(options)] = (copy.deepcopy(options), _Pricing(options), Skus(options))
    return held[1], held[2]


def variation_address(product_id: Any, variation_id: Any) -> str:
    """A variation's id as this connector writes it everywhere (id map, stock writer): its REST
    address needs both, ``/products/{product}/variations/{variation}``."""
    return f"{product_id}/{variation_id}"


def own_sku(raw: dict, parent_sku: str | None = None) -> str | None:
    """The record's own SKU. WooCommerce answers a variation without one with its parent's
    (``WC_Product_Variation::get_sku`` in view context), so a variation whose SKU equals its
    parent's has none of its own: two such variations must never become one article."""
    sku = raw.get("sku")
    if sku is not None and not isinstance(sku, str):
        raise RecordError(f"sku {str(sku)[:50]!r} is not text")
    sku = (sku or "").strip() or None
    return None if sku is not None and sku == parent_sku else sku


def product_to_canonical(raw: dict, options: dict[str, Any], notes: MapNotes | None = None) -> Product:
    """A simple or variable product with its variations (``raw["_variations"]``) as one Product.

    A variation without a SKU of its own is left out (``notes``) or given a generated number, as
    :class:`Skus` says; stock kept on a variable parent (its variations' ``manage_stock`` is
    "parent") is the product's one pool, read once (each such variation shows the same number)."""
    kind = raw.get("type")
    if kind not in ("simple", "variable"):
        raise RecordError(f"product type {kind!r} is not synced (only simple and variable)")
    pricing, skus = _settled(options)
    sku = own_sku(raw)
    if kind == "simple" and not sku:
        if not skus.generate:
            raise RecordError(f"product {raw.get('id')} {str(raw.get('name') or '')[:80]!r} has no SKU: "
                              + skus.advice("Product data → Inventory → SKU"))
        sku = skus.generated(raw.get("id"))
    rate = pricing.rate(raw.get("tax_class"))
    variants: list[dict[str, Any]] = []  # validated as Variants with the Product: one call, not one each
    if kind == "variable":
        variants = [v for v in (_variant(v, raw, sku, pricing, skus, notes) for v in raw.get("_variations", []))
                    if v is not None]
    return Product(
        source_id=str(raw["id"]), sku=sku, kind=kind, name=raw.get("name") or "",
        description=raw.get("description") or None, short_description=raw.get("short_description") or None,
        ean=_ean(raw), weight=_optional_decimal(raw.get("weight"), "weight"),
        price=pricing.price(raw, "regular_price", rate) if kind == "simple" else None,
        sale_price=pricing.price(raw, "sale_price", rate) if kind == "simple" else None,
        vat_rate=rate, stock_quantity=_stock(raw),
        categories=tuple(c.get("name", "") for c in raw.get("categories") or []),
        images=tuple(i.get("src", "") for i in raw.get("images") or [] if i.get("src")),
        active=raw.get("status") == "publish",
        option_names=tuple(a["name"] for a in raw.get("attributes") or [] if a.get("variation")),
        variants=variants, modified_at=_gmt(raw.get("date_modified_gmt")),
    )


def _variant(raw: dict, parent: dict, parent_sku: str | None, pricing: _Pricing, skus: Skus,
             notes: MapNotes | None) -> dict[str, Any] | None:
    """The fields of one variation's :class:`Variant` (the Product validates them), or None when it is left out."""
    sku = own_sku(raw, parent_sku)
    if not sku and skus.generate:
        sku = skus.generated(raw.get("id"))
    elif not sku:
        options = ", ".join(str(a.get("option", "")) for a in raw.get("attributes") or [])
        inherited = f" (WooCommerce shows its parent's {parent_sku!r})" if parent_sku else ""
        if notes is None:
            raise RecordError(f"variation {raw.get('id')} of product {parent.get('id')} has no SKU")
        notes.refuse(f"product {parent.get('id')} variation {raw.get('id')}",
                     f"variation {raw.get('id')} ({options}) of product {parent.get('id')} "
                     f"{str(parent.get('name') or '')[:80]!r} has no SKU of its own{inherited}: "
                     + skus.advice("Variations → SKU") + "; the product's other variations were synced")
        return None
    tax_class = raw.get("tax_class")
    rate = pricing.rate(parent.get("tax_class") if tax_class in (None, "parent") else tax_class)
    return dict(
        sku=sku, source_id=variation_address(parent.get("id"), raw["id"]),
        options={a.get("name", ""): a.get("option", "") for a in raw.get("attributes") or []},
        ean=_ean(raw), weight=_variation_weight(raw),
        price=pricing.price(raw, "regular_price", rate), sale_price=pricing.price(raw, "sale_price", rate),
        stock_quantity=_stock(raw), active=raw.get("status", "publish") == "publish",
    )


def _variation_weight(raw: dict) -> Decimal | None:
    weight = raw.get("weight")
    if weight in (None, ""):  # (the usual case: the message below is built only when needed)
        return None
    return _decimal(weight, f"weight of variation {raw.get('id')}")


# Stock counts as shared immutable Decimals: a catalogue repeats a few hundred counts over hundreds
# of thousands of variants; one object each is less memory, and less to pickle between ops.
_COUNTS = tuple(Decimal(i) for i in range(1000))


def _stock(raw: dict) -> Decimal | None:
    """The record's own stock; None unless it manages stock itself (a variation showing
    ``manage_stock: "parent"`` answers its parent's pool, which the parent carries)."""
    if raw.get("manage_stock") is not True:
        return None
    count = raw.get("stock_quantity")
    if type(count) is int and 0 <= count < len(_COUNTS):
        return _COUNTS[count]
    return None if count is None else _decimal(count, "stock_quantity")


def order_to_canonical(raw: dict, options: dict[str, Any]) -> Order:
    """An order with its customer and everything it charged (:mod:`.orders`)."""
    word = str(raw.get("status") or "")
    status = STATUSES.get(word)
    if status is None and word in (options.get("statuses") or ()):
        status = OrderStatus.PROCESSING  # a status of the shop's own the merchant sends orders on: to fulfil
    if status is None:
        raise RecordError(f"order status {word!r} is not synced")
    billing = raw.get("billing") or {}
    email = (billing.get("email") or "").strip() or None
    customer_id = int(raw.get("customer_id") or 0)
    if not email and not customer_id:
        raise RecordError("order has no billing email and no customer account")
    currency = raw.get("currency") or options.get("currency", "SEK")
    bill, ship = _address(billing, "billing"), _address(raw.get("shipping") or {}, "shipping")
    name = " ".join(p for p in (billing.get("first_name"), billing.get("last_name")) if p) \
        or billing.get("company") or email or f"customer {customer_id}"

    def money(field: str) -> Money:
        return Money(amount=_decimal(raw.get(field) or 0, field), currency=currency)

    rates = orders.Rates(raw, options)
    lines = orders.lines(raw, rates, _line_source_id)
    total, total_vat = money("total"), money("total_tax")
    rates.reconcile(total_vat.amount)
    if (rounding := orders.rounding_line(lines, total, total_vat.amount)) is not None:
        lines.append(rounding)
    return Order(
        source=options["connection"], source_id=str(raw["id"]), number=str(raw.get("number") or raw["id"]),
        status=status, source_status=word, created_at=_gmt(raw.get("date_created_gmt")) or "", modified_at=_gmt(raw.get("date_modified_gmt")),
        currency=currency, prices_include_vat=bool(raw.get("prices_include_tax")),
        customer=Customer(source_id=str(customer_id) if customer_id else None, email=email, name=name,
                          company=billing.get("company") or None, phone=billing.get("phone") or None,
                          billing=bill, shipping=ship),
        billing=bill, shipping=ship, lines=tuple(lines), total=total, total_vat=total_vat,
        vat_by_rate=tuple(sorted((rate, vat) for rate, vat in rates.vat.items() if vat)),
        discount_total=money("discount_total"),
    )


def _line_source_id(raw: dict) -> str | None:
    if raw.get("variation_id"):
        return variation_address(raw.get("product_id"), raw["variation_id"])
    return str(raw.get("product_id") or "") or None


def _address(raw: dict, what: str) -> Address | None:
    if not any(raw.values()):
        return None
    country = (raw.get("country") or "").strip().upper() or None
    if country and (len(country) != 2 or not country.isalpha()):
        raise RecordError(f"{what} country {raw.get('country')!r} is not an ISO 3166-1 alpha-2 code")
    return Address(
        name=" ".join(p for p in (raw.get("first_name"), raw.get("last_name")) if p) or None,
        company=raw.get("company") or None, line1=raw.get("address_1") or None, line2=raw.get("address_2") or None,
        postcode=raw.get("postcode") or None, city=raw.get("city") or None, state=raw.get("state") or None,
        country=country, email=raw.get("email") or None, phone=raw.get("phone") or None,
    )


def stock_update(item_id: int, quantity: Decimal) -> dict[str, Any]:
    """One ``update`` entry of a batch: absolute stock, stock management switched on."""
    return {"id": item_id, "manage_stock": True, "stock_quantity": int(quantity)}


def progress_to_canonical(raw: dict, connection: str) -> OrderProgress:
    """What the shop did with one of its orders: completed (the shop's "shipped") or cancelled/refunded."""
    status = str(raw.get("status"))
    if status not in PROGRESS_OF_STATUS:
        raise RecordError(f"order {raw.get('id')}: status {status!r} says nothing shipped or cancelled")
    at = raw.get("date_modified_gmt")
    return OrderProgress(order_key=f"{connection}:{raw['id']}", state=PROGRESS_OF_STATUS[status],  # type: ignore[arg-type]
                         source_id=str(raw["id"]), as_of=f"{at}Z" if at and not str(at).endswith("Z") else at)
