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
from integrations_dagster.sandbox.rackbeat.endpoints import action, deleted, existing, listing, record
from integrations_dagster.sandbox.rackbeat.wire import (filtered, handler, invalid, json_body, not_found, one,
                                                        page_response, raw_segments, suppressed, truthy)
from integrations_dagster.sandbox.rest import Endpoint

API = "/api"
_FIELD_EQ = re.compile(r"^field_eq\[(\d+)\]$")
PLURAL = {"product": "products", "lot": "lots", None: "items"}


def routes(acc: Account) -> list[Route]:
    cat, stock = acc.catalog, acc.stock

    # ---- product groups --------------------------------------------------------------------------------
    def group_rows(request: Request) -> list[dict]:
        rows = filtered(request, acc.store.find("groups"), "product-groups")
        return sorted(rows, key=lambda g: g["number"])

    def delete_group(doc: dict) -> None:
        if any(i["group"] == doc["number"] for i in cat.items()):
            raise invalid({"number": "The group has items and can not be deleted."})
        acc.store.delete("groups", doc["id"])

    groups = listing(acc, "product_group", "product_groups", cat.render_group, group_rows, cat.create_group)
    group = record(acc, "product_group", "number", existing(cat.group, "product group"), cat.render_group,
                   update=cat.update_group, delete=delete_group)

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

    def item_list(kind: str | None) -> Endpoint:
        create = (lambda body: cat.create_item(kind, body)) if kind else None  # items are written as products or lots
        return listing(acc, kind, PLURAL[kind], cat.render, lambda request: item_rows(request, kind), create)

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
    def variation_rows(request: Request) -> list[dict]:
        return filtered(request, sorted(acc.store.find("variations"), key=lambda v: v["number"]), "variations")

    variations = listing(acc, "variation", "variations", cat.render_variation, variation_rows, cat.create_variation)
    variation = record(acc, "variation", "number", existing(cat.variation, "variation"), cat.render_variation)

    # ---- custom fields --------------------------------------------------------------------------------
    def field_rows(request: Request) -> list[dict]:
        q = request.query_params
        available = q.get("available_for") or q.get(guesses.FIELDS_FOR_ALIAS)
        rows = [f for f in acc.store.find("fields") if not available or f["available_for"] == available]
        if q.get("type"):
            rows = [f for f in rows if f["type"] == q["type"]]
        return filtered(request, rows, "fields")

    def update_field(doc: dict, body: dict) -> dict:
        for name in ("name", "default_value", "use_in_layouts"):
            if name in body:
                doc[name] = truthy(body[name]) if name == "use_in_layouts" else body[name]
        if isinstance(body.get("options"), list):
            doc["options"] = [str(o) for o in body["options"]]
        doc["updated_at"] = acc.clock.stamp()
        acc.store.put("fields", doc["id"], doc)
        return doc

    def delete_field(doc: dict) -> None:
        for row in acc.store.find("field_values"):
            if row["field_id"] == doc["id"]:
                acc.store.delete("field_values", row["id"])
        acc.store.delete("fields", doc["id"])

    fields = listing(acc, "field", "fields", cat.render_field, field_rows, cat.create_field)
    field = record(acc, "field", "field_id", cat.field, cat.render_field, update=update_field, delete=delete_field)

    # ---- locations -------------------------------------------------------------------------------------
    locations = listing(acc, "location", "locations", stock.render_location,
                        lambda request: filtered(request, stock.locations(), "locations"), stock.create_location)
    location = record(acc, "location", "number", existing(stock.location, "location"), stock.render_location,
                      update=stock.update_location)

    # ---- inventory adjustments -------------------------------------------------------------------------
    def adjustment_rows(request: Request) -> list[dict]:
        return filtered(request, acc.store.find("adjustments"), "adjustments", booleans=("is_booked",))

    adjustments = listing(acc, "inventory_regulation", "inventory_regulations", stock.render_adjustment,
                          adjustment_rows, stock.create_adjustment)
    adjustment = record(acc, "inventory_regulation", "id", stock.adjustment, stock.render_adjustment)
    book_adjustment = action(acc, "inventory_regulation", "id", stock.adjustment, stock.render_adjustment,
                             stock.book_adjustment)

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

