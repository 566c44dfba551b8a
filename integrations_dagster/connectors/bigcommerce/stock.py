"""Stock in BigCommerce: levels read from the inventory items, changes written as adjustments.

A level the store never had from us is *set* (absolute adjustment); after that the change since the
level this flow last carried is *applied* (relative adjustment), so an order the store took
meanwhile is not erased by our write — a pair of stock flows (``flows.pairs``) relies on it.

``PUT /v3/inventory/adjustments/absolute`` takes up to 2000 items, each naming ``product_id`` (a
product without variants), ``variant_id`` (a product tracked by variant) or ``sku``, with
``location_id`` and ``quantity`` [spec: inventory.v3.yml put-absolute-adjustment]; the default
location is 1 [spec: ItemResponse example; digest §11: not confirmed]. A level only counts on a product
whose ``inventory_tracking`` is ``product`` or ``variant`` [spec: product_Base_POST.inventory_level],
so a product still at ``none`` is switched on first: stock is synced only for what the source tracks
[seed 004: "Lagret synkas bara om du har lagerspårning i Zettle"]. An item naming the wrong holder
is refused with 422 (variant of a product-tracked product, product of a variant-tracked one), so
each level goes to the holder its product's tracking says.

BigCommerce counts whole units and no negative stock (a relative adjustment "below safety stock"
is refused [doc: inventory-adjustments.mdx]); a POS may sell below zero, so a negative level lands
as 0 with a warning.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Iterator

from integrations_dagster.connectors.base import Change, Outcome, WriteContext
from integrations_dagster.connectors.bigcommerce.catalog import Catalog
from integrations_dagster.connectors.deltas import apply_once, net_of_dead_runs
from integrations_dagster.connectors.http import ApiError, TransientError
from integrations_dagster.model import RecordError, StockLevel, to_decimal

ITEM_LIMIT = 2000  # [spec: inventory.v3.yml "Limit of 2000 items per payload"]
LOCATION = 1
HOLDERS_MEMO = "bigcommerce.stock_holders"


class StockExporter:
    def __init__(self, catalog: Catalog, ctx: WriteContext) -> None:
        self.catalog, self.ctx = catalog, ctx
        self.settled: dict[str, Decimal] = {}  # key -> what a killed run's adjustment had applied
        self.notes: dict[str, str] = {}  # key -> why that could not be told for sure

    def write(self, changes: list[Change]) -> Iterator[Outcome]:
        if HOLDERS_MEMO not in self.ctx.memo:  # (listed once per run, kept up to date by _track)
            self.ctx.memo[HOLDERS_MEMO] = self._holders()
        holders = self.ctx.memo[HOLDERS_MEMO]
        ready: list[tuple[Change, dict, tuple[str, ...]]] = []
        for change in changes:
            level = change.record
            if not isinstance(level, StockLevel):
                yield Outcome(change.key, ok=True, action="skipped", error="stock levels are not deleted")
                continue
            found = holders.get(level.sku.casefold())
            if found is None:
                yield Outcome(change.key, ok=True, action="ignored",
                              error=f"the store has no product or variant with SKU {level.sku!r}")
                continue
            if level.quantity != level.quantity.to_integral_value():
                yield Outcome(change.key, ok=False, action="failed",
                              error=f"SKU {level.sku}: {level.quantity} is not a whole number (BigCommerce counts units)")
                continue
            previous = change.previous if isinstance(change.previous, StockLevel) else None
            ready.append((change, {**found["item"], "location_id": LOCATION}, previous))
        self._track(holders, [c.record.sku for c, _, _ in ready])
        absolute = [(c, i) for c, i, p in ready if p is None]
        relative = [(c, i, c.record.quantity - p.quantity) for c, i, p in ready if p is not None]
        for start in range(0, len(absolute), ITEM_LIMIT):
            yield from self._set(absolute[start:start + ITEM_LIMIT])
        for start in range(0, len(relative), ITEM_LIMIT):
            yield from self._move(self._net(relative[start:start + ITEM_LIMIT]))

    def _set(self, batch: list[tuple[Change, dict]]) -> Iterator[Outcome]:
        """Absolute levels (a negative one as 0: BigCommerce takes none)."""
        items = [{**item, "quantity": max(int(change.record.quantity), 0)} for change, item in batch]
        if not self._send("absolute", items):
            if len(batch) == 1:
                yield _refused(batch[0][0])
                return
            for one in batch:  # one bad item refuses the payload: find it, land the rest
                yield from self._set([one])
            return
        for (change, item), sent in zip(batch, items):
            warnings = () if change.record.quantity >= 0 else (
                f"SKU {change.record.sku}: the source has {change.record.quantity}; BigCommerce takes no negative "
                "stock: 0",)
            yield _landed(change, item, warnings, level=Decimal(sent["quantity"]))

    def _net(self, batch: list[tuple[Change, dict, Decimal]]) -> list[tuple[Change, dict, Decimal]]:
        """The batch less what a killed run's adjustment of the same SKUs already applied
        (:func:`net_of_dead_runs`); what landed then still counts in the outcome (``self.settled``)."""
        def counts_now() -> dict[str, Decimal | None]:
            levels = self._levels([c.record.sku for c, _, _ in batch])
            return {c.key: levels.get(c.record.sku.casefold()) for c, _, _ in batch}

        left, landed, notes = net_of_dead_runs(self.ctx.journal, counts_now, {c.key: d for c, _, d in batch})
        self.settled.update(landed)
        self.notes.update(notes)
        return [(c, i, left[c.key]) for c, i, _ in batch]

    def _move(self, batch: list[tuple[Change, dict, Decimal]]) -> Iterator[Outcome]:
        """Relative adjustments; one the store refuses (below zero) is set to the source's level instead."""
        moving = [(c, i, d) for c, i, d in batch if d]
        for change, item, _ in batch:
            if not any(c is change for c, _, _ in moving):
                yield self._moved(change, item, Decimal(0))
        if not moving:
            return
        items = [{**item, "quantity": int(delta)} for _, item, delta in moving]
        skus = [change.record.sku for change, _, _ in moving]
        if self._send("relative", items, lambda: self._levels(skus),
                      {change.record.sku.casefold(): delta for change, _, delta in moving},
                      {change.record.sku.casefold(): change.key for change, _, _ in moving}):
            for change, item, delta in moving:
                yield self._moved(change, item, delta)
        elif len(moving) > 1:
            for one in moving:
                yield from self._move([one])
        else:
            yield from self._set([(moving[0][0], moving[0][1])])

    def _moved(self, change: Change, item: dict, sent: Decimal) -> Outcome:
        """Landed: what this run sent and what a killed run had already applied (the reverse flow's
        snapshot shifts by both)."""
        note = self.notes.get(change.key)
        return _landed(change, item, (note,) if note else (), moved=sent + self.settled.get(change.key, Decimal(0)))

    def _send(self, kind: str, items: list[dict], read=None, changes=None, keys=None) -> bool:
        """One adjustment payload; False when BigCommerce refused it (one bad item refuses all). A
        relative one is sent once (:func:`apply_once`: ``read`` the levels, ``changes`` by SKU)."""
        method, path = ("PUT", "/v3/inventory/adjustments/absolute") if kind == "absolute" else \
            ("POST", "/v3/inventory/adjustments/relative")

        def send() -> None:
            self.catalog.http.request(method, path, json={"reason": "integrations_dagster stock sync", "items": items})

        try:
            if kind == "relative":
                apply_once(send, read, changes, journal=self.ctx.journal, keys=keys, carried=self.settled)
            else:
                send()  # (an absolute level may be sent twice)
        except TransientError:
            raise
        except ApiError:
            return False
        return True

    def _levels(self, skus: list[str]) -> dict[str, Decimal]:
        """casefolded SKU -> on-hand count at the default location [spec: get-inventory-items, sku:in]."""
        out = {}
        for start in range(0, len(skus), 50):
            chunk = ",".join(skus[start:start + 50])
            for row in self.catalog.pages("/v3/inventory/items", **{"sku:in": chunk}):
                at = next((loc for loc in row.get("locations") or [] if int(loc.get("location_id", 0)) == LOCATION), None)
                sku = (row.get("identity") or {}).get("sku")
                if at is not None and sku:
                    out[str(sku).casefold()] = Decimal(str(at.get("total_inventory_onhand") or 0))
        return out

    def _holders(self) -> dict[str, dict]:
        """casefolded SKU -> where its stock is held: ``item`` (``product_id`` or ``variant_id``), the
        product id and whether the product has variants. Two list reads, whatever the changes."""
        products = {int(p["id"]): p for p in self.catalog.pages(
            "/v3/catalog/products", include_fields="id,inventory_tracking,base_variant_id")}
        out = {}
        for v in self.catalog.pages("/v3/catalog/variants"):
            if not v.get("sku"):
                continue
            product = products.get(int(v["product_id"]), {})
            simple = not v.get("option_values")
            item = {"product_id": int(v["product_id"])} if simple else {"variant_id": int(v["id"])}
            out[str(v["sku"]).casefold()] = {"item": item, "product_id": int(v["product_id"]), "simple": simple,
                                             "tracking": product.get("inventory_tracking", "none")}
        return out

    def _track(self, holders: dict, skus: list[str]) -> None:
        """Switch stock tracking on for the products these SKUs belong to, where it is off."""
        for product_id, simple in sorted({(holders[s.casefold()]["product_id"], holders[s.casefold()]["simple"])
                                          for s in skus if holders[s.casefold()]["tracking"] == "none"}):
            self.catalog.http.request("PUT", f"/v3/catalog/products/{product_id}",
                                      json={"inventory_tracking": "product" if simple else "variant"})
            for h in holders.values():
                if h["product_id"] == product_id:
                    h["tracking"] = "product" if simple else "variant"


