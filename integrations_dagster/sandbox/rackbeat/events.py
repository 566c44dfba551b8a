"""Webhooks: subscriptions (``/api/webhooks``) and what Rackbeat POSTs when a subscribed event happens.

Subscriptions [doc: portal intro-to-webhooks]: ``POST /api/webhooks {"event", "url", "is_active"}`` answers
``{"webhook": {id, event, url, is_active, plugin, failures_since_last_success, token, created_at,
updated_at}}``; the 32-character ``token`` only in that creation answer; the same event + url again updates
the existing webhook instead of adding one. List, get, update, delete by id; delivery logs under
``/webhooks/{id}/logs`` [doc: portal monitoring-security].

Delivery [doc: portal webhook-events]: POST with ``Rackbeat-Webhook-Token`` (the shared token — no HMAC),
``Rackbeat-Webhook-Event``, ``Rackbeat-Account-Id`` and ``User-Agent: Rackbeat Webhook``. The event a
subscription names may be plural ("orders.created", the portal's example) while the delivery names it
singular ("order.created") — both spellings subscribe to the same event (guesses.PLURALS). The body is
``{"key_name", "key"}`` as observed [3p: mother-sku] [doc: portal changelog product.deleted example]
(plus ``old_key``, ``new_key``, ``changed`` on "updated" events [doc: portal webhook-events]), or the
documented ``{"key", "key_name", "event", "data"}`` (guesses.WEBHOOK_PAYLOAD_STYLE, switchable for a test).
Retries with back-off (guesses.WEBHOOK_RETRY_DELAYS_S) are the shared outbox's (:mod:`sandbox.webhooks`).

A write that carries ``suppress_webhooks=true`` (query or body) fires nothing [doc: portal
monitoring-security]. Writes note their events while they run; the events go out only after the write's
transaction committed (:meth:`Events.unit`).
"""

from __future__ import annotations

import json
import secrets
import string
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from integrations_dagster.sandbox.rackbeat import guesses
from integrations_dagster.sandbox.rackbeat.wire import Clock, invalid
from integrations_dagster.sandbox.webhooks import Delivery, Outbox

_SINGULAR = {plural: singular for singular, plural in guesses.PLURALS.items()}


def canonical(event: str) -> str | None:
    """The delivered (singular) name of a subscribed event, or None when it is no known event."""
    entity, _, action = (event or "").strip().partition(".")
    name = f"{_SINGULAR.get(entity, entity)}.{action}"
    return name if name in guesses.EVENTS else None


