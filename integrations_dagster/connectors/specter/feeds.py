"""Importer: Specter's "NeedUpdate" change feeds and their batch / acknowledge protocol.

Role: read one batch of a feed (:func:`read_batch`), parse its rows into raw records the mapper takes,
and acknowledge it (:func:`acknowledge`) — the engine calls the latter only once the run's push has
recorded every record of the batch.

=========  ===================================  ==============================  =============================
entity     read                                 acknowledge                     rows
=========  ===================================  ==============================  =============================
stock      ``getArticleExternalNeedUpdate``     ``updateArticlesFromBatch``     ``stockChanges/stock`` per
                                                                                stock site ›
                                                                                ``articles/article{articleNo,
                                                                                noItemsAv}`` (``useXML=2``)
products   ``getArticleInfoExternalNeedUpdate`` ``updateArticleInfosFromBatch`` ``articles/article`` ›
                                                                                ``articleNo``, ``name``,
                                                                                @priceExclVat, @barCode,
                                                                                @productWeight, @buyPrice
=========  ===================================  ==============================  =============================

[doc: v2.45 change log names the four functions and their useXML=2 form; 3p: PrestaShop module
SpecterStockHandler StockSync/StockSyncMultiStock, SpecterProductHandler::UpdateProductData /
ProcessProductChanges, specter.txt clearAllQuesFromSBM.] The article feed's ``@vatPercent`` is the
sandbox's guess; without it the connection option ``vat_rate`` applies.

The protocol [3p: PrestaShop, same sources; docs/research/specter.md §5]:

1. The client invents a ``batchNo`` (the key's subject) and reads the feed with it.
2. While a batch is unacknowledged, a read with another batchNo is refused with **code 99** quoting the
   pending batchNo first between single quotes; the client reads *that* batch again ("reload batch")
   and gets the same content. So this reader needs no memory of its own: every read starts with a new
   batchNo, and a batch a failed run left pending comes back through the 99 — nothing is lost, and
   its records, already landed, diff as unchanged.
3. An acknowledgement naming another batch than the pending one is refused with 99 too. Then the batch
   named is not pending — it was acknowledged before (an acknowledgement whose answer was lost) — and
   there is nothing left to do for it; an acknowledgement when nothing is pending succeeds (sandbox).
4. Caps: the article feed writes ``<responseMaxLimit>N</responseMaxLimit>`` and PrestaShop reads
   "N ≤ articles received" as more waiting [3p: CHANGELOG 6.4.2]; the stock feed writes
   ``<moreInfoToFetch>`` (a sandbox guess, after the orders feed). Reading on in the same call would
   need the batch acknowledged first — before the push has recorded it — so one ``read_batch`` is one
   batch: the rest comes with the next run (the change sensor sees it at its next tick).

Batch numbers: PrestaShop uses ``md5(microtime())`` (32 hex digits). Ours are 32 hex digits too, the
first 14 the UTC time the batch was asked for (``YYYYMMDDhhmmss``), for people reading logs. The
records' ``as_of`` (the freshness token) is the time the answer arrived (see :func:`read_batch`).
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from integrations_dagster.connectors.specter.adapter import Adapter, BatchPending

STAMP = "%Y%m%d%H%M%S"
FEEDS = {
    "stock": ("getArticleExternalNeedUpdate", "updateArticlesFromBatch"),
    "products": ("getArticleInfoExternalNeedUpdate", "updateArticleInfosFromBatch"),
    # "Ny funktion getordersexternalneedupdate, hämta uppdatering på orderstatus/leveranser" [doc: change
    # log]; ack updateOrdersFromBatch [3p: PrestaShop spectercron UpdateOrderData].
    "order_status": ("getOrdersExternalNeedUpdate", "updateOrdersFromBatch"),
}
REREADS = 3  # a 99 answered to a re-read (the batch changed hands meanwhile) is followed this often


@dataclass
class FeedBatch:
    batch_no: str
    rows: list[dict[str, Any]]
    more: bool  # the answer said more is waiting (the next batch)
    pending: bool  # it was a batch left pending earlier (read again through a 99)


def new_batch_no(now: datetime | None = None) -> str:
    """32 hex digits: the UTC time (14 digits), then 18 random ones."""
    return (now or datetime.now(UTC)).strftime(STAMP) + secrets.token_hex(9)


def batch_time(batch_no: str) -> str:
    """When a batch of ours was asked for (ISO 8601 UTC); now for one we did not number."""
    try:
        made = datetime.strptime(batch_no[:14], STAMP).replace(tzinfo=UTC)
    except ValueError:
        made = datetime.now(UTC)
    return made.isoformat()


def read_batch(adapter: Adapter, entity: str, *, all_sites: bool = False) -> FeedBatch:
    """The feed's pending batch, else a new one: its rows as raw records."""
    action = FEEDS[entity][0]
    batch_no, pending = new_batch_no(), False
    params: dict[str, Any] = {"useXML": "2"}
    if entity == "stock" and all_sites:
        params["getMultipleStocksites"] = "1"  # [3p: PrestaShop StockSyncMultiStock]
    for attempt in range(REREADS + 1):
        try:
            answer = adapter.get(action, batch_no, batchNo=batch_no, **params)
            break
        except BatchPending as exc:
            quoted = exc.quoted()
            if not quoted or quoted[0] == batch_no or attempt == REREADS:
                raise
            batch_no, pending = quoted[0], True  # [3p: explode("'", $message)[1]]: read that batch again
    root = answer.xml if answer.xml is not None else ET.Element("response")
    # The records' freshness is when the answer came, to the microsecond: not the batch number's time —
    # a read retried after its batch was acknowledged gets a *new* batch under the old number (its
    # content newer than the number says), and two batches within a second must still be ordered. A
    # pending batch read again is no older than anything landed since: no other batch came meanwhile.
    as_of = datetime.now(UTC).isoformat()
    if entity == "stock":
        rows, more = _stock_rows(root, as_of), root.find("moreInfoToFetch") is not None
    elif entity == "order_status":
        rows, more = _order_rows(root, as_of), root.find("moreInfoToFetch") is not None
    else:
        rows = _article_rows(root, as_of)
        limit = (root.findtext("responseMaxLimit") or "").strip()
        more = limit.isdigit() and int(limit) <= len(rows)  # [3p: CHANGELOG 6.4.2]
    return FeedBatch(batch_no, rows, more, pending)


