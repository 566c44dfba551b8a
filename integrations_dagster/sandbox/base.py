"""Shared machinery of every vendor emulator: knobs, faults, rate limits, stats, SQLite documents.

A vendor sandbox is a Starlette app built by :func:`build_app` from its own routes and a
:class:`VendorStyle` that says how that vendor spells its errors (401, 429, 5xx). This module adds
what every sandbox has in common, so that a vendor module holds only the vendor's API:

* ``GET /__sandbox__/stats``  request counts per method and path template, and per status;
* ``POST /__sandbox__/reset``  empty the store and (optionally) reload the demo data;
* ``GET|POST /__sandbox__/knobs``  read or change latency, rate limit and fault rates at run time;
* ``GET|POST /__sandbox__/webhooks``  webhook deliveries (:mod:`.webhooks`); POST sends held ones;
* injected latency, a sliding-window rate limit answered in the vendor's own 429 shape, and
  injected faults (5xx before the handler, 5xx *after* a write was applied, dropped connections,
  slow answers that make a client time out), and an applied write whose answer is held
  (``hold_write``) so that a crash test can kill the client between the two. Which request meets
  which fault is fixed per request by a :class:`FaultSchedule`, not drawn from a shared stream.

These knobs are test instruments, not vendor behaviour, and need no evidence; what the vendor
answers when one fires (its 401/429/5xx bodies and headers) is its :class:`VendorStyle`,
cited where each vendor module builds it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import sqlite3
import threading
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

SANDBOX_PREFIX = "/__sandbox__"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class Knobs:
    """Run-time settings of one sandbox; every field can be changed over ``/__sandbox__/knobs``."""

    latency_ms: float = 0.0
    rate_limit: int = 0  # requests allowed per window; 0 = unlimited
    rate_window_s: float = 1.0
    fault_rate: float = 0.0  # share of requests answered with a 5xx before the handler runs
    fault_after_write_rate: float = 0.0  # share of writes applied, then answered with a 500
    throttle_rate: float = 0.0  # share of requests answered 429 with Retry-After (on top of the limit)
    timeout_rate: float = 0.0  # share of requests held for ``timeout_hold_s`` (client read timeout)
    timeout_hold_s: float = 3.0
    reset_rate: float = 0.0  # share of requests whose connection is dropped (half of the writes after applying)
    fault_streak_max: int = 0  # most consecutive faulted occurrences of one request; 0 = unbounded (FaultSchedule)
    # Crash tests: the Nth write accepted after this knob is set is applied, then its answer is held
    # (until the knob changes or ``hold_s`` passes), so a client killed meanwhile never learns it landed.
    hold_write: int = 0  # 0 = off
    hold_route: str = ""  # count only writes whose "METHOD /path" starts with this ("POST /3/orders")
    hold_s: float = 30.0
    token_ttl_s: float = 3600.0  # lifetime of access tokens a sandbox issues (OAuth2)
    # Webhook deliveries (``sandbox.webhooks.Outbox``): lost, late, sent twice, or out of order.
    webhook_drop_rate: float = 0.0  # share of deliveries never sent
    webhook_duplicate_rate: float = 0.0  # share of deliveries sent twice
    webhook_delay_ms: float = 0.0  # every delivery waits this long first
    webhook_reorder: int = 0  # hold this many deliveries, then send them newest first (0 = in order)
    seed: int | None = None

    def update(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            if not hasattr(self, name):
                raise ValueError(f"unknown knob {name!r}")
            kind = type(getattr(Knobs(), name))
            setattr(self, name, value if name == "seed" or value is None else kind(value))


@dataclass
class VendorStyle:
    """How one vendor answers errors; each function returns a complete response."""

    unauthorized: Callable[[], Response]
    rate_limited: Callable[[float], Response]  # argument: seconds until a request is allowed
    server_error: Callable[[int], Response]
    rate_limit_headers: Callable[[int, int, float], dict[str, str]] | None = None  # limit, left, reset_s


class SlidingWindow:
    """Counts requests in the last ``window`` seconds, as Fortnox documents its limit."""

    def __init__(self) -> None:
        self._hits: deque[float] = deque()
        self._lock = threading.Lock()

    def admit(self, limit: int, window: float) -> tuple[bool, int, float]:
        """Return (allowed, requests left, seconds until the oldest hit leaves the window)."""
        now = time.monotonic()
        with self._lock:
            while self._hits and now - self._hits[0] >= window:
                self._hits.popleft()
            if len(self._hits) >= limit:
                return False, 0, window - (now - self._hits[0])
            self._hits.append(now)
            reset = window - (now - self._hits[0]) if self._hits else window
            return True, limit - len(self._hits), reset

    def clear(self) -> None:
        with self._lock:
            self._hits.clear()


_ID_SEGMENT = re.compile(r"/(\d+|[0-9a-f]{8}-[0-9a-f-]{27,})(?=/|$)")


def path_template(path: str) -> str:
    """``/wp-json/wc/v3/products/12/variations/7`` -> ``/wp-json/wc/v3/products/{id}/variations/{id}``."""
    return _ID_SEGMENT.sub("/{id}", path)


@dataclass
class Stats:
    by_route: Counter = field(default_factory=Counter)  # "GET /path/{id}" -> n
    by_status: Counter = field(default_factory=Counter)
    faults: Counter = field(default_factory=Counter)  # kind of injected fault -> n
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, method: str, path: str, status: int) -> None:
        with self.lock:
            self.by_route[f"{method} {path_template(path)}"] += 1
            self.by_status[str(status)] += 1

    def fault(self, kind: str) -> None:
        with self.lock:
            self.faults[kind] += 1

    def as_json(self) -> dict[str, Any]:
        with self.lock:
            reads = sum(n for k, n in self.by_route.items() if k.split(" ", 1)[0] not in WRITE_METHODS)
            writes = sum(n for k, n in self.by_route.items() if k.split(" ", 1)[0] in WRITE_METHODS)
            return {
                "requests": dict(self.by_route),
                "status": dict(self.by_status),
                "faults": dict(self.faults),
                "reads": reads,
                "writes": writes,
                "total": reads + writes,
            }

    def clear(self) -> None:
        with self.lock:
            self.by_route.clear()
            self.by_status.clear()
            self.faults.clear()


class DocumentStore:
    """A small SQLite document store: one table of JSON documents per collection.

    Each document has an integer ``id`` (SQLite rowid, so ids are never reused), a ``key`` column
    for the vendor's string key (SKU, ArticleNumber, ...) and a ``modified`` column (ISO text, UTC)
    for incremental filters; both are indexed. Vendor modules keep their own field logic.
    """

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL" if path != ":memory:" else "PRAGMA journal_mode=MEMORY")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self.lock = threading.RLock()
        self._collections: set[str] = set()

    def _table(self, collection: str) -> str:
        if not re.fullmatch(r"[a-z_]+", collection):
            raise ValueError(collection)
        if collection not in self._collections:
            with self.lock:
                self._conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {collection} (id INTEGER PRIMARY KEY AUTOINCREMENT,"
                    " key TEXT, parent INTEGER, modified TEXT, data TEXT NOT NULL)"
                )
                self._conn.execute(f"CREATE INDEX IF NOT EXISTS {collection}_key ON {collection}(key)")
                self._conn.execute(f"CREATE INDEX IF NOT EXISTS {collection}_mod ON {collection}(modified)")
                self._conn.execute(f"CREATE INDEX IF NOT EXISTS {collection}_par ON {collection}(parent)")
            self._collections.add(collection)
        return collection

    def next_id(self, collection: str) -> int:
        t = self._table(collection)
        with self.lock:
            row = self._conn.execute("SELECT seq FROM sqlite_sequence WHERE name=?", (t,)).fetchone()
            return (row[0] if row else 0) + 1

    def insert(self, collection: str, doc: dict, *, key: str | None = None, parent: int | None = None,
               modified: str | None = None) -> int:
        """Insert ``doc``; its ``id`` is assigned here and written into the document as ``id``."""
        t = self._table(collection)
        with self.lock:
            cur = self._conn.execute(
                f"INSERT INTO {t}(key, parent, modified, data) VALUES (?,?,?,?)",
                (key, parent, modified, "{}"),
            )
            new_id = cur.lastrowid
            doc = {**doc, "id": new_id}
            self._conn.execute(f"UPDATE {t} SET data=? WHERE id=?", (json.dumps(doc), new_id))
            return new_id

    def put(self, collection: str, doc_id: int, doc: dict, *, key: str | None = None,
            parent: int | None = None, modified: str | None = None) -> None:
        t = self._table(collection)
        with self.lock:
            self._conn.execute(
                f"UPDATE {t} SET key=?, parent=?, modified=?, data=? WHERE id=?",
                (key, parent, modified, json.dumps(doc), doc_id),
            )

    def get(self, collection: str, doc_id: int) -> dict | None:
        t = self._table(collection)
        with self.lock:
            row = self._conn.execute(f"SELECT data FROM {t} WHERE id=?", (doc_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def delete(self, collection: str, doc_id: int) -> None:
        t = self._table(collection)
        with self.lock:
            self._conn.execute(f"DELETE FROM {t} WHERE id=?", (doc_id,))

    def find(self, collection: str, *, key: str | None = None, parent: int | None = None,
             modified_after: str | None = None, modified_before: str | None = None,
             order: str = "id", offset: int = 0, limit: int | None = None) -> list[dict]:
        """Documents matching the indexed columns, ordered by ``id`` (or ``modified``)."""
        t = self._table(collection)
        where, args = self._where(key, parent, modified_after, modified_before)
        sql = f"SELECT data FROM {t}{where} ORDER BY {'modified, id' if order == 'modified' else 'id'}"
        if limit is not None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        with self.lock:
            return [json.loads(r[0]) for r in self._conn.execute(sql, args).fetchall()]

    def count(self, collection: str, *, key: str | None = None, parent: int | None = None,
              modified_after: str | None = None, modified_before: str | None = None) -> int:
        t = self._table(collection)
        where, args = self._where(key, parent, modified_after, modified_before)
        with self.lock:
            return self._conn.execute(f"SELECT COUNT(*) FROM {t}{where}", args).fetchone()[0]

    @staticmethod
    def _where(key, parent, after, before) -> tuple[str, list]:
        clauses, args = [], []
        for col, op, val in (("key", "=", key), ("parent", "=", parent), ("modified", ">", after),
                             ("modified", "<", before)):
            if val is not None:
                clauses.append(f"{col} {op} ?")
                args.append(val)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), args

    def all_rows(self, collection: str) -> Iterable[dict]:
        return self.find(collection)

    def transaction(self):
        """``with store.transaction():`` groups writes (used by batch endpoints and demo loads)."""
        return _Transaction(self)

    def clear(self) -> None:
        with self.lock:
            for (name,) in self._conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            ).fetchall():
                self._conn.execute(f"DROP TABLE {name}")
            if self._conn.execute("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'").fetchone():
                self._conn.execute("DELETE FROM sqlite_sequence")
            self._collections.clear()


class _Transaction:
    def __init__(self, store: DocumentStore) -> None:
        self.store = store

    def __enter__(self):
        self.store.lock.acquire()
        self.store._conn.execute("BEGIN")
        return self.store

    def __exit__(self, exc_type, *_):
        try:
            self.store._conn.execute("ROLLBACK" if exc_type else "COMMIT")
            if exc_type:  # a table first made in this transaction is gone with it: make it again when used
                self.store._collections.clear()
        finally:
            self.store.lock.release()


FAULT_RATES = ("fault_rate", "fault_after_write_rate", "throttle_rate", "timeout_rate", "reset_rate")
# Knobs that restart the fault schedule when set (its occurrence counts start again from 0).
SCHEDULE_KNOBS = frozenset({"seed", "fault_streak_max", *FAULT_RATES})
_CREDENTIAL_PARAMS = frozenset({"consumer_key", "consumer_secret", "access_token", "refresh_token",
                                "client_id", "client_secret", "api_key", "token",
                                "accessToken", "api-token"})  # Shopbox: the token in the query string
_SCOPE_FAULT = "sandbox.fault"  # ASGI scope key: the fault the schedule chose for this request


def schedule_query(query: str) -> str:
    """The query string as a fault-schedule key: credentials (and OAuth 1.0a's ``oauth_*``, whose nonce
    and timestamp change on every request) removed, so a retry is recognised as the same request;
    sorted, so the order a client writes its parameters in does not matter."""
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode(sorted((k, v) for k, v in pairs if k not in _CREDENTIAL_PARAMS and not k.startswith("oauth_")))


def _unit(*parts: object) -> float:
    """A float in [0, 1) that depends only on ``parts``: the same on every run, thread and machine."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0 ** 64


