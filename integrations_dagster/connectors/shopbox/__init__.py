"""Shopbox (Danish POS): products with variations, till receipts as orders, stock per branch."""
