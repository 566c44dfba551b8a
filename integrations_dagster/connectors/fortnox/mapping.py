"""Pure mapping between canonical records and Fortnox API v3 payloads (no HTTP here).

Money goes to Fortnox as JSON numbers in major units, built from ``Decimal`` rounded half-up to
2 decimals; quantities as strings ("2"), as the spec types order/invoice row quantities.
Fortnox timestamps are Stockholm local time: the docs give ``lastmodified`` as ``2019-03-10 12:30``
with no zone [doc is silent on the zone]; UTC instants are converted and floored to the minute, so
a window start never skips a change (a re-read of one minute is harmless to a diff).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from integrations_dagster.model import Address, Customer, Order, RecordError, StockLevel, to_decimal
from integrations_dagster.model.money import Money, Price
from integrations_dagster.model.product import Product, SellableUnit
from integrations_dagster.connectors.fortnox import documents
from integrations_dagster.model.text import fit, plain_text, shown

STOCKHOLM = ZoneInfo("Europe/Stockholm")
DESCRIPTION_MAX = 200  # fortnox_Article.Description maxLength
EAN_MAX = 30  # fortnox_Article.EAN maxLength
ROW_DESCRIPTION_MAX = 255  # fortnox_Invoice_InvoiceRow.Description maxLength
YOUR_ORDER_NUMBER_MAX = 75  # fortnox_Order / fortnox_InvoicePayload .YourOrderNumber maxLength
EXTERNAL_REFERENCE_MAX = 80  # fortnox_InvoicePayload.ExternalInvoiceReference1 maxLength
# Characters Fortnox refuses in any text (see ``text``).
NOT_ALLOWED = re.compile("[\\x00-\\x09\\x0b\\x0c\\x0e-\\x1f\\x7f|~{}\\[\\]\\U00010000-\\U0010ffff]")
# The spec gives ArticleNumber maxLength 50. Fortnox's "Formats & Encoding" page lists the valid
# characters of any text as any letter (\p{L}, so å ä ö), digits and many symbols [doc]; integrators
# report article numbers take letters, digits and _ - / \ + $ and no spaces [3p]. We allow letters
# of any language, digits and _ - + . : the overlap that is also safe as a URL path segment.
ARTICLE_NUMBER = re.compile(r"[\w\-+.]{1,50}")
DocumentKind = Literal["order", "invoice"]


def fortnox_time(instant: datetime) -> str:
    """A UTC instant as Fortnox's ``lastmodified`` (Stockholm time, minute precision, floored)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")


def local_date(iso: str) -> str:
    """The Stockholm calendar date of an ISO 8601 instant (naive means UTC)."""
    instant = datetime.fromisoformat(iso)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(STOCKHOLM).date().isoformat()


def amount(value: Decimal) -> float:
    """A rounded Decimal as a JSON number; the float only carries the already-rounded value."""
    return float(Money(amount=value).rounded(2))


def quantity(value: Decimal) -> str:
    return format(value.normalize(), "f")


def article_number_problem(sku: str) -> str | None:
    if not sku:
        return "the product has no SKU, and a Fortnox article needs one"
    if not ARTICLE_NUMBER.fullmatch(sku):
        return (f"SKU {shown(sku)} cannot be a Fortnox article number (at most 50 characters: letters, digits,"
                " '-', '_', '+', '.'; no spaces)")
    return None


