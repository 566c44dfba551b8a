"""Mapper: canonical records ⇄ Specter's fields, declared as tables; no I/O here.

Role: what each canonical field becomes in a ``newArticleSubmit`` row, a ``newCustomerSubmit`` form and a
``newOrderSubmit`` row, and what a feed row becomes as a canonical :class:`StockLevel` or
:class:`Product`. The exporter decides *whether* to send; this module decides *what*.

* Articles: one per sellable unit — a variable product's variations are articles of their own
  [partner: Abicart "alla produkter [måste] ha unika produktnummer, även kundens val (storlekar/färger)";
  3p: PrestaShop sends each combination as its own article]. Prices go **excluding VAT** with the VAT
  percent (``priceExclVAT_N``, ``vatPercent_N``) [3p: PrestaShop SendProducts], converted from the
  canonical Price in Decimal and rounded half up to 2 decimals (Specter writes prices with 2 decimals:
  "159,20"). Weights in kg with 3 decimals [3p: PrestaShop number_format(weight, 3)].
* Article numbers: no spaces, commas, å ä ö & % ¤ # € — "use hyphens/underscores" [partner: Abicart];
  also refused here: Å Ä Ö, control characters, characters ISO-8859-1 lacks, more than 50 characters
  (the sandbox's guesses, guesses.ARTICLE_NO_*). Refused before sending, with the reason.
* Customers [3p: PrestaShop SpecterCustomerHelper::buildCustomerData; partner: core-suite lengths]:
  a company (``name``, form ``C``) or a person (``firstName``/``surName``, form ``P``); the e-mail is
  required [partner: core-suite] and is what Specter matches on [partner: Abicart].
* Order rows [3p: PrestaShop SpecterOrderHelper::buildOrderData; Laravel app]: rows excluding VAT with a
  VAT percent; freight and discounts are rows of their own, a discount with a **negative** price.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from integrations_dagster.connectors.specter.adapter import latin1, number, send_number
from integrations_dagster.model import (
    Customer, Money, Order, OrderProgress, Price, Product, RecordError, StockLevel,
)
from integrations_dagster.model.product import SellableUnit
from integrations_dagster.model.text import fit, plain_text, shown

CENT = Decimal("0.01")
ARTICLE_NO_MAX = 50
ARTICLE_NO_FORBIDDEN = frozenset(" ,åäöÅÄÖ&%¤#€")
# canonical ownable field -> the newArticleSubmit row field it writes [3p: PrestaShop SendProducts]
ARTICLE_FIELDS = {"name": "name", "price": "priceExclVAT", "vat": "vatPercent", "ean": "barCode",
                  "weight": "productWeight"}
OWNABLE = tuple(ARTICLE_FIELDS)
CREATE_NEEDS = ("name",)  # a new article needs a name (sandbox: refused without); sent even when not owned
CUSTOMER_MAX = {"name": 100, "emailAddress": 100, "firstName": 50, "surName": 50, "phoneNo": 50}
ROUNDING_NAME = "Öresutjämning"
DISCOUNT_NAME = "Rabatt"
NO_ITEMS_AV = "noItemsAvailable"  # [3p: PrestaShop: 0 in XML mode]


# -- articles ------------------------------------------------------------------------------------------
def article_number_problem(sku: str | None) -> str | None:
    if not sku:
        return "the product has no SKU, and a Specter article needs an article number"
    bad = sorted({ch for ch in sku if ch in ARTICLE_NO_FORBIDDEN or ord(ch) < 32 or ord(ch) > 255})
    if bad or len(sku) > ARTICLE_NO_MAX:
        what = (f"it holds {', '.join(repr(c) for c in bad)}" if bad
                else f"it is longer than {ARTICLE_NO_MAX} characters")
        return (f"SKU {shown(sku)} cannot be a Specter article number ({what}): Specter takes no spaces, commas, "
                "å ä ö & % ¤ # €; use hyphens or underscores")
    return None


def vat_text(rate: Decimal) -> str:
    return send_number(rate)


def article_fields(unit: SellableUnit) -> tuple[dict[str, str], list[str]]:
    """Every ownable field of the unit's article as row fields (no row number yet), and warnings."""
    warnings: list[str] = []
    name, changed = latin1(plain_text(unit.name, single_line=True))
    if changed:
        warnings.append(f"SKU {shown(unit.sku)}: characters of the name that ISO-8859-1 lacks were replaced")
    if not name:
        raise ValueError(f"SKU {shown(unit.sku)}: the name is empty as plain text, and a Specter article needs one")
    rate = unit.vat_rate if unit.vat_rate is not None else (unit.price.vat_rate if unit.price else None)
    fields = {"name": name, "barCode": latin1(unit.ean or "")[0].strip()}
    if unit.price is not None:
        fields["priceExclVAT"] = send_number(unit.price.as_(False, 2), 2)
    if rate is not None:
        fields["vatPercent"] = vat_text(rate)
    if unit.weight is not None:
        fields["productWeight"] = send_number(unit.weight, 3)
    return fields, warnings


