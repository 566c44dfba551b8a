"""The listing writer: products out to Tradera as shop items, in as few calls as the quota asks.

A day's quota is 100 calls [doc: v3 start page], so what goes out is planned per unit (:mod:`.units`):

* a **new** item is one ``POST /v4/listings/shop-items`` (``…/variant`` for a variant) with the listing
  settings, its price and ``absoluteQuantity`` — never ``quantity``, a delta, and never both [spec
  ``ShopItemData.quantity``/``absoluteQuantity``]; no batch exists for creates;
* a changed **price** is a row of one ``PUT …/shop-items/prices`` (≤ 500 rows) and a changed **stock** a
  row of one ``PUT …/shop-items/quantities`` (≤ 500, synchronous, the absolute count — GUESS
  BATCH_QUANTITY_IS_ABSOLUTE) [doc: v3 op=SetPriceOnShopItems, SetQuantityOnShopItems "a maximum of 500
  shop items per call"]: fifty price changes cost one call, not fifty;
* a changed **text or VAT** is one ``PUT …/shop-items`` (``…/variant``) with only those fields ("set only
  those properties … you want to update. All other properties need to be set to null" [doc: v3
  op=UpdateShopItem]); a unit gone or inactive is one ``DELETE …/shop-items/{id}``.

Queued writes land only when their request result says Ok (:mod:`.results`): the results of a run's
requests are asked for in one call after a short wait, once more if some are still out; a unit still
without one waits in :class:`~.results.Pending` and the record is *deferred* — the next run asks
first and never sends it again. A record whose units all landed is created/updated; one with a unit
Tradera refused fails with Tradera's result code and message, its landed units bound so a retry does
not list them twice. When the quota has no room (:class:`~integrations_dagster.connectors.quota.
QuotaExhausted`) nothing more is sent: every record not done is deferred, with when the quota frees and
when, at the quota's pace, the last of them will be listed.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Iterator

from integrations_dagster.connectors.base import Change, Outcome, WriteContext
from integrations_dagster.connectors.http import ApiError, TransientError
from integrations_dagster.connectors.quota import QuotaExhausted
from integrations_dagster.connectors.tradera.listing import Listing
from integrations_dagster.connectors.tradera.reference import Reference
from integrations_dagster.connectors.tradera.results import AGAIN, LOST_ANSWER_GRACE, Pending, Result, poll
from integrations_dagster.connectors.tradera.units import Unit, group_id, refusal, units
from integrations_dagster.model import Product

ITEMS, VARIANTS = "/v4/listings/shop-items", "/v4/listings/shop-items/variant"
PRICES, QUANTITIES = "/v4/listings/shop-items/prices", "/v4/listings/shop-items/quantities"
BATCH = 500


@dataclass
class Work:
    """One change's units: what was sent for each, and how it ended."""

    change: Change
    units: list[Unit]
    requests: dict[str, int] = field(default_factory=dict)  # "<sku>#<op>" -> request id of a queued write
    items: dict[str, int] = field(default_factory=dict)  # sku -> Tradera item id
    failed: dict[str, str] = field(default_factory=dict)  # sku -> why
    waiting: set[str] = field(default_factory=set)  # skus not sent (the quota) or sent again later
    gone: set[str] = field(default_factory=set)  # skus ended on Tradera
    warnings: list[str] = field(default_factory=list)


