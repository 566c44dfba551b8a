"""WooCommerce REST v3 connector: reads products (with variations), orders and what became of them
(``order_status``: completed = shipped, cancelled); writes stock levels, products (an ERP's), order status, orders (a marketplace's, :mod:`.order_writer`).

Incremental reads use ``modified_after``/``modified_before`` with ``dates_are_gmt=true``. Saving a
variation (price, stock; REST, admin, an order's stock reduction) saves its parent product too, so
the parent's ``date_modified`` moves and a window read returns the parent with all its variations:
a variation-only edit costs no request of its own (evidence: the sandbox's ``catalog`` module).
Only edits written past WooCommerce's CRUD (SQL, ``update_post_meta``) move no date; the periodic
full reconcile catches those.
Stock goes out through the batch endpoints (``/products/batch`` for simple products,
``/products/{id}/variations/batch`` per parent), at most 100 items a request.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, ClassVar, Iterator, Mapping, NamedTuple

from pydantic import PrivateAttr

from integrations_dagster.connectors.base import (
    Change, ConnectorResource, Drift, MapNotes, Outcome, Watermark, WebhookHint, Window, WriteContext,
    to_receiver_path,
)
from integrations_dagster.connectors.http import HttpClient, RetryPolicy, TransientError
from integrations_dagster.connectors.woocommerce import mapping, settings, webhooks
from integrations_dagster.connectors.woocommerce import products
from integrations_dagster.connectors.woocommerce.order_writer import OrderWriter
from integrations_dagster.connectors.woocommerce.products import ProductExporter
from integrations_dagster.connectors.woocommerce.progress import ProgressExporter
from integrations_dagster.model import CanonicalRecord, StockLevel

API = "/wp-json/wc/v3"
PAGE_SIZE = 100
BATCH_SIZE = 100
# Rows a change sensor's tick asks for (newest first): enough for every record saved in one second
# by a bulk edit to be in the watermark's fingerprint, and still one small answer (``_fields``).
LATEST_PAGE = 100


@dataclass(frozen=True)
class Stream:
    """One paged collection: its path, fixed query parameters and the fields asked for (``_fields``)."""

    path: str
    params: dict[str, Any] = field(default_factory=dict)
    fields: tuple[str, ...] = ()

    def records(self, http: HttpClient) -> Iterator[dict]:
        """Every record, page by page, until ``X-WP-TotalPages`` is reached."""
        page = 1
        fixed = {**self.params, "_fields": ",".join(self.fields)} if self.fields else self.params
        while True:
            resp = http.request("GET", self.path, params={**fixed, "per_page": PAGE_SIZE, "page": page})
            yield from resp.json()
            if page >= int(resp.headers.get("X-WP-TotalPages") or 0):
                return
            page += 1


def _stamp(moment: datetime, up: bool = False) -> str:
    """UTC wall clock to the second; an upper bound rounds up so no second falls between windows."""
    utc = moment.astimezone(timezone.utc) if moment.tzinfo else moment
    if up and utc.microsecond:
        utc += timedelta(seconds=1)
    return utc.strftime("%Y-%m-%dT%H:%M:%S")


def _window_params(window: Window) -> dict[str, str]:
    params = {"dates_are_gmt": "true"}
    if window.since:
        params["modified_after"] = _stamp(window.since)
    if window.until:
        params["modified_before"] = _stamp(window.until, up=True)
    return params


def _error_message(body: Any) -> str:
    if isinstance(body, dict) and "message" in body:
        return f"{body.get('code', 'error')}: {body['message']}"
    return str(body)[:300]


class WooCommerceResource(ConnectorResource):
    """One WooCommerce shop; ``base_url`` is the site (``https://shop.example.com``)."""

    system: ClassVar[str] = "woocommerce"
    reads: ClassVar[frozenset[str]] = frozenset({"products", "orders", "order_status"})
    writes: ClassVar[frozenset[str]] = frozenset({"stock", "order_status", "products", "orders"})
    verifies: ClassVar[frozenset[str]] = frozenset({"stock"})
    ownable: ClassVar[dict[str, tuple[str, ...]]] = {"products": products.OWNABLE}
    secret_fields: ClassVar[tuple[str, ...]] = ("consumer_key", "consumer_secret", "webhook_secret")
    credential_sets: ClassVar[tuple[tuple[str, ...], ...]] = (("consumer_key", "consumer_secret"),)
    options_model: ClassVar[str] = "integrations_dagster.connectors.woocommerce.options:WooCommerceOptions"

    base_url: str
    consumer_key: str
    consumer_secret: str
    webhook_secret: str | None = None  # the secret of the shop's webhooks (verifies deliveries)
    timeout: float = 30
    read_concurrency: int = 8  # variation lists read at once (WooCommerce sets no rate limit)

    _http: HttpClient | None = PrivateAttr(default=None)

    @property
    def http(self) -> HttpClient:
        if self._http is None:
            root = self.base_url.rstrip("/")
            self._http = HttpClient(
                base_url=root if root.endswith(API) else root + API,
                auth=(self.consumer_key, self.consumer_secret), timeout=self.timeout,
                error_message=_error_message, retry=RetryPolicy(attempts=self.max_attempts),
            )
        return self._http

    # -- reader --------------------------------------------------------------------------------
    def test_connection(self) -> str:
        status = self.http.get("/system_status")
        env = status.get("environment", {})
        return f"WooCommerce {env.get('version', '?')} at {env.get('site_url', self.base_url)}, " \
               f"{settings.read(self.http).describe()}"

    def webhook_hint(self, headers: Mapping[str, str], body: bytes) -> WebhookHint | None:
        """A delivery signed with the webhook's secret (:mod:`.webhooks`)."""
        return webhooks.hint(headers, body, self.webhook_secret)

    def subscribe_webhooks(self, destination: str, entities: set[str]) -> str | None:
        """A webhook per topic for ``destination``, all signed with one new secret; earlier webhooks of
        the destination are deleted first (``force=true``: webhooks are not trashed) [doc:
        woocommerce/webhooks.md §Create a webhook, §Delete a webhook]."""
        for held in Stream("/webhooks").records(self.http):
            if held.get("delivery_url") == destination:
                self.http.request("DELETE", f"/webhooks/{held['id']}", params={"force": "true"}, expect=(404,))
        secret = secrets.token_urlsafe(32)
        for topic in webhooks.topics_for(entities):
            self.http.request("POST", "/webhooks", json={"name": f"integrations_dagster {topic}", "topic": topic,
                                                          "delivery_url": destination, "secret": secret})
        return secret

    def unsubscribe_webhooks(self, path: str) -> int:
        gone = [h for h in Stream("/webhooks").records(self.http) if to_receiver_path(h.get("delivery_url"), path)]
        for held in gone:
            self.http.request("DELETE", f"/webhooks/{held['id']}", params={"force": "true"}, expect=(404,))
        return len(gone)

    def prepare(self, entity: str, options: dict[str, Any]) -> dict[str, Any]:
        """The shop's currency, VAT convention and tax rates under the YAML's options (:mod:`.settings`)."""
        connection = options.get("connection", "shop")
        if entity == "orders":
            settings.check_statuses(self.http, options.get("statuses"), connection)
        return settings.settle(options, settings.read(self.http), connection)

    def read(self, entity: str, window: Window, options: dict[str, Any]) -> Iterator[dict]:
        dates = _window_params(window)
        if entity == "products":
            yield from self._with_variations(
                Stream("/products", {**dates, "orderby": "id", "order": "asc"},
                       _with(mapping.PRODUCT_FIELDS, options)))
        elif entity == "orders":
            statuses = ",".join(options.get("statuses", ["processing", "completed"]))
            stream = Stream("/orders", {**dates, "status": statuses, "orderby": "id", "order": "asc"},
                            _with(mapping.ORDER_FIELDS, options))
            yield from stream.records(self.http)
        elif entity == "order_status":  # what the shop did with its orders: shipped (completed) or cancelled
            yield from Stream("/orders", {**dates, "status": ",".join(mapping.PROGRESS_OF_STATUS), "orderby": "id",
                                          "order": "asc"}, mapping.PROGRESS_FIELDS).records(self.http)
        else:
            raise ValueError(f"WooCommerce cannot be read for {entity!r}")

    def _with_variations(self, stream: Stream) -> Iterator[dict]:
        """Products in order, each variable one with its ``_variations`` (one request per parent is
        WooCommerce's only way). The variation lists are read ``read_concurrency`` at a time, and
        while they are, the next page of products is read: a parent's list is asked for as soon as
        its page arrives, not after the previous page's last list came back (that wait, a page read
        plus the slowest list per page, was a fifth of a parallel full read in ``make bench``). At
        most two pages of products wait for their lists."""
        if self.read_concurrency <= 1:
            for raw in stream.records(self.http):
                if raw.get("type") == "variable":
                    raw["_variations"] = self._variation_list(raw["id"])
                yield raw
            return
        pool = ThreadPoolExecutor(max_workers=self.read_concurrency)
        waiting: deque[tuple[dict, Future | None]] = deque()
        try:
            for raw in stream.records(self.http):
                lists = pool.submit(self._variation_list, raw["id"]) if raw.get("type") == "variable" else None
                waiting.append((raw, lists))
                while waiting and (len(waiting) > 2 * PAGE_SIZE or waiting[0][1] is None or waiting[0][1].done()):
                    yield _attached(*waiting.popleft())
            while waiting:
                yield _attached(*waiting.popleft())
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # a reader stopped early leaves no request behind

    def _variation_list(self, product_id: int) -> list[dict]:
        return list(self._variations(product_id))

    def _variations(self, product_id: int) -> Iterator[dict]:
        return Stream(f"/products/{product_id}/variations", {"orderby": "id", "order": "asc"},
                      mapping.VARIATION_FIELDS).records(self.http)

    def latest_change(self, entity: str, since: Watermark | None) -> Watermark | None:
        """The newest ``date_modified`` from the watermark's second on, in one request.

        WooCommerce keeps dates to the second and ``modified_after`` is strict, so asking from the
        second *before* the watermark also returns records saved in the watermark's own second; the
        ids saved in the newest second are the watermark's ``fingerprint``, so a record saved in
        that second after the last tick is a change too (one saved twice in one second cannot be
        told apart: the schedule's overlap read catches it). A variation's edit moves its parent's
        date (module docstring), so products need no second question.
        """
        params: dict[str, Any] = {"per_page": LATEST_PAGE, "orderby": "modified", "order": "desc",
                                  "dates_are_gmt": "true", "_fields": "id,date_modified_gmt"}
        if since:
            params["modified_after"] = _stamp(since.at - timedelta(seconds=1))
        path = "/orders" if entity == "order_status" else f"/{entity}"
        rows = [r for r in self.http.request("GET", path, params=params).json() if r.get("date_modified_gmt")]
        if not rows:
            return None
        newest = max(r["date_modified_gmt"] for r in rows)
        at = datetime.fromisoformat(newest).replace(tzinfo=timezone.utc)
        ids = ",".join(sorted(str(r.get("id")) for r in rows if r["date_modified_gmt"] == newest))
        fingerprint = hashlib.sha256(ids.encode()).hexdigest()[:16]
        if since is None or at > since.at:
            return Watermark(at, fingerprint)
        if at < since.at.replace(microsecond=0) or fingerprint == since.fingerprint:
            return None
        # A watermark without a fingerprint (set before there was one) saw its whole second.
        return Watermark(at, fingerprint, new=bool(since.fingerprint))

    # -- mapper --------------------------------------------------------------------------------
    def to_canonical(self, entity: str, raw: dict, options: dict[str, Any],
                     notes: MapNotes | None = None) -> CanonicalRecord:
        if entity == "products":
            return mapping.product_to_canonical(raw, options, notes)
        if entity == "orders":
            return mapping.order_to_canonical(raw, options)
        if entity == "order_status":
            return mapping.progress_to_canonical(raw, str(options.get("connection") or "shop"))
        raise ValueError(f"WooCommerce has no mapping for {entity!r}")

    def raw_key(self, entity: str, raw: dict) -> str:
        return f"{'order' if entity == 'orders' else 'product'} {raw.get('id', '?')}"

    # -- exporter ------------------------------------------------------------------------------
    def plan(self, entity: str, changes: list[Change], ctx: WriteContext) -> dict[str, tuple[str, str]]:
        return ProductExporter(self.http, ctx).plan(changes) if entity == "products" else {}

    def write(self, entity: str, changes: list[Change], ctx: WriteContext) -> Iterator[Outcome]:
        """Stock levels: simple products and variations with their own stock through the batch
        endpoints; variations sharing their parent's pool (``manage_stock: "parent"``) as one
        quantity on the parent — never by switching them to stock of their own."""
        if entity == "order_status":
            yield from ProgressExporter(self.http, ctx).write(changes)
            return
        if entity == "products":
            yield from ProductExporter(self.http, ctx).write(changes)
            return
        if entity == "orders":
            yield from OrderWriter(self, ctx).write(changes)
            return
        if entity != "stock":
            raise ValueError(f"WooCommerce cannot be written for {entity!r}")
        skus = mapping.Skus(ctx.options)
        simple: list[StockItem] = []
        by_parent: dict[int, list[StockItem]] = {}
        index: dict[str, str] | None = None
        for change in changes:
            record = change.record
            if change.action == "delete" or not isinstance(record, StockLevel):
                yield Outcome(change.key, ok=True, action="skipped")
                continue
            if record.quantity != record.quantity.to_integral_value():
                yield Outcome(change.key, ok=False, action="failed",
                              error=f"quantity {record.quantity} of SKU {record.sku!r} is not a whole number")
                continue
            if abs(record.quantity) >= 2**63:  # WooCommerce keeps stock as a signed 64-bit number
                yield Outcome(change.key, ok=False, action="failed",
                              error=f"quantity {record.quantity} of SKU {record.sku!r} is beyond what WooCommerce keeps")
                continue
            target = ctx.binder.external_id("products", record.sku)
            if target is None:
                index = self._sku_index(skus) if index is None else index
                target = index.get(record.sku)
                if target is None:
                    # An ERP keeps articles a shop does not sell (materials, services, other channels):
                    # their stock has nowhere to go here, which is no failure of the record.
                    yield Outcome(change.key, ok=True, action="ignored",
                                  error=f"SKU {record.sku!r} is not in the shop: no stock to set")
                    continue
                parent, _, _ = target.partition("/")
                try:
                    ctx.binder.bind("products", record.sku, target, parent if "/" in target else None)
                except ValueError as exc:  # the id map holds that product for another SKU
                    yield Outcome(change.key, ok=False, action="failed", error=str(exc))
                    continue
            parent, _, child = target.partition("/")
            item = StockItem(change.key, target, int(child or parent), record.quantity)
            (by_parent.setdefault(int(parent), []) if child else simple).append(item)
        for start in range(0, len(simple), BATCH_SIZE):
            yield from self._send_stock("/products/batch", None, simple[start:start + BATCH_SIZE])
        for parent_id, items in by_parent.items():
            pool = self._pool(parent_id, skus)
            own = [i for i in items if i.item_id not in pool.members]
            for start in range(0, len(own), BATCH_SIZE):
                yield from self._send_stock(f"/products/{parent_id}/variations/batch", parent_id,
                                            own[start:start + BATCH_SIZE])
            pooled = [i for i in items if i.item_id in pool.members]
            if pooled:
                yield from self._send_pool(parent_id, pool, pooled, ctx)

    def verify(self, entity: str, records: list[CanonicalRecord], ctx: WriteContext) -> Iterator[Drift]:
        """Stock only (the one entity the shop is the target of): each level against the product or
        variation the writer would set, read in bulk; see :mod:`.verify`. Never writes."""
        from integrations_dagster.connectors.woocommerce import verify  # it reads through this module's Stream

        if entity != "stock":
            raise NotImplementedError(f"WooCommerce cannot verify {entity!r}: it is the target of stock only")
        return verify.stock_drift(self, records, ctx)

    def _pool(self, parent_id: int, skus: mapping.Skus) -> "Pool":
        """The variations of ``parent_id`` that share its stock (their keys as the ERP knows them)."""
        parent = self.http.get(f"/products/{parent_id}", _fields="id,sku,manage_stock")
        members: dict[int, str | None] = {}
        if parent.get("manage_stock") is True:
            stream = Stream(f"/products/{parent_id}/variations", {"orderby": "id", "order": "asc"},
                            ("id", "sku", "manage_stock"))
            for var in stream.records(self.http):
                if var.get("manage_stock") == "parent":
                    own = mapping.own_sku(var, mapping.own_sku(parent))
                    members[var["id"]] = own or (skus.generated(var["id"]) if skus.generate else None)
        return Pool(members)

    def _send_pool(self, parent_id: int, pool: "Pool", items: list["StockItem"], ctx: WriteContext) -> Iterator[Outcome]:
        """The pool is what the ERP counts on all its variations' articles together: this call's
        levels, else what the shop last accepted for the others (the snapshot), else none."""
        levels = {i.key: i.quantity for i in items}
        others = [k for k in pool.members.values() if k and k not in levels]
        accepted = ctx.accepted(others) if others else {}
        total = sum((levels.get(k) if k in levels else getattr(accepted.get(k), "quantity", Decimal(0))
                     for k in pool.members.values() if k), Decimal(0))
        self.http.request("PUT", f"/products/{parent_id}", json={"stock_quantity": int(total)})
        for item in items:
            yield Outcome(item.key, ok=True, action="updated", target_id=item.target)

    def _send_stock(self, path: str, parent_id: int | None, items: list["StockItem"]) -> Iterator[Outcome]:
        try:
            answer = self._post_batch(path, items)
        except TransientError:
            landed = self._current_stock(parent_id, [i.item_id for i in items])
            done = [i for i in items if landed.get(i.item_id) == int(i.quantity)]
            for key, target, _, _ in done:
                yield Outcome(key, ok=True, action="updated", target_id=target)
            items = [i for i in items if i not in done]
            if not items:
                return
            answer = self._post_batch(path, items)  # a second transient failure propagates
        for key, target, item_id, _ in items:
            result = answer.get(item_id)
            if result is None:
                yield Outcome(key, ok=False, action="failed", target_id=target, error="missing from batch answer")
            elif "error" in result:
                error = result["error"]
                yield Outcome(key, ok=False, action="failed", target_id=target,
                              error=f"{error.get('code')}: {error.get('message')}")
            else:
                yield Outcome(key, ok=True, action="updated", target_id=target)

    def _post_batch(self, path: str, items: list["StockItem"]) -> dict[int, dict]:
        body = {"update": [mapping.stock_update(item_id, qty) for _, _, item_id, qty in items]}
        answer = self.http.request("POST", path, json=body).json()
        return {r.get("id"): r for r in answer.get("update", [])}

    def _current_stock(self, parent_id: int | None, ids: list[int]) -> dict[int, int | None]:
        path = f"/products/{parent_id}/variations" if parent_id else "/products"
        stream = Stream(path, {"include": ",".join(map(str, ids)), "orderby": "id", "order": "asc"},
                        ("id", "manage_stock", "stock_quantity"))
        return {r["id"]: r.get("stock_quantity") for r in stream.records(self.http) if r.get("manage_stock")}

    def _sku_index(self, skus: mapping.Skus) -> dict[str, str]:
        """SKU -> ``"product"`` or ``"product/variation"`` for the whole shop (one pass, all statuses).
        A variation answering its parent's SKU has none of its own; with ``missing_sku: generate``
        the generated numbers are in the index too."""
        index: dict[str, str] = {}
        for raw in Stream("/products", {"orderby": "id", "order": "asc"}, ("id", "type", "sku")).records(self.http):
            own = mapping.own_sku(raw)
            if raw.get("type") == "variable":
                for var in self._variations(raw["id"]):
                    sku = mapping.own_sku(var, own) or (skus.generated(var["id"]) if skus.generate else None)
                    if sku:
                        index[sku] = mapping.variation_address(raw['id'], var['id'])
            elif own or skus.generate:  # a variable parent is no sellable unit: its own SKU is not indexed
                index[own or skus.generated(raw["id"])] = str(raw["id"])
        return index

    # -- re-send by key ------------------------------------------------------------------------
    def read_keys(self, entity: str, keys: list[str], options: dict[str, Any]) -> tuple[list[dict], dict[str, str]]:
        """Products by SKU (a variation's SKU answers its product), ``parent:<id>`` or the sync log's
        ``product <id>``; orders by the number the shop shows ("1234", "#1234"), ``<connection>:<id>`` or
        ``order <id>``. Records come as :meth:`read` yields them; see :mod:`.lookup` for the queries."""
        from integrations_dagster.connectors.woocommerce import lookup  # it reads through this module's Stream

        if entity == "products":
            return lookup.products(self, keys, options)
        if entity == "orders":
            return lookup.orders(self, keys, options)
        raise ValueError(f"WooCommerce cannot be read for {entity!r}")


class StockItem(NamedTuple):
    key: str
    target: str  # "product" or "product/variation"
    item_id: int  # the id written (the variation's for a variation)
    quantity: Decimal


@dataclass(frozen=True)
class Pool:
    """Variations sharing their parent's stock: variation id -> its key (SKU) in the flow, or None."""

    members: dict[int, str | None]


def _attached(raw: dict, lists: Future | None) -> dict:
    """A product with its variation list, once read (its reading's error, if any, raised here)."""
    if lists is not None:
        raw["_variations"] = lists.result()
    return raw


def _with(fields: tuple[str, ...], options: dict[str, Any]) -> tuple[str, ...]:
    """The fields a reader asks for (``_fields``) and those the flow's ``field_map`` reads as well."""
    return tuple(dict.fromkeys((*fields, *(options.get("extra_raw_fields") or ()))))
