"""Shared helpers of the kasse suites (Rackbeat ⇄ Shopbox, seed 003): the integrations file on the two
sandboxes, the merchant's hands on both systems (till sales, products, stock counts — over HTTP), and
the test's own reading of both (HTTP, never the code under test).

The expected values are the test's ledger: what it rang up at the tills (øre including 25 % VAT), the
counts it set in Rackbeat, the products it made on either side and their prices. Arithmetic here:

* a sale is charged Σ(quantity × unit price − discount) øre; Rackbeat books it for that, in kroner;
* Rackbeat's available stock at a location is what was counted there less what the booked sales of the
  branch mapped to it hold; the Shopbox branch must show exactly that;
* a till product reaches Rackbeat at its gross price ÷ 1.25 (25 % VAT), a Rackbeat product reaches the
  till at its net price × 1.25, in øre.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import requests

from conftest import RACKBEAT_API_KEY, SHOPBOX_CLIENT, SHOPBOX_PASSWORD, SHOPBOX_USERNAME
from flowkit import stats
from integrations_dagster import config
from integrations_dagster.build import build_definitions

AUTH = {"Authorization": f"Bearer {RACKBEAT_API_KEY}"}
BRANCH_LOCATION = {6101: 1, 6102: 2}  # the flows' options: Shopbox branch uid -> Rackbeat location number
REGISTER = {6101: 7101, 6102: 7102}  # each branch's till (the Shopbox sandbox's organisation)
DEFAULT_GROUP = 3  # made by the suites in the demo account ("Standard Shopbox-gruppe")
GROUPS = {"Kaffe": 1}  # a till tag -> Rackbeat product group
KASSE_ENV = ("RACKBEAT_API_KEY", "SHOPBOX_USERNAME", "SHOPBOX_PASSWORD", "SHOPBOX_CLIENT")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

TEMPLATE = """
integrations:
  - name: kasse
    start_date: 2026-11-01
    connections:
      pos:
        system: shopbox
        base_url: "{shopbox}/api/v3"
        credentials: {{username: {{env: SHOPBOX_USERNAME}}, password: {{env: SHOPBOX_PASSWORD}},
                      client: {{env: SHOPBOX_CLIENT}}}}
        settings: {{timeout: {timeout}, max_attempts: {attempts}}}
        options: {{currency: DKK}}
      erp:
        system: rackbeat
        base_url: "{rackbeat}/api"
        credentials: {{api_key: {{env: RACKBEAT_API_KEY}}}}
        options: {{currency: DKK}}  # the till's currency (the Shopbox sandbox's shop is Danish): nothing converted
        settings: {{timeout: {timeout}, max_attempts: {attempts}}}
    flows:
"""
FLOWS = {
    "sales": """
      sales:
        entity: orders
        source: pos
        target: erp
        mode: create
        op_retries: {retries}
        op_retry_delay_s: 0.05
        options: {{customer_number: "1", add_vat: true, locations: {{"6101": "1", "6102": "2"}}, main_location: "1"}}
""",
    "stock": """
      stock:
        entity: stock
        source: erp
        target: pos
        op_retries: {retries}
        op_retry_delay_s: 0.05
        options: {{branches: {{"1": "6101", "2": "6102"}}}}{stock_triggers}
""",
    "products_to_erp": """
      products_to_erp:
        entity: products
        source: pos
        target: erp
        op_retries: {retries}
        op_retry_delay_s: 0.05
        conflict_winner: erp
        options: {{groups: {{Kaffe: "1"}}{default_group}, uid_field: 1, variation_field: 2}}
""",
    "products_to_pos": """
      products_to_pos:
        entity: products
        source: erp
        target: pos
        op_retries: {retries}
        op_retry_delay_s: 0.05
        conflict_winner: erp{products_triggers}
""",
    "stock_to_erp": """
      stock_to_erp:
        entity: stock
        source: pos
        target: erp
        once: true
        op_retries: {retries}
        op_retry_delay_s: 0.05
        options: {{locations: {{"6101": "1", "6102": "2"}}, main_location: "1"}}
""",
}
ALL_FLOWS = ("products_to_erp", "products_to_pos", "sales", "stock")


def integrations_file(tmp_path: Path, rackbeat: str, shopbox: str, *, flows=ALL_FLOWS, timeout: float = 10,
                      attempts: int = 6, retries: int = 0, default_group: bool = True, webhooks: bool = False) -> Path:
    """The kasse integrations file on the two sandboxes, written to ``tmp_path``; ``webhooks``: the stock
    and products-to-the-till flows run when Rackbeat's webhooks say so (as seed 003 asks: "i sanntid")."""
    hooks = "\n        triggers: {webhook: true, sensor: false}" if webhooks else ""
    text = textwrap.dedent(TEMPLATE.format(shopbox=shopbox, rackbeat=rackbeat, timeout=timeout, attempts=attempts))
    for name in flows:
        text += FLOWS[name].lstrip("\n").format(
            retries=retries, default_group=f', default_group: "{DEFAULT_GROUP}"' if default_group else "",
            stock_triggers=hooks, products_triggers=hooks)
    path = tmp_path / "integrations.yaml"
    path.write_text(text)
    return path


