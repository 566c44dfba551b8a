"""Zettle's OAuth host (oauth.zettle.com, served under ``/oauth``): the assertion grant and user info.

[doc: authorization.md §Request an access token; oauth-api_…_set-up-authorisation-assertion-grant.md §Step 1–2]:

* ``POST /token`` form ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&client_id=…&assertion=<API key>``
  → ``{"access_token", "expires_in": 7200}`` and nothing else (no refresh token: "call the assertion
  grant again with the same API key"). The sandbox accepts exactly its configured pair.
* Errors are RFC 6749 §5.2, HTTP 400 ``{"error", "error_description"}`` [doc: authorization.md §Errors];
  an invalid/revoked key is ``invalid_grant`` [doc: …assertion-grant.md], a bad client ``invalid_client``
  [3p: LauLamanApps GuzzleClientExceptionHandler.php; vilkasgroup test_invalid_client_id]. Wording: guesses.py.
* Resource APIs take ``Authorization: Bearer <token>``; expired → 401 with
  ``WWW-Authenticate: Bearer error="invalid_request", error_description="ACCESS_TOKEN_EXPIRED"`` [doc].
* ``GET /users/self`` → ``{"uuid", "organizationUuid"}`` [doc: authorization.md §Get user info].

Tokens are opaque to clients [doc: authorization.md]; the sandbox issues random strings. What was
issued lives in memory: a data reset does not revoke tokens.
"""

from __future__ import annotations

import secrets
import time
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations_dagster.sandbox.base import Knobs
from integrations_dagster.sandbox.zettle import guesses
from integrations_dagster.sandbox.zettle.wire import ORG_UUID, unauthorized

PREFIX = "/oauth"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class TokenIssuer:
    """Issues access tokens for the one API key and checks them on every other route.

    The middleware calls :meth:`accepts` and then, with no await between, :meth:`unauthorized`,
    so the reason of the last refusal picks the description (expired vs. invalid).
    """

    def __init__(self, credentials: dict[str, str], knobs: Knobs) -> None:
        self.client_id = credentials.get("client_id", "")
        self.api_key = credentials.get("api_key", "")
        self.knobs = knobs
        if knobs.token_ttl_s == Knobs().token_ttl_s:  # generic default -> Zettle's documented 7200 s
            knobs.token_ttl_s = guesses.TOKEN_TTL_S
        self.issued: dict[str, float] = {}  # token -> expiry (monotonic)
        self.failure = guesses.INVALID_TOKEN_DESCRIPTION

    def accepts(self, request: Request) -> bool:
        if request.url.path == f"{PREFIX}/token":
            return True  # the token endpoint checks the assertion itself
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else None
        expires = self.issued.get(token or "")
        if expires is None:
            self.failure = guesses.INVALID_TOKEN_DESCRIPTION
            return False
        if time.monotonic() >= expires:
            self.failure = guesses.EXPIRED_DESCRIPTION
            return False
        return True

    def unauthorized(self) -> Response:
        return unauthorized(self.failure)

    async def token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        if form.get("grant_type") != JWT_BEARER:
            return _oauth_error(*guesses.UNSUPPORTED_GRANT)
        if not form.get("client_id") or not form.get("assertion"):
            return _oauth_error(*guesses.MISSING_FIELD)
        if form["client_id"] != self.client_id:
            return _oauth_error("invalid_client", guesses.BAD_CLIENT_DESCRIPTION)
        if not self.api_key or not secrets.compare_digest(form["assertion"], self.api_key):
            return _oauth_error("invalid_grant", guesses.BAD_ASSERTION_DESCRIPTION)
        ttl = self.knobs.token_ttl_s
        access = secrets.token_urlsafe(32)
        self.issued[access] = time.monotonic() + ttl
        return JSONResponse({"access_token": access, "expires_in": int(ttl)})

    async def user_self(self, _: Request) -> Response:
        return JSONResponse({"uuid": guesses.USER_UUID, "organizationUuid": ORG_UUID})

    def routes(self) -> list[Route]:
        return [Route(f"{PREFIX}/token", self.token, methods=["POST"]),
                Route(f"{PREFIX}/users/self", self.user_self, methods=["GET"])]


def _oauth_error(error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=400)
