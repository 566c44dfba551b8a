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
Tokens never reach a log, run config or the sync log.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import requests

from integrations_dagster.connectors.http import ApiError, RetryPolicy, TransientError, retry_after_seconds

MARGIN_S = 300.0  # refresh this long before the access token expires (a quarter of a shorter lifetime)


class ReauthorizationNeeded(ApiError):
    """The vendor refused the refresh token: a person must authorize the integration again."""


@dataclass
class RotatingToken:
    token_url: str
    client_id: str
    client_secret: str
    first_refresh_token: str
    store: Any  # the state store: token(key), save_token(key, value), lock(name)
    timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(attempts=4))
    clock: Callable[[], float] = time.time
    refreshes: int = 0  # done by this process (for tests and metrics)
    _cached: tuple[str, float] | None = None  # (access token, expiry): no store read per request

    @property
    def key(self) -> str:
        digest = hashlib.sha256(f"{self.token_url}|{self.client_id}|{self.first_refresh_token}".encode()).hexdigest()
        return f"oauth:{digest[:32]}"

    def current(self) -> str:
        """A valid access token (refreshing when it expires within a few minutes)."""
        if self._cached and self._cached[1] > self.clock():
            return self._cached[0]
        held = self.store.token(self.key)
        if held and held.get("refresh_at", 0) > self.clock():
            self._cached = (held["access_token"], held["refresh_at"])
            return held["access_token"]
        return self.renew(held.get("access_token") if held else None)

    def refused(self) -> str:
        """The API refused the token this process sent: a new one (unless another process already
        replaced it, then that one)."""
        sent, self._cached = (self._cached[0] if self._cached else None), None
        return self.renew(sent)

    def renew(self, stale: str | None) -> str:
        """A new access token, unless another process already replaced ``stale`` while we waited."""
        with self.store.lock(self.key):
            held = self.store.token(self.key)
            if held and held.get("access_token") != stale and held.get("refresh_at", 0) > self.clock():
                self._cached = (held["access_token"], held["refresh_at"])
                return held["access_token"]
            refresh = held["refresh_token"] if held else self.first_refresh_token
            body = self._grant(refresh)
            lifetime = float(body.get("expires_in") or 3600)
            now = self.clock()
            value = {"access_token": body["access_token"], "refresh_token": body["refresh_token"],
                     "expires_at": now + lifetime, "refresh_at": now + lifetime - min(MARGIN_S, lifetime / 4)}
            self.store.save_token(self.key, value)
            self.refreshes += 1
            self._cached = (body["access_token"], value["refresh_at"])
            return body["access_token"]

    def _grant(self, refresh: str) -> dict:
        """POST the refresh grant; transient failures are retried (the token was not used: a lost
        answer is the one case that locks an integration out, and no client can prevent it)."""
        last: Exception | None = None
        for attempt in range(self.retry.attempts):
            try:
                resp = requests.post(self.token_url, auth=(self.client_id, self.client_secret), timeout=self.timeout,
                                     data={"grant_type": "refresh_token", "refresh_token": refresh})
            except requests.RequestException as exc:
                last = TransientError(0, f"token refresh failed: {type(exc).__name__}", method="POST",
                                      path=self.token_url)
                time.sleep(self.retry.delay(attempt, None))
                continue
            if resp.status_code == 200:
                return resp.json()
            error = _oauth_error(resp)
            if resp.status_code == 429 or resp.status_code >= 500:
                last = TransientError(resp.status_code, error, method="POST", path=self.token_url)
                time.sleep(self.retry.delay(attempt, retry_after_seconds(resp.headers)))
                continue
            raise ReauthorizationNeeded(
                resp.status_code, f"the token endpoint refused the refresh token ({error}): authorize the integration "
                "again and give the connection the new first refresh token (README: Fortnox tokens)",
                method="POST", path=self.token_url)
        assert last is not None
        raise last


def _oauth_error(resp: requests.Response) -> str:
    """``{"error", "error_description"}`` whatever the content type (Fortnox sends it as text/html)."""
    try:
        body = json.loads(resp.text)
        return f"{body.get('error')}: {body.get('error_description')}"
    except (ValueError, AttributeError):
        return resp.text[:200]
