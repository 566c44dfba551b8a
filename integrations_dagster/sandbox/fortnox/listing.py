"""List endpoints the Fortnox way: filters, ``lastmodified``, sorting, paging, ``MetaInformation``.

Each list declares its resource filters exactly as the OpenAPI document lists them; filters the
document lists but the sandbox does not emulate answer 400 rather than being silently ignored.
Text search semantics are not documented [unverified]: number/reference/e-mail filters match the
whole value (case-insensitive), name-like filters match a substring.
Paging: ``page`` (1-based), ``limit`` (default 100, max 500 — common knowledge, not in the stored
docs [unverified]) and ``offset`` (records skipped before the page).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from starlette.requests import Request

from integrations_dagster.sandbox.base import DocumentStore, int_param
from integrations_dagster.sandbox.fortnox.wire import CODE_INVALID_FILTER, Refusal, dec, parse_date, parse_lastmodified

DEFAULT_LIMIT, MAX_LIMIT = 100, 500
Predicate = Callable[[dict, str], bool]


def exact(field_name: str) -> Predicate:
    return lambda doc, value: str(doc.get(field_name) or "").lower() == value.lower()


def contains(field_name: str) -> Predicate:
    return lambda doc, value: value.lower() in str(doc.get(field_name) or "").lower()


def flag(field_name: str) -> Predicate:
    return lambda doc, value: bool(doc.get(field_name)) == (value.lower() == "true")


def date_from(field_name: str) -> Predicate:
    return lambda doc, value: str(doc.get(field_name) or "") >= parse_date(value, field_name).isoformat()


def date_to(field_name: str) -> Predicate:
    return lambda doc, value: str(doc.get(field_name) or "") <= parse_date(value, field_name).isoformat()


def natural(value: Any) -> tuple:
    """Sort key: numbers numerically before text ("2" < "10" < "A1")."""
    text = str(value or "")
    return (0, int(text), "") if text.isdigit() else (1, 0, text.lower())


def number(field_name: str) -> Callable[[dict], Any]:
    return lambda doc: dec(doc.get(field_name) or 0)


@dataclass
class ListSpec:
    collection: str
    wrapper: str  # "Articles"
    project: Callable[[dict, str], dict]  # (stored document, base URL) -> the spec's list item
    filters: dict[str, Predicate] = field(default_factory=dict)  # query param -> predicate
    named_filters: dict[str, Callable[[dict], bool]] = field(default_factory=dict)  # ?filter=<name>
    sorts: dict[str, Callable[[dict], Any]] = field(default_factory=dict)  # ?sortby=<name>
    default_sort: str = ""
    not_emulated: frozenset[str] = frozenset()


def _int_param(request: Request, name: str, default: int, low: int, high: int | None = None) -> int:
    return int_param(request, name, default, low, high,
                     lambda _kind, raw: Refusal(400, f"Ogiltigt värde för {name}: {raw!r}."))


def list_page(request: Request, store: DocumentStore, spec: ListSpec) -> dict:
    q = request.query_params
    for name in spec.not_emulated:
        if name in q:
            raise Refusal(400, f"The sandbox does not emulate the filter {name!r}.")
    since = parse_lastmodified(q["lastmodified"]) if q.get("lastmodified") else None
    docs = store.find(spec.collection, modified_after=since)
    if "filter" in q:
        if q["filter"] not in spec.named_filters:  # [rec: invoices/filter_invalid.yml, orders/filter_invalid.yml]
            raise Refusal(400, "Ett ogiltigt filter har använts.", CODE_INVALID_FILTER)
        docs = [d for d in docs if spec.named_filters[q["filter"]](d)]
    for name, predicate in spec.filters.items():
        if q.get(name):
            docs = [d for d in docs if predicate(d, q[name])]
    sortby = q.get("sortby") or spec.default_sort
    if sortby not in spec.sorts:
        raise Refusal(400, f"Ogiltigt värde för sortby: {sortby!r}.")
    order = q.get("sortorder", "ascending")
    if order not in ("ascending", "descending"):
        raise Refusal(400, f"Ogiltigt värde för sortorder: {order!r}.")
    docs.sort(key=spec.sorts[sortby], reverse=order == "descending")
    limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    page = _int_param(request, "page", 1, 1)
    offset = _int_param(request, "offset", 0, 0)
    start = (page - 1) * limit + offset
    base = str(request.base_url).rstrip("/")
    return {
        spec.wrapper: [spec.project(d, base) for d in docs[start:start + limit]],
        "MetaInformation": {"@TotalResources": len(docs), "@TotalPages": math.ceil(len(docs) / limit),
                            "@CurrentPage": page},
    }
