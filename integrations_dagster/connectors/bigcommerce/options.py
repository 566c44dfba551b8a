"""The options the BigCommerce connector reads (see :mod:`integrations_dagster.connectors.options`)."""

from __future__ import annotations

from pydantic import StrictBool

from integrations_dagster.connectors.options import ConnectorOptions, option


class BigCommerceOptions(ConnectorOptions):
    prices_include_tax: StrictBool = option(True, writes=("products",), description=(
        "whether the store's catalog prices include VAT (BigCommerce: Settings › Tax › Tax display); "
        "VAT-inclusive source prices are converted to net when it is false"))
    # Fixed at the first sync, as seed 004 has it: "Enda sättet att ändra den här inställningen är att
    # koppla från integrationen och ansluta den igen".
    sync_prices: StrictBool = option(True, writes=("products",), fixed=True, description=(
        "write prices; false, or a source currency other than the store's, lands products with price 0; "
        "fixed at the first sync (changing it: disconnect and connect again)"))
    landing_category: str = option("Zettle", writes=("products",), description=(
        "top-level category new products land in, hidden, until the merchant publishes them"))