def owned(fields: dict[str, str], owns: frozenset[str] | None, *, creating: bool = False) -> dict[str, str]:
    """The row fields a flow owning ``owns`` writes (all when None); a new article gets its name too."""
    names = set(ARTICLE_FIELDS) if owns is None else set(owns) | (set(CREATE_NEEDS) if creating else set())
    wanted = {ARTICLE_FIELDS[n] for n in names if n in ARTICLE_FIELDS}
    return {k: v for k, v in fields.items() if k in wanted}


def article_rows(rows: list[tuple[str, dict[str, str]]]) -> dict[str, str]:
    """``articleNo_N`` and the row fields ``<name>_N``, N from 1."""
    form: dict[str, str] = {}
    for n, (article_no, fields) in enumerate(rows, start=1):
        form[f"articleNo_{n}"] = article_no
        form.update({f"{k}_{n}": v for k, v in fields.items()})
    return form


def initial_stock(unit: SellableUnit) -> dict[str, str]:
    """A new article starts with the shop's stock (a stock article), so a stock flow back to the shop does
    not zero it; after that Specter owns the stock [3p: PrestaShop createArticleStock_N, noItemsInStock_N]."""
    if unit.stock_quantity is None:
        return {}
    return {"createArticleStock": "1", "noItemsInStock": send_number(unit.stock_quantity)}


# -- feed rows -> canonical ------------------------------------------------------------------------------
def stock_level(raw: dict[str, Any]) -> StockLevel:
    """The available quantity summed over the stock sites the answer has; ``noItemsAvailable`` is 0
    [3p: PrestaShop StockSyncMultiStock sums the sites and counts noItemsAvailable as 0]."""
    sku = raw.get("articleNo")
    if not sku:
        raise RecordError("stock row without articleNo")
    total = Decimal(0)
    for site, value in (raw.get("sites") or {}).items():
        if str(value).strip() in (NO_ITEMS_AV, ""):
            continue
        try:
            total += number(value, f"article {sku}: quantity at stock site {site}")
        except ValueError as exc:
            raise RecordError(str(exc)) from None
    if abs(total) > MAX_STOCK:
        raise RecordError(f"article {sku}: a stock of {total} is not a count this integration passes on "
                          f"(more than {MAX_STOCK:,})")
    return StockLevel(sku=sku, quantity=total, source_id=sku, as_of=raw.get("_as_of"))


MAX_STOCK = Decimal(10) ** 12  # (a shop keeps a 64-bit count; a row past this is a broken value, not stock)
CANCELLED_STATUS_ID = "5"  # [3p: PrestaShop spectercron statusId == '5' — cancelled/removed]
DELIVERED = "D"  # deliveryStatus [3p: PrestaShop spectercron deliveryStatus == 'D']