class FaultSchedule:
    """Which injected fault, if any, each request meets.

    Every decision is a pure function of the seed, the decision's kind, the request key (method,
    path, :func:`schedule_query`) and the occurrence number of that key since the schedule last
    restarted (seed, rates or ``fault_streak_max`` set, or sandbox reset). A shared random stream
    handed faults out in arrival order, so with concurrent requests a seed reproduced nothing; here
    the same requests meet the same faults whatever the thread interleaving. Only the per-key
    occurrence counters are shared, under a lock.

    ``fault_streak_max`` (0 = unbounded): no more than that many consecutive occurrences of one key
    meet a fault of any kind; the next one passes. A client that tries a request more than
    ``fault_streak_max`` times can then never give up on it — by design, not by luck — while the
    faults still come at the configured rates otherwise.
    """

    def __init__(self, seed: int | None) -> None:
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str, str], list[int]] = {}  # key -> [occurrences, faulted streak]
        self.restart(seed)

    def restart(self, seed: int | None) -> None:
        with self._lock:
            self._seen.clear()
            # Unseeded: a fresh salt, so an unseeded sandbox still varies from run to run as before.
            self._salt = seed if seed is not None else f"unseeded-{random.getrandbits(64)}"

    def plan(self, knobs: Knobs, method: str, path: str, query: str) -> tuple[str, int] | None:
        """(fault kind as counted in stats, HTTP status or 0) for this occurrence, or None."""
        if not any(getattr(knobs, rate) > 0 for rate in FAULT_RATES):
            return None  # nothing to inject: keep no counters (benchmarks send millions of requests)
        key = (method, path, schedule_query(query))
        with self._lock:
            seen = self._seen.setdefault(key, [0, 0])
            n, streak = seen
            capped = 0 < knobs.fault_streak_max <= streak
            fault = None if capped else self._decide(knobs, key, n)
            seen[:] = [n + 1, streak + 1 if fault else 0]
        return fault

    def _decide(self, knobs: Knobs, key: tuple[str, str, str], n: int) -> tuple[str, int] | None:
        def hit(kind: str, rate: float) -> bool:
            return rate > 0 and _unit(self._salt, kind, *key, n) < rate

        write = key[0] in WRITE_METHODS
        # Same precedence as the request path: a dropped connection, then 429, 504, 5xx, error-after-write.
        if hit("reset", knobs.reset_rate):
            return ("reset_after_write", 0) if write and hit("reset_after", 0.5) else ("connection_reset", 0)
        if hit("throttle", knobs.throttle_rate):
            return "throttled", 429
        if hit("timeout", knobs.timeout_rate):
            return "timeout", 504
        if hit("fault", knobs.fault_rate):
            return "server_error", (500, 502, 503)[int(_unit(self._salt, "fault_status", *key, n) * 3)]
        if write and hit("after_write", knobs.fault_after_write_rate):
            return "error_after_write", 500
        return None


