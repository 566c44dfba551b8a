"""A vendor's call quota kept across runs: a ledger of the calls sent, and what is left for whom.

Some vendors allow an application a fixed number of calls a day (Tradera: 100 calls per 24 hours
for all methods) and say nothing on their answers about how many are left — the first sign of an
exhausted quota is a 429 that lasts until calls of yesterday leave the window. A connector for
such a system keeps its own ledger, as every client of it does: :class:`CallBudget` records each
request in the state store (``call_ledger``) before it is sent, so every run and process of the
deployment spends one budget, and a request the budget has no room for is never sent
(:class:`QuotaExhausted`, with the time room frees).

Not every call is worth the same: orders are money already taken, so a budget keeps ``reserve``
calls for its ``priority`` purposes (reading orders, marking them shipped) until they have spent that
many in the window; the listing writes stop while what is left is only the unspent reserve. A connector names the purpose of what
it is about to do (:meth:`CallBudget.spending_on`).

The limit, the window and the reserve are connection settings: the vendor raises a quota on request.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Iterator

from integrations_dagster.connectors.http import TransientError
from integrations_dagster.state.store import hashed_key


class QuotaExhausted(TransientError):
    """A call the quota has no room for: it was not sent. ``frees_at``: when the next one fits. A
    :class:`TransientError` (the work is read again next run), never a record's own failure."""

    def __init__(self, message: str, frees_at: datetime) -> None:
        super().__init__(429, message)
        self.frees_at = frees_at


def budget_name(*parts: str) -> str:
    """The ledger's name of a quota from what identifies it (the application id): a hash, so the
    state store never holds an identifier that might be secret."""
    return hashed_key("quota", *parts)


@dataclass
class CallBudget:
    """``limit`` calls per ``window`` under ``name``, ``reserve`` of them for the ``priority`` purposes.

    ``store`` is the state store (``spend_call``, ``calls_sent``); the repr leaves it out (its URL may
    hold a password). ``system`` names the vendor in messages.
    """

    store: Any = field(repr=False)
    name: str
    limit: int
    window: timedelta = timedelta(hours=24)
    reserve: int = 0
    priority: frozenset[str] = frozenset({"orders"})
    system: str = "the system"
    _purpose: threading.local = field(default_factory=threading.local, repr=False)

    @property
    def purpose(self) -> str:
        return getattr(self._purpose, "name", "other")

    @contextmanager
    def spending_on(self, purpose: str) -> Iterator[None]:
        """Calls made inside are spent on ``purpose`` (``orders``, ``listings``...)."""
        before = self.purpose
        self._purpose.name = purpose
        try:
            yield
        finally:
            self._purpose.name = before

    def allowed(self, purpose: str | None = None, sent: list[tuple[datetime, str]] | None = None) -> int:
        """How many calls in the window ``purpose`` may spend in all: the limit, less what of the reserve
        the priority purposes have not spent yet (orders spend first; the rest may use what they leave)."""
        purpose = purpose or self.purpose
        if purpose in self.priority:
            return self.limit
        sent = self.store.calls_sent(self.name, self.window) if sent is None else sent
        return max(self.limit - max(self.reserve - sum(p in self.priority for _, p in sent), 0), 0)

    def spend(self) -> None:
        """Record one call about to be sent (``HttpClient.before_send``), or raise :class:`QuotaExhausted`."""
        sent, allowed = self.store.spend_call(self.name, self.purpose, limit=self.limit, window=self.window,
                                              reserve=self.reserve, priority=self.priority)
        if len(sent) >= allowed:
            raise QuotaExhausted(self.exhausted_message(sent, allowed), self._frees_at(sent, allowed, 1))

    def used(self) -> int:
        return len(self.store.calls_sent(self.name, self.window))

    def left(self, purpose: str | None = None) -> int:
        """Calls ``purpose`` may still send in the current window."""
        sent = self.store.calls_sent(self.name, self.window)
        return max(self.allowed(purpose, sent) - len(sent), 0)

    def frees_at(self, calls: int, purpose: str | None = None) -> datetime:
        """When ``calls`` more calls fit for ``purpose`` (now, when they fit already)."""
        sent = self.store.calls_sent(self.name, self.window)
        return self._frees_at([at for at, _ in sent], self.allowed(purpose, sent), calls)

    def _frees_at(self, sent: list[datetime], allowed: int, calls: int) -> datetime:
        over = len(sent) + calls - allowed  # this many of the oldest calls must leave the window first
        if over <= 0:
            return datetime.now(UTC)
        if allowed < calls or over > len(sent):
            return datetime.max.replace(tzinfo=UTC)  # never: the quota is smaller than the work
        return sent[over - 1] + self.window

    def per_window(self, purpose: str | None = None) -> int:
        """Calls ``purpose`` may count on in a whole window (for a finishing-time estimate): all but the
        reserve, for a purpose outside the priority ones."""
        purpose = purpose or self.purpose
        return self.limit if purpose in self.priority else max(self.limit - self.reserve, 0)

    def exhausted_message(self, sent: list[datetime], allowed: int) -> str:
        hours = self.window.total_seconds() / 3600
        kept = (f"; {self.reserve} kept for {', '.join(sorted(self.priority))}"
                if self.reserve and self.purpose not in self.priority else "")
        frees = self._frees_at(sent, allowed, 1)
        return (f"{self.system}'s quota: {len(sent)} of {self.limit} calls used in the last {hours:g} h{kept}; "
                f"{self.purpose} waits until {frees.strftime('%Y-%m-%d %H:%M')} UTC")

    def describe(self) -> str:
        used = self.used()
        hours = self.window.total_seconds() / 3600
        return (f"{used} of {self.limit} calls used in the last {hours:g} h"
                + (f" ({self.reserve} kept for {', '.join(sorted(self.priority))})" if self.reserve else ""))
