"""Fortnox connector: stock source, product (article + price list) and order/invoice target.

Lookups that make writes idempotent rely on the list filters the OpenAPI document declares:
``/3/orders`` and ``/3/invoices`` take ``externalinvoicereference1`` (we store the canonical order key
there), ``/3/customers`` takes ``email`` and ``customernumber``. Filter matching semantics are not
documented, so every hit is re-checked for an exact match here. ``/3/articles`` cannot be sorted by
modification time (its ``sortby`` enum has no such value), articles carry no timestamp and
``lastmodified`` counts in whole minutes, so ``latest_change`` fingerprints the list rows changed
from the watermark's minute on (the rows carry ``QuantityInStock``): the same rows found again ask
for no run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Callable, ClassVar, Iterator, TypeVar
from urllib.parse import quote

from pydantic import PrivateAttr

from integrations_dagster.connectors.base import (
    Change, ConnectorResource, Drift, MapNotes, Outcome, Watermark, Window, WriteContext,
)
from integrations_dagster.connectors.fortnox import documents, mapping, progress
from integrations_dagster.connectors.http import ApiError, BearerAuth, HttpClient, RateLimiter, RetryPolicy, TransientError
from integrations_dagster.connectors.oauth import RotatingToken
from integrations_dagster.model import CanonicalRecord, Customer, Order, Product
from integrations_dagster.model.product import SellableUnit
from integrations_dagster.model.text import shown
from integrations_dagster.state.resource import open_store

T = TypeVar("T")
CREATE_ATTEMPTS = 4  # a POST answered 5xx is looked up, then sent again, at most this often
MODES = ("create", "update", "both")


@dataclass(frozen=True)
class ListStream:
    """A Fortnox list endpoint: ``{key: [...], "MetaInformation": {"@TotalPages", ...}}``."""

    path: str
    key: str


STREAMS = {
    "articles": ListStream("/3/articles", "Articles"),
    "customers": ListStream("/3/customers", "Customers"),
    "orders": ListStream("/3/orders", "Orders"),
    "invoices": ListStream("/3/invoices", "Invoices"),
}
DOCUMENTS = {"order": ("orders", "Order"), "invoice": ("invoices", "Invoice")}


class Refused(Exception):
    """A change the connector will not send (its reason is shown in the sync log)."""


def error_message(body: Any) -> str:
    """One line from ``ErrorInformation`` (recorded traffic spells a refusal in lowercase, a 404 in
    capitals) or from the gateway's ``{"message": "unauthorized"}`` (an expired token) [rec]."""
    info = body.get("ErrorInformation") if isinstance(body, dict) else None
    if not isinstance(info, dict):
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            return body["message"]
        return str(body)[:300]
    message = info.get("message", info.get("Message", ""))
    code = info.get("code", info.get("Code"))
    return f"{message} (code {code})" if code is not None else str(message)


