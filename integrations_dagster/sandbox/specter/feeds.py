"""The "NeedUpdate" change feeds and their batch / acknowledge protocol.

Three feeds [doc: v2.45 change log names getarticleexternalneedupdate, updatearticlesfrombatch,
getarticleinfoexternalneedupdate, updatearticleinfosfrombatch, getordersexternalneedupdate; 3p: PrestaShop
module calls them and updateOrdersFromBatch]:

=========  ==================================  ===============================
feed       read                                acknowledge
=========  ==================================  ===============================
stock      getArticleExternalNeedUpdate        updateArticlesFromBatch
articles   getArticleInfoExternalNeedUpdate    updateArticleInfosFromBatch
orders     getOrdersExternalNeedUpdate         updateOrdersFromBatch
=========  ==================================  ===============================

Protocol [3p: PrestaShop SpecterStockHandler, SpecterProductHandler::UpdateProductData, spectercron
UpdateOrderData, specter.txt clearAllQuesFromSBM]: the client invents a ``batchNo`` (md5 of microtime),
reads, stores what it got, then acknowledges that ``batchNo``. Until then, a read with another batchNo is
refused with code 99 whose message quotes the pending batchNo between single quotes; the client reads that
batch again — getting the same content — and acknowledges it. An acknowledgement naming another batch than
the pending one is refused with 99 too (the quoting per feed is in guesses.MSG_ACK_*).

Model: every change flags an item (article number or order number) in its feed, remembering a change
sequence number. A read with no batch pending turns the flagged items (oldest flag first, at most the
feed's cap) into a batch: their rows as they are now, and the sequence number each had. That batch is
stored and answered again, unchanged, to a read with its batchNo. Acknowledging it unflags each item whose
flag still has the remembered sequence number; an item changed again meanwhile stays flagged and comes in
the next batch with its new value — never lost, never repeated (guesses.ONE_ROW_PER_ITEM and neighbours).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from integrations_dagster.sandbox.base import DocumentStore
from integrations_dagster.sandbox.specter import guesses
from integrations_dagster.sandbox.specter.erp import now
from integrations_dagster.sandbox.specter.wire import Refusal

FEEDS = ("stock", "articles", "orders")
READ_ACTIONS = {"getarticleexternalneedupdate": "stock", "getarticleinfoexternalneedupdate": "articles",
                "getordersexternalneedupdate": "orders"}
ACK_ACTIONS = {"updatearticlesfrombatch": "stock", "updatearticleinfosfrombatch": "articles",
               "updateordersfrombatch": "orders"}
# Which quoted string of an ack's 99 message is the pending batch [3p: PrestaShop, see module docstring].
ACK_MESSAGE = {"stock": guesses.MSG_ACK_OTHER_FIRST, "articles": guesses.MSG_ACK_OTHER_SECOND,
               "orders": guesses.MSG_ACK_OTHER_SECOND}
BATCH_PENDING = 99  # [3p: PrestaShop "0;99;" / <code>99</code>]


@dataclass
class Limits:
    """Response-size caps per feed (guesses.FEED_CAPS); a test may lower them (control route)."""

    caps: dict[str, int] = field(default_factory=lambda: dict(guesses.FEED_CAPS))

    def restore(self) -> None:
        self.caps = dict(guesses.FEED_CAPS)


class Feeds:
    def __init__(self, store: DocumentStore, limits: Limits) -> None:
        self.store, self.limits = store, limits

    @staticmethod
    def _dirty(feed: str) -> str:
        return f"dirty_{feed}"

    # --- flags ------------------------------------------------------------------------------------
    def mark(self, feed: str, ref: str) -> None:
        """Flag ``ref`` as changed (inside the caller's transaction)."""
        seq = self.store.insert("changes", {"feed": feed, "ref": ref, "at": now()}, key=feed)
        found = self.store.find(self._dirty(feed), key=ref, limit=1)
        if found:
            self.store.put(self._dirty(feed), found[0]["id"], {**found[0], "seq": seq}, key=ref)
        else:
            self.store.insert(self._dirty(feed), {"ref": ref, "seq": seq}, key=ref)

    def flagged(self, feed: str) -> list[dict]:
        return self.store.find(self._dirty(feed))

    def pending(self, feed: str) -> dict | None:
        found = self.store.find("batches", key=feed, limit=1)
        return found[0] if found else None

    # --- read -------------------------------------------------------------------------------------
    def read(self, feed: str, batch_no: str, snapshot: Callable[[str], dict | None]) -> dict[str, Any]:
        """The batch ``batch_no`` of ``feed``: ``{"batchNo", "rows", "more"}`` (inside a transaction)."""
        pending = self.pending(feed)
        if pending is not None:
            if pending["batchNo"] != batch_no:
                raise Refusal.raw(BATCH_PENDING, guesses.MSG_BATCH_PENDING.format(pending=pending["batchNo"]))
            return pending  # the same content again
        if not guesses.REUSED_BATCH_NO_OPENS_NEW_BATCH and self.store.count("acked", key=f"{feed}:{batch_no}"):
            raise Refusal(guesses.ERR_BATCH_NO)
        flagged = self.flagged(feed)
        cap = max(1, int(self.limits.caps.get(feed, guesses.FEED_CAPS[feed])))
        chosen, more = flagged[:cap], len(flagged) > cap
        rows, refs = [], {}
        for flag in chosen:
            refs[flag["ref"]] = flag["seq"]
            row = snapshot(flag["ref"])
            if row is not None:  # an item gone since it was flagged still gets unflagged by the ack
                rows.append(row)
        batch = {"feed": feed, "batchNo": batch_no, "rows": rows, "refs": refs, "more": more, "created": now()}
        if chosen or guesses.EMPTY_BATCH_PENDING:
            self.store.insert("batches", batch, key=feed)
        return batch

    # --- acknowledge ------------------------------------------------------------------------------
    def acknowledge(self, feed: str, batch_no: str) -> int:
        """Unflag what batch ``batch_no`` delivered; the number of items unflagged."""
        pending = self.pending(feed)
        if pending is None:
            if guesses.ACK_WITHOUT_PENDING_OK:
                return 0
            raise Refusal.raw(BATCH_PENDING, guesses.MSG_BATCH_PENDING.format(pending=""))
        if pending["batchNo"] != batch_no:
            raise Refusal.raw(BATCH_PENDING, ACK_MESSAGE[feed].format(pending=pending["batchNo"], given=batch_no))
        done = 0
        for ref, seq in pending["refs"].items():
            found = self.store.find(self._dirty(feed), key=ref, limit=1)
            if found and found[0]["seq"] == seq:
                self.store.delete(self._dirty(feed), found[0]["id"])
                done += 1
        self.store.delete("batches", pending["id"])
        self.store.insert("acked", {"feed": feed, "batchNo": batch_no, "at": now()}, key=f"{feed}:{batch_no}")
        return done

    def clear(self, feed: str, refs: list[str]) -> None:
        """Drop the pending batch and flag ``refs`` again (clearArticleBatch, a full resync)."""
        pending = self.pending(feed)
        if pending is not None:
            self.store.delete("batches", pending["id"])
        for ref in refs:
            self.mark(feed, ref)

    def state(self) -> dict[str, Any]:
        """For the control route: pending batch and flagged items per feed."""
        out = {}
        for feed in FEEDS:
            pending = self.pending(feed)
            out[feed] = {"pending": None if pending is None else
                         {"batchNo": pending["batchNo"], "rows": len(pending["rows"]), "more": pending["more"]},
                         "flagged": [f["ref"] for f in self.flagged(feed)]}
        return out
