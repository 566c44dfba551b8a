"""Exporter of products into BigCommerce: create, link by SKU, update what the flow owns, delete.

* **No duplicates.** A product the id map does not know is looked up by its SKUs first (a product
  the store already had is *linked* and takes the source's owned fields), and a create whose answer
  was lost is looked up again before it is sent twice. With many unknown products (a first sync)
  the store's variants are listed once instead of one lookup each.
* **Owned fields only.** Updates write the fields the flow owns (``owns``; default all of
  :data:`mapping.OWNABLE`) and never the tax class, categories or visibility, which are the
  merchant's after the product landed hidden in the landing category.
* **Ids for stock.** Each SKU's variant id is bound (id-map entity ``variants``), so a stock flow
  can address BigCommerce's inventory by variant.
"""

from __future__ import annotations

from typing import Callable, Iterator

from integrations_dagster.connectors.base import Change, Outcome, WriteContext
from integrations_dagster.connectors.bigcommerce import mapping
from integrations_dagster.connectors.bigcommerce.catalog import Catalog
from integrations_dagster.connectors.http import ApiError, TransientError
from integrations_dagster.model.product import Product

INDEX_AFTER = 20  # more unknown products than this in one run: list the store's SKUs once
INDEX_MEMO = "bigcommerce.sku_index"
VARIANTS_ENTITY = "variants"


