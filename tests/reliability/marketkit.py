"""Shared helpers of the market suites (issue 15: the reliability suites on the hub plugs): the
integrations file of ``market`` on the two sandboxes, the merchant's and the buyers' hands (shop edits
over WooCommerce's REST API, purchases on Tradera through its sandbox's control route) and the test's
own reading of both systems (HTTP, never the code under test).

The integration, as ``tests/tradekit.py`` has it: the WooCommerce shop's products go into the hub
(``products_in``) and out to Tradera as shop items (``products_to_tradera``); Tradera's orders go into
the hub (``orders_from_tradera``) and out to the shop as paid orders (``orders_to_shop``); an order the
shop completes is marked shipped on Tradera (``shipped_to_tradera``). Here with fault-tolerant settings
(short timeouts, retries, op retries), Tradera's call quota off on both sides (the sandbox's ``limit: 0``
and a large ``quota_calls``), and the request results asked for after short waits.

The expected values are the test's: the shop's own records read over its REST API, the purchases the test
made (its ledger), and arithmetic written here:

* a published shop unit (a simple product's SKU, a published variation's own SKU) is one active Tradera
  shop item whose ``ownReferences`` name the SKU, listed at the shop's current price including VAT in
  whole kronor, half up (199.50 → 200), with the shop's stock (1 when the shop does not count it, never
  below 0);
* a purchase of ``quantity`` items at the listed ``price`` with a shipping option costing ``shipping`` is
  one Tradera order of ``quantity × price + shipping`` kronor, and exactly one shop order whose meta
  ``_integrations_order`` is ``tradera:<orderId>``, with that total, that SKU and quantity, paid
  (processing).
"""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import requests

from conftest import TRADERA_APP_ID, TRADERA_APP_KEY, TRADERA_PUBLIC_KEY, TRADERA_USER_ID, TRADERA_USER_TOKEN
from conftest import WOO_KEY, WOO_SECRET
from flowkit import stats, woo_get
from integrations_dagster import config
from integrations_dagster.build import build_definitions

MARKET_ENV = ("TRADERA_APP_KEY", "TRADERA_USER_TOKEN")  # besides crashkit.CHILD_ENV, for the killed children
META_KEY = "_integrations_order"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
PRODUCT_JOBS = ("market_products_in", "market_products_to_tradera")
ORDER_JOBS = ("market_orders_from_tradera", "market_orders_to_shop")
# Tradera's routes as the sandbox's stats name them
CREATE_ITEM = "POST /v4/listings/shop-items"
CREATE_VARIANT = "POST /v4/listings/shop-items/variant"
SHOP_ORDER_CREATE = "POST /wp-json/wc/v3/orders"

TEMPLATE = """
integrations:
  - name: market
    start_date: 2026-11-01
    connections:
      shop:
        system: woocommerce
        base_url: "{woo}"
        credentials: {{consumer_key: {{env: WOO_CONSUMER_KEY}}, consumer_secret: {{env: WOO_CONSUMER_SECRET}}}}
        options: {{currency: SEK, prices_include_tax: true, tax_rates: {{"": 25, "reduced-rate": 12}}}}
        settings: {{timeout: {timeout}, max_attempts: {attempts}}}
      hub:
        system: hub
      tradera:
        system: tradera
        base_url: "{tradera}"
        credentials: {{app_key: {{env: TRADERA_APP_KEY}}, user_token: {{env: TRADERA_USER_TOKEN}}}}
        settings: {{app_id: "{app_id}", public_key: "{public_key}", user_id: "{user_id}", quota_calls: {quota},
                   quota_reserve_for_orders: {reserve}, result_waits_s: {waits}, timeout: {timeout},
                   max_attempts: {attempts}, lost_answer_grace_s: {grace}}}
    flows:
      products_in: {{entity: products, source: shop, target: hub, op_retries: {retries}, op_retry_delay_s: 0.05}}
      products_to_tradera:
        entity: products
        source: hub
        target: tradera
        after: [products_in]
        op_retries: {retries}
        op_retry_delay_s: 0.05
        options: {listing}
      orders_from_tradera: {{entity: orders, source: tradera, target: hub, mode: create, op_retries: {retries},
                            op_retry_delay_s: 0.05}}
      orders_to_shop: {{entity: orders, source: hub, target: shop, mode: create, op_retries: {retries},
                       op_retry_delay_s: 0.05, options: {{origins: [tradera]}}}}
      shipped_to_tradera: {{entity: order_status, source: shop, target: tradera, op_retries: {retries},
                           op_retry_delay_s: 0.05}}
"""

