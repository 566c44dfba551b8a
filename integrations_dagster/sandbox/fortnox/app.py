"""The Fortnox API v3 emulator: ``create()`` builds the sandbox and its Starlette app.

Auth is ``Authorization: Bearer <access_token>``; anything else gets Fortnox's 401. The documented
rate limit is 25 requests per 5 s sliding window per token; ``knobs.rate_limit`` 0 leaves the
sandbox unlimited (tests and benchmarks set 25 / 5 s), and a window left at the generic default is
set to Fortnox's 5 s. Fortnox documents no rate-limit headers, so none are sent.
"""

from __future__ import annotations

from starlette.applications import Starlette

from integrations_dagster.sandbox.base import DocumentStore, Knobs, Sandbox, VendorStyle, build_app
from integrations_dagster.sandbox.fortnox import demo as demo_data
from integrations_dagster.sandbox.fortnox import documents, registers
from integrations_dagster.sandbox.fortnox.oauth import TokenIssuer
from integrations_dagster.sandbox.fortnox.wire import CODE_RATE_LIMIT, CODE_SERVER, error, unauthorized

FORTNOX_WINDOW_S = 5.0

STYLE = VendorStyle(
    unauthorized=unauthorized,  # the gateway's answer to an expired or unknown token [rec]
    rate_limited=lambda _seconds: error(429, "Too many requests.", CODE_RATE_LIMIT),
    server_error=lambda status: error(status, "Ett internt fel uppstod (internal error).", CODE_SERVER),
)


def create(*, db_path: str, knobs: Knobs, credentials: dict[str, str], demo: bool) -> tuple[Sandbox, Starlette]:
    """``credentials``: ``client_id``, ``client_secret`` and a first ``refresh_token`` (OAuth2, see
    :mod:`.oauth`), and/or a standing ``access_token``."""
    issuer = TokenIssuer(credentials, knobs)
    if knobs.rate_window_s == Knobs().rate_window_s:
        knobs.rate_window_s = FORTNOX_WINDOW_S
    sandbox = Sandbox("fortnox", STYLE, DocumentStore(db_path), knobs, issuer.accepts, demo_data.load,
                      load_base=demo_data.load_base)
    reg = registers.Registers(sandbox.store)
    app = build_app(sandbox, issuer.routes() + registers.routes(reg) + documents.routes(reg))
    sandbox.reset(demo)
    return sandbox, app