def order_progress(raw: dict[str, Any]) -> OrderProgress:
    """One row of the orders feed as what the ERP did with the shop's order: its ``externalOrderNo`` is
    the key the orders flow sent (the shop order's canonical key); the furthest state wins — cancelled,
    else paid, else invoiced, else delivered, else open. ``invoiced`` / ``paid`` are the sandbox's
    guesses (docs/research/specter.md §4), delivered and cancelled are evidenced."""
    key = (raw.get("externalOrderNo") or "").strip()
    if not key:
        raise RecordError(f"order {raw.get('orderNo') or '?'} has no external order number: not from a shop")
    if raw.get("statusId") == CANCELLED_STATUS_ID:
        state = "cancelled"
    elif raw.get("paid"):
        state = "paid"
    elif raw.get("invoiced"):
        state = "invoiced"
    elif raw.get("deliveryStatus") == DELIVERED:
        state = "delivered"
    else:
        state = "open"
    return OrderProgress(order_key=key, state=state, tracking_numbers=tuple(raw.get("tracking") or ()),
                         source_id=raw.get("orderNo") or None, as_of=raw.get("_as_of"))


def product(raw: dict[str, Any], options: dict[str, Any]) -> Product:
    """One article as a simple product; its price excludes VAT."""
    sku = raw.get("articleNo")
    if not sku:
        raise RecordError("article without articleNo")
    try:
        rate = number(raw.get("vatPercent") or options.get("vat_rate", 25), f"article {sku}: vatPercent")
        if rate == rate.to_integral_value():
            rate = rate.quantize(Decimal(1))  # "25" whether the feed or the YAML said "25,0" or 25.0
        price = None
        if raw.get("priceExclVat"):
            net = number(raw["priceExclVat"], f"article {sku}: priceExclVat")
            price = Price(amount=Money(amount=net, currency=options.get("currency", "SEK")), vat_rate=rate,
                          includes_vat=False)
        weight = number(raw["productWeight"], f"article {sku}: productWeight") if raw.get("productWeight") else None
    except ValueError as exc:
        raise RecordError(str(exc)) from None
    return Product(source_id=sku, sku=sku, kind="simple", name=raw.get("name") or sku, ean=raw.get("barCode") or None,
                   weight=weight, price=price, vat_rate=rate, modified_at=raw.get("_as_of"))


# -- customers -----------------------------------------------------------------------------------------
def customer_form(customer: Customer, order: Order) -> tuple[dict[str, str], str, list[str]]:
    """The ``newCustomerSubmit`` form, its key subject (the name Specter reads: ``name``, else
    ``firstName + " " + surName`` [3p: PrestaShop $customername]) and warnings."""
    warnings: list[str] = []
    email = (customer.email or "").strip()
    if not email:
        raise ValueError("the customer has no e-mail address, which Specter requires (and matches customers on)")
    billing = customer.billing or order.billing
    shipping = customer.shipping or order.shipping
    form: dict[str, str] = {"emailAddress": email, "currency": order.currency}
    if customer.company:
        form.update(name=customer.company, customerOrganizationalForm="C", attention=customer.name)
    else:
        first, _, last = customer.name.strip().partition(" ")
        form.update(firstName=first, surName=last.strip(), contactPerson=customer.name,
                    customerOrganizationalForm="P")
    if customer.phone:
        form["phoneNo"] = customer.phone
    if billing:
        form.update(address=billing.line1, addressRow2=billing.line2, zipCodeEng=billing.postcode,
                    city=billing.city, countryCode=billing.country)
    if shipping:
        form.update(deliveryCompanyName=shipping.company, deliveryAddress=shipping.line1,
                    deliveryAddressRow2=shipping.line2, deliveryZipCodeEng=shipping.postcode,
                    deliveryCity=shipping.city, deliveryCountryCode=shipping.country)
    clean: dict[str, str] = {}
    for name, value in form.items():
        if not value:
            continue
        text, changed = latin1(str(value).strip())
        if changed:
            warnings.append(f"customer {name}: characters ISO-8859-1 lacks were replaced")
        if name in CUSTOMER_MAX:
            text, cut = fit(text, CUSTOMER_MAX[name], f"customer {name}")
            if cut:
                if name == "emailAddress":
                    raise ValueError("the customer's e-mail address is longer than Specter's "
                                     f"{CUSTOMER_MAX[name]} characters")
                warnings.append(cut)
        clean[name] = text.strip()
    subject = clean.get("name") or f"{clean.get('firstName', '')} {clean.get('surName', '')}".strip()
    if not subject:
        raise ValueError("the customer has no name, which Specter requires")
    return clean, subject, warnings


