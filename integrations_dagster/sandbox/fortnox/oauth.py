"""Fortnox's OAuth2 as its token endpoint answers: expiring access tokens, rotating refresh tokens.

[rec: recordings/authentication/valid_request.yml, invalid_refresh_token.yml, invalid_authorization.yml,
expired_token.yml; doc: fortnox.se/developer/authorization (get-authorization-code, get-access-token,
get-refresh-token), migrate-legacy-token-to-jwt]:

* ``POST /oauth-v1/token`` (apps.fortnox.se), ``Authorization: Basic base64(client_id:client_secret)``,
  a form body: ``grant_type=authorization_code&code=…&redirect_uri=…`` or
  ``grant_type=refresh_token&refresh_token=…``. It answers ``{"access_token", "expires_in": 3600,
  "token_type": "bearer", "scope", "refresh_token"}`` with ``Cache-Control: no-store``.
* A refresh token "can only be used once": every refresh returns a new one and the old one stops
  working at once (no grace period is documented, and Fortnox warns that instances refreshing at once
  lock each other out). A used or unknown refresh token: 400 ``{"error": "invalid_grant",
  "error_description": "Invalid refresh token"}`` sent as text/html; wrong client credentials: 401
  ``{"error": "invalid_client", "error_description": "The client credentials are invalid"}`` as
  text/plain.
* An access token lives an hour (the ``token_ttl_s`` knob shortens it for tests); the API answers an
  expired one 401 ``{"message": "unauthorized"}``.
* ``GET /oauth-v1/auth?client_id&redirect_uri&scope&state&access_type=offline&response_type=code``:
  Fortnox asks the user to log in and approve; the sandbox approves at once and redirects to
  ``redirect_uri?code=…&state=…`` (a code lives 10 minutes and is used once).

The sandbox also takes the ``access_token`` of its credentials as a token that never expires: a
stand-in for one obtained elsewhere, so tests that are not about authorization stay simple.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from integrations_dagster.sandbox.base import Knobs

SCOPE = "article companyinformation customer invoice order price settings"
CODE_TTL_S = 600


class TokenIssuer:
    """Issues and checks tokens; what it issued lives in memory (a data reset does not revoke them)."""

    def __init__(self, credentials: dict[str, str], knobs: Knobs) -> None:
        self.client_id = credentials.get("client_id")
        self.client_secret = credentials.get("client_secret")
        self.standing = credentials.get("access_token")
        self.knobs = knobs
        self.access: dict[str, float] = {}  # token -> expiry (monotonic)
        self.refresh: dict[str, bool] = {}  # token -> still usable
        self.codes: dict[str, tuple[float, str]] = {}  # code -> (expiry, redirect_uri)
        if credentials.get("refresh_token"):
            self.refresh[credentials["refresh_token"]] = True

    def accepts(self, request: Request) -> bool:
        if request.url.path.startswith("/oauth-v1/"):
            return True  # the token endpoint checks its own (Basic) credentials
        header = request.headers.get("authorization", "")
        token = header[7:] if header.startswith("Bearer ") else None
        if token is None:
            return False
        if self.standing is not None and token == self.standing:
            return True
        expires = self.access.get(token)
        return expires is not None and time.monotonic() < expires

    def _issue(self) -> Response:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.access[access] = time.monotonic() + self.knobs.token_ttl_s
        self.refresh[refresh] = True
        body = {"access_token": access, "expires_in": int(self.knobs.token_ttl_s), "token_type": "bearer",
                "scope": SCOPE, "refresh_token": refresh}
        return Response(json.dumps(body), media_type="application/json",
                        headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    async def token(self, request: Request) -> Response:
        if not self._client_ok(request.headers.get("authorization", "")):
            return _oauth_error(401, "invalid_client", "The client credentials are invalid", "text/plain;charset=UTF-8")
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        grant = form.get("grant_type")
        if grant == "refresh_token":
            given = form.get("refresh_token", "")
            if not self.refresh.get(given):
                return _oauth_error(400, "invalid_grant", "Invalid refresh token")
            self.refresh[given] = False  # used once: the old one stops working now
            return self._issue()
        if grant == "authorization_code":
            expires, redirect = self.codes.pop(form.get("code", ""), (0.0, ""))
            if time.monotonic() > expires or form.get("redirect_uri", redirect) != redirect:
                return _oauth_error(400, "invalid_grant", "Invalid authorization code")  # wording: guess
            return self._issue()
        return _oauth_error(400, "unsupported_grant_type", "Unsupported grant type")  # wording: guess

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != self.client_id or q.get("response_type") != "code" or not q.get("redirect_uri"):
            return Response("Auth code or ClientID supplied is invalid", status_code=400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = (time.monotonic() + CODE_TTL_S, q["redirect_uri"])
        return RedirectResponse(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q.get('state', '')})}")

    def _client_ok(self, header: str) -> bool:
        if not header.startswith("Basic ") or not self.client_id:
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return (user, password) == (self.client_id, self.client_secret)

    def routes(self) -> list[Route]:
        return [Route("/oauth-v1/token", self.token, methods=["POST"]),
                Route("/oauth-v1/auth", self.authorize, methods=["GET"])]


def _oauth_error(status: int, error: str, description: str, media_type: str = "text/html; charset=UTF-8") -> Response:
    return Response(json.dumps({"error": error, "error_description": description}), status_code=status,
                    media_type=media_type, headers={"Cache-Control": "no-store"})
