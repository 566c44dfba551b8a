"""BigCommerce's per-store request quota and its headers (a vendor rule, not the generic knob).

"Plus & Standard: 20k per hour (150 / 30sec)"; the quota belongs to the store and is shared by all
apps; each answer carries ``X-Rate-Limit-Time-Window-Ms``, ``X-Rate-Limit-Time-Reset-Ms`` (ms left
in the window), ``X-Rate-Limit-Requests-Quota`` and ``X-Rate-Limit-Requests-Left``; once none is
left the answer is 429, with ``X-Retry-After`` in seconds
[doc: BCdocs:docs/api-docs/getting-started/api-rate-limits.mdx] [doc: BCdocs:docs/start/about/index.mdx].
The window is modelled as fixed: it opens with the first request and the whole quota comes back when
it closes (the docs say the quota is "refreshed" per window; a sliding refill is not described).

Tests change the quota with ``POST /__sandbox__/bigcommerce/quota {"requests": N, "window_ms": M}``.
"""

from __future__ import annotations

import math
import threading
import time

STANDARD_PLAN_REQUESTS = 150
STANDARD_PLAN_WINDOW_MS = 30_000


class StoreQuota:
    def __init__(self, requests: int = STANDARD_PLAN_REQUESTS, window_ms: int = STANDARD_PLAN_WINDOW_MS) -> None:
        self._lock = threading.Lock()
        self.configure(requests, window_ms)

    def configure(self, requests: int, window_ms: int) -> None:
        if requests < 1 or window_ms < 1:
            raise ValueError("requests and window_ms must be positive")
        with self._lock:
            self.requests, self.window_ms = int(requests), int(window_ms)
            self._opened: float | None = None
            self._used = 0

    def reset(self) -> None:
        self.configure(self.requests, self.window_ms)

    def admit(self) -> tuple[bool, dict[str, str]]:
        """(allowed, headers for the answer)."""
        now = time.monotonic()
        with self._lock:
            if self._opened is None or (now - self._opened) * 1000 >= self.window_ms:
                self._opened, self._used = now, 0
            reset_ms = max(0, int(self.window_ms - (now - self._opened) * 1000))
            allowed = self._used < self.requests
            if allowed:
                self._used += 1
            headers = {
                "X-Rate-Limit-Time-Window-Ms": str(self.window_ms),
                "X-Rate-Limit-Time-Reset-Ms": str(reset_ms),
                "X-Rate-Limit-Requests-Quota": str(self.requests),
                "X-Rate-Limit-Requests-Left": str(self.requests - self._used),
            }
            if not allowed:
                headers["X-Retry-After"] = str(max(1, math.ceil(reset_ms / 1000)))
            return allowed, headers