def article_payload(unit: SellableUnit) -> tuple[dict[str, Any], list[str]]:
    """Fields of the Fortnox article for one sellable unit, and notes for the sync log."""
    notes = []
    description, cut = text(unit.name, DESCRIPTION_MAX, f"SKU {shown(unit.sku)}: the name")
    if cut:
        notes.append(cut)
    if not description:
        raise ValueError(f"SKU {shown(unit.sku)}: the name is empty as plain text, and a Fortnox article needs one")
    payload: dict[str, Any] = {"Description": description, "Active": unit.active}
    if unit.ean:
        if len(unit.ean) > EAN_MAX:
            raise ValueError(f"SKU {shown(unit.sku)}: EAN {shown(unit.ean)} is longer than Fortnox's {EAN_MAX} characters")
        payload["EAN"] = unit.ean
    if unit.weight is not None:  # canonical kg -> Fortnox grams (int32)
        if not 0 <= unit.weight * 1000 < 2**31:
            raise ValueError(f"SKU {shown(unit.sku)}: weight {unit.weight} kg is not between 0 and {2**31 // 1000} kg")
        payload["Weight"] = int((unit.weight * 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    rate = unit.vat_rate if unit.vat_rate is not None else (unit.price.vat_rate if unit.price else None)
    if rate is not None:
        payload["VAT"] = amount(rate)
    return payload, notes


# The article fields a products flow can own (its ``owns``), by canonical name; "price" is the row in
# the connection's price list. Everything else of an article (Type, StockGoods, Unit, accounts, stock
# place, purchase price...) is Fortnox's: written only when the flow creates the article.
OWNABLE = {"name": "Description", "active": "Active", "ean": "EAN", "weight": "Weight", "vat": "VAT", "price": None}
CREATE_ONLY = {"Type": "STOCK", "StockGoods": True}  # a shop's product is a stock article when it is new


def owned(payload: dict[str, Any], owns: frozenset[str] | None) -> dict[str, Any]:
    """The part of an article payload a flow owning ``owns`` may write to an article it did not create."""
    if owns is None:
        return payload
    fields = {OWNABLE[name] for name in owns if OWNABLE.get(name)}
    return {k: v for k, v in payload.items() if k in fields}


def product_from_article(raw: dict[str, Any], includes_vat: bool) -> Product:
    """A Fortnox article (with its ``_price`` / ``_sale_price`` from the price lists) as a simple product:
    the reverse of :func:`article_payload` — Description the name, Weight grams, VAT the rate; a price
    list's prices are without VAT unless ``price_list_includes_vat``."""
    number = str(raw.get("ArticleNumber") or "")
    if not number:
        raise RecordError("an article without ArticleNumber")
    name = str(raw.get("Description") or "").strip()
    if not name:
        raise RecordError(f"article {number} has no description (its name)")
    try:
        vat = to_decimal(raw.get("VAT") if raw.get("VAT") not in (None, "") else 25, f"article {number}: VAT")
        grams = raw.get("Weight")
        weight = to_decimal(grams, f"article {number}: Weight") / 1000 if grams not in (None, "", 0) else None

        def price(value: Any) -> Price | None:
            if value in (None, ""):
                return None
            return Price(amount=Money(amount=to_decimal(value, f"article {number}: price"), currency="SEK"),
                         vat_rate=vat, includes_vat=includes_vat)

        return Product(sku=number, source_id=number, kind="simple", name=name, ean=raw.get("EAN") or None,
                       weight=weight, vat_rate=vat, price=price(raw.get("_price")),
                       sale_price=price(raw.get("_sale_price")), active=raw.get("Active", True) is not False)
    except ValueError as exc:
        raise RecordError(str(exc)) from None


def list_price(unit: SellableUnit, includes_vat: bool) -> Decimal | None:
    """The unit's price in the price list's convention (with or without VAT)."""
    return unit.price.as_(includes_vat) if unit.price else None


def differs(payload: dict[str, Any], existing: dict[str, Any]) -> bool:
    """Whether writing ``payload`` would change ``existing`` (numbers compared as decimals)."""
    for name, value in payload.items():
        current = existing.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                if to_decimal(current) != to_decimal(value):
                    return True
            except ValueError:
                return True
        elif current != value:
            return True
    return False


def customer_payload(customer: Customer, billing: Address | None, number: str | None = None) -> dict[str, Any]:
    """A new customer; ``number``: its CustomerNumber when the shop numbers customers (else Fortnox's series)."""
    address = customer.billing or billing or Address()

    def clean(value: str | None) -> str | None:
        return text(value, 1024, "")[0] if value else value

    fields = {
        "Name": clean((customer.company or customer.name or address.name or "").strip()),
        "Type": "COMPANY" if customer.company else "PRIVATE",
        "Email": customer.email or address.email,
        "Address1": clean(address.line1), "Address2": clean(address.line2), "ZipCode": clean(address.postcode),
        "City": clean(address.city),
        "CountryCode": address.country.upper() if address.country and len(address.country) == 2 else None,
        "Phone1": customer.phone or address.phone,
        "OrganisationNumber": clean(customer.org_number), "CustomerNumber": number,
    }
    if not fields["Name"]:
        raise ValueError("the customer has no name, which Fortnox requires")
    return {k: v for k, v in fields.items() if v not in (None, "")}


def document_payload(order: Order, kind: DocumentKind, customer_number: str, rows: list[documents.Row],
                     vat_included: bool) -> dict[str, Any]:
    """An order or invoice body from its rows (:mod:`.documents` chose them)."""
    if len(order.key) > EXTERNAL_REFERENCE_MAX:
        raise ValueError(f"order key {order.key!r} is longer than ExternalInvoiceReference1's "
                         f"{EXTERNAL_REFERENCE_MAX} characters")
    if len(order.number) > YOUR_ORDER_NUMBER_MAX:
        raise ValueError(f"order number {order.number!r} is longer than YourOrderNumber's {YOUR_ORDER_NUMBER_MAX}")
    body_rows = []
    for row in rows:
        out: dict[str, Any] = {"Description": row.description, "Price": float(row.price),
                               "VAT": int(row.vat) if row.vat == row.vat.to_integral_value() else float(row.vat),
                               "DeliveredQuantity": quantity(row.quantity)}
        if row.article:
            out["ArticleNumber"] = row.article
        if row.account:
            out["AccountNumber"] = row.account
        if kind == "order":
            out["OrderedQuantity"] = quantity(row.quantity)
        body_rows.append(out)
    payload: dict[str, Any] = {
        "CustomerNumber": customer_number,
        ("OrderDate" if kind == "order" else "InvoiceDate"): local_date(order.created_at),
        "Currency": order.currency, "VATIncluded": vat_included, "YourOrderNumber": order.number,
        "ExternalInvoiceReference1": order.key,
        ("OrderRows" if kind == "order" else "InvoiceRows"): body_rows,
    }
    payload.update(_delivery(order.shipping))
    return payload


def text(value: str | None, limit: int, what: str) -> tuple[str, str | None]:
    """``value`` as Fortnox text: plain (no HTML, entities decoded, one line), without the characters
    Fortnox refuses (2000359: | ~ { } [ ], control characters, emoji; the em dash becomes an en dash
    [3p: accodeing/fortnox-api allowed_characters_regexp_spec.rb]), cut to ``limit`` with a warning."""
    plain = plain_text(value, single_line=True).replace("\u2014", "\u2013")
    plain = re.sub(" {2,}", " ", NOT_ALLOWED.sub("", plain)).strip()
    return fit(plain, limit, what)


def _delivery(address: Address | None) -> dict[str, str]:
    if address is None:
        return {}
    fields = {"DeliveryName": address.company or address.name, "DeliveryAddress1": address.line1,
              "DeliveryAddress2": address.line2, "DeliveryZipCode": address.postcode,
              "DeliveryCity": address.city}
    return {k: text(v, 1024, "")[0] for k, v in fields.items() if v}


def stock_level(raw: dict[str, Any], location: str, as_of: str | None) -> StockLevel:
    sku = raw.get("ArticleNumber")
    if not sku:
        raise RecordError("article without ArticleNumber")
    try:
        qty = to_decimal(raw.get("QuantityInStock"), f"article {sku}: QuantityInStock")
    except ValueError as exc:
        raise RecordError(str(exc)) from None
    return StockLevel(sku=sku, quantity=qty, location=location, source_id=sku, as_of=as_of)
