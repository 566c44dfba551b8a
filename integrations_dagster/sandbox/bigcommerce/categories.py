"""Categories (deprecated but supported [spec: categories_catalog.v3.yml#info]) and webhook subscriptions.

Categories [spec: categories_catalog.v3.yml getCategories, createCategory]: POST requires ``parent_id``
(0 = top level) and ``name`` (1..50), the name "must be unique with respect to the category of siblings
on the same level" (409); list filters ``id``, ``id:in``, ``name`` (exact), ``name:like``, ``parent_id``,
``is_visible``; POST answers 200 (§9.1). The answered fields follow the getCategories example.

Hooks [spec: webhooks.v3.yml createWebhooks, getWebhooks, getWebhook, updateWebhook, deleteWebhook]: stored
here, delivered by :mod:`.events` (a hook deactivated after its final retry reads ``is_active`` false;
``store/category/created`` fires on a category POST); POST requires ``scope`` and ``destination`` and answers 200 ``{data, meta}``;
DELETE answers 200 with the deleted hook (the spec declares only 200). "Destination URL must be served
on port 443" [spec: webhooks.v3.yml#createWebhooks] is not enforced, so tests can point hooks at loopback.
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.routing import Route

from integrations_dagster.sandbox.bigcommerce import filters, shapes
from integrations_dagster.sandbox.bigcommerce.catalog import Catalog
from integrations_dagster.sandbox.bigcommerce.validation import check
from integrations_dagster.sandbox.bigcommerce.wire import Gate, json_body, not_found, v3_error

CATEGORIES = "/stores/{store_hash}/v3/catalog/categories"
HOOKS = "/stores/{store_hash}/v3/hooks"
CATEGORY_DEFAULTS = {"description": "", "views": 0, "sort_order": 0, "page_title": "", "meta_keywords": [],
                     "meta_description": "", "layout_file": "category.html", "image_url": "", "is_visible": True,
                     "search_keywords": "", "default_product_sort": "use_store_settings"}


def add_category(catalog: Catalog, body: dict) -> dict:
    store = catalog.store
    parent = int(body["parent_id"])
    if parent and store.get("categories", parent) is None:
        raise v3_error(422, "The parent category does not exist", {"parent_id": f"Invalid parent_id {parent}"})
    if any(c["name"].lower() == body["name"].lower() for c in store.find("categories", parent=parent)):
        raise v3_error(409, "Category name is a duplicate", {"name": "The category name must be unique among its siblings"})
    doc = {**CATEGORY_DEFAULTS, **body, "parent_id": parent}
    doc.setdefault("custom_url", {"url": f"/{shapes._slug(body['name'])}/", "is_customized": False})
    doc["id"] = store.insert("categories", doc, parent=parent, key=body["name"].lower())
    # [spec: webhooks.v3.yml#components/schemas/store_category_created] (callback_category_data)
    catalog.events.note("store/category/created", {"type": "category", "id": doc["id"]})
    return doc


def routes(gate: Gate, catalog: Catalog) -> list[Route]:
    store = catalog.store

    async def list_categories(request: Request):
        q = request.query_params
        page_no, limit = filters.paging(q)
        rows = store.find("categories")
        tests = {"id": lambda c, v: str(c["id"]) == v, "id:in": lambda c, v: str(c["id"]) in v.split(","),
                 "name": lambda c, v: c["name"] == v, "name:like": lambda c, v: v.lower() in c["name"].lower(),
                 "parent_id": lambda c, v: str(c["parent_id"]) == v,
                 "is_visible": lambda c, v: c["is_visible"] == (v.lower() in ("true", "1"))}
        rows = [c for c in rows if all(test(c, q[name]) for name, test in tests.items() if name in q)]
        return 200, shapes.page(rows[(page_no - 1) * limit: page_no * limit], len(rows), page_no, limit, filters.kept(q))

    async def post_category(request: Request):
        body = await json_body(request, dict)
        check("CategoryPost", body)
        with catalog.events.collect(), store.transaction():
            doc = add_category(catalog, body)
        return 200, shapes.one(doc)

    async def list_hooks(request: Request):
        q = request.query_params
        page_no, limit = filters.paging(q)
        catalog.events.sync()
        rows = store.find("hooks")
        return 200, shapes.page(rows[(page_no - 1) * limit: page_no * limit], len(rows), page_no, limit, filters.kept(q))

    def hook(request: Request) -> dict:
        catalog.events.sync()
        doc = store.get("hooks", int(request.path_params["hook_id"]))
        if doc is None:
            raise not_found(f"/v3/hooks/{request.path_params['hook_id']}")
        return doc

    async def post_hook(request: Request):
        body = await json_body(request, dict)
        check("HookPost", body)
        stamp = int(time.time())
        doc = {"client_id": "sandbox", "store_hash": gate.store_hash, "scope": body["scope"],
               "destination": body["destination"], "headers": body.get("headers"),
               "is_active": body.get("is_active", True), "created_at": stamp, "updated_at": stamp}
        doc["id"] = store.insert("hooks", doc)
        return 200, shapes.one(doc)

    async def get_hook(request: Request):
        return 200, shapes.one(hook(request))

    async def put_hook(request: Request):
        doc = hook(request)
        body = await json_body(request, dict)
        check("HookPut", body)
        doc.update(body, updated_at=int(time.time()))
        store.put("hooks", doc["id"], doc)
        return 200, shapes.one(doc)

    async def delete_hook(request: Request):
        doc = hook(request)
        store.delete("hooks", doc["id"])
        return 200, shapes.one(doc)

    return [
        Route(CATEGORIES, gate.endpoint("v3", list_categories), methods=["GET"]),
        Route(CATEGORIES, gate.endpoint("v3", post_category), methods=["POST"]),
        Route(HOOKS, gate.endpoint("v3", list_hooks), methods=["GET"]),
        Route(HOOKS, gate.endpoint("v3", post_hook), methods=["POST"]),
        Route(HOOKS + "/{hook_id:int}", gate.endpoint("v3", get_hook), methods=["GET"]),
        Route(HOOKS + "/{hook_id:int}", gate.endpoint("v3", put_hook), methods=["PUT"]),
        Route(HOOKS + "/{hook_id:int}", gate.endpoint("v3", delete_hook), methods=["DELETE"]),
    ]
