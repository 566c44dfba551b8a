"""Routes of ``/v3/catalog/products`` [spec: products_catalog.v3.yml getProducts, createProduct,
updateProducts, deleteProducts, getProduct, updateProduct, deleteProduct].

* Paging ``page``/``limit`` (default 50, maximum 250 [spec: products_catalog.v3.yml#components/parameters/LimitParam]);
  a larger ``limit`` is the 413 "the `limit` parameter exceeded the maximum"
  [doc: BCdocs:docs/start/about/status-codes.mdx]; ``include=options|modifiers`` caps a page at 10
  [spec: products_catalog.v3.yml#components/parameters/IncludeParamGetProducts].
* Batch PUT: at most 10 items, 413 with the spec's body [spec: products_catalog.v3.yml#updateProducts]; a bad
  item fails the whole batch [doc: BCdocs:docs/start/migration/4_errors.md] (one transaction).
* POST answers 200, not 201 [spec: products_catalog.v3.yml#createProduct] (§9.1); DELETE answers 204.
* DELETE of the collection needs a filter (§9.18), at most 250 ids [spec: products_catalog.v3.yml#deleteProducts].
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from integrations_dagster.sandbox.bigcommerce import filters, guesses, shapes
from integrations_dagster.sandbox.bigcommerce.catalog import Catalog
from integrations_dagster.sandbox.bigcommerce.product_writes import create_product, update_product
from integrations_dagster.sandbox.bigcommerce.validation import check
from integrations_dagster.sandbox.bigcommerce.wire import Gate, json_body, v3_error

BASE = "/stores/{store_hash}/v3/catalog/products"
BATCH_LIMIT = 10
DELETE_LIMIT = 250
PAYLOAD_TOO_LARGE = "The request payload is too large. The maximum items allowed in the array is {n}."


def routes(gate: Gate, catalog: Catalog) -> list[Route]:
    store = catalog.store

    async def list_products(request: Request):
        q = request.query_params
        include = filters.include(q)
        page_no, limit = filters.paging(q, cap=10 if include & {"options", "modifiers"} else None)
        rows = [p for p in store.find("products") if filters.product_matches(catalog, p, q)]
        rows = filters.sort_products(rows, q)
        chosen = rows[(page_no - 1) * limit: page_no * limit]
        fields = filters.field_sets(q)
        items = [shapes.product_out(catalog, p, include, fields) for p in chosen]
        return 200, shapes.page(items, len(rows), page_no, limit, filters.kept(q))

    async def get_product(request: Request):
        product = catalog.product(int(request.path_params["product_id"]))
        q = request.query_params
        return 200, shapes.one(shapes.product_out(catalog, product, filters.include(q), filters.field_sets(q)))

    async def post_product(request: Request):
        body = await json_body(request, dict)
        check("ProductPost", body)
        with catalog.events.collect(), store.transaction():
            product, multi = create_product(catalog, body)
        return _answer(catalog, product, multi, request, as_list=True)

    async def put_product(request: Request):
        body = await json_body(request, dict)
        check("ProductPut", body)
        with catalog.events.collect(), store.transaction():
            product, multi = update_product(catalog, int(request.path_params["product_id"]), body)
        return _answer(catalog, product, multi, request, as_list=False)

    async def put_batch(request: Request):
        body = await json_body(request, list)
        if len(body) > BATCH_LIMIT:
            raise v3_error(413, PAYLOAD_TOO_LARGE.format(n=BATCH_LIMIT), type_="/api-docs/getting-started/api-status-codes")
        for item in body:
            if not isinstance(item, dict) or "id" not in item:
                # §9.6: a batch item without id is judged as a create [doc: BCdocs:docs/start/migration/4_errors.md]
                raise v3_error(422, "Missing Required Fields", {name: f"Please provide a {name}."
                                                                for name in ("name", "price", "type", "weight")})
            check("ProductBatchItem", item)
        results, errors = [], []
        with catalog.events.collect(), store.transaction():
            for item in body:
                product, multi = update_product(catalog, int(item["id"]), item)
                results.append(product)
                if multi:
                    errors.append(multi)
        include = filters.include(request.query_params)
        data = [shapes.product_out(catalog, p, include) for p in results]
        if errors:
            return 207, {"data": data, "errors": errors[0], "meta": _multi_meta(len(data))}
        return 200, {"data": data, "meta": {}}

    async def delete_product(request: Request):
        product = catalog.product(int(request.path_params["product_id"]))
        with catalog.events.collect(), store.transaction():
            catalog.delete_product(product["id"])
        return 204, None

    async def delete_products(request: Request):
        q = request.query_params
        if not any(k for k in q if k not in ("page", "limit")):
            raise v3_error(guesses.DELETE_WITHOUT_FILTER_STATUS, "To delete Product objects, you must include a filter.",
                           {"filter": "A filter is required."})
        rows = [p for p in store.find("products") if filters.product_matches(catalog, p, q)]
        if "id:in" in q and len(q["id:in"].split(",")) > DELETE_LIMIT:
            raise v3_error(413, PAYLOAD_TOO_LARGE.format(n=DELETE_LIMIT))
        with catalog.events.collect(), store.transaction():
            for product in rows:
                catalog.delete_product(product["id"])
        return 204, None

    return [
        Route(BASE, gate.endpoint("v3", list_products), methods=["GET"]),
        Route(BASE, gate.endpoint("v3", post_product), methods=["POST"]),
        Route(BASE, gate.endpoint("v3", put_batch), methods=["PUT"]),
        Route(BASE, gate.endpoint("v3", delete_products), methods=["DELETE"]),
        Route(BASE + "/{product_id:int}", gate.endpoint("v3", get_product), methods=["GET"]),
        Route(BASE + "/{product_id:int}", gate.endpoint("v3", put_product), methods=["PUT"]),
        Route(BASE + "/{product_id:int}", gate.endpoint("v3", delete_product), methods=["DELETE"]),
    ]


def _multi_meta(n: int) -> dict:
    """207 ``meta`` is ``metaCollection_Full`` [spec: products_catalog.v3.yml#components/schemas/metaCollection_Full]."""
    return {"pagination": {"total": n, "count": n, "per_page": n, "current_page": 1, "total_pages": 1,
                           "links": {"current": f"?page=1&limit={n}"}}}


def _answer(catalog: Catalog, product: dict, multi: dict | None, request: Request, *, as_list: bool):
    out = shapes.product_out(catalog, product, filters.include(request.query_params) | {"variants"})
    if multi:  # createProduct's 207 carries a list, updateProduct's an object [spec: products_catalog.v3.yml]
        return 207, {"data": [out] if as_list else out, "errors": multi, "meta": _multi_meta(1)}
    return 200, shapes.one(out)
