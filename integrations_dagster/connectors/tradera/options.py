"""The options the Tradera connector reads (see :mod:`integrations_dagster.connectors.options`).

The listing settings of a Tradera connection (seed 000 steps 13–18), read by the listing writer
(:mod:`.listing`, checked against Tradera's reference data before anything is listed), and the order
reader's look-back.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from integrations_dagster.connectors.options import ConnectorOptions, option


class TraderaOptions(ConnectorOptions):
    price_list: Literal["shop", "regular"] = option("shop", writes=("products",), description=(
        "step 13: the prices listed — shop: what the shop charges now (its sale price while on sale), regular: "
        "the regular price; with price_markup_percent an own Tradera price list"))
    price_markup_percent: Decimal = option(Decimal(0), writes=("products",), description=(
        "an own Tradera price list: the shop's price plus this percent (a marketplace's fee), then rounded"))
    description: Literal["long", "short"] = option("long", writes=("products",), description=(
        "step 14: which of the shop's two texts becomes the Tradera description (the other when it is empty)"))
    condition: Literal["new", "used"] = option("new", writes=("products",), description=(
        "step 15: items are listed as new (Ny) or used (Begagnad) — one of them, never both"))
    region: Literal["sweden", "eu", "international"] = option("sweden", writes=("products",), description=(
        "step 16: who may buy (Tradera's accepted buyers: 1 Sweden, 4 EU, 3 International)"))
    shipping: list[dict] = option([], writes=("products",), description=(
        "step 17: up to two shipping options with their prices, e.g. [{option: 12, cost: 49}] (ids from "
        "Tradera's shippingTypes; a third only when one is Pickup, id 8); the same for every item"))
    payment_options: list[int] = option([], writes=("products",), description=(
        "step 18: Tradera's payment type ids offered (from its paymentTypes); Klarna only once Tradera "
        "has switched it on for the shop"))
    category: int | None = option(writes=("products",), description=(
        "the Tradera category id items are listed in (GET /v4/categories); required to list"))
    untracked_quantity: int = option(1, writes=("products",), description=(
        "the quantity listed for a product whose stock the shop does not count"))
    orders_days_back: int = option(30, reads=("orders",), description=(
        "a full read of orders (the first, the reconcile) asks for those updated in this many days"))
