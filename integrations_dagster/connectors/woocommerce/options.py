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
from integrations_dagster.connectors.woocommerce.progress import DEFAULT_STATUS_MAP
from integrations_dagster.connectors.woocommerce.settings import MISSING_SKU



class WooCommerceOptions(ConnectorOptions):
    currency: str | None = option(reads=("products", "orders"), description=(
        "the shop's currency (ISO 4217); only a check: the shop's woocommerce_currency is used"))
    prices_include_tax: StrictBool | None = option(reads=("products", "orders"), description=(
        "whether the shop's prices include VAT; only a check against woocommerce_prices_include_tax"))
    tax_rates: dict[str, Decimal] | None = option(reads=("products", "orders"), description=(
        'VAT percent per tax class slug ("" or "standard" for the standard class); checked against /taxes'))
    missing_sku: Literal[MISSING_SKU] = option("refuse", reads=("products",), writes=("stock", "orders"),  # type: ignore[valid-type]
                                               description="a product or variation without SKU: refuse or generate")
    generated_sku_prefix: str = option("WC-", reads=("products",), writes=("stock", "orders"),
                                       description="prefix of a generated SKU (missing_sku: generate)")
    statuses: list[str] = option(["processing", "completed"], reads=("orders",), description=(
        "the order statuses read from the shop: core ones or the shop's own (a plugin's), checked against "
        "GET /orders/statuses"))
    new_product_status: Literal["draft", "pending", "private", "publish"] = option(
        "draft", writes=("products",), description=(
            "the status a product the ERP adds lands in (draft: for the shop team to add images and texts)"))
    status_map: dict[str, str] = option(dict(DEFAULT_STATUS_MAP), writes=("order_status",), description=(
        "what the ERP's delivered / invoiced / paid / cancelled set the shop order's status to (the status on "
        "which the order's payment captures, for delivered: completed for Klarna or Nets)"))
    mail_customer: list[str] = option([], writes=("order_status",), description=(
        "on which of these ERP states the tracking note is a customer note, mailed by the shop"))
    tracking_note: str = option("Skickad. Spårningsnummer: {tracking}", writes=("order_status",), description=(
        "the order note a tracking number follows the delivery with ({tracking} is replaced)"))
