"""Reconciliation of stock in the shop: does each product and variation hold the level the ERP says?

:meth:`WooCommerceResource.verify` answers through here, read-only. It finds each level's product
or variation as the stock writer does (:meth:`WooCommerceResource.write`): by the shop's id map
(``ctx.binder``, entity ``products``: the id the products flow or an earlier stock write bound to
the SKU), else by the shop's SKU index (one full pass, only when some SKU is unbound; nothing is
bound here, verifying never writes). It expects what the writer would set: stock managed
(``manage_stock: true``) and ``stock_quantity`` the level; a variation sharing its parent's pool
(``manage_stock: "parent"``) expects the pool to hold what the writer puts there, the sum over the
pool's variations (:meth:`WooCommerceResource._send_pool`): each one's level in ``records``, else
what the shop last accepted for it (``ctx.accepted``; a context without it counts none, as the
writer does for a level it never had).

Findings, one :class:`Drift` each: field ``"stock"`` (actual ``"not managed"`` when stock
management was switched off), ``"stock (pool of product <id>)"`` for a pooled variation, and
``"record"`` (actual None) when the shop has no product or variation for the SKU, or the id map
points at one that was deleted (to the trash too: lists with status ``any`` leave the trash out).
A variable product that is gone takes its variations with it, so they are "record" without a
read of their own (the REST API's ``DELETE /products/{id}`` trashes a variable product's
variations too [3p: AKteen/WP-Woocommerce-plugin-fix--62833-, README, "Trashing via DELETE
/products/{id} → variations are trashed", on woocommerce/woocommerce issue #62833]).

Reads are bulk: one ``GET /products?include=`` per 100 simple products and variable parents, one
``GET /products/{id}/variations?include=`` per parent (WooCommerce lists variations only under
their parent), each asking only for ``id,manage_stock,stock_quantity`` (``_fields``); a parent
keeping a pool adds the writer's own pool read (:meth:`WooCommerceResource._pool`).

Locations: WooCommerce keeps one stock number per product or variation. The writer writes a level
of any location (``SKU@location``) to its SKU's product, so verify compares it there too, under the
level's key; a flow reading more than one location into one shop would see them overwrite each
other, in the writer and here alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Iterator

from integrations_dagster.connectors.base import Drift, WriteContext
from integrations_dagster.connectors.woocommerce import mapping
from integrations_dagster.connectors.woocommerce.client import PAGE_SIZE, Stream
from integrations_dagster.model import CanonicalRecord, StockLevel

if TYPE_CHECKING:
    from integrations_dagster.connectors.woocommerce.client import WooCommerceResource

# What a stock comparison needs of a product or variation (WordPress ``_fields``, as the writer's
# ``_current_stock`` asks; that helper drops rows that do not manage stock, which verify must see).
STOCK_FIELDS = ("id", "manage_stock", "stock_quantity")
NOT_MANAGED = "not managed"


@dataclass
class _Found:
    """Where the levels of one run of verify live in the shop: simple products by id, variations by
    parent id then variation id (several levels may name one item: one SKU at two locations)."""

    simple: dict[int, list[StockLevel]]
    variations: dict[int, dict[int, list[StockLevel]]]


def stock_drift(shop: "WooCommerceResource", records: list[CanonicalRecord], ctx: WriteContext) -> Iterator[Drift]:
    """Every way the shop's stock differs from ``records`` (see the module docstring)."""
    levels = [r for r in records if isinstance(r, StockLevel)]
    found = _Found({}, {})
    for level, address in _addresses(shop, levels, ctx):
        if address is None:
            yield Drift(level.key, "record", _text(level.quantity), None)
            continue
        parent_id, variation_id = address
        if variation_id is None:
            found.simple.setdefault(parent_id, []).append(level)
        else:
            found.variations.setdefault(parent_id, {}).setdefault(variation_id, []).append(level)
    products = _rows(shop, "/products", [*found.simple, *found.variations])
    for product_id, on_product in found.simple.items():
        for level in on_product:
            yield from _compare(level, level.quantity, products.get(product_id), "stock")
    by_key = {level.key: level.quantity for level in levels}
    for parent_id, children in found.variations.items():
        yield from _variations(shop, parent_id, products.get(parent_id), children, by_key, ctx)