# tradekit.LISTING: category 344482, new, Sweden, the short text, PostNord (12) 49 kr and pickup (8) free,
# Swish (4096) and bank transfer (4)
LISTING = {"category": 344482, "condition": "new", "region": "sweden", "description": "short",
           "shipping": [{"option": 12, "cost": 49}, {"option": 8, "cost": 0}], "payment_options": [4096, 4]}
SHIPPING_COST = {12: 49, 8: 0}
DEFAULT_EMAIL = "anna.svensson@example.se"  # the Tradera sandbox's default buyer


def integrations_file(tmp_path: Path, woo: str, tradera: str, *, listing: dict | None = None, timeout: float = 2.0,
                      attempts: int = 4, retries: int = 0, quota: int = 100_000, reserve: int = 30,
                      waits: tuple[float, ...] = (0.0, 0.2), grace: float = 900,
                      name: str = "integrations.yaml") -> Path:
    """The market integrations file on the two sandboxes, written to ``tmp_path``."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(TEMPLATE.format(
        woo=woo, tradera=tradera, app_id=TRADERA_APP_ID, public_key=TRADERA_PUBLIC_KEY, user_id=TRADERA_USER_ID,
        quota=quota, reserve=reserve, waits=json.dumps(list(waits)), timeout=timeout, attempts=attempts,
        retries=retries, listing=json.dumps(listing or LISTING), grace=grace)))
    return path


def definitions(tmp_path: Path, woo: str, tradera: str, **kw):
    return build_definitions(config.load(integrations_file(tmp_path, woo, tradera, **kw)))


def knobs(url: str, **values) -> dict:
    resp = requests.post(f"{url}/__sandbox__/knobs", json=values, timeout=10)
    resp.raise_for_status()
    return resp.json()


def krona(amount) -> int:
    """Whole kronor, half up (the test's own rounding: 259.50 → 260)."""
    return int(Decimal(str(amount)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def data_writes(*urls: str) -> Counter:
    """Writes the sandboxes served so far, by sandbox and route."""
    out = Counter()
    for url in urls:
        for route, n in stats(url)["requests"].items():
            if route.split(" ", 1)[0] in WRITE_METHODS:
                out[f"{url} {route}"] += n
    return out


def api_calls(url: str) -> int:
    """Every call the Tradera sandbox served on its API (``/v4``; the control routes are not counted)."""
    return sum(n for route, n in stats(url)["requests"].items() if route.split(" ", 1)[1].startswith("/v4/"))


# -- the two systems, as the merchant, the buyers and the test see them --------------------------------

class Market:
    """Both sandboxes over HTTP: WooCommerce's REST API (the merchant's hands and the test's reads),
    Tradera's control routes (buyers' purchases, the queue, the seller's items as stored) and its API
    with the seller's own credentials (an item listed by hand)."""

    def __init__(self, woo: str, tradera: str) -> None:
        self.woo, self.tradera = woo, tradera

    # WooCommerce
    def wc(self, method: str, path: str, body: dict | None = None, **params):
        resp = requests.request(method, f"{self.woo}/wp-json/wc/v3{path}", json=body, params=params or None,
                                auth=(WOO_KEY, WOO_SECRET), timeout=10)
        assert resp.status_code < 300, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json()

    def new_product(self, sku: str, name: str, price: str, stock: int | None = 10, **more) -> dict:
        """A simple product the merchant makes in the shop (published, stock counted unless ``None``)."""
        body = {"name": name, "type": "simple", "status": "publish", "sku": sku, "regular_price": price,
                "short_description": f"Kort om {name}", "description": f"<p>{name}</p>",
                "manage_stock": stock is not None, **more}
        if stock is not None:
            body["stock_quantity"] = stock
        return self.wc("POST", "/products", body)

    def new_variable(self, name: str, skus_prices: dict[str, str], stock: int = 5) -> dict:
        """A variable product with one attribute (Storlek) and a variation per SKU."""
        sizes = [sku.rsplit("-", 1)[-1] for sku in skus_prices]
        parent = self.wc("POST", "/products", {
            "name": name, "type": "variable", "status": "publish", "short_description": f"Kort om {name}",
            "attributes": [{"name": "Storlek", "variation": True, "visible": True, "options": sizes}]})
        for (sku, price), size in zip(skus_prices.items(), sizes):
            self.wc("POST", f"/products/{parent['id']}/variations", {
                "sku": sku, "regular_price": price, "manage_stock": True, "stock_quantity": stock,
                "attributes": [{"name": "Storlek", "option": size}]})
        return parent

    def product_by_sku(self, sku: str) -> dict:
        return next(p for p in woo_get(self.woo, "/products") if p["sku"] == sku)

    def edit(self, sku: str, **fields) -> dict:
        return self.wc("PUT", f"/products/{self.product_by_sku(sku)['id']}", fields)

    def shop_orders(self) -> list[dict]:
        return woo_get(self.woo, "/orders")

    def tradera_orders_in_shop(self) -> dict[str, list[dict]]:
        """``tradera:<orderId>`` -> the shop orders whose meta names it."""
        out: dict[str, list[dict]] = {}
        for order in self.shop_orders():
            for meta in order.get("meta_data") or []:
                if meta.get("key") == META_KEY and str(meta.get("value", "")).startswith("tradera:"):
                    out.setdefault(str(meta["value"]), []).append(order)
        return out

    # Tradera
    def control(self, method: str, path: str, body: dict | None = None):
        resp = requests.request(method, f"{self.tradera}/__sandbox__/tradera/{path}", json=body, timeout=10)
        assert resp.status_code < 300, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json()

    def settings(self, **values) -> dict:
        return self.control("POST", "settings", values)

    def quota_off(self) -> None:
        self.control("POST", "quota", {"limit": 0})

    def process(self) -> int:
        """Tradera's queue processed now, whatever its delay."""
        return self.control("POST", "process")["processed"]

    def stored_items(self) -> list[dict]:
        return self.control("GET", "items")

    def active_items(self) -> list[dict]:
        return [i for i in self.stored_items() if i.get("state") == "active"]

    def listed(self) -> dict[str, list[dict]]:
        """SKU (the item's own reference) -> every active shop item naming it."""
        out: dict[str, list[dict]] = {}
        for item in self.active_items():
            for ref in item.get("ownReferences") or []:
                out.setdefault(str(ref), []).append(item)
        return out

    def tradera_orders(self) -> list[dict]:
        return self.control("GET", "orders")

    def api(self, method: str, path: str, body: dict | None = None):
        """Tradera's API with the seller's own credentials (the seller working by hand)."""
        resp = requests.request(method, f"{self.tradera}{path}", json=body, timeout=10, headers={
            "X-App-Id": TRADERA_APP_ID, "X-App-Key": TRADERA_APP_KEY, "X-User-Id": TRADERA_USER_ID,
            "X-User-Token": TRADERA_USER_TOKEN})
        assert resp.status_code < 300, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json()


# -- the ledger: what the buyers did --------------------------------------------------------------------

@dataclass
class Purchase:
    order_id: int
    sku: str
    quantity: int
    price: int  # whole kronor, the item's listed price when bought
    shipping: int  # the shipping option's cost, whole kronor
    email: str | None

    @property
    def total(self) -> int:
        return self.quantity * self.price + self.shipping

    @property
    def key(self) -> str:
        return f"tradera:{self.order_id}"


@dataclass
class Ledger:
    purchases: list[Purchase] = field(default_factory=list)
    sold: Counter = field(default_factory=Counter)  # sku -> units bought on Tradera


def buy(market: Market, ledger: Ledger, sku: str, quantity: int = 1, *, option: int = 12, buyer: dict | None = None
        ) -> Purchase:
    """A buyer on Tradera buys ``quantity`` of the item listed for ``sku`` with shipping ``option``."""
    item = market.listed()[sku][0]
    body = {"itemId": item["itemId"], "quantity": quantity, "shippingOptionId": option}
    if buyer is not None:
        body["buyer"] = buyer
    order = market.control("POST", "buy", body)
    email = (buyer or {}).get("email", DEFAULT_EMAIL)
    made = Purchase(int(order["orderId"]), sku, quantity, int(item["price"]), SHIPPING_COST[option], email)
    ledger.purchases.append(made)
    ledger.sold[sku] += quantity
    return made


def buyer(n: int, *, email: bool = True) -> dict:
    """The n-th buyer (a Swedish address; ``email=False``: Tradera gives no e-mail for the buyer)."""
    return {"userId": 600000 + n, "firstName": f"Köpare{n}", "lastName": "Testsson",
            "email": f"kopare{n}@example.se" if email else None, "addressLine1": f"Gatan {n}",
            "zipCode": "11122", "city": "Stockholm", "countryName": "Sverige"}


# -- the test's reading of both systems ---------------------------------------------------------------

def shop_units(woo: str) -> dict[str, dict]:
    """SKU -> what Tradera must list for it: the shop's current price incl. VAT in whole kronor (half up)
    and its stock, of every published unit (a draft, or a draft variation, is for sale nowhere)."""
    out = {}
    for p in woo_get(woo, "/products"):
        if p["status"] != "publish":
            continue
        if p["type"] == "variable":
            for v in woo_get(woo, f"/products/{p['id']}/variations"):
                if v["status"] == "publish" and v["sku"]:
                    stock = v["stock_quantity"]
                    out[v["sku"]] = {"price": krona(v["price"]), "quantity": 1 if stock is None else max(stock, 0),
                                     "title": p["name"], "variant": True}
        elif p["type"] == "simple" and p["sku"]:
            stock = p["stock_quantity"]
            out[p["sku"]] = {"price": krona(p["price"]), "quantity": 1 if stock is None else max(stock, 0),
                             "title": p["name"], "variant": False}
    return out


def listing_problems(market: Market, units: dict[str, dict], *, exclude: set[str] = frozenset()
                     ) -> tuple[list[str], int]:
    """Every unit once among Tradera's active items at its price and quantity, no item the shop does not
    sell; (problems, duplicates). The queue is processed first: a create still queued is an item too."""
    market.process()
    listed = market.listed()
    problems, dupes = [], 0
    for sku, items in sorted(listed.items()):
        if len(items) > 1:
            dupes += len(items) - 1
            problems.append(f"{sku} is listed {len(items)} times on Tradera (items "
                            f"{', '.join(str(i['itemId']) for i in items)})")
        if sku not in units:
            problems.append(f"{sku}: listed on Tradera, but the shop sells no such unit")
    for sku, want in sorted(units.items()):
        if sku in exclude:
            continue
        items = listed.get(sku)
        if not items:
            problems.append(f"{sku}: lost — the shop sells it, Tradera does not list it")
            continue
        got = (items[0].get("price"), items[0].get("remainingQuantity"))
        if got != (want["price"], want["quantity"]):
            problems.append(f"{sku}: Tradera lists (price, quantity) {got}, the shop gives "
                            f"{(want['price'], want['quantity'])}")
    return problems, dupes


def order_problems(market: Market, ledger: Ledger, statuses: dict[str, str] | None = None
                   ) -> tuple[list[str], int]:
    """Every purchase exactly one shop order (meta ``tradera:<orderId>``) for quantity × price + shipping,
    with its SKU and quantity, paid (processing, or the status ``statuses`` gives the order the shop moved
    on); no shop order naming a Tradera order nobody made; (problems, duplicates)."""
    in_shop = market.tradera_orders_in_shop()
    made = {p.key: p for p in ledger.purchases}
    problems, dupes = [], 0
    tradera = {f"tradera:{o['orderId']}": o for o in market.tradera_orders()}
    for key, orders in sorted(in_shop.items()):
        if len(orders) > 1:
            dupes += len(orders) - 1
            problems.append(f"{key} is {len(orders)} shop orders ({', '.join(str(o['id']) for o in orders)})")
        if key not in made:
            problems.append(f"{key}: a shop order, but no buyer made that Tradera order")
    for key, p in sorted(made.items()):
        orders = in_shop.get(key)
        if not orders:
            problems.append(f"{key} ({p.quantity} × {p.sku}): lost — not in the shop")
            continue
        order = orders[0]
        sold = tradera.get(key)
        if sold is not None and sold["subTotal"] + sold["shippingCost"] != p.total:
            problems.append(f"{key}: Tradera's order is {sold['subTotal']} + {sold['shippingCost']}, the buyer paid "
                            f"{p.total}")
        if Decimal(order["total"]) != p.total:
            problems.append(f"{key}: the shop's order {order['id']} totals {order['total']}, the buyer paid "
                            f"{p.quantity} × {p.price} + {p.shipping} = {p.total} kr")
        lines = Counter()
        for li in order["line_items"]:
            lines[li["sku"]] += int(li["quantity"])
        if lines != Counter({p.sku: p.quantity}):
            problems.append(f"{key}: the shop's lines {dict(lines)}, the buyer bought {p.quantity} × {p.sku}")
        want = (statuses or {}).get(key, "processing")
        if order["status"] != want:
            problems.append(f"{key}: the shop's order is {order['status']!r}, not {want!r}")
    return problems, dupes
