"""The options the Shopbox connector reads (see :mod:`integrations_dagster.connectors.options`):
the mapper's currency (``client.to_canonical``), the stock writer's branches (``client.write``) and the
product writer's tags (``products.ProductWriter``)."""

from __future__ import annotations

from integrations_dagster.connectors.options import ConnectorOptions, option


class ShopboxOptions(ConnectorOptions):
    currency: str = option("DKK", reads=("products", "orders"), writes=("products",), description=(
        "the shop's currency where an answer names none (Shopbox's amounts are øre of it); a price in another "
        "is refused, not converted"))
    branches: dict[str, str] = option({}, writes=("stock",), description=(
        "the source's stock location -> the Shopbox branch uid it counts for (seed 003: a Rackbeat location "
        "per Shopbox register)"))
    main_branch: str | None = option(writes=("stock",), description=(
        "the branch a location without a mapping counts for (seed 003: 'Hovedlager i Shopbox')"))
    tags: dict[str, str] = option({}, writes=("products",), description=(
        "the source's category -> the Shopbox tag (category) name a product of it gets; a category not "
        "named here is a tag of its own name (created when the shop has none)"))
    default_tag: str | None = option(writes=("products",), description=(
        "the Shopbox tag a product without a category gets (the PHP plugin's set-up asks for a default tag [3p])"))
