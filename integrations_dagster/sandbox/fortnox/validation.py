"""Checks a write payload the way Fortnox does: known fields only, writable fields only, spec types.

Types, lengths, enums and required fields come from the OpenAPI document (:mod:`.spec_fields`).
Which fields are read-only is *not* in that document; the sets below follow the field tables of
the Fortnox developer docs (e.g. ``SalesPrice`` on an article lives in ``/3/prices``).
"""

from __future__ import annotations

import re
from typing import Any

from integrations_dagster.sandbox.fortnox.spec_fields import FIELDS, REQUIRED
from integrations_dagster.sandbox.fortnox.wire import (
    CODE_CHARACTERS, CODE_INVALID_FIELD, CODE_INVALID_VALUE, CODE_UNKNOWN_FIELD, Refusal, dec,
)

READ_ONLY: dict[str, frozenset[str]] = {
    "Article": frozenset({"@url", "SalesPrice", "DisposableQuantity", "ReservedQuantity", "StockValue",
                          "SupplierName", "CostCalculationMethod"}),
    "Price": frozenset({"@url", "Date"}),
    "PriceList": frozenset({"@url"}),
    "Customer": frozenset({"@url"}),
    "Order": frozenset({"@url", "@urlTaxReductionList", "Total", "TotalVAT", "TotalToPay", "Net", "Gross",
                        "ContributionPercent", "ContributionValue", "FreightVAT", "AdministrationFeeVAT",
                        "RoundOff", "Cancelled", "Sent", "InvoiceReference", "OfferReference",
                        "BasisTaxReduction", "TaxReduction", "OrderType", "WarehouseReady"}),
    "OrderRow": frozenset({"Total", "ContributionPercent", "ContributionValue"}),
    "InvoicePayload": frozenset(),  # the spec's write schema already leaves out computed fields
    "InvoiceRow": frozenset(),
}

# The spec gives ArticleNumber maxLength 50. Fortnox's "Formats & Encoding" page lists the valid
# characters of any text as any letter (\p{L}, so å ä ö), digits and many symbols [doc]; integrators
# report article numbers take letters, digits and _ - / \ + $ and no spaces [3p]. We allow letters
# of any language, digits and _ - + . : the overlap that is also safe as a URL path segment.
ARTICLE_NUMBER = re.compile(r"[\w\-+.]{1,50}")

_JSON_TYPES = {"string": str, "boolean": bool, "object": dict, "array": list}

# Where the real API takes more than the spec types [rec/3p]: quantities as JSON numbers or numeric
# text (recordings send 1.0 and get "1"; Fortnox's docs send "10.00"), a row's VAT also as text
# ("VAT":"25" accepted: accodeing/fortnox-api docs/gotchas.md), and an order row's description is
# held to the invoice row's 255 characters (the spec gives no limit for order rows: guess).
LENIENT = {"OrderedQuantity": "numeric", "DeliveredQuantity": "numeric", "ReservedQuantity": "numeric",
           "VAT": "numeric"}
ROW_DESCRIPTION_MAX = 255
# Characters Fortnox refuses in any text (error 2000359 "Värdet innehåller ej tillåtna tecken"): control
# characters but CR/LF, | ~ { } [ ], the em dash and characters outside the basic plane such as emoji
# [3p: accodeing/fortnox-api spec/fortnox/allowed_characters_regexp_spec.rb, checked against the live API;
# doc: the error code on Fortnox's errors page].
NOT_ALLOWED = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f\x7f|~{}\[\]\u2014\U00010000-\U0010ffff]")


def check(kind: str, data: dict[str, Any], *, creating: bool) -> None:
    """Raise :class:`Refusal` for the first field Fortnox would not take."""
    fields, read_only = FIELDS[kind], READ_ONLY[kind]
    for name, value in data.items():
        if name not in fields:
            raise Refusal(400, f"Felaktigt fältnamn ({name})", CODE_UNKNOWN_FIELD)
        if name in read_only:
            raise Refusal(400, f"Fältet {name} är skrivskyddat (read-only).", CODE_INVALID_FIELD)
        spec = LENIENT.get(name, fields[name]) if kind.endswith("Row") else fields[name]
        if name == "Description" and kind.endswith("Row"):
            spec = f"string:0-{ROW_DESCRIPTION_MAX}"
        _check_value(name, spec, value)
    if creating:
        for name in REQUIRED[kind]:
            if data.get(name) in (None, ""):
                raise Refusal(400, f"Fältet {name} är obligatoriskt (required).", CODE_INVALID_VALUE)


def _check_value(name: str, spec: str, value: Any) -> None:
    if value is None:
        return
    kind, _, arg = spec.partition(":")
    bad = Refusal(400, f"Ogiltigt värde för {name}: {value!r}.", CODE_INVALID_VALUE)
    if isinstance(value, str) and NOT_ALLOWED.search(value):
        raise Refusal(400, f"Värdet innehåller ej tillåtna tecken. ({value[:80]})", CODE_CHARACTERS)
    if kind == "numeric":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise bad
        try:
            dec(value, name)
        except Refusal:
            raise bad from None
        return
    if kind == "enum":
        if value not in arg.split("|"):
            raise bad
    elif kind in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        if kind == "integer" and value != int(value):
            raise bad
        low, _, high = arg.partition("-")
        if (low and value < int(low)) or (high and value > int(high)):
            raise bad
    else:
        if not isinstance(value, _JSON_TYPES[kind]):
            raise bad
        if kind == "string" and arg:
            low, _, high = arg.partition("-")
            if not int(low) <= len(value) <= int(high):
                raise Refusal(400, f"{name} får vara högst {high} tecken (max length {high}).",
                              CODE_INVALID_VALUE)
