"""The options the Specter connector reads (see :mod:`integrations_dagster.connectors.options`).

Read by the order exporter (``exporter.OrderExporter``), the feed reader (``client.read_batch``) and the
product mapper (``mapper.product``). ``tests/test_config.py`` fails when the code reads an option that is
not declared here, or declares one it never reads.
"""

from __future__ import annotations

from typing import Literal

from pydantic import StrictBool

from integrations_dagster.connectors.options import ConnectorOptions, option


class SpecterOptions(ConnectorOptions):
    webshop_id: int | None = option(writes=("orders",), description=(
        "multishop: the Specter webshop orders are registered in (webshopId; needs API v2, i.e. the "
        "connection's integration_key)"))
    stock_site_id: int | None = option(writes=("orders",), description=(
        "the stock site orders reserve from (stocksiteid); default: the account's default site"))
    shipping_article: str = option("", writes=("orders",), description=(
        "article number of freight rows (e.g. FRAKT); empty: a free-text row named as the shipping method"))
    discount_article: str = option("", writes=("orders",), description=(
        "article number of discount rows (e.g. RABATT); empty: a free-text row \"Rabatt\""))
    lines_without_article: Literal["row", "refuse"] = option("row", writes=("orders",), description=(
        "an order line whose SKU cannot be an article number: a free-text row, or refuse the order"))
    update_customers: StrictBool = option(False, writes=("orders",), description=(
        "update a matched customer with the order's address (forceCustomerUpdate); default: Specter's "
        "customer register is left as it is"))
    all_stock_sites: StrictBool = option(False, reads=("stock",), description=(
        "stock is the sum over every stock site (getMultipleStocksites); default: the default site's"))
    currency: str = option("SEK", reads=("products",), description="the currency of Specter's article prices")
    vat_rate: float = option(25, reads=("products",), description=(
        "VAT percent of an article the feed gives none for"))
