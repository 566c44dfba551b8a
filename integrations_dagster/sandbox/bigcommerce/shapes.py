"""How stored catalog documents are answered: ``product_Full``, ``productVariant_Full``, options, images,
and the v3 envelopes.

* Single objects: ``{"data": {...}, "meta": {}}`` [spec: products_catalog.v3.yml#getProduct].
* Lists: ``meta.pagination`` with ``total, count, per_page, current_page, total_pages, links`` whose
  links are relative query strings; ``previous``/``next`` left out at the ends
  [spec: products_catalog.v3.yml#components/schemas/pagination_Full] [spec: product-variants_catalog.v3.yml#getProductVariants] (§9.9).
* ``include`` adds ``variants``, ``images``, ``options`` [spec: products_catalog.v3.yml#components/schemas/IncludeParamBase];
  ``include_fields``/``exclude_fields`` trim the object (``id`` always stays) [spec: products_catalog.v3.yml#getProducts].
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from integrations_dagster.sandbox.bigcommerce import guesses
from integrations_dagster.sandbox.bigcommerce.catalog import Catalog
from integrations_dagster.sandbox.bigcommerce.wire import iso, price4

PRICE_FIELDS = ("price", "cost_price", "retail_price", "sale_price", "map_price")


def public(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def calculated(price: Any, sale_price: Any) -> float:
    return price4(sale_price if sale_price not in (None, 0) else (price or 0))


def product_level(catalog: Catalog, product: dict, variants: list[dict] | None = None) -> int:
    if product["inventory_tracking"] == "variant" and guesses.PRODUCT_LEVEL_IS_VARIANT_SUM:
        variants = catalog.variants_of(product["id"]) if variants is None else variants
        return sum(int(v.get("inventory_level") or 0) for v in variants)
    return int(product.get("inventory_level") or 0)


def variant_out(product: dict, variant: dict) -> dict:
    out = public(variant)
    for name in PRICE_FIELDS:
        if out.get(name) is not None:
            out[name] = price4(out[name])
    out["calculated_price"] = calculated(variant.get("price") if variant.get("price") is not None else product["price"],
                                         variant.get("sale_price") if variant.get("sale_price") is not None else product["sale_price"])
    out["calculated_weight"] = variant["weight"] if variant.get("weight") is not None else product["weight"]
    if variant["id"] == product.get("_base_variant_id"):
        out["inventory_level"] = int(product.get("inventory_level") or 0)  # the base variant is the product
        out["sku"] = product["sku"]
    return out


def product_out(catalog: Catalog, product: dict, include: set[str], fields: tuple[set[str], set[str]] = (set(), set())) -> dict:
    variants = catalog.variants_of(product["id"])
    out = public(product)
    out.pop("images", None)
    for name in PRICE_FIELDS:
        out[name] = price4(out[name])
    out["calculated_price"] = calculated(product["price"], product["sale_price"])
    out["base_variant_id"] = product.get("_base_variant_id")
    out["date_created"] = iso(product["_created"])
    out["date_modified"] = iso(product["_modified"])
    out["inventory_level"] = product_level(catalog, product, variants)
    out["custom_url"] = {"url": f"/{_slug(product['name'])}/", "is_customized": False}
    if "variants" in include:
        out["variants"] = [variant_out(product, v) for v in variants]
    if "images" in include:
        out["images"] = [dict(image, product_id=product["id"]) for image in product.get("images", [])]
    if "options" in include:
        out["options"] = [public(o) for o in catalog.options_of(product["id"])]
    wanted, unwanted = fields
    if wanted:
        out = {k: v for k, v in out.items() if k in wanted or k == "id" or k in include}
    for name in unwanted - {"id"}:
        out.pop(name, None)
    return out


def _slug(name: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split())


def one(data: Any) -> dict:
    return {"data": data, "meta": {}}


def page(items: list, total: int, page_no: int, limit: int, query: dict[str, str]) -> dict:
    """A list page with ``meta.pagination``; ``query`` = the other filters, kept in the links."""
    pages = max(1, math.ceil(total / limit)) if limit else 1

    def link(n: int) -> str:
        return "?" + urlencode({**query, "page": n, "limit": limit})

    links = {"current": link(page_no)}
    if page_no > 1:
        links["previous"] = link(page_no - 1)
    if page_no < pages:
        links["next"] = link(page_no + 1)
    return {"data": items, "meta": {"pagination": {"total": total, "count": len(items), "per_page": limit,
                                                   "current_page": page_no, "total_pages": pages, "links": links}}}
