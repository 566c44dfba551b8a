"""Reader of Zettle stock (Inventory v3): the STORE balance of every variant of a tracked product.

``GET /v3/stock`` lists the balances of all STORE inventories, a bare array paged by cursor: the
next page is the URL of the ``Link: <…>; rel="next"`` header, followed as it is until no header
comes [doc: developer.zettle.com inventory overview §Pagination; …/fetch-inventory-balance]. Only
tracked products appear [3p: usefulapi zettle_get_stock]; "Lagret synkas bara om du har
lagerspårning i Zettle" [seed 004]. Rows carry ``variantUuid`` and no SKU, so the product library
(one request) names them. Rate limit 4 requests/s on inventory [doc: inventory overview §Rate limit].
"""

from __future__ import annotations

import re
from typing import Iterator

from integrations_dagster.connectors.http import HttpClient
from integrations_dagster.connectors.zettle import mapping
from integrations_dagster.model import RecordError, StockLevel, to_decimal

STOCK = "/stock"
PAGE_LIMIT = 1000  # [3p: usefulapi zettle_get_stock "limit 1–1000"]; the docs' examples use 100
NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


def balances(inventory: HttpClient) -> Iterator[dict]:
    """Every STORE balance row, page by page."""
    url: str | None = STOCK
    params: dict | None = {"limit": PAGE_LIMIT}
    while url:
        resp = inventory.request("GET", url, params=params)
        yield from resp.json()
        found = NEXT.search(resp.headers.get("Link", ""))
        url, params = (found.group(1), None) if found else (None, None)


def sku_by_variant(products: list[dict]) -> dict[str, str]:
    return {str(v.get("uuid")): (v.get("sku") or "").strip() for p in products for v in p.get("variants") or []}


def with_skus(rows: Iterator[dict], skus: dict[str, str]) -> Iterator[dict]:
    """The rows with their variant's SKU (``_sku``; empty when the variant has none)."""
    for row in rows:
        yield {**row, "_sku": skus.get(str(row.get("variantUuid")), "")}


def stock_level(raw: dict) -> StockLevel:
    sku = raw.get("_sku")
    if not sku:
        raise RecordError(f"stock of variant {raw.get('variantUuid')} cannot be synced: the variant has no SKU")
    try:
        quantity = to_decimal(raw.get("balance"), f"SKU {sku}: balance")
    except ValueError as exc:
        raise RecordError(str(exc)) from None
    return StockLevel(sku=sku, quantity=quantity, source_id=str(raw.get("variantUuid")),
                      as_of=mapping.zettle_time(raw.get("updated")))
