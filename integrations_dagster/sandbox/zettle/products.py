"""The Product Library service (products.izettle.com, served under ``/products``): routes and storage.

Routes [digest §2.1]:

* ``GET  /organizations/self/products/v2`` — every product, a bare array, no paging
  [3p: nop GetProductsRequest.cs, ProductList.cs; digest §2.2]; ``GET /organizations/self/products``
  (old list, same array) [3p: vilkasgroup `get_all_products`; LauLamanApps `GET_PRODUCTS`].
* ``POST /organizations/self/products`` — create [doc: product-library.adoc §Create product]; status,
  body and duplicate handling are guesses (guesses.CREATE_STATUS, DUPLICATE_*).
* ``GET  /organizations/self/products/{uuid}`` — one product [3p: vilkasgroup `get_product`]; 404 when
  gone [3p: vilkasgroup test_product].
* ``PUT  /organizations/self/products/v2/{uuid}`` — merge-patch update, conditional on the etag
  [doc: product-library.adoc §Update product; doc: …/update-products]; the path without ``/v2`` is a
  guessed alias (guesses.SERVE_UPDATE_ALIAS).
* ``DELETE /organizations/self/products/{uuid}`` and ``DELETE /organizations/self/products?uuid=A&uuid=B``
  [3p: vilkasgroup `delete_product`, nop DeleteProductsRequest.cs] → 204 (guess, digest §2.6).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations_dagster.sandbox.base import DocumentStore
from integrations_dagster.sandbox.zettle import catalog, guesses
from integrations_dagster.sandbox.zettle.events import Publisher, product_payload
from integrations_dagster.sandbox.zettle.wire import (ORG_UUID, Refusal, atomic, handler, invalid, json_body,
                                                      not_found, now)

PREFIX = "/products/organizations/{org}/products"
PRODUCTS = "products"


class Catalog:
    """Products stored one document each, keyed by the product uuid."""

    def __init__(self, store: DocumentStore, events: Publisher | None = None) -> None:
        self.store = store
        self.events = events  # ProductCreated/Updated/Deleted, sent after the commit (events.py)

    def _emit(self, event_name: str, payload: dict[str, Any]) -> None:
        if self.events is not None:
            self.events.emit(event_name, payload)

    def _row(self, product_uuid: str) -> dict | None:
        rows = self.store.find(PRODUCTS, key=product_uuid)
        return rows[0] if rows else None

    def get(self, product_uuid: str) -> dict[str, Any] | None:
        row = self._row(product_uuid)
        return catalog.public(row) if row else None

    def require(self, product_uuid: str) -> dict[str, Any]:
        product = self.get(product_uuid)
        if product is None:
            raise not_found(f"Product {product_uuid} not found")
        return product

    def all(self) -> list[dict[str, Any]]:
        return [catalog.public(row) for row in self.store.find(PRODUCTS)]

    def create(self, body: Any, moment: datetime | None = None) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid("The body must be a JSON object")
        catalog.check(body)
        with atomic(self.store):
            if self._row(body["uuid"]) is not None:
                raise Refusal(guesses.DUPLICATE_STATUS, f"Product {body['uuid']} already exists",
                              guesses.DUPLICATE_ERROR_TYPE)
            product = catalog.normalise(body, moment or now(), None)
            self.store.insert(PRODUCTS, product, key=product["uuid"], modified=product["updated"])
            self._emit("ProductCreated", product_payload(catalog.public(product)))
        return catalog.public(product)

    def update(self, product_uuid: str, patch: Any, if_match: str | None, if_none_match: str | None) -> dict:
        with atomic(self.store):
            row = self._row(product_uuid)
            if row is None:
                raise not_found(f"Product {product_uuid} not found")
            catalog.precondition(row["etag"], if_match, if_none_match)  # before anything else (RFC 7232)
            merged = catalog.apply_update(row, patch)
            merged["uuid"] = product_uuid
            catalog.check(merged)
            product = catalog.normalise(merged, now(), row)
            self.store.put(PRODUCTS, row["id"], {**product, "id": row["id"]}, key=product_uuid,
                           modified=product["updated"])
            # {organizationUuid, newEntity, oldEntity} [doc: event-payloads §ProductUpdated]
            self._emit("ProductUpdated", {"organizationUuid": ORG_UUID,
                                          "newEntity": product_payload(catalog.public(product)),
                                          "oldEntity": product_payload(catalog.public(row))})
        return catalog.public(product)

    def delete(self, product_uuids: list[str]) -> int:
        gone = 0
        with atomic(self.store):
            for product_uuid in product_uuids:
                row = self._row(product_uuid)
                if row is not None:
                    self.store.delete(PRODUCTS, row["id"])
                    gone += 1
                    # the product's last state [doc: event-payloads §ProductDeleted]
                    self._emit("ProductDeleted", product_payload(catalog.public(row)))
        return gone


def _with_etag(product: dict[str, Any], status: int = 200) -> JSONResponse:
    headers = {"ETag": f'"{product["etag"]}"'} if guesses.SEND_ETAG_HEADER else None
    return JSONResponse(product, status_code=status, headers=headers)


def routes(cat: Catalog) -> list[Route]:
    @handler
    async def list_products(_: Request) -> Response:
        return JSONResponse(cat.all())

    @handler
    async def create(request: Request) -> Response:
        product = cat.create(await json_body(request))
        location = f"{request.base_url}products/organizations/{ORG_UUID}/products/{product['uuid']}"
        return Response(status_code=guesses.CREATE_STATUS, headers={"Location": location})

    @handler
    async def get_one(request: Request) -> Response:
        return _with_etag(cat.require(request.path_params["uuid"]))

    @handler
    async def update(request: Request) -> Response:
        product = cat.update(request.path_params["uuid"], await json_body(request),
                             request.headers.get("if-match"), request.headers.get("if-none-match"))
        return _with_etag(product)

    @handler
    async def delete_one(request: Request) -> Response:
        if not cat.delete([request.path_params["uuid"]]):
            raise not_found(f"Product {request.path_params['uuid']} not found")  # GUESS: 404 when unknown
        return Response(status_code=204)

    @handler
    async def delete_many(request: Request) -> Response:
        uuids = request.query_params.getlist("uuid")
        if not uuids:
            raise invalid("Query parameter uuid is required")
        cat.delete(uuids)  # unknown uuids are skipped silently (GUESS: no evidence either way)
        return Response(status_code=204)

    table = [
        Route(f"{PREFIX}/v2", list_products, methods=["GET"]),
        Route(f"{PREFIX}/v2/{{uuid}}", update, methods=["PUT"]),
        Route(PREFIX, list_products, methods=["GET"]),
        Route(PREFIX, create, methods=["POST"]),
        Route(PREFIX, delete_many, methods=["DELETE"]),
        Route(f"{PREFIX}/{{uuid}}", get_one, methods=["GET"]),
        Route(f"{PREFIX}/{{uuid}}", delete_one, methods=["DELETE"]),
    ]
    if guesses.SERVE_UPDATE_ALIAS:
        table.append(Route(f"{PREFIX}/{{uuid}}", update, methods=["PUT"]))
    return table
