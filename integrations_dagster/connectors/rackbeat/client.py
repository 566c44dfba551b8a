"""Rackbeat connector: products and stock per location both ways (:mod:`.products`, :mod:`.stock`), orders
(a POS's sales) as a target (here), the account's prerequisites (:mod:`.setup`) and webhooks (:mod:`.webhooks`).

Writing **orders** (seed 003: "varesalg (ordre) som kommer over i Rackbeat"): ``POST /orders`` makes a
booked order [doc: portal postordersdrafts] for the connection's POS customer (``customer_number``;
an order names its customer by number [doc: portal errors; 3p: core-suite]). Lines name the item by
number, a variation by ``product_variation_id``; the price is the line's net amount per unit (Rackbeat
takes up to 6 decimals [spec: swagger]), so quantity × price gives back the till's amount; the VAT
percent is the till's when ``add_vat`` ("Tilføy moms", seed 003), else 0 and the order is booked
without VAT. Each line's location is the one the flow's ``locations`` maps the sale's location to, else
``main_location`` ("Hovedlager i Rackbeat … standardlokasjon", seed 003). The order's
``their_reference`` is the canonical key: a re-send (or a create whose answer was lost) finds the order
by it (``search`` [doc: portal filtering]) and never makes a second one — the seed's manual re-send
"kan skape duplikater"; this one cannot.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar, Iterator, Mapping

from pydantic import PrivateAttr

from integrations_dagster.connectors.base import (
    Change, ConnectorResource, MapNotes, Outcome, Use, Watermark, WebhookHint, Window, WriteContext, one_by_one,
)
from integrations_dagster.connectors.rackbeat import products, stock, webhooks
from integrations_dagster.connectors.http import TransientError
from integrations_dagster.connectors.places import Places
from integrations_dagster.connectors.rackbeat.adapter import Adapter
from integrations_dagster.connectors.rackbeat.items import ItemIndex
from integrations_dagster.model import CanonicalRecord, Order, OrderStatus

UNIT_PRICE = Decimal("0.000001")
CREATE_ATTEMPTS = 3
ORDER_WRITER_MEMO = "rackbeat.order_writer"


class RackbeatResource(ConnectorResource):
    """One Rackbeat account, reached with its API key."""

    system: ClassVar[str] = "rackbeat"
    reads: ClassVar[frozenset[str]] = frozenset({"stock", "products"})
    writes: ClassVar[frozenset[str]] = frozenset({"orders", "products", "stock"})
    ownable: ClassVar[dict[str, tuple[str, ...]]] = {"products": products.OWNABLE}
    # a booked order holds its goods: the available stock the tills get moves (and our write fires no webhook)
    moves: ClassVar[dict[str, frozenset[str]]] = {"orders": frozenset({"stock"})}
    secret_fields: ClassVar[tuple[str, ...]] = ("api_key", "webhook_secret")
    credential_sets: ClassVar[tuple[tuple[str, ...], ...]] = (("api_key",),)
    options_model: ClassVar[str] = "integrations_dagster.connectors.rackbeat.options:RackbeatOptions"

    base_url: str = "https://app.rackbeat.com/api"
    api_key: str
    # The tokens of this receiver's subscriptions (Rackbeat makes one per subscription, shown once):
    # `integrations-dagster subscribe` keeps them in the state store; the receiver passes them here.
    webhook_secret: str | None = None
    timeout: float = 30

    _adapter: Adapter | None = PrivateAttr(default=None)

    def adapter(self) -> Adapter:
        if self._adapter is None:
            self._adapter = Adapter(self.base_url, self.api_key, timeout=self.timeout, attempts=self.max_attempts)
        return self._adapter

    def test_connection(self) -> str:
        me = self.adapter().get("/self")
        account = (me.get("user_account") or {}) if isinstance(me, dict) else {}
        return f"Rackbeat: account {account.get('id', '?')} {account.get('name') or ''}".rstrip()

    def prerequisites(self, uses: list[Use]) -> list[str]:
        """Seed 003's checklist: a group with stock, the locations and custom fields the flows name (:mod:`.setup`)."""
        from integrations_dagster.connectors.rackbeat import setup

        return setup.prerequisites(self.adapter(), uses)

    # -- webhooks (:mod:`.webhooks`) -----------------------------------------------------------
    def webhook_hint(self, headers: Mapping[str, str], body: bytes) -> WebhookHint | None:
        return webhooks.hint(headers, self.webhook_secret)

    def subscribe_webhooks(self, destination: str, entities: set[str]) -> str | None:
        return webhooks.subscribe(self.adapter(), destination, entities)

    def unsubscribe_webhooks(self, path: str) -> int:
        return webhooks.unsubscribe(self.adapter(), path, by_path=True)

    # -- reader / mapper -----------------------------------------------------------------------
    def read(self, entity: str, window: Window, options: dict[str, Any]) -> Iterator[dict]:
        if entity == "products":
            yield from products.read(self.adapter(), window, lots=bool(options.get("structured_products")))
            return
        if entity != "stock":
            raise ValueError(f"Rackbeat is not a source of {entity!r}")
        yield from stock.read(self.adapter())

    def read_keys(self, entity: str, keys: list[str], options: dict[str, Any]) -> tuple[list[dict], dict[str, str]]:
        if entity == "products":
            return products.read_keys(self.adapter(), keys, lots=bool(options.get("structured_products")))
        return super().read_keys(entity, keys, options)

    def latest_change(self, entity: str, since: Watermark | None) -> Watermark | None:
        """Products: the newest ``updated_at`` and its number (one small request)."""
        if entity != "products":
            return None
        body = self.adapter().get("/products", order_by="updated_at", order_direction="desc", limit=1)
        first = (body.get("products") or [None])[0]
        if first is None:
            return None
        at = datetime.fromisoformat(products.instant(first.get("updated_at")) or datetime.now(UTC).isoformat())
        mark = f"{first.get('number')}:{first.get('updated_at')}"
        return Watermark(at, mark, new=since is None or since.fingerprint != mark)

    def to_canonical(self, entity: str, raw: dict, options: dict[str, Any],
                     notes: MapNotes | None = None) -> CanonicalRecord:
        if entity == "products":
            return products.to_product(raw, str(options.get("currency") or "NOK"), notes)
        if entity != "stock":
            raise ValueError(f"Rackbeat is not a source of {entity!r}")
        return stock.to_level(raw)

    def raw_key(self, entity: str, raw: dict) -> str:
        if entity == "products":
            return str(raw.get("number", "?"))
        return f"{raw.get('sku', '?')}@{raw.get('location', '?')}"

    def raw_id(self, entity: str, raw: dict) -> str | None:
        if entity == "products":
            return str(raw["number"]) if raw.get("number") else None
        return str(raw["product"]) if raw.get("product") else None

    # -- exporter ------------------------------------------------------------------------------
    def write(self, entity: str, changes: list[Change], ctx: WriteContext) -> Iterator[Outcome]:
        if entity == "products":
            yield from products.ProductWriter(self.adapter(), ctx).write(changes)
            return
        if entity == "stock":
            yield from stock.write(self.adapter(), changes, ctx)
            return
        if entity != "orders":
            raise ValueError(f"Rackbeat is not a target of {entity!r}")
        writer = ctx.memo.get(ORDER_WRITER_MEMO)  # its item and variation lookups serve the run's next batches
        if writer is None:
            writer = ctx.memo[ORDER_WRITER_MEMO] = _OrderWriter(self.adapter(), ctx)
        yield from one_by_one(changes, writer.one, "Rackbeat refused it")


