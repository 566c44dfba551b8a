"""Tradera wire conventions shared by every route: the error envelope, times, the sandbox clock, and
:class:`Api`, which turns a plain function into a ``/v4`` route (auth level, body binding against the
vendor spec, queue processing, the answer checked against the spec).

* JSON, camelCase, every business path under ``/v4/`` [doc: rest] [spec ``#/paths``].
* Errors: ``{"error": {"code": "BadRequest", "message": "..."}}`` [doc: rest "Error responses"]; the code
  names of other statuses are guesses.ERROR_CODES.
* Times: ISO 8601 in UTC with ``Z`` (vendor examples ``"2026-03-17T14:30:00Z"`` [doc: rest],
  ``"2015-11-11T14:36:33.9352466Z"`` [doc: v3 DocPush]); the sandbox writes microseconds.
"""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations_dagster.sandbox.tradera import guesses, spec

APP, USER = "app", "user"  # auth levels [doc: rest]: App (app id + key), User+Seller (all four headers)
UTC = timezone.utc
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


class Refusal(Exception):
    """A request Tradera refuses: status and message, answered in the envelope."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message

    def response(self) -> Response:
        return error(self.status, self.message)


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"error": {"code": guesses.ERROR_CODES.get(status, "BadRequest"), "message": message}}


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message), status_code=status, headers=headers)


def bad_request(*lines: str) -> Refusal:
    """A first-step refusal in the v3 fault wording (guesses.V4_ERROR_MESSAGES)."""
    return Refusal(400, "\n".join((guesses.INVALID_REQUEST_PREFIX, *lines)))


# --- time --------------------------------------------------------------------------------------------
class Clock:
    """The sandbox's clock: real time plus an offset that ``POST /__sandbox__/tradera/clock`` advances,
    so quota windows, queue delays, token expiry and order dates can be tested without waiting."""

    def __init__(self) -> None:
        self.offset = 0.0
        self._lock = threading.Lock()

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.offset += seconds

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def time(self) -> float:
        return time.time() + self.offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def stamp(self) -> str:
        return fmt(self.now())


def fmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(raw: str, name: str) -> datetime:
    """A date-time from the query or a body; without an offset it is UTC (guesses.ORDER_WINDOW)."""
    text = (raw or "").strip()
    if not _DATE.match(text):
        raise Refusal(400, f"The value '{raw}' is not valid for {name}.")  # ASP.NET binding wording
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Refusal(400, f"The value '{raw}' is not valid for {name}.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- parameters --------------------------------------------------------------------------------------
def int_value(raw: Any, name: str, *, low: int = -2**31, high: int = 2**31 - 1) -> int:
    if isinstance(raw, bool):
        raise Refusal(400, f"The value '{raw}' is not valid for {name}.")
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise Refusal(400, f"The value '{raw}' is not valid for {name}.") from None
    if not low <= value <= high:
        raise Refusal(400, f"The value '{raw}' is not valid for {name}.")
    return value


def query_int(request: Request, name: str, default: int | None, allowed: dict | None = None,
              *, high: int = 2**31 - 1) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    value = int_value(raw, name, high=high)
    if allowed is not None and value not in allowed:
        raise Refusal(400, f"The value '{raw}' is not valid for {name}.")
    return value


def query_time(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    return None if raw in (None, "") else parse_time(raw, name)


def form(raw: bytes) -> dict[str, str]:
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


# --- routes ------------------------------------------------------------------------------------------
class Api:
    """Builds ``/v4`` routes. ``check(request, level)`` raises a :class:`Refusal` (401/403);
    ``before()`` runs before every handler (processes due queued requests)."""

    def __init__(self, check: Callable[[Request, str], None], before: Callable[[], None]) -> None:
        self.check, self.before = check, before

    def route(self, method: str, path: str, level: str,
              fn: Callable[[Request, Any], Any]) -> Route:
        """``fn(request, body)`` returns JSON-able data (answered 200 after the spec check) or a Response;
        ``body`` is the bound JSON body (None for operations without one)."""

        async def endpoint(request: Request) -> Response:
            try:
                self.check(request, level)
                body = await read_body(request)
                self.before()
                result = fn(request, body)
            except Refusal as refusal:
                return refusal.response()
            except (TypeError, ValueError, KeyError, AttributeError) as exc:
                if not spec.AVAILABLE:  # no binding check ran: a body of the wrong shape ends here
                    return error(guesses.BIND_ERROR_STATUS, "The request body is invalid.")
                return error(500, f"Sandbox error: {type(exc).__name__}: {exc}")
            if isinstance(result, Response):
                return result
            problems = spec.validate_response(method, request.url.path, result)
            if problems:  # a sandbox bug, made loud so that tests catch it
                return error(500, "Sandbox answer violates the Tradera spec: " + "; ".join(problems[:3]))
            return JSONResponse(result)

        return Route(path, endpoint, methods=[method])


async def read_body(request: Request) -> Any:
    """The JSON body bound against the operation's request schema (guesses.BIND_ERROR_STATUS)."""
    method, path = request.method, request.url.path
    if not spec.has_request_body(method, path):
        return None
    raw = await request.body()
    if not raw.strip():
        raise Refusal(400, guesses.EMPTY_BODY_MESSAGE)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in guesses.JSON_MEDIA_TYPES and not (media.startswith("application/") and media.endswith("+json")):
        raise Refusal(415, "Unsupported content type; send application/json.")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Refusal(guesses.BIND_ERROR_STATUS, "The request body is not valid JSON.") from None
    problems = spec.validate_request(method, path, body)
    if problems:
        raise Refusal(guesses.BIND_ERROR_STATUS, "The request body is invalid: " + "; ".join(problems[:5]))
    return body
