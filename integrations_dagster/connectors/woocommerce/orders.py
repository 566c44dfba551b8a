"""What a WooCommerce order charged, read from the order's own tax data (no rate is guessed).

WooCommerce keeps every line, fee and shipping amount without VAT and the VAT of each per tax rate
(``taxes[]`` by rate id); the order's ``tax_lines`` name each rate id with its ``rate_percent`` and
its VAT on goods and fees (``tax_total``) and on shipping (``shipping_tax_total``); ``total`` is what
the customer paid [source: woocommerce abstract-wc-order.php calculate_totals/update_taxes,
class-wc-order-item-tax.php; doc: orders.md]. So:

* a line's VAT rate is the ``rate_percent`` of the rate its VAT was charged at — never its VAT
  divided by its amount, never rounded to a whole percent; a line without VAT is at 0 %;
* shipping is a line (or one per rate, when a plugin split its VAT over the goods' rates — its net
  split follows the VAT of each rate), each fee a line;
* the order's VAT per rate is its ``tax_lines`` (the authority: a checkout can round a shipping line's
  VAT one öre apart from the order's); what the shop's rounding leaves between the lines and
  ``total`` (round-at-subtotal, fees of more decimals) becomes a ``rounding`` line, so the lines add up.

Amounts are read as WooCommerce formats them (``dp`` = the shop's decimals).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from integrations_dagster.model import Money, OrderLine, RecordError, to_decimal
from integrations_dagster.model.text import shown

CENT = Decimal("0.01")


def _decimal(value: Any, what: str) -> Decimal:
    try:
        return to_decimal(value, what)
    except ValueError as exc:
        raise RecordError(str(exc)) from None


def _stored(value: Any, what: str) -> Decimal:
    """A per-rate amount of ``taxes[]``: WooCommerce emits it as stored, with up to 6 decimals."""
    try:
        amount = Decimal(str(value).strip() or "0")
    except ArithmeticError:
        raise RecordError(f"{what} {shown(value)} is not a number") from None
    if not amount.is_finite() or -amount.as_tuple().exponent > 6:
        raise RecordError(f"{what} {shown(value)} is not an amount")
    return amount


class Rates:
    """Rate id -> VAT percent: the order's ``tax_lines``, else the shop's ``/taxes`` (``prepare``)."""

    def __init__(self, raw: dict, options: dict[str, Any]) -> None:
        self.percent: dict[str, Decimal] = {str(k): _decimal(v, "tax rate") for k, v in
                                            (options.get("tax_rate_by_id") or {}).items()}
        self.vat: dict[Decimal, Decimal] = {}
        for line in raw.get("tax_lines") or []:
            rate_id = str(line.get("rate_id"))
            if line.get("rate_percent") is not None:
                self.percent[rate_id] = _decimal(line["rate_percent"], f"rate_percent of tax line {rate_id}")
            if rate_id not in self.percent:
                raise RecordError(f"tax line {line.get('label', rate_id)!r} (rate id {rate_id}) has no rate_percent "
                                  "and the shop's /taxes has no such rate: its VAT rate is unknown")
            rate = self.percent[rate_id]
            amount = _decimal(line.get("tax_total") or 0, "tax_total") + \
                _decimal(line.get("shipping_tax_total") or 0, "shipping_tax_total")
            self.vat[rate] = self.vat.get(rate, Decimal(0)) + amount

    def reconcile(self, total_vat: Decimal) -> None:
        """Make the VAT per rate add up to the order's ``total_tax``. A shop rounding tax at subtotal
        rounds each rate's sum and the total apart, so they may differ by an öre a rate: that öre goes
        to the rate with the most VAT. More than that is not rounding, and the order is refused."""
        left = total_vat - sum(self.vat.values(), Decimal(0))
        if not left:
            return
        if not self.vat or abs(left) > CENT * len(self.vat):
            raise RecordError(f"the order's tax lines add up to {total_vat - left} VAT, not its total_tax {total_vat}")
        largest = max(self.vat, key=lambda rate: (self.vat[rate], rate))
        self.vat[largest] += left

    def of(self, rate_id: Any, label: str) -> Decimal:
        if str(rate_id) not in self.percent:
            raise RecordError(f"{label}: VAT was charged at rate id {rate_id}, which the order's tax lines do not name")
        return self.percent[str(rate_id)]

    def charged(self, raw_taxes: list, label: str) -> list[tuple[Decimal, Decimal]]:
        """(rate, VAT) of each rate an item's ``taxes[]`` charged (zero amounts left out)."""
        out = []
        for tax in raw_taxes or []:
            amount = _stored(tax.get("total") or 0, f"{label} tax")
            if amount:
                out.append((self.of(tax.get("id"), label), amount))
        return out


