"""Adapter to Tradera's REST API v4: the four credential headers, the error body, the call quota.

Evidence (digest: ``docs/research/tradera.md``):

* Every business path is under ``/v4/`` on ``https://api.tradera.com`` [doc: rest]; an application sends
  ``X-App-Id`` and ``X-App-Key``, and for a seller's listings and orders also ``X-User-Id`` and
  ``X-User-Token`` [spec ``#/components/securitySchemes``] [doc: rest "App authentication"].
* Errors: ``{"error": {"code": "BadRequest", "message": "…"}}`` [doc: rest "Error responses"].
* **Quota: 100 calls per 24 hours for all methods**, per application, more on request [doc: v3 start
  page] [doc: plugin README]; over it a 429 [doc: rest], and no header says how many are left (none is
  documented, recorded or read by any client) [§3]. So every request is first spent from the
  application's :class:`~integrations_dagster.connectors.quota.CallBudget` (the ledger in the state
  store); one the budget has no room for is never sent. A 429 all the same (the application's calls
  were spent elsewhere) is never retried — each retry would be a call — and ends the work as the
  ledger would have: :class:`QuotaExhausted`, until a day after the oldest call we know of.
* The user token never reaches a log: it travels in a session header, which ``HttpClient`` keeps out of
  its repr and its errors.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from integrations_dagster.connectors.http import HttpClient, RetryPolicy, TransientError
from integrations_dagster.connectors.quota import CallBudget, QuotaExhausted


def error_message(body: Any) -> str:
    """Tradera's error envelope as one line: ``BadRequest: <message>``."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        return f"{error.get('code')}: {error.get('message')}"[:500]
    return str(body)[:300]


class Adapter:
    """One seller of one Tradera application; every request spent from ``budget`` first."""

    def __init__(self, base_url: str, app_id: str, app_key: str, user_id: str, user_token: str, budget: CallBudget,
                 *, timeout: float = 30, attempts: int = 4) -> None:
        self.budget = budget
        headers = {"X-App-Id": str(app_id), "X-App-Key": app_key, "X-User-Id": str(user_id),
                   "X-User-Token": user_token}
        self.http = HttpClient(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout,
                               error_message=error_message, retry=RetryPolicy(attempts=attempts),
                               before_send=budget.spend, final_status=frozenset({429}))

    def __repr__(self) -> str:
        return f"Adapter({self.http.base_url!r})"

    def request(self, method: str, path: str, *, params: Any = None, json: Any = None,
                expect: tuple[int, ...] = ()) -> requests.Response:
        try:
            return self.http.request(method, path, params=params, json=json, expect=expect)
        except TransientError as exc:
            if exc.status != 429 or isinstance(exc, QuotaExhausted):
                raise
            sent = [at for at, _ in self.budget.store.calls_sent(self.budget.name, self.budget.window)]
            frees = (sent[0] if sent else datetime.now(UTC)) + self.budget.window
            raise QuotaExhausted(
                f"Tradera answered 429: the application's quota is spent (our ledger counted {len(sent)} of "
                f"{self.budget.limit}; calls made elsewhere with the same application count too); waits until "
                f"about {frees.strftime('%Y-%m-%d %H:%M')} UTC", max(frees, datetime.now(UTC) + timedelta(hours=1))
            ) from None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None).json()
