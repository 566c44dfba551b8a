"""Test helpers for Specter: the account as an ERP user and an integrator see it (control routes and the
web-shop API over real HTTP, keys made from the evidence's recipe), and the integrations file of a
WooCommerce ⇄ Specter integration on the two sandboxes."""

from __future__ import annotations

import hashlib
import textwrap
from decimal import Decimal
from pathlib import Path

import requests

from integrations_dagster import config
from integrations_dagster.build import build_definitions

from conftest import SPECTER_API_USER_ID, SPECTER_SBM_ID, SPECTER_USER_KEY

CONNECTIONS = """
    connections:
      shop:
        system: woocommerce
        base_url: "{woo}"
        credentials: {{consumer_key: {{env: WOO_CONSUMER_KEY}}, consumer_secret: {{env: WOO_CONSUMER_SECRET}}}}
        settings: {{max_attempts: 2}}
        options: {{currency: SEK, prices_include_tax: true, tax_rates: {{"": 25, "reduced-rate": 12}}}}
      erp:
        system: specter
        base_url: "{specter}"
        credentials: {{sbm_id: {{env: SPECTER_SBM_ID}}, api_user_id: {{env: SPECTER_API_USER_ID}},
                      user_key: {{env: SPECTER_USER_KEY}}, integration_key: {{env: SPECTER_INTEGRATION_KEY}}}}
        settings: {{max_attempts: 4}}
        options: {{webshop_id: 1{erp_options}}}
"""
TEMPLATE = """
integrations:
  - name: butik
    start_date: 2026-11-01""" + CONNECTIONS + """    flows:
      products: {{entity: products, source: shop, target: erp, op_retries: 0{products_extra}}}
      orders: {{entity: orders, source: shop, target: erp, mode: create, after: [products], op_retries: 0,
                options: {{statuses: [processing, completed]}}}}
      stock: {{entity: stock, source: erp, target: shop, after: [products], op_retries: 0}}
      order_status: {{entity: order_status, source: erp, target: shop, after: [orders], op_retries: 0,
                      options: {{mail_customer: [delivered]}}}}
"""
# The same two connections under a preset (seed 002's flow sets), integration "kombo".
PRESET = """
integrations:
  - name: kombo
    start_date: 2026-11-01
    preset: combo""" + CONNECTIONS.replace("{erp_options}", "")


def definitions(tmp_path: Path, woo_url: str, specter_url: str, *, owns: list[str] | None = None,
                erp_options: dict | None = None):
    path = tmp_path / "integrations.yaml"
    path.write_text(textwrap.dedent(TEMPLATE.format(
        woo=woo_url, specter=specter_url,
        erp_options="".join(f", {k}: {v}" for k, v in (erp_options or {}).items()),
        products_extra=f", owns: [{', '.join(owns)}]" if owns is not None else "")))
    return build_definitions(config.load(path))


def md5(text: str) -> str:
    return hashlib.md5(text.encode("latin-1")).hexdigest()


def v1_key(subject: str) -> str:
    """md5(userKey + sbmId + subject) [3p: PrestaShop module, every call]."""
    return md5(SPECTER_USER_KEY + SPECTER_SBM_ID + subject)


class Specter:
    """A Specter account: what its ERP user does (control routes) and raw API calls."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.control_url = f"{url}/__sandbox__/specter"

    def post(self, path: str, body: dict | None = None) -> dict:
        resp = requests.post(f"{self.control_url}{path}", json=body or {}, timeout=10)
        assert resp.status_code < 300, resp.text
        return resp.json()

    def article(self, article_no: str) -> dict | None:
        resp = requests.get(f"{self.control_url}/articles/{article_no}", timeout=10)
        return resp.json() if resp.status_code == 200 else None

    def edit_article(self, article_no: str, **fields) -> dict:
        return self.post(f"/articles/{article_no}", fields)

    def set_stock(self, article_no: str, quantity: int, site: int | None = None) -> None:
        self.post("/stock", {"articleNo": article_no, "quantity": quantity, **({"stockSiteId": site} if site else {})})

    def order(self, order_no: str) -> dict:
        resp = requests.get(f"{self.control_url}/orders/{order_no}", timeout=10)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def orders(self) -> list[dict]:
        """Every order, probing the order numbers from the first (10001, the sandbox's numbering)."""
        found, number = [], 10001
        while (resp := requests.get(f"{self.control_url}/orders/{number}", timeout=10)).status_code == 200:
            found.append(resp.json())
            number += 1
        return found

    def order_action(self, external_order_no: str, what: str, **body) -> dict:
        """What the ERP user does with a shop's order: deliver (with ``trackingNo``), invoice, pay, cancel."""
        order = next(o for o in self.orders() if o["externalOrderNo"] == external_order_no)
        return self.post(f"/orders/{order['orderNo']}/{what}", body)

    def customer(self, customer_id: str) -> dict:
        return requests.get(f"{self.control_url}/customers/{customer_id}", timeout=10).json()

    def feeds(self) -> dict:
        return requests.get(f"{self.control_url}/feeds", timeout=10).json()

    def limits(self, **caps: int) -> None:
        self.post("/limits", caps)

    def knobs(self, **values) -> None:
        requests.post(f"{self.url}/__sandbox__/knobs", json=values, timeout=10).raise_for_status()

    def stats(self) -> dict:
        return requests.get(f"{self.url}/__sandbox__/stats", timeout=10).json()

    def writes(self) -> int:
        return self.stats()["requests"].get("POST /putInfo.asp", 0)

    def get_info(self, action: str, subject: str, **params) -> str:
        """A getInfo.asp call as the PrestaShop module makes it (v1 key), the answer as text."""
        query = {"Action": action, "sbmId": SPECTER_SBM_ID, "apiUserId": SPECTER_API_USER_ID,
                 "key": v1_key(subject), **params}
        resp = requests.get(f"{self.url}/getInfo.asp", params=query, timeout=10)
        assert resp.status_code == 200
        return resp.content.decode("latin-1")

    def ack_stock(self, batch_no: str) -> str:
        return self.get_info("updateArticlesFromBatch", batch_no, batchNo=batch_no)


def decimal(text: str) -> Decimal:
    return Decimal(str(text).replace(",", "."))
