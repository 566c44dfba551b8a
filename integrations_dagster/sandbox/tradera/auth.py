"""Tradera's credentials: the header check of every ``/v4`` call, the token-login pages, ``POST /v4/auth/token``.

Evidence (digest §1, §4):
* ``X-App-Id`` (integer) + ``X-App-Key`` (GUID) on every call; ``X-User-Id`` + ``X-User-Token`` too on the
  User+Seller paths — every ``/v4/listings/*`` [doc: rest Listings table], ``/v4/orders*`` [3p: py-client
  OrdersPortal] and the user's own ``/v4/users/me*``; reference data, categories and the token call are App
  level [doc: rest Items table; doc: plugin tradera-user-token Step 4]. 401 = bad app credentials [doc: rest];
  a bad user token is 403 (guesses.USER_AUTH_STATUS).
* The login: ``GET /token-login?appId&pkey=<public key>&skey=<secret 32-255 chars>`` [doc: plugin
  tradera-user-token Step 2; notes: v2 GetToken]; the user allows ("Tillåt" [seed l. 75-78]); Tradera
  redirects to the application's Accept URL, with ``userId``, ``token``, ``exp`` when "Display token" is on
  (guesses.ACCEPT_URL_PARAMS); then ``POST /v4/auth/token {userId, secretKey}`` → ``{authToken,
  hardExpirationTime}`` [spec ``#/components/schemas/Token``], once per skey (guesses.SKEY_SINGLE_USE).

The login pages are Tradera's web site, not API calls: they are not counted (quota.py). Issued tokens live
in memory: a data reset (``/__sandbox__/reset``) does not revoke them.
"""

from __future__ import annotations

import html
import secrets
import threading
import uuid
from datetime import timedelta
from typing import Any, Callable
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from integrations_dagster.sandbox.tradera import guesses
from integrations_dagster.sandbox.tradera.wire import APP, USER, Api, Clock, Refusal, fmt, form

LOGIN_PATH = "/token-login"


