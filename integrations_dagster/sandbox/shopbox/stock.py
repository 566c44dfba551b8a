"""Stock per branch — per product, or per variance when the product keeps stock on its variances — and
the product-inventories routes.

Evidence:
* ``GET /product-inventories?branch=<uid>&num_per_page=100`` → ``data`` rows with ``uid`` (the product's uid:
  the PHP plugin keys the rows by it and looks products up in them), ``sku_code``, ``quantity``
  [3p: PHP plugin ``getProductBranchInventory``, ``ProductsImporter::getProductsInventory``].
* ``POST /product-inventories`` {``branch``, ``product``, ``product_variance``?, ``quantity``, ``note``}; with
  ``inventory_on_variants`` the plugin writes one row per variance, else one per product
  [3p: PHP plugin ``createProductInventory`` in ``ProductsExporter``].
* Stock is kept per location and a location is a register's branch [partner: Rackbeat asks for one
  location per Shopbox cash system, seed 003]; sales lower it (:mod:`.baskets`).

GUESSES (guesses.py): the POST sets the counted quantity (STOCK_WRITE_ABSOLUTE), stock may go negative,
only rows ever counted or moved are listed, 201 on create, the other row fields.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations_dagster.sandbox.base import DocumentStore
from integrations_dagster.sandbox.shopbox import guesses
from integrations_dagster.sandbox.shopbox.catalog import Catalog
from integrations_dagster.sandbox.shopbox.org import Org
from integrations_dagster.sandbox.shopbox.wire import (BASE, atomic, invalid, handler, json_body, now, paged, quantity,
                                                       ref, stamps)

INVENTORY = "inventory"


def _key(branch: int, product: int, variance: int | None) -> str:
    return f"{branch}:{product}:{variance or 0}"


def _number(value: int | float) -> int | float:
    return int(value) if float(value) == int(value) else round(float(value), 6)


class Stock:
    def __init__(self, store: DocumentStore, org: Org, catalog: Catalog) -> None:
        self.store, self.org, self.catalog = store, org, catalog
        catalog.stock_totals = self.totals

    def _row(self, key: str) -> dict[str, Any] | None:
        rows = self.store.find(INVENTORY, key=key)
        return rows[0] if rows else None

    def target(self, branch: Any, product: Any, variance: Any, where: str = "") -> tuple[int, dict, int | None]:
        """Check (branch, product, variance) names a stock place: (branch uid, product, variance uid)."""
        branch_uid = ref(branch, f"{where}branch")
        if branch_uid not in self.org.branches:
            raise invalid((f"{where}branch", "Branch is invalid."))
        doc = self.catalog.product(ref(product, f"{where}product"))
        if doc is None:
            raise invalid((f"{where}product", "Product is invalid."))
        variance_uid = ref(variance, f"{where}product_variance", required=False)
        if doc["inventory_on_variants"]:
            if variance_uid is None or self.catalog.variance(doc, variance_uid) is None:
                raise invalid((f"{where}product_variance", "This product keeps stock on its variances: "
                                                           "give one of its product_variance uids."))
        elif variance_uid is not None:
            raise invalid((f"{where}product_variance", "This product keeps stock on the product, not on variances."))
        return branch_uid, doc, variance_uid

    def level(self, branch: int, product: int, variance: int | None) -> int | float:
        row = self._row(_key(branch, product, variance))
        return row["quantity"] if row else 0

    def set(self, branch: int, product: int, variance: int | None, amount: int | float, note: str = "") -> dict:
        return self._write(branch, product, variance, lambda _old: amount, note)

    def move(self, branch: int, product: int, variance: int | None, delta: int | float, note: str = "") -> dict:
        return self._write(branch, product, variance, lambda old: old + delta, note)

    def _write(self, branch: int, product: int, variance: int | None, new, note: str) -> dict:
        key = _key(branch, product, variance)
        row = self._row(key)
        moment = now()
        amount = _number(new(row["quantity"] if row else 0))
        if amount < 0 and not guesses.STOCK_ALLOW_NEGATIVE:
            raise invalid(("quantity", "Stock cannot go below 0."))
        doc = {"branch": branch, "product": product, "product_variance": variance, "quantity": amount,
               "note": note or (row or {}).get("note") or "", "tstamp": moment}
        if row is None:
            self.store.insert(INVENTORY, doc, key=key, parent=product)
        else:
            self.store.put(INVENTORY, row["id"], {**doc, "id": row["id"]}, key=key, parent=product)
        return doc

    def totals(self, product: int) -> tuple[int | float, dict[int, int | float]]:
        per_variance: dict[int, int | float] = {}
        total: int | float = 0
        for row in self.store.find(INVENTORY, parent=product):
            total += row["quantity"]
            if row["product_variance"]:
                per_variance[row["product_variance"]] = _number(per_variance.get(row["product_variance"], 0)
                                                                + row["quantity"])
        return _number(total), per_variance

    def rows(self, branch: int | None = None) -> list[dict[str, Any]]:
        out = []
        for row in self.store.find(INVENTORY):
            if branch is not None and row["branch"] != branch:
                continue
            product = self.catalog.product(row["product"])
            if product is None:
                continue
            out.append(self.public(row, product))
        return out

    def public(self, row: dict[str, Any], product: dict[str, Any]) -> dict[str, Any]:
        variance = self.catalog.variance(product, row["product_variance"]) if row["product_variance"] else None
        return {"uid": product["uid"], "product": product["uid"], "product_variance": row["product_variance"],
                "branch": row["branch"], "name": product["name"],
                "variance_name": variance["name"] if variance else None,
                "sku_code": (variance or {}).get("sku_code") or product.get("sku_code"),
                "quantity": row["quantity"], "note": row.get("note") or "", **_tstamp(row["tstamp"])}


def _tstamp(moment: int) -> dict[str, Any]:
    both = stamps(moment, moment)
    return {"tstamp": both["tstamp"], "tstamp_formatted": both["tstamp_formatted"]}


def routes(stock: Stock) -> list[Route]:
    @handler
    async def list_rows(request: Request) -> Response:
        branch = ref(request.query_params.get("branch"), "branch", required=False)
        if branch is not None and branch not in stock.org.branches:
            raise invalid(("branch", "Branch is invalid."))
        return paged(request, stock.rows(branch))

    @handler
    async def create(request: Request) -> Response:
        body = await json_body(request)
        branch, product, variance = stock.target(body.get("branch"), body.get("product"), body.get("product_variance"))
        if body.get("quantity") is None:
            raise invalid(("quantity", "Quantity cannot be blank."))
        amount = quantity(body["quantity"], "quantity")
        note = str(body.get("note") or "")
        with atomic(stock.store):
            if guesses.STOCK_WRITE_ABSOLUTE:
                row = stock.set(branch, product["uid"], variance, amount, note)
            else:
                row = stock.move(branch, product["uid"], variance, amount, note)
        return JSONResponse(stock.public(row, product), status_code=guesses.INVENTORY_CREATE_STATUS)

    return [Route(f"{BASE}/product-inventories", list_rows, methods=["GET"]),
            Route(f"{BASE}/product-inventories", create, methods=["POST"])]
