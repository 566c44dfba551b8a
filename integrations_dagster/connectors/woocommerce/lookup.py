"""Re-sending named records: the shop's products and orders that hold the keys a person or the sync log gives.

:meth:`WooCommerceResource.read_keys` answers through here. Each function returns the raw records in
the shape ``read()`` yields them (the same ``_fields``, a variable product with its ``_variations``),
so the flow maps them as it maps any read, and a reason for every key no record holds.

How keys are read:

* **products** — a SKU, matched without case as WooCommerce keeps SKUs unique without case: a
  product's SKU, or a variation's own SKU, which answers the variation's *product* (the canonical
  record is one per product, its variants inside); ``parent:<id>`` (the key of a variable product
  without SKU); ``product <id>`` and ``product <id> variation <id>`` (how the sync log names records
  it could not map); with ``missing_sku: generate``, a generated number (``WC-<id>``) of a simple
  product. The SKU filter of ``GET /products`` searches products and variations alike [source:
  woocommerce/woocommerce, plugins/woocommerce/includes/rest-api/Controllers/Version3/
  class-wc-rest-products-controller.php prepare_objects_query: with ``sku`` set the query runs over
  ``array( 'product', 'product_variation' )``; a hit that is a variation answers ``type:
  "variation"`` and its ``parent_id``]; the filter splits its value at commas (the whole value is
  tried too), so a SKU holding a comma is asked for alone.
* **orders** — ``<connection>:<id>`` (the canonical key), ``order <id>`` (the sync log's name of an
  order it could not map), or the order number the shop shows ("1234" or "#1234"). WooCommerce's
  order number is the order's id unless a plugin numbers orders apart [source: woocommerce/woocommerce,
  WC_Order::get_order_number: ``apply_filters( 'woocommerce_order_number', $this->get_id(), $this )``];
  the REST API has no filter by number, so a typed number is looked up as an id (``include``, one
  request per 100) and must come back with that number.
  An order in a status the flow does not read (option ``statuses``) is refused with its status.

Records deleted to the trash are not found: ``read()`` does not see them either (list status ``any``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from integrations_dagster.connectors.woocommerce import mapping
from integrations_dagster.connectors.woocommerce.client import PAGE_SIZE, Stream

if TYPE_CHECKING:
    from integrations_dagster.connectors.woocommerce.client import WooCommerceResource

# read()'s default (WooCommerceResource.read: options.get("statuses", [...])).
DEFAULT_STATUSES = ("processing", "completed")
SKUS_PER_REQUEST = 50  # keeps the query string short; a SKU list is one request per this many
LOOKUP_FIELDS = ("id", "type", "sku", "parent_id")
PARENT_KEY = re.compile(r"parent:(\d+)")
LOGGED_PRODUCT = re.compile(r"product (\d+)(?: variation \d+)?")
LOGGED_ORDER = re.compile(r"order (\d+)")
ORDER_NUMBER = re.compile(r"#?\s*(\d+)")


def products(shop: "WooCommerceResource", keys: list[str],
             options: dict[str, Any]) -> tuple[list[dict], dict[str, str]]:
    """The products holding ``keys`` (each once, with its variations) and why the others were not found."""
    wanted: dict[int, list[tuple[str, str]]] = {}  # product id -> (key naming it, why when the shop has no such id)
    missing: dict[str, str] = {}
    by_sku: list[str] = []
    for key in _unique(keys):
        text = key.strip()
        named = PARENT_KEY.fullmatch(text) or LOGGED_PRODUCT.fullmatch(text)
        if named:
            why = f"no product {named[1]} in the shop (or it is in the trash)"
            wanted.setdefault(int(named[1]), []).append((key, why))
        elif text:
            by_sku.append(key)
        else:
            missing[key] = "an empty key names no product"
    skus = mapping.Skus(options)
    for key, found in _ids_by_sku(shop, by_sku).items():
        sku = key.strip()
        generated = _generated_id(sku, skus)
        if found is not None:
            wanted.setdefault(found, []).append((key, f"SKU {sku!r} belongs to product {found}, which the shop did not "
                                                      "answer (in the trash?)"))
        elif generated is not None:
            wanted.setdefault(generated, []).append((key, f"no product or variation with SKU {sku!r}, and no product "
                                                          f"{generated} to have it as a generated number"))
        else:
            missing[key] = f"no product or variation with SKU {sku!r} in the shop"
    records = list(_products_by_id(shop, sorted(wanted)))
    answered = {raw.get("id") for raw in records}
    for product_id, named in wanted.items():
        if product_id not in answered:
            missing.update(named)
    return records, missing


def orders(shop: "WooCommerceResource", keys: list[str],
           options: dict[str, Any]) -> tuple[list[dict], dict[str, str]]:
    """The orders holding ``keys`` (each once) and why the others were not found or are not sent."""
    connection = options.get("connection")
    statuses = tuple(options.get("statuses") or DEFAULT_STATUSES)
    wanted: dict[int, list[tuple[str, str | None]]] = {}  # order id -> (key, the number typed or None)
    missing: dict[str, str] = {}
    for key in _unique(keys):
        order_id, number = _order_reference(key.strip(), connection)
        if order_id is None:
            missing[key] = (f"{key.strip()!r} is not an order number of the shop (digits, e.g. 1234 or #1234), "
                            f"nor an order key ({connection or '<connection>'}:<order id>)")
        else:
            wanted.setdefault(order_id, []).append((key, number))
    records: list[dict] = []
    answered: set[int] = set()
    for chunk in _chunks(sorted(wanted), PAGE_SIZE):
        stream = Stream("/orders", {"include": ",".join(map(str, chunk)), "status": "any", "orderby": "id",
                                    "order": "asc"}, mapping.ORDER_FIELDS)
        for raw in stream.records(shop.http):
            order_id = raw.get("id")
            if order_id not in wanted or order_id in answered:
                continue
            answered.add(order_id)
            accepted = False
            for key, number in wanted[order_id]:
                shown = str(raw.get("number") or order_id)
                if number is not None and shown != number:
                    missing[key] = (f"order id {order_id} has number {shown!r} in the shop, not {number!r}: this shop "
                                    f"numbers orders apart from their ids; give the order as 'order <id>'")
                elif raw.get("status") not in statuses:
                    missing[key] = (f"order {shown} is {raw.get('status')!r} in the shop; this flow sends orders that "
                                    f"are {', '.join(statuses)}")
                else:
                    accepted = True
            if accepted:
                records.append(raw)
    for order_id, named in wanted.items():
        if order_id not in answered:
            for key, number in named:
                missing[key] = f"no order {number or order_id} in the shop (or it is in the trash)"
    return records, missing


# -- helpers ------------------------------------------------------------------------------------

def _ids_by_sku(shop: "WooCommerceResource", keys: list[str]) -> dict[str, int | None]:
    """Key -> the id of the product holding that SKU (a variation's parent), None when none does."""
    found: dict[str, int | None] = {key: None for key in keys}
    wanted: dict[str, list[str]] = {}  # casefolded SKU -> keys
    for key in keys:
        wanted.setdefault(key.strip().casefold(), []).append(key)
    plain = [s for s in wanted if "," not in s]
    batches = list(_chunks(plain, SKUS_PER_REQUEST)) + [[s] for s in wanted if "," in s]
    for batch in batches:
        skus = [wanted[s][0].strip() for s in batch]
        stream = Stream("/products", {"sku": ",".join(skus), "orderby": "id", "order": "asc"}, LOOKUP_FIELDS)
        for hit in stream.records(shop.http):
            sku = str(hit.get("sku") or "").strip().casefold()
            if sku not in wanted:
                continue  # the filter's own matching is the shop's database's; only an exact SKU counts
            product_id = hit.get("parent_id") if hit.get("type") == "variation" else hit.get("id")
            for key in wanted[sku]:
                if found[key] is None and product_id:
                    found[key] = int(product_id)
    return found


def _products_by_id(shop: "WooCommerceResource", ids: list[int]) -> Iterator[dict]:
    """The products with these ids as ``read()`` yields them: the same fields, variations attached."""
    for chunk in _chunks(ids, PAGE_SIZE):
        stream = Stream("/products", {"include": ",".join(map(str, chunk)), "orderby": "id", "order": "asc"},
                        mapping.PRODUCT_FIELDS)
        yield from shop._with_variations(stream)


def _generated_id(text: str, skus: mapping.Skus) -> int | None:
    """The product id in a generated SKU (``missing_sku: generate``), else None."""
    if not skus.generate or not text.startswith(skus.prefix):
        return None
    rest = text[len(skus.prefix):]
    return int(rest) if rest.isdigit() else None


def _order_reference(text: str, connection: str | None) -> tuple[int | None, str | None]:
    """(order id, the order number typed, when the key was a number) for one key; (None, None) when unreadable."""
    if connection and text.startswith(f"{connection}:") and text[len(connection) + 1:].isdigit():
        return int(text[len(connection) + 1:]), None
    if logged := LOGGED_ORDER.fullmatch(text):
        return int(logged[1]), None
    if typed := ORDER_NUMBER.fullmatch(text):
        return int(typed[1]), str(int(typed[1]))  # "#0042" is order number 42
    return None, None


def _unique(keys: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(str(k) for k in keys))


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