def lines(raw: dict, rates: Rates, source_id_of) -> list[OrderLine]:
    out = [_item(n, li, rates, source_id_of) for n, li in enumerate(raw.get("line_items") or [], start=1)]
    for n, ship in enumerate(raw.get("shipping_lines") or [], start=1):
        out += _shipping(n, ship, rates)
    for n, fee in enumerate(raw.get("fee_lines") or [], start=1):
        label = f"fee {n} {shown(fee.get('name', ''))}"
        net = _decimal(fee.get("total"), f"{label} total")
        charged = rates.charged(fee.get("taxes"), label)
        rate = _one_rate(charged, label)
        out.append(OrderLine(kind="fee", name=str(fee.get("name") or "Avgift"), net=net,
                             vat=_decimal(fee.get("total_tax") or 0, f"{label} total_tax"), vat_rate=rate))
    return out


def _one_rate(charged: list[tuple[Decimal, Decimal]], label: str) -> Decimal:
    found = {rate for rate, _ in charged}
    if len(found) > 1:
        raise RecordError(f"{label} was taxed at several rates ({', '.join(map(str, sorted(found)))} %), "
                          "which one line cannot carry")
    return found.pop() if found else Decimal(0)


def _item(n: int, raw: dict, rates: Rates, source_id_of) -> OrderLine:
    label = f"line {n} {shown(raw.get('name', ''))}"
    quantity = _decimal(raw.get("quantity"), f"{label} quantity")
    if quantity <= 0:
        raise RecordError(f"{label} has quantity {quantity}")
    net = _decimal(raw.get("total"), f"{label} total")
    subtotal = _decimal(raw.get("subtotal") or raw.get("total"), f"{label} subtotal")
    sku = raw.get("sku")
    return OrderLine(
        kind="item", sku=(sku.strip() or None) if isinstance(sku, str) else None,
        name=str(raw.get("name") or sku or f"line {n}"), quantity=quantity, net=net,
        vat=_decimal(raw.get("total_tax") or 0, f"{label} total_tax"),
        vat_rate=_one_rate(rates.charged(raw.get("taxes"), label), label),
        discount=max(subtotal - net, Decimal(0)), source_product_id=source_id_of(raw),
    )


def _shipping(n: int, raw: dict, rates: Rates) -> list[OrderLine]:
    """A shipping line, split by the rates its VAT was charged at: each rate's share of the amount
    follows from its VAT (VAT / rate, to the öre; rounding folds into the largest share); a part
    that carried no VAT (a share at 0 %, an untaxed method) is a 0 % line of its own."""
    label = f"shipping {n} {shown(raw.get('method_title', ''))}"
    net = _decimal(raw.get("total"), f"{label} total")
    name = str(raw.get("method_title") or raw.get("method_id") or "Frakt")
    charged = sorted(rates.charged(raw.get("taxes"), label), reverse=True)
    shares = [((vat * 100 / rate).quantize(CENT, ROUND_HALF_UP), rate, vat) for rate, vat in charged if rate]
    rest = net - sum((share for share, _, _ in shares), Decimal(0))
    if shares and abs(rest) <= CENT * len(shares):
        share, rate, vat = shares[0]
        shares[0], rest = (share + rest, rate, vat), Decimal(0)
    several = len(shares) + bool(rest) > 1
    parts = [OrderLine(kind="shipping", name=f"{name} ({rate.normalize():f} %)" if several else name, net=share,
                       vat=vat.quantize(CENT, ROUND_HALF_UP), vat_rate=rate) for share, rate, vat in shares]
    if rest or not parts:
        parts.append(OrderLine(kind="shipping", name=f"{name} (0 %)" if several else name, net=rest))
    return parts


def rounding_line(lines_: list[OrderLine], total: Money, vat: Decimal) -> OrderLine | None:
    """What the shop's rounding leaves between its lines (net) plus its VAT and its total."""
    left = total.amount - sum((line.net for line in lines_), Decimal(0)) - vat
    if not left:
        return None
    if abs(left) > Decimal("1.00"):
        raise RecordError(f"the order's lines and VAT add up to {total.amount - left}, not its total {total.amount} "
                          "(a refund or an edit the REST answer does not show?)")
    return OrderLine(kind="rounding", name="Öresutjämning", net=left)