def definitions(tmp_path: Path, rackbeat: str, shopbox: str, **kw):
    return build_definitions(config.load(integrations_file(tmp_path, rackbeat, shopbox, **kw)))


def knobs(url: str, **values) -> dict:
    resp = requests.post(f"{url}/__sandbox__/knobs", json=values, timeout=10)
    resp.raise_for_status()
    return resp.json()


def data_writes(*urls: str) -> Counter:
    """Data writes the sandboxes served so far, by sandbox and route (a Shopbox login writes no data)."""
    out = Counter()
    for url in urls:
        for route, n in stats(url)["requests"].items():
            method, path = route.split(" ", 1)
            if method in WRITE_METHODS and not path.endswith("/authenticate/credentials"):
                out[f"{url} {route}"] += n
    return out


def cents(ore: int) -> Decimal:
    return Decimal(ore) / 100


# -- the two systems, as the merchant and the test see them ------------------------------------------

class Kasse:
    """Both sandboxes over HTTP: Rackbeat's API and control routes, Shopbox's API (a login of the test's
    own) and control routes."""

    def __init__(self, rackbeat: str, shopbox: str) -> None:
        self.rackbeat, self.shopbox = rackbeat, shopbox
        self.box = f"{shopbox}/__sandbox__/shopbox"
        self._token: str | None = None

    # Rackbeat
    def rb(self, method: str, path: str, body: dict | None = None, *, expect: tuple[int, ...] = (), **params):
        resp = requests.request(method, f"{self.rackbeat}/api{path}", headers=AUTH, json=body, params=params,
                                timeout=10)
        if resp.status_code in expect:
            return None
        assert resp.status_code < 300, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json() if resp.content else {}

    def rb_all(self, path: str, key: str, **params) -> list[dict]:
        out, page = [], 1
        while True:
            body = self.rb("GET", path, page=page, limit=200, **params)
            out += body.get(key) or []
            if page >= int(body.get("pages") or 1):
                return out
            page += 1

    def rb_product(self, number: str) -> dict | None:
        found = self.rb("GET", f"/products/{quote(number, safe='')}", expect=(404,))
        return None if found is None else found["product"]

    def rb_new_product(self, number: str, name: str, net: str, group: int = 1) -> dict:
        """A product a Rackbeat user makes (fires product.created)."""
        resp = requests.post(f"{self.rackbeat}/__sandbox__/rackbeat/products", timeout=10,
                             json={"number": number, "name": name, "group": group, "sales_price": net})
        assert resp.status_code < 300, resp.text
        return resp.json()["product"]

    def rb_count(self, sku: str, location: int, quantity: int) -> None:
        """A stock count at a Rackbeat location (fires the stock event)."""
        resp = requests.post(f"{self.rackbeat}/__sandbox__/rackbeat/stock", timeout=10,
                             json={"item": sku, "location": location, "quantity": quantity})
        assert resp.status_code < 300, resp.text

    def rb_group(self, number: int, name: str) -> None:
        self.rb("POST", "/product-groups", {"number": number, "name": name, "has_inventory": True,
                                            "vat_domestic": 25})

    def orders(self) -> list[dict]:
        """Rackbeat's orders booked from the tills (``their_reference`` "pos:<basket uid>")."""
        return [o for o in self.rb_all("/orders", "orders") if str(o.get("their_reference") or "").startswith("pos:")]

    # Shopbox
    def token(self) -> str:
        if self._token is None:
            self._token = requests.post(f"{self.shopbox}/api/v3/authenticate/credentials", timeout=10, json={
                "username": SHOPBOX_USERNAME, "password": SHOPBOX_PASSWORD}).json()["accessToken"]
        return self._token

    def sb(self, method: str, path: str, body: dict | None = None, **params):
        resp = requests.request(method, f"{self.shopbox}/api/v3{path}", json=body, timeout=10,
                                params={"accessToken": self.token(), "client": SHOPBOX_CLIENT, **params})
        assert resp.status_code < 300, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json()

    def tag(self, name: str) -> int:
        return int(self.sb("POST", "/tags", {"name": name})["uid"])

    def till_product(self, name: str, sku: str, price_ore: int, tag: int | None = None) -> dict:
        """A product the shop's staff make in Shopbox's back office."""
        body = {"name": name, "sku_code": sku, "selling_price": price_ore, "tax": 1}
        if tag is not None:
            body["tag"] = tag
        resp = requests.post(f"{self.box}/products", json=body, timeout=10)
        assert resp.status_code < 300, resp.text
        return resp.json()

    def edit_till_product(self, uid: int, **fields) -> dict:
        resp = requests.post(f"{self.box}/products", json={"uid": uid, **fields}, timeout=10)
        assert resp.status_code < 300, resp.text
        return resp.json()

    def ring_up(self, branch: int, lines: list[dict]) -> dict:
        """A sale at the branch's till (lines: ``{"product", "quantity", "discount"?}``)."""
        resp = requests.post(f"{self.box}/sale", timeout=10, json={"cash_register": REGISTER[branch], "lines": lines})
        assert resp.status_code < 300, resp.text
        return resp.json()

    def shop_products(self) -> list[dict]:
        out, page = [], 1
        while True:
            body = self.sb("GET", "/products", expand="product_variances", page=page, **{"per-page": 100})
            out += body["data"]
            if page >= int(body["meta"]["pagination"]["total_pages"] or 1):
                return out
            page += 1

    def shop_skus(self) -> dict[str, list[dict]]:
        """Every SKU of the till's catalogue -> each product (or variation) holding it."""
        out: dict[str, list[dict]] = {}
        for raw in self.shop_products():
            for item in [raw, *(raw.get("product_variances") or [])]:
                if item.get("sku_code"):
                    out.setdefault(str(item["sku_code"]), []).append(item)
        return out

    def till_count(self, branch: int, product: int, quantity: int) -> None:
        """A stock count at a branch, as the shop's staff make it in Shopbox."""
        resp = requests.post(f"{self.box}/stock", timeout=10, json={"branch": branch, "product": product,
                                                                     "quantity": quantity})
        assert resp.status_code < 300, resp.text

    def on_hand(self, number: str) -> dict[int, Decimal]:
        """Rackbeat's on-hand quantity of an item per location number."""
        rows = self.rb("GET", f"/products/{quote(number, safe='')}/locations")["product_locations"]
        return {int(r["number"]): Decimal(str(r.get("stock_quantity") or 0)) for r in rows}

    def branch_counts(self, branch: int) -> dict[tuple[int, int | None], float]:
        rows = requests.get(f"{self.box}/stock", params={"branch": branch}, timeout=10).json()
        return {(r["product"], r.get("product_variance")): r["quantity"] for r in rows}


