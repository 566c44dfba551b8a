"""Tradera orders as canonical orders: whole kronor including VAT, the buyer, the lines by SKU.

``GET /v4/orders?fromDate&toDate&queryDateMode=1`` lists a seller's orders updated in a window, with no
paging [spec ``#/paths/~1v4~1orders/get``]; mode 1 is "last updated" (v3 declaration order
``CreatedDate, LastUpdatedDate`` [3p: wsdl-ts]; GUESS ENUM_ORDER). A ``SellerOrder`` [spec
``#/components/schemas/SellerOrder``] has no status: a shop order exists once it is paid ("OrderCreated
… for shop items: when the item is paid" [doc: v3 DocPush]), so every one maps to *paid*.

Money: every amount is int32 whole kronor [spec], consumer prices including VAT (GUESS MONEY_RULES);
a line's gross is ``quantity × unitPrice`` at its ``vatRate``, its net that divided by ``1 + rate`` (to
the öre; the VAT is the rest, so net + VAT is exactly what the buyer paid); shipping is taxed at the
highest rate of the goods (Skatteverket: shipping follows the goods; GUESS, Tradera states no shipping
VAT); the total is ``subTotal + shippingCost`` and the lines add up to it by construction.

Lines name the SKU by ``merchantPartNumber`` (a variant's ``sellerPartNo``, GUESS VARIANT_RULES) or the
item's ``ownReferences`` (the listing writer puts the SKU there); an item listed by hand with neither
is looked up in the id map (item id → SKU); without any, the order fails with the item named. Countries
come as names (``countryName``) and become ISO codes (:data:`COUNTRIES`, Swedish and English names).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable

from integrations_dagster.model import Address, Customer, Money, Order, OrderLine, OrderStatus, RecordError

CENT = Decimal("0.01")
COUNTRIES = {
    "sverige": "SE", "sweden": "SE", "norge": "NO", "norway": "NO", "danmark": "DK", "denmark": "DK",
    "finland": "FI", "island": "IS", "iceland": "IS", "tyskland": "DE", "germany": "DE", "deutschland": "DE",
    "frankrike": "FR", "france": "FR", "spanien": "ES", "spain": "ES", "italien": "IT", "italy": "IT",
    "nederländerna": "NL", "netherlands": "NL", "holland": "NL", "belgien": "BE", "belgium": "BE",
    "österrike": "AT", "austria": "AT", "polen": "PL", "poland": "PL", "estland": "EE", "estonia": "EE",
    "lettland": "LV", "latvia": "LV", "litauen": "LT", "lithuania": "LT", "irland": "IE", "ireland": "IE",
    "portugal": "PT", "grekland": "GR", "greece": "GR", "tjeckien": "CZ", "czech republic": "CZ",
    "czechia": "CZ", "slovakien": "SK", "slovakia": "SK", "ungern": "HU", "hungary": "HU", "slovenien": "SI",
    "slovenia": "SI", "kroatien": "HR", "croatia": "HR", "rumänien": "RO", "romania": "RO", "bulgarien": "BG",
    "bulgaria": "BG", "luxemburg": "LU", "luxembourg": "LU", "malta": "MT", "cypern": "CY", "cyprus": "CY",
    "storbritannien": "GB", "united kingdom": "GB", "schweiz": "CH", "switzerland": "CH",
    "usa": "US", "united states": "US",
}


def country(name: Any) -> str | None:
    text = str(name or "").strip()
    if not text:
        return None
    if len(text) == 2 and text.isalpha():
        return text.upper()
    return COUNTRIES.get(text.lower())


def order(raw: dict, connection: str, sku_of_item: Callable[[int], str | None]) -> Order:
    buyer, ship_to = raw.get("buyer") or {}, raw.get("shipTo") or {}
    name = " ".join(p for p in (buyer.get("firstName"), buyer.get("lastName")) if p) or str(buyer.get("alias") or "")
    billing = _address(buyer, name)
    shipping = _address(ship_to, str(ship_to.get("name") or name)) if ship_to else billing
    lines, rates = [], []
    for item in raw.get("items") or []:
        sku = item.get("merchantPartNumber") or next(iter(item.get("ownReferences") or []), None) \
            or sku_of_item(int(item.get("itemId") or 0))
        if not sku:
            raise RecordError(f"item {item.get('itemId')} ({item.get('title')!r}) names no SKU (no seller part "
                              "number, no own reference, and not listed by this integration)")
        quantity, unit_price = _int(item, "quantity"), _int(item, "unitPrice")
        rate = Decimal(_int(item, "vatRate"))
        rates.append(rate)
        lines.append(_line("item", str(item.get("title") or sku), Decimal(quantity * unit_price), rate,
                           sku=str(sku), quantity=Decimal(quantity), source_product_id=str(item.get("itemId"))))
    sub_total, shipping_cost = _int(raw, "subTotal"), _int(raw, "shippingCost")
    if sum(line.gross for line in lines) != sub_total:
        raise RecordError(f"its lines add up to {sum(line.gross for line in lines)} kr, its subTotal says {sub_total}")
    if shipping_cost:
        lines.append(_line("shipping", str(raw.get("shippingType") or "Frakt"), Decimal(shipping_cost),
                           max(rates, default=Decimal(25))))
    by_rate: dict[Decimal, Decimal] = {}
    for line in lines:
        by_rate[line.vat_rate] = by_rate.get(line.vat_rate, Decimal(0)) + line.vat
    total = Decimal(sub_total + shipping_cost)
    return Order(
        source=connection, source_id=str(raw["orderId"]), number=str(raw["orderId"]), status=OrderStatus.PAID,
        source_status="paid", created_at=str(raw.get("createdDate")), modified_at=raw.get("lastUpdatedDate"),
        currency="SEK", prices_include_vat=True,
        customer=Customer(source_id=str(buyer.get("userId")) if buyer.get("userId") is not None else None,
                          email=buyer.get("email") or None, name=name or "Tradera buyer", phone=buyer.get("phone"),
                          billing=billing, shipping=shipping),
        billing=billing, shipping=shipping, lines=tuple(lines), total=Money(amount=total, currency="SEK"),
        total_vat=Money(amount=sum(by_rate.values(), Decimal(0)), currency="SEK"),
        vat_by_rate=tuple(sorted(by_rate.items())))


def _line(kind: str, name: str, gross: Decimal, rate: Decimal, **more: Any) -> OrderLine:
    net = (gross / (1 + rate / 100)).quantize(CENT, rounding=ROUND_HALF_UP)
    return OrderLine(kind=kind, name=name, net=net, vat=gross - net, vat_rate=rate, **more)


def _address(part: dict, name: str) -> Address:
    return Address(name=name or None, line1=part.get("addressLine1") or None, line2=part.get("addressLine2") or None,
                   postcode=part.get("zipCode") or None, city=part.get("city") or None,
                   country=country(part.get("countryName")), email=part.get("email") or None,
                   phone=part.get("phone") or None)


def _int(raw: dict, name: str) -> int:
    value = raw.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordError(f"{name} {value!r} is not whole kronor")
    return value
