"""Checks a write payload the way Fortnox does: known fields only, writable fields only, spec types.

Types, lengths, enums and required fields come from the OpenAPI document (:mod:`.spec_fields`).
Which fields are read-only is *not* in that document; the sets below follow the field tables of
the Fortnox developer docs (e.g. ``SalesPrice`` on an article lives in ``/3/prices``).
"""

from __future__ import annotations

import re
from typing import Any

from integrations_dagster.sandbox.fortnox.spec_fields import FIELDS, REQUIRED
from integrations_dagster.sandbox.fortnox.wire import CODE_INVALID_FIELD, CODE_INVALID_VALUE, Refusal

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


def check(kind: str, data: dict[str, Any], *, creating: bool) -> None:
    """Raise :class:`Refusal` for the first field Fortnox would not take."""
    fields, read_only = FIELDS[kind], READ_ONLY[kind]
    for name, value in data.items():
        if name not in fields:
            raise Refusal(400, f"Ogiltigt fält: {name}", CODE_INVALID_FIELD)
        if name in read_only:
            raise Refusal(400, f"Fältet {name} är skrivskyddat (read-only).", CODE_INVALID_FIELD)
        _check_value(name, fields[name], value)
    if creating:
        for name in REQUIRED[kind]:
            if data.get(name) in (None, ""):
                raise Refusal(400, f"Fältet {name} är obligatoriskt (required).", CODE_INVALID_VALUE)


def _check_value(name: str, spec: str, value: Any) -> None:
    if value is None:
        return
    kind, _, arg = spec.partition(":")
    bad = Refusal(400, f"Ogiltigt värde för {name}: {value!r}.", CODE_INVALID_VALUE)
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
