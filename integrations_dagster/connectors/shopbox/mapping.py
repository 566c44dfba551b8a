"""Mapper between Shopbox's records and the canonical ones: products with variations, stock per
branch, and baskets (till receipts) as orders.

* **Money is integer øre including VAT** [3p: PHP plugin writes ``selling_price = round(net × (100 +
  vat%))`` and reads ``selling_price / 100``; sales-sync script divides basket amounts by 100]. So a
  product's price is ``Price(selling_price / 100, vat_rate, includes_vat=True)`` with the rate of its
  ``tax0.percentage`` [3p: Dart model], and a basket line's VAT is taken as the basket states it
  (``vat_amount`` of the line), never recomputed: the books must equal the till's.
* **SKU**: ``sku_code`` [3p: Dart model, PHP plugin]; a variation has its own (``product_variances``)
  and its own id, which Rackbeat keeps as "Shopbox variasjons ID" [doc: seed 003].
* **Category**: the product's tag (``tag0.name``) [3p: PHP plugin maps categories to tags].
* **Baskets**: a sale at a till has no customer: the order's customer is the till (its branch's name),
  a guest; the order's ``location`` is the branch it was sold at. A cancelled basket is a cancelled
  order [3p: PHP plugin ``PUT /baskets/{uid}/cancel`` and ``canceled``]. Times are epoch seconds
  (``crdate``, ``tstamp``) [3p: Dart model].
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from integrations_dagster.model import Customer, Money, Order, OrderLine, Price, Product, Variant
from integrations_dagster.model.base import RecordError
from integrations_dagster.model.order import OrderStatus
from integrations_dagster.model.stock import StockLevel

ORE = Decimal(100)


def instant(epoch: Any) -> str | None:
    """An epoch-seconds field as ISO 8601 UTC (None when absent)."""
    if epoch in (None, "", 0):
        return None
    return datetime.fromtimestamp(int(epoch), UTC).isoformat()


def kroner(ore: Any, what: str) -> Decimal:
    if isinstance(ore, bool) or not isinstance(ore, (int, str)) or not str(ore).lstrip("-").isdigit():
        raise RecordError(f"{what} {ore!r} is not a whole number of øre")
    return Decimal(int(ore)) / ORE


def product(raw: dict, currency: str) -> Product:
    rate = Decimal(str((raw.get("tax0") or {}).get("percentage", 25)))
    price = (Price(amount=Money(amount=kroner(raw["selling_price"], "selling_price"), currency=currency),
                   vat_rate=rate, includes_vat=True) if raw.get("selling_price") is not None else None)
    variances = raw.get("product_variances") or []
    common = dict(source_id=str(raw["uid"]), name=str(raw.get("name") or ""), description=raw.get("description"),
                  price=price, vat_rate=rate, modified_at=instant(raw.get("tstamp")),
                  categories=tuple(filter(None, [(raw.get("tag0") or {}).get("name")])))
    if not variances:
        return Product(sku=raw.get("sku_code") or None, kind="simple", ean=raw.get("code") or None,
                       stock_quantity=_count(raw.get("quantity")), **common)
    variants = []
    for var in variances:
        if not var.get("sku_code"):
            raise RecordError(f"variation {var.get('uid')} of product {raw['uid']} has no sku_code")
        options = _options(var.get("variance_values") or [])
        var_price = (Price(amount=Money(amount=kroner(var["selling_price"], "selling_price"), currency=currency),
                           vat_rate=rate, includes_vat=True) if var.get("selling_price") is not None else None)
        variants.append(Variant(sku=var["sku_code"], source_id=str(var["uid"]), options=options,
                                name=f"{raw.get('name')} - {var.get('name')}" if var.get("name") else None,
                                ean=var.get("barcode") or None, price=var_price,
                                stock_quantity=_count(var.get("quantity"))))
    return Product(sku=raw.get("sku_code") or None, kind="variable", variants=tuple(variants),
                   option_names=tuple(dict.fromkeys(k for v in variants for k in v.options)), **common)


def _options(values: list[dict]) -> dict[str, str]:
    """A variation's values by option. A value names its type only by uid (``variance_type``) and no
    list of the types is known to read [3p: PHP plugin], so the options are called Variant, Variant 2…"""
    return {("Variant" if i == 0 else f"Variant {i + 1}"): str(v.get("name")) for i, v in enumerate(values)}


def _count(value: Any) -> Decimal | None:
    return Decimal(int(value)) if isinstance(value, int) and not isinstance(value, bool) else None


def stock_level(row: dict, branch: str, read_at: str) -> StockLevel:
    """A ``/product-inventories`` row: the count of one product or variation at one branch."""
    sku = row.get("sku_code")
    if not sku:
        raise RecordError(f"stock row of product {row.get('product')} has no sku_code")
    return StockLevel(sku=str(sku), quantity=Decimal(int(row.get("quantity") or 0)), location=branch,
                      source_id=str(row.get("product_variance") or row.get("product")), as_of=read_at)


def order(raw: dict, connection: str, branches: dict[str, str], currency: str) -> Order:
    """A basket as an order: lines as the till charged them (gross øre, the line's own VAT)."""
    lines, vat_by_rate = [], {}
    for item in raw.get("basket_items") or []:
        gross = kroner(item.get("total"), "total")
        vat = kroner(item.get("vat_amount") or 0, "vat_amount")
        rate = Decimal(str(item.get("tax_percentage") or 0))
        discount_gross = kroner(item.get("discount") or 0, "discount")
        discount_net = (discount_gross * 100 / (100 + rate)).quantize(Decimal("0.01")) if rate else discount_gross
        lines.append(OrderLine(
            kind="item" if item.get("product") else "fee", sku=item.get("sku_code") or None,
            name=str(item.get("name") or "?"), quantity=Decimal(str(item.get("quantity") or 1)),
            net=gross - vat, vat=vat, vat_rate=rate, discount=discount_net,
            source_product_id=str(item.get("product_variance") or item.get("product") or "") or None))
        vat_by_rate[rate] = vat_by_rate.get(rate, Decimal(0)) + vat
    branch = str(raw.get("branch") or "")
    total = kroner(raw.get("total"), "total")
    if sum((line.gross for line in lines), Decimal(0)) != total:
        raise RecordError(f"basket {raw.get('uid')}: its lines add up to "
                          f"{sum((line.gross for line in lines), Decimal(0))}, not its total {total}")
    till = branches.get(branch) or f"branch {branch}"
    created = instant(raw.get("crdate")) or datetime.now(UTC).isoformat()
    return Order(
        source=connection, source_id=str(raw["uid"]), number=str(raw["uid"]),
        status=OrderStatus.CANCELLED if raw.get("canceled") else OrderStatus.COMPLETED,
        source_status="canceled" if raw.get("canceled") else "paid",
        created_at=created, modified_at=instant(raw.get("tstamp")), currency=str(raw.get("currency") or currency),
        prices_include_vat=True, customer=Customer(name=f"Shopbox {till}"), lines=tuple(lines),
        total=Money(amount=total, currency=str(raw.get("currency") or currency)),
        total_vat=Money(amount=kroner(raw.get("vat_amount") or 0, "vat_amount"),
                        currency=str(raw.get("currency") or currency)),
        vat_by_rate=tuple(sorted(vat_by_rate.items())), location=branch or None)
