"""Rackbeat (Danish inventory/ERP): stock per location, orders from a POS's sales."""
