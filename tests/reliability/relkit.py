"""Shared helpers of the reliability suites: an integrations file with fault-tolerant settings,
knob switches, and oracles that compare the target with the source of truth over real HTTP."""

from __future__ import annotations

import os
import textwrap
from collections import Counter
from decimal import Decimal
from pathlib import Path

import requests

from flowkit import fx, fx_all, woo_get
from integrations_dagster import config
from integrations_dagster.build import build_definitions
from integrations_dagster.connectors.fortnox import mapping as fx_mapping
from integrations_dagster.connectors.woocommerce import mapping as woo_mapping

SOAK = os.environ.get("RELIABILITY_SOAK", "").lower() in ("1", "true", "yes")
BACKEND = "postgresql" if os.environ.get("INTEGRATIONS_TEST_PG_URL") else "sqlite"
SHOP_OPTIONS = {"currency": "SEK", "prices_include_tax": True, "tax_rates": {"": 25, "reduced-rate": 12},
                "connection": "shop"}

TEMPLATE = """
integrations:
  - name: demo
    start_date: 2026-11-01
    connections:
      shop:
        system: woocommerce
        base_url: "{woo}"
        credentials: {{consumer_key: {{env: WOO_CONSUMER_KEY}}, consumer_secret: {{env: WOO_CONSUMER_SECRET}}}}
        options: {{currency: SEK, prices_include_tax: true, tax_rates: {{"": 25, "reduced-rate": 12}}}}
        settings: {{timeout: {timeout}, max_attempts: {max_attempts}}}
      erp:
        system: fortnox
        base_url: "{fortnox}"
        credentials: {{access_token: {{env: FORTNOX_ACCESS_TOKEN}}}}
        settings: {{rate_limit: 0, timeout: {timeout}, max_attempts: {max_attempts}}}
    flows:
      products: {{entity: products, source: shop, target: erp, mode: both, op_retries: {op_retries}, op_retry_delay_s: 0.05}}
      orders:
        entity: orders
        source: shop
        target: erp
        mode: create
        op_retries: {op_retries}
        op_retry_delay_s: 0.05
        options: {{document: order, vat_included: true, statuses: [processing, completed]}}
      invoices:
        entity: orders
        source: shop
        target: erp
        mode: create
        op_retries: {op_retries}
        op_retry_delay_s: 0.05
        options: {{document: invoice, vat_included: false, statuses: [completed]}}
      stock: {{entity: stock, source: erp, target: shop, op_retries: {op_retries}, op_retry_delay_s: 0.05}}
    alerts:
      webhook: {{env: RELIABILITY_ALERT_URL}}
"""

FLOWS = ("products", "orders", "invoices", "stock")


def write_config(tmp_path: Path, woo: str, fortnox: str, *, timeout: float = 1.0, max_attempts: int = 6,
                 op_retries: int = 2) -> Path:
    path = tmp_path / "integrations.yaml"
    path.write_text(textwrap.dedent(TEMPLATE.format(woo=woo, fortnox=fortnox, timeout=timeout,
                                                    max_attempts=max_attempts, op_retries=op_retries)))
    return path


def definitions(tmp_path: Path, woo: str, fortnox: str, **kw):
    return build_definitions(config.load(write_config(tmp_path, woo, fortnox, **kw)))


FAULTS = {"fault_rate": 0.10, "throttle_rate": 0.05, "timeout_rate": 0.01, "reset_rate": 0.01,
          "fault_after_write_rate": 0.10, "timeout_hold_s": 1.3}
CLEAN = {k: 0.0 for k in ("fault_rate", "throttle_rate", "timeout_rate", "reset_rate", "fault_after_write_rate")}


def knobs(url: str, **values) -> dict:
    resp = requests.post(f"{url}/__sandbox__/knobs", json=values, timeout=10)
    resp.raise_for_status()
    return resp.json()


def faults_injected(url: str) -> int:
    return sum(requests.get(f"{url}/__sandbox__/stats", timeout=10).json()["faults"].values())


# -- oracles ---------------------------------------------------------------------------------------

def duplicates(values) -> dict:
    return {k: n for k, n in Counter(values).items() if n > 1}


def woo_products(woo: str) -> list[dict]:
    out = []
    for raw in woo_get(woo, "/products"):
        if raw.get("type") == "variable":
            raw["_variations"] = woo_get(woo, f"/products/{raw['id']}/variations")
        out.append(raw)
    return out


