"""The WooCommerce sandbox app: auth, routes under ``/wp-json/wc/v3`` and the vendor's error style.

``create(db_path=..., knobs=..., credentials={"consumer_key", "consumer_secret"}, demo=...)``
returns ``(Sandbox, Starlette)``. Auth is HTTP Basic (key as user, secret as password) or the
``consumer_key``/``consumer_secret`` query parameters; a missing key is refused like an anonymous
WordPress user ("Sorry, you cannot list resources."), a wrong one as
``woocommerce_rest_authentication_error``.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations_dagster.sandbox.base import SANDBOX_PREFIX, Knobs, Sandbox, VendorStyle, build_app
from integrations_dagster.sandbox.woocommerce import demo as demo_data
from integrations_dagster.sandbox.woocommerce import listing, ordering, views
from integrations_dagster.sandbox.woocommerce import webhooks as hooks
from integrations_dagster.sandbox.woocommerce.catalog import PRODUCTS, SITE_URL, VARIATIONS, Catalog
from integrations_dagster.sandbox.woocommerce.clock import SITE_TIMEZONE
from integrations_dagster.sandbox.woocommerce.documents import WooDocuments
from integrations_dagster.sandbox.woocommerce.errors import WooError
from integrations_dagster.sandbox.woocommerce.sales import CUSTOMERS, ORDERS, WC_VERSION, Sales
from integrations_dagster.sandbox.woocommerce.setup import COUPONS, ShopSetup

API = "/wp-json/wc/v3"
BATCH_LIMIT = 100
_DENIED = {
    "GET": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "POST": ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."),
    "PUT": ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."),
    "DELETE": ("woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource."),
}


class Auth:
    """Checks a request's keys and remembers why the last one failed (read by the 401 response).

    The middleware calls ``check`` and then, with no await in between, ``unauthorized``.
    """

    def __init__(self, key: str, secret: str) -> None:
        self.key, self.secret = key, secret
        self.failure = WooError(401, *_DENIED["GET"])

    def check(self, request: Request) -> bool:
        key, secret = _credentials(request)
        if key is None:
            self.failure = WooError(401, *_DENIED.get(request.method, _DENIED["GET"]))
        elif key != self.key:
            self.failure = WooError(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
        elif secret != self.secret:
            self.failure = WooError(401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")
        else:
            return True
        return False

    def unauthorized(self) -> Response:
        return self.failure.response()


def _credentials(request: Request) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return user, password
        except (binascii.Error, UnicodeDecodeError):
            return None, None
    q = request.query_params
    return (q.get("consumer_key"), q.get("consumer_secret")) if q.get("consumer_key") else (None, None)


def _style(auth: Auth) -> VendorStyle:
    def rate_limited(wait: float) -> Response:
        return WooError(429, "rate_limit_exceeded", "Too many requests. Please wait and try again.").response(
            {"Retry-After": str(max(1, round(wait)))})

    def server_error(status: int) -> Response:
        return WooError(status, "internal_server_error", "There has been a critical error on this website.").response()

    return VendorStyle(unauthorized=auth.unauthorized, rate_limited=rate_limited, server_error=server_error)


def _api_base(request: Request) -> str:
    return f"{request.base_url}".rstrip("/") + API


def _links(request: Request, kind: str, doc: dict) -> dict:
    return _links_at(_api_base(request), kind, doc)


def _links_at(base: str, kind: str, doc: dict) -> dict:
    if kind == VARIATIONS:
        up = f"{base}/products/{doc['parent_id']}"
        return {"self": [{"href": f"{up}/variations/{doc['id']}"}], "collection": [{"href": f"{up}/variations"}],
                "up": [{"href": up}]}
    return {"self": [{"href": f"{base}/{kind}/{doc['id']}"}], "collection": [{"href": f"{base}/{kind}"}]}


def _out(request: Request, kind: str, doc: dict, store: WooDocuments, listed_as: str | None = None) -> dict:
    """``listed_as``: the collection whose list answers ``doc`` when not its own (a variation found by
    the products list's SKU filter is shown by the products controller, see ``views.present``)."""
    context = request.query_params.get("context", "view")
    if kind == ORDERS:
        shown = ordering.view(doc, listing.dp(request, int(ShopSetup(store).get("woocommerce_price_num_decimals"))))
    else:
        shown = views.present(kind, doc, context, store.parent_of, listed_as=listed_as)
    full = {**shown, "_links": _links(request, kind, doc)}
    fields = listing.fields(request)
    return _select(full, fields) if fields else full


def _select(doc: dict, paths: list[str] | set[str]) -> dict:
    """WordPress's ``_fields`` (``rest_filter_response_fields``): keep the named fields, ``a.b`` keeps
    ``b`` inside the object ``a``; unknown names are ignored, ``_links`` only when named."""
    wanted: dict[str, set[str]] = {}
    for path in paths:
        head, _, rest = path.partition(".")
        wanted.setdefault(head, set()).add(rest)
    out = {}
    for head, subs in wanted.items():
        if head in doc:
            value = doc[head]
            out[head] = value if "" in subs or not isinstance(value, dict) else _select(value, subs)
    return out


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise WooError(400, "rest_invalid_json", "Invalid JSON body passed.") from None


def _force(request: Request) -> bool:
    return request.query_params.get("force", "false").lower() in ("1", "true")


Handler = Callable[[Request], Awaitable[Response]]


def _guard(handler: Handler, deliver: Callable[[list, str], None] | None = None) -> Handler:
    """Answer a WooError in the vendor's shape; ``deliver(events, api_base)`` gets the webhook events
    of a request that succeeded (its changes are stored by then: see ``webhooks.fire``)."""
    async def run(request: Request) -> Response:
        token = hooks.begin()
        try:
            response = await handler(request)
        except WooError as exc:
            hooks.end(token)
            return exc.response()
        except BaseException:
            hooks.end(token)
            raise
        events = hooks.end(token)
        if events and deliver and response.status_code < 400:
            deliver(events, _api_base(request))
        return response
    return run


def _payload(store: WooDocuments, setup: ShopSetup) -> hooks.Presenter:
    """What ``GET /wc/v3/<resource>s/<id>`` answers, for a webhook's payload (view context), or None
    when the object is gone [source: class-wc-webhook.php get_wp_api_payload]."""
    def present(base: str, resource: str, rid: int) -> dict | None:
        if resource == "product":
            doc = store.get(PRODUCTS, rid)
            if doc is not None:
                return {**views.present(PRODUCTS, doc, "view", store.parent_of),
                        "_links": _links_at(base, PRODUCTS, doc)}
            doc = store.get(VARIATIONS, rid)  # a variation's own hooks: the products endpoint answers it
            if doc is None:
                return None
            links = {"self": [{"href": f"{base}/products/{rid}"}], "collection": [{"href": f"{base}/products"}],
                     "up": [{"href": f"{base}/products/{doc['parent_id']}"}]}
            return {**views.present(VARIATIONS, doc, "view", store.parent_of, listed_as=PRODUCTS), "_links": links}
        if resource == "order":
            doc = store.get(ORDERS, rid)
            if doc is None:
                return None
            return {**ordering.view(doc, int(setup.get("woocommerce_price_num_decimals"))),
                    "_links": _links_at(base, ORDERS, doc)}
        if resource == "customer":
            doc = store.get(CUSTOMERS, rid)
            return None if doc is None else {**doc, "_links": _links_at(base, CUSTOMERS, doc)}
        return None
    return present


def _routes(sandbox: Sandbox, catalog: Catalog, sales: Sales) -> list[Route]:
    store: WooDocuments = sandbox.store  # type: ignore[assignment]
    setup = sales.setup
    webhooks = hooks.Webhooks(store, sandbox.outbox, SITE_URL, WC_VERSION)
    present = _payload(store, setup)

    def deliver(events: list, api_base: str) -> None:
        webhooks.dispatch(events, present, api_base)

    def listing_of(kind: str, parent: bool = False) -> Handler:
        async def handler(request: Request) -> Response:
            query = listing.build(request, kind, sales.order_statuses())
            term = listing.search_term(request) if kind == ORDERS else ""
            if term:  # WooCommerce finds the orders' ids, then lists those with the other filters
                query.where.append("id IN (SELECT value FROM json_each(?))")
                query.args.append(json.dumps(sales.search_orders(term)))
            if parent:
                catalog.product(request.path_params["pid"])
                query.where.append("parent = ?")
                query.args.append(request.path_params["pid"])
            if listing.searches_variations(request, kind):
                found, total = store.page_posts(query.where, query.args, query.order_by, query.limit, query.offset)
                body = [_out(request, k, d, store, listed_as=kind) for k, d in found]
            else:
                docs, total = store.page(kind, query.where, query.args, query.order_by, query.limit, query.offset)
                body = [_out(request, kind, d, store) for d in docs]
            return JSONResponse(body, headers=listing.headers(request, total, query.per_page, query.page))
        return handler

    def one(kind: str, fetch: Callable[[Request], dict], status: int = 200) -> Handler:
        async def handler(request: Request) -> Response:
            return JSONResponse(_out(request, kind, fetch(request), store), status_code=status)
        return handler

    def write(kind: str, apply: Callable[[Request, Any], dict], status: int = 200) -> Handler:
        async def handler(request: Request) -> Response:
            body = await _body(request)
            return JSONResponse(_out(request, kind, apply(request, body), store), status_code=status)
        return handler

    def batch(kind: str, create: Callable, update: Callable, delete: Callable) -> Handler:
        async def handler(request: Request) -> Response:
            body = await _body(request)
            if not isinstance(body, dict):
                raise WooError(400, "rest_invalid_param", "Invalid parameter(s): create")
            parts = {}
            for name in ("create", "update", "delete"):
                if name in body and not isinstance(body[name], list):
                    raise WooError(400, "rest_invalid_param", f"Invalid parameter(s): {name}",
                                   {name: f"{name} is not of type array."})
                parts[name] = body.get(name) or []
            if sum(len(v) for v in parts.values()) > BATCH_LIMIT:
                raise WooError(413, "woocommerce_rest_request_entity_too_large",
                               f"Unable to accept more than {BATCH_LIMIT} items for this request.")
            answer: dict[str, list] = {}
            for name, apply in (("create", create), ("update", update), ("delete", delete)):
                if name not in body:
                    continue
                answer[name] = []
                for item in parts[name]:
                    item_id = (item.get("id", 0) if isinstance(item, dict) else 0) if name != "delete" else item
                    at = hooks.mark()
                    try:
                        answer[name].append(_out(request, kind, apply(request, item), store))
                    except WooError as exc:
                        hooks.rollback(at)  # the item was not applied: its hooks did not run
                        answer[name].append({"id": item_id if name != "create" else 0, "error": exc.body()})
            return JSONResponse(answer)
        return handler

    def pid(r: Request) -> int:
        return r.path_params["pid"]

    def item_id(item: Any, kind: str) -> int:
        if not isinstance(item, dict) or not isinstance(item.get("id"), int) or not item["id"]:
            raise WooError(400, f"woocommerce_rest_{kind}_invalid_id", "ID is invalid.")
        return item["id"]

    def delete_id(value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise WooError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
        return value

    async def system_status(request: Request) -> Response:
        return JSONResponse({
            "environment": {"home_url": SITE_URL, "site_url": SITE_URL, "version": WC_VERSION,
                            "wp_version": "6.7.1", "language": "sv_SE", "default_timezone": "UTC"},
            "settings": {"api_enabled": True, "currency": setup.get("woocommerce_currency"), "currency_symbol": "kr",
                         "currency_position": "right_space", "thousand_separator": " ", "decimal_separator": ",",
                         "number_of_decimals": int(setup.get("woocommerce_price_num_decimals")),
                         "prices_include_tax": setup.get("woocommerce_prices_include_tax") == "yes",
                         "timezone": SITE_TIMEZONE},
        })

    async def settings_group(request: Request) -> Response:
        return JSONResponse(setup.group(request.path_params["group"]))

    async def setting(request: Request) -> Response:
        group, name = request.path_params["group"], request.path_params["name"]
        if request.method == "GET":
            return JSONResponse(setup.setting(group, name))
        return JSONResponse(setup.update(group, name, await _body(request)))

    def plain_list(rows: Callable[[Request], list[dict]]) -> Handler:
        async def handler(request: Request) -> Response:
            found = rows(request)
            return JSONResponse(found, headers=listing.headers(request, len(found), max(len(found), 1), 1))
        return handler

    async def coupons(request: Request) -> Response:
        if request.method == "POST":
            return JSONResponse(setup.create_coupon(await _body(request)), status_code=201)
        code = request.query_params.get("code")
        found = [c for c in [setup.coupon(code)] if c] if code else store.find(COUPONS)
        return JSONResponse(found, headers=listing.headers(request, len(found), max(len(found), 1), 1))

    def hook_out(request: Request, doc: dict) -> dict:
        full = webhooks.view(doc, _api_base(request))
        fields = listing.fields(request)
        return _select(full, fields) if fields else full

    async def webhooks_list(request: Request) -> Response:
        if request.method == "POST":
            doc = webhooks.create(await _body(request))
            return JSONResponse(hook_out(request, doc), status_code=201,
                                headers={"Location": f"{_api_base(request)}/webhooks/{doc['id']}"})
        q = request.query_params
        per_page = _bounded(q, "per_page", 10, 1, 100)
        page = _bounded(q, "page", 1, 1, None)
        offset = _bounded(q, "offset", (page - 1) * per_page, 0, None) if q.get("offset") else (page - 1) * per_page
        found = webhooks.listing(q)
        body = [hook_out(request, d) for d in found[offset:offset + per_page]]
        return JSONResponse(body, headers=listing.headers(request, len(found), per_page, page))

    async def webhook_one(request: Request) -> Response:
        wid = request.path_params["wid"]
        if request.method == "GET":
            return JSONResponse(hook_out(request, webhooks.get(wid)))
        if request.method == "DELETE":
            return JSONResponse(hook_out(request, webhooks.delete(wid, _force(request))))
        return JSONResponse(hook_out(request, webhooks.update(wid, await _body(request))))

    async def no_route(_: Request) -> Response:
        raise WooError(404, "rest_no_route", "No route was found matching the URL and request method.")

    async def order_note(request: Request) -> Response:
        order = sales.order(request.path_params["oid"])
        return JSONResponse(sales.notes.add(order, await _body(request)), status_code=201)

    async def mails(request: Request) -> Response:
        """Control: every mail the shop sent (``notes.MAILS``)."""
        return JSONResponse(sales.notes.mails())

    p, v = f"{API}/products", f"{API}/products/{{pid:int}}/variations"
    routes = [
        ("GET", f"{API}/system_status", system_status),
        ("GET", f"{API}/settings/{{group}}", settings_group),
        ("GET", f"{API}/settings/{{group}}/{{name}}", setting),
        ("PUT", f"{API}/settings/{{group}}/{{name}}", setting),
        ("GET", f"{API}/taxes", plain_list(lambda r: setup.rates(r.query_params.get("class")))),
        ("GET", f"{API}/taxes/classes", plain_list(lambda r: setup.classes())),
        ("GET", f"{API}/coupons", coupons),
        ("POST", f"{API}/coupons", coupons),
        ("GET", p, listing_of(PRODUCTS)),
        ("POST", p, write(PRODUCTS, lambda r, b: catalog.create_product(b), 201)),
        ("POST", f"{p}/batch", batch(PRODUCTS, lambda r, i: catalog.create_product(i),
                                     lambda r, i: catalog.update_product(item_id(i, "product"), i),
                                     lambda r, i: catalog.delete_product(delete_id(i), True))),
        ("GET", f"{p}/{{pid:int}}", one(PRODUCTS, lambda r: catalog.product(pid(r)))),
        ("PUT", f"{p}/{{pid:int}}", write(PRODUCTS, lambda r, b: catalog.update_product(pid(r), b))),
        ("DELETE", f"{p}/{{pid:int}}", one(PRODUCTS, lambda r: catalog.delete_product(pid(r), _force(r)))),
        ("GET", v, listing_of(VARIATIONS, parent=True)),
        ("POST", v, write(VARIATIONS, lambda r, b: catalog.create_variation(pid(r), b), 201)),
        ("POST", f"{v}/batch", batch(VARIATIONS, lambda r, i: catalog.create_variation(pid(r), i),
                                     lambda r, i: catalog.update_variation(pid(r), item_id(i, "product_variation"), i),
                                     lambda r, i: catalog.delete_variation(pid(r), delete_id(i), True))),
        ("GET", f"{v}/{{vid:int}}", one(VARIATIONS, lambda r: catalog.variation(pid(r), r.path_params["vid"]))),
        ("PUT", f"{v}/{{vid:int}}", write(VARIATIONS, lambda r, b: catalog.update_variation(
            pid(r), r.path_params["vid"], b))),
        ("DELETE", f"{v}/{{vid:int}}", one(VARIATIONS, lambda r: catalog.delete_variation(
            pid(r), r.path_params["vid"], _force(r)))),
        ("GET", f"{API}/orders/statuses", plain_list(lambda r: [
            {"slug": slug, "name": name} for slug, name in setup.order_statuses()])),
        ("GET", f"{API}/orders", listing_of(ORDERS)),
        ("POST", f"{API}/orders", write(ORDERS, lambda r, b: sales.create_order(b), 201)),
        ("POST", f"{API}/orders/batch", batch(ORDERS, lambda r, i: sales.create_order(i),
                                              lambda r, i: sales.update_order(item_id(i, "shop_order"), i),
                                              lambda r, i: sales.delete_order(delete_id(i), True))),
        ("GET", f"{API}/orders/{{oid:int}}", one(ORDERS, lambda r: sales.order(r.path_params["oid"]))),
        ("GET", f"{API}/orders/{{oid:int}}/notes", plain_list(lambda r: sales.notes.of(
            sales.order(r.path_params["oid"]), r.query_params.get("type", "any")))),
        ("POST", f"{API}/orders/{{oid:int}}/notes", order_note),
        ("PUT", f"{API}/orders/{{oid:int}}", write(ORDERS, lambda r, b: sales.update_order(r.path_params["oid"], b))),
        ("DELETE", f"{API}/orders/{{oid:int}}", one(ORDERS, lambda r: sales.delete_order(
            r.path_params["oid"], _force(r)))),
        ("GET", f"{API}/webhooks", webhooks_list),
        ("POST", f"{API}/webhooks", webhooks_list),
        ("POST", f"{API}/webhooks/batch", batch_webhooks(webhooks, hook_out)),
        ("GET", f"{API}/webhooks/{{wid:int}}", webhook_one),
        ("PUT", f"{API}/webhooks/{{wid:int}}", webhook_one),
        ("DELETE", f"{API}/webhooks/{{wid:int}}", webhook_one),
        ("GET", f"{API}/customers", listing_of(CUSTOMERS)),
        ("POST", f"{API}/customers", write(CUSTOMERS, lambda r, b: sales.create_customer(b), 201)),
        ("GET", f"{API}/customers/{{cid:int}}", one(CUSTOMERS, lambda r: sales.customer(r.path_params["cid"]))),
        ("PUT", f"{API}/customers/{{cid:int}}", write(CUSTOMERS, lambda r, b: sales.update_customer(
            r.path_params["cid"], b))),
    ]
    async def register_status(request: Request) -> Response:
        """Control: a status plugin registers ``{"slug", "name"}`` (see ``setup.CUSTOM_STATUSES_OPTION``)."""
        body = await request.json()
        setup.register_order_status(str(body["slug"]), str(body.get("name") or body["slug"]))
        return JSONResponse(setup.order_statuses())

    everything = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    editable = ["POST", "PUT", "PATCH"]  # WordPress's EDITABLE methods
    return [Route(f"{SANDBOX_PREFIX}/woocommerce/order-statuses", register_status, methods=["POST"]),
            Route(f"{SANDBOX_PREFIX}/woocommerce/mails", mails, methods=["GET"])] + [
        Route(path, _guard(h, deliver), methods=editable if m == "PUT" else [m]) for m, path, h in routes] + [
        Route("/{path:path}", _guard(no_route), methods=everything)]


def _bounded(params, name: str, default: int, low: int, high: int | None) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise WooError(400, "rest_invalid_param", f"Invalid parameter(s): {name}",
                       {name: f"{name} is not of type integer."}) from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} ({low}) and {high} ({high})" if high is not None else f"greater than or equal to {low}"
        raise WooError(400, "rest_invalid_param", f"Invalid parameter(s): {name}", {name: f"{name} must be {bound}"})
    return value


def batch_webhooks(webhooks: hooks.Webhooks, out: Callable[[Request, dict], dict]) -> Handler:
    """``POST /webhooks/batch``: each item applied on its own, a failure answered in its place
    [doc: webhooks.md "Batch update webhooks"; the 100 items limit as for the other resources]."""
    async def handler(request: Request) -> Response:
        body = await _body(request)
        if not isinstance(body, dict):
            raise WooError(400, "rest_invalid_param", "Invalid parameter(s): create")
        lists = [body[n] for n in ("create", "update", "delete") if isinstance(body.get(n), list)]
        if sum(len(items) for items in lists) > BATCH_LIMIT:
            raise WooError(413, "woocommerce_rest_request_entity_too_large",
                           f"Unable to accept more than {BATCH_LIMIT} items for this request.")
        steps = {"create": lambda i: webhooks.create(i),
                 "update": lambda i: webhooks.update(i.get("id") if isinstance(i, dict) else 0, i),
                 "delete": lambda i: webhooks.delete(i, True)}
        answer: dict[str, list] = {}
        for name, apply in steps.items():
            if name not in body:
                continue
            if not isinstance(body[name], list):
                raise WooError(400, "rest_invalid_param", f"Invalid parameter(s): {name}",
                               {name: f"{name} is not of type array."})
            answer[name] = []
            for item in body[name]:
                try:
                    answer[name].append(out(request, apply(item)))
                except WooError as exc:
                    item_id = item if name == "delete" else (item.get("id", 0) if isinstance(item, dict) else 0)
                    answer[name].append({"id": item_id if name != "create" else 0, "error": exc.body()})
        return JSONResponse(answer)
    return handler


def create(*, db_path: str = ":memory:", knobs: Knobs, credentials: dict[str, str], demo: bool = True):
    auth = Auth(credentials["consumer_key"], credentials["consumer_secret"])
    store = WooDocuments(db_path)
    setup = ShopSetup(store)
    sandbox = Sandbox("woocommerce", _style(auth), store, knobs, auth.check, demo_data.load_demo,
                      load_base=lambda sb: setup.load_defaults())
    catalog = Catalog(store)
    app = build_app(sandbox, _routes(sandbox, catalog, Sales(store, catalog, setup)))
    if store.count("options") == 0:
        setup.load_defaults()
    if demo and store.count(PRODUCTS) == 0:
        demo_data.load_demo(sandbox)
    return sandbox, app