def acknowledge(adapter: Adapter, entity: str, batch_no: str) -> bool:
    """Acknowledge ``batch_no``; False when Specter says another batch is pending (so ours was
    acknowledged before: an earlier acknowledgement's answer was lost)."""
    try:
        adapter.get(FEEDS[entity][1], batch_no, batchNo=batch_no)
    except BatchPending:
        return False
    return True


def _stock_rows(root: ET.Element, as_of: str) -> list[dict[str, Any]]:
    """One raw record per article: its quantity per stock site as written (``noItemsAvailable`` kept)."""
    by_article: dict[str, dict[str, Any]] = {}
    for stock in root.findall("stockChanges/stock"):
        site = stock.get("stockSiteId") or stock.get("stockSiteName") or "default"
        for article in stock.findall("articles/article"):
            number = (article.findtext("articleNo") or "").strip()
            row = by_article.setdefault(number, {"articleNo": number, "sites": {}, "_as_of": as_of})
            row["sites"][site] = (article.findtext("noItemsAv") or "").strip()
    return list(by_article.values())


def _order_rows(root: ET.Element, as_of: str) -> list[dict[str, Any]]:
    """``orders/order@orderNo`` › ``orderstatus@deliveryStatus,@statusId``, ``deliveries`` ›
    ``delivery@trackingNo`` [3p: PrestaShop spectercron UpdateOrderData]; ``@externalOrderNo`` and
    ``orderstatus@invoiced,@paid`` as the sandbox writes them (guesses)."""
    rows = []
    for order in root.findall("orders/order"):
        status = order.find("orderstatus")
        attrs = status.attrib if status is not None else {}
        rows.append({"orderNo": (order.get("orderNo") or "").strip(),
                     "externalOrderNo": (order.get("externalOrderNo") or "").strip(),
                     "statusId": (attrs.get("statusId") or "").strip(),
                     "deliveryStatus": (attrs.get("deliveryStatus") or "").strip(),
                     "invoiced": attrs.get("invoiced") == "1", "paid": attrs.get("paid") == "1",
                     "tracking": [d.get("trackingNo") for d in order.findall("deliveries/delivery")
                                  if (d.get("trackingNo") or "").strip()],
                     "_as_of": as_of})
    return rows


def _article_rows(root: ET.Element, as_of: str) -> list[dict[str, Any]]:
    rows = []
    for article in root.findall("articles/article"):
        row = {name: (article.get(name) or "").strip()
               for name in ("priceExclVat", "vatPercent", "barCode", "productWeight", "buyPrice")}
        row.update(articleNo=(article.findtext("articleNo") or "").strip(),
                   name=(article.findtext("name") or "").strip(), _as_of=as_of)
        rows.append(row)
    return rows