# -- the ledger: what the test did -------------------------------------------------------------------

@dataclass
class Sale:
    uid: int
    branch: int
    lines: list[tuple[str, int, int, int]]  # (sku, quantity, unit price øre incl. VAT, discount øre)

    @property
    def charged(self) -> Decimal:
        """What the till charged, in kroner: Σ(quantity × price − discount)."""
        return cents(sum(q * p - d for _, q, p, d in self.lines))

    def quantities(self) -> Counter:
        out = Counter()
        for sku, q, _, _ in self.lines:
            out[sku] += q
        return out


@dataclass
class Ledger:
    """Products on either side (SKU -> the till's uid, price), counts set in Rackbeat, sales rung up."""

    till: dict[str, dict] = field(default_factory=dict)  # sku -> Shopbox product (as answered)
    till_price: dict[str, int] = field(default_factory=dict)  # sku -> øre incl. VAT (made in Shopbox)
    till_group: dict[str, int] = field(default_factory=dict)  # sku -> the Rackbeat group it must land in
    names: dict[str, str] = field(default_factory=dict)  # sku -> name (either side's origin)
    erp_net: dict[str, Decimal] = field(default_factory=dict)  # sku -> net price (made in Rackbeat)
    counted: dict[tuple[str, int], int] = field(default_factory=dict)  # (sku, location) -> on hand
    sales: list[Sale] = field(default_factory=list)

    def sold_at(self, sku: str, branch: int) -> int:
        return sum(s.quantities()[sku] for s in self.sales if s.branch == branch)

    def available(self, sku: str, branch: int) -> int:
        return self.counted[sku, BRANCH_LOCATION[branch]] - self.sold_at(sku, branch)


def sell(kasse: Kasse, ledger: Ledger, branch: int, lines: list[tuple[str, int, int]]) -> Sale:
    """Ring up ``lines`` ((sku, quantity, discount øre)) at ``branch``; the sale goes into the ledger."""
    shop = {sku: item for sku, items in kasse.shop_skus().items() for item in items[:1]}
    body, rows = [], []
    for sku, quantity, discount in lines:
        item = shop[sku]
        line = {"product": item.get("product") or item["uid"], "quantity": quantity}
        if discount:
            line["discount"] = discount
        body.append(line)
        rows.append((sku, quantity, int(item["selling_price"]), discount))
    basket = kasse.ring_up(branch, body)
    sale = Sale(int(basket["uid"]), branch, rows)
    ledger.sales.append(sale)
    return sale


