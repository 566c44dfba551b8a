"""Shared helpers of the reliability suites: an integrations file with fault-tolerant settings,
knob switches, and the checks of the target (the oracles themselves are in ``oracle.py``, independent of the code under test)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import requests

from flowkit import fx_all, woo_get
from integrations_dagster import config
from integrations_dagster.build import build_definitions
from reliability.oracle import duplicates, order_problems

SOAK = os.environ.get("RELIABILITY_SOAK", "").lower() in ("1", "true", "yes")
BACKEND = "postgresql" if os.environ.get("INTEGRATIONS_TEST_PG_URL") else "sqlite"

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

def woo_products(woo: str) -> list[dict]:
    out = []
    for raw in woo_get(woo, "/products"):
        if raw.get("type") == "variable":
            raw["_variations"] = woo_get(woo, f"/products/{raw['id']}/variations")
        out.append(raw)
    return out


def woo_stock(woo: str) -> dict[str, int | None]:
    out = {}
    for raw in woo_products(woo):
        for item in raw.get("_variations", []) if raw["type"] == "variable" else [raw]:
            if item.get("sku"):
                out[item["sku"]] = item.get("stock_quantity")
    return out


def fortnox_duplicates(woo: str, fortnox: str) -> tuple[int, list[str]]:
    """(duplicate articles + customers + orders + invoices in Fortnox, order/invoice differences)."""
    articles = [a["ArticleNumber"] for a in fx_all(fortnox, "articles", "Articles")]
    customers = [(c.get("Email") or "").lower() for c in fx_all(fortnox, "customers", "Customers")]
    order_issues, order_dupes = order_problems(woo, fortnox, "orders", ("processing", "completed"))
    invoice_issues, invoice_dupes = order_problems(woo, fortnox, "invoices", ("completed",))
    dupes = (sum(n - 1 for n in duplicates(articles).values()) + sum(n - 1 for n in duplicates(customers).values())
             + order_dupes + invoice_dupes)
    return dupes, order_issues + invoice_issues
