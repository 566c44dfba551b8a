"""Reconciliation, read-only: does Fortnox still hold what a flow wrote there? (:meth:`FortnoxResource.verify`)

The engine hands over the records the source has now that the flow last wrote as they are; what
differs here was changed in Fortnox (by hand, by another app) or written wrong. Each check compares
with what the writer (``client._upsert_article`` / ``client._write_order``) would send today, through
the same mapping, so verify and write never disagree on what "right" is.

**Products** — one drift per sellable unit and field. Read in bulk, as the rate limit (25 requests
per 5 s) makes one request per SKU cost minutes on a real catalogue:

* every article, 500 a page (``GET /3/articles``): whether it exists, and the list item's
  ``Description``, ``EAN`` and ``SalesPrice`` [spec: fortnox_ArticleListItem];
* the inactive ones (``GET /3/articles?filter=inactive`` [spec: the ``filter`` enum active/inactive]):
  ``Active``, which the list item does not carry;
* the price: ``SalesPrice`` is "the price of the article for the default price list" [doc:
  developer.fortnox.se/blog/upcoming-api-changes-in-april, "both in the list of articles and for a
  single article ... without additional requests to the price resource"]; the default list is the
  one ``GET /3/pricelists`` marks ``PreSelected`` (see :func:`_listed_price_list`). Another price
  list costs one ``GET /3/prices/{list}/{article}/0`` per article.

``Weight`` and ``VAT`` are not verified: the list item has no weight, and its ``VAT`` is null
[rec: articles/search_by_name.yml], so they would cost one ``GET /3/articles/{number}`` each.
Stock is never verified: Fortnox owns it after the article is created. A flow in mode ``create``
writes an article's fields only when it creates it (it links an existing one untouched), so only
that the article exists is checked there.

**Orders** — each order the id map binds to a document (an unbound one is pending, not drift):
one ``GET`` per document, as the list item has ``Total`` but neither ``RoundOff`` nor ``TotalVAT``
[rec: orders/all.yml, invoices/all.yml]. Fortnox rounds a document to whole kronor into ``RoundOff``, so what it
charges is ``Total - RoundOff``; that must be the shop's total, and ``TotalVAT`` its tax (as
:func:`~.documents.totals_differ` checks a document right after it is created).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterator
from urllib.parse import quote

from integrations_dagster.connectors.base import Drift, WriteContext
from integrations_dagster.connectors.fortnox import mapping
from integrations_dagster.connectors.fortnox.client import DOCUMENTS, MODES, STREAMS, FortnoxResource
from integrations_dagster.model import CanonicalRecord, Order, Product, to_decimal
from integrations_dagster.model.product import SellableUnit

CENT = Decimal("0.01")
PAGE = 500  # Fortnox's largest list page
# The owned article fields the list items carry (Active through ``filter=inactive``); the others an
# article payload may hold (Weight, VAT) are only on the single article: not verified (see above).
LISTED_FIELDS = ("Description", "EAN", "Active")
# Which list SalesPrice mirrors when no price list says PreSelected: "A", the list every new company
# has and preselects [doc: developer.fortnox.se price-lists, the example answers A with PreSelected
# true]. A guess only for an answer without the flag.
STANDARD_PRICE_LIST = "A"


def verify(fx: FortnoxResource, entity: str, records: list[CanonicalRecord], ctx: WriteContext) -> Iterator[Drift]:
    if entity == "products":
        yield from _products(fx, [r for r in records if isinstance(r, Product)], ctx)
    elif entity == "orders":
        yield from _orders(fx, [r for r in records if isinstance(r, Order)], ctx)
    else:
        raise ValueError(f"Fortnox is not a target of {entity!r}")


# -- products -------------------------------------------------------------------------------------

def _products(fx: FortnoxResource, products: list[Product], ctx: WriteContext) -> Iterator[Drift]:
    mode = ctx.options.get("mode", "both")
    if mode not in MODES:
        raise ValueError(f"mode {mode!r} is not one of {', '.join(MODES)}")
    units = [unit for product in products for unit in product.sellable_units()]
    if not units:
        return
    articles = {str(a.get("ArticleNumber", "")).casefold(): a for a in _all_articles(fx)}
    writes_fields = mode != "create"  # mode create links an article it finds and writes nothing to it
    inactive = _inactive_numbers(fx) if writes_fields and ctx.owned("active") else set()
    check_price = writes_fields and ctx.owned("price")
    listed_prices = check_price and _listed_price_list(fx) == fx.price_list
    includes_vat = bool(ctx.options.get("price_list_includes_vat", False))  # as the writer reads it
    for unit in units:
        number = ctx.binder.external_id("products", unit.sku) or unit.sku
        article = articles.get(number.casefold())
        if article is None:
            yield Drift(unit.sku, "record", f"article {number}", None)
            continue
        if not writes_fields:
            continue
        yield from _article_fields(unit, article, number.casefold() in inactive, ctx)
        if check_price:
            expected = mapping.list_price(unit, includes_vat)
            if expected is not None:
                actual = article.get("SalesPrice") if listed_prices else _price_of(fx, article["ArticleNumber"])
                if actual in (None, "") or to_decimal(actual, f"article {number}: price") != expected:
                    yield Drift(unit.sku, f"price list {fx.price_list}", _money(expected),
                                None if actual in (None, "") else _money(to_decimal(actual)))


def _article_fields(unit: SellableUnit, article: dict[str, Any], inactive: bool, ctx: WriteContext) -> Iterator[Drift]:
    """The owned fields the writer sends that the list shows, where the article differs."""
    try:
        payload, _ = mapping.article_payload(unit)
    except ValueError:
        return  # the writer refuses this unit: failed_records reports it, there is nothing to compare
    owned = mapping.owned(payload, ctx.owns)
    for name in LISTED_FIELDS:
        if name not in owned:
            continue
        expected = owned[name]
        actual = not inactive if name == "Active" else (article.get(name) or "")
        if actual != expected:
            yield Drift(unit.sku, name, _text(expected), _text(actual))


def _all_articles(fx: FortnoxResource) -> Iterator[dict]:
    yield from fx._list("articles", limit=PAGE)


def _inactive_numbers(fx: FortnoxResource) -> set[str]:
    return {str(a.get("ArticleNumber", "")).casefold() for a in fx._list("articles", filter="inactive", limit=PAGE)}


def _listed_price_list(fx: FortnoxResource) -> str:
    """The price list whose price at quantity 0 the articles' ``SalesPrice`` shows: the preselected one."""
    body = fx.http().get("/3/pricelists", limit=PAGE)
    preselected = [p.get("Code") for p in body.get("PriceLists") or [] if p.get("PreSelected") is True]
    return str(preselected[0]) if len(preselected) == 1 else STANDARD_PRICE_LIST


