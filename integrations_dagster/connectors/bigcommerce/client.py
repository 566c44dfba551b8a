"""BigCommerce connector: the webshop that takes a POS's products (stock and orders come later).

``base_url`` is the API host (``https://api.bigcommerce.com``; a sandbox's own address) and
``store_hash`` the store's permanent id: every path is ``/stores/{store_hash}/v3/…`` or ``/v2/…``
[spec: products_catalog.v3.yml#servers]. Auth is the ``X-Auth-Token`` header [spec: securitySchemes].

Quota: every answer says how many requests are left in the window and when it resets
(``X-Rate-Limit-Requests-Left``, ``X-Rate-Limit-Time-Reset-Ms``) [doc: api-rate-limits.mdx, digest
§7]; the client paces itself on them (:class:`QuotaPacer`) and waits out a 429 by the reset header.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, ClassVar, Iterator, Mapping

from pydantic import PrivateAttr

from integrations_dagster.connectors.base import (
    Change, ConnectorResource, MapNotes, Outcome, Watermark, WebhookHint, Window, WriteContext,
    to_receiver_path,
)
from integrations_dagster.connectors.bigcommerce import mapping, stock, webhooks
from integrations_dagster.connectors.bigcommerce.catalog import Catalog
from integrations_dagster.connectors.bigcommerce.products import ProductExporter
from integrations_dagster.connectors.http import HttpClient, QuotaPacer, RetryPolicy
from integrations_dagster.model import CanonicalRecord
from integrations_dagster.model.product import Product

LEFT, RESET_MS = "X-Rate-Limit-Requests-Left", "X-Rate-Limit-Time-Reset-Ms"


def error_message(body: Any) -> str:
    """``{"status", "title", "errors": {field: text}}`` [spec: error_Base, digest §1.3]."""
    if isinstance(body, dict) and "title" in body:
        errors = body.get("errors") or {}
        details = "; ".join(f"{k}: {v}" for k, v in errors.items()) if isinstance(errors, dict) else ""
        return f"{body['title']}" + (f" ({details})" if details and details != body["title"] else "")
    if isinstance(body, list) and body and isinstance(body[0], dict):  # v2: [{"status", "message"}]
        return "; ".join(str(e.get("message", e)) for e in body)
    return str(body)[:300]


class BigCommerceResource(ConnectorResource):
    """One BigCommerce store."""

    system: ClassVar[str] = "bigcommerce"
    reads: ClassVar[frozenset[str]] = frozenset({"stock"})
    writes: ClassVar[frozenset[str]] = frozenset({"products", "stock"})
    secret_fields: ClassVar[tuple[str, ...]] = ("access_token", "webhook_secret")
    credential_sets: ClassVar[tuple[tuple[str, ...], ...]] = (("access_token",),)
    ownable: ClassVar[dict[str, tuple[str, ...]]] = {"products": mapping.OWNABLE}
    options_model: ClassVar[str] = "integrations_dagster.connectors.bigcommerce.options:BigCommerceOptions"

    base_url: str = "https://api.bigcommerce.com"
    store_hash: str
    access_token: str
    webhook_secret: str | None = None  # the app's client secret: verifies webhook callbacks
    timeout: float = 30

    _http: HttpClient | None = PrivateAttr(default=None)
    _store: dict | None = PrivateAttr(default=None)

    @property
    def http(self) -> HttpClient:
        if self._http is None:
            quota = QuotaPacer(LEFT, RESET_MS)
            self._http = HttpClient(
                base_url=f"{self.base_url.rstrip('/')}/stores/{self.store_hash}",
                headers={"X-Auth-Token": self.access_token, "Content-Type": "application/json"},
                timeout=self.timeout, quota=quota, wait_hint=quota.seconds_to_reset,
                error_message=error_message, retry=RetryPolicy(attempts=self.max_attempts))
        return self._http

    def store(self) -> dict:
        """The store's settings (currency...), read once per process."""
        if self._store is None:
            self._store = Catalog(self.http).store()
        return self._store

    def test_connection(self) -> str:
        info = self.store()
        return f"BigCommerce store {info.get('name', '?')} ({info.get('domain', self.store_hash)}), " \
               f"currency {info.get('currency', '?')}"

    def webhook_hint(self, headers: Mapping[str, str], body: bytes) -> WebhookHint | None:
        """A callback signed per Standard Webhooks (:mod:`.webhooks`)."""
        return webhooks.hint(headers, body, self.webhook_secret)

    def subscribe_webhooks(self, destination: str, entities: set[str]) -> str | None:
        """A hook per scope for ``destination`` (one hook per scope and destination is allowed [doc:
        webhooks overview.mdx]): an existing one is switched on, a missing one created [spec:
        webhooks.v3.yml createWebhooks]. The app's client secret signs them: None."""
        held = {(h.get("scope"), h.get("destination")): h for h in Catalog(self.http).pages("/v3/hooks")}
        for scope in webhooks.scopes_for(entities):
            hook = held.get((scope, destination))
            if hook is None:
                self.http.request("POST", "/v3/hooks", json={"scope": scope, "destination": destination,
                                                             "is_active": True})
            elif not hook.get("is_active"):
                self.http.request("PUT", f"/v3/hooks/{hook['id']}", json={"is_active": True})
        return None

    def unsubscribe_webhooks(self, path: str) -> int:
        """[spec: webhooks.v3.yml DELETE /hooks/{id}]"""
        gone = [h for h in Catalog(self.http).pages("/v3/hooks") if to_receiver_path(h.get("destination"), path)]
        for hook in gone:
            self.http.request("DELETE", f"/v3/hooks/{hook['id']}", expect=(404,))
        return len(gone)

    def read(self, entity: str, window: Window, options: dict[str, Any]) -> Iterator[dict]:
        """Stock: every tracked SKU's level, whatever the window (inventory items carry no change
        time to filter on; a few list pages)."""
        if entity != "stock":
            raise ValueError(f"bigcommerce cannot be the source of {entity} yet")
        yield from stock.levels(Catalog(self.http), datetime.now(UTC).isoformat())

    def to_canonical(self, entity: str, raw: dict, options: dict[str, Any],
                     notes: MapNotes | None = None) -> CanonicalRecord:
        if entity != "stock":
            raise ValueError(f"bigcommerce cannot be the source of {entity} yet")
        return stock.stock_level(raw)

    def latest_change(self, entity: str, since: Watermark | None) -> Watermark | None:
        """Stock has no change time to ask for: a fingerprint of every tracked level (the read a run
        would make, a few list pages) tells whether one moved since the last tick."""
        if entity != "stock":
            return None
        now = datetime.now(UTC)
        levels = sorted((r["sku"], str(r["quantity"])) for r in stock.levels(Catalog(self.http), now.isoformat()))
        fingerprint = hashlib.sha256(repr(levels).encode()).hexdigest()[:16]
        return Watermark(now, fingerprint, new=since is None or since.fingerprint != fingerprint)

    def raw_key(self, entity: str, raw: dict) -> str:
        return str(raw.get("sku") or raw.get("variant_id") or "?")

    def raw_id(self, entity: str, raw: dict) -> str | None:
        return str(raw["variant_id"]) if raw.get("variant_id") is not None else None

    def write(self, entity: str, changes: list[Change], ctx: WriteContext) -> Iterator[Outcome]:
        catalog = Catalog(self.http)
        if entity == "stock":
            yield from stock.StockExporter(catalog, ctx).write(changes)
            return
        if entity != "products":
            raise ValueError(f"BigCommerce is not a target of {entity!r} yet")
        rule = mapping.PriceRule(self._sync_prices(changes, ctx), bool(ctx.options.get("prices_include_tax", True)))
        def landing() -> int:
            """The landing category's id, looked up (or made) once per run."""
            if "bigcommerce.landing_category" not in ctx.memo:
                name = str(ctx.options.get("landing_category") or "Zettle")
                ctx.memo["bigcommerce.landing_category"] = catalog.category(name)
            return ctx.memo["bigcommerce.landing_category"]

        yield from ProductExporter(catalog, ctx, rule, landing).write(changes)

    def plan(self, entity: str, changes: list[Change], ctx: WriteContext) -> dict[str, tuple[str, str]]:
        """Which products a first sync would link (the store has one of their SKUs) rather than
        create: the store's SKUs, listed once, read-only."""
        creates = [c for c in changes if c.action == "create" and isinstance(c.record, Product)
                   and not (c.target_id or ctx.binder.external_id("products", c.key))]
        if entity != "products" or not creates:
            return {}
        index = Catalog(self.http).sku_index()
        out = {}
        for change in creates:
            hit = next(((sku, index[sku.casefold()]) for sku in mapping.skus(change.record) if sku.casefold() in index),
                       None)
            if hit:
                out[change.key] = ("link", f"the store has SKU {hit[0]} (product {hit[1][0]}): matched, not created")
        return out

    def _sync_prices(self, changes: list[Change], ctx: WriteContext) -> bool:
        """Prices go out only when asked and in the store's own currency [seed 004: "Detta kan du bara
        göra om du har samma valutainställningar"]; otherwise products land with price 0, said once."""
        if not ctx.options.get("sync_prices", True):
            _once(ctx, "prices are not synced (sync_prices: false): products land in BigCommerce with price 0")
            return False
        store_currency = str(self.store().get("currency") or "").upper()
        currencies = _currencies(changes)
        foreign = sorted(currencies - {store_currency}) if store_currency else []
        if foreign:
            _once(ctx, f"prices are not synced: the source's prices are in {', '.join(foreign)} and the store's "
                       f"currency is {store_currency}; products land with price 0")
            return False
        if not ctx.options.get("prices_include_tax", True):
            _once(ctx, "the store's prices exclude VAT: source prices are converted with each product's own VAT "
                       "rate; BigCommerce adds the rate of the product's tax class at checkout, so a tax class "
                       "whose rate differs from the source's changes what shoppers pay and your margin")
        return True


def _once(ctx: WriteContext, message: str) -> None:
    """Say ``message`` in the run's log once, however many batches the run writes."""
    said = ctx.memo.setdefault("bigcommerce.said", set())
    if message not in said:
        said.add(message)
        ctx.log(message)


def _currencies(changes: list[Change]) -> set[str]:
    out = set()
    for change in changes:
        p = change.record
        if isinstance(p, Product):
            for price in (p.price, *(v.price for v in p.variants)):
                if price is not None:
                    out.add(price.amount.currency)
    return out
