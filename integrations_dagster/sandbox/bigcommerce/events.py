"""Webhook callbacks: what BigCommerce POSTs to each active hook whose ``scope`` matches a change.

Writes *note* their events while they run (:meth:`Events.note`); a route wraps its write in
``with catalog.events.collect(), store.transaction():`` so the events are published only after the
transaction committed, and dropped when it failed. Writes outside ``collect()`` (the demo load) note
nothing. Delivery itself (thread, retries, drop/duplicate/reorder knobs) is :mod:`sandbox.webhooks`.

Payload ("light") [doc: BCdocs:docs/integrations/webhooks/events/index.mdx] [spec: webhooks.v3.yml#info]
[spec: webhooks.v3.yml#components/schemas/webhook_callback_base]::

    {"scope": "store/product/updated", "store_id": "1025646", "data": {"type": "product", "id": 205},
     "hash": "<sha1 hex>", "created_at": 1561482670, "producer": "stores/{store_hash}"}

``data`` per scope:

* ``store/product/created|updated|deleted``: ``{"type": "product", "id"}``
  [spec: webhooks.v3.yml#components/schemas/store_product_created] (…updated, …deleted).
* ``store/product/inventory/updated``: ``{"type": "product", "id", "inventory": {"product_id", "method",
  "value"}}``, ``value`` the difference before/after (negative on decrease)
  [spec: webhooks.v3.yml#components/schemas/store_product_inventory_updated]; only for stock held by
  the product (tracking by product) [doc: BCdocs:docs/integrations/webhooks/events/index.mdx].
* ``store/sku/inventory/updated``: ``{"type": "sku", "id": <sku id>, "inventory": {"product_id", "method",
  "value", "variant_id"}}``, only for stock tracked by variant
  [spec: webhooks.v3.yml#components/schemas/store_sku_inventory_updated] [doc: same].
* ``store/sku/created|updated|deleted``: ``{"type": "sku", "id", "sku": {"product_id", "variant_id"}}``
  [spec: webhooks.v3.yml#components/schemas/store_sku_created] (…updated; …deleted: same shape, guess).
* ``store/order/created|updated``: ``{"type": "order", "id"}``; ``store/order/statusUpdated`` adds
  ``"status": {"previous_status_id", "new_status_id"}`` [spec: webhooks.v3.yml#components/schemas/store_order_statusUpdated].

A hook's ``scope`` matches an event's scope exactly, or as a wildcard ``store/product/*`` ("Fires for all
`store/product` events" [spec: webhooks.v3.yml#components/schemas/store_product_wildcard]; likewise
``store/sku/*``, ``store/order/*`` …). Hooks with ``is_active`` false receive nothing. The hook's custom
``headers`` go with every callback [doc: BCdocs:docs/integrations/webhooks/overview.mdx].

Signature: Standard Webhooks [doc: BCdocs:docs/integrations/webhooks/https-webhook-overview.mdx]
[3p: github.com/standard-webhooks/standard-webhooks spec/standard-webhooks.md]:

* ``webhook-id``: a message id, the same on every retry (and on a duplicate) of one callback;
* ``webhook-timestamp``: unix seconds when the callback was signed;
* ``webhook-signature``: ``v1,`` + base64(HMAC-SHA256(key, ``f"{id}.{timestamp}.".encode() + body``));
* key = the raw UTF-8 bytes of the client secret: BigCommerce's sample verifies with
  ``Webhook(base64.b64encode(client_secret.encode()).decode())`` [doc: same], and the library
  base64-decodes its secret (after stripping an optional ``whsec_``) to get the HMAC key
  [3p: standard-webhooks libraries/python/standardwebhooks/webhooks.py]. See :mod:`.guesses`.

Retries and deactivation [doc: BCdocs:docs/integrations/webhooks/overview.mdx]: a callback is received
only when the destination answers 2xx; it is retried on the vendor's schedule (compressed, see
:data:`.guesses.WEBHOOK_RETRY_DELAYS_S`), and after the final retry fails the hook is deactivated
(``is_active`` false). The shared outbox reports no outcome, so the sandbox reads its attempt log and
deactivates such hooks the next time hooks are read or an event is published (:meth:`Events.sync`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from contextlib import contextmanager
from typing import Any, Iterator

from integrations_dagster.sandbox.bigcommerce import guesses
from integrations_dagster.sandbox.webhooks import Delivery, Outbox

PRODUCT_UPDATED_IGNORES = frozenset({"id", "mpn", "gtin", "product_tax_code", "images"})
"""Product fields whose change does not fire ``store/product/updated`` ("changes to the following fields
don't trigger this event: Manufacturer Part Number (MPN), Global Trade Number (GTN), Tax Provider Tax
Code, Product Image …" [spec: webhooks.v3.yml#components/schemas/store_product_updated])."""


def scope_matches(hook_scope: str, scope: str) -> bool:
    if hook_scope == scope:
        return True
    return hook_scope.endswith("/*") and scope.startswith(hook_scope[:-1])


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` [3p: standard-webhooks spec]."""
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def store_id_of(store_hash: str) -> str:
    """The numeric ``store_id`` string of a store (:data:`.guesses.STORE_ID`)."""
    return guesses.STORE_ID or str(int(hashlib.sha1(store_hash.encode()).hexdigest(), 16) % 10_000_000 + 1_000_000)


class NoEvents:
    """What a catalog without webhooks (the demo loader's) notes: nothing. The helpers below name
    each catalog event's scope and ``data``; :class:`Events` records and publishes them."""

    def note(self, scope: str, data: dict) -> None:
        pass

    def sync(self) -> None:
        pass

    @contextmanager
    def collect(self) -> Iterator[None]:
        yield

    # ---- the events of catalog objects ------------------------------------------------------
    def product(self, verb: str, product_id: int) -> None:
        self.note(f"store/product/{verb}", {"type": "product", "id": product_id})

    def product_changed(self, product_id: int, fields: set[str] | dict) -> None:
        if set(fields) - PRODUCT_UPDATED_IGNORES:
            self.product("updated", product_id)

    def sku(self, verb: str, product_id: int, variant: dict) -> None:
        self.note(f"store/sku/{verb}", {"type": "sku", "id": variant.get("sku_id") or variant["id"],
                                        "sku": {"product_id": product_id, "variant_id": variant["id"]}})

    def stock(self, product: dict, variant: dict | None, delta: int, method: str) -> None:
        """A stock change of ``delta`` held by the product (``variant`` None) or by a variant."""
        if not delta and not guesses.WEBHOOK_ON_UNCHANGED_STOCK:
            return
        if variant is None:
            self.note("store/product/inventory/updated", {
                "type": "product", "id": product["id"],
                "inventory": {"product_id": product["id"], "method": method, "value": delta}})
            # "Inventory Stock" changes fire store/product/updated too [spec: …#store_product_updated]
            self.product("updated", product["id"])
        else:
            self.note("store/sku/inventory/updated", {
                "type": "sku", "id": variant.get("sku_id") or variant["id"],
                "inventory": {"product_id": product["id"], "method": method, "value": delta,
                              "variant_id": variant["id"]}})

    def order(self, verb: str, order_id: int, **extra: Any) -> None:
        self.note(f"store/order/{verb}", {"type": "order", "id": order_id, **extra})


class Events(NoEvents):
    def __init__(self, store: Any, outbox: Outbox, store_hash: str, secret: str) -> None:
        self.store, self.outbox, self.store_hash = store, outbox, store_hash
        self.key = secret.encode("utf-8")  # see the module doc and guesses.SIGNING_KEY_IS_RAW_SECRET
        self.store_id = store_id_of(store_hash)
        self._pending: list[tuple[str, dict]] | None = None
        self._sent: dict[str, int] = {}  # delivery log tag -> hook id, until its outcome is known
        self._lock = threading.Lock()

    # ---- collecting ---------------------------------------------------------------------------
    def note(self, scope: str, data: dict) -> None:
        # one write fires store/product/updated once, however many of its parts changed the product;
        # stock moves are never merged (two equal moves are two events)
        if self._pending is not None and ("inventory" in data or (scope, data) not in self._pending):
            self._pending.append((scope, data))

    @contextmanager
    def collect(self) -> Iterator[None]:
        """Publish what the block notes once it ends without error (nested blocks join the outer one)."""
        if self._pending is not None:
            yield
            return
        self._pending = []
        try:
            yield
            events, self._pending = self._pending, None
        except BaseException:
            self._pending = None
            raise
        for scope, data in events:
            self.publish(scope, data)

    # ---- publishing ---------------------------------------------------------------------------
    def payload(self, scope: str, data: dict) -> dict:
        created_at = int(time.time())
        body = {"scope": scope, "store_id": self.store_id, "data": data, "created_at": created_at,
                "producer": f"stores/{self.store_hash}"}
        # "SHA-1 hash of the JSON-encoded payload data" [doc: events/index.mdx]; what is hashed: guess.
        body["hash"] = hashlib.sha1(json.dumps(body, separators=(",", ":"), sort_keys=True).encode()).hexdigest()
        return {"scope": scope, "store_id": self.store_id, "data": data, "hash": body["hash"],
                "created_at": created_at, "producer": body["producer"]}

    def publish(self, scope: str, data: dict) -> None:
        self.sync()
        hooks = [h for h in self.store.find("hooks") if h.get("is_active", True) and scope_matches(h["scope"], scope)]
        if not hooks:
            return
        payload = self.payload(scope, data)  # one event: every hook gets the same hash [doc: https-webhook-overview.mdx]
        body = json.dumps(payload, separators=(",", ":")).encode()
        for hook in hooks:
            msg_id = f"msg_{uuid.uuid4().hex}"  # guesses.WEBHOOK_ID
            stamp = int(time.time())
            headers = {**(hook.get("headers") or {}), "Content-Type": "application/json",
                       "webhook-id": msg_id, "webhook-timestamp": str(stamp),
                       "webhook-signature": sign(self.key, msg_id, stamp, body)}
            tag = f"{scope} hook={hook['id']} {msg_id}"
            with self._lock:
                self._sent[tag] = hook["id"]
            self.outbox.send(Delivery(hook["destination"], body, headers, tag, guesses.WEBHOOK_RETRY_DELAYS_S))

    # ---- deactivation -------------------------------------------------------------------------
    def sync(self) -> None:
        """Deactivate hooks whose callback failed every attempt (the final retry included)."""
        attempts = 1 + len(guesses.WEBHOOK_RETRY_DELAYS_S)
        with self._lock:
            if not self._sent:
                return
            failed: dict[str, int] = {}
            done: set[str] = set()
            for row in list(self.outbox.log):
                tag = row.get("event")
                if tag not in self._sent:
                    continue
                if isinstance(row["status"], int) and row["status"] < 300:
                    done.add(tag)
                else:
                    failed[tag] = failed.get(tag, 0) + 1
            gave_up = {tag for tag, n in failed.items() if n >= attempts and tag not in done}
            hook_ids = {self._sent.pop(tag) for tag in gave_up}
            for tag in done:
                self._sent.pop(tag, None)
        for hook_id in hook_ids:
            hook = self.store.get("hooks", hook_id)
            if hook is not None and hook.get("is_active", True):
                hook.update(is_active=False, updated_at=int(time.time()))
                self.store.put("hooks", hook_id, hook)

    def forget(self) -> None:
        """A reset: callbacks in flight no longer name stored hooks."""
        with self._lock:
            self._sent.clear()
            self._pending = None
