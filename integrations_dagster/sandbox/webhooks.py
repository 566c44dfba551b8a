"""Webhook delivery shared by every sandbox: the vendor POSTs a signed body to each destination
subscribed to an event, from a thread of its own, after the change is stored.

A vendor module builds the body and the headers (its envelope and signature, cited where it does)
and hands them to :meth:`Outbox.send`; this module only delivers, and lets a test make delivery
as bad as the internet makes it (``Knobs``: ``webhook_drop_rate``, ``webhook_duplicate_rate``,
``webhook_delay_ms``, ``webhook_reorder``). Which delivery is dropped or doubled is drawn from a
generator seeded by ``Knobs.seed``, so a test run is repeatable. A destination that does not answer
2xx is tried again after each of ``retry_delays_s`` (the vendor's retry policy, given by the vendor
module) without holding other deliveries back; ``sign`` makes a delivery's signature headers again
for each attempt (a scheme that signs a timestamp), ``on_result`` tells the vendor module how it
ended (a vendor that disables a failing subscription). ``stats`` counts what happened, and
``GET /__sandbox__/webhooks`` shows it with the deliveries' log.

These knobs are test instruments, not vendor behaviour.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

import requests

LOG_ROWS = 1000  # the delivery log keeps this many attempts


@dataclass
class Delivery:
    url: str
    body: bytes
    headers: dict[str, str]
    event: str = ""
    retry_delays_s: tuple[float, ...] = ()
    # Headers made again for each attempt (a signature over the attempt's own timestamp), if any.
    sign: Callable[["Delivery"], dict[str, str]] | None = None
    # Told the end: True once a destination answered 2xx, False when the retries ran out.
    on_result: Callable[[bool], None] | None = None


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    delivery: Delivery = field(compare=False)
    attempt: int = field(compare=False, default=0)


@dataclass
class Outbox:
    knobs: Any  # sandbox.base.Knobs
    stats: Counter = field(default_factory=Counter)
    log: list[dict] = field(default_factory=list)  # one row per attempt: event, url, status

    def __post_init__(self) -> None:
        self._due: list[_Due] = []  # a heap: a retry waits its turn without holding others back
        self._seq = itertools.count()
        self._held: list[Delivery] = []
        self._lock = threading.Condition()
        self._busy = 0
        self._random = random.Random(self.knobs.seed)
        self._thread = threading.Thread(target=self._run, daemon=True, name="sandbox-webhooks")
        self._thread.start()

    def send(self, delivery: Delivery) -> None:
        """Queue one delivery (what the knobs do to it is decided here, in the caller's order)."""
        with self._lock:
            self.stats["queued"] += 1
            if self._random.random() < self.knobs.webhook_drop_rate:
                self.stats["dropped"] += 1
                return
            copies = 2 if self._random.random() < self.knobs.webhook_duplicate_rate else 1
            self.stats["duplicated"] += copies - 1
            batch = [delivery] * copies
            if self.knobs.webhook_reorder > 1:
                self._held.extend(batch)
                if len(self._held) < self.knobs.webhook_reorder:
                    return
                batch, self._held = list(reversed(self._held)), []
                self.stats["reordered"] += len(batch)
            self._enqueue(batch, self.knobs.webhook_delay_ms / 1000)

    def _enqueue(self, batch: list[Delivery], delay: float) -> None:
        """(Lock held.) Queue ``batch`` in order, due after ``delay``."""
        at = time.monotonic() + delay
        for item in batch:
            heapq.heappush(self._due, _Due(at, next(self._seq), item))
        self._lock.notify_all()

    def flush(self) -> None:
        """Send what ``webhook_reorder`` holds back (newest first)."""
        with self._lock:
            held, self._held = list(reversed(self._held)), []
            self._enqueue(held, self.knobs.webhook_delay_ms / 1000)

    def idle(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is queued, being sent or waiting for a retry (tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._busy and not self._due:
                    return True
            time.sleep(0.01)
        return False

    def as_json(self) -> dict:
        with self._lock:
            return {"stats": dict(self.stats), "held": len(self._held), "waiting": len(self._due),
                    "log": self.log[-200:]}

    def clear(self) -> None:
        with self._lock:
            self.stats.clear()
            self.log.clear()
            self._held.clear()
            self._due.clear()
            self._random = random.Random(self.knobs.seed)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._due or self._due[0].at > time.monotonic():
                    self._lock.wait(timeout=(self._due[0].at - time.monotonic()) if self._due else None)
                due = heapq.heappop(self._due)
                self._busy += 1
            try:
                self._attempt(due)
            finally:
                with self._lock:
                    self._busy -= 1

    def _attempt(self, due: _Due) -> None:
        delivery = due.delivery
        headers = {**delivery.headers, **(delivery.sign(delivery) if delivery.sign else {})}
        try:
            status: int | str = requests.post(delivery.url, data=delivery.body, headers=headers, timeout=10).status_code
        except requests.RequestException as exc:
            status = type(exc).__name__
        ok = isinstance(status, int) and 200 <= status < 300
        with self._lock:
            self.log.append({"event": delivery.event, "url": delivery.url, "attempt": due.attempt + 1,
                             "status": status})
            del self.log[:-LOG_ROWS]
            if ok:
                self.stats["delivered"] += 1
            elif due.attempt < len(delivery.retry_delays_s):
                self.stats["failed_attempts"] += 1
                at = time.monotonic() + delivery.retry_delays_s[due.attempt]
                heapq.heappush(self._due, _Due(at, next(self._seq), delivery, due.attempt + 1))
                self._lock.notify_all()
                return
            else:
                self.stats["failed_attempts"] += 1
                self.stats["gave_up"] += 1
        if delivery.on_result:
            delivery.on_result(ok)
