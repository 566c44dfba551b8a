"""Zettle wire conventions shared by every service of the sandbox: errors, ids, timestamps, JSON.

* Errors use one envelope on products, inventory and pusher:
  ``{"developerMessage", "errorType", "violations": []}`` [issue: iZettle/api-documentation#37, #43, #113].
* 401 carries ``WWW-Authenticate: Bearer error="invalid_request", error_description="ACCESS_TOKEN_EXPIRED"``
  [doc: authorization.md §Include the access token]; a 3p client reads ``errorType`` from the body
  [3p: vilkasgroup/iZettle iZettle.py `_authenticate_request`].
* Timestamps: products and purchases ``2021-04-19T13:15:37.904+0000``; v3 stock ``…000Z``; pusher
  subscriptions µs ``Z`` [doc: event-payloads; purchase.adoc; inventory fetch-inventory-balance; pusher
  api-reference] (digest §6.3).
* Ids: client-supplied entity ids are UUID v1; the deprecated short purchase id is base64url (no
  padding) of the UUID's 16 bytes [derived: purchase.adoc §example2/§example4, digest §4].
* ``self`` may stand for the organization uuid in paths [doc-repo: faq.adoc §OAuth].
"""

from __future__ import annotations

import base64
import json
import uuid
import weakref
from datetime import UTC, datetime
from contextlib import contextmanager
from functools import wraps
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from integrations_dagster.sandbox.base import DocumentStore
from integrations_dagster.sandbox.zettle import guesses

# The organization of the sandbox's API key: v4, as organization ids are [digest §6.4]; the value is
# the doc example's organization [doc: pusher-api_concept_event-payloads.md §ProductCreated].
ORG_UUID = "d3f03ffa-4a18-4282-bbfa-efd5f642ffb7"
COUNTRY, CURRENCY = "SE", "SEK"  # the demo organization is Swedish (brief)
_UUID1_EPOCH_OFFSET = 0x01B21DD213814000  # 100-ns intervals from 1582-10-15 to 1970-01-01 (RFC 4122)


class Refusal(Exception):
    """A request Zettle refuses: becomes the standard error envelope (or an empty body)."""

    def __init__(self, status: int, message: str, error_type: str, violations: list | None = None,
                 empty: bool = False, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.error_type = status, message, error_type
        self.violations, self.empty, self.headers = violations or [], empty, headers or {}

    def response(self) -> Response:
        if self.empty:  # 412 on a conditional update has an empty body [doc: …/update-products]
            return Response(status_code=self.status, headers=self.headers)
        return error(self.status, self.message, self.error_type, self.violations, self.headers)


def error(status: int, message: str, error_type: str, violations: list | None = None,
          headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"developerMessage": message, "errorType": error_type, "violations": violations or []}
    return JSONResponse(body, status_code=status, headers=headers)


def invalid(message: str, violations: list[dict[str, str]] | None = None) -> Refusal:
    """A validation refusal: status, errorType and violation item shape are guesses (guesses.py)."""
    return Refusal(guesses.VALIDATION_STATUS, message, guesses.VALIDATION_ERROR_TYPE, violations)


def violation(prop: str, message: str) -> dict[str, str]:
    return {"propertyName": prop, "developerMessage": message}  # item shape: GUESS (digest §8)


def not_found(message: str) -> Refusal:
    return Refusal(404, message, guesses.NOT_FOUND_ERROR_TYPE)


def unauthorized(description: str) -> Response:
    header = f'Bearer error="invalid_request", error_description="{description}"'
    return error(401, description, description, headers={"WWW-Authenticate": header})


def handler(fn: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Turn a :class:`Refusal` raised by a route into its response; check the ``{org}`` path part."""
    @wraps(fn)
    async def wrapped(request: Request) -> Response:
        try:
            org = request.path_params.get("org")
            if org is not None and org not in ("self", ORG_UUID):
                raise Refusal(guesses.FOREIGN_ORG_STATUS, f"No access to organization {org}", "FORBIDDEN")
            return await fn(request)
        except Refusal as refusal:
            return refusal.response()
    return wrapped


async def json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except (ValueError, UnicodeDecodeError):
        raise invalid("Could not parse the request body as JSON") from None


def now() -> datetime:
    return datetime.now(UTC)


def stamp(moment: datetime) -> str:
    """``2021-04-19T13:15:37.904+0000`` (products, purchases)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def stamp_z(moment: datetime, micros: bool = False) -> str:
    """``2021-01-01T00:00:00.000Z`` (v3 stock) or with µs (pusher subscription create)."""
    frac = f"{moment.microsecond:06d}" if micros else f"{moment.microsecond // 1000:03d}"
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + frac + "Z"


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def parse_time(text: str) -> datetime:
    """Zettle's own stamps and the query forms ``2020-01-01`` / ``2020-01-01T17:00`` (UTC) [doc: purchase.adoc]."""
    text = text.strip().replace("Z", "+00:00")
    if text.endswith("+0000"):
        text = text[:-5] + "+00:00"
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def uuid1_at(moment: datetime, sequence: int, node: int = 0x0242AC120002) -> str:
    """A time-based UUID v1 whose timestamp is ``moment`` (deterministic for a given sequence/node)."""
    ticks = int(moment.timestamp() * 10_000_000) + _UUID1_EPOCH_OFFSET
    ticks += sequence % 10_000  # keeps ids made in the same millisecond distinct and ordered
    time_low, time_mid, time_hi = ticks & 0xFFFFFFFF, (ticks >> 32) & 0xFFFF, (ticks >> 48) & 0x0FFF
    clock_seq = 0x8000 | (sequence & 0x3FFF)
    return str(uuid.UUID(fields=(time_low, time_mid, 0x1000 | time_hi, clock_seq >> 8, clock_seq & 0xFF, node)))


def short_id(uuid_text: str) -> str:
    """Deprecated short id: base64url, no padding, of the 16 UUID bytes [derived, digest §4]."""
    return base64.urlsafe_b64encode(uuid.UUID(uuid_text).bytes).rstrip(b"=").decode()


def is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


_AFTER_COMMIT: "weakref.WeakKeyDictionary[DocumentStore, list[Callable[[], None]]]" = weakref.WeakKeyDictionary()


@contextmanager
def atomic(store: DocumentStore):
    """A transaction that nests: the outermost ``atomic`` commits (the store's lock is re-entrant).

    Callbacks registered with :func:`on_commit` inside it run once the outermost one has committed
    (and are dropped if it rolls back): webhooks go out only for changes that were stored."""
    with store.lock:
        if store._conn.in_transaction:
            yield store
            return
        _AFTER_COMMIT[store] = []
        try:
            with store.transaction():
                yield store
        finally:
            callbacks = _AFTER_COMMIT.pop(store, [])
    for callback in callbacks:  # reached only when the transaction committed
        callback()


def on_commit(store: DocumentStore, callback: Callable[[], None]) -> None:
    """Run ``callback`` after the enclosing :func:`atomic` commits (now, when there is none)."""
    with store.lock:
        if store in _AFTER_COMMIT:  # an outermost atomic of this thread is open (it holds the lock)
            _AFTER_COMMIT[store].append(callback)
            return
    callback()