class FortnoxResource(ConnectorResource):
    system: ClassVar[str] = "fortnox"
    reads: ClassVar[frozenset[str]] = frozenset({"stock", "products", "order_status"})
    writes: ClassVar[frozenset[str]] = frozenset({"products", "orders"})
    verifies: ClassVar[frozenset[str]] = frozenset({"products", "orders"})
    ownable: ClassVar[dict[str, tuple[str, ...]]] = {"products": tuple(mapping.OWNABLE)}
    options_model: ClassVar[str] = "integrations_dagster.connectors.fortnox.options:FortnoxOptions"
    secret_fields: ClassVar[tuple[str, ...]] = ("client_id", "client_secret", "refresh_token", "access_token")
    # OAuth2 (Fortnox's only way since 2025-04-30), or an access token obtained elsewhere (expires in an hour)
    credential_sets: ClassVar[tuple[tuple[str, ...], ...]] = (("client_id", "client_secret", "refresh_token"),
                                                              ("access_token",))

    base_url: str = "https://api.fortnox.se"
    auth_url: str = "https://apps.fortnox.se/oauth-v1"  # the token endpoint's base (a sandbox serves both)
    client_id: str | None = None
    client_secret: str | None = None
    refresh_token: str | None = None  # the first one; the rotated ones live in the state store
    access_token: str | None = None
    price_list: str = "A"
    # The company's VAT rates (Fortnox's defaults; add any the company has set up, e.g. OSS rates).
    vat_rates: list[float] = [25, 12, 6, 0]
    rounding_account: int = documents.ROUNDING_ACCOUNT  # öre differences of orders (BAS 3740)
    shipping_account: int | None = None  # shipping rows; None: the predefined sales account of the rate
    fee_account: int | None = None  # fee rows; None: likewise
    rate_limit: int = 25  # Fortnox: 25 requests per 5 s sliding window per token
    rate_window_s: float = 5.0
    timeout: float = 30

    _http: HttpClient | None = PrivateAttr(default=None)
    _token: RotatingToken | None = PrivateAttr(default=None)

    # -- adapter -------------------------------------------------------------------------------
    def http(self) -> HttpClient:
        if self._http is None:
            token = self.tokens()
            self._http = HttpClient(
                base_url=self.base_url, auth=BearerAuth(token.current if token else lambda: self.access_token or ""),
                timeout=self.timeout,
                limiter=RateLimiter(self.rate_limit, self.rate_window_s) if self.rate_limit else None,
                error_message=error_message, retry=RetryPolicy(attempts=self.max_attempts),
                on_unauthorized=self._renew_token if token else None,
            )
        return self._http

    def tokens(self) -> RotatingToken | None:
        """The OAuth2 token chain of this connection (None with a bare access token)."""
        if self._token is None and self.client_id and self.client_secret and self.refresh_token:
            self._token = RotatingToken(f"{self.auth_url.rstrip('/')}/token", self.client_id, self.client_secret,
                                        self.refresh_token, open_store(), timeout=self.timeout)
        return self._token

    def _renew_token(self) -> bool:
        """The API refused the token: get a new one (unless another process just did) and say so."""
        token = self.tokens()
        assert token is not None
        token.refused()
        return True

    def _get(self, path: str) -> dict | None:
        """GET one resource; None when Fortnox answers 404."""
        resp = self.http().request("GET", path, expect=(404,))
        return None if resp.status_code == 404 else resp.json()

    def _list(self, stream: str, **params: Any) -> Iterator[dict]:
        spec, page = STREAMS[stream], 1
        while True:
            body = self.http().get(spec.path, **params, page=page)
            yield from body.get(spec.key) or []
            if page >= int(body.get("MetaInformation", {}).get("@TotalPages") or 1):
                return
            page += 1

    def _create(self, path: str, body: dict, extract: Callable[[dict], T], lookup: Callable[[], T | None]) -> T:
        """POST; when the answer is lost (5xx, timeout) the record may exist, so look before resending."""
        attempt = 1
        while True:
            try:
                return extract(self.http().request("POST", path, json=body).json())
            except TransientError:
                found = lookup()
                if found is not None:
                    return found
                if attempt >= CREATE_ATTEMPTS:
                    raise
                attempt += 1

    def test_connection(self) -> str:
        info = self.http().get("/3/companyinformation")["CompanyInformation"]
        return f"Fortnox: {info.get('CompanyName')} ({info.get('OrganizationNumber')})"

    # -- reader / mapper -----------------------------------------------------------------------
    def read(self, entity: str, window: Window, options: dict[str, Any]) -> Iterator[dict]:
        """Articles changed since ``window.since``; Fortnox has no upper bound, so ``until`` is not applied.
        For products each comes with its price in the connection's price list (and in ``sale_price_list``)
        [spec: openapi Prices GET /3/prices/{PriceList}/{ArticleNumber}] — a price change does not move
        the article's ``lastmodified``, so a price flow's full read (its reconcile) is what finds one."""
        if entity not in self.reads:
            raise ValueError(f"Fortnox is not a source of {entity!r}")
        if entity == "order_status":  # the invoices and orders changed: see :mod:`.progress`
            since = mapping.fortnox_time(window.since) if window.since is not None else None
            yield from progress.changed_documents(self._list, since)
            return
        params: dict[str, Any] = {"limit": 500}
        if window.since is not None:
            params["lastmodified"] = mapping.fortnox_time(window.since)
        fetched_at = datetime.now(UTC).isoformat()
        for item in self._list("articles", **params):
            if "QuantityInStock" not in item:
                item = (self._get(f"/3/articles/{quote(item['ArticleNumber'], safe='')}") or {}).get("Article", item)
            if entity == "products":
                yield {**item, **self._prices(item["ArticleNumber"], options)}
                continue
            # Articles carry no modification time: the read time is the level's freshness token.
            yield {**item, "_fetched_at": fetched_at}

    def _prices(self, number: str, options: dict[str, Any]) -> dict[str, Any]:
        """``_price`` / ``_sale_price``: the article's prices (from quantity 0) in the two lists, or None."""
        out: dict[str, Any] = {}
        regular = options.get("price_list") or self.price_list  # a flow's own list (multishop), else the connection's
        for field, code in (("_price", regular), ("_sale_price", options.get("sale_price_list"))):
            if code:
                found = self._get(f"/3/prices/{quote(str(code), safe='')}/{quote(number, safe='')}/0")
                out[field] = (found or {}).get("Price", {}).get("Price")
        return out

    def latest_change(self, entity: str, since: Watermark | None) -> Watermark | None:
        if entity not in self.reads:
            return None
        # The current minute is read first: a change landing between the two reads is then seen
        # by both or by the second, never by neither.
        minute = datetime.now(UTC).replace(second=0, microsecond=0)
        streams = ("invoices", "orders") if entity == "order_status" else ("articles",)
        current = self._changed_from(minute, streams)
        if since is None:
            return Watermark(minute, current)
        if since.at.replace(second=0, microsecond=0) == minute:
            return Watermark(minute, current, new=current != since.fingerprint)
        earlier = self._changed_from(since.at, streams)
        return Watermark(minute, current, new=earlier != since.fingerprint)

    def _changed_from(self, moment: datetime, streams: tuple[str, ...]) -> str:
        """A fingerprint of the list rows changed from ``moment``'s minute on (one request per list;
        500 rows is Fortnox's largest page - more changes in one minute are caught by the schedule)."""
        parts = []
        for stream in streams:
            spec = STREAMS[stream]
            body = self.http().get(spec.path, lastmodified=mapping.fortnox_time(moment), limit=500)
            rows = sorted(({k: v for k, v in row.items() if k != "@url"} for row in body.get(spec.key) or []),
                          key=lambda row: str(row.get("ArticleNumber") or row.get("DocumentNumber")))
            parts.append([body.get("MetaInformation", {}).get("@TotalResources", len(rows)), rows])
        blob = json.dumps(parts if len(parts) > 1 else parts[0], sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def to_canonical(self, entity: str, raw: dict, options: dict[str, Any],
                     notes: MapNotes | None = None) -> CanonicalRecord:
        if entity == "products":
            return mapping.product_from_article(raw, bool(options.get("price_list_includes_vat", False)))
        if entity == "order_status":
            return progress.progress(raw)
        if entity != "stock":
            raise ValueError(f"Fortnox is not a source of {entity!r}")
        return mapping.stock_level(raw, options.get("location", "default"), raw.get("_fetched_at"))

    def raw_key(self, entity: str, raw: dict) -> str:
        if entity == "order_status":
            return str(raw.get("ExternalInvoiceReference1") or f"document {raw.get('DocumentNumber', '?')}")
        return str(raw.get("ArticleNumber", "?"))

    def raw_id(self, entity: str, raw: dict) -> str | None:
        if entity == "order_status":
            return str(raw["DocumentNumber"]) if raw.get("DocumentNumber") is not None else None
        return str(raw["ArticleNumber"]) if raw.get("ArticleNumber") is not None else None

    # -- exporter ------------------------------------------------------------------------------
    def write(self, entity: str, changes: list[Change], ctx: WriteContext) -> Iterator[Outcome]:
        if entity == "products":
            mode = ctx.options.get("mode", "both")
            if mode not in MODES:
                raise ValueError(f"mode {mode!r} is not one of {', '.join(MODES)}")
            index = _ArticleIndex(self, _unbound_skus(changes, ctx))
            for change in changes:
                yield self._write_product(change, ctx, mode, index)
        elif entity == "orders":
            kind = ctx.options.get("document", "order")
            if kind not in DOCUMENTS:
                raise ValueError(f"document {kind!r} is not one of {', '.join(DOCUMENTS)}")
            articles: dict[str, str | None] = {}  # SKU -> article number, per run
            for change in changes:
                if not isinstance(change.record, Order):
                    yield Outcome(change.key, ok=True, action="skipped", error="orders are not deleted in Fortnox")
                    continue
                yield self._write_order(change.record, ctx, kind, articles)
        else:
            raise ValueError(f"Fortnox is not a target of {entity!r}")

    def verify(self, entity: str, records: list[CanonicalRecord], ctx: WriteContext) -> Iterator[Drift]:
        """Articles (listed in bulk) and the bound orders or invoices against ``records``: see :mod:`.verify`."""
        from integrations_dagster.connectors.fortnox import verify

        return verify.verify(self, entity, records, ctx)

    # products ---------------------------------------------------------------------------------
    def _write_product(self, change: Change, ctx: WriteContext, mode: str, index: "_ArticleIndex") -> Outcome:
        product = change.record
        if not isinstance(product, Product):
            return Outcome(change.key, ok=True, action="skipped", error="articles are not deleted in Fortnox")
        previous = {u.sku: u for u in change.previous.sellable_units()} if isinstance(change.previous, Product) else {}
        bindings: dict[str, tuple[str, str | None]] = {}
        actions: list[str] = []
        warnings: list[str] = []
        for unit in product.sellable_units():
            bound = ctx.binder.external_id("products", unit.sku)
            try:
                if bound and previous.get(unit.sku) == unit:
                    action, number = "skipped", bound
                else:
                    action, number = self._upsert_article(unit, bound, ctx, mode, index, previous.get(unit.sku),
                                                          warnings)
            except TransientError:
                raise  # not the record's fault: the run gives up and the record is read again
            except (Refused, ValueError, ApiError) as exc:
                said, name = str(exc), f"SKU {shown(unit.sku)}"  # (the mapping's reasons name it already)
                return Outcome(change.key, ok=False, action="failed",
                               error=said if said.startswith(name) else f"{name}: {said}",
                               bindings=bindings)
            bindings[unit.sku] = (number, unit.parent_key)
            actions.append(action)
        action = next((a for a in ("created", "updated", "linked") if a in actions), "skipped")
        target = bindings.get(product.sku or "", (None, None))[0] if product.kind == "simple" else None
        return Outcome(change.key, ok=True, action=action, target_id=target, bindings=bindings,
                       warnings=tuple(warnings))

    def _upsert_article(self, unit: SellableUnit, bound: str | None, ctx: WriteContext, mode: str,
                        index: "_ArticleIndex", prev: SellableUnit | None, warnings: list[str]) -> tuple[str, str]:
        """Create the unit's article, or write the fields the flow owns to the one Fortnox has."""
        problem = mapping.article_number_problem(unit.sku)
        if problem:
            raise Refused(problem)
        full, notes = mapping.article_payload(unit)
        warnings.extend(notes)
        payload = mapping.owned(full, ctx.owns)
        includes_vat = bool(ctx.options.get("price_list_includes_vat", False))
        price = mapping.list_price(unit, includes_vat) if ctx.owned("price") else None
        number, existing = bound, None
        if number is None:
            found = index.find(unit.sku)
            if found is not None:
                existing, number = found["Article"], found["Article"]["ArticleNumber"]
                ctx.binder.bind("products", unit.sku, number)
        if number is not None and mode == "create":
            return "linked", number
        if number is not None:
            if existing is None:  # bound: write straight away, only the parts that changed since the snapshot
                same_article, same_price = _unchanged_parts(prev, payload, price, includes_vat, ctx)
                if same_article and same_price:
                    return "skipped", number  # e.g. only the shop's stock moved: the ERP owns stock
                if same_article and price is not None:
                    if self._put_price(number, price):
                        return "updated", number
                    # no price row (or no article any more): write both below
                resp = self.http().request("PUT", self._article_path(number), json={"Article": payload}, expect=(404,))
                wrote = resp.status_code != 404
                if wrote and same_price:
                    return "updated", number
            else:
                wrote = mapping.differs(payload, existing)
                if wrote:
                    self.http().request("PUT", self._article_path(number), json={"Article": payload})
            if wrote or existing is not None:
                wrote = self._set_price(number, price, check_first=existing is not None) or wrote
                return ("updated" if wrote else "linked"), number
            # bound, but gone from Fortnox: create it again below
        if mode == "update":
            raise Refused("not in Fortnox and mode is update")
        # A new article starts with the source's stock, so that a stock flow back to the source
        # does not zero it; after that the ERP owns the stock.
        created = {**mapping.CREATE_ONLY, **full}  # a new article: every mapped field, owned or not
        if unit.stock_quantity is not None:
            created["QuantityInStock"] = mapping.amount(unit.stock_quantity)
        number = self._create("/3/articles", {"Article": {"ArticleNumber": unit.sku, **created}},
                              lambda body: body["Article"]["ArticleNumber"],
                              lambda: unit.sku if self._get(self._article_path(unit.sku)) else None)
        ctx.binder.bind("products", unit.sku, number)
        self._set_price(number, mapping.list_price(unit, includes_vat), check_first=False, new_article=True)
        return "created", number

    @staticmethod
    def _article_path(number: str) -> str:
        return f"/3/articles/{quote(number, safe='')}"

    def _price_path(self, number: str) -> str:
        return f"/3/prices/{quote(self.price_list, safe='')}/{quote(number, safe='')}/0"

    def _put_price(self, number: str, price: Decimal) -> bool:
        """PUT the price row; False when Fortnox has no such row (404)."""
        resp = self.http().request("PUT", self._price_path(number), json={"Price": {"Price": mapping.amount(price)}},
                                   expect=(404,))
        return resp.status_code != 404

    def _set_price(self, number: str, price: Decimal | None, *, check_first: bool, new_article: bool = False) -> bool:
        """Make price list ``price_list`` hold ``price`` from quantity 0; True when something was written.

        For an article this run just created there is no row to update: POST straight away (and PUT
        only if Fortnox says the row already exists, e.g. one made with the article).
        """
        if price is None:
            return False
        path = self._price_path(number)
        body = {"Price": {"Price": mapping.amount(price)}}
        if new_article:
            create = {"Price": {"ArticleNumber": number, "PriceList": self.price_list, "FromQuantity": 0,
                                "Price": mapping.amount(price)}}
            try:
                self._create("/3/prices", create, lambda _body: number,
                             lambda: number if self._get(path) is not None else None)
            except TransientError:
                raise
            except ApiError:
                if not self._put_price(number, price):
                    raise
            return True
        if check_first:
            current = self._get(path)
            if current is not None and Decimal(str(current["Price"].get("Price"))) == price:
                return False
            status = 404 if current is None else self.http().request("PUT", path, json=body).status_code
        else:
            status = self.http().request("PUT", path, json=body, expect=(404,)).status_code
        if status == 404:
            create = {"Price": {"ArticleNumber": number, "PriceList": self.price_list, "FromQuantity": 0,
                                "Price": mapping.amount(price)}}
            self._create("/3/prices", create, lambda _body: number,
                         lambda: number if self._get(path) is not None else None)
        return True

    # orders -----------------------------------------------------------------------------------
    def _write_order(self, order: Order, ctx: WriteContext, kind: str, articles: dict[str, str | None]) -> Outcome:
        key = order.key
        collection_entity = DOCUMENTS[kind][0]  # orders and invoices are bound apart in the id map
        known = ctx.binder.external_id(collection_entity, key)
        if known:
            return Outcome(key, ok=True, action="skipped", target_id=known, target_entity=collection_entity)
        collection, wrapper = DOCUMENTS[kind]
        try:
            found = self._find_document(collection, key)
            if found:
                return Outcome(key, ok=True, action="linked", target_id=found, target_entity=collection_entity)
            documents.check_rates(order, self.company_vat_rates())
            customer = self._customer_number(order, ctx)
            vat_included = ctx.options.get("vat_included")
            included = order.prices_include_vat if vat_included is None else bool(vat_included)
            rows, warnings = self._rows(order, ctx, articles, included)
            payload = mapping.document_payload(order, kind, customer, rows, included)
            # Multishop: each shop's documents carry its result unit (seed 002; Fortnox's document fields
            # CostCenter and Project [spec: openapi Order / Invoice]).
            units = {"CostCenter": ctx.options.get("cost_center"), "Project": ctx.options.get("project")}
            payload.update({field: str(value) for field, value in units.items() if value})
            number, doc = self._create(STREAMS[collection].path, {wrapper: payload},
                                       lambda body: (body[wrapper]["DocumentNumber"], body[wrapper]),
                                       lambda: _found(self._find_document(collection, key)))
        except TransientError:
            raise  # not the order's fault: the run gives up and the order is read again
        except (Refused, ValueError, ApiError) as exc:  # documents.Refused is a ValueError
            return Outcome(key, ok=False, action="failed", error=str(exc))
        if doc is None:  # the answer was lost and the document found: read what Fortnox computed
            doc = (self._get(f"{STREAMS[collection].path}/{quote(number, safe='')}") or {}).get(wrapper, {})
        if differs := documents.totals_differ(doc, order):
            warnings.append(differs)
        return Outcome(key, ok=True, action="created", target_id=number, target_entity=collection_entity,
                       bindings={order.customer.key: (customer, None)}, binding_entity="customers",
                       warnings=tuple(warnings))

    def company_vat_rates(self) -> tuple[Decimal, ...]:
        return tuple(Decimal(str(r)) for r in self.vat_rates)

    def _rows(self, order: Order, ctx: WriteContext, articles: dict[str, str | None],
              included: bool) -> tuple[list[documents.Row], list[str]]:
        """The document's rows (see :mod:`.documents`) and warnings for the sync log."""
        rows: list[documents.Row] = []
        warnings: list[str] = []
        refuse = ctx.options.get("lines_without_article", "row") == "refuse"
        for n, line in enumerate(order.lines, start=1):
            description, cut = mapping.text(line.name, mapping.ROW_DESCRIPTION_MAX, f"line {n}: the description")
            if cut:
                warnings.append(cut)
            article, account = None, None
            if line.kind == "item":
                article = self._line_article(line, ctx, articles)
                if article is None:
                    why = (f"line {n} {description[:60]!r}: " + (f"SKU {shown(line.sku)} is not an article in Fortnox"
                                                                   if line.sku else "it has no SKU"))
                    if refuse:
                        raise Refused(why + " (lines_without_article: refuse)")
                    warnings.append(why + "; booked as a row without article")
            elif line.kind == "shipping":
                account = self.shipping_account
            elif line.kind == "fee":
                account = self.fee_account
            else:
                account = self.rounding_account
            rows += documents.line_rows(line, description or line.kind, article, included, account)
        return documents.balance(rows, order, included, self.rounding_account), warnings

    def _line_article(self, line, ctx: WriteContext, articles: dict[str, str | None]) -> str | None:
        """The Fortnox article of an order line: by the shop's id of what was sold (the products flow
        bound it: a variation without SKU of its own answers its parent's on an order line), else by
        its SKU in the id map, else by asking Fortnox (once per SKU and write call)."""
        if line.source_product_id:
            key = ctx.source_binder.key_for("products", line.source_product_id)
            number = ctx.binder.external_id("products", key) if key else None
            if number:
                return number
        if not line.sku:
            return None
        number = ctx.binder.external_id("products", line.sku)
        if number is None:
            if line.sku not in articles:
                found = None if mapping.article_number_problem(line.sku) else self._get(self._article_path(line.sku))
                articles[line.sku] = found["Article"]["ArticleNumber"] if found else None
            number = articles[line.sku]
        return number

    def _find_document(self, collection: str, key: str) -> str | None:
        for item in self._list(collection, externalinvoicereference1=key):
            if item.get("ExternalInvoiceReference1") == key:
                return item["DocumentNumber"]
        return None

    def _customer_number(self, order: Order, ctx: WriteContext) -> str:
        customer = order.customer
        match = tuple(ctx.options.get("match_customers_by") or ("email", "customer_number"))
        number = ctx.binder.external_id("customers", customer.key) or self._find_customer(customer, match)
        if number is None:
            own = (f"{ctx.options.get('customer_number_prefix') or ''}{customer.source_id}"
                   if ctx.options.get("customer_numbers") == "shop" and customer.source_id else None)
            payload = mapping.customer_payload(customer, order.billing, own)
            number = self._create("/3/customers", {"Customer": payload},
                                  lambda body: body["Customer"]["CustomerNumber"],
                                  lambda: self._find_customer(customer, ("customer_number",) if own else match,
                                                              name=payload["Name"], number=own))
        ctx.binder.bind("customers", customer.key, number)
        return number

    def _find_customer(self, customer: Customer, match: tuple[str, ...] = ("email", "customer_number"),
                       name: str | None = None, number: str | None = None) -> str | None:
        """By the ways ``match`` lists, in order (e-mail, organisation number, customer number); by name
        only to recover a create whose answer was lost."""
        ways = {"email": ("email", "Email", customer.email),
                "org_number": ("organisationnumber", "OrganisationNumber", customer.org_number),
                "customer_number": ("customernumber", "CustomerNumber", number or customer.customer_number)}
        tries = [ways[w] for w in match if w in ways and ways[w][2]] + ([("name", "Name", name)] if name else [])
        for param, field, value in tries:
            for item in self._list("customers", **{param: value}):
                if str(item.get(field, "")).strip().lower() == str(value).strip().lower():
                    return item["CustomerNumber"]
        return None

    # -- re-send by key ------------------------------------------------------------------------
    def read_keys(self, entity: str, keys: list[str], options: dict[str, Any]) -> tuple[list[dict], dict[str, str]]:
        """Stock levels by article number (``<number>@<location>`` too, as ``StockLevel.key`` spells
        it off the default location): one quoted ``GET /3/articles/{number}`` each, see :mod:`.lookup`."""
        from integrations_dagster.connectors.fortnox import lookup

        if entity != "stock":
            raise ValueError(f"Fortnox is not a source of {entity!r}")
        return lookup.stock(self, keys, options)


def _found(number: str | None) -> tuple[str, None] | None:
    return (number, None) if number is not None else None


# -- article lookups for product writes ------------------------------------------------------------

def _unbound_skus(changes: list[Change], ctx: WriteContext) -> int:
    """How many SKUs of this write call the id map does not know (each needs a lookup before a create)."""
    return sum(1 for c in changes if isinstance(c.record, Product)
               for u in c.record.sellable_units() if ctx.binder.external_id("products", u.sku) is None)


def _unchanged_parts(prev: SellableUnit | None, payload: dict[str, Any], price: Decimal | None,
                     includes_vat: bool, ctx: WriteContext) -> tuple[bool, bool]:
    """Whether the owned article fields and the list price are what the target last accepted (the snapshot)."""
    if prev is None:
        return False, False
    same_price = price is None or mapping.list_price(prev, includes_vat) == price
    try:
        old_payload, _ = mapping.article_payload(prev)
    except ValueError:
        return False, same_price
    return mapping.owned(old_payload, ctx.owns) == payload, same_price


class _ArticleIndex:
    """The article numbers Fortnox has, listed once per write call (500 a page) when that is cheaper
    than one ``GET /3/articles/{sku}`` per SKU the id map does not know.

    Only an article the index has is fetched (to compare and link it); one it lacks is created
    straight away. The create still recovers a lost answer by looking the SKU up before resending.
    """

    PAGE = 500

    def __init__(self, fx: FortnoxResource, unbound: int) -> None:
        self.fx, self.unbound = fx, unbound
        self.numbers: set[str] | None = None

    def find(self, sku: str) -> dict | None:
        if self.numbers is None and self.unbound > 1:
            self.numbers = self._list()
            if self.numbers is None:
                self.unbound = 0  # too many pages for this call: one GET per SKU is cheaper
        if self.numbers is not None and sku.casefold() not in self.numbers:
            return None
        return self.fx._get(self.fx._article_path(sku))

    def _list(self) -> set[str] | None:
        numbers: set[str] = set()
        page, pages = 1, 1
        while page <= pages:
            body = self.fx.http().get(STREAMS["articles"].path, limit=self.PAGE, page=page)
            pages = int(body.get("MetaInformation", {}).get("@TotalPages") or 1)
            if pages > self.unbound:
                return None
            numbers.update(str(a.get("ArticleNumber", "")).casefold() for a in body.get("Articles") or [])
            page += 1
        return numbers
