"""Query parameters of the v3 catalog lists: paging, ``include``, field selection and product filters.

Filter names are the spec's [spec: products_catalog.v3.yml#getProducts]: ``id``, ``id:in``,
``id:not_in``, ``id:min|max|greater|less``, ``name``, ``name:like``, ``sku`` (main SKU only, §9.8),
``sku:in``, ``upc``, ``is_visible``, ``inventory_tracking``-free stock filters ``inventory_level[:min|:max]``,
``date_modified``, ``date_modified:min|max`` (a bare date gets the request's time, §9.7),
``categories`` (a product in exactly that one category, [spec: …#components/parameters/CategoriesParam]),
``categories:in`` (any of the ids: SQL-IN as the common-params doc reads [doc:
BCdocs:docs/start/about/common-query-params.mdx]; the spec's "all" wording is unresolved, §2.2), ``type``,
``sort`` + ``direction``. Unknown parameters are ignored (no evidence of a refusal).
"""

from __future__ import annotations

from typing import Mapping

from integrations_dagster.sandbox.bigcommerce import shapes
from integrations_dagster.sandbox.bigcommerce.catalog import Catalog
from integrations_dagster.sandbox.bigcommerce.wire import parse_any_date, v3_error

MAX_LIMIT = 250
DEFAULT_LIMIT = 50
SORTABLE = {"id", "name", "sku", "price", "date_modified", "inventory_level", "is_visible", "total_sold"}


def paging(q: Mapping[str, str], cap: int | None = None, max_limit: int = MAX_LIMIT) -> tuple[int, int]:
    try:
        page_no = int(q.get("page", 1))
        limit = int(q.get("limit", DEFAULT_LIMIT))
    except ValueError:
        raise v3_error(422, "Invalid paging parameter", {"page": "page and limit must be integers"}) from None
    if limit > max_limit:
        raise v3_error(413, "The `limit` parameter exceeded the maximum", {"limit": f"The maximum limit is {max_limit}"})
    if page_no < 1 or limit < 1:
        raise v3_error(422, "Invalid paging parameter", {"page": "page and limit must be positive"})
    return page_no, min(limit, cap) if cap else limit


def include(q: Mapping[str, str]) -> set[str]:
    return {part.strip() for part in q.get("include", "").split(",") if part.strip()}


def field_sets(q: Mapping[str, str]) -> tuple[set[str], set[str]]:
    split = lambda raw: {p.strip() for p in raw.split(",") if p.strip()}  # noqa: E731
    return split(q.get("include_fields", "")), split(q.get("exclude_fields", ""))


def kept(q: Mapping[str, str]) -> dict[str, str]:
    """The parameters a pagination link repeats (all but page/limit)."""
    return {k: v for k, v in q.items() if k not in ("page", "limit")}


def _ints(raw: str) -> set[int]:
    try:
        return {int(x) for x in raw.split(",") if x.strip()}
    except ValueError:
        raise v3_error(422, "Invalid filter", {"id": f"{raw!r} is not a list of integers"}) from None


def _num(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise v3_error(422, "Invalid filter", {"filter": f"{raw!r} is not a number"}) from None


def product_matches(catalog: Catalog, product: dict, q: Mapping[str, str]) -> bool:
    pid = product["id"]
    checks = {
        "id": lambda v: pid == int(_num(v)),
        "id:in": lambda v: pid in _ints(v),
        "id:not_in": lambda v: pid not in _ints(v),
        "id:min": lambda v: pid >= _num(v),
        "id:max": lambda v: pid <= _num(v),
        "id:greater": lambda v: pid > _num(v),
        "id:less": lambda v: pid < _num(v),
        "name": lambda v: product["name"] == v,
        "name:like": lambda v: v.lower() in product["name"].lower(),
        "sku": lambda v: product["sku"].lower() == v.lower(),
        "sku:in": lambda v: product["sku"].lower() in {s.strip().lower() for s in v.split(",")},
        "upc": lambda v: product["upc"] == v,
        "type": lambda v: product["type"] == v,
        "is_visible": lambda v: product["is_visible"] == (v.lower() in ("true", "1")),
        "price": lambda v: float(product["price"]) == _num(v),
        "inventory_level": lambda v: shapes.product_level(catalog, product) == _num(v),
        "inventory_level:min": lambda v: shapes.product_level(catalog, product) >= _num(v),
        "inventory_level:max": lambda v: shapes.product_level(catalog, product) <= _num(v),
        "date_modified": lambda v: product["_modified"][:19] == parse_any_date(v, date_only_gets_now=True)[:19],
        "date_modified:min": lambda v: product["_modified"][:19] >= parse_any_date(v, date_only_gets_now=True)[:19],
        "date_modified:max": lambda v: product["_modified"][:19] <= parse_any_date(v, date_only_gets_now=True)[:19],
        "categories": lambda v: product["categories"] == [int(_num(v))],
        "categories:in": lambda v: bool(set(product["categories"]) & _ints(v)),
        "keyword": lambda v: v.lower() in (product["name"] + " " + product["description"] + " " + product["sku"]).lower(),
    }
    return all(test(q[name]) for name, test in checks.items() if name in q)


def sort_products(rows: list[dict], q: Mapping[str, str]) -> list[dict]:
    """``sort`` (default id) and ``direction`` asc|desc [spec: products_catalog.v3.yml#getProducts]."""
    field = q.get("sort", "id")
    if field not in SORTABLE:
        raise v3_error(422, "Invalid sort field", {"sort": f"{field!r} is not sortable"})
    key = (lambda p: p["_modified"]) if field == "date_modified" else (lambda p: (p.get(field), p["id"]))
    return sorted(rows, key=key, reverse=q.get("direction", "asc") == "desc")
