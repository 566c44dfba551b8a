"""Queued writes and ``GET /v4/listings/request-results``.

Creates, updates, variant writes, removals and batch prices answer ``QueuedRequestResponse{requestId,
itemId}`` at once [spec ``#/components/schemas/QueuedRequestResponse``] and are applied only when processed;
"No request result will be returned for request ids that at the time have no result" [doc: v3
op=GetRequestResults]. guesses.QUEUE_*: a request has no result for the ``queue_delay_s`` setting (fixed
when it is submitted), then is processed — first in, first out, lazily before any call reads state — with
its final ``resultCode`` (1 Ok; 4 Error with a message; 64 over ``maxActiveItems``); results are kept
guesses.RESULT_KEPT_DAYS days; unknown ids are absent. ``requestIds`` repeated or as a comma list.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from integrations_dagster.sandbox.tradera import guesses, listing
from integrations_dagster.sandbox.tradera.shop import Shop
from integrations_dagster.sandbox.tradera.wire import USER, Api, int_value


class Queue:
    def __init__(self, shop: Shop) -> None:
        self.shop, self.store, self.clock = shop, shop.store, shop.clock

    def submit(self, kind: str, item_id: int, payload: dict | None = None) -> dict:
        """Queue a write (``create``, ``update``, ``delete``, ``price``); its QueuedRequestResponse."""
        now = self.clock.time()
        delay = float(self.shop.settings()["queue_delay_s"])
        row = self.store.insert("requests", {"kind": kind, "itemId": item_id, "payload": payload or {},
                                             "submittedAt": now, "dueAt": now + delay, "result": None},
                                key="pending")
        return {"requestId": row + guesses.REQUEST_ID_BASE, "itemId": item_id}

    def process_due(self) -> int:
        """Process due requests in submission order; stops at the first one not yet due (FIFO)."""
        done = 0
        with self.store.lock:
            for request in self.store.find("requests", key="pending"):
                if request["dueAt"] > self.clock.time():
                    break
                code, message = self._process(request)
                request["result"] = {"resultCode": code, "message": message}
                request["processedAt"] = self.clock.time()
                self.store.put("requests", request["id"], request, key="done")
                done += 1
        return done

    def _process(self, request: dict) -> tuple[int, str | None]:
        kind, item_id, data = request["kind"], request["itemId"], request["payload"]
        shop = self.shop
        if kind == "create":
            item = shop.item(item_id, "pending")
            problem = listing.late_problem(shop, item, data) if item else (guesses.RESULT_ERROR, "Unknown item.")
            max_active = shop.settings()["max_active_items"]
            if problem is None and shop.active_count() >= max_active:
                problem = guesses.RESULT_MAX_ACTIVE, guesses.MAX_ACTIVE_REACHED.format(max=max_active)
            if problem:
                if item:
                    item["state"] = "failed"  # guesses.FAILED_CREATE_GONE
                    shop.save_item(item, bump=False)
                return problem
            listing.apply(item, data, create=True)
            item["state"], item["startDate"] = "active", self.clock.stamp()
            shop.save_item(item)
            return guesses.RESULT_OK, None
        item = shop.item(item_id, "active")
        if item is None:
            return guesses.RESULT_ERROR, shop.no_such_item(item_id)
        if kind == "update":
            problem = listing.late_problem(shop, item, data)
            if problem:
                return problem
            listing.apply(item, data, create=False)
        elif kind == "price":
            item["price"] = data["price"]
        elif kind == "delete":
            item["state"] = "removed"
        shop.save_item(item)
        return guesses.RESULT_OK, None

    def results(self, ids: list[int]) -> list[dict]:
        kept_after = self.clock.time() - guesses.RESULT_KEPT_DAYS * 86_400
        out, seen = [], set()
        for request_id in ids:
            row = request_id - guesses.REQUEST_ID_BASE
            if request_id in seen or row <= 0:
                continue
            seen.add(request_id)
            request = self.store.get("requests", row)
            if request and request["result"] and request["processedAt"] >= kept_after:
                out.append({"requestId": request_id, **request["result"]})
        return out

    def all(self) -> list[dict]:
        return [{**r, "requestId": r["id"] + guesses.REQUEST_ID_BASE} for r in self.store.find("requests")]

    def routes(self, api: Api) -> list[Route]:
        def request_results(request: Request, _) -> list[dict]:  # guesses.REQUEST_IDS_REPEATED
            ids = [int_value(part, "requestIds") for raw in request.query_params.getlist("requestIds")
                   for part in raw.split(",") if part.strip()]
            return self.results(ids)

        return [api.route("GET", "/v4/listings/request-results", USER, request_results)]
