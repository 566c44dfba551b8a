"""The HTTP adapter every connector builds on: session, retries, backoff, rate limits, paging helpers.

Retry policy, and why:
* Reads (GET) and idempotent writes (PUT, DELETE) are retried on 429, 5xx, timeouts and dropped
  connections, with exponential backoff and jitter, waiting at least what ``Retry-After`` (or a
  vendor reset header named by the connector) asks for.
* A POST is retried only when the server certainly did not apply it: 429, or a connection that
  failed before the request was sent. Any other failure of a POST raises :class:`TransientError`,
  so that the writer can look the record up before creating it again — a blind retry is how
  duplicates are made.
* A proactive :class:`RateLimiter` keeps the client under a documented limit (Fortnox: 25 requests
  per 5 s) instead of learning it from 429s; a :class:`QuotaPacer` does the same from the quota
  headers a vendor sends on every answer (BigCommerce); ``before_send`` spends a daily call quota
  that no header states (:mod:`integrations_dagster.connectors.quota`).

Credentials never show: :class:`HttpClient`'s repr leaves out its auth, headers and session, a
``(user, password)`` pair becomes a :class:`BasicAuth` whose repr is masked, and the errors it raises
carry no frames of ``requests``/``urllib3`` (whose locals hold the auth pair and the
``Authorization`` header) nor their exception chain. :class:`Secret` holds a credential a local
variable must keep (the OAuth token chain) with a masked repr.
"""

from __future__ import annotations

import email.utils
import hmac
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

import requests
import requests.auth

TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
MASK = "**********"


class Secret:
    """A credential that does not show itself in ``repr``/``str`` (so neither in a traceback's
    locals nor in a log line); ``value`` is the credential."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})" if self.value else "Secret('')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(str(self.value).encode(), str(other.value).encode())

    def __hash__(self) -> int:
        return hash(self.value)


class BearerAuth(requests.auth.AuthBase):
    """``Authorization: Bearer`` with the token current when the request is sent (``token()``: a
    token chain's current one, or a standing key); its repr is masked."""

    def __init__(self, token: Callable[[], str]) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token()}"
        return request

    def __repr__(self) -> str:
        return f"BearerAuth({MASK!r})"


class BasicAuth(requests.auth.HTTPBasicAuth):
    """HTTP Basic auth whose repr names neither the user nor the password."""

    def __repr__(self) -> str:
        return f"BasicAuth({MASK!r})"


class ApiError(Exception):
    """The vendor refused a request (4xx other than 429): not worth retrying."""

    def __init__(self, status: int, message: str, body: Any = None, method: str = "", path: str = "") -> None:
        super().__init__(f"{method} {path} -> HTTP {status}: {message}".strip())
        self.status = status
        self.message = message
        self.body = body


class TransientError(ApiError):
    """A request failed in a way that may pass on retry (5xx, 429, timeout, dropped connection).

    For a POST it may also have been applied: check before sending it again.
    """


class RateLimiter:
    """Sliding-window limiter: at most ``limit`` requests in any ``window`` seconds."""

    def __init__(self, limit: int, window: float, margin: float = 0.05) -> None:
        self.limit, self.window, self.margin = limit, window, margin
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Block until a request may be sent; return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = time.monotonic()
                while self._sent and now - self._sent[0] >= self.window + self.margin:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return waited
                pause = self.window + self.margin - (now - self._sent[0])
            time.sleep(max(pause, 0.001))
            waited += max(pause, 0.001)


