"""The BigCommerce REST API emulator (Catalog v3, Inventory v3, Orders v2, Webhooks v3)."""
