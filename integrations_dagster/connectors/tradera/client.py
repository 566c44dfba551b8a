"""Tradera connector (REST v4): the marketplace's shop items as a products target, its orders as a source.

Evidence: ``docs/research/tradera.md`` (the vendor's OpenAPI ``tradera/openapi-v4.json``, its developer
pages and plugin, third-party clients; no v4 traffic is recorded). What the sandbox had to guess is in
``sandbox/tradera/guesses.py``.

* **Credentials** — the application's id and key, the seller's user id and token [spec
  ``#/components/securitySchemes``]. The token comes from Tradera's token login
  (``integrations-dagster connect <integration> <connection> --login``, seed 000 step 11 "Anslut
  Tradera-konto"): the login page with our public key and a secret of our own, then ``POST
  /v4/auth/token`` [doc: plugin tradera-user-token] — kept in the state store (never in a file), or
  given as ``user_token`` by environment variable.
* **Quota** — 100 calls a day per application unless Tradera raised it (``quota_calls``); every call is
  spent from a ledger in the state store first (:mod:`..quota`), ``quota_reserve_for_orders`` of them
  kept for reading orders. Nothing polls Tradera for "anything new?": a sensor tick would cost a call,
  so Tradera's flows run on schedules.
* **products** (target) — :mod:`.products`: items and variants, listing settings (:mod:`.listing`,
  checked against the reference data, :mod:`.reference`), batch prices and quantities, queued writes
  landed only on their request result (:mod:`.results`).
* **orders** (source) — :mod:`.orders`, by last-updated date windows.
* **order_status** (target) — :mod:`.shipping`: an order the shop shipped is marked shipped on Tradera.
* **products** (source) and the drift check — :mod:`.feed`: the seller's items changed since a row version
  (a sale, an edit made on Tradera), as products; ``verify`` compares the listings with the hub.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, Callable, ClassVar, Iterator
from urllib.parse import urlencode

from pydantic import PrivateAttr

from integrations_dagster.config import ConfigError
from integrations_dagster.connectors.base import (
    Change, ConnectorResource, Drift, MapNotes, Outcome, Use, Window, WriteContext,
)
from integrations_dagster.connectors.http import ApiError, HttpClient, RetryPolicy
from integrations_dagster.connectors.quota import CallBudget, budget_name
from integrations_dagster.connectors.tradera import feed, orders
from integrations_dagster.connectors.tradera.adapter import Adapter, error_message
from integrations_dagster.connectors.tradera.listing import Listing
from integrations_dagster.connectors.tradera.products import ListingWriter
from integrations_dagster.connectors.tradera.reference import reference
from integrations_dagster.connectors.tradera.results import LOST_ANSWER_GRACE, Pending
from integrations_dagster.connectors.tradera.shipping import ShippedMarker
from integrations_dagster.connectors.tradera.units import units
from integrations_dagster.model import CanonicalRecord, Product
from integrations_dagster.state.resource import open_store
from integrations_dagster.state.store import hashed_key

ORDERS = "/v4/orders"


class TraderaResource(ConnectorResource):
    """One seller (``user_id``) of one Tradera application (``app_id``)."""

    system: ClassVar[str] = "tradera"
    reads: ClassVar[frozenset[str]] = frozenset({"orders", "products"})
    writes: ClassVar[frozenset[str]] = frozenset({"products", "order_status"})
    verifies: ClassVar[frozenset[str]] = frozenset({"products"})  # one call per check: schedule it daily
    secret_fields: ClassVar[tuple[str, ...]] = ("app_key", "user_token")
    credential_sets: ClassVar[tuple[tuple[str, ...], ...]] = (("app_key",),)  # the token may come from the login
    options_model: ClassVar[str] = "integrations_dagster.connectors.tradera.options:TraderaOptions"
    quota_setting: ClassVar[str | None] = "quota_calls"
    # a read of orders is one call (no paging); a listing round with price and stock changes three (prices,
    # quantities, request results); marking shipped one per order — counted here as one per run's order
    calls_per_run: ClassVar[dict[str, int]] = {"source:orders": 1, "target:products": 3, "target:order_status": 2,
                                               "source:products": 2, "verify:products": 1}

    base_url: str = "https://api.tradera.com"
    login_url: str = ""  # the token login page; default: <base_url>/token-login [doc: plugin tradera-user-token]
    app_id: str
    app_key: str
    public_key: str = ""  # the application's public key (for the login page's URL; not a secret)
    user_id: str = ""
    user_token: str = ""  # else the one the token login keeps in the state store
    quota_calls: int = 100  # per application per window [doc: v3 start page]; Tradera raises it on request
    quota_window_hours: float = 24
    quota_reserve_for_orders: int = 30
    result_waits_s: list[float] = [2.0, 5.0]  # waits before asking for a run's request results (one call each)
    # how long a create whose answer was lost may sit in Tradera's queue unseen before it is sent again
    lost_answer_grace_s: float = LOST_ANSWER_GRACE.total_seconds()
    timeout: float = 30

    _adapter: Adapter | None = PrivateAttr(default=None)
    _budget: CallBudget | None = PrivateAttr(default=None)

    # -- plumbing ------------------------------------------------------------------------------
    def budget(self) -> CallBudget:
        """The application's quota (one per process and connection: what it spends on is set on it)."""
        if self._budget is None:
            self._budget = CallBudget(open_store(), budget_name("tradera", self.base_url, str(self.app_id)),
                                      self.quota_calls, timedelta(hours=self.quota_window_hours),
                                      self.quota_reserve_for_orders, system="Tradera")
        return self._budget

    def _login_key(self) -> str:
        return hashed_key("tradera-login", self.base_url, str(self.app_id), str(self.user_id))

    def adapter(self) -> Adapter:
        if self._adapter is None:
            user_id, token = self.user_id, self.user_token
            if not token:
                held = open_store().token(self._login_key()) or {}
                user_id, token = user_id or held.get("user_id", ""), held.get("token", "")
            if not token:
                raise ConfigError("Tradera has no user token for this connection yet: run `integrations-dagster "
                                  "connect <integration> <connection> --login` (Tradera's token login), or set "
                                  "user_token by environment variable")
            self._adapter = Adapter(self.base_url, self.app_id, self.app_key, user_id, token, self.budget(),
                                    timeout=self.timeout, attempts=self.max_attempts)
        return self._adapter

    def test_connection(self) -> str:
        with self.budget().spending_on("check"):
            shop = self.adapter().get("/v4/listings/shop-settings")
        return (f"Tradera seller {self.user_id or '(from the login)'}: shop {'closed' if shop.get('isTemporaryClosed') else 'open'}, "
                f"up to {shop.get('maxActiveItems')} active items; quota {self.budget().describe()}")

    def login(self, ask: Callable[[str], str], say: Callable[[str], None]) -> str:
        """Tradera's token login: the login page with our public key and a fresh secret, then the token."""
        if not self.public_key:
            raise ConfigError("settings.public_key: the application's public key is needed for Tradera's login page")
        skey = secrets.token_hex(32)  # 64 characters; Tradera asks for 32-255 [notes: GetToken]
        page = (self.login_url or f"{self.base_url.rstrip('/')}/token-login") + "?" + urlencode(
            {"appId": self.app_id, "pkey": self.public_key, "skey": skey})
        say(f"Open {page}\nlog in with your Tradera account and press 'Tillåt' (Allow).")
        user_id = self.user_id or ask("Your Tradera user id (the page after 'Tillåt' shows it): ").strip()
        ask("Press Enter once Tradera has shown that access is allowed … ")
        app = HttpClient(base_url=self.base_url.rstrip("/"), headers={"X-App-Id": str(self.app_id),
                                                                       "X-App-Key": self.app_key},
                         timeout=self.timeout, error_message=error_message, retry=RetryPolicy(attempts=2),
                         before_send=self.budget().spend, final_status=frozenset({429}))
        try:
            token = app.request("POST", "/v4/auth/token", json={"userId": int(user_id), "secretKey": skey}).json()
        except ValueError:
            raise ConfigError(f"{user_id!r} is no Tradera user id (a number)") from None
        except ApiError as exc:
            raise ApiError(exc.status, f"Tradera gave no token ({exc.message}): the login may not have been "
                                       "allowed, or took too long; run the login again") from None
        open_store().save_token(self._login_key(), {"user_id": str(user_id), "token": token["authToken"],
                                                    "expires": token.get("hardExpirationTime")})
        self._adapter = None
        return f"Tradera user {user_id} connected; the token lasts until {token.get('hardExpirationTime')}"

    def prerequisites(self, uses: list[Use]) -> list[str]:
        """The listing settings of each products flow, checked against Tradera's reference data."""
        missing = []
        for use in uses:
            if use.entity != "products" or use.role != "target":
                continue
            try:
                self.listing(use.options, f"flows.{use.flow}.options")
            except ConfigError as exc:
                missing.append(str(exc))
        return missing

    def listing(self, options: dict[str, Any], where: str) -> Listing:
        listing = Listing.of(options, where)
        listing.check(reference(self.adapter(), open_store(), self.budget().name + ":reference"), where)
        return listing

    # -- reader / mapper -----------------------------------------------------------------------
    def read(self, entity: str, window: Window, options: dict[str, Any]) -> Iterator[dict]:
        if entity == "products":  # the seller's items: what changed on Tradera, by row version (:mod:`.feed`)
            versions = feed.RowVersions(open_store(), hashed_key("tradera-rows", self.budget().name,
                                                                  str(options.get("connection") or "")))
            with self.budget().spending_on("listings"):
                yield from feed.changed_items(self.adapter(), versions, window.since)
            return
        if entity != "orders":
            raise ValueError(f"Tradera is not a source of {entity!r}")
        until = window.until or datetime.now(UTC)
        since = window.since or until - timedelta(days=int(options.get("orders_days_back") or 30))
        with self.budget().spending_on("orders"):
            yield from self.adapter().get(ORDERS, fromDate=_iso(since), toDate=_iso(until, up=True),
                                          queryDateMode=1) or []

    def to_canonical(self, entity: str, raw: dict, options: dict[str, Any],
                     notes: MapNotes | None = None) -> CanonicalRecord:
        if entity == "products":
            return feed.product(raw)
        if entity != "orders":
            raise ValueError(f"Tradera is not a source of {entity!r}")
        binder = open_store().binder(str(options.get("connection") or "tradera"))
        return orders.order(raw, str(options.get("connection") or "tradera"),
                            lambda item: binder.key_for("products", str(item)))

    def raw_key(self, entity: str, raw: dict) -> str:
        return f"item {raw.get('id', '?')}" if entity == "products" else f"order {raw.get('orderId', '?')}"

    def raw_id(self, entity: str, raw: dict) -> str | None:
        value = raw.get("id") if entity == "products" else raw.get("orderId")
        return str(value) if value is not None else None

    def verify(self, entity: str, records: list[CanonicalRecord], ctx: WriteContext) -> Iterator[Drift]:
        """The listings against what the hub says they should be: price, stock, title — one call."""
        if entity != "products":
            raise NotImplementedError(f"Tradera cannot verify {entity}")
        listing = Listing.of(ctx.options, "options")
        with self.budget().spending_on("listings"):
            held = {ref: item for item in feed.seller_items(self.adapter()) for ref in item.get("ownReferences") or []}
        for record in records:
            if not isinstance(record, Product):
                continue
            for unit in (u for u in units(record, listing) if u.active):
                item = held.get(unit.sku)
                if item is None:
                    yield Drift(unit.sku, "record", "listed", None)
                    continue
                for name, want, got in (("price", unit.price, item.get("buyItNowPrice")),
                                        ("stock", unit.quantity, item.get("remainingQuantity")),
                                        ("title", unit.title, item.get("shortDescription"))):
                    if want != got:
                        yield Drift(unit.sku, name, str(want), None if got is None else str(got))

    # -- exporter ------------------------------------------------------------------------------
    def write(self, entity: str, changes: list[Change], ctx: WriteContext) -> Iterator[Outcome]:
        if entity == "order_status":
            with self.budget().spending_on("orders"):
                yield from ShippedMarker(self.adapter(), ctx, open_store()).write(changes)
            return
        if entity != "products":
            raise ValueError(f"Tradera is not a target of {entity!r}")
        where = f"the options of the products flow into {ctx.options.get('connection') or 'Tradera'}"
        with self.budget().spending_on("listings"):
            listing = self.listing(ctx.options, where)
            ref = reference(self.adapter(), open_store(), self.budget().name + ":reference")
            pending = Pending(open_store(), hashed_key("tradera-pending", self.budget().name,
                                                        str(ctx.options.get("connection") or "")))
            writer = ListingWriter(self.adapter(), ctx, listing, ref, pending, tuple(self.result_waits_s),
                                   timedelta(seconds=self.lost_answer_grace_s))
            yield from writer.write(changes)


def _iso(at: datetime, up: bool = False) -> str:
    """Whole seconds, UTC; ``up``: the end of a window, rounded up so its last fraction of a second is in it."""
    at = at.astimezone(UTC)
    if up and at.microsecond:
        at = at.replace(microsecond=0) + timedelta(seconds=1)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")