def _addresses(shop: "WooCommerceResource", levels: list[StockLevel],
               ctx: WriteContext) -> Iterator[tuple[StockLevel, tuple[int, int | None] | None]]:
    """Each level with its ``(product id, variation id or None)``, or None when the shop has no
    item with its SKU: the id map first, the SKU index (read once, lazily) for unbound SKUs."""
    index: dict[str, str] | None = None
    for level in levels:
        target = ctx.binder.external_id("products", level.sku)
        if target is None:
            index = shop._sku_index(mapping.Skus(ctx.options)) if index is None else index
            target = index.get(level.sku)
        yield level, None if target is None else _parse(level, target)


def _parse(level: StockLevel, target: str) -> tuple[int, int | None]:
    parent, _, child = target.partition("/")
    try:
        return int(parent), int(child) if child else None
    except ValueError:
        raise ValueError(f"the shop's id map holds {target!r} for SKU {level.sku!r}: not a product id "
                         "('<id>' or '<product id>/<variation id>')") from None


def _variations(shop: "WooCommerceResource", parent_id: int, parent: dict | None,
                children: dict[int, list[StockLevel]], by_key: dict[str, Decimal],
                ctx: WriteContext) -> Iterator[Drift]:
    """The levels of one variable product's variations: those with stock of their own against
    their rows, those in the parent's pool against the pool as the writer would total it."""
    if parent is None:  # the product is gone, and its variations with it
        for level in (lvl for on_item in children.values() for lvl in on_item):
            yield Drift(level.key, "record", _text(level.quantity), None)
        return
    members: dict[int, str | None] = {}
    if parent.get("manage_stock") is True:  # only then can a variation share its stock
        members = shop._pool(parent_id, mapping.Skus(ctx.options)).members
    own = [vid for vid in children if vid not in members]
    rows = _rows(shop, f"/products/{parent_id}/variations", own) if own else {}
    for vid in own:
        for level in children[vid]:
            yield from _compare(level, level.quantity, rows.get(vid), "stock")
    pooled = [level for vid, on_item in children.items() if vid in members for level in on_item]
    if pooled:
        total = _pool_total(members, by_key, ctx)
        for level in pooled:
            yield from _compare(level, total, parent, f"stock (pool of product {parent_id})")


def _pool_total(members: dict[int, str | None], by_key: dict[str, Decimal], ctx: WriteContext) -> Decimal:
    """The writer's rule (``_send_pool``): each member's level as the source has it now, else as the
    shop last accepted it (the snapshot), else none."""
    keys = [k for k in members.values() if k]
    others = [k for k in keys if k not in by_key]
    accepted = ctx.accepted(others) if others else {}
    return sum((by_key[k] if k in by_key else getattr(accepted.get(k), "quantity", Decimal(0)) for k in keys),
               Decimal(0))


def _compare(level: StockLevel, expected: Decimal, row: dict | None, field: str) -> Iterator[Drift]:
    if row is None:
        yield Drift(level.key, "record", _text(expected), None)
    elif not row.get("manage_stock"):  # the writer switches stock management on with every level
        yield Drift(level.key, field, _text(expected), NOT_MANAGED)
    elif _number(row.get("stock_quantity")) != expected:
        yield Drift(level.key, field, _text(expected), _text(row.get("stock_quantity")) or "empty")


def _rows(shop: "WooCommerceResource", path: str, ids: list[int]) -> dict[int, dict]:
    """id -> row (``STOCK_FIELDS``) of the products or variations ``ids`` that exist, 100 ids a
    request: ``include`` limits both lists to given ids [doc: developer.woocommerce.com/docs/wc-cli/
    wc-cli-commands/wc-product-variation, "--include - Limit result set to specific ids", the REST
    collection parameters the CLI mirrors; the writer's ``_current_stock`` asks the same], and 100
    ids keep the URL short."""
    out: dict[int, dict] = {}
    for start in range(0, len(ids), PAGE_SIZE):
        chunk = ids[start:start + PAGE_SIZE]
        stream = Stream(path, {"include": ",".join(map(str, chunk)), "orderby": "id", "order": "asc"}, STOCK_FIELDS)
        out.update({row["id"]: row for row in stream.records(shop.http)})
    return out


def _number(value: Any) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except InvalidOperation:
        return None


def _text(value: Any) -> str | None:
    """A quantity as a person reads it: ``12``, not ``12.000``."""
    number = _number(value)
    if number is None:
        return None if value is None else str(value)
    return str(number.quantize(Decimal(1))) if number == number.to_integral_value() else str(number.normalize())
