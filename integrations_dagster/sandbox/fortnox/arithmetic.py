"""Order and invoice arithmetic as Fortnox computes it: rows, VAT, freight, fee, öresavrundning.

What recorded traffic shows [rec] (cassettes of accodeing/fortnox-api; the ones with amounts are the
2026 ``spec/vcr_cassettes/{invoices,orders}/save_new_fully_populated.yml`` of that repository, and
Fortnox's documentation example invoice 203 kept in FriendsOfApi/fortnox
tests/Model/Invoice/InvoiceTest.php):

* a row's ``Price`` and quantity are rounded to 2 decimals, half up (1.125 -> 1.13)
  [rec: invoices/row_price_limit*.yml, invoices/row_delivered_quantity_decimals*.yml];
* a row's ``Total`` is ``Price × DeliveredQuantity`` — on orders too: an order row with
  OrderedQuantity 1 and DeliveredQuantity 0 totals 0 [rec: orders/save_with_nested_model.yml];
* ``Net`` is the sum of the row totals; ``Gross`` equals ``Net`` (freight and fee not in it);
  ``FreightVAT`` and ``AdministrationFeeVAT`` are 25 % of them when the rows are at 25 %;
  ``TotalVAT`` is the rows' VAT plus both; ``Total`` is ``Net + Freight + AdministrationFee +
  TotalVAT`` rounded to whole kronor, the difference in ``RoundOff`` (218.75 -> 219, +0.25;
  2106.25 -> 2106, -0.25); ``TotalToPay`` = ``Total``; an invoice's ``Balance`` = ``Total``;
  ``ContributionValue`` = ``Net`` - cost, its percent to 2 decimals.

What Fortnox documents [doc]: freight and the administration fee carry "the VAT rate of the largest
amount on the document" (support.fortnox.se/produkthjalp/fakturering/momssatser-pa-frakt-och-
expeditionsavgifter); a row's VAT must be one of the company's VAT rates (25, 12, 6 and 0 by
default); with ``VATIncluded`` the row prices include VAT.

GUESSES (no recording shows them; kept here, and only here, so they can be corrected):

* VAT is computed per VAT rate on the sum of that rate's row totals, rounded to öre (not per row);
* with ``VATIncluded`` a rate's VAT is ``gross × rate / (100 + rate)`` of its rows' summed gross, and
  ``Freight``/``AdministrationFee`` are taken as including VAT too;
* a PERCENT discount multiplies the row total by ``1 - Discount/100``; an AMOUNT discount is taken
  off the row total; the row total is then rounded to öre;
* "largest amount" means the largest sum of row totals per rate; a tie goes to the higher rate; a
  document without rows takes 25 %;
* whole-krona rounding applies to SEK documents only, half up at exactly 50 öre.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
KRONA = Decimal("1")
DEFAULT_FEE_RATE = Decimal(25)


def round2(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def row_total(price: Decimal, quantity: Decimal, discount: Decimal, discount_type: str) -> Decimal:
    amount = price * quantity
    amount = amount - discount if discount_type == "AMOUNT" else amount * (1 - discount / 100)
    return round2(amount)


def vat_of(amount: Decimal, rate: Decimal, included: bool) -> Decimal:
    """The VAT in (``included``) or on an amount at ``rate`` percent, rounded to öre."""
    return round2(amount * rate / (100 + rate) if included else amount * rate / 100)


def fee_rate(amounts_by_rate: dict[Decimal, Decimal]) -> Decimal:
    """Freight and fee VAT rate: the rate whose rows sum to the largest amount."""
    if not amounts_by_rate:
        return DEFAULT_FEE_RATE
    return max(amounts_by_rate, key=lambda r: (abs(amounts_by_rate[r]), r))


def totals(rows: list[tuple[Decimal, Decimal, Decimal]], *, freight: Decimal, fee: Decimal, included: bool,
           currency: str) -> dict[str, Any]:
    """Document totals from its rows ``(row total, VAT rate, cost)``."""
    by_rate: dict[Decimal, Decimal] = {}
    cost = Decimal(0)
    for total, rate, row_cost in rows:
        by_rate[rate] = by_rate.get(rate, Decimal(0)) + total
        cost += row_cost
    vat_by_rate = {rate: vat_of(amount, rate, included) for rate, amount in by_rate.items()}
    rows_vat = sum(vat_by_rate.values(), Decimal(0))
    rows_amount = sum(by_rate.values(), Decimal(0))
    net = rows_amount - rows_vat if included else rows_amount
    rate = fee_rate(by_rate)
    freight_vat, fee_vat = vat_of(freight, rate, included), vat_of(fee, rate, included)
    freight_net = freight - freight_vat if included else freight
    fee_net = fee - fee_vat if included else fee
    total_vat = rows_vat + freight_vat + fee_vat
    unrounded = net + freight_net + fee_net + total_vat
    total = unrounded.quantize(KRONA, ROUND_HALF_UP) if currency == "SEK" else unrounded
    contribution = net - cost
    return {
        "Net": net, "Gross": net, "FreightVAT": freight_vat, "AdministrationFeeVAT": fee_vat, "TotalVAT": total_vat,
        "Total": total, "RoundOff": total - unrounded, "TotalToPay": total, "ContributionValue": contribution,
        "ContributionPercent": round2(contribution / net * 100) if net else Decimal(0),
    }
