"""OAuth2 with rotating refresh tokens, shared by every process of a deployment through the state store.

Some vendors (Fortnox) give access tokens that live an hour and refresh tokens that work once: each
refresh returns the next refresh token and kills the one used. So the current refresh token must
outlive the process that got it, and two processes must never refresh at once — the slower one
would present a token the faster one just used up, and the integration would be locked out until a
person authorizes it again (Fortnox's own advice is a distributed lock or one token manager).

:class:`RotatingToken` keeps the chain in the state store (``tokens``: under a hash of the token URL,
the client id and the first refresh token, never the secrets themselves) and refreshes under the
store's lock: it refreshes a few minutes before expiry and when the API answers 401, and after taking
the lock it reads the store again — a process that waited finds the token another one just got and
uses it, sending nothing. A first refresh token given in the configuration is used once; later runs
use the rotated one from the store, until the configuration names a new first token (a new chain).
Tokens never reach a log, run config or the sync log, nor a repr: see :class:`RotatingToken`.
"""

from __future__ import annotations

import hashlib
import threading
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import requests

from integrations_dagster.connectors.http import (
    ApiError, BasicAuth, RetryPolicy, Secret, TransientError, retry_after_seconds,
)

MARGIN_S = 300.0  # refresh this long before the access token expires (a quarter of a shorter lifetime)


class ReauthorizationNeeded(ApiError):
    """The vendor refused the refresh token: a person must authorize the integration again."""


@dataclass(frozen=True)
class _Tokens:
    """An access token with the refresh token that replaces it, as the store keeps them; the repr
    shows neither (they sit in the locals of the frames a failed refresh passes through)."""

    access: Secret
    refresh: Secret
    expires_at: float = 0.0
    refresh_at: float = 0.0

    @classmethod
    def held(cls, value: dict | None) -> "_Tokens | None":
        """What the store holds (``store.token(key)``), or None."""
        if not value:
            return None
        return cls(Secret(value.get("access_token") or ""), Secret(value.get("refresh_token") or ""),
                   float(value.get("expires_at") or 0), float(value.get("refresh_at") or 0))

    @classmethod
    def granted(cls, body: dict, now: float) -> "_Tokens":
        """The token endpoint's answer (``{"access_token", "expires_in", "refresh_token", ...}``)."""
        access, refresh = Secret(body.pop("access_token")), Secret(body.pop("refresh_token"))
        lifetime = float(body.get("expires_in") or 3600)
        return cls(access, refresh, now + lifetime, now + lifetime - min(MARGIN_S, lifetime / 4))

    def stored(self) -> dict:
        return {"access_token": self.access.value, "refresh_token": self.refresh.value,
                "expires_at": self.expires_at, "refresh_at": self.refresh_at}


@dataclass
class RotatingToken:
    """The token chain of one connection. Its repr shows the token URL only: the client's
    credentials, the tokens and the store (its URL may hold a password) stay out of it, and the
    tokens it handles are :class:`Secret` s in every local variable (a traceback's locals show)."""

    token_url: str
    client_id: str = field(repr=False)
    client_secret: str = field(repr=False)
    first_refresh_token: str = field(repr=False)
    store: Any = field(repr=False)  # the state store: token(key), save_token(key, value), lock(name)
    timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(attempts=4))
    clock: Callable[[], float] = field(default=time.time, repr=False)
    refreshes: int = 0  # done by this process (for tests and metrics)
    # (access token, when to refresh it): no store read per request
    _cached: tuple[Secret, float] | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        digest = hashlib.sha256(f"{self.token_url}|{self.client_id}|{self.first_refresh_token}".encode()).hexdigest()
        return f"oauth:{digest[:32]}"

    def current(self) -> str:
        """A valid access token (refreshing when it expires within a few minutes)."""
        if self._cached and self._cached[1] > self.clock():
            return self._cached[0].value
        held = _Tokens.held(self.store.token(self.key))
        if held and held.refresh_at > self.clock():
            self._cached = (held.access, held.refresh_at)
            return held.access.value
        return self.renew(held.access if held else None)

    def refused(self) -> str:
        """The API refused the token this process sent: a new one (unless another process already
        replaced it, then that one)."""
        sent, self._cached = (self._cached[0] if self._cached else None), None
        return self.renew(sent)

    def renew(self, stale: Secret | None) -> str:
        """A new access token, unless another process already replaced ``stale`` while we waited."""
        with self.store.lock(self.key):
            held = _Tokens.held(self.store.token(self.key))
            if held and held.access != stale and held.refresh_at > self.clock():
                self._cached = (held.access, held.refresh_at)
                return held.access.value
            tokens = self._grant(held.refresh if held else Secret(self.first_refresh_token))
            self.store.save_token(self.key, tokens.stored())
            self.refreshes += 1
            self._cached = (tokens.access, tokens.refresh_at)
            return tokens.access.value

    def _grant(self, refresh: Secret) -> _Tokens:
        """POST the refresh grant; transient failures are retried (the token was not used: a lost
        answer is the one case that locks an integration out, and no client can prevent it)."""
        body = _post_token(
            self.token_url, lambda: {"grant_type": "refresh_token", "refresh_token": refresh.value},
            auth=BasicAuth(self.client_id, self.client_secret), timeout=self.timeout, retry=self.retry,
            refused=lambda error: f"the token endpoint refused the refresh token ({error}): authorize the "
                                  "integration again and give the connection the new first refresh token "
                                  "(README: Fortnox tokens)")
        return _Tokens.granted(body, self.clock())


