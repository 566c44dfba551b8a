"""WooCommerce webhooks: the ``/webhooks`` resource and signed deliveries of resource changes.

REST [doc: webhooks.md "Webhook properties", "Create/Retrieve/List/Update/Delete a webhook";
source: woocommerce includes/rest-api/Controllers/Version1/class-wc-rest-webhooks-v1-controller.php]:

* ``POST /webhooks`` needs ``topic`` and ``delivery_url`` (WordPress: ``rest_missing_callback_param``);
  an unknown topic is ``woocommerce_rest_shop_webhook_invalid_topic`` "Webhook topic is required
  and must be valid.", a URL not http(s) ``woocommerce_rest_shop_webhook_invalid_delivery_url``;
  a new webhook is always ``active`` (the controller ignores a posted ``status``); ``name`` defaults
  to "Webhook created on <date>", ``secret`` to ``wp_generate_password(50, true, true)`` (the doc's
  "MD5 of the user" is older); then a ping is POSTed to the URL, body ``webhook_id=<id>``, and its
  outcome does not matter [source: create_item, WC_Webhook::deliver_ping];
* ``secret`` is write-only: never in an answer [doc: "write-only"; source: prepare_item_for_response];
* ``PUT`` of an unknown id: 400 ``woocommerce_rest_shop_webhook_invalid_id`` "ID is invalid." (GET
  too); ``DELETE`` needs ``force=true`` (else 501 ``woocommerce_rest_trash_not_supported`` "Webhooks
  do not support trashing."), an unknown id is 404 "Invalid ID." [source: update_item, delete_item];
* ``hooks`` are the topic's action names [source: includes/class-wc-webhook.php
  get_default_topic_hooks]; list filters ``status``, ``search``, ``page``/``per_page``/``offset``,
  ``order``/``orderby`` (date, id, title) [doc: "List all webhooks"].

Delivery [doc: webhooks.md "Delivery/payload"; source: class-wc-webhook.php deliver, build_payload,
generate_signature, log_delivery, failed_delivery]:

* catalog and sales call :func:`fire` with a topic and the object id where WooCommerce runs a hook of
  that topic; the events of one request are delivered when the request has succeeded (the change
  is stored), to every ``active`` webhook of that topic, once per webhook and object in a request
  (``is_already_processed``);
* body = ``trim(wp_json_encode(payload))``: PHP's JSON (``/`` escaped as ``\\/``, non-ASCII as
  ``\\uXXXX``, no spaces); payload = what ``GET /wc/v3/<resource>s/<id>`` answers, or ``{"id": id}``
  for ``*.deleted``;
* headers ``Content-Type: application/json``, ``X-WC-Webhook-Source`` (home URL + ``/``), ``-Topic``,
  ``-Resource``, ``-Event``, ``-Signature`` = base64(HMAC-SHA256(body, secret)), ``-ID``,
  ``-Delivery-ID``; User-Agent ``WooCommerce/<v> Hookshot (WordPress/<v>)``;
* one attempt per delivery (no retries in ``deliver``); a response 200-302 resets the failure count,
  anything else is a failure: when the count already exceeds 5 the webhook becomes ``disabled``,
  else it is incremented. So the source disables on the **7th** consecutive failure, while the doc
  says "after 5 consecutive failed deliveries": this module follows the source (``MAX_FAILURES``).
  A disabled webhook is not delivered to until a ``PUT`` sets it active again (the count is not
  reset by that, as in the source).

Delivery results come from the shared outbox's log (:mod:`integrations_dagster.sandbox.webhooks`
has no result callback): each delivery's ``event`` names its webhook, and :meth:`Webhooks.reconcile`
reads the new log rows before every webhook read and every dispatch.

Sandbox only: WooCommerce sends with ``wp_safe_remote_request``, which refuses loopback and private
addresses; the sandbox delivers to any http(s) URL, so tests point webhooks at ``http://127.0.0.1``.
Guesses: :mod:`.webhook_guesses`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import secrets
import string
import threading
import time
from contextvars import ContextVar
from typing import Any, Callable
from urllib.parse import urlparse

from integrations_dagster.sandbox.webhooks import Delivery, Outbox
from integrations_dagster.sandbox.woocommerce import webhook_guesses as guesses
from integrations_dagster.sandbox.woocommerce.clock import dated, now_gmt, stamp
from integrations_dagster.sandbox.woocommerce.errors import WooError, invalid_param
from integrations_dagster.sandbox.woocommerce.schema import validate

WEBHOOKS = "webhooks"
STATUSES = ("active", "paused", "disabled")
MAX_FAILURES = 5  # woocommerce_max_webhook_delivery_failures; disabled when the count exceeds it
WP_VERSION = "6.7.1"
# [source: class-wc-webhook.php get_default_topic_hooks]
TOPIC_HOOKS: dict[str, list[str]] = {
    "coupon.created": ["woocommerce_process_shop_coupon_meta", "woocommerce_new_coupon"],
    "coupon.updated": ["woocommerce_process_shop_coupon_meta", "woocommerce_update_coupon"],
    "coupon.deleted": ["wp_trash_post"],
    "coupon.restored": ["untrashed_post"],
    "customer.created": ["user_register", "woocommerce_created_customer", "woocommerce_new_customer"],
    "customer.updated": ["profile_update", "woocommerce_update_customer"],
    "customer.deleted": ["delete_user"],
    "order.created": ["woocommerce_new_order"],
    "order.updated": ["woocommerce_update_order", "woocommerce_order_refunded", "woocommerce_delete_order_refund"],
    "order.deleted": ["wp_trash_post", "woocommerce_trash_order"],
    "order.restored": ["untrashed_post", "woocommerce_untrash_order"],
    "product.created": ["woocommerce_process_product_meta", "woocommerce_new_product",
                        "woocommerce_new_product_variation"],
    "product.updated": ["woocommerce_process_product_meta", "woocommerce_update_product",
                        "woocommerce_update_product_variation"],
    "product.deleted": ["wp_trash_post"],
    "product.restored": ["untrashed_post"],
    "product.published": ["woocommerce_product_published"],
}
_FIELDS = {"name": "string", "status": "string", "topic": "string", "delivery_url": "string", "secret": "string"}
_PASSWORD_CHARS = string.ascii_letters + string.digits + "!@#$%^&*()-_ []{}<>~`+=,.;:/?|"
_EVENT = re.compile(r"^(\S+) webhook=(\d+)")

# -- events of the current request -------------------------------------------------------------
_pending: ContextVar[list | None] = ContextVar("woo_webhook_events", default=None)


def fire(topic: str, resource_id: int, deferred: bool = False, at: int | None = None) -> None:
    """A hook of ``topic`` ran for ``resource_id`` (no-op outside a request, e.g. demo loading).
    ``deferred``: it runs at the request's end (the parent save of ``wc_deferred_product_sync``);
    ``at``: its place among the request's events (a :func:`mark` taken before the change)."""
    events = _pending.get()
    if events is not None:
        events.insert(len(events) if at is None else at, (deferred, topic, resource_id))


