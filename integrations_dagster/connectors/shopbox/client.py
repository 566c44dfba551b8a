"""Shopbox connector: the POS's products, its till receipts (baskets) as orders, and stock per branch.

Shopbox publishes no API documentation; what this connector assumes is what ``sandbox/shopbox``
emulates (its ``guesses.py``), from the traces in ``docs/research/shopbox.md``. The adapter
(:mod:`.adapter`) logs in with the merchant's e-mail and password and never lets the token reach a
log line; the mapper (:mod:`.mapping`) turns øre including VAT into canonical prices and orders.

Reading:

* **products** — ``GET /products?expand=product_variances`` page by page [3p: PHP plugin reads the
  variances]; the list has no modification filter, so a window read keeps the products whose
  ``tstamp`` is in the window (one pass over the catalogue; Rackbeat's integration reads it every
  two hours [doc: seed 003]).
* **orders** — ``GET /baskets``, newest first [3p: sales-sync script], read until the first basket
  older than the window (no server-side date filter is known [3p]).
* **stock** — ``GET /product-inventories?branch=`` per branch [3p: PHP plugin], each row a count of a
  product or a variation at that branch; the level's location is the branch's uid.

Writing:

* **stock** — ``POST /product-inventories {branch, product, product_variance?, quantity, note}``, an
  absolute count [3p: PHP plugin posts the shop's current stock]. The level's location names the
  branch through the flow's ``branches`` option (source location → branch uid), else ``main_branch``
  (seed 003: "Hovedlager i Shopbox … brukes som en standardlokasjon"). The product is found by SKU
  (a variation by its own ``sku_code``) in the catalogue's SKU index, listed once per run
  (``products.catalogue``, kept in ``ctx.memo``).
* **products** — created, or updated in the fields the flow owns and only where they differ, by
  :mod:`.products` (``POST /products/create-or-update`` [3p: PHP plugin]).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Iterator

from pydantic import PrivateAttr

from integrations_dagster.connectors.base import (
    Change, ConnectorResource, MapNotes, Outcome, Watermark, Window, WriteContext, one_by_one,
)
from integrations_dagster.connectors.places import Places
from integrations_dagster.connectors.shopbox import mapping, products
from integrations_dagster.connectors.shopbox.adapter import Adapter
from integrations_dagster.model import CanonicalRecord
from integrations_dagster.model.stock import StockLevel


class ShopboxResource(ConnectorResource):
    """One Shopbox shop (``client``), reached with the merchant's e-mail and password."""

    system: ClassVar[str] = "shopbox"
    reads: ClassVar[frozenset[str]] = frozenset({"products", "orders", "stock"})
    writes: ClassVar[frozenset[str]] = frozenset({"products", "stock"})
    ownable: ClassVar[dict[str, tuple[str, ...]]] = {"products": products.OWNABLE}
    secret_fields: ClassVar[tuple[str, ...]] = ("username", "password")
    credential_sets: ClassVar[tuple[tuple[str, ...], ...]] = (("username", "password", "client"),)
    options_model: ClassVar[str] = "integrations_dagster.connectors.shopbox.options:ShopboxOptions"

    base_url: str = "https://api.shopbox.com/api/v3"
    username: str
    password: str
    client: str  # the shop's id, named on every call
    timeout: float = 30

    _adapter: Adapter | None = PrivateAttr(default=None)

    def adapter(self) -> Adapter:
        if self._adapter is None:
            self._adapter = Adapter(self.base_url, self.username, self.password, self.client, timeout=self.timeout,
                                    attempts=self.max_attempts)
        return self._adapter

    def test_connection(self) -> str:
        branches = list(self.adapter().pages("/branches"))
        return f"Shopbox: shop {self.client}, {len(branches)} branches ({', '.join(str(b.get('name')) for b in branches)})"

    # -- reader / mapper -----------------------------------------------------------------------
    def read(self, entity: str, window: Window, options: dict[str, Any]) -> Iterator[dict]:
        if entity == "products":
            for raw in self.adapter().pages("/products", expand="product_variances"):
                changed = mapping.instant(raw.get("tstamp"))
                if window.since is None or changed is None or datetime.fromisoformat(changed) >= window.since:
                    yield raw
        elif entity == "orders":
            yield from self._baskets(window)
        elif entity == "stock":
            read_at = datetime.now(UTC).isoformat()
            for branch in self.adapter().pages("/branches"):
                for row in self.adapter().pages("/product-inventories", branch=branch["uid"]):
                    yield {**row, "_branch": str(branch["uid"]), "_read_at": read_at}
        else:
            raise ValueError(f"Shopbox is not a source of {entity!r}")

    def _baskets(self, window: Window) -> Iterator[dict]:
        """Newest first: stop at the first basket made before the window (its ``crdate``)."""
        for raw in self.adapter().pages("/baskets"):
            made = mapping.instant(raw.get("crdate"))
            made_at = datetime.fromisoformat(made) if made else None
            if made_at is not None and window.since is not None and made_at < window.since:
                return
            if made_at is not None and window.until is not None and made_at >= window.until:
                continue
            yield raw

    def read_keys(self, entity: str, keys: list[str], options: dict[str, Any]) -> tuple[list[dict], dict[str, str]]:
        """Orders by the basket's uid as the till shows it ("5001"), ``<connection>:<uid>`` (the sync log's
        key) or ``basket <uid>``: ``GET /baskets/{uid}`` [3p: PHP plugin ``getBasket``] — the seed's
        "Manuell sync av ordre … Shopbox ordre ID"."""
        if entity != "orders":
            return super().read_keys(entity, keys, options)
        found, missing, seen = [], {}, set()
        for key in keys:
            uid = key.rsplit(":", 1)[-1].removeprefix("basket").strip()
            if not uid.isdigit():
                missing[key] = f"{key!r} is no Shopbox basket id (a number, as the till shows it)"
                continue
            resp = self.adapter().http.request("GET", f"/baskets/{uid}", expect=(404,))
            if resp.status_code == 404:
                missing[key] = f"Shopbox has no basket {uid}"
            elif uid not in seen:
                seen.add(uid)
                found.append(resp.json())
        return found, missing

    def prepare(self, entity: str, options: dict[str, Any]) -> dict[str, Any]:
        if entity == "orders":  # the tills' branches by uid, to name the till an order came from
            return {**options, "_branches": {str(b["uid"]): str(b.get("name")) for b in self.adapter().pages("/branches")}}
        return options

    def to_canonical(self, entity: str, raw: dict, options: dict[str, Any],
                     notes: MapNotes | None = None) -> CanonicalRecord:
        currency = str(options.get("currency") or "DKK")
        if entity == "products":
            return mapping.product(raw, currency)
        if entity == "orders":
            return mapping.order(raw, str(options.get("connection") or "shopbox"), options.get("_branches") or {},
                                 currency)
        if entity == "stock":
            return mapping.stock_level(raw, raw["_branch"], raw["_read_at"])
        raise ValueError(f"Shopbox is not a source of {entity!r}")

    def raw_key(self, entity: str, raw: dict) -> str:
        if entity == "orders":
            return f"basket {raw.get('uid', '?')}"
        return str(raw.get("sku_code") or f"product {raw.get('uid', '?')}")

    def raw_id(self, entity: str, raw: dict) -> str | None:
        return str(raw["uid"]) if raw.get("uid") is not None else None

    def latest_change(self, entity: str, since: Watermark | None) -> Watermark | None:
        """Orders: the newest basket's uid (one small request) — a new sale is a new first basket."""
        if entity != "orders":
            return None
        body = self.adapter().get("/baskets", **{"per-page": 1})
        first = (body.get("data") or [None])[0]
        if first is None:
            return None
        mark = f"{first.get('uid')}:{first.get('tstamp')}"
        return Watermark(datetime.now(UTC).replace(microsecond=0), mark,
                         new=since is None or since.fingerprint != mark)

    # -- exporter ------------------------------------------------------------------------------
    def write(self, entity: str, changes: list[Change], ctx: WriteContext) -> Iterator[Outcome]:
        if entity == "products":
            yield from products.ProductWriter(self.adapter(), ctx).write(changes)
            return
        if entity != "stock":
            raise ValueError(f"Shopbox is not a target of {entity!r}")
        index = products.catalogue(self.adapter(), ctx.memo).skus
        places = Places(ctx.options, "branches", "main_branch", "Shopbox branch")

        def one(change: Change) -> Outcome:
            level = change.record
            if not isinstance(level, StockLevel):
                return Outcome(change.key, ok=True, action="skipped", error="stock is not deleted in Shopbox")
            branch = places.of(level.location)
            if branch is None:
                return Outcome(change.key, ok=False, action="failed", error=places.missing(level.location))
            held = index.get(level.sku)
            if held is None:
                return Outcome(change.key, ok=True, action="ignored", error=f"SKU {level.sku!r} is not in Shopbox")
            if level.quantity != level.quantity.to_integral_value():
                return Outcome(change.key, ok=False, action="failed",
                               error=f"quantity {level.quantity} of SKU {level.sku!r} is not a whole number")
            product, variance = held
            body = {"branch": int(branch), "product": product, "quantity": int(level.quantity),
                    "note": "integrations-dagster"}
            if variance is not None:
                body["product_variance"] = variance
            # an absolute count: sent again after a lost answer it sets the same number [3p: PHP plugin]
            self.adapter().http.request("POST", "/product-inventories", json=body, idempotent=True)
            return Outcome(change.key, ok=True, action="updated", target_id=f"{variance or product}@{branch}",
                           level=level.quantity)

        yield from one_by_one(changes, one, "Shopbox refused it")