class QuotaPacer:
    """Keeps a client inside a quota the vendor states on every answer (requests left in the window,
    milliseconds until it resets) instead of learning it from 429s.

    ``observe`` reads the headers of each answer; ``acquire`` waits, before a request, only when the
    last answer said ``reserve`` or fewer requests are left and the window has not reset yet. The
    header names are the connector's (BigCommerce: ``X-Rate-Limit-Requests-Left``,
    ``X-Rate-Limit-Time-Reset-Ms``).
    """

    def __init__(self, left_header: str, reset_ms_header: str, reserve: int = 0) -> None:
        self.left_header, self.reset_ms_header, self.reserve = left_header, reset_ms_header, reserve
        self._left: int | None = None
        self._reset_at = 0.0
        self._lock = threading.Lock()
        self.waited = 0.0  # seconds spent waiting (for metrics and benchmarks)

    def observe(self, headers: Any) -> None:
        left, reset_ms = headers.get(self.left_header), headers.get(self.reset_ms_header)
        if left is None or reset_ms is None:
            return
        try:
            with self._lock:
                self._left, self._reset_at = int(left), time.monotonic() + float(reset_ms) / 1000
        except ValueError:
            return

    def acquire(self) -> float:
        with self._lock:
            if self._left is None or self._left > self.reserve:
                if self._left is not None:
                    self._left -= 1  # requests sent before this one's answer comes count too
                return 0.0
            pause = self._reset_at - time.monotonic()
            self._left = None  # the window resets; the next answer says where we stand
        if pause > 0:
            time.sleep(pause)
            self.waited += pause
        return max(pause, 0.0)

    def seconds_to_reset(self, headers: Any) -> float | None:
        """A 429's wait, from the reset header (for ``HttpClient.wait_hint``)."""
        value = headers.get(self.reset_ms_header) if headers else None
        try:
            return max(float(value) / 1000, 0.0) if value is not None else None
        except ValueError:
            return None


@dataclass
class RetryPolicy:
    attempts: int = 6
    base_delay: float = 0.25
    max_delay: float = 30.0
    jitter: float = 0.25

    def delay(self, attempt: int, asked: float | None) -> float:
        backoff = min(self.max_delay, self.base_delay * 2 ** attempt) * (1 + random.uniform(0, self.jitter))
        return max(backoff, asked or 0.0)


def retry_after_seconds(headers: Any) -> float | None:
    """``Retry-After`` as seconds: either a number or an HTTP date."""
    value = headers.get("Retry-After") if headers else None
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(parsed.timestamp() - time.time(), 0.0) if parsed else None