class Sandbox:
    """State shared by the middleware and the vendor routes of one running emulator."""

    def __init__(self, name: str, style: VendorStyle, store: DocumentStore, knobs: Knobs,
                 check_auth: Callable[[Request], bool], load_demo: Callable[["Sandbox"], None] | None,
                 log: Callable[[str], None] | None = None,
                 load_base: Callable[["Sandbox"], None] | None = None) -> None:
        self.name = name
        self.style = style
        self.store = store
        self.knobs = knobs
        self.check_auth = check_auth
        self.load_demo = load_demo
        self.load_base = load_base  # what every account has, even an empty one (a default price list)
        self.stats = Stats()
        self.window = SlidingWindow()
        self.faults = FaultSchedule(knobs.seed)
        self.writes_since_hold = 0  # writes applied since ``hold_write`` was last set
        self.log = log or (lambda line: None)
        from integrations_dagster.sandbox.webhooks import Outbox

        self.outbox = Outbox(knobs)  # the vendor's webhook deliveries (sandbox.webhooks)

    def reset(self, demo: bool) -> None:
        with self.store.lock:
            self.store.clear()
            self.stats.clear()
            self.outbox.clear()
            self.window.clear()
            self.faults.restart(self.knobs.seed)
            if self.load_base:
                self.load_base(self)
            if demo and self.load_demo:
                self.load_demo(self)