class ProductExporter:
    def __init__(self, catalog: Catalog, ctx: WriteContext, rule: mapping.PriceRule,
                 landing_category: Callable[[], int]) -> None:
        self.catalog, self.ctx, self.rule = catalog, ctx, rule
        self.landing_category = landing_category
        self.owned = [f for f in mapping.OWNABLE if ctx.owned(f)]

    @property
    def _index(self) -> dict[str, tuple[int, int]] | None:
        """The store's SKUs, listed once per run (``ctx.memo``) and kept up to date as products land."""
        return self.ctx.memo.get(INDEX_MEMO)

    @_index.setter
    def _index(self, value: dict[str, tuple[int, int]] | None) -> None:
        self.ctx.memo[INDEX_MEMO] = value

    def write(self, changes: list[Change]) -> Iterator[Outcome]:
        unknown = sum(1 for c in changes if c.action != "delete" and not self._bound(c))
        if unknown > INDEX_AFTER and self._index is None:
            self._index = self.catalog.sku_index()
        for change in changes:
            try:
                yield self._one(change)
            except TransientError:
                raise  # not the record's fault: the run gives up and reads the record again
            except ApiError as exc:
                yield Outcome(change.key, ok=False, action="failed", error=_reason(change, exc))

    def _bound(self, change: Change) -> str | None:
        return change.target_id or self.ctx.binder.external_id("products", change.key)

    def _one(self, change: Change) -> Outcome:
        bound = self._bound(change)
        if change.action == "delete" or not isinstance(change.record, Product):
            if bound:
                self.catalog.delete(bound)
            return Outcome(change.key, ok=True, action="deleted", target_id=bound)
        product = change.record
        if bound is None:
            found = self._find(product)
            if found is not None and (refused := self._taken(found, product)):
                return refused
            linked = self._update(found, product, "linked") if found is not None else None
            return linked or self._create(product)
        # A product the merchant deleted in the store comes back: the source is the master.
        return self._update(bound, product, "updated") or self._create(product)

    def _taken(self, found: int, product: Product) -> Outcome | None:
        """A refusal when the store's product holding one of this product's SKUs is already synced
        from another source record (two source products share a SKU): linking would overwrite it."""
        other = self.ctx.binder.key_for("products", str(found))
        if other is None or other == product.key:
            return None
        return Outcome(product.key, ok=False, action="failed", target_id=str(found), error=(
            f"a SKU of it ({', '.join(mapping.skus(product))}) is held by the store's product {found}, which is "
            f"already synced from {other}: two source products share a SKU (SKUs are unique regardless of "
            "case in BigCommerce); nothing was written"))

    def _find(self, product: Product) -> int | None:
        """The store's product holding any of this product's SKUs."""
        for sku in mapping.skus(product):
            if self._index is not None:
                hit = self._index.get(sku.casefold())
                if hit:
                    return hit[0]
                continue
            variant = self.catalog.variant_by_sku(sku)
            if variant is not None:
                return int(variant["product_id"])
        return None

    def _create(self, product: Product) -> Outcome:
        body = mapping.create_payload(product, self.rule, self.landing_category(), self.owned)
        try:
            created = self.catalog.create(body)
        except TransientError:
            self._index = None  # look again, one by one: the create may have landed
            found = self._find(product)
            if found is None:
                raise
            return self._update(found, product, "created") or self._create(product)
        except ApiError as exc:
            # SKUs are unique regardless of case, but whether the ``sku`` filter ignores case is not
            # documented: a conflict on a SKU the lookup missed is looked for in the full list.
            if exc.status != 409 or self._index is not None:
                raise
            self._index = self.catalog.sku_index()
            found = self._find(product)
            if found is None:
                raise
            return self._taken(found, product) or self._update(found, product, "linked") or self._create(product)
        variants = created.get("variants") or self.catalog.variants(created["id"])
        if self._index is not None:
            self._index.update({str(v["sku"]).casefold(): (int(created["id"]), int(v["id"])) for v in variants
                                if v.get("sku")})
        return Outcome(product.key, ok=True, action="created", target_id=str(created["id"]),
                       bindings=_bindings(product, variants), binding_entity=VARIANTS_ENTITY)

    def _update(self, product_id: int | str, product: Product, action: str) -> Outcome | None:
        """Write the owned fields to the store's product; None when it is no longer there."""
        if self.catalog.update(product_id, mapping.product_fields(product, self.rule, self.owned)) is None:
            return None
        variants = self.catalog.variants(product_id)
        if product.kind == "variable" and "variants" in self.owned:
            variants = self._sync_variants(product_id, product, variants)
        return Outcome(product.key, ok=True, action=action, target_id=str(product_id),
                       bindings=_bindings(product, variants), binding_entity=VARIANTS_ENTITY)

    def _sync_variants(self, product_id: int | str, product: Product, held: list[dict]) -> list[dict]:
        """Make the store's variants the source's: changed ones in batches, new ones added, the
        ones the source no longer has deleted (the base variant of a product stays)."""
        by_sku = {str(v.get("sku", "")).casefold(): v for v in held if v.get("option_values")}
        changed, kept = [], []
        for v in product.variants:
            fields = mapping.variant_fields(v, self.rule, self.owned)
            have = by_sku.pop(v.sku.casefold(), None)
            if have is None:
                kept.append(self.catalog.add_variant(product_id, v.sku, mapping.option_values(product, v), fields))
                continue
            kept.append(have)
            if any(_differs(have.get(k), value) for k, value in fields.items()):
                changed.append({"id": have["id"], **fields})
        self.catalog.update_variants(changed)
        for gone in by_sku.values():
            self.catalog.delete_variant(product_id, gone["id"])
        return kept


def _differs(have: object, want: object) -> bool:
    if isinstance(want, float) and isinstance(have, (int, float)):
        return abs(float(have) - want) > 0.00005
    return have != want


def _bindings(product: Product, variants: list[dict]) -> dict[str, tuple[str, str | None]]:
    by_sku = {str(v.get("sku", "")).casefold(): v for v in variants}
    out = {}
    for sku in mapping.skus(product):
        variant = by_sku.get(sku.casefold())
        if variant is not None:
            out[sku] = (str(variant["id"]), str(variant.get("product_id") or "") or None)
    return out


def _reason(change: Change, exc: ApiError) -> str:
    name = f"product {change.record.name!r}" if isinstance(change.record, Product) else change.key
    if exc.status == 409:
        return f"{name}: BigCommerce refused it as a duplicate ({exc.message}); names and SKUs are unique in a store"
    return f"{name}: BigCommerce answered {exc.status}: {exc.message}"
