"""Adapter to the Rackbeat API: bearer key, Laravel's error bodies, lists answered 206 page by page.

Evidence (digest: ``docs/research/rackbeat.md``): ``Authorization: Bearer <API key>`` on
``https://app.rackbeat.com/api`` [doc: portal authentication-1; source: Rackbeat/laravel-client
config]; a list answers **206** with ``{<plural>: [...], total, pages, limit, page}`` [doc: portal
pagination] (200 when one page holds it all: a guess of the sandbox, so both are taken); a refusal is
422 ``{"errors": {field: [messages]}}`` [doc: portal errors]. Item numbers go into a path URL-encoded
[doc: portal intro; source: SDK ``rawurlencode``]. ``suppress_webhooks=true`` on a write keeps it
from firing Rackbeat's webhooks [doc: portal monitoring-security] — our own writes must not come
back as changes.
"""

from __future__ import annotations

from typing import Any, Iterator
from urllib.parse import quote

from integrations_dagster.connectors.http import BearerAuth, HttpClient, RetryPolicy

PAGE_LIMIT = 200  # the SDK's all() pages by 200 [source: laravel-client]; the largest limit is undocumented


def error_message(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("errors"), dict):
        return "; ".join(f"{field}: {' '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
                         for field, msgs in body["errors"].items())[:500]
    if isinstance(body, dict) and "message" in body:
        return str(body["message"])[:300]
    return str(body)[:300]


def item_path(kind: str, number: str) -> str:
    """``/products/<number>`` with the number URL-encoded (a "/" in it stays inside the segment)."""
    return f"/{kind}/{quote(str(number), safe='')}"


class Adapter:
    def __init__(self, base_url: str, api_key: str, *, timeout: float = 30, attempts: int = 6) -> None:
        self.http = HttpClient(base_url=base_url, auth=BearerAuth(lambda: api_key), timeout=timeout, error_message=error_message,
                               retry=RetryPolicy(attempts=attempts), headers={"Content-Type": "application/json"})

    def __repr__(self) -> str:
        return f"Adapter({self.http.base_url!r})"

    def get(self, path: str, **params: Any) -> Any:
        return self.http.get(path, **params)

    def find(self, path: str, key: str) -> dict | None:
        """One record under its wrapper key (``{"product": {...}}``), or None on 404."""
        resp = self.http.request("GET", path, expect=(404,))
        return None if resp.status_code == 404 else resp.json().get(key)

    def pages(self, path: str, key: str, **params: Any) -> Iterator[dict]:
        page = 1
        while True:
            body = self.http.get(path, **params, page=page, limit=PAGE_LIMIT)
            yield from body.get(key) or []
            if page >= int(body.get("pages") or 1):
                return
            page += 1

    def write(self, method: str, path: str, body: dict) -> dict:
        """A write that fires no webhook (our own change must not come back as one)."""
        return self.http.request(method, path, params={"suppress_webhooks": "true"}, json=body).json()
