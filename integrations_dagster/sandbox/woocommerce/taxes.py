"""The shop's tax setup and WooCommerce's order arithmetic, as its source computes them.

Store setup (answered by ``/settings/general``, ``/settings/tax``, ``/taxes``, ``/taxes/classes``):
a Swedish shop in SEK, prices entered including VAT, tax classes Standard 25 %, Reduced rate 12 %,
Super reduced rate 6 % and Zero rate 0 %, each a rate for SE marked for shipping too.

The arithmetic follows an order created through the REST API (``WC_Abstract_Order::calculate_totals``
after ``recalculate_coupons``) [source: woocommerce/woocommerce plugins/woocommerce/includes/
abstracts/abstract-wc-order.php, class-wc-tax.php, class-wc-discounts.php, class-wc-order-item-*.php,
wc-core-functions.php, wc-formatting-functions.php, rest-api/.../class-wc-rest-orders-v2-controller.php]:

* every line, fee and shipping amount is stored **excluding** VAT, at up to 6 decimals
  (``WC_ROUNDING_PRECISION``); a product line's amount is ``qty × price`` less the VAT in it when
  prices include VAT (``wc_get_price_excluding_tax``); tax of an amount is ``amount × rate``
  (``calc_exclusive_tax``), rounded to 6 decimals half up;
* a line's ``total_tax`` is each rate's tax rounded to 2 decimals — **half down** when the shop
  enters prices with VAT, half up otherwise (``WC_TAX_ROUNDING_MODE``) — unless "round at
  subtotal" is on; ``cart_tax`` is the lines' and fees' rounded taxes per rate, ``shipping_tax`` the
  shipping lines', ``total_tax`` their sum rounded; ``total`` is the sum of the lines' totals (each to
  the cent), fees, shipping, ``cart_tax`` and ``shipping_tax``, rounded to the cent;
* shipping takes one tax class: with ``inherit``, Standard when any taxable line is Standard, else
  the first configured class (by name) among the lines, else no tax;
* coupons apply before tax, on the lines' prices including VAT when prices include it: a percentage
  is floored per line and the remaining cents handed out one per unit; a fixed cart amount is split
  per unit (floored) and repeated with what is left; a fixed product amount is per unit; the VAT part
  of a discount is worked out inclusively;
* ``taxes[]`` of an item are the unrounded per-rate amounts as stored (``"0.9"``, ``"5.346429"``);
  REST formats the money fields with ``dp`` (the shop's decimals unless asked) and gives ``price`` as
  ``total / quantity``, unrounded, a JSON number.

GUESSES (kept here): negative fees, compound rates and sequential coupons are not emulated (refused
with a sandbox message); the ``se_vat_shipping_proportional`` setting stands for a Swedish VAT plugin
that splits shipping VAT over the goods' rates in proportion to their net amounts (Skatteverket's
rule; WooCommerce core never splits) — each share taxed like a shipping line of its class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

SIX = Decimal("0.000001")
CENT = Decimal("0.01")
ONE = Decimal(1)


@dataclass(frozen=True)
class Rate:
    id: int
    rate: Decimal
    name: str
    tax_class: str  # "" = standard
    shipping: bool = True
    country: str = "SE"
    priority: int = 1

    def code(self) -> str:
        """COUNTRY-STATE-NAME-PRIORITY, empty parts dropped, upper case (``WC_Tax::get_rate_code``)."""
        return "-".join(p for p in (self.country, "", self.name, str(self.priority) if self.priority else "") if p).upper()


# (slug, name) in WooCommerce's order: Standard first, then by name (``WC_Tax::get_tax_class_slugs``).
TAX_CLASSES = (("", "Standard rate"), ("reduced-rate", "Reduced rate"),
               ("super-reduced-rate", "Super reduced rate"), ("zero-rate", "Zero rate"))
RATES = (Rate(1, Decimal(25), "Moms", ""), Rate(2, Decimal(12), "Moms 12%", "reduced-rate"),
         Rate(3, Decimal(6), "Moms 6%", "super-reduced-rate"), Rate(4, Decimal(0), "Momsfri", "zero-rate"))


def default_settings() -> dict[str, str]:
    """The store's options as ``/settings/general`` and ``/settings/tax`` answer them ("yes"/"no")."""
    return {"woocommerce_currency": "SEK", "woocommerce_price_num_decimals": "2",
            "woocommerce_default_country": "SE", "woocommerce_calc_taxes": "yes",
            "woocommerce_prices_include_tax": "yes", "woocommerce_tax_based_on": "shipping",
            "woocommerce_shipping_tax_class": "inherit", "woocommerce_tax_round_at_subtotal": "no",
            "woocommerce_tax_classes": "", "se_vat_shipping_proportional": "no"}


