"""Zettle stock (Inventory v3): the STORE balance of every variant of a tracked product is read;
changes are written as movements (:class:`MovementWriter`).

``GET /v3/stock`` lists the balances of all STORE inventories, a bare array paged by cursor: the
next page is the URL of the ``Link: <…>; rel="next"`` header, followed as it is until no header
comes [doc: developer.zettle.com inventory overview §Pagination; …/fetch-inventory-balance]. Only
tracked products appear [3p: usefulapi zettle_get_stock]; "Lagret synkas bara om du har
lagerspårning i Zettle" [seed 004]. Rows carry ``variantUuid`` and no SKU, so the product library
(one request) names them. Rate limit 4 requests/s on inventory [doc: inventory overview §Rate limit].
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Iterator

from integrations_dagster.connectors.base import Change, Outcome
from integrations_dagster.connectors.deltas import apply_once, net_of_dead_runs
from integrations_dagster.connectors.http import ApiError, HttpClient, TransientError
from integrations_dagster.connectors.zettle import mapping
from integrations_dagster.model import RecordError, StockLevel, to_decimal

STOCK = "/stock"
PER_PRODUCT_READS = 5  # a movement batch of up to this many products reads their counts one by one
PAGE_LIMIT = 1000  # [3p: usefulapi zettle_get_stock "limit 1–1000"]; the docs' examples use 100
NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


def balances(inventory: HttpClient) -> Iterator[dict]:
    """Every STORE balance row, page by page."""
    url: str | None = STOCK
    params: dict | None = {"limit": PAGE_LIMIT}
    while url:
        resp = inventory.request("GET", url, params=params)
        yield from resp.json()
        found = NEXT.search(resp.headers.get("Link", ""))
        url, params = (found.group(1), None) if found else (None, None)


def sku_by_variant(products: list[dict]) -> dict[str, str]:
    return {str(v.get("uuid")): (v.get("sku") or "").strip() for p in products for v in p.get("variants") or []}


def with_skus(rows: Iterator[dict], skus: dict[str, str]) -> Iterator[dict]:
    """The rows with their variant's SKU (``_sku``; empty when the variant has none)."""
    for row in rows:
        yield {**row, "_sku": skus.get(str(row.get("variantUuid")), "")}


def stock_level(raw: dict) -> StockLevel:
    sku = raw.get("_sku")
    if not sku:
        raise RecordError(f"stock of variant {raw.get('variantUuid')} cannot be synced: the variant has no SKU")
    try:
        quantity = to_decimal(raw.get("balance"), f"SKU {sku}: balance")
    except ValueError as exc:
        raise RecordError(str(exc)) from None
    return StockLevel(sku=sku, quantity=quantity, source_id=str(raw.get("variantUuid")),
                      as_of=mapping.zettle_time(raw.get("updated")))