def begin():
    return _pending.set([])


def end(token) -> list:
    events = _pending.get() or []
    _pending.reset(token)
    return events


def mark() -> int:
    return len(_pending.get() or [])


def rollback(to: int) -> None:
    """Forget the events after ``to`` (a batch item that failed: its change was not applied)."""
    events = _pending.get()
    if events is not None:
        del events[to:]


class _Missing(WooError):
    def __init__(self, names: list[str]) -> None:
        super().__init__(400, "rest_missing_callback_param", f"Missing parameter(s): {', '.join(names)}")
        self.names = names

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": {"status": 400, "params": self.names}}


def php_json(payload: Any) -> bytes:
    """``wp_json_encode`` with PHP's default flags."""
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode()


def signature(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def valid_topic(topic: str) -> bool:
    """``wc_is_webhook_valid_topic``: a core topic, or a custom ``action.<hook>``."""
    topic = topic.lower()
    return topic in TOPIC_HOOKS or bool(re.fullmatch(r"action\.\S+", topic))


def _valid_url(url: str) -> bool:
    parsed = urlparse(url.strip())
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


Presenter = Callable[[str, str, int], "dict | None"]  # (base URL, resource, id) -> REST answer


class Webhooks:
    def __init__(self, store, outbox: Outbox, site_url: str, wc_version: str) -> None:
        self.store, self.outbox = store, outbox
        self.site_url, self.wc_version = site_url, wc_version
        self._cursor = 0
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    # -- REST --------------------------------------------------------------------------------------
    def view(self, doc: dict, api_base: str) -> dict:
        resource, _, event = doc["topic"].partition(".")
        hooks = [event] if resource == "action" else TOPIC_HOOKS.get(doc["topic"], [])
        return {
            "id": doc["id"], "name": doc["name"], "status": doc["status"], "topic": doc["topic"],
            "resource": resource, "event": event, "hooks": hooks, "delivery_url": doc["delivery_url"],
            "date_created": doc["date_created"], "date_created_gmt": doc["date_created_gmt"],
            "date_modified": doc["date_modified"], "date_modified_gmt": doc["date_modified_gmt"],
            "_links": {"self": [{"href": f"{api_base}/webhooks/{doc['id']}"}],
                       "collection": [{"href": f"{api_base}/webhooks"}]},
        }

    def get(self, wid: int, code_status: int = 400) -> dict:
        self.reconcile()
        doc = self.store.get(WEBHOOKS, wid)
        if doc is None:
            if code_status == 404:
                raise WooError(404, "woocommerce_rest_shop_webhook_invalid_id", "Invalid ID.")
            raise WooError(400, "woocommerce_rest_shop_webhook_invalid_id", "ID is invalid.")
        return doc

    def all(self) -> list[dict]:
        self.reconcile()
        return self.store.find(WEBHOOKS)

    def create(self, body: Any) -> dict:
        body = body if isinstance(body, dict) else {}
        missing = [n for n in ("topic", "delivery_url") if n not in body]
        if missing:
            raise _Missing(missing)
        data = validate(body, _FIELDS, {"status": STATUSES})
        if body.get("id"):
            raise WooError(400, "woocommerce_rest_shop_webhook_exists", "Cannot create existing shop_webhook.")
        if not data["topic"] or not valid_topic(data["topic"]):
            raise WooError(400, "woocommerce_rest_shop_webhook_invalid_topic",
                           "Webhook topic is required and must be valid.")
        if not data["delivery_url"] or not _valid_url(data["delivery_url"]):
            raise WooError(400, "woocommerce_rest_shop_webhook_invalid_delivery_url",
                           "Webhook delivery URL must be a valid URL starting with http:// or https://.")
        now = now_gmt()
        local = stamp(now)[0]
        default_name = "Webhook created on " + _strftime_site(local)
        doc = {
            "name": data.get("name") or default_name, "status": "active", "topic": data["topic"].lower(),
            "delivery_url": data["delivery_url"].strip(),
            "secret": data.get("secret") or "".join(secrets.choice(_PASSWORD_CHARS) for _ in range(50)),
            "failure_count": 0, "api_version": 3, **dated("date_created", now), **dated("date_modified", now),
        }
        doc["id"] = self.store.insert(WEBHOOKS, doc)
        self.store.put(WEBHOOKS, doc["id"], doc)
        self._ping(doc)
        return doc

    def update(self, wid: int, body: Any) -> dict:
        data = validate(body if isinstance(body, dict) else {}, _FIELDS, {"status": STATUSES})
        doc = self.get(wid)
        if data.get("topic"):
            if not valid_topic(data["topic"]):
                raise WooError(400, "woocommerce_rest_shop_webhook_invalid_topic", "Webhook topic must be valid.")
            doc["topic"] = data["topic"].lower()
        if data.get("delivery_url"):
            if not _valid_url(data["delivery_url"]):
                raise WooError(400, "woocommerce_rest_shop_webhook_invalid_delivery_url",
                               "Webhook delivery URL must be a valid URL starting with http:// or https://.")
            doc["delivery_url"] = data["delivery_url"].strip()
        for name in ("secret", "status", "name"):
            if data.get(name):
                doc[name] = data[name]
        doc.update(dated("date_modified", now_gmt()))
        self.store.put(WEBHOOKS, wid, doc)
        return doc

    def delete(self, wid: int, force: bool) -> dict:
        if not force:
            raise WooError(501, "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.")
        doc = self.get(wid, code_status=404)
        self.store.delete(WEBHOOKS, wid)
        return doc

    def listing(self, params) -> list[dict]:
        """Filtered and sorted webhooks (paging is the caller's)."""
        status = params.get("status", "all")
        if status not in ("all", *STATUSES):
            raise invalid_param("status", "status is not one of all, active, paused, disabled.")
        order, orderby = params.get("order", "desc"), params.get("orderby", "date")
        if order not in ("asc", "desc"):
            raise invalid_param("order", "order is not one of asc, desc.")
        if orderby not in ("date", "id", "title"):
            raise invalid_param("orderby", "orderby is not one of date, id, title.")
        found = [w for w in self.all() if status == "all" or w["status"] == status]
        if params.get("search"):
            found = [w for w in found if params["search"].lower() in w["name"].lower()]
        key = {"date": lambda w: (w["date_created_gmt"], w["id"]), "id": lambda w: w["id"],
               "title": lambda w: w["name"].lower()}[orderby]
        return sorted(found, key=key, reverse=order == "desc")

    # -- delivery ----------------------------------------------------------------------------------
    def dispatch(self, events: list, present: Presenter, base: str) -> None:
        """Deliver one request's events (see the module docstring)."""
        if not events:
            return
        self.reconcile()
        ordered = [e for e in events if not e[0]] + [e for e in events if e[0]]
        hooks = [w for w in self.store.find(WEBHOOKS) if w["status"] == "active"]
        processed: set[tuple[int, int]] = set()
        bodies: dict[tuple[str, int], bytes | None] = {}
        for _, topic, rid in ordered:
            for hook in hooks:
                if hook["topic"] != topic or (hook["id"], rid) in processed:
                    continue
                processed.add((hook["id"], rid))
                if (topic, rid) not in bodies:
                    resource, _, event = topic.partition(".")
                    payload = {"id": rid} if event == "deleted" else present(base, resource, rid)
                    bodies[(topic, rid)] = None if payload is None else php_json(payload)
                if bodies[(topic, rid)] is not None:
                    self._send(hook, bodies[(topic, rid)])

    def _send(self, hook: dict, body: bytes) -> None:
        resource, _, event = hook["topic"].partition(".")
        delivery_id = self._delivery_id(hook["id"])
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"WooCommerce/{self.wc_version} Hookshot (WordPress/{WP_VERSION})",
            "X-WC-Webhook-Source": self.site_url.rstrip("/") + "/",
            "X-WC-Webhook-Topic": hook["topic"],
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": signature(body, hook["secret"]),
            "X-WC-Webhook-ID": str(hook["id"]),
            "X-WC-Webhook-Delivery-ID": delivery_id,
        }
        self.outbox.send(Delivery(hook["delivery_url"], body, headers,
                                  event=f"{hook['topic']} webhook={hook['id']} delivery={delivery_id}"))

    def _ping(self, hook: dict) -> None:
        headers = {"Content-Type": guesses.PING_CONTENT_TYPE,
                   "User-Agent": f"WooCommerce/{self.wc_version} Hookshot (WordPress/{WP_VERSION})"}
        self.outbox.send(Delivery(hook["delivery_url"], f"webhook_id={hook['id']}".encode(), headers,
                                  event=f"ping webhook={hook['id']}"))

    def _delivery_id(self, wid: int) -> str:
        seed = f"{wid}{int(time.time())}" + (f"#{next(self._ids)}" if guesses.UNIQUE_DELIVERY_IDS else "")
        return hmac.new(b"sandbox-wp-salt", seed.encode(), hashlib.md5).hexdigest()

    def reconcile(self) -> None:
        """Apply the outcome of deliveries attempted since the last call: failure counts, disabling."""
        with self._lock:
            log = self.outbox.log
            if len(log) < self._cursor:  # the outbox was cleared (sandbox reset)
                self._cursor = 0
            rows, self._cursor = log[self._cursor:], len(log)
            changed: dict[int, dict] = {}
            for row in rows:
                match = _EVENT.match(str(row.get("event", "")))
                if not match or match.group(1) == "ping":
                    continue
                wid = int(match.group(2))
                doc = changed.get(wid) or self.store.get(WEBHOOKS, wid)
                if doc is None:
                    continue
                status = row.get("status")
                if isinstance(status, int) and 200 <= status < 303:
                    doc["failure_count"] = 0
                elif doc["failure_count"] > MAX_FAILURES:
                    if doc["status"] != "disabled":
                        doc["status"] = "disabled"
                        if guesses.DISABLE_MOVES_DATE_MODIFIED:
                            doc.update(dated("date_modified", now_gmt()))
                else:
                    doc["failure_count"] += 1
                changed[wid] = doc
            for wid, doc in changed.items():
                self.store.put(WEBHOOKS, wid, doc)


def _strftime_site(local: str) -> str:
    """``strftime('%b %d, %Y @ %I:%M %p')`` of a site-time ``YYYY-MM-DDTHH:MM:SS``."""
    from datetime import datetime

    return datetime.fromisoformat(local).strftime("%b %d, %Y @ %I:%M %p")
