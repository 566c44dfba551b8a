"""Zettle connector: the POS as the master of products (Product Library); stock comes later.

Zettle is several services on their own hosts (``oauth.zettle.com``, ``products.izettle.com``,
``inventory.izettle.com``, ``purchase.izettle.com``) [doc: CONTRACTS.md §3]. ``base_url`` is a
template with ``{service}`` in it (``https://{service}.izettle.com``; a sandbox serves each under a
path: ``http://127.0.0.1:8703/{service}``) and ``auth_url`` the token service.

Auth: the merchant's API key is a JWT used as an OAuth2 assertion; the grant gives a two-hour
access token and no refresh token, so the grant is simply repeated (:class:`GrantedToken`)
[doc: oauth-api …set-up-authorisation-assertion-grant.md].

Reading: ``GET /organizations/self/products/v2`` returns the whole library as one bare array, no
paging [3p: nopSolutions GetProductsRequest.cs; digest §2.2], so a window read filters it by
``updated``; one request whatever the window.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Iterator, Mapping

from pydantic import PrivateAttr

from integrations_dagster.config import ConfigError
from integrations_dagster.connectors.base import (
    Change, ConnectorResource, MapNotes, Outcome, Watermark, WebhookHint, Window, WriteContext,
    to_receiver_path,
)
from integrations_dagster.connectors.http import BearerAuth, HttpClient, RateLimiter, RetryPolicy
from integrations_dagster.connectors.oauth import GrantedToken
from integrations_dagster.connectors.zettle import mapping, stock, webhooks
from integrations_dagster.model import CanonicalRecord

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
PRODUCTS = "/organizations/self/products/v2"
INVENTORY_RATE = 4  # requests per second [doc: inventory overview §Rate limit "4 requests per second"]
SUBSCRIPTIONS = "/organizations/self/subscriptions"


def error_message(body: Any) -> str:
    """Zettle's error envelope ``{"developerMessage", "errorType", "violations"}`` [doc: digest §2.7]."""
    if isinstance(body, dict) and ("developerMessage" in body or "errorType" in body):
        violations = "; ".join(f"{v.get('propertyName')}: {v.get('developerMessage')}"
                               for v in body.get("violations") or [] if isinstance(v, dict))
        text = f"{body.get('errorType', 'error')}: {body.get('developerMessage', '')}"
        return f"{text} ({violations})" if violations else text
    return str(body)[:300]


