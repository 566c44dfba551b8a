"""The options the hub reads (see :mod:`integrations_dagster.connectors.options`): which origins an
export plug carries."""

from __future__ import annotations

from integrations_dagster.connectors.options import ConnectorOptions, option


class HubOptions(ConnectorOptions):
    origins: list[str] | None = option(reads=("products", "orders", "stock"), description=(
        "export only the hub's records that these connections imported (their import plugs wrote them "
        "last); unset: every record. An order export names the marketplaces whose orders it carries, so "
        "a shop never gets its own orders back"))
