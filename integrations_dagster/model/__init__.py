"""The canonical model: what every system's records are mapped to and from.

Records are pydantic v2 models. Each has a ``key`` (its identity across systems: the SKU for
products and stock, the source system's reference for orders) and a ``content_hash()`` over the
fields that matter to a target, so that a diff can tell changed from unchanged without knowing the
record's shape.
"""

from integrations_dagster.model.base import CanonicalRecord, RecordError
from integrations_dagster.model.money import Money, Price, PriceList, to_decimal
from integrations_dagster.model.order import Address, Customer, Order, OrderLine, OrderStatus
from integrations_dagster.model.product import Product, Variant
from integrations_dagster.model.progress import OrderProgress
from integrations_dagster.model.stock import StockLevel

RECORD_TYPES: dict[str, type[CanonicalRecord]] = {
    "products": Product,
    "orders": Order,
    "stock": StockLevel,
    "order_status": OrderProgress,
}

__all__ = [
    "Address", "CanonicalRecord", "Customer", "Money", "Order", "OrderLine", "OrderProgress", "OrderStatus", "Price",
    "PriceList", "Product", "RECORD_TYPES", "RecordError", "StockLevel", "Variant", "to_decimal",
]
