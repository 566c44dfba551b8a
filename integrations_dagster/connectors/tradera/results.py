"""Queued writes and their results: a write is landed only when Tradera's request result says so.

Creating, updating and ending a shop item, and setting prices, are **queued**: the answer is a
``{requestId, itemId}`` after a first validation, the outcome comes later from ``GET
/v4/listings/request-results?requestIds=…`` — no entry while a request is still processed, then
``resultCode`` 1 ``Ok`` or a failure code with a message [spec ``#/components/schemas/RequestResult``,
``ResultCode``; names from the 3p client: 2 ImageProcessingError, 4 Error, 8 Timeout, 16 TryAgain, 32
UpdateNotAllowed, 64 ReachedMaximumActiveItemsThreshold, 128 WaitingToBeProcessed, 256 Uncommited] [doc:
v3 op=GetRequestResults "No request result will be returned for request ids that at the time have no
result"].

:class:`Pending` keeps the requests of this connection whose result we have not seen, in the state store,
from the moment Tradera answered (and a *sending* mark from just before a create is sent): a run that ends
— or is killed — before the results came asks for them first in its next run, so a write is never sent
twice and nothing is taken as landed before Tradera said Ok. All ids go in one call (repeated
``requestIds`` keys, GUESS REQUEST_IDS_REPEATED). A create whose answer was lost has no request id to ask
about: the seller's items are looked through for its SKU, and while it may still sit in Tradera's queue
(:data:`LOST_ANSWER_GRACE`) it is not sent again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Callable

RESULTS = "/v4/listings/request-results"
OK = 1
NAMES = {1: "Ok", 2: "ImageProcessingError", 4: "Error", 8: "Timeout", 16: "TryAgain", 32: "UpdateNotAllowed",
         64: "ReachedMaximumActiveItemsThreshold", 128: "WaitingToBeProcessed", 256: "Uncommited"}
LOST_ANSWER_GRACE = timedelta(minutes=15)  # GUESS: nothing says how long the queue takes; a quarter of an hour is ample
AGAIN = frozenset({8, 16})  # the request did not happen: send it again (next run)
OPEN = frozenset({128, 256})  # not final yet


@dataclass(frozen=True)
class Result:
    code: int
    message: str

    @property
    def ok(self) -> bool:
        return self.code == OK

    def says(self) -> str:
        return f"result {self.code} {NAMES.get(self.code, '?')}" + (f": {self.message}" if self.message else "")


class Pending:
    """Requests sent and not yet settled, one per unit and kind of write (``<sku>#<op>``): ``{key, sku, op,
    request, item, value, at}`` — ``value`` what the write set (a price, the texts' fingerprint), so that a
    result that comes a run late is known for what it did and the write is not sent again."""

    def __init__(self, store: Any, name: str) -> None:
        self.store, self.name = store, name
        self.held: dict[str, dict] = dict((store.token(name) or {}).get("requests") or {})

    def save(self) -> None:
        self.store.save_token(self.name, {"requests": self.held})

    def sending(self, key: str, sku: str, op: str, value: Any = None) -> None:
        """Just before a create is sent: if the run dies before the answer, the next one looks first."""
        self.sent(key, sku, op, None, None, value)

    def sent(self, key: str, sku: str, op: str, request: int | None, item: int | None, value: Any = None) -> None:
        self.held[f"{sku}#{op}"] = {"key": key, "sku": sku, "op": op, "request": request, "item": item,
                                    "value": value, "at": _now()}
        self.save()

    def settle(self, entries: list[str]) -> None:
        if any(e in self.held for e in entries):
            for entry in entries:
                self.held.pop(entry, None)
            self.save()

    def of(self, skus: list[str]) -> dict[str, dict]:
        """The open entries of these units."""
        wanted = set(skus)
        return {e: h for e, h in self.held.items() if h["sku"] in wanted}

    def holds(self, sku: str) -> bool:
        return any(h["sku"] == sku for h in self.held.values())


def poll(get: Callable[..., Any], requests: list[int], *, waits: tuple[float, ...]) -> dict[int, Result]:
    """The final results of ``requests``: asked after each of ``waits`` (seconds) until every one is in;
    those still without one are left out (pending). One call per ask, all ids in it."""
    found: dict[int, Result] = {}
    for wait in waits:
        missing = [r for r in requests if r not in found]
        if not missing:
            break
        if wait:
            time.sleep(wait)
        for entry in get(RESULTS, requestIds=missing) or []:
            code = int(entry.get("resultCode") or 0)
            if code not in OPEN:
                found[int(entry["requestId"])] = Result(code, str(entry.get("message") or ""))
    return found


def _now() -> str:
    return datetime.now(UTC).isoformat()