# -- order rows ----------------------------------------------------------------------------------------
class Row(NamedTuple):
    article_no: str  # "" for a free-text row
    name: str
    price: Decimal  # per unit, excluding VAT
    quantity: Decimal
    vat: Decimal

    @property
    def exact_gross(self) -> Decimal:
        return self.price * self.quantity * (1 + self.vat / 100)


def amount_rows(article_no: str, name: str, amount: Decimal, quantity: Decimal, vat: Decimal) -> list[Row]:
    """Rows whose 2-decimal unit prices times their quantities make exactly ``amount`` (excl. VAT): one
    row, or ``n - 1`` at one price and 1 at the rest (a fractional quantity: one row, rest to rounding)."""
    amount = amount.quantize(CENT, ROUND_HALF_UP)
    if quantity == 1 or quantity != quantity.to_integral_value() or quantity <= 0:
        price = amount if quantity == 1 else (amount / quantity).quantize(CENT, ROUND_HALF_UP)
        return [Row(article_no, name, price, quantity, vat)]
    unit = (amount / quantity).quantize(CENT, ROUND_DOWN)
    if unit * quantity == amount:
        return [Row(article_no, name, unit, quantity, vat)]
    rest = amount - unit * (quantity - 1)
    return [Row(article_no, name, unit, quantity - 1, vat), Row(article_no, name, rest, Decimal(1), vat)]


def predicted_total(rows: list[Row]) -> Decimal:
    """What Specter totals the rows to: Σ price × quantity × (1 + VAT/100), exact, rounded once half up to
    öre (the sandbox's guess, guesses.TOTAL_ROUNDING; no whole-krona rounding on orders)."""
    return sum((r.exact_gross for r in rows), Decimal(0)).quantize(CENT, ROUND_HALF_UP)


def balanced(rows: list[Row], order: Order) -> list[Row]:
    """The rows plus an "Öresutjämning" free-text row at 0 % carrying what the rows' total, as Specter
    computes it, lacks of the shop's total (VAT rounded per line by the shop, the shop's own rounding).
    More than rounding apart, the order is refused rather than booked with a made-up row."""
    left = order.total.amount - predicted_total(rows)
    if not left:
        return rows
    if abs(left) > CENT * (len(order.lines) + 1) + sum((abs(line.gross) for line in order.lines
                                                        if line.kind == "rounding"), Decimal(0)):
        raise ValueError(f"the rows would make Specter total {predicted_total(rows)}, the shop charged "
                         f"{order.total.amount}: more than rounding apart, so the order was not sent")
    return rows + [Row("", ROUNDING_NAME, left, Decimal(1), Decimal(0))]


def order_form(order: Order, customer_id: str, rows: list[Row]) -> dict[str, str]:
    """The ``newOrderSubmit`` body: header and rows ``_1 … _n`` [3p: PrestaShop; Laravel app]."""
    form = {"customerId": customer_id, "externalOrderNo": order.key, "currency": order.currency,
            "customerOrderReference": order.number}
    for n, row in enumerate(rows, start=1):
        form.update({f"articleNo_{n}": row.article_no, f"articleName_{n}": row.name,
                     f"priceExclVAT_{n}": send_number(row.price, 2), f"noOfItems_{n}": send_number(row.quantity),
                     f"vatPercent_{n}": vat_text(row.vat)})
    return form


def row_name(text: str | None, fallback: str) -> str:
    return latin1(plain_text(text, single_line=True))[0] or fallback