def _post_token(url: str, form: Callable[[], dict], *, auth: Any, timeout: float, retry: RetryPolicy,
                refused: Callable[[str], str]) -> dict:
    """POST to a token endpoint and return its JSON answer; 429, 5xx and lost connections are
    retried, any other refusal raises :class:`ReauthorizationNeeded` with ``refused(error)``.
    ``form`` makes the body only as it is sent, so no frame of a failure keeps a credential in a
    local variable (a traceback's locals show)."""
    last: Exception | None = None
    for attempt in range(retry.attempts):
        try:
            resp = requests.post(url, auth=auth, timeout=timeout, data=form())
        except requests.RequestException as exc:
            last = TransientError(0, f"token request failed: {type(exc).__name__}", method="POST", path=url)
            time.sleep(retry.delay(attempt, None))
            continue
        if resp.status_code == 200:
            return resp.json()
        error = _oauth_error(resp)
        if resp.status_code == 429 or resp.status_code >= 500:
            last = TransientError(resp.status_code, error, method="POST", path=url)
            time.sleep(retry.delay(attempt, retry_after_seconds(resp.headers)))
            continue
        raise ReauthorizationNeeded(resp.status_code, refused(error), method="POST", path=url)
    assert last is not None
    raise last


def _oauth_error(resp: requests.Response) -> str:
    """``{"error", "error_description"}`` whatever the content type (Fortnox sends it as text/html)."""
    try:
        body = json.loads(resp.text)
        return f"{body.get('error')}: {body.get('error_description')}"
    except (ValueError, AttributeError):
        return resp.text[:200]


@dataclass
class GrantedToken:
    """An access token from a grant that gives no refresh token (a JWT-bearer assertion, client
    credentials): granted again a little before it expires, and when the API refuses it.

    Nothing outlives the process: the grant's own credentials never change, so each process asks
    for its own token and two processes never step on each other (unlike :class:`RotatingToken`).
    ``form`` is the grant's body (it holds the credential, so the repr leaves it out).
    """

    token_url: str
    form: dict[str, str] = field(repr=False)
    timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(attempts=4))
    clock: Callable[[], float] = field(default=time.time, repr=False)
    grants: int = 0  # done by this process (for tests and metrics)
    _cached: tuple[Secret, float] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def current(self) -> str:
        """A valid access token (granting a new one when it expires within a few minutes)."""
        cached = self._cached
        if cached and cached[1] > self.clock():
            return cached[0].value
        return self.refused()

    def refused(self) -> str:
        """A new access token (the API refused the one sent, or it is about to expire)."""
        with self._lock:
            access, lifetime = self._grant()
            self._cached = (access, self.clock() + lifetime - min(MARGIN_S, lifetime / 4))
            self.grants += 1
            return access.value

    def _grant(self) -> tuple[Secret, float]:
        body = _post_token(self.token_url, lambda: self.form, auth=None, timeout=self.timeout, retry=self.retry,
                           refused=lambda error: f"the token endpoint refused the grant ({error}): check the "
                                                 "connection's credentials (a revoked or mistyped API key)")
        return Secret(body.get("access_token") or ""), float(body.get("expires_in") or 3600)
