"""The options the Fortnox connector reads (see :mod:`integrations_dagster.connectors.options`).

Each field names where it is read: the stock mapper (``client.to_canonical``) and the article and
document writers (``client.write``). Keep this in step with the code: ``tests/test_config.py`` fails
when a connector reads an option it does not declare here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import StrictBool

from integrations_dagster.connectors.fortnox.client import DOCUMENTS
from integrations_dagster.connectors.options import ConnectorOptions, option


class FortnoxOptions(ConnectorOptions):
    location: str = option("default", reads=("stock",), description="the stock location the levels are of")
    document: Literal[tuple(DOCUMENTS)] = option("order", writes=("orders",),  # type: ignore[valid-type]
                                                 description="what an order becomes in Fortnox: order or invoice")
    vat_included: StrictBool | None = option(writes=("orders",), description=(
        "whether document rows carry prices with VAT (default: as the shop's order has them)"))
    lines_without_article: Literal["row", "refuse"] = option("row", writes=("orders",), description=(
        "an order line whose SKU has no article: a row without article, or refuse the order"))
    cost_center: str | None = option(writes=("orders",), description=(
        "the cost centre (kostnadsställe) of this shop's orders and invoices: multishop, a result unit per shop"))
    project: str | None = option(writes=("orders",), description="the project of this shop's orders and invoices")
    customer_numbers: Literal["erp", "shop"] = option("erp", writes=("orders",), description=(
        "who numbers a new customer: erp (Fortnox's own series) or shop (the shop's customer id; a guest "
        "still gets Fortnox's) — seed 001: 'Ska e-handelssystemet eller ekonomisystemet styra kundnummer?'"))
    customer_number_prefix: str = option("", writes=("orders",), description=(
        "with customer_numbers: shop, before the shop's id ('W' gives W1042), so that a number of Fortnox's "
        "own series (a guest's) is never the same"))
    match_customers_by: list[Literal["email", "org_number", "customer_number"]] = option(
        ["email", "customer_number"], writes=("orders",), description=(
            "how an order's customer is found among Fortnox's before one is created, in this order"))
    price_list: str | None = option(reads=("products",), description=(
        "the price list whose price is the shop's regular price, for this flow (default: the connection's "
        "price_list) — multishop, a list per shop"))
    sale_price_list: str | None = option(reads=("products",), description=(
        "a second price list whose price is the shop's sale price (WooCommerce has a regular and a sale price "
        "only; the connection's price_list is the regular one)"))
    price_list_includes_vat: StrictBool = option(False, reads=("products",), writes=("products",), description=(
        "whether the price list's prices include VAT"))
