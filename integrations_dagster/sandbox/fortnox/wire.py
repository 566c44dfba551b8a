"""Fortnox wire conventions shared by the sandbox's handlers: errors, wrapped bodies, timestamps.

Errors are ``{"ErrorInformation": {"error", "message", "code"}}`` with lowercase keys, as in recorded
traffic (``accodeing/fortnox-api`` cassettes); the spec spells them ``Error/Message/Code``. Only
2000311 (unauthorized) and 2002649 ("Felaktig datastruktur.") come from recordings; the other codes
are stand-ins in the same range, so clients must key on the HTTP status, never on a code.

Fortnox timestamps are Stockholm local time (the docs give ``2019-03-10 12:30`` without a zone);
the store keeps UTC and converts at this edge.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import wraps
from typing import Any, Awaitable, Callable
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

STOCKHOLM = ZoneInfo("Europe/Stockholm")
CODE_UNAUTHORIZED = 2000311
CODE_BAD_STRUCTURE = 2002649
CODE_NOT_FOUND = 2000428
CODE_INVALID_FIELD = 2001740
CODE_DUPLICATE = 2000637
CODE_INVALID_VALUE = 2000588
CODE_RATE_LIMIT = 2000999
CODE_SERVER = 2000001


class Refusal(Exception):
    """A request Fortnox would refuse: becomes an ErrorInformation response."""

    def __init__(self, status: int, message: str, code: int = CODE_INVALID_VALUE) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def error(status: int, message: str, code: int) -> JSONResponse:
    return JSONResponse({"ErrorInformation": {"error": 1, "message": message, "code": code}},
                        status_code=status)


def not_found(what: str) -> Refusal:
    return Refusal(404, f"Kan inte hitta {what}.", CODE_NOT_FOUND)


def handler(fn: Callable[..., Awaitable[Any]]) -> Callable[[Request], Awaitable[Response]]:
    """Turn a handler returning ``(status, body)`` or raising :class:`Refusal` into a route endpoint."""

    @wraps(fn)
    async def endpoint(request: Request) -> Response:
        try:
            status, body = await fn(request)
        except Refusal as refusal:
            return error(refusal.status, refusal.message, refusal.code)
        if body is None:
            return Response(status_code=status)
        return JSONResponse(body, status_code=status)

    return endpoint


async def wrapped_body(request: Request, wrapper: str) -> dict:
    """The object inside ``{wrapper: {...}}``; anything else is Fortnox's "wrong data structure"."""
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict) or set(body) != {wrapper} or not isinstance(body[wrapper], dict):
        raise Refusal(400, "Felaktig datastruktur.", CODE_BAD_STRUCTURE)
    return body[wrapper]


def now_utc() -> str:
    """The store's ``modified`` column: sortable UTC text."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def today_local() -> str:
    return datetime.now(STOCKHOLM).date().isoformat()


def parse_lastmodified(value: str) -> str:
    """``2019-03-10 12:30`` (or with seconds, or a bare date), Stockholm time -> store text just before it."""
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            local = datetime.strptime(value.strip(), fmt).replace(tzinfo=STOCKHOLM)
        except ValueError:
            continue
        return (local.astimezone(UTC) - timedelta(microseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%f")
    raise Refusal(400, f"Ogiltigt värde för lastmodified: {value!r} (format 2019-03-10 12:30).")


def parse_date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Refusal(400, f"Ogiltigt datum för {what}: {value!r}.") from None


def dec(value: Any, what: str = "value") -> Decimal:
    """Parse a number (or a numeric string, as Fortnox quantities are) without float arithmetic."""
    if isinstance(value, bool) or value is None:
        raise Refusal(400, f"Ogiltigt värde för {what}: {value!r}.")
    try:
        result = Decimal(str(value).strip().replace(",", "."))
    except ArithmeticError:
        raise Refusal(400, f"Ogiltigt värde för {what}: {value!r}.") from None
    if not result.is_finite():
        raise Refusal(400, f"Ogiltigt värde för {what}: {value!r}.")
    return result


def money(value: Decimal) -> float:
    """A JSON number in major units, rounded half-up to 2 decimals."""
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def number_text(value) -> str:
    """A number as Fortnox writes one in text: shortest form, no trailing zeros ("0", "1.12", "-0")."""
    text = format(dec(value).normalize(), "f")
    return text


def qty_text(value: Decimal) -> str:
    """Quantities travel as strings ("2", "1.5")."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"
