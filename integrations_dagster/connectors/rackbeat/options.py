"""The options the Rackbeat connector reads (see :mod:`integrations_dagster.connectors.options`): the
order writer's customer, VAT choice and locations (``client._OrderWriter``), the product mapper's
currency and the product writer's groups and custom fields (``products``)."""

from __future__ import annotations

from pydantic import StrictBool

from integrations_dagster.connectors.options import ConnectorOptions, option


class RackbeatOptions(ConnectorOptions):
    customer_number: str | None = option(writes=("orders",), description=(
        "the Rackbeat customer a POS's sales are booked on (a till sale has no customer of its own)"))
    add_vat: StrictBool = option(True, writes=("orders",), description=(
        "seed 003 'Tilføy moms': book the sales with the till's VAT (true) or without VAT (false)"))
    locations: dict[str, str] = option({}, writes=("orders", "stock"), description=(
        "a till's location (a Shopbox branch uid) -> the Rackbeat location its sales draw from and its count is"))
    main_location: str | None = option(writes=("orders", "stock"), description=(
        "the Rackbeat location of a location without a mapping (seed 003: 'Hovedlager i Rackbeat')"))
    currency: str = option("NOK", reads=("products",), writes=("products", "orders"), description=(
        "the account's currency (Rackbeat's prices carry none); a price in another is refused, not converted"))
    structured_products: StrictBool = option(False, reads=("products",), description=(
        "seed 003 'Opprett strukturvarer fra Rackbeat i Shopbox': read the lots (bills of materials) as "
        "products made of their lines"))
    groups: dict[str, str] = option({}, writes=("products",), description=(
        "a product's category (a Shopbox tag) -> the Rackbeat product group number a new product goes into"))
    default_group: str | None = option(writes=("products",), description=(
        "the product group of a new product whose category has no mapping (seed 003: 'Standard Shopbox-gruppe')"))
    uid_field: int | None = option(writes=("products",), description=(
        "id of the custom item field that keeps the source's product id (seed 003: 'Shopbox UID felt ID')"))
    variation_field: int | None = option(writes=("products",), description=(
        "id of the custom item field that keeps the source's variation id (seed 003: 'Shopbox variasjonsfelt ID')"))
