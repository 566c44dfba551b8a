"""What the shop says about itself: its currency, whether its prices include VAT, its tax rates.

Read once per run from WooCommerce's own REST answers [doc: _setting-options.md, _taxes.md,
_tax-classes.md; source: the setting-options and taxes controllers]: ``/settings/general``
(``woocommerce_currency``, ``woocommerce_default_country``), ``/settings/tax``
(``woocommerce_prices_include_tax`` "yes"/"no") and ``/taxes`` (rate per class as text with 4
decimals, "standard" for the standard class). The rate of a class is the shop's rate for its base
country (or for any country).

The YAML's ``currency``, ``prices_include_tax`` and ``tax_rates`` only override: a value that
contradicts the shop is an error naming the option, because a product priced on the wrong
convention or rate reaches the ERP wrong on every line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations_dagster.config import ConfigError

OPTIONS = ("currency", "prices_include_tax", "tax_rates")
MISSING_SKU = ("refuse", "generate")


@dataclass(frozen=True)
class ShopFacts:
    currency: str
    prices_include_tax: bool
    tax_rates: dict[str, Decimal]  # class slug ("" standard) -> percent, at the shop's base country
    tax_rate_by_id: dict[str, Decimal] = field(default_factory=dict)  # rate id -> percent (all countries)
    country: str = ""

    def describe(self) -> str:
        rates = ", ".join(f"{slug or 'standard'} {rate.normalize():f} %" for slug, rate in self.tax_rates.items())
        return (f"currency {self.currency}, prices {'include' if self.prices_include_tax else 'exclude'} VAT, "
                f"tax rates {rates or 'none'}")


def read(http) -> ShopFacts:
    general = {s["id"]: s.get("value") for s in http.get("/settings/general")}
    tax = {s["id"]: s.get("value") for s in http.get("/settings/tax")}
    country = str(general.get("woocommerce_default_country") or "").split(":")[0].upper()
    rates: dict[str, Decimal] = {}
    by_id: dict[str, Decimal] = {}
    page = 1
    while True:
        resp = http.request("GET", "/taxes", params={"per_page": 100, "page": page})
        for rate in resp.json():
            percent = _percent(rate.get("rate"))
            by_id[str(rate.get("id"))] = percent
            slug = "" if rate.get("class") in (None, "", "standard") else str(rate["class"])
            if rate.get("country") in ("", country) and (slug not in rates or rate.get("country") == country):
                rates[slug] = percent
        if page >= int(resp.headers.get("X-WP-TotalPages") or 1):
            break
        page += 1
    return ShopFacts(currency=str(general.get("woocommerce_currency") or ""),
                     prices_include_tax=tax.get("woocommerce_prices_include_tax") == "yes",
                     tax_rates=rates, tax_rate_by_id=by_id, country=country)


def check_statuses(http, statuses: list[str] | None, connection: str) -> None:
    """The flow's ``statuses`` must be statuses the shop has: core's or its plugins' own
    (``GET /orders/statuses``, from ``wc_get_order_statuses()`` [source: woocommerce
    Internal/Orders/OrderStatusRestController]). A shop too old for that route is not asked."""
    if not statuses:
        return
    resp = http.request("GET", "/orders/statuses", expect=(404,))
    if resp.status_code == 404:
        return
    known = [str(s.get("slug")) for s in resp.json()]
    unknown = [s for s in statuses if s not in known]
    if unknown:
        raise ConfigError(f"options.statuses: {', '.join(map(repr, unknown))} is not a status of the shop "
                          f"{connection} (it has: {', '.join(known)})")


def _percent(value: Any) -> Decimal:
    try:
        return Decimal(str(value)).normalize()
    except InvalidOperation:
        raise ConfigError(f"the shop's /taxes gives a rate {value!r} that is not a number") from None


def settle(options: dict[str, Any], facts: ShopFacts, connection: str) -> dict[str, Any]:
    """The options to read with: the shop's facts, the YAML's where it only adds; a contradiction raises."""
    where = f"connections.{connection}.options"
    if options.get("missing_sku", "refuse") not in MISSING_SKU:
        raise ConfigError(f"{where}.missing_sku: {options['missing_sku']!r} is not one of {', '.join(MISSING_SKU)}")
    if "currency" in options and str(options["currency"]).upper() != facts.currency.upper():
        raise ConfigError(f"{where}.currency: {options['currency']!r}, but the shop's currency is {facts.currency!r} "
                          "(WooCommerce setting woocommerce_currency): remove the option or correct it")
    if "prices_include_tax" in options and bool(options["prices_include_tax"]) != facts.prices_include_tax:
        raise ConfigError(f"{where}.prices_include_tax: {options['prices_include_tax']}, but the shop enters prices "
                          f"{'with' if facts.prices_include_tax else 'without'} VAT (WooCommerce setting "
                          "woocommerce_prices_include_tax): remove the option or correct it")
    for slug, given in (options.get("tax_rates") or {}).items():
        slug = "" if slug in (None, "standard") else str(slug)
        shop_rate = facts.tax_rates.get(slug)
        if shop_rate is None:
            raise ConfigError(f"{where}.tax_rates: the shop has no tax class {slug or 'standard'!r} with a rate for "
                              f"{facts.country or 'its country'} (its classes: "
                              f"{', '.join(s or 'standard' for s in facts.tax_rates) or 'none'})")
        if _percent(given) != shop_rate:
            raise ConfigError(f"{where}.tax_rates.{slug or 'standard'}: {given} %, but the shop's rate is "
                              f"{shop_rate:f} % (WooCommerce /taxes): remove the option or correct it")
    return {**options, "currency": facts.currency, "prices_include_tax": facts.prices_include_tax,
            "tax_rates": {**{k: str(v) for k, v in facts.tax_rates.items()}, **(options.get("tax_rates") or {})},
            "tax_rate_by_id": {k: str(v) for k, v in facts.tax_rate_by_id.items()}}
