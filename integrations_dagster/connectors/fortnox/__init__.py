"""Fortnox API v3 connector: articles' stock as a source; articles, prices, orders and invoices as a target."""

from integrations_dagster.connectors.fortnox.client import FortnoxResource

__all__ = ["FortnoxResource"]