def int_param(request: Request, name: str, default: int, low: int, high: int | None,
              refuse: Callable[[str, str], Exception]) -> int:
    """An integer query parameter within bounds; ``refuse(kind, raw)`` builds the vendor's error,
    with ``kind`` "type" (not an integer) or "range" (out of bounds)."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise refuse("type", raw) from None
    if value < low or (high is not None and value > high):
        raise refuse("range", raw)
    return value


class _SandboxMiddleware(BaseHTTPMiddleware):
    def __init__(self, app, sandbox: Sandbox) -> None:
        super().__init__(app)
        self.sb = sandbox

    async def dispatch(self, request: Request, call_next) -> Response:
        sb, knobs = self.sb, self.sb.knobs
        if request.url.path.startswith(SANDBOX_PREFIX):
            return await call_next(request)
        method, path = request.method, request.url.path
        # The log line never holds the query string or headers: credentials may travel there.
        sb.log(f"{method} {path}")
        if knobs.latency_ms:
            await asyncio.sleep(knobs.latency_ms / 1000)
        response = await self._gate(request, call_next)
        sb.stats.count(method, path, response.status_code)
        return response

    async def _hold(self, armed: int) -> None:
        """Hold the answer of the ``hold_write``-th applied write (crash tests kill the client meanwhile)."""
        sb = self.sb
        sb.writes_since_hold += 1
        if sb.writes_since_hold != armed:
            return
        sb.stats.fault("held_after_write")
        deadline = time.monotonic() + sb.knobs.hold_s
        while sb.knobs.hold_write == armed and sb.writes_since_hold >= armed and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    async def _gate(self, request: Request, call_next) -> Response:
        sb, knobs = self.sb, self.sb.knobs
        if not sb.check_auth(request):
            return sb.style.unauthorized()
        headers: dict[str, str] = {}
        if knobs.rate_limit:
            allowed, left, reset = sb.window.admit(knobs.rate_limit, knobs.rate_window_s)
            if not allowed:
                sb.stats.fault("rate_limited")
                return sb.style.rate_limited(max(reset, 0.05))
            if sb.style.rate_limit_headers:
                headers = sb.style.rate_limit_headers(knobs.rate_limit, left, reset)
        # Chosen by the schedule in _SandboxApp (dropped connections are carried out there).
        kind, status = request.scope.get(_SCOPE_FAULT) or (None, 0)
        if kind == "throttled":
            sb.stats.fault("throttled")
            return sb.style.rate_limited(1.0)
        if kind == "timeout":
            sb.stats.fault("timeout")
            await asyncio.sleep(knobs.timeout_hold_s)
            return sb.style.server_error(status)
        if kind == "server_error":
            sb.stats.fault("server_error")
            return sb.style.server_error(status)
        response = await call_next(request)
        if kind == "error_after_write" and response.status_code < 300:
            sb.stats.fault("error_after_write")
            return sb.style.server_error(500)
        if (request.method in WRITE_METHODS and response.status_code < 300 and knobs.hold_write
                and f"{request.method} {request.url.path}".startswith(knobs.hold_route)):
            await self._hold(knobs.hold_write)
        for k, v in headers.items():
            response.headers[k] = v
        return response


def _control_routes(sb: Sandbox) -> list[BaseRoute]:
    async def stats(_: Request) -> Response:
        return JSONResponse(sb.stats.as_json())

    async def reset(request: Request) -> Response:
        demo = request.query_params.get("demo", "true").lower() not in ("0", "false", "no")
        sb.reset(demo)
        return JSONResponse({"reset": True, "demo": demo})

    async def knobs(request: Request) -> Response:
        if request.method == "POST":
            try:
                values = await request.json()
                sb.knobs.update(values)
            except (ValueError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            if SCHEDULE_KNOBS & set(values):
                sb.faults.restart(sb.knobs.seed)
            if "hold_write" in values or "hold_route" in values:
                sb.writes_since_hold = 0
        return JSONResponse(asdict(sb.knobs))

    async def clear_stats(_: Request) -> Response:
        sb.stats.clear()
        return JSONResponse({"cleared": True})

    async def webhooks(request: Request) -> Response:
        """The webhook deliveries (stats and log); POST flushes what ``webhook_reorder`` holds."""
        if request.method == "POST":
            sb.outbox.flush()
        return JSONResponse(sb.outbox.as_json())

    return [
        Route(f"{SANDBOX_PREFIX}/stats", stats, methods=["GET"]),
        Route(f"{SANDBOX_PREFIX}/stats/clear", clear_stats, methods=["POST"]),
        Route(f"{SANDBOX_PREFIX}/reset", reset, methods=["POST"]),
        Route(f"{SANDBOX_PREFIX}/knobs", knobs, methods=["GET", "POST"]),
        Route(f"{SANDBOX_PREFIX}/webhooks", webhooks, methods=["GET", "POST"]),
    ]


class _SandboxApp(Starlette):
    """Drops the client's connection (``reset_rate``): before the handler, or, for half of the
    writes, after the handler applied the write, so that the client never learns it landed.
    (Done here, outside Starlette's middleware, where ``send`` is still the server's own.)"""

    sandbox: Sandbox

    async def __call__(self, scope, receive, send) -> None:
        sb = self.sandbox
        if scope["type"] != "http" or scope["path"].startswith(SANDBOX_PREFIX):
            await super().__call__(scope, receive, send)
            return
        # The one place each request's fault is chosen: the middleware reads it from the scope.
        fault = sb.faults.plan(sb.knobs, scope["method"], scope["path"],
                               scope.get("query_string", b"").decode("latin-1"))
        scope[_SCOPE_FAULT] = fault
        kind = fault[0] if fault else None
        if kind not in ("connection_reset", "reset_after_write"):
            await super().__call__(scope, receive, send)
            return
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        if transport is None:  # not served by uvicorn: no socket to drop
            scope[_SCOPE_FAULT] = None
            await super().__call__(scope, receive, send)
            return
        after = kind == "reset_after_write"
        sb.stats.fault(kind)
        if after:
            async def swallow(_message) -> None:
                return None

            await super().__call__(scope, receive, swallow)
        transport.abort()


def build_app(sandbox: Sandbox, routes: list[BaseRoute]) -> Starlette:
    """The vendor's routes plus the control routes, behind the fault/limit/stats middleware."""
    app = _SandboxApp(routes=_control_routes(sandbox) + routes,
                      middleware=[Middleware(_SandboxMiddleware, sandbox=sandbox)])
    app.sandbox = sandbox
    return app
