"""Marking Tradera orders shipped: what the shop did with the order a Tradera sale became.

A Tradera order goes through the hub to the shop, which ships it; the shop's order then reads as
``order_status`` (``shop:456`` delivered). The Tradera order it came from is found in the id map: the
order export that made the shop's order 456 of ``tradera:9001`` kept that under the shop's connection
(``flows.lineage``). So a status flow from the shop to Tradera needs no table of its
own, and an order that did not come from this Tradera connection is left alone (``ignored``).

* delivered → ``POST /v4/orders/{orderId}/ship`` (no body) → ``{"orderId"}`` [spec
  ``#/components/schemas/SetSellerOrderAsShippedResponse``]; one order per call, no batch exists, and
  sending it twice does no harm (GUESS ORDER_RULES: idempotent), so a lost answer is simply sent again.
  Spent from the quota as orders (the reserve is for them).
* paid: a shop order on Tradera exists once paid [doc: v3 DocPush]; nothing to mark. Cancelled: v4 has
  no call to cancel a seller order [spec ``#/paths``] — logged as ignored with that reason.
"""

from __future__ import annotations

from typing import Any, Iterator

from integrations_dagster.connectors.base import Change, Outcome, WriteContext, one_by_one
from integrations_dagster.connectors.quota import QuotaExhausted
from integrations_dagster.flows.lineage import ENTITY as ORIGINS
from integrations_dagster.model import OrderProgress


class ShippedMarker:
    def __init__(self, adapter: Any, ctx: WriteContext, store: Any) -> None:
        self.adapter, self.ctx, self.store = adapter, ctx, store
        self.connection = str(ctx.options.get("connection") or "tradera")

    def write(self, changes: list[Change]) -> Iterator[Outcome]:
        for n, change in enumerate(changes):
            try:
                yield from one_by_one([change], self._one, "Tradera refused to mark it shipped")
            except QuotaExhausted as exc:  # nothing more is sent today: the rest waits, the cursor stays
                for waiting in changes[n:]:
                    yield Outcome(waiting.key, ok=False, action="deferred", error=str(exc.message))
                return

    def _one(self, change: Change) -> Outcome:
        progress = change.record
        if not isinstance(progress, OrderProgress):
            return Outcome(change.key, ok=True, action="skipped")
        order = self._tradera_order(progress.order_key)
        if order is None:
            return Outcome(change.key, ok=True, action="ignored",
                           error=f"{progress.order_key} did not come from {self.connection}")
        if progress.state != "delivered":
            return Outcome(change.key, ok=True, action="ignored", error=(
                f"Tradera order {order} is {progress.state} in the shop; Tradera's API marks orders shipped only"))
        answer = self.adapter.request("POST", f"/v4/orders/{order}/ship").json()
        return Outcome(change.key, ok=True, action="updated", target_id=str(answer.get("orderId") or order))

    def _tradera_order(self, key: str) -> str | None:
        """The Tradera order id behind ``key``: its own (``tradera:9001``), or the order the shop's order
        ``shop:456`` was made from (the shop's id map binds ``tradera:9001`` to 456)."""
        connection, _, own_id = key.partition(":")
        if connection == self.connection:
            return own_id
        binder = self.store.binder(connection)
        origin = binder.key_for(ORIGINS, own_id) or binder.key_for("orders", own_id)
        if origin and origin.startswith(f"{self.connection}:"):
            return origin.split(":", 1)[1]
        return None