class Auth:
    def __init__(self, credentials: dict[str, str], clock: Clock, settings: Callable[[], dict]) -> None:
        self.app_id = str(credentials.get("app_id", ""))
        self.app_key = str(credentials.get("app_key", ""))
        self.public_key = str(credentials.get("public_key", ""))
        self.user_id = str(credentials.get("user_id", ""))
        self.user_token = str(credentials.get("user_token", ""))
        self.clock, self.settings = clock, settings
        self._tokens: dict[str, tuple[str, Any]] = {}  # token -> (user id, expiry)
        self._skeys: dict[str, dict[str, Any]] = {}  # skey -> {userId, token, exp, used}
        self._lock = threading.Lock()

    # --- the check of every /v4 call ---------------------------------------------------------------
    def check(self, request: Request, level: str) -> None:
        headers = request.headers
        app_id, app_key = headers.get("x-app-id", ""), headers.get("x-app-key", "")
        if not self.app_id or not secrets.compare_digest(app_id.strip(), self.app_id):
            raise Refusal(401, guesses.INVALID_APP_ID)
        if not self.app_key or not secrets.compare_digest(app_key.strip().lower(), self.app_key.lower()):
            raise Refusal(401, guesses.INVALID_APP_KEY)
        if level != USER:
            return
        user_id, token = headers.get("x-user-id", "").strip(), headers.get("x-user-token", "").strip()
        if user_id != self.user_id or not token or not self._valid(token, user_id):
            raise Refusal(guesses.USER_AUTH_STATUS, guesses.INVALID_USER_TOKEN)

    def _valid(self, token: str, user_id: str) -> bool:
        if self.user_token and secrets.compare_digest(token, self.user_token):
            return True
        with self._lock:
            issued = self._tokens.get(token)
        return bool(issued and issued[0] == user_id and self.clock.now() < issued[1])

    # --- the login pages (Tradera's web site, not the API) ----------------------------------------
    def _page_refusal(self, params: dict[str, str]) -> str | None:
        if params.get("appId", "").strip() != self.app_id:
            return "Invalid application id."
        if params.get("pkey", "").strip().lower() != self.public_key.lower():
            return "Invalid public key."
        if not guesses.SKEY_MIN <= len(params.get("skey", "")) <= guesses.SKEY_MAX:
            return f"The secret key must be {guesses.SKEY_MIN}-{guesses.SKEY_MAX} characters long."
        return None

    async def login_page(self, request: Request) -> Response:
        params = dict(request.query_params)
        problem = self._page_refusal(params)
        if problem:
            return _page("Tradera - inloggning", f"<p class='error'>{html.escape(problem)}</p>", 400)
        hidden = "".join(f"<input type='hidden' name='{k}' value='{html.escape(params[k], quote=True)}'>"
                         for k in ("appId", "pkey", "skey"))
        body = (f"<form method='post' action='{LOGIN_PATH}'>{hidden}"
                "<p>En applikation vill komma åt ditt Tradera-konto.</p>"
                "<label>Användarnamn <input name='userName'></label>"
                "<button name='allow' value='1'>Tillåt</button> <button name='allow' value='0'>Neka</button>"
                "</form>")
        return _page("Tradera - inloggning", body)

    async def login_submit(self, request: Request) -> Response:
        fields = form(await request.body())
        problem = self._page_refusal(fields)
        if problem:
            return _page("Tradera - inloggning", f"<p class='error'>{html.escape(problem)}</p>", 400)
        settings = self.settings()
        if fields.get("allow") != "1":
            return RedirectResponse(settings["reject_url"], status_code=303)
        if not fields.get("userName", "").strip():  # guesses.ANY_USER_NAME_IS_THE_SELLER
            return _page("Tradera - inloggning", "<p class='error'>Ange ditt användarnamn.</p>", 400)
        skey = fields["skey"]
        with self._lock:
            if self._skeys.get(skey, {}).get("used"):
                return _page("Tradera - inloggning", f"<p class='error'>{guesses.SKEY_USED_MESSAGE}</p>", 400)
            token = str(uuid.uuid4())  # guesses.TOKEN_FORMAT
            expires = self.clock.now() + timedelta(days=guesses.TOKEN_LIFETIME_DAYS)
            self._tokens[token] = (self.user_id, expires)
            self._skeys[skey] = {"userId": self.user_id, "token": token, "exp": expires, "used": False}
        url = settings["accept_url"]
        query = urlencode(dict(zip(guesses.ACCEPT_URL_PARAMS, (self.user_id, token, fmt(expires)))))
        return RedirectResponse(f"{url}{'&' if '?' in url else '?'}{query}", status_code=303)

    async def accepted(self, request: Request) -> Response:
        rows = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in request.query_params.items()
                       if k != "token")
        return _page("Tradera - klart", f"<p>Åtkomst beviljad.</p><ul>{rows}</ul>")

    async def rejected(self, _: Request) -> Response:
        return _page("Tradera - nekad", "<p>Åtkomst nekad.</p>")

    # --- POST /v4/auth/token -------------------------------------------------------------------------
    def fetch_token(self, _: Request, body: dict) -> dict:
        skey, user_id = body.get("secretKey"), body.get("userId")
        with self._lock:
            grant = self._skeys.get(skey or "")
            if grant is None or grant["used"] or str(user_id) != grant["userId"]:
                raise Refusal(400, guesses.SKEY_USED_MESSAGE)
            grant["used"] = guesses.SKEY_SINGLE_USE
        return {"authToken": grant["token"], "hardExpirationTime": fmt(grant["exp"])}

    def expire_all(self) -> int:
        """Test instrument: every token issued through the login expires now."""
        with self._lock:
            now = self.clock.now()
            self._tokens = {t: (u, now) for t, (u, _) in self._tokens.items()}
            return len(self._tokens)

    def routes(self, api: Api) -> list[Route]:
        return [
            Route(LOGIN_PATH, self.login_page, methods=["GET"]),
            Route(LOGIN_PATH, self.login_submit, methods=["POST"]),
            Route(guesses.DEFAULT_ACCEPT_URL, self.accepted, methods=["GET"]),
            Route(guesses.DEFAULT_REJECT_URL, self.rejected, methods=["GET"]),
            api.route("POST", "/v4/auth/token", APP, self.fetch_token),
        ]


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html lang='sv'><head><meta charset='utf-8'><title>{title}</title>"
                        f"</head><body><h1>{title}</h1>{body}</body></html>", status_code=status)
