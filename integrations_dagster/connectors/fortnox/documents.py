"""Order and invoice rows that make Fortnox total exactly what the shop charged.

Fortnox computes a document itself: it rounds a row's price and quantity to 2 decimals, totals a
row as price × delivered quantity, works out the VAT of each rate, and rounds the document total to
whole kronor into ``RoundOff`` (recorded traffic, see ``sandbox/fortnox/arithmetic.py`` for the
evidence; how it rounds VAT — per rate on the rates' sums, as modelled here — is not recorded). It
never takes the client's totals. So the rows are chosen to land on the shop's numbers:

* one row per line with its article (or none: a line that is no article is still booked), its VAT
  rate as the shop charged it, and a price that times the quantity is exactly the line's amount —
  when no 2-decimal price does that, the line becomes two rows (``n - 1`` at one price, 1 at the rest);
* shipping and fees are rows at their own rates, never ``Freight``/``AdministrationFee``, whose VAT
  Fortnox would take at "the rate of the largest amount" [doc: support.fortnox.se momssatser på frakt];
* then this module predicts Fortnox's VAT per rate and total. Where a rate's VAT would differ from the
  shop's by its rounding, a row "Momsavrundning" at that rate moves it by the öre needed; what is then
  left of the total goes on a row "Öresutjämning" without VAT (account 3740 by default, BAS's öres-
  och kronutjämning). The connector checks the document Fortnox answers against the shop's numbers.

A rate that is not one of the company's VAT rates (``vat_rates`` of the connection, Fortnox's
defaults 25/12/6/0) refuses the order, naming the rate: never a rate rounded to a neighbour.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any, Sequence

from integrations_dagster.model import Order, OrderLine

CENT = Decimal("0.01")
DEFAULT_VAT_RATES = (Decimal(25), Decimal(12), Decimal(6), Decimal(0))
ROUNDING_ACCOUNT = 3740  # BAS: Öres- och kronutjämning


def round2(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class Row:
    description: str
    price: Decimal  # per unit; with VAT when the document's VATIncluded
    quantity: Decimal
    vat: Decimal
    article: str | None = None
    account: int | None = None

    @property
    def total(self) -> Decimal:
        return round2(round2(self.price) * round2(self.quantity))


def vat_of(amount: Decimal, rate: Decimal, included: bool) -> Decimal:
    return round2(amount * rate / (100 + rate) if included else amount * rate / 100)


def predict(rows: Sequence[Row], included: bool) -> tuple[Decimal, dict[Decimal, Decimal]]:
    """What Fortnox will total these rows to before whole-krona rounding, and its VAT per rate."""
    by_rate: dict[Decimal, Decimal] = {}
    for row in rows:
        by_rate[row.vat] = by_rate.get(row.vat, Decimal(0)) + row.total
    vat = {rate: vat_of(amount, rate, included) for rate, amount in by_rate.items()}
    amount = sum(by_rate.values(), Decimal(0))
    return (amount if included else amount + sum(vat.values(), Decimal(0))), vat


class Refused(ValueError):
    """The order cannot become a Fortnox document as it is (the reason names the line)."""


def line_rows(line: OrderLine, description: str, article: str | None, included: bool,
              account: int | None = None) -> list[Row]:
    """Rows whose prices times quantities make exactly the line's amount (with VAT if ``included``)."""
    amount = line.gross if included else line.net
    quantity = line.quantity
    if quantity != quantity.to_integral_value() or quantity <= 1:  # what is left, the rounding row takes
        price = amount if quantity == 1 else round2(amount / quantity)
        return [Row(description, price, quantity, line.vat_rate, article, account)]
    unit = (amount / quantity).quantize(CENT, ROUND_DOWN)
    if unit * quantity == amount:
        return [Row(description, unit, quantity, line.vat_rate, article, account)]
    rest = amount - unit * (quantity - 1)
    return [Row(description, unit, quantity - 1, line.vat_rate, article, account),
            Row(description, rest, Decimal(1), line.vat_rate, article, account)]


def balance(rows: list[Row], order: Order, included: bool, rounding_account: int) -> list[Row]:
    """Rows that make Fortnox's VAT per rate the shop's, then its total the shop's.

    Only rounding is balanced: a VAT or total difference beyond an öre a line is no rounding (the
    rows or the order are wrong), and the order is refused rather than "balanced" into the books."""
    slack = CENT * (len(order.lines) + 1)
    target_vat = {rate: vat for rate, vat in order.vat_by_rate}
    _, predicted = predict(rows, included)
    moved = Decimal(0)
    for rate in sorted(set(target_vat) | set(predicted), reverse=True):
        want, got = target_vat.get(rate, Decimal(0)), predicted.get(rate, Decimal(0))
        if want == got:
            continue
        if not rate or abs(want - got) > slack:
            raise Refused(f"the shop charged {want} VAT at {rate.normalize():f} %, the rows would make Fortnox "
                          f"charge {got}: more than rounding apart, so the order was not sent")
        rows = rows + [_vat_row(rows, rate, want, included)]
        moved += rows[-1].total
    total, _ = predict(rows, included)
    left = order.total.amount - total
    if abs(left + moved) > slack:
        raise Refused(f"the rows would make Fortnox total {total}, the shop charged {order.total.amount}: more than "
                      "rounding apart, so the order was not sent")
    if left:
        rows = rows + [Row("Öresutjämning", left, Decimal(1), Decimal(0), account=rounding_account)]
    return rows


def _vat_row(rows: list[Row], rate: Decimal, want: Decimal, included: bool) -> Row:
    """The smallest row at ``rate`` that brings the rate's predicted VAT to ``want``."""
    base = sum((row.total for row in rows if row.vat == rate), Decimal(0))
    ideal = want * (100 + rate) / rate if included else want * 100 / rate
    start = round2(ideal - base)
    for step in range(0, 400):
        for delta in (start + step * CENT, start - step * CENT):
            if vat_of(base + delta, rate, included) == want and delta:
                return Row(f"Momsavrundning {rate.normalize():f} %", delta, Decimal(1), rate)
    raise Refused(f"no row at {rate} % brings Fortnox's VAT to the shop's {want}")  # pragma: no cover


def check_rates(order: Order, rates: Sequence[Decimal]) -> None:
    accepted = set(rates)
    for n, line in enumerate(order.lines, start=1):
        if line.vat_rate not in accepted:
            raise Refused(f"line {n} {line.name[:60]!r} was charged {line.vat_rate.normalize():f} % VAT, which is not one "
                          f"of the company's VAT rates in Fortnox ({', '.join(f'{r.normalize():f}' for r in rates)} %): "
                          "add the rate in Fortnox (and to vat_rates of the connection) or correct the shop's tax setup")


def totals_differ(doc: dict[str, Any], order: Order) -> str | None:
    """How the document Fortnox computed differs from what the shop charged, or None."""
    charged = order.total.amount - Decimal(str(doc.get("Total", 0))) + Decimal(str(doc.get("RoundOff", 0)))
    vat = (order.total_vat.amount if order.total_vat else Decimal(0)) - Decimal(str(doc.get("TotalVAT", 0)))
    if not charged and not vat:
        return None
    return (f"Fortnox totals the document {Decimal(str(doc.get('Total', 0))) - Decimal(str(doc.get('RoundOff', 0)))} "
            f"(VAT {doc.get('TotalVAT')}), the shop charged {order.total.amount} (VAT "
            f"{order.total_vat.amount if order.total_vat else 0}): check the document")