def r(value: Decimal, places: int = 2, mode: str = ROUND_HALF_UP) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=mode)


def stored(value: Decimal) -> str:
    """A float as WooCommerce stores it: 6 decimals, trailing zeros trimmed ("0.9", "44.553571")."""
    text = format(r(value, 6).normalize(), "f")
    return "0" if text in ("-0", "") else text


def money(value: Decimal, dp: int) -> str:
    """REST's ``wc_format_decimal($v, dp)``: ``number_format`` to ``dp`` decimals, half up."""
    return format(r(value, dp), "f")


@dataclass
class Setup:
    prices_include_tax: bool  # the order's (copied from the store when created)
    store_prices_include_tax: bool  # the store's now: picks the tax rounding mode
    round_at_subtotal: bool
    shipping_tax_class: str  # "inherit" or a slug
    proportional_shipping: bool
    country: str  # where the order is taxed
    base_country: str = "SE"  # the shop's: its rates come out of prices entered with VAT

    @property
    def tax_mode(self) -> str:
        return ROUND_HALF_DOWN if self.store_prices_include_tax else ROUND_HALF_UP

    def rates(self, tax_class: str, shipping: bool = False, country: str | None = None) -> list[Rate]:
        return [x for x in RATES if x.tax_class == tax_class and x.country == (country or self.country)
                and (x.shipping or not shipping)]

    def line_tax(self, value: Decimal) -> Decimal:
        """``round_line_tax``: a rate's tax of one item to the cent, unless rounding at subtotal."""
        return value if self.round_at_subtotal else r(value, 2, self.tax_mode)


def exclusive(amount: Decimal, rates: list[Rate]) -> dict[int, Decimal]:
    return {x.id: r(amount * x.rate / 100, 6) for x in rates}


def inclusive(amount: Decimal, rates: list[Rate]) -> dict[int, Decimal]:
    total_rate = 1 + sum((x.rate for x in rates), Decimal(0)) / 100
    return {x.id: r(amount * (x.rate / 100) / total_rate, 6) for x in rates}


@dataclass
class Item:
    """A line, fee or shipping item while the order is computed."""

    kind: str  # "line" | "fee" | "shipping"
    tax_class: str
    taxable: bool
    quantity: int = 1
    subtotal: Decimal = Decimal(0)
    total: Decimal = Decimal(0)
    taxes: dict[int, Decimal] = field(default_factory=dict)
    subtotal_taxes: dict[int, Decimal] = field(default_factory=dict)

    def tax(self, setup: Setup, which: str = "total") -> Decimal:
        taxes = self.taxes if which == "total" else self.subtotal_taxes
        return sum((setup.line_tax(t) for t in taxes.values()), Decimal(0))


class SandboxLimit(ValueError):
    """Something WooCommerce does that this sandbox does not emulate (the request is refused)."""


def line_amount(price: Decimal, quantity: int, tax_class: str, taxable: bool, setup: Setup) -> Decimal:
    """``wc_get_price_excluding_tax``: the line's amount without VAT, 6 decimals, unrounded to cents.
    The VAT taken out of a price entered with VAT is the *shop's* (``woocommerce_adjust_non_base_
    location_prices``, default true): a customer abroad pays the price without Swedish VAT."""
    gross = price * quantity
    if not setup.prices_include_tax or not taxable:
        return gross
    return gross - sum(inclusive(gross, setup.rates(tax_class, country=setup.base_country)).values(), Decimal(0))


