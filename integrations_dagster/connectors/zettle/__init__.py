"""Zettle (PayPal Zettle POS): products from the Product Library, stock from Inventory v3."""
