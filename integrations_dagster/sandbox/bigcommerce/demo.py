"""Demo data of the Swedish store (SEK, prices incl. moms): a category ``Shop``, a simple mug whose SKU
``MUGG-STEN-01`` the Zettle demo also has (the "match by SKU on first sync" case), a T-shirt with Size S/M/L
variants, and two orders placed through the checkout instrument. Loaded through the same code paths
as API writes, so demo rows obey every rule the API enforces. Tax class 0 is the spec's default
[spec: products_catalog.v3.yml#components/schemas/product_Base_POST].
"""

from __future__ import annotations

from integrations_dagster.sandbox.base import Sandbox
from integrations_dagster.sandbox.bigcommerce.catalog import Catalog
from integrations_dagster.sandbox.bigcommerce.categories import add_category
from integrations_dagster.sandbox.bigcommerce.inventory import adjust
from integrations_dagster.sandbox.bigcommerce.orders import place_order
from integrations_dagster.sandbox.bigcommerce.product_writes import create_product

MUG_SKU = "MUGG-STEN-01"  # the Zettle demo till sells it too (sandbox/zettle/demo.py)
TSHIRT_SKUS = ("TEE-S", "TEE-M", "TEE-L")


def load(sandbox: Sandbox) -> None:
    catalog = Catalog(sandbox.store)
    shop = add_category(catalog, {"parent_id": 0, "name": "Shop", "is_visible": True})
    mug, _ = create_product(catalog, {
        "name": "Stengodsmugg", "type": "physical", "sku": MUG_SKU, "price": 149.0, "weight": 0.4,
        "categories": [shop["id"]], "tax_class_id": 0, "inventory_tracking": "product", "inventory_level": 24,
        "description": "<p>Handgjord mugg i stengods.</p>", "upc": "7350000000017", "is_visible": True})
    tee, _ = create_product(catalog, {
        "name": "T-shirt Logo", "type": "physical", "sku": "TEE", "price": 249.0, "weight": 0.2,
        "categories": [shop["id"]], "tax_class_id": 0, "inventory_tracking": "variant", "is_visible": True,
        "variants": [{"sku": sku, "option_values": [{"option_display_name": "Size", "label": sku[-1]}]}
                     for sku in TSHIRT_SKUS]})
    adjust(catalog, [{"location_id": 1, "sku": sku, "quantity": qty} for sku, qty in zip(TSHIRT_SKUS, (5, 10, 3))],
           relative=False)
    place_order(catalog, [{"sku": MUG_SKU, "quantity": 2}])
    place_order(catalog, [{"sku": "TEE-M", "quantity": 1}, {"sku": MUG_SKU, "quantity": 1}], status_id=10)