def apply_coupons(lines: list[Item], coupons: list[dict], setup: Setup) -> list[tuple[dict, Decimal, Decimal]]:
    """``WC_Discounts`` on the lines (non-sequential); returns ``(coupon, discount, discount_tax)``."""
    order = sorted(range(len(lines)), key=lambda i: -_price_cents(lines[i], setup))
    left = {i: _price_cents(lines[i], setup) for i in order}  # cents still discountable per line
    per_line: dict[int, Decimal] = {i: Decimal(0) for i in order}
    results = []
    for coupon in coupons:
        kind, amount = coupon["discount_type"], Decimal(coupon["amount"])
        given = {i: Decimal(0) for i in order}
        if kind == "percent":
            for i in order:
                d = min(left[i], (r(_price_cents(lines[i], setup), 0) * amount / 100).to_integral_value(ROUND_FLOOR))
                given[i] += d
                left[i] -= d
            wanted = r(sum((_price_cents(lines[i], setup) for i in order), Decimal(0)) * amount / 100, 0,
                       ROUND_HALF_DOWN)
            _remainder(lines, order, left, given, wanted - sum(given.values()))
        elif kind == "fixed_cart":
            _fixed_cart(lines, order, left, given, r(amount * 100, 0))
        elif kind == "fixed_product":
            for i in order:
                d = min(left[i], r(amount * 100, 0) * lines[i].quantity)
                given[i] += d
                left[i] -= d
        else:
            raise SandboxLimit(f"coupon type {kind!r} is not emulated")
        discount = tax = Decimal(0)
        for i, cents in given.items():
            if not cents:
                continue
            d = cents / 100
            per_line[i] += d
            taxes = sum(_inclusive_or_not(d, lines[i], setup).values(), Decimal(0))
            tax += taxes if setup.round_at_subtotal else r(taxes, 2, setup.tax_mode)
            discount += d
        results.append((coupon, discount - tax if setup.prices_include_tax else discount, tax))
    for i, d in per_line.items():  # set_item_discount_amounts
        line = lines[i]
        if setup.prices_include_tax and line.taxable:
            d -= sum(inclusive(d, setup.rates(line.tax_class)).values(), Decimal(0))
        line.total = max(Decimal(0), line.total - d)
    return results


def _inclusive_or_not(amount: Decimal, line: Item, setup: Setup) -> dict[int, Decimal]:
    if not line.taxable:
        return {}
    rates = setup.rates(line.tax_class)
    return inclusive(amount, rates) if setup.prices_include_tax else exclusive(amount, rates)


def _price_cents(line: Item, setup: Setup) -> Decimal:
    """A line's price to discount, in cents: its subtotal, with its VAT when prices include VAT."""
    price = line.subtotal * 100
    if setup.prices_include_tax:
        price += line.tax(setup, "subtotal") * 100
    return price


def _remainder(lines: list[Item], order: list[int], left: dict, given: dict, cents: Decimal) -> None:
    """``apply_coupon_remainder``: what rounding left, one cent per unit in the lines' order."""
    while cents > 0:
        moved = False
        for i in order:
            for _ in range(lines[i].quantity):
                if cents <= 0 or left[i] < 1:
                    break
                given[i] += 1
                left[i] -= 1
                cents -= 1
                moved = True
        if not moved:
            return


def _fixed_cart(lines: list[Item], order: list[int], left: dict, given: dict, cents: Decimal) -> None:
    while cents > 0:
        units = sum(lines[i].quantity for i in order if left[i] >= 1)
        if not units:
            return
        per_unit = (cents / units).to_integral_value(ROUND_DOWN)
        if per_unit < 1:
            _remainder(lines, order, left, given, cents)
            return
        for i in order:
            d = min(left[i], per_unit * lines[i].quantity)
            given[i] += d
            left[i] -= d
            cents -= d


def shipping_class(lines: list[Item], setup: Setup) -> str | None:
    """The class shipping is taxed at (order recalculation's rule for ``inherit``)."""
    if setup.shipping_tax_class != "inherit":
        return setup.shipping_tax_class
    found = [x.tax_class for x in lines if x.taxable]
    for slug, _name in TAX_CLASSES:
        if slug in found:
            return slug
    return None