def _price_of(fx: FortnoxResource, number: str) -> Any:
    """The article's price in the connection's price list from quantity 0; None when it has none."""
    found = fx._get(fx._price_path(number))
    return ((found or {}).get("Price") or {}).get("Price")


# -- orders ---------------------------------------------------------------------------------------

def _orders(fx: FortnoxResource, orders: list[Order], ctx: WriteContext) -> Iterator[Drift]:
    kind = ctx.options.get("document", "order")
    if kind not in DOCUMENTS:
        raise ValueError(f"document {kind!r} is not one of {', '.join(DOCUMENTS)}")
    collection, wrapper = DOCUMENTS[kind]
    for order in orders:
        number = ctx.binder.external_id(collection, order.key)
        if number is None:
            continue  # not written yet: pending, not drift
        found = fx._get(f"{STREAMS[collection].path}/{quote(number, safe='')}")
        doc = (found or {}).get(wrapper)
        if not isinstance(doc, dict):
            yield Drift(order.key, "record", f"{kind} {number}", None)
            continue
        charged = _decimal(doc.get("Total"), order, kind, number) - _decimal(doc.get("RoundOff"), order, kind, number)
        if charged != order.total.amount:
            yield Drift(order.key, "Total", _money(order.total.amount), _money(charged))
        vat = order.total_vat.amount if order.total_vat else Decimal(0)
        actual_vat = _decimal(doc.get("TotalVAT"), order, kind, number)
        if actual_vat != vat:
            yield Drift(order.key, "TotalVAT", _money(vat), _money(actual_vat))


def _decimal(value: Any, order: Order, kind: str, number: str) -> Decimal:
    return Decimal(0) if value in (None, "") else to_decimal(value, f"order {order.key}: Fortnox {kind} {number}")


# -- values as a person reads them ----------------------------------------------------------------

def _money(value: Decimal) -> str:
    """An amount as the drift table shows it, e.g. ``799.20``: two decimals, unless rounding to two
    would hide a difference in a finer amount."""
    return str(value.quantize(CENT)) if value == value.quantize(CENT) else str(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
