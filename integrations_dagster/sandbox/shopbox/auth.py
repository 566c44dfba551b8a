"""Shopbox login and the token check on every other call.

Evidence [3p: sales-sync script ``shopbox_sync.py``, KDS app ``authenticateCredentials``/``buildShopboxUrl``,
Flutter ``URL.loginURL``, C# ``AppConstants.AuthenticateLogin``; partner: Rackbeat connects with the
merchant's Shopbox e-mail and password (seed 003)]:

* ``POST /api/v3/authenticate/credentials`` JSON ``{"username": <e-mail>, "password"}`` (the KDS app adds
  ``remember_me``) → ``{"accessToken", "account": {"uid", …}}``; a token from one environment only works
  there. Tokens seen in integrators' code are 32 lower-case hex characters.
* Every other call sends ``accessToken=<token>`` and ``client=<shop id>`` in the **query string**; 401 =
  token rejected (wrong, expired or another environment's).
* A long-lived key may travel as ``api-token=<key>`` instead [3p: PHP plugin ``Api::get``, dExPay server].

GUESSES (guesses.py): the token lifetime, ``email`` as an alias of ``username``, the login refusal (422),
400/403 for a missing/foreign ``client``, the error bodies. The middleware calls :meth:`Accounts.accepts`
and then, with no await between, :meth:`Accounts.unauthorized`, so the last refusal picks the answer.
Nothing a client sent is ever echoed in an error body. What was issued lives in memory: a data reset does
not revoke tokens (``POST /__sandbox__/shopbox/tokens/expire`` does).
"""

from __future__ import annotations

import secrets
import threading
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations_dagster.sandbox.base import Knobs
from integrations_dagster.sandbox.shopbox import guesses
from integrations_dagster.sandbox.shopbox.wire import BASE, error, handler, invalid, json_body

LOGIN_PATH = f"{BASE}/authenticate/credentials"
NO_CLIENT_PATHS = frozenset({f"{BASE}/clients"})  # listing the user's shops needs no shop yet (GUESS)
ACCOUNT_UID = 90417  # the user's uid in the login answer (an integer, like every Shopbox uid [3p])


class Accounts:
    """The one user of the sandbox shop, the tokens it was issued, and the check of each call."""

    def __init__(self, credentials: dict[str, str], knobs: Knobs) -> None:
        self.username = credentials.get("username", "")
        self.password = credentials.get("password", "")
        self.client = int(credentials.get("client") or 0)
        self.api_token = credentials.get("api_token") or ""
        self.knobs = knobs
        if knobs.token_ttl_s == Knobs().token_ttl_s:  # the generic default -> Shopbox's guessed lifetime
            knobs.token_ttl_s = guesses.TOKEN_TTL_S
        self._issued: dict[str, float] = {}  # token -> expiry (monotonic)
        self._lock = threading.Lock()
        self._failure = (401, guesses.UNAUTHORIZED_MESSAGE)

    # --- the middleware's check --------------------------------------------------------------------
    def accepts(self, request: Request) -> bool:
        path = request.url.path
        if path == LOGIN_PATH or not path.startswith(BASE):
            return True  # the login checks the password itself; other paths are not the API
        params = request.query_params
        token, key = params.get("accessToken"), params.get("api-token")
        if key is not None and token is None:
            if not self.api_token or not secrets.compare_digest(key, self.api_token):
                return self._refuse(401, guesses.UNAUTHORIZED_MESSAGE)
            client = params.get("client")
            if client in (None, "") and guesses.API_TOKEN_IMPLIES_CLIENT:
                return True
            return self._client_ok(client)
        if not token or not self._valid(token):
            return self._refuse(401, guesses.UNAUTHORIZED_MESSAGE)
        if path in NO_CLIENT_PATHS:
            return True
        return self._client_ok(params.get("client"))

    def unauthorized(self) -> Response:
        status, message = self._failure
        return error(status, message)

    def _refuse(self, status: int, message: str) -> bool:
        self._failure = (status, message)
        return False

    def _client_ok(self, client: str | None) -> bool:
        if client in (None, ""):
            return self._refuse(guesses.MISSING_CLIENT_STATUS, "Missing required parameters: client")
        if client.strip() != str(self.client):
            return self._refuse(guesses.FOREIGN_CLIENT_STATUS, "You are not allowed to access this client.")
        return True

    def _valid(self, token: str) -> bool:
        with self._lock:
            expires = self._issued.get(token)
        return expires is not None and time.monotonic() < expires

    # --- issuing -----------------------------------------------------------------------------------
    def issue(self, remember_me: bool = False) -> str:
        ttl = self.knobs.token_ttl_s
        if remember_me and ttl == guesses.TOKEN_TTL_S:
            ttl = guesses.REMEMBER_ME_TTL_S
        token = secrets.token_hex(16)  # 32 lower-case hex characters, like the tokens seen [3p]
        with self._lock:
            self._issued[token] = time.monotonic() + ttl
        return token

    def expire_all(self) -> int:
        """Test instrument: every issued token expires now (a client must log in again on its 401)."""
        with self._lock:
            count = len(self._issued)
            self._issued = {t: 0.0 for t in self._issued}
        return count

    async def login(self, request: Request) -> Response:
        body = await json_body(request)
        username = body.get("username")
        if username is None and guesses.ACCEPT_EMAIL_FIELD:
            username = body.get("email")
        password = body.get("password")
        missing = [(name, f"{name.capitalize()} cannot be blank.")
                   for name, value in (("username", username), ("password", password)) if not value]
        if missing:
            raise invalid(*missing)
        same_user = str(username).strip().lower() == self.username.lower()
        if not (same_user and self.password and secrets.compare_digest(str(password), self.password)):
            raise invalid(("password", guesses.LOGIN_FAILURE_MESSAGE))
        token = self.issue(bool(body.get("remember_me")))
        return JSONResponse({"accessToken": token,
                             "account": {"uid": ACCOUNT_UID, "email": self.username,
                                         "name": guesses.ACCOUNT_NAME, "clients": [self.client]}})

    def routes(self) -> list[Route]:
        return [Route(LOGIN_PATH, handler(self.login), methods=["POST"])]