@dataclass
class HttpClient:
    """A ``requests`` session bound to one base URL and one auth scheme.

    ``auth`` is applied to every request (a ``requests`` auth object, a callable that takes and
    returns the ``PreparedRequest``, or a ``(user, password)`` pair for HTTP Basic).
    ``error_message`` turns a vendor error body into one line. ``wait_hint`` reads vendor-specific
    reset headers (seconds) besides ``Retry-After``. The repr shows neither ``auth``, ``headers``
    (an ``Authorization`` may be among them) nor ``session`` (it holds those headers).
    """

    base_url: str
    auth: Any = field(default=None, repr=False)
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    limiter: RateLimiter | None = None
    quota: QuotaPacer | None = None
    error_message: Callable[[Any], str] | None = None
    wait_hint: Callable[[Any], float | None] | None = None
    on_retry: Callable[[str], None] | None = None
    # Called when the API answers 401 with the credentials of ``auth``: True when it got new ones
    # (an expired access token refreshed), and the request is sent once more.
    on_unauthorized: Callable[[], bool] | None = None
    # Called before each request is sent, retries included (``connectors.quota.CallBudget.spend``): it
    # records the call against a quota kept across runs, or raises to keep the request unsent.
    before_send: Callable[[], None] | None = None
    # Statuses raised at once, never retried: a 429 of a daily quota lasts hours, and each retry is a call.
    final_status: frozenset[int] = frozenset()
    session: requests.Session = field(default_factory=requests.Session, repr=False)
    requests_sent: int = 0

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        if isinstance(self.auth, tuple):  # requests would keep the bare pair in its frames' locals
            self.auth = BasicAuth(*self.auth)
        self.session.headers.update({"Accept": "application/json", **self.headers})
        _settle_environment(self.session, self.base_url)

    def request(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
                expect: tuple[int, ...] = (), idempotent: bool = False) -> requests.Response:
        """Send with retries; return the response (2xx, or a status listed in ``expect``). ``idempotent``:
        a POST that sets a value (an absolute count) is as safe to send again as a PUT."""
        method = method.upper()
        safe = method in IDEMPOTENT or idempotent
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        last: Exception | None = None
        reauthorized = False
        for attempt in range(self.retry.attempts):
            if self.limiter:
                self.limiter.acquire()
            if self.quota:
                self.quota.acquire()
            if self.before_send:
                self.before_send()
            self.requests_sent += 1
            resp, failure = self._send(method, url, params, json)
            if resp is not None and self.quota:
                self.quota.observe(resp.headers)
            # Raised here, outside the ``except`` that caught ``requests``' error: an error raised in
            # there would carry it as ``__context__``, with the frames whose locals hold the credentials.
            if failure is not None:
                maybe_applied, lost, failed = failure
                if not safe and maybe_applied:
                    raise TransientError(0, lost, method=method, path=path)
                last = TransientError(0, failed, method=method, path=path)
                self._pause(attempt, None, last)
                continue
            assert resp is not None
            if resp.status_code < 300 or resp.status_code in expect:
                return resp
            if resp.status_code == 401 and self.on_unauthorized and not reauthorized and self.on_unauthorized():
                reauthorized = True  # the server refused the request: sending it again is safe
                continue
            error = self._error(resp, method, path)
            if not isinstance(error, TransientError) or resp.status_code in self.final_status:
                raise error
            if not safe and resp.status_code != 429:
                raise error
            last = error
            asked = retry_after_seconds(resp.headers)
            if asked is None and self.wait_hint:
                asked = self.wait_hint(resp.headers)
            self._pause(attempt, asked, error)
        assert last is not None
        raise last

    def _send(self, method: str, url: str, params: dict | None,
              json: Any) -> tuple[requests.Response | None, tuple[bool, str, str] | None]:
        """One request: ``(response, None)``, or ``(None, (may have been applied, what to say when that
        ends it, what to say when it is retried))``."""
        return self._attempt(lambda: self.session.request(method, url, params=params, json=json, auth=self.auth,
                                                          timeout=self.timeout))

    def _attempt(self, call: Callable[[], requests.Response]
                 ) -> tuple[requests.Response | None, tuple[bool, str, str] | None]:
        """``call()`` (one ``requests`` call) as :meth:`_send` answers; a subclass sending another kind of
        body (a form) makes its own call and shares this."""
        try:
            return call(), None
        except requests.ConnectionError as exc:
            # A refused connection never reached the server; a reset may have.
            name = type(exc).__name__
            return None, (not _never_sent(exc), f"connection lost: {name}", f"connection failed: {name}")
        except requests.Timeout:
            return None, (True, "timed out", "timed out")
        except requests.RequestException as exc:
            # Any other failure of ``requests`` goes on as it is, without the frames below this one.
            raise _detached(exc)

    def _pause(self, attempt: int, asked: float | None, error: Exception) -> None:
        if attempt + 1 >= self.retry.attempts:
            return
        delay = self.retry.delay(attempt, asked)
        if self.on_retry:
            self.on_retry(f"{error}; retry {attempt + 1} in {delay:.2f}s")
        time.sleep(delay)

    def _error(self, resp: requests.Response, method: str, path: str) -> ApiError:
        try:
            body = resp.json()
        except ValueError:
            body = resp.text[:500]
        message = self.error_message(body) if self.error_message and body else str(body)[:300]
        cls = TransientError if resp.status_code in TRANSIENT_STATUS else ApiError
        return cls(resp.status_code, message, body, method=method, path=path)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None).json()

    def close(self) -> None:
        self.session.close()


def _detached(exc: BaseException) -> BaseException:
    """``exc`` without its traceback and chain: the frames of ``requests`` and ``urllib3`` below the
    caller hold the request's headers (``Authorization`` among them) and the auth in their locals."""
    exc.__cause__ = exc.__context__ = None
    exc.__suppress_context__ = True
    return exc.with_traceback(None)


def _never_sent(exc: requests.ConnectionError) -> bool:
    text = repr(exc)
    return "NewConnectionError" in text or "Connection refused" in text


def _settle_environment(session: requests.Session, base_url: str) -> None:
    """Read the environment's proxy and CA-bundle settings once, for the API's host, instead of on
    every request: ``requests`` scans every environment variable twice per request for them (a
    millisecond each on a 2-core machine: a third of the client's CPU in a parallel read of 1 000
    products, ``make bench`` vs_dlt). Same settings, same ``no_proxy`` rule; read when the client is
    built. (``.netrc`` is not consulted any more: every client here sends its own credentials.)"""
    if not session.trust_env:
        return
    settled = session.merge_environment_settings(base_url, {}, None, None, None)
    session.proxies.update(settled["proxies"])
    session.verify = settled["verify"]
    if settled["cert"] is not None:
        session.cert = settled["cert"]
    session.trust_env = False
