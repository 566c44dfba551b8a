"""Tradera's call quota: the generic limiter's window (``Sandbox.window``), on the sandbox clock.

"There is a call limit on 100 calls/24 hours for all methods. If you exceed the rate limit, a response with
HTTP response code 429 (Too many requests) will be sent." [doc: v3 start page; doc: plugin README]. The
generic knobs ``rate_limit``/``rate_window_s`` drive it (base.py's middleware calls :meth:`admit` for every
request outside ``/__sandbox__``); the 429 is the vendor envelope with no quota header (app.py,
guesses.QUOTA_HEADERS). Differences from base's ``SlidingWindow``, all guesses.QUOTA_*:

* refused calls count too (QUOTA_COUNTS_ERRORS): a client that keeps calling while refused keeps the window
  full — the sandbox checks app credentials inside the routes, after this count, so 401/403 answers count;
* time is the sandbox clock, so ``POST /__sandbox__/tradera/clock`` can move calls out of the window;
* :meth:`fill` sets the number of calls in the window (tests of an exhausted quota without 100 calls);
* the browser login pages (``/token-login*``) are Tradera's web site, not API methods: neither counted nor
  refused (guesses.LOGIN_PAGES_COUNT). :class:`LoginPagesExempt`, the outermost middleware, marks them.
"""

from __future__ import annotations

import threading
from collections import deque
from contextvars import ContextVar

from integrations_dagster.sandbox.tradera import guesses
from integrations_dagster.sandbox.tradera.wire import Clock

LOGIN_PREFIX = "/token-login"
_EXEMPT: ContextVar[bool] = ContextVar("tradera_quota_exempt", default=False)


class LoginPagesExempt:
    """ASGI middleware (added outermost): requests to the login pages skip the quota."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        exempt = scope["type"] == "http" and scope["path"].startswith(LOGIN_PREFIX) and not guesses.LOGIN_PAGES_COUNT
        token = _EXEMPT.set(exempt)
        try:
            await self.app(scope, receive, send)
        finally:
            _EXEMPT.reset(token)


class QuotaWindow:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._hits: deque[float] = deque()
        self._lock = threading.Lock()

    def _expire(self, now: float, window: float) -> None:
        while self._hits and now - self._hits[0] >= window:
            self._hits.popleft()

    def admit(self, limit: int, window: float) -> tuple[bool, int, float]:
        """(allowed, calls left, seconds until the oldest call leaves the window) — base.SlidingWindow's API."""
        if _EXEMPT.get():
            return True, limit, window
        now = self.clock.monotonic()
        with self._lock:
            self._expire(now, window)
            allowed = len(self._hits) < limit
            if allowed or guesses.QUOTA_COUNTS_ERRORS:
                self._hits.append(now)
            reset = window - (now - self._hits[0]) if self._hits else window
            return allowed, max(0, limit - len(self._hits)), reset

    def used(self, window: float) -> int:
        with self._lock:
            self._expire(self.clock.monotonic(), window)
            return len(self._hits)

    def fill(self, count: int) -> None:
        with self._lock:
            now = self.clock.monotonic()
            self._hits = deque([now] * max(0, count))

    def clear(self) -> None:
        with self._lock:
            self._hits.clear()