def _landed(change: Change, item: dict, warnings: tuple[str, ...], *, level: Decimal | None = None,
            moved: Decimal | None = None) -> Outcome:
    target = str(item.get("variant_id") or item.get("product_id"))
    return Outcome(change.key, ok=True, action="updated", target_id=target, warnings=warnings, level=level,
                   moved=moved, target_entity="variants" if "variant_id" in item else "products")


def _refused(change: Change) -> Outcome:
    return Outcome(change.key, ok=False, action="failed", error=f"SKU {change.record.sku}: refused by BigCommerce")


def levels(catalog: Catalog, fetched_at: str) -> Iterator[dict]:
    """The level of every SKU of a product that tracks stock: ``GET /v3/inventory/items`` (identity and
    per-location counts [spec: inventory.v3.yml get-inventory-items]) at the default location, joined
    with the products' ``inventory_tracking`` (an untracked product's count means nothing)."""
    tracked = {int(p["id"]) for p in catalog.pages("/v3/catalog/products", include_fields="id,inventory_tracking")
               if p.get("inventory_tracking") in ("product", "variant")}
    for row in catalog.pages("/v3/inventory/items"):
        identity = row.get("identity") or {}
        if int(identity.get("product_id") or 0) not in tracked or not identity.get("sku"):
            continue
        at = next((loc for loc in row.get("locations") or [] if int(loc.get("location_id", 0)) == LOCATION), None)
        if at is not None:
            yield {"sku": identity["sku"], "variant_id": identity.get("variant_id"), "product_id": identity.get("product_id"),
                   "quantity": at.get("total_inventory_onhand"), "_fetched_at": fetched_at}


def stock_level(raw: dict) -> StockLevel:
    try:
        quantity = to_decimal(raw.get("quantity"), f"SKU {raw.get('sku')}: total_inventory_onhand")
    except ValueError as exc:
        raise RecordError(str(exc)) from None
    return StockLevel(sku=raw["sku"], quantity=quantity, source_id=str(raw.get("variant_id")), as_of=raw.get("_fetched_at"))
