"""The options the WooCommerce connector reads (see :mod:`integrations_dagster.connectors.options`).

Each field names where it is read: the shop's facts (``settings.settle``), the product and order
mappers (``mapping``) and the order reader (``client.read``). Keep this in step with the code:
``tests/test_config.py`` fails when a connector reads an option it does not declare here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import StrictBool

from integrations_dagster.connectors.options import ConnectorOptions, option
from integrations_dagster.connectors.woocommerce.mapping import STATUSES
from integrations_dagster.connectors.woocommerce.settings import MISSING_SKU

WooStatus = Literal[tuple(STATUSES)]  # type: ignore[valid-type]


class WooCommerceOptions(ConnectorOptions):
    currency: str | None = option(reads=("products", "orders"), description=(
        "the shop's currency (ISO 4217); only a check: the shop's woocommerce_currency is used"))
    prices_include_tax: StrictBool | None = option(reads=("products", "orders"), description=(
        "whether the shop's prices include VAT; only a check against woocommerce_prices_include_tax"))
    tax_rates: dict[str, Decimal] | None = option(reads=("products", "orders"), description=(
        'VAT percent per tax class slug ("" or "standard" for the standard class); checked against /taxes'))
    missing_sku: Literal[MISSING_SKU] = option("refuse", reads=("products",), writes=("stock",),  # type: ignore[valid-type]
                                               description="a product or variation without SKU: refuse or generate")
    generated_sku_prefix: str = option("WC-", reads=("products",), writes=("stock",),
                                       description="prefix of a generated SKU (missing_sku: generate)")
    statuses: list[WooStatus] = option(["processing", "completed"], reads=("orders",),
                                       description="the order statuses read from the shop")