class Events:
    def __init__(self, store: Any, outbox: Outbox, clock: Clock, account_id: str) -> None:
        self.store, self.outbox, self.clock, self.account_id = store, outbox, clock, account_id
        self.payload_style = guesses.WEBHOOK_PAYLOAD_STYLE
        self._pending: list[dict] | None = None

    # ---- collecting ----------------------------------------------------------------------------------
    @contextmanager
    def unit(self, suppress: bool = False) -> Iterator[None]:
        """One write: a transaction; its events are published after the commit unless suppressed."""
        if self._pending is not None:  # nested in an outer write: that one commits and publishes
            yield
            return
        self._pending = []
        try:
            with self.store.transaction():
                yield
            events = self._pending
        finally:
            self._pending = None
        if not suppress:
            for event in events:
                self.publish(event)

    def note(self, event: str, key_name: str, key: Any, *, data: Callable[[], Any] | None = None,
             old_key: Any = None, changed: list[str] | None = None, extra: dict | None = None) -> None:
        if self._pending is None:  # the demo load and other writes outside a unit fire nothing
            return
        if event == guesses.STOCK_EVENT and any(e["event"] == event and e["key"] == key for e in self._pending):
            return  # one stock event per item and write
        self._pending.append({"event": event, "key_name": key_name, "key": key, "data": data,
                              "old_key": old_key, "changed": changed, "extra": extra or {}})

    # ---- publishing ----------------------------------------------------------------------------------
    def body(self, event: dict) -> dict:
        key = str(event["key"]) if event["key_name"] == "number" and guesses.KEY_AS_STRING_FOR_NUMBER \
            else event["key"]
        updated = event["event"].endswith(".updated") and guesses.UPDATED_EXTRA_KEYS
        if self.payload_style == "documented":
            body: dict = {"key": key, "key_name": event["key_name"], "event": event["event"],
                          "data": event["data"]() if event["data"] else {}}
        else:
            body = {"key_name": event["key_name"], "key": key, **event["extra"]}
        if updated:
            old = event["old_key"] if event["old_key"] is not None else event["key"]
            body.update(old_key=str(old) if isinstance(key, str) else old, new_key=key,
                        changed=event["changed"] or [])
        return body

    def publish(self, event: dict) -> None:
        hooks = [h for h in self.store.find("webhooks")
                 if h.get("is_active", True) and canonical(h["event"]) == event["event"]]
        if not hooks:
            return
        body = json.dumps(self.body(event), separators=(",", ":")).encode()
        for hook in hooks:
            headers = {"Content-Type": "application/json", "User-Agent": "Rackbeat Webhook",
                       "Rackbeat-Webhook-Token": hook["token"], "Rackbeat-Webhook-Event": event["event"],
                       "Rackbeat-Account-Id": self.account_id}
            self.outbox.send(Delivery(hook["url"], body, headers, f"{event['event']} hook={hook['id']}",
                                      guesses.WEBHOOK_RETRY_DELAYS_S, on_result=self._counter(hook["id"])))

    def _counter(self, hook_id: int) -> Callable[[bool], None]:
        def done(ok: bool) -> None:
            with self.store.lock:
                hook = self.store.get("webhooks", hook_id)
                if hook is not None:
                    hook["failures_since_last_success"] = 0 if ok else hook.get("failures_since_last_success", 0) + 1
                    self.store.put("webhooks", hook_id, hook)
        return done

    # ---- subscriptions -------------------------------------------------------------------------------
    def subscribe(self, body: dict) -> tuple[dict, bool]:
        """(webhook, created): the same event + url updates instead of duplicating."""
        event, url = str(body.get("event") or "").strip(), str(body.get("url") or "").strip()
        errors: dict[str, str] = {}
        if not event:
            errors["event"] = guesses.MSG_REQUIRED.format(field="event")
        elif canonical(event) is None:
            errors["event"] = guesses.MSG_UNKNOWN_EVENT
        if not url:
            errors["url"] = guesses.MSG_REQUIRED.format(field="url")
        elif not url.startswith(("http://", "https://")):
            errors["url"] = "The url format is invalid."
        if errors:
            raise invalid(errors)
        active = body.get("is_active", True)
        if not isinstance(active, bool):
            raise invalid({"is_active": guesses.MSG_BOOLEAN.format(field="is active")})
        now = self.clock.stamp()
        for hook in self.store.find("webhooks"):
            if hook["event"] == event and hook["url"] == url:
                hook.update(is_active=active, updated_at=now)
                self.store.put("webhooks", hook["id"], hook)
                return hook, False
        alphabet = string.ascii_letters + string.digits
        token = "".join(secrets.choice(alphabet) for _ in range(guesses.WEBHOOK_TOKEN_LENGTH))
        doc = {"event": event, "url": url, "is_active": active, "plugin": None, "failures_since_last_success": 0,
               "token": token, "created_at": now, "updated_at": now}
        doc["id"] = self.store.insert("webhooks", doc)
        return doc, True

    def update(self, hook: dict, body: dict) -> dict:
        if "event" in body:
            if canonical(str(body["event"])) is None:
                raise invalid({"event": guesses.MSG_UNKNOWN_EVENT})
            hook["event"] = str(body["event"])
        if "url" in body:
            hook["url"] = str(body["url"])
        if "is_active" in body:
            if not isinstance(body["is_active"], bool):
                raise invalid({"is_active": guesses.MSG_BOOLEAN.format(field="is active")})
            hook["is_active"] = body["is_active"]
        hook["updated_at"] = self.clock.stamp()
        self.store.put("webhooks", hook["id"], hook)
        return hook

    def logs(self, hook_id: int) -> list[dict]:
        tag = f"hook={hook_id}"
        return [{"id": n, "event": row["event"].split(" ")[0], "url": row["url"], "attempt": row["attempt"],
                 "status": row["status"]}
                for n, row in enumerate(list(self.outbox.log), start=1) if row["event"].endswith(tag)]


def render(hook: dict, with_token: bool = False) -> dict:
    out = {k: hook.get(k) for k in ("id", "event", "url", "is_active", "plugin", "failures_since_last_success",
                                    "created_at", "updated_at")}
    if with_token:
        out["token"] = hook["token"]
    return out
