"""WooCommerce connector: products and orders out of a shop (REST v3), stock levels into it."""

from integrations_dagster.connectors.woocommerce.client import WooCommerceResource

__all__ = ["WooCommerceResource"]