def expected_units(woo: str) -> dict:
    """SKU -> SellableUnit for every product the shop has (the source of truth of the products flow)."""
    units = {}
    for raw in woo_products(woo):
        try:
            product = woo_mapping.product_to_canonical(raw, SHOP_OPTIONS)
        except ValueError:
            continue
        for unit in product.sellable_units():
            if unit.sku and not fx_mapping.article_number_problem(unit.sku):
                units[unit.sku] = unit
    return units


def article_mismatches(fortnox: str, units: dict) -> list[str]:
    """Field-by-field differences between the shop's sellable units and Fortnox articles + prices."""
    problems = []
    articles = {a["ArticleNumber"]: a for a in fx_all(fortnox, "articles", "Articles")}
    for sku, unit in units.items():
        if sku not in articles:
            problems.append(f"{sku}: missing in Fortnox")
            continue
        full = fx(fortnox, "GET", f"/articles/{sku}")["Article"]
        payload, _ = fx_mapping.article_payload(unit)
        for name, value in payload.items():
            if fx_mapping.differs({name: value}, full):
                problems.append(f"{sku}.{name}: shop {value!r} != Fortnox {full.get(name)!r}")
        price = fx_mapping.list_price(unit, False)
        if price is not None:
            got = Decimal(str(fx(fortnox, "GET", f"/prices/A/{sku}")["Price"]["Price"]))
            if got != price:
                problems.append(f"{sku}.price: shop {price} != Fortnox {got}")
    return problems


def woo_stock(woo: str) -> dict[str, int | None]:
    out = {}
    for raw in woo_products(woo):
        for item in raw.get("_variations", []) if raw["type"] == "variable" else [raw]:
            if item.get("sku"):
                out[item["sku"]] = item.get("stock_quantity")
    return out


def order_problems(woo: str, fortnox: str, resource: str, statuses: tuple[str, ...]) -> tuple[list[str], int]:
    """Every shop order in ``statuses`` is exactly one Fortnox document with its rows; (problems, dupes)."""
    wrapper = "Orders" if resource == "orders" else "Invoices"
    docs = fx_all(fortnox, resource, wrapper)
    refs = [d.get("ExternalInvoiceReference1") for d in docs]
    dupes = duplicates(refs)
    problems = [f"{ref}: {n} documents" for ref, n in dupes.items()]
    by_ref = {d.get("ExternalInvoiceReference1"): d for d in docs}
    for order in woo_get(woo, "/orders"):
        if order["status"] not in statuses:
            continue
        ref = f"shop:{order['id']}"
        if ref not in by_ref:
            problems.append(f"{ref}: missing in Fortnox {resource}")
            continue
        doc = fx(fortnox, "GET", f"/{resource}/{by_ref[ref]['DocumentNumber']}")[wrapper[:-1]]
        rows = doc.get("OrderRows" if resource == "orders" else "InvoiceRows") or []
        want: Counter = Counter()
        for li in order["line_items"]:
            want[li["sku"]] += Decimal(str(li["quantity"]))
        got: Counter = Counter()
        for r in rows:
            if r.get("ArticleNumber"):  # shipping, fees and öre rows carry no article
                got[r["ArticleNumber"]] += Decimal(str(r.get("DeliveredQuantity")))
        if dict(want) != dict(got):
            problems.append(f"{ref}: rows {dict(got)} != shop {dict(want)}")
        charged = Decimal(str(doc["Total"])) - Decimal(str(doc["RoundOff"]))
        if (charged, Decimal(str(doc["TotalVAT"]))) != (Decimal(order["total"]), Decimal(order["total_tax"])):
            problems.append(f"{ref}: Fortnox {charged} (VAT {doc['TotalVAT']}) != shop {order['total']} "
                            f"(VAT {order['total_tax']})")
    return problems, sum(n - 1 for n in dupes.values())


def fortnox_duplicates(woo: str, fortnox: str) -> tuple[int, list[str]]:
    """(duplicate articles + customers + orders + invoices in Fortnox, order/invoice differences)."""
    articles = [a["ArticleNumber"] for a in fx_all(fortnox, "articles", "Articles")]
    customers = [(c.get("Email") or "").lower() for c in fx_all(fortnox, "customers", "Customers")]
    order_issues, order_dupes = order_problems(woo, fortnox, "orders", ("processing", "completed"))
    invoice_issues, invoice_dupes = order_problems(woo, fortnox, "invoices", ("completed",))
    dupes = (sum(n - 1 for n in duplicates(articles).values()) + sum(n - 1 for n in duplicates(customers).values())
             + order_dupes + invoice_dupes)
    return dupes, order_issues + invoice_issues
