"""Connectors: one package per system, each a ``ConnectorResource`` (client) and its mapping.

``SYSTEMS`` names the resource class of each system; adding a system means adding a package and a
line here — the engine never changes.
"""

from __future__ import annotations

import importlib

SYSTEMS = {
    "woocommerce": "integrations_dagster.connectors.woocommerce.client:WooCommerceResource",
    "fortnox": "integrations_dagster.connectors.fortnox.client:FortnoxResource",
    "zettle": "integrations_dagster.connectors.zettle.client:ZettleResource",
    "bigcommerce": "integrations_dagster.connectors.bigcommerce.client:BigCommerceResource",
    "specter": "integrations_dagster.connectors.specter.client:SpecterResource",
    "shopbox": "integrations_dagster.connectors.shopbox.client:ShopboxResource",
    "rackbeat": "integrations_dagster.connectors.rackbeat.client:RackbeatResource",
    "hub": "integrations_dagster.connectors.hub.client:HubResource",
    "tradera": "integrations_dagster.connectors.tradera.client:TraderaResource",
}


def resource_class(system: str):
    """The ConnectorResource subclass of ``system``."""
    if system not in SYSTEMS:
        raise KeyError(f"unknown system {system!r}; known: {', '.join(sorted(SYSTEMS))}")
    module, _, name = SYSTEMS[system].partition(":")
    return getattr(importlib.import_module(module), name)
