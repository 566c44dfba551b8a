"""Collection queries: WordPress paging (``page``, ``per_page`` 1..100, ``offset``), sorting and filters.

Each filter becomes an SQL clause; indexed columns serve the hot ones (``sku`` -> ``key``,
``modified_after``/``modified_before`` -> ``modified``, variations by ``parent``), so a page of a
large catalogue costs one small query. Answers carry ``X-WP-Total``, ``X-WP-TotalPages`` and ``Link``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request

from integrations_dagster.sandbox.base import int_param
from integrations_dagster.sandbox.woocommerce.clock import FMT, parse_wall_clock, site_to_gmt
from integrations_dagster.sandbox.woocommerce.errors import invalid_param
from integrations_dagster.sandbox.woocommerce.schema import ORDER_STATUSES, PRODUCT_ENUMS


def _j(field: str) -> str:
    return f"json_extract(data, '$.{field}')"


SORTS = {
    "products": {"date": _j("date_created_gmt"), "id": "id", "include": None, "title": _j("name"),
                 "slug": _j("slug"), "price": f"CAST({_j('price')} AS REAL)", "popularity": _j("total_sales"),
                 "rating": f"CAST({_j('average_rating')} AS REAL)", "modified": "modified",
                 "menu_order": _j("menu_order")},
    "variations": {"date": _j("date_created_gmt"), "modified": "modified", "id": "id", "include": None,
                   "title": "id", "slug": "id", "menu_order": _j("menu_order")},
    "orders": {"date": _j("date_created_gmt"), "id": "id", "include": None, "title": _j("date_created_gmt"),
               "slug": "id", "modified": "modified"},
    "customers": {"id": "id", "include": None, "name": f"{_j('first_name')} || ' ' || {_j('last_name')}",
                  "registered_date": _j("date_created_gmt")},
}
DEFAULT_SORT = {"products": ("date", "desc"), "variations": ("date", "desc"), "orders": ("date", "desc"),
                "customers": ("name", "asc")}


@dataclass
class Query:
    where: list[str]
    args: list
    order_by: str
    limit: int
    offset: int
    page: int
    per_page: int


def _int(request: Request, name: str, default: int, low: int, high: int | None = None) -> int:
    def refuse(kind: str, _raw: str) -> Exception:
        if kind == "type":
            return invalid_param(name, f"{name} is not of type integer.")
        bounds = f"between {low} (inclusive) and {high} (inclusive)" if high else f"greater than or equal to {low}"
        return invalid_param(name, f"{name} must be {bounds}")

    return int_param(request, name, default, low, high, refuse)


def _list(request: Request, name: str) -> list[str]:
    values = request.query_params.getlist(name) + request.query_params.getlist(f"{name}[]")
    return [v.strip() for raw in values for v in raw.split(",") if v.strip()]


def dp(request: Request, default: int) -> int:
    """The ``dp`` parameter of order requests: decimals of the money fields (default: the shop's)."""
    return _int(request, "dp", default, 0, 12)


def fields(request: Request) -> list[str]:
    """The ``_fields`` global parameter (a comma list or ``_fields[]=``), on every route."""
    return _list(request, "_fields")


def _ids(request: Request, name: str) -> list[int]:
    try:
        return [int(v) for v in _list(request, name)]
    except ValueError:
        raise invalid_param(name, f"{name}[0] is not of type integer.") from None


def _bool(request: Request, name: str) -> bool:
    return request.query_params.get(name, "false").lower() in ("1", "true")


def build(request: Request, collection: str, order_statuses: tuple[str, ...] = ORDER_STATUSES) -> Query:
    """Translate the query string of a list request; refuse what WordPress's schema refuses."""
    page = _int(request, "page", 1, 1)
    per_page = _int(request, "per_page", 10, 1, 100)
    offset = _int(request, "offset", (page - 1) * per_page, 0)
    where: list[str] = []
    args: list = []
    include = _ids(request, "include")
    if include:
        where.append(f"id IN ({','.join('?' * len(include))})")
        args += include
    exclude = _ids(request, "exclude")
    if exclude:
        where.append(f"id NOT IN ({','.join('?' * len(exclude))})")
        args += exclude
    if collection in ("products", "orders"):
        gmt = _bool(request, "dates_are_gmt")
        for name, column, op in (("modified_after", "modified", ">"), ("modified_before", "modified", "<"),
                                 ("after", _j("date_created_gmt"), ">"), ("before", _j("date_created_gmt"), "<")):
            raw = request.query_params.get(name)
            if raw is None:
                continue
            try:
                wall = parse_wall_clock(raw)
            except ValueError:
                raise invalid_param(name, "Invalid date.") from None
            where.append(f"{column} {op} ?")
            args.append((wall if gmt else site_to_gmt(wall)).strftime(FMT))
    if collection in ("products", "variations"):
        _product_filters(request, collection, where, args)
    if collection == "orders":
        statuses = _list(request, "status") or ["any"]
        for status in statuses:
            if status != "any" and status not in order_statuses:
                raise invalid_param("status", f"status[0] is not one of any, {', '.join(order_statuses)}.")
        if "any" in statuses:
            where.append(f"{_j('status')} != 'trash'")
        else:
            where.append(f"{_j('status')} IN ({','.join('?' * len(statuses))})")
            args += statuses
        if request.query_params.get("customer"):
            where.append(f"{_j('customer_id')} = ?")
            args.append(_int(request, "customer", 0, 0))
    if collection == "customers":
        if request.query_params.get("email"):
            where.append("key = ?")
            args.append(request.query_params["email"].strip().lower())
        role = request.query_params.get("role", "customer")
        if role != "all":
            where.append(f"{_j('role')} = ?")
            args.append(role)
    return Query(where, args, _order(request, collection, include), per_page, offset, page, per_page)


_OCTET = re.compile(r"%[a-f0-9]{2}", re.I)


def search_term(request: Request) -> str:
    """The ``search`` parameter as the controller hands it on as ``s``, or "" when it searches nothing.

    Its schema cleans it with ``sanitize_text_field`` [source: woocommerce/woocommerce,
    plugins/woocommerce/includes/rest-api/Controllers/Version3/class-wc-rest-crud-controller.php
    get_collection_params, prepare_objects_query ``$args['s'] = $request['search']``]: runs of
    whitespace become one space, the ends are trimmed, ``%xx`` octets are dropped [source: WordPress
    wp-includes/formatting.php _sanitize_text_fields; GUESS: its tag stripping is not emulated].
    "" and "0" search nothing: ``! empty( $this->args['s'] )`` [source: plugins/woocommerce/src/Internal/
    DataStores/Orders/OrdersTableQuery.php build_query]."""
    term = re.sub(r"[\r\n\t ]+", " ", request.query_params.get("search", "")).strip()
    if _OCTET.search(term):
        while found := _OCTET.search(term):
            term = term.replace(found.group(0), "")
        term = re.sub(" +", " ", term).strip()
    return "" if term == "0" else term


def searches_variations(request: Request, collection: str) -> bool:
    """Whether a products list runs over variations too: WooCommerce searches both post types when
    the query filters by SKU, so ``/products?sku=`` finds a variation by its own SKU and answers it
    (``type: "variation"``, ``parent_id``) among the products [source: woocommerce/woocommerce,
    plugins/woocommerce/includes/rest-api/Controllers/Version3/class-wc-rest-products-controller.php
    prepare_objects_query: "Force the post_type argument" -> ``array( 'product', 'product_variation' )``
    when ``sku`` is set]."""
    return collection == "products" and bool(request.query_params.get("sku"))


def _product_filters(request: Request, collection: str, where: list[str], args: list) -> None:
    if request.query_params.get("sku"):
        skus = _list(request, "sku")
        if len(skus) > 1:  # "Include the current string as a SKU too" (a SKU holding a comma) [source: as above]
            skus.append(request.query_params["sku"].strip())
        where.append(f"key IN ({','.join('?' * len(skus))})")
        args += skus
    status = request.query_params.get("status", "any")
    allowed = ("any", "trash", *PRODUCT_ENUMS["status"])
    if status not in allowed:
        raise invalid_param("status", f"status is not one of {', '.join(allowed)}.")
    if status == "any":
        where.append(f"{_j('status')} != 'trash'")
    else:
        where.append(f"{_j('status')} = ?")
        args.append(status)
    for name in ("type", "stock_status") if collection == "products" else ("stock_status",):
        value = request.query_params.get(name)
        if value is None:
            continue
        if value not in PRODUCT_ENUMS[name]:
            raise invalid_param(name, f"{name} is not one of {', '.join(PRODUCT_ENUMS[name])}.")
        where.append(f"{_j(name)} = ?")
        args.append(value)


def _order(request: Request, collection: str, include: list[int]) -> str:
    default_by, default_dir = DEFAULT_SORT[collection]
    orderby = request.query_params.get("orderby", default_by)
    direction = request.query_params.get("order", default_dir)
    if orderby not in SORTS[collection]:
        raise invalid_param("orderby", f"orderby is not one of {', '.join(SORTS[collection])}.")
    if direction not in ("asc", "desc"):
        raise invalid_param("order", "order is not one of asc, desc.")
    if orderby == "include":
        if not include:
            raise invalid_param("orderby", "You need to define an include parameter to order by include.")
        cases = " ".join(f"WHEN {i} THEN {n}" for n, i in enumerate(include))
        return f"CASE id {cases} END"
    column = SORTS[collection][orderby]
    return f"{column} {direction.upper()}, id {direction.upper()}"


def headers(request: Request, total: int, per_page: int, page: int) -> dict[str, str]:
    pages = -(-total // per_page) if total else 0
    out = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    links = []
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page", "consumer_key", "consumer_secret")]
    base = str(request.url.replace(query=""))
    if page > 1 and pages:
        links.append(f'<{base}?{urlencode(params + [("page", min(page - 1, pages))])}>; rel="prev"')
    if page < pages:
        links.append(f'<{base}?{urlencode(params + [("page", page + 1)])}>; rel="next"')
    if links:
        out["Link"] = ", ".join(links)
    return out
