"""BigCommerce (webshop): v3 catalog and inventory, v2 orders."""
