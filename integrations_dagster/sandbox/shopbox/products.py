"""Catalogue routes: products, tags (categories) and variant types (storage in :mod:`.catalog`).

* ``GET  /products`` — ``data`` + ``meta.pagination``, ascending uid; ``tag=`` filters (GUESS);
  ``expand=product_variances`` embeds the variances (GUESS, guesses.LIST_EMBEDS_VARIANCES) [3p: sales-sync
  script, dExPay server, Dart model].
* ``GET  /products/{uid}`` — the bare product with ``product_variances`` [3p: PHP plugin ``getProduct``].
* ``POST /products/create-or-update`` — ``uid`` null creates, a uid updates; answers the product
  [3p: PHP plugin ``createProduct``]. ``POST /products``, ``PUT /products/{uid}``, ``DELETE /products/{uid}``
  are GUESSES with the same body (guesses.SERVE_REST_PRODUCT_WRITES).
* ``GET  /tags`` (``names[]=`` filter, ``per_page``), ``POST /tags`` {name}, ``GET /tags/{uid}``,
  ``GET /tags/{uid}/products?cashRegister=&per-page=-1`` → items {``product``, ``product0``, ``selling_price``}
  [3p: PHP plugin ``getTags``, ``createTag``, ``getTagProducts``; ``ProductsImporter`` reads
  ``$item->product``, ``$item->product0->uid/name/tag/tag0/image0``, ``$item->selling_price``].
* ``POST /variance-type/create-or-update`` {name, slug, variants: [{name, slug}]} → {uid, name, variants}
  [3p: PHP plugin ``createVariantType``].
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations_dagster.sandbox.rest import lookup
from integrations_dagster.sandbox.shopbox import guesses
from integrations_dagster.sandbox.shopbox.catalog import Catalog
from integrations_dagster.sandbox.shopbox.wire import (BASE, atomic, handler, invalid, json_body, not_found, paged,
                                                       public, ref)


def _expands_variances(request: Request) -> bool:
    wanted = {p.strip() for p in request.query_params.get(guesses.EXPAND_PARAM, "").split(",")}
    return guesses.LIST_EMBEDS_VARIANCES or "product_variances" in wanted


def routes(cat: Catalog) -> list[Route]:
    @handler
    async def list_products(request: Request) -> Response:
        tag = ref(request.query_params.get("tag"), "tag", required=False)
        rows = [p for p in cat.live_products() if tag is None or p.get("tag") == tag]
        embed = _expands_variances(request)
        return paged(request, (cat.public_product(p, variances=embed) for p in rows))

    @handler
    async def get_product(request: Request) -> Response:
        return JSONResponse(cat.public_product(cat.require(request.path_params["uid"])))

    async def _save(request: Request, uid=None, *, create_only: bool = False) -> Response:
        body = await json_body(request)
        if create_only:
            body = {k: v for k, v in body.items() if k != "uid"}
        with atomic(cat.store):
            doc, created = cat.save(body, uid if uid is not None else body.get("uid"))
        status = guesses.CREATE_STATUS if created and create_only else 200
        return JSONResponse(cat.public_product(doc), status_code=status)

    @handler
    async def create_or_update(request: Request) -> Response:
        return await _save(request)

    @handler
    async def create(request: Request) -> Response:
        return await _save(request, create_only=True)

    @handler
    async def update(request: Request) -> Response:
        return await _save(request, request.path_params["uid"])

    @handler
    async def delete(request: Request) -> Response:
        with atomic(cat.store):
            cat.delete(request.path_params["uid"])
        return Response(status_code=guesses.DELETE_STATUS)

    @handler
    async def list_tags(request: Request) -> Response:
        params = request.query_params
        names = params.getlist(f"{guesses.TAG_NAMES_PARAM}[]") + params.getlist(guesses.TAG_NAMES_PARAM)
        return paged(request, (cat.public_tag(t) for t in cat.tags(names or None)))

    @handler
    async def create_tag(request: Request) -> Response:
        body = await json_body(request)
        with atomic(cat.store):
            tag = cat.create_tag(body)
        return JSONResponse(cat.public_tag(tag), status_code=guesses.TAG_CREATE_STATUS)

    get_tag = handler(lookup(cat.tag, "uid", lambda: not_found("Tag"), lambda tag: JSONResponse(cat.public_tag(tag))))

    @handler
    async def tag_products(request: Request) -> Response:
        tag = cat.tag(request.path_params["uid"])
        if tag is None:
            raise not_found("Tag")
        register = ref(request.query_params.get("cashRegister"), "cashRegister", required=False)
        if register is not None and register not in cat.org.registers:
            raise invalid(("cashRegister", "Cash register is invalid."))
        items = []
        for product in cat.live_products():
            if product.get("tag") != tag["uid"]:
                continue
            shown = cat.public_product(product)
            items.append({"uid": product["uid"], "product": product["uid"], "tag": tag["uid"],
                          "cash_register": register, "selling_price": product["selling_price"], "product0": shown})
        return paged(request, items)

    @handler
    async def variance_type(request: Request) -> Response:
        body = await json_body(request)
        with atomic(cat.store):
            answer = cat.variance_type(body)
        return JSONResponse({**answer, "variants": [public(v) for v in answer["variants"]]})

    out = [
        Route(f"{BASE}/products", list_products, methods=["GET"]),
        Route(f"{BASE}/products/create-or-update", create_or_update, methods=["POST"]),
        Route(f"{BASE}/products/{{uid:int}}", get_product, methods=["GET"]),
        Route(f"{BASE}/tags", list_tags, methods=["GET"]),
        Route(f"{BASE}/tags", create_tag, methods=["POST"]),
        Route(f"{BASE}/tags/{{uid:int}}", get_tag, methods=["GET"]),
        Route(f"{BASE}/tags/{{uid:int}}/products", tag_products, methods=["GET"]),
        Route(f"{BASE}/variance-type/create-or-update", variance_type, methods=["POST"]),
    ]
    if guesses.SERVE_REST_PRODUCT_WRITES:
        out += [Route(f"{BASE}/products", create, methods=["POST"]),
                Route(f"{BASE}/products/{{uid:int}}", update, methods=["PUT"]),
                Route(f"{BASE}/products/{{uid:int}}", delete, methods=["DELETE"])]
    return out
