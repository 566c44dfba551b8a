"""Request validation as WordPress applies a route's JSON schema, plus WooCommerce's value formats.

WordPress refuses a value of the wrong JSON type with ``rest_invalid_param`` ("Invalid parameter(s):
regular_price", ``data.params.regular_price = "regular_price is not of type string."``) and
ignores unknown fields. Money goes in and out as strings with two decimals.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from integrations_dagster.sandbox.woocommerce.errors import invalid_param

PRODUCT_ENUMS = {
    "type": ("simple", "grouped", "external", "variable"),
    "status": ("draft", "pending", "private", "publish"),
    "catalog_visibility": ("visible", "catalog", "search", "hidden"),
    "tax_status": ("taxable", "shipping", "none"),
    "stock_status": ("instock", "outofstock", "onbackorder"),
    "backorders": ("no", "notify", "yes"),
}
ORDER_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "trash")
MONEY_FIELDS = frozenset({"regular_price", "sale_price"})

_S, _I, _B, _A, _O = "string", "integer", "boolean", "array", "object"
_COMMON = {
    "description": _S, "sku": _S, "regular_price": _S, "sale_price": _S, "date_on_sale_from": _S,
    "date_on_sale_from_gmt": _S, "date_on_sale_to": _S, "date_on_sale_to_gmt": _S, "status": _S,
    "virtual": _B, "downloadable": _B, "downloads": _A, "download_limit": _I, "download_expiry": _I,
    "tax_status": _S, "tax_class": _S, "manage_stock": _B, "stock_quantity": _I, "stock_status": _S,
    "backorders": _S, "weight": _S, "dimensions": _O, "shipping_class": _S, "menu_order": _I,
    "meta_data": _A, "global_unique_id": _S,
}
PRODUCT_FIELDS = {
    **_COMMON, "name": _S, "slug": _S, "type": _S, "featured": _B, "catalog_visibility": _S,
    "short_description": _S, "external_url": _S, "button_text": _S, "sold_individually": _B,
    "reviews_allowed": _B, "upsell_ids": _A, "cross_sell_ids": _A, "parent_id": _I,
    "purchase_note": _S, "categories": _A, "tags": _A, "images": _A, "attributes": _A,
    "default_attributes": _A, "grouped_products": _A,
}
VARIATION_FIELDS = {**_COMMON, "image": _O, "attributes": _A}
_ADDRESS = _O
ORDER_FIELDS = {
    "parent_id": _I, "status": _S, "currency": _S, "customer_id": _I, "customer_note": _S,
    "billing": _ADDRESS, "shipping": _ADDRESS, "payment_method": _S, "payment_method_title": _S,
    "transaction_id": _S, "meta_data": _A, "line_items": _A, "shipping_lines": _A, "fee_lines": _A,
    "coupon_lines": _A, "set_paid": _B,
}
CUSTOMER_FIELDS = {
    "email": _S, "first_name": _S, "last_name": _S, "username": _S, "password": _S,
    "billing": _ADDRESS, "shipping": _ADDRESS, "meta_data": _A,
}


def validate(body: Any, fields: dict[str, str], enums: dict[str, tuple[str, ...]] | None = None) -> dict:
    """Type-check the known fields of a JSON object body; return them coerced (unknown ones dropped)."""
    if not isinstance(body, dict):
        raise invalid_param("body", "body is not of type object.")
    out: dict[str, Any] = {}
    for name, value in body.items():
        kind = fields.get(name)
        if kind is None:
            continue
        out[name] = _coerce(name, value, kind)
        allowed = (enums or {}).get(name)
        if allowed and out[name] not in allowed:
            raise invalid_param(name, f"{name} is not one of {', '.join(allowed)}.")
        if name in MONEY_FIELDS:
            out[name] = money_or_blank(name, out[name])
    return out


def _coerce(name: str, value: Any, kind: str) -> Any:
    wrong = invalid_param(name, f"{name} is not of type {kind}.")
    if kind == _S:
        if not isinstance(value, str):
            raise wrong
        return value
    if kind == _I:
        if isinstance(value, bool):
            raise wrong
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise wrong from None
        if not number.is_finite() or number != number.to_integral_value():
            raise wrong
        return int(number)
    if kind == _B:
        if isinstance(value, bool):
            return value
        if value in (0, 1, "0", "1", "true", "false", ""):
            return value in (1, "1", "true")
        raise wrong
    if kind == _A and not isinstance(value, list):
        raise wrong
    if kind == _O and not isinstance(value, dict):
        raise wrong
    return value


def money_or_blank(name: str, value: str) -> str:
    """``"21.9"`` -> ``"21.90"``; ``""`` stays blank (no price); anything else is refused."""
    text = value.strip()
    if not text:
        return ""
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise invalid_param(name, f"{name} is not a valid decimal number.") from None
    if not amount.is_finite() or amount < 0:
        raise invalid_param(name, f"{name} is not a valid decimal number.")
    return fmt_money(amount)


def fmt_money(amount: Decimal | int | str) -> str:
    return str(Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def to_decimal(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)