class MovementWriter:
    """Stock changes into Zettle, which takes no absolute level: "You cannot set a stock balance for a
    variant directly … calculate the change needed … you always move *positive* numbers" — a decrease
    moves STORE → SOLD (an order elsewhere is a sale), an increase SUPPLIER → STORE (a delivery)
    [doc: inventory-api_concepts_how-inventories-work.md §Setting inventory balances]. ``POST /movements``
    answers 204 and applies all its movements or none [doc: …/update-inventory-balance].

    A level Zettle has never had from us is only *seen* (``linked``): Zettle, the master, keeps its
    own count; after that the change since the level this flow last carried is moved (``flows.pairs``).
    """

    BATCH = 100  # movements per request (no documented limit; kept small: one refused item refuses all)

    def __init__(self, products: HttpClient, inventory: HttpClient, memo: dict, journal=None) -> None:
        self.products, self.inventory, self.journal = products, inventory, journal
        self.settled: dict[str, Decimal] = {}  # key -> what a killed run's movement had moved
        self.notes: dict[str, str] = {}
        if "zettle.variants" not in memo:  # what the run's batches share (``WriteContext.memo``)
            memo["zettle.variants"] = {
                sku.casefold(): (str(p["uuid"]), str(v["uuid"]))
                for p in products.get("/organizations/self/products/v2") for v in p.get("variants") or []
                if (sku := (v.get("sku") or "").strip())}
            memo["zettle.inventories"] = {i.get("inventoryType"): i.get("inventoryUuid")
                                          for i in inventory.get("/inventories")}
        self.variants, self.kinds = memo["zettle.variants"], memo["zettle.inventories"]

    def write(self, changes: list[Change]) -> Iterator[Outcome]:
        variants, kinds = self.variants, self.kinds
        moves = []
        for change in changes:
            level = change.record
            if not isinstance(level, StockLevel):
                yield Outcome(change.key, ok=True, action="skipped", error="stock levels are not deleted")
                continue
            found = variants.get(level.sku.casefold())
            if found is None:
                yield Outcome(change.key, ok=True, action="ignored", error=f"Zettle has no variant with SKU {level.sku!r}")
                continue
            previous = change.previous if isinstance(change.previous, StockLevel) else None
            if previous is None:
                yield Outcome(change.key, ok=True, action="linked", target_id=found[1])
                continue
            delta = level.quantity - previous.quantity
            if delta != delta.to_integral_value():
                yield Outcome(change.key, ok=False, action="failed",
                              error=f"SKU {level.sku}: a change of {delta} is not a whole number of units")
                continue
            moves.append((change, found, delta))

        def counts_now() -> dict[str, Decimal | None]:
            counts = self._counts({found[0] for _, found, _ in moves})
            return {change.key: counts.get(found[1]) for change, found, _ in moves}

        left, self.settled, self.notes = net_of_dead_runs(self.journal, counts_now, {c.key: d for c, _, d in moves})
        ready = []
        for change, found, _ in moves:
            delta = left[change.key]
            if not delta:
                yield self._moved(change, found, delta)
                continue
            ready.append((change, found, delta, {
                "productUuid": found[0], "variantUuid": found[1], "change": int(abs(delta)),
                "from": kinds.get("STORE") if delta < 0 else kinds.get("SUPPLIER"),
                "to": kinds.get("SOLD") if delta < 0 else kinds.get("STORE")}))
        for start in range(0, len(ready), self.BATCH):
            yield from self._move(ready[start:start + self.BATCH])

    def _moved(self, change: Change, found: tuple[str, str], sent: Decimal) -> Outcome:
        """Landed: what this run moved and what a killed run had already moved (the reverse flow's
        snapshot shifts by both)."""
        note = self.notes.get(change.key)
        return Outcome(change.key, ok=True, action="updated", target_id=found[1], warnings=(note,) if note else (),
                       moved=sent + self.settled.get(change.key, Decimal(0)))

    def _counts(self, products: set[str]) -> dict[str, Decimal]:
        """variant uuid -> STORE balance of these products' variants."""
        if len(products) > PER_PRODUCT_READS:
            rows = balances(self.inventory)
        else:  # one request a product: cheaper than the whole list (a single retried movement)
            rows = (r for p in sorted(products)
                    for r in self.inventory.get(f"{STOCK}/{self.kinds.get('STORE')}/products/{p}"))
        return {str(r.get("variantUuid")): Decimal(str(r.get("balance") or 0)) for r in rows}

    def _move(self, batch: list) -> Iterator[Outcome]:
        def send() -> None:
            self.inventory.request("POST", "/movements", json={"movements": [m for *_, m in batch]})

        def read() -> dict[str, Decimal]:
            return self._counts({found[0] for _, found, _, _ in batch})

        try:
            apply_once(send, read, {found[1]: delta for _, found, delta, _ in batch}, journal=self.journal,
                       keys={found[1]: change.key for change, found, _, _ in batch}, carried=self.settled)
        except TransientError:
            raise
        except ApiError as exc:
            if len(batch) > 1:  # one refused movement refuses all: find it, land the rest
                for one in batch:
                    yield from self._move([one])
                return
            change = batch[0][0]
            untracked = "track" in exc.message.lower()
            yield Outcome(change.key, ok=untracked, action="ignored" if untracked else "failed",
                          error=f"SKU {change.record.sku}: Zettle refused the movement ({exc.message})"
                                + ("; stock is synced only for products Zettle tracks" if untracked else ""))
            return
        for change, found, delta, _ in batch:
            yield self._moved(change, found, delta)
