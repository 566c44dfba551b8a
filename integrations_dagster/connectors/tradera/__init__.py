"""Tradera, the Swedish marketplace: shop items with variants, batch prices and stock, orders (REST v4)."""
