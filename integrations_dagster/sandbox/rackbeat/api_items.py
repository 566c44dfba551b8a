"""HTTP routes of the item side of ``/api``: product groups, products, lots, items, variations, custom
fields and their item values, locations, per-location stock and inventory adjustments.

Paths [doc: portal intro-to-items-products-boms, intro-to-inventory] [source: SDK Resources/*] [3p: kg-bot,
core-suite, mother-sku] — each is cited where :mod:`.catalog` and :mod:`.stock` implement it:

* ``GET|POST /product-groups``, ``GET|PUT|DELETE /product-groups/{number}``;
* ``GET|POST /products``, ``GET|PUT|DELETE /products/{number}``; ``GET|POST /lots``, ``GET|PUT|DELETE
  /lots/{number}``; ``GET /items``, ``GET /items/{number}`` (products and lots);
* ``GET|PUT /{products|lots|items}/{number}/fields`` (``field_values`` / ``custom_fields``);
* ``GET /products/{number}/locations[/{location}]`` (``product_locations``), ``/lots/{number}/locations``
  (``lot_locations``), ``/items/{number}/locations`` (``item_locations``) and ``/items/{number}/locations/available``;
* ``GET /products/{number}/variations``, ``GET|PUT /products/{number}/variations/{id}``; ``GET|POST
  /variations``, ``GET /variations/{number}``;
* ``GET|POST /fields`` (``available_for``), ``GET|PUT|DELETE /fields/{id}``;
* ``GET|POST /locations``, ``GET|PUT /locations/{number}``;
* ``GET|POST /inventory-adjustments``, ``GET /inventory-adjustments/{id}``, ``POST
  /inventory-adjustments/{id}/book`` (and ``POST /inventory-adjustment``, the older spelling).

List filters on items: ``search``, ``updated_at_from/_to``, ``is_barred``, ``field_eq[<field id>]=<value>``
[source: SDK BaseResource::whereCustomField], ``is_sellable`` (the group's) [source: SDK ItemFilters].
Writes take ``suppress_webhooks`` (:func:`.wire.suppressed`). Item numbers in paths: :mod:`.wire`.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations_dagster.sandbox.rackbeat import guesses
from integrations_dagster.sandbox.rackbeat.account import Account
from integrations_dagster.sandbox.rackbeat.wire import (filtered, handler, invalid, json_body, not_found, one,
                                                        page_response, raw_segments, suppressed, truthy)

API = "/api"
_FIELD_EQ = re.compile(r"^field_eq\[(\d+)\]$")
PLURAL = {"product": "products", "lot": "lots", None: "items"}


def routes(acc: Account) -> list[Route]:
    cat, stock = acc.catalog, acc.stock

    def deleted() -> Response:
        return Response(status_code=guesses.DELETE_STATUS)

    # ---- product groups --------------------------------------------------------------------------------
    @handler
    async def groups(request: Request) -> Response:
        if request.method == "POST":
            body = await json_body(request)
            with acc.unit(suppressed(request, body)):
                doc = cat.create_group(body)
            return one(request, "product_group", cat.render_group(doc), 201)
        rows = filtered(request, acc.store.find("groups"), "product-groups")
        return page_response(request, "product_groups", sorted(rows, key=lambda g: g["number"]), cat.render_group)

    @handler
    async def group(request: Request) -> Response:
        doc = cat.group(request.path_params["number"])
        if doc is None:
            raise not_found("product group", request.path_params["number"])
        if request.method == "PUT":
            body = await json_body(request)
            with acc.unit(suppressed(request, body)):
                doc = cat.update_group(doc, body)
        elif request.method == "DELETE":
            if any(i["group"] == doc["number"] for i in cat.items()):
                raise invalid({"number": "The group has items and can not be deleted."})
            with acc.unit(suppressed(request, {})):
                acc.store.delete("groups", doc["id"])
            return deleted()
        return one(request, "product_group", cat.render_group(doc))

    # ---- items -------------------------------------------------------------------------------------------
    def item_rows(request: Request, kind: str | None) -> list[dict]:
        wanted = {}
        for name, value in request.query_params.multi_items():
            match = _FIELD_EQ.match(name)
            if match:
                wanted[int(match.group(1))] = value
        rows = [i for i in cat.items(kind) if cat.matches_fields(i, wanted)]
        if request.query_params.get("is_sellable") is not None:
            want = truthy(request.query_params["is_sellable"])
            rows = [i for i in rows if bool((cat.group(i["group"]) or {}).get("is_sellable", True)) == want]
        rows = filtered(request, rows, "items", booleans=("is_barred",))
        if not request.query_params.get("order_by"):
            rows.sort(key=lambda i: i["id"])
        return rows

    def item_list(kind: str | None):
        @handler
        async def listing(request: Request) -> Response:
            if request.method == "POST":
                if kind is None:
                    return JSONResponse({"message": "The POST method is not supported for this route."}, 405)
                body = await json_body(request)
                with acc.unit(suppressed(request, body)):
                    doc = cat.create_item(kind, body)
                return one(request, kind, cat.render(doc), 201)
            return page_response(request, PLURAL[kind], item_rows(request, kind), cat.render)
        return listing

    def item_one(kind: str | None):
        singular = kind or "item"

        @handler
        async def dispatch(request: Request) -> Response:
            segments = raw_segments(request, f"{API}/{PLURAL[kind]}/")
            if not segments:
                raise not_found(singular, "")
            item = cat.item_by_segment(segments[0], kind)
            sub, method = segments[1:], request.method
            if not sub:
                if method == "GET":
                    return one(request, singular, cat.render(item))
                if kind is None:
                    return JSONResponse({"message": "Items are read-only; write products or lots."}, 405)
                body = await json_body(request) if method == "PUT" else {}
                with acc.unit(suppressed(request, body)):
                    if method == "DELETE":
                        cat.delete_item(item)
                        return deleted()
                    item = cat.update_item(item, body)
                return one(request, singular, cat.render(item))
            if sub == ["fields"]:
                if method == "PUT":
                    body = await json_body(request)
                    with acc.unit(suppressed(request, body)):
                        cat.set_field_values(item, body)
                return JSONResponse({"field_values": cat.field_values(item)})
            if sub[0] == "locations" and method == "GET":
                rows = stock.per_location(item)
                if sub == ["locations"]:
                    return JSONResponse({f"{singular}_locations": rows})
                if sub == ["locations", "available"]:
                    return page_response(request, "locations", rows, lambda r: r)
                if len(sub) == 2:
                    match = [r for r in rows if str(r["number"]) == sub[1]]
                    if not match:
                        raise not_found("location", sub[1])
                    return JSONResponse({f"{singular}_location": match[0]})
            if sub[0] == "variations" and item["type"] == "product":
                if len(sub) == 1 and method == "GET":
                    variations = [cat.render_product_variation(item, v) for v in cat.product_variations(item)]
                    return JSONResponse({"product_variations": variations})
                if len(sub) == 2:
                    row = cat.product_variation(item, sub[1])
                    if method == "PUT":
                        body = await json_body(request)
                        with acc.unit(suppressed(request, body)):
                            row = cat.update_product_variation(item, row, body)
                    return JSONResponse({"product_variation": cat.render_product_variation(item, row)})
            raise not_found("route", "/".join(sub))
        return dispatch

    # ---- variation groups -----------------------------------------------------------------------------
    @handler
    async def variations(request: Request) -> Response:
        if request.method == "POST":
            body = await json_body(request)
            with acc.unit(suppressed(request, body)):
                doc = cat.create_variation(body)
            return one(request, "variation", cat.render_variation(doc), 201)
        rows = sorted(acc.store.find("variations"), key=lambda v: v["number"])
        return page_response(request, "variations", filtered(request, rows, "variations"), cat.render_variation)

    @handler
    async def variation(request: Request) -> Response:
        doc = cat.variation(request.path_params["number"])
        if doc is None:
            raise not_found("variation", request.path_params["number"])
        return one(request, "variation", cat.render_variation(doc))

    # ---- custom fields --------------------------------------------------------------------------------
    @handler
    async def fields(request: Request) -> Response:
        if request.method == "POST":
            body = await json_body(request)
            with acc.unit(suppressed(request, body)):
                doc = cat.create_field(body)
            return one(request, "field", cat.render_field(doc), 201)
        q = request.query_params
        available = q.get("available_for") or q.get(guesses.FIELDS_FOR_ALIAS)
        rows = [f for f in acc.store.find("fields") if not available or f["available_for"] == available]
        if q.get("type"):
            rows = [f for f in rows if f["type"] == q["type"]]
        return page_response(request, "fields", filtered(request, rows, "fields"), cat.render_field)

    @handler
    async def field(request: Request) -> Response:
        doc = cat.field(request.path_params["field_id"])
        if request.method == "DELETE":
            with acc.unit(suppressed(request, {})):
                for row in acc.store.find("field_values"):
                    if row["field_id"] == doc["id"]:
                        acc.store.delete("field_values", row["id"])
                acc.store.delete("fields", doc["id"])
            return deleted()
        if request.method == "PUT":
            body = await json_body(request)
            with acc.unit(suppressed(request, body)):
                for name in ("name", "default_value", "use_in_layouts"):
                    if name in body:
                        doc[name] = truthy(body[name]) if name == "use_in_layouts" else body[name]
                if isinstance(body.get("options"), list):
                    doc["options"] = [str(o) for o in body["options"]]
                doc["updated_at"] = acc.clock.stamp()
                acc.store.put("fields", doc["id"], doc)
        return one(request, "field", cat.render_field(doc))

    # ---- locations -------------------------------------------------------------------------------------
    @handler
    async def locations(request: Request) -> Response:
        if request.method == "POST":
            body = await json_body(request)
            with acc.unit(suppressed(request, body)):
                doc = stock.create_location(body)
            return one(request, "location", stock.render_location(doc), 201)
        return page_response(request, "locations", filtered(request, stock.locations(), "locations"),
                             stock.render_location)

    @handler
    async def location(request: Request) -> Response:
        doc = stock.location(request.path_params["number"])
        if doc is None:
            raise not_found("location", request.path_params["number"])
        if request.method == "PUT":
            body = await json_body(request)
            with acc.unit(suppressed(request, body)):
                doc = stock.update_location(doc, body)
        return one(request, "location", stock.render_location(doc))

    # ---- inventory adjustments -------------------------------------------------------------------------
    @handler
    async def adjustments(request: Request) -> Response:
        if request.method == "POST":
            body = await json_body(request)
            with acc.unit(suppressed(request, body)):
                doc = stock.create_adjustment(body)
            return one(request, "inventory_regulation", stock.render_adjustment(doc), 201)
        rows = filtered(request, acc.store.find("adjustments"), "adjustments", booleans=("is_booked",))
        return page_response(request, "inventory_regulations", rows, stock.render_adjustment)

    @handler
    async def adjustment(request: Request) -> Response:
        return one(request, "inventory_regulation", stock.render_adjustment(stock.adjustment(request.path_params["id"])))

    @handler
    async def book_adjustment(request: Request) -> Response:
        doc = stock.adjustment(request.path_params["id"])
        body = await json_body(request)
        with acc.unit(suppressed(request, body)):
            doc = stock.book_adjustment(doc)
        return one(request, "inventory_regulation", stock.render_adjustment(doc))

    return [
        Route(f"{API}/product-groups", groups, methods=["GET", "POST"]),
        Route(f"{API}/product-groups/{{number}}", group, methods=["GET", "PUT", "DELETE"]),
        Route(f"{API}/products", item_list("product"), methods=["GET", "POST"]),
        Route(f"{API}/products/{{rest:path}}", item_one("product"), methods=["GET", "PUT", "DELETE"]),
        Route(f"{API}/lots", item_list("lot"), methods=["GET", "POST"]),
        Route(f"{API}/lots/{{rest:path}}", item_one("lot"), methods=["GET", "PUT", "DELETE"]),
        Route(f"{API}/items", item_list(None), methods=["GET", "POST"]),
        Route(f"{API}/items/{{rest:path}}", item_one(None), methods=["GET", "PUT", "DELETE"]),
        Route(f"{API}/variations", variations, methods=["GET", "POST"]),
        Route(f"{API}/variations/{{number}}", variation, methods=["GET"]),
        Route(f"{API}/fields", fields, methods=["GET", "POST"]),
        Route(f"{API}/fields/{{field_id}}", field, methods=["GET", "PUT", "DELETE"]),
        Route(f"{API}/locations", locations, methods=["GET", "POST"]),
        Route(f"{API}/locations/{{number}}", location, methods=["GET", "PUT"]),
        Route(f"{API}/inventory-adjustments", adjustments, methods=["GET", "POST"]),
        Route(f"{API}/inventory-adjustment", adjustments, methods=["POST"]),
        Route(f"{API}/inventory-adjustments/{{id}}", adjustment, methods=["GET"]),
        Route(f"{API}/inventory-adjustments/{{id}}/book", book_adjustment, methods=["POST"]),
    ]