class ListingWriter:
    def __init__(self, adapter: Any, ctx: WriteContext, listing: Listing, ref: Reference, pending: Pending,
                 waits: tuple[float, ...], grace: timedelta = LOST_ANSWER_GRACE) -> None:
        self.adapter, self.ctx, self.listing, self.ref = adapter, ctx, listing, ref
        self.pending, self.waits, self.grace = pending, waits, grace
        self.exhausted: QuotaExhausted | None = None
        self.listed_earlier: dict[str, int] = {}  # sku -> item of a create an earlier run sent, Ok now
        self.applied: dict[tuple[str, str], Any] = {}  # (sku, op) -> what an earlier run's update set, Ok now
        self.backlog = 0  # units of this batch that wait
        self.prices: list[tuple[Work, Unit, int]] = []
        self.quantities: list[tuple[Work, Unit, int]] = []

    # -- the plan, unit by unit ------------------------------------------------------------------
    def write(self, changes: list[Change]) -> Iterator[Outcome]:
        works = [self._work(c) for c in changes]
        self._settle_earlier(works)
        for work in works:
            if not work.failed:
                self._send(work)
        self._send_batches()
        self._collect(works)
        self.backlog = sum(len(w.waiting) for w in works)
        for work in works:
            yield self._outcome(work)

    def _work(self, change: Change) -> Work:
        product = change.record if isinstance(change.record, Product) else None
        now = units(product, self.listing) if product is not None and change.action != "delete" else []
        work = Work(change, [u for u in now if u.active])
        for unit in work.units:
            work.warnings += [f"{unit.sku}: {note}" for note in unit.notes]
            if why := refusal(unit, self.ref.vat):
                work.failed[unit.sku] = why
        return work

    def _settle_earlier(self, works: list[Work]) -> None:
        """Requests an earlier run sent for these records: their results first (one call), and a create
        whose answer was lost looked up among the seller's items (one call, only then)."""
        held = self.pending.of([u.sku for w in works for u in w.units] + [s for w in works for s in self._gone(w)])
        if not held:
            return
        lost = [e for e, h in held.items() if h["request"] is None]
        try:
            found = self._seller_items() if lost else {}
            results = poll(self.adapter.get, [h["request"] for h in held.values() if h["request"]], waits=(0,))
        except QuotaExhausted as exc:
            self.exhausted = exc
            skus = {h["sku"] for h in held.values()}
            for work in works:
                work.waiting |= {u.sku for u in work.units if u.sku in skus}
            return
        for entry, h in held.items():
            sku = h["sku"]
            if h["request"] is None:  # a create sent whose answer was lost: listed if Tradera has it
                if sku in found:
                    self._bind(sku, found[sku], h)
                    self._listed_earlier(sku, found[sku], h)
                elif datetime.now(UTC) - datetime.fromisoformat(h["at"]) < self.grace:
                    continue  # it may still sit in Tradera's queue: not sent again yet, the unit waits
                self.pending.settle([entry])
                continue
            result = results.get(h["request"])
            if result is None:
                continue  # still processed: stays pending, the unit waits
            if result.ok:  # bound before the entry goes: a run killed in between loses neither
                if h["op"] == "create" and h.get("item"):
                    self._bind(sku, h["item"], h)
                    self._listed_earlier(sku, int(h["item"]), h)
                elif h["op"] in ("update", "price"):
                    self.applied[(sku, h["op"])] = h.get("value")
            elif result.code not in AGAIN:
                self._remember_refusal(works, sku, result)
            self.pending.settle([entry])

    def _listed_earlier(self, sku: str, item: int, held: dict) -> None:
        """An earlier run's create landed: what it set counts as applied (only what changed since goes out)."""
        self.listed_earlier[sku] = item
        for op, value in (held.get("value") or {}).items():
            self.applied[(sku, op)] = value

    # -- sending -----------------------------------------------------------------------------
    def _send(self, work: Work) -> None:
        previous = {u.sku: u for u in units(work.change.previous, self.listing)} \
            if isinstance(work.change.previous, Product) else {}
        for unit in work.units:
            if unit.sku in work.waiting or unit.sku in work.failed:
                continue
            if self.exhausted or self.pending.holds(unit.sku):
                work.waiting.add(unit.sku)
                continue
            item = self.listed_earlier.get(unit.sku) or self._item(unit.sku)
            try:
                if item is None:
                    self._create(work, unit)
                else:
                    work.items[unit.sku] = item
                    self._update(work, unit, item, previous.get(unit.sku))
            except QuotaExhausted as exc:
                self.exhausted = exc
                work.waiting.add(unit.sku)
            except TransientError:
                raise
            except ApiError as exc:
                work.failed[unit.sku] = f"Tradera refused it: {exc.message}"
        for sku in self._gone(work):
            self._end(work, sku)

    def _create(self, work: Work, unit: Unit) -> None:
        body = {**self.listing.fields(), **unit.texts(), "price": unit.price, "absoluteQuantity": unit.quantity,
                "vat": unit.vat, "ownReferences": [unit.sku]}
        path = ITEMS
        if unit.group is not None:
            path = VARIANTS
            body |= {"sellerPartNo": unit.sku, "variantData": {
                "variantGroupId": unit.group,
                "variantAttributes": [{"name": n, "value": v} for n, v in unit.attributes]}}
        made = {"update": _fingerprint(unit), "price": unit.price, "quantity": unit.quantity}
        self.pending.sending(work.change.key, unit.sku, "create", made)
        try:
            answer = self.adapter.request("POST", path, json=body).json()
        except TransientError as exc:
            if isinstance(exc, QuotaExhausted):  # never sent: no mark to look for
                self.pending.settle([f"{unit.sku}#create"])
            raise
        except ApiError:  # refused at Tradera's first validation: nothing was queued
            self.pending.settle([f"{unit.sku}#create"])
            raise
        work.requests[f"{unit.sku}#create"], work.items[unit.sku] = int(answer["requestId"]), int(answer["itemId"])
        self.pending.sent(work.change.key, unit.sku, "create", int(answer["requestId"]), int(answer["itemId"]), made)

    def _update(self, work: Work, unit: Unit, item: int, before: Unit | None) -> None:
        """Only what differs from what Tradera last accepted (everything, when that is not known), and not
        what an earlier run's write already set (its result came a run late)."""
        data: dict[str, Any] = {}
        texts = _fingerprint(unit)
        if (before is None or unit.texts() != before.texts() or unit.vat != before.vat) \
                and self.applied.get((unit.sku, "update")) != texts:
            data |= {**unit.texts(), "vat": unit.vat}
            if unit.group is not None:
                data["sellerPartNo"] = unit.sku
        if data:
            path = VARIANTS if unit.group is not None else ITEMS
            answer = self.adapter.request("PUT", path, json={"itemId": item, "itemData": data}).json()
            work.requests[f"{unit.sku}#update"] = int(answer["requestId"])
            self.pending.sent(work.change.key, unit.sku, "update", int(answer["requestId"]), item, texts)
        if (before is None or unit.price != before.price) and self.applied.get((unit.sku, "price")) != unit.price:
            self.prices.append((work, unit, item))
        if (before is None or unit.quantity != before.quantity) and self.applied.get((unit.sku, "quantity")) != unit.quantity:
            self.quantities.append((work, unit, item))

    def _end(self, work: Work, sku: str) -> None:
        item = self._item(sku)
        if item is None or self.exhausted:
            (work.gone if item is None else work.waiting).add(sku)
            return
        try:
            answer = self.adapter.request("DELETE", f"{ITEMS}/{item}").json()
        except QuotaExhausted as exc:
            self.exhausted = exc
            work.waiting.add(sku)
            return
        work.requests[f"{sku}#delete"] = int(answer["requestId"])
        self.pending.sent(work.change.key, sku, "delete", int(answer["requestId"]), item)
        work.gone.add(sku)

    def _send_batches(self) -> None:
        """Every price and stock change of the run in as few calls as Tradera takes (≤ 500 rows each)."""
        for rows, path, name in ((self.quantities, QUANTITIES, "quantity"), (self.prices, PRICES, "price")):
            for start in range(0, len(rows), BATCH):
                chunk = rows[start:start + BATCH]
                if self.exhausted:
                    for work, unit, _ in chunk:
                        work.waiting.add(unit.sku)
                    continue
                body = {"shopItems": [{"id": item, name: getattr(unit, name)} for _, unit, item in chunk]}
                try:
                    answer = self.adapter.request("PUT", path, json=body).json()
                except QuotaExhausted as exc:
                    self.exhausted = exc
                    for work, unit, _ in chunk:
                        work.waiting.add(unit.sku)
                    continue
                by_item = {item: (work, unit) for work, unit, item in chunk}
                for error in answer.get("validationErrors") or []:
                    work, unit = by_item.get(int((error.get("item") or {}).get("id") or 0), (None, None))
                    if work is not None:
                        work.failed[unit.sku] = f"Tradera refused its {name}: {error.get('errorMessage')}"
                for queued in answer.get("queuedRequestResponses") or []:  # prices are queued
                    work, unit = by_item.get(int(queued.get("itemId") or 0), (None, None))
                    if work is not None:
                        work.requests[f"{unit.sku}#price"] = int(queued["requestId"])
                        self.pending.sent(work.change.key, unit.sku, "price", int(queued["requestId"]),
                                          int(queued["itemId"]), unit.price)

    # -- results -----------------------------------------------------------------------------
    def _collect(self, works: list[Work]) -> None:
        """This run's results (a short wait, one call; once more if some are still out). A create's item is
        bound before its entry leaves :class:`Pending`, so a run killed in between loses neither."""
        asked = {rid: (work, entry) for work in works for entry, rid in work.requests.items()}
        if asked:
            try:
                results = poll(self.adapter.get, list(asked), waits=self.waits)
            except QuotaExhausted as exc:
                self.exhausted, results = exc, {}
            for rid, (work, entry) in asked.items():
                sku = entry.split("#")[0]
                result = results.get(rid)
                if result is None:
                    work.waiting.add(sku)  # the entry stays: the next run asks for it first
                    continue
                if not result.ok:
                    if result.code in AGAIN:
                        work.waiting.add(sku)
                    else:
                        work.failed[sku] = _refused(result)
                elif entry.endswith("#create"):
                    self._bind(sku, work.items[sku], {"key": work.change.key})
                self.pending.settle([entry])
        for work in works:
            for sku, item in work.items.items():
                if sku not in work.failed and sku not in work.waiting and sku not in work.gone:
                    self._bind(sku, item, {"key": work.change.key})

    def _outcome(self, work: Work) -> Outcome:
        change = work.change
        if work.failed:
            reasons = "; ".join(why if sku == change.key else f"{sku}: {why}" for sku, why in work.failed.items())
            return Outcome(change.key, ok=False, action="failed", error=reasons[:1000])
        if work.waiting:
            return Outcome(change.key, ok=False, action="deferred", error=self._why_waiting(work))
        if change.action == "delete" or (not work.units and work.gone):
            return Outcome(change.key, ok=True, action="deleted")
        if not work.units:
            return Outcome(change.key, ok=True, action="skipped",
                           error="not for sale in the source (inactive): nothing to list")
        bindings = {sku: (str(item), group_id(change.record)) for sku, item in work.items.items()
                    if work.units[0].group is not None}
        target = group_id(change.record) if work.units[0].group is not None else str(work.items[work.units[0].sku])
        action = "created" if change.action == "create" else "updated"
        return Outcome(change.key, ok=True, action=action, target_id=target, bindings=bindings,
                       warnings=tuple(work.warnings))

    def _why_waiting(self, work: Work) -> str:
        if self.exhausted is None:
            return (f"{', '.join(sorted(work.waiting))}: sent; Tradera has not given its request result yet "
                    "(the next run asks for it, and sends nothing again)")
        budget = self.adapter.budget
        per_day = max(budget.per_window("listings"), 1)
        days = math.ceil(max(self.backlog, 1) / per_day)
        frees = self.exhausted.frees_at
        finish = frees + timedelta(days=max(days - 1, 0))
        return (f"waits for Tradera's quota ({budget.describe()}); it frees at {frees:%Y-%m-%d %H:%M} UTC, and at "
                f"{per_day} calls a day for listings what waits now is listed by about {finish:%Y-%m-%d}")

    # -- the id map and lookups --------------------------------------------------------------
    def _item(self, sku: str) -> int | None:
        held = self.ctx.binder.external_id("products", sku)
        return int(held) if held and held.isdigit() else None

    def _bind(self, sku: str, item: int, held: dict) -> None:
        product_key = held.get("key") or sku
        parent = None if product_key == sku else f"group:{product_key}"
        self.ctx.binder.bind("products", sku, str(item), parent)

    def _gone(self, work: Work) -> list[str]:
        """SKUs Tradera lists for this record that it no longer has (a variant dropped, deactivated)."""
        if work.change.action == "delete":
            keys = [work.change.key]
            if isinstance(work.change.previous, Product):
                keys = [u.sku for u in units(work.change.previous, self.listing)]
            return [k for k in keys if self._item(k) is not None]
        before = units(work.change.previous, self.listing) if isinstance(work.change.previous, Product) else []
        now = {u.sku for u in work.units}
        return [u.sku for u in before if u.sku not in now and self._item(u.sku) is not None]

    def _seller_items(self) -> dict[str, int]:
        """SKU -> item id of the seller's shop items (their ``ownReferences``): one call."""
        found: dict[str, int] = {}
        for item in self.adapter.get("/v4/listings/seller-items", filterItemType=3) or []:
            for ref in item.get("ownReferences") or []:
                found.setdefault(str(ref), int(item["id"]))
        return found

    def _remember_refusal(self, works: list[Work], sku: str, result: Result) -> None:
        for work in works:
            if any(u.sku == sku for u in work.units):
                work.failed[sku] = _refused(result)


def _fingerprint(unit: Unit) -> str:
    """What a text update sets (title, description, VAT), short: kept with its pending request."""
    return hashlib.sha256(json.dumps([unit.title, unit.description, unit.vat]).encode()).hexdigest()[:16]


def _refused(result: Result) -> str:
    return f"Tradera refused it ({result.says()})"