def sales_problems(kasse: Kasse, ledger: Ledger) -> tuple[list[str], int]:
    """Every sale once in Rackbeat, for what the till charged, each SKU's quantity on its branch's
    location; (problems, duplicate orders)."""
    orders = kasse.orders()
    refs = Counter(o["their_reference"] for o in orders)
    dupes = sum(n - 1 for n in refs.values() if n > 1)
    problems = [f"{ref} is {n} orders in Rackbeat" for ref, n in refs.items() if n > 1]
    by_ref = {o["their_reference"]: o for o in orders}
    known = {f"pos:{s.uid}" for s in ledger.sales}
    problems += [f"{ref}: booked in Rackbeat, but no till sold it" for ref in refs if ref not in known]
    for sale in ledger.sales:
        ref = f"pos:{sale.uid}"
        if ref not in by_ref:
            problems.append(f"{ref} (branch {sale.branch}, {sale.charged} kr): lost — not in Rackbeat")
            continue
        order = kasse.rb("GET", f"/orders/{by_ref[ref]['number']}")["order"]
        total = Decimal(str(order["total_total"]))
        if total != sale.charged:
            problems.append(f"{ref}: Rackbeat booked {total}, the till charged {sale.charged}")
        got = Counter()
        for line in order["lines"]:
            got[line["item"]["number"]] += int(Decimal(str(line["quantity"])))
            where = (line.get("location") or {}).get("number")
            if where != BRANCH_LOCATION[sale.branch]:
                problems.append(f"{ref}: line {line['item']['number']} on location {where}, "
                                f"not {BRANCH_LOCATION[sale.branch]} (branch {sale.branch})")
        if got != sale.quantities():
            problems.append(f"{ref}: Rackbeat's lines {dict(got)} != the till's {dict(sale.quantities())}")
    return problems, dupes


def stock_problems(kasse: Kasse, ledger: Ledger) -> list[str]:
    """Each counted SKU's count at each branch = counted at its location − sold at the branch."""
    shop = {sku: items[0] for sku, items in kasse.shop_skus().items()}
    problems = []
    for branch in BRANCH_LOCATION:
        held = kasse.branch_counts(branch)
        for sku in sorted({s for s, _ in ledger.counted}):
            item = shop.get(sku)
            if item is None:
                problems.append(f"{sku}: not in Shopbox")
                continue
            key = (item["product"], item["uid"]) if item.get("product") else (item["uid"], None)
            want = ledger.available(sku, branch)
            if held.get(key) != want:
                problems.append(f"{sku} at branch {branch}: Shopbox counts {held.get(key)}, expected {want} "
                                f"({ledger.counted[sku, BRANCH_LOCATION[branch]]} counted at location "
                                f"{BRANCH_LOCATION[branch]}, {ledger.sold_at(sku, branch)} sold at the till)")
    return problems


def product_problems(kasse: Kasse, ledger: Ledger) -> tuple[list[str], int]:
    """Each till product once in Rackbeat (name, net price, group); each Rackbeat product once in the
    till (name, gross price); no SKU twice on either side; (problems, duplicates)."""
    problems = []
    numbers = Counter(p["number"] for p in kasse.rb_all("/products", "products"))
    skus = kasse.shop_skus()
    dupes = sum(n - 1 for n in numbers.values() if n > 1) + sum(len(v) - 1 for v in skus.values() if len(v) > 1)
    problems += [f"{n} is {k} products in Rackbeat" for n, k in numbers.items() if k > 1]
    problems += [f"{s} is {len(v)} times in Shopbox" for s, v in skus.items() if len(v) > 1]
    for sku, gross in sorted(ledger.till_price.items()):
        held = kasse.rb_product(sku)
        if held is None:
            problems.append(f"{sku} (made at the till): lost — not in Rackbeat")
            continue
        net = Decimal(gross) / 125  # øre incl. 25 % VAT -> kroner net
        got = (held["name"], Decimal(str(held["sales_price"])), held["group"]["number"])
        want = (ledger.names[sku], net, ledger.till_group[sku])
        if got != want:
            problems.append(f"{sku} (made at the till): Rackbeat has {got}, expected {want}")
    for sku, net in sorted(ledger.erp_net.items()):
        held = skus.get(sku)
        if not held:
            problems.append(f"{sku} (made in Rackbeat): lost — not in Shopbox")
            continue
        gross = net * 125  # kroner net -> øre incl. 25 % VAT (whole øre: the suites' prices are multiples of 0.04)
        got = (held[0].get("name"), Decimal(held[0]["selling_price"]))
        if got != (ledger.names[sku], gross):
            problems.append(f"{sku} (made in Rackbeat): Shopbox has {got}, expected {(ledger.names[sku], gross)}")
    return problems, dupes
