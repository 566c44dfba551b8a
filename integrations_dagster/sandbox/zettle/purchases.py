"""The Purchase API v2 (purchase.izettle.com, served under ``/purchase``): receipts and their paging.

[doc: purchase.adoc §Fetch a list of purchases, §Fetch a purchase, §example1–4; digest §4]:

* ``GET /purchases/v2?startDate&endDate&limit&descending&lastPurchaseHash`` → ``{"purchases": [...],
  "firstPurchaseHash", "lastPurchaseHash", "linkUrls": ["<…&lastPurchaseHash=…>; rel=\\"next\\""]}``.
  ``startDate`` is inclusive (default 3 years back), ``endDate`` exclusive, ``limit`` 1–1000,
  ``descending`` default false. Paging: pass the previous ``lastPurchaseHash`` "until the response is
  empty". The empty page shape and the default limit are guesses (guesses.PURCHASE_PAGE_DEFAULT).
* ``GET /purchase/v2/{purchaseUuid}`` (singular) → one purchase or 404.
* Hash = epoch-ms of ``timestamp`` + the 22-char short id (base64url of ``purchaseUUID1``) — a keyset
  cursor over (timestamp, id) [derived: ``1610573650968an16nO_YSpOw_0XVXSEndA``, digest §4].
* Purchases are read-only here; the till (``till.py``) records them.
"""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations_dagster.sandbox.base import DocumentStore, int_param
from integrations_dagster.sandbox.zettle import guesses
from integrations_dagster.sandbox.zettle.wire import (atomic, handler, invalid, not_found, now, parse_time,
                                                      short_id)

PURCHASES = "purchases"
HISTORY_DAYS = 3 * 365  # "up to three years old" [doc: purchase.adoc]


def purchase_hash(purchase: dict[str, Any]) -> str:
    return f"{purchase['_epochMs']}{short_id(purchase['purchaseUUID1'])}"


def _sort_key(purchase: dict[str, Any]) -> tuple[int, bytes]:
    return purchase["_epochMs"], uuid.UUID(purchase["purchaseUUID1"]).bytes


def _parse_hash(text: str) -> tuple[int, bytes]:
    """Inverse of :func:`purchase_hash`: (epoch ms, the uuid's 16 bytes)."""
    try:
        millis, short = int(text[:-22]), text[-22:]
        raw = base64.urlsafe_b64decode(short + "==")
        if len(raw) != 16:
            raise ValueError
    except ValueError:
        raise invalid(f"lastPurchaseHash: invalid value {text!r}") from None
    return millis, raw


class Ledger:
    """Purchases, one document each, keyed by ``purchaseUUID1``."""

    def __init__(self, store: DocumentStore) -> None:
        self.store = store

    def add(self, purchase: dict[str, Any]) -> None:
        with atomic(self.store):
            self.store.insert(PURCHASES, purchase, key=purchase["purchaseUUID1"])

    def get(self, purchase_uuid: str) -> dict[str, Any] | None:
        rows = self.store.find(PURCHASES, key=purchase_uuid)
        return rows[0] if rows else None

    def put(self, purchase: dict[str, Any]) -> None:
        self.store.put(PURCHASES, purchase["id"], purchase, key=purchase["purchaseUUID1"])

    def all(self) -> list[dict[str, Any]]:
        return sorted(self.store.find(PURCHASES), key=_sort_key)

    def count(self) -> int:
        return self.store.count(PURCHASES)


def public(purchase: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in purchase.items() if k != "id" and not k.startswith("_")}


def routes(ledger: Ledger) -> list[Route]:
    @handler
    async def list_purchases(request: Request) -> Response:
        q = request.query_params
        limit = int_param(request, "limit", guesses.PURCHASE_PAGE_DEFAULT, 1, 1000,
                          lambda kind, raw: invalid(f"limit: invalid value {raw!r}"))
        descending = q.get("descending", "false").lower() == "true"
        try:
            start = parse_time(q["startDate"]) if q.get("startDate") else now() - timedelta(days=HISTORY_DAYS)
            end = parse_time(q["endDate"]) if q.get("endDate") else None
        except ValueError:
            raise invalid("startDate/endDate: invalid date") from None
        start_ms = int(start.timestamp() * 1000)
        end_ms = int(end.timestamp() * 1000) if end else None
        rows = [p for p in ledger.all() if p["_epochMs"] >= start_ms and (end_ms is None or p["_epochMs"] < end_ms)]
        if descending:
            rows.reverse()
        if q.get("lastPurchaseHash"):
            mark = _parse_hash(q["lastPurchaseHash"])
            rows = [p for p in rows if (_sort_key(p) < mark if descending else _sort_key(p) > mark)]
        page = rows[:limit]
        if not page:
            return JSONResponse({"purchases": [], "linkUrls": []})  # GUESS (digest §4, §8)
        last = purchase_hash(page[-1])
        params: dict[str, Any] = {"limit": limit}
        if q.get("startDate"):
            params["startDate"] = start.strftime("%Y-%m-%dT%H:%M:%S.") + f"{start.microsecond // 1000:03d}Z"
        if q.get("endDate"):
            params["endDate"] = q["endDate"]
        params.update(descending=str(descending).lower(), lastPurchaseHash=last)
        link = request.url.replace(query="").include_query_params(**params)
        return JSONResponse({"purchases": [public(p) for p in page], "firstPurchaseHash": purchase_hash(page[0]),
                             "lastPurchaseHash": last, "linkUrls": [f'<{link}>; rel="next"']})

    @handler
    async def get_purchase(request: Request) -> Response:
        wanted = request.path_params["uuid"]
        purchase = ledger.get(wanted) or next(
            (p for p in ledger.all() if p["purchaseUUID"] == wanted), None)  # the short id works too (GUESS)
        if purchase is None:
            raise not_found(f"Purchase {wanted} not found")
        return JSONResponse(public(purchase))

    return [Route("/purchase/purchases/v2", list_purchases, methods=["GET"]),
            Route("/purchase/purchase/v2/{uuid}", get_purchase, methods=["GET"])]