class ZettleResource(ConnectorResource):
    """One Zettle organization, reached with an API key (``client_id`` + ``api_key``)."""

    system: ClassVar[str] = "zettle"
    reads: ClassVar[frozenset[str]] = frozenset({"products", "stock"})
    writes: ClassVar[frozenset[str]] = frozenset({"stock"})
    secret_fields: ClassVar[tuple[str, ...]] = ("client_id", "api_key", "webhook_secret")
    credential_sets: ClassVar[tuple[tuple[str, ...], ...]] = (("client_id", "api_key"),)

    base_url: str = "https://{service}.izettle.com"
    auth_url: str = "https://oauth.zettle.com"
    client_id: str
    api_key: str
    webhook_secret: str | None = None  # the Pusher subscription's signingKey (verifies deliveries)
    contact_email: str | None = None  # Pusher mails it when deliveries keep failing (needed to subscribe)
    timeout: float = 30

    _token: GrantedToken | None = PrivateAttr(default=None)
    _clients: dict[str, HttpClient] = PrivateAttr(default_factory=dict)

    # -- adapter -------------------------------------------------------------------------------
    def token(self) -> GrantedToken:
        if self._token is None:
            self._token = GrantedToken(f"{self.auth_url.rstrip('/')}/token", timeout=self.timeout, form={
                "grant_type": JWT_BEARER, "client_id": self.client_id, "assertion": self.api_key})
        return self._token

    def service(self, name: str) -> HttpClient:
        """The HTTP client of one Zettle service ("products", "inventory", "purchase", "pusher")."""
        if name not in self._clients:
            token = self.token()
            root = self.base_url.format(service=name)
            self._clients[name] = HttpClient(
                base_url=f"{root}/v3" if name == "inventory" else root, auth=BearerAuth(token.current), timeout=self.timeout,
                error_message=error_message, retry=RetryPolicy(attempts=self.max_attempts),
                limiter=RateLimiter(INVENTORY_RATE, 1.0) if name == "inventory" else None,
                on_unauthorized=lambda: bool(token.refused()))
        return self._clients[name]

    # -- reader --------------------------------------------------------------------------------
    def test_connection(self) -> str:
        products = self.service("products").get(PRODUCTS)
        return f"Zettle organization with {len(products)} products in its library"

    def read(self, entity: str, window: Window, options: dict[str, Any]) -> Iterator[dict]:
        """Products (the whole library, one request) or stock (STORE balances, paged), those whose
        ``updated`` falls in the window."""
        since = window.since.astimezone(UTC).isoformat() if window.since else None
        until = window.until.astimezone(UTC).isoformat() if window.until else None
        for raw in self._records(entity):
            updated = mapping.zettle_time(raw.get("updated")) or ""
            if (since is None or updated >= since) and (until is None or updated < until):
                yield raw

    def _records(self, entity: str) -> Iterator[dict]:
        products = self.service("products").get(PRODUCTS)
        if entity == "products":
            return iter(products)
        if entity == "stock":
            return stock.with_skus(stock.balances(self.service("inventory")), stock.sku_by_variant(products))
        raise ValueError(f"zettle cannot read {entity}")

    def latest_change(self, entity: str, since: Watermark | None) -> Watermark | None:
        """The newest ``updated`` of the library or of the balances (the whole list: one request for
        the library, one per thousand balances)."""
        rows = stock.balances(self.service("inventory")) if entity == "stock" else self._records(entity)
        stamps = [mapping.zettle_time(raw.get("updated")) for raw in rows]
        newest = max((s for s in stamps if s), default=None)
        if newest is None:
            return None
        at = datetime.fromisoformat(newest)
        fingerprint = f"{len(stamps)}"  # a deletion moves no ``updated``; the count does
        new = since is None or at > since.at or fingerprint != since.fingerprint
        return Watermark(at, fingerprint, new=new)

    def webhook_hint(self, headers: Mapping[str, str], body: bytes) -> WebhookHint | None:
        """A Pusher delivery: ``X-iZettle-Signature`` is the lowercase hex HMAC-SHA256, keyed with the
        subscription's ``signingKey``, of ``"<timestamp>.<payload>"`` — the envelope's ``timestamp``
        string and its ``payload`` string as sent [doc: pusher-api_user-guides_create-subscriptions.md
        §Step 4]; several values may be present and any may match [3p: nopSolutions ZettleService.cs]."""
        return webhooks.hint(headers, body, self.webhook_secret)

    def subscribe_webhooks(self, destination: str, entities: set[str]) -> str | None:
        """A Pusher subscription of ``destination`` to the events of ``entities`` (an earlier one of the
        same destination is deleted first); its ``signingKey`` signs the deliveries
        [doc: pusher-api_api-reference.md §Create a subscription: uuid v1, transportName WEBHOOK]."""
        if not self.contact_email:
            raise ConfigError("settings.contact_email: Zettle needs an address to mail when webhook deliveries "
                              "keep failing before it takes a subscription")
        pusher = self.service("pusher")
        for held in pusher.get(SUBSCRIPTIONS):
            if held.get("destination") == destination:
                pusher.request("DELETE", f"{SUBSCRIPTIONS}/{held['uuid']}", expect=(404,))
        created = pusher.request("POST", SUBSCRIPTIONS, json={
            "uuid": str(uuid.uuid1()), "transportName": "WEBHOOK", "eventNames": webhooks.events_for(entities),
            "destination": destination, "contactEmail": self.contact_email}).json()
        return created["signingKey"]

    def unsubscribe_webhooks(self, path: str) -> int:
        pusher = self.service("pusher")
        gone = [held for held in pusher.get(SUBSCRIPTIONS) if to_receiver_path(held.get("destination"), path)]
        for held in gone:
            pusher.request("DELETE", f"{SUBSCRIPTIONS}/{held['uuid']}", expect=(404,))
        return len(gone)

    def to_canonical(self, entity: str, raw: dict, options: dict[str, Any],
                     notes: MapNotes | None = None) -> CanonicalRecord:
        return stock.stock_level(raw) if entity == "stock" else mapping.product(raw, notes)

    def raw_key(self, entity: str, raw: dict) -> str:
        if entity == "stock":
            return raw.get("_sku") or f"variant {raw.get('variantUuid', '?')}"
        return f"product {raw.get('name') or raw.get('uuid', '?')}"

    def raw_id(self, entity: str, raw: dict) -> str | None:
        return raw.get("variantUuid") if entity == "stock" else raw.get("uuid")

    def write(self, entity: str, changes: list[Change], ctx: WriteContext) -> Iterator[Outcome]:
        if entity != "stock":
            raise ValueError(f"Zettle is not a target of {entity!r}")
        yield from stock.MovementWriter(self.service("products"), self.service("inventory"), ctx.memo,
                                        ctx.journal).write(changes)