class _OrderWriter:
    def __init__(self, adapter: Adapter, ctx: WriteContext) -> None:
        self.adapter, self.ctx = adapter, ctx
        options = ctx.options
        self.customer = options.get("customer_number")
        self.add_vat = bool(options.get("add_vat", True))
        self.currency = str(options.get("currency") or "NOK")
        self.places = Places(options, "locations", "main_location", "Rackbeat location")
        self.items = ItemIndex.of_run(adapter, ctx.memo)

    def one(self, change: Change) -> Outcome:
        order = change.record
        if not isinstance(order, Order):
            return Outcome(change.key, ok=True, action="skipped", error="orders are not deleted in Rackbeat")
        found = self._existing(order.key)
        cancelled = order.status == OrderStatus.CANCELLED
        if found is not None:
            return Outcome(change.key, ok=True, action="linked", target_id=str(found["number"]), warnings=(
                (f"cancelled at the till after it was booked: Rackbeat order {found['number']} stands, "
                 "cancel it there",) if cancelled else ()))
        if cancelled:  # a receipt voided at the till sold nothing: booking it would hold its goods
            return Outcome(change.key, ok=True, action="ignored", error="cancelled at the till: nothing to book")
        if self.customer in (None, ""):
            return Outcome(change.key, ok=False, action="failed", error=(
                "no customer_number: set the Rackbeat customer the POS's sales are booked on"))
        if order.currency != self.currency:  # F6: amounts are never converted
            return Outcome(change.key, ok=False, action="failed", error=(
                f"the sale is in {order.currency}, the Rackbeat account's currency is {self.currency} (the "
                "connection's currency option): it is not booked as if it were"))
        location = self.places.of(order.location)
        lines = []
        for n, line in enumerate(order.lines, 1):
            held = self.items.find(line.sku) if line.sku else None
            if held is None:
                what = f"SKU {line.sku!r} is no item in Rackbeat" if line.sku else "it names no item"
                return Outcome(change.key, ok=False, action="failed", error=f"line {n} {line.name!r}: {what}")
            number, variation = held
            quantity = line.quantity
            body: dict[str, Any] = {
                "item_id": number, "quantity": int(quantity) if quantity == quantity.to_integral_value() else str(quantity),
                "line_price": str((line.net / quantity).quantize(UNIT_PRICE)) if quantity else "0",
                "vat_percentage": str(line.vat_rate if self.add_vat else Decimal(0))}
            if variation is not None:
                body["product_variation_id"] = variation
            if location is not None:
                body["location_id"] = int(location)
            lines.append(body)
        created = self._create({"customer_id": int(self.customer), "their_reference": order.key, "lines": lines},
                               order.key)
        expected = sum(((line.gross if self.add_vat else line.net) for line in order.lines), Decimal(0))
        booked = Decimal(str(created.get("total_total")))
        warnings = () if booked == expected else (
            f"Rackbeat booked {booked}, the till charged {expected}"
            f"{'' if self.add_vat else ' without VAT'}: its own VAT rounding per line",)
        return Outcome(change.key, ok=True, action="created", target_id=str(created["number"]), warnings=warnings)

    def _existing(self, key: str) -> dict | None:
        for row in self.adapter.pages("/orders", "orders", search=key):
            if row.get("their_reference") == key:
                return row
        return None

    def _create(self, body: dict, key: str) -> dict:
        """POST; a lost answer may have made the order: look for it before sending again."""
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                return self.adapter.write("POST", "/orders", body)["order"]
            except TransientError:
                found = self._existing(key)
                if found is not None:
                    return found
                if attempt == CREATE_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")