def tax_everything(lines: list[Item], fees: list[Item], shipping: list[Item], setup: Setup) -> None:
    """``calculate_taxes``: lines and fees at their class, shipping at one class (or split)."""
    for item in lines + fees:
        rates = setup.rates(item.tax_class) if item.taxable else []
        item.taxes = exclusive(item.total, rates)
        item.subtotal_taxes = exclusive(item.subtotal, rates) if item.kind == "line" else {}
    chosen = shipping_class(lines, setup)
    for item in shipping:
        if setup.proportional_shipping and chosen is not None:
            item.taxes = _proportional(item.total, lines, setup)
        else:
            item.taxes = exclusive(item.total, setup.rates(chosen, shipping=True)) if chosen is not None else {}


def _proportional(amount: Decimal, lines: list[Item], setup: Setup) -> dict[int, Decimal]:
    bases: dict[str, Decimal] = {}
    for x in lines:
        if x.taxable:
            bases[x.tax_class] = bases.get(x.tax_class, Decimal(0)) + x.total
    whole = sum(bases.values(), Decimal(0))
    taxes: dict[int, Decimal] = {}
    for slug, base in bases.items():
        share = amount * base / whole if whole else Decimal(0)
        for rate_id, tax in exclusive(share, setup.rates(slug, shipping=True)).items():
            taxes[rate_id] = taxes.get(rate_id, Decimal(0)) + tax
    return taxes


def totals(lines: list[Item], fees: list[Item], shipping: list[Item], setup: Setup) -> dict[str, Any]:
    """``update_taxes`` + ``calculate_totals``: the order's money (Decimal) and its tax lines."""
    cart_taxes: dict[int, Decimal] = {}
    shipping_taxes: dict[int, Decimal] = {}
    for item in lines + fees:
        for rate_id, tax in item.taxes.items():
            cart_taxes[rate_id] = cart_taxes.get(rate_id, Decimal(0)) + setup.line_tax(tax)
    for item in shipping:
        for rate_id, tax in item.taxes.items():
            shipping_taxes[rate_id] = shipping_taxes.get(rate_id, Decimal(0)) + setup.line_tax(tax)
    cart_tax = sum(cart_taxes.values(), Decimal(0))
    shipping_tax = sum(shipping_taxes.values(), Decimal(0))

    def cents_sum(values) -> Decimal:
        return sum((v if setup.round_at_subtotal else r(v) for v in values), Decimal(0))

    cart_subtotal, cart_total = cents_sum(x.subtotal for x in lines), cents_sum(x.total for x in lines)
    shipping_total = sum((r(x.total) for x in shipping), Decimal(0))
    fees_total = sum((x.total for x in fees), Decimal(0))
    subtotal_taxes = sum((t for x in lines for t in x.subtotal_taxes.values()), Decimal(0))
    total_taxes = sum((t for x in lines for t in x.taxes.values()), Decimal(0))
    return {
        "discount_total": r(cart_subtotal - cart_total), "discount_tax": r(subtotal_taxes - total_taxes, 2, setup.tax_mode),
        "shipping_total": shipping_total, "shipping_tax": shipping_tax, "cart_tax": cart_tax,
        "total_tax": r(cart_tax + shipping_tax),
        "total": r(cart_total + fees_total + shipping_total + cart_tax + shipping_tax),
        "cart_taxes": cart_taxes, "shipping_taxes": shipping_taxes,
    }


def tax_lines(cart_taxes: dict[int, Decimal], shipping_taxes: dict[int, Decimal], dp: int) -> list[dict]:
    out = []
    for rate in RATES:
        if rate.id in cart_taxes or rate.id in shipping_taxes:
            out.append({"rate_code": rate.code(), "rate_id": rate.id, "label": rate.name, "compound": False,
                        "tax_total": cart_taxes.get(rate.id, Decimal(0)),
                        "shipping_tax_total": shipping_taxes.get(rate.id, Decimal(0)),
                        "rate_percent": float(rate.rate) if rate.rate != rate.rate.to_integral_value()
                        else int(rate.rate), "meta_data": []})
    return out
