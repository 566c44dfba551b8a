"""Helpers for end-to-end flow tests: an integrations file on the test sandboxes, and HTTP peeks."""

from __future__ import annotations

import textwrap
from pathlib import Path

import requests
from dagster import DagsterInstance

from integrations_dagster import config
from integrations_dagster.build import build_definitions

from conftest import FORTNOX_TOKEN, WOO_KEY, WOO_SECRET

TEMPLATE = """
integrations:
  - name: demo
    start_date: 2026-11-01
    connections:
      shop:
        system: woocommerce
        base_url: "{woo}"
        credentials: {{consumer_key: {{env: WOO_CONSUMER_KEY}}, consumer_secret: {{env: WOO_CONSUMER_SECRET}}}}
        options: {{currency: SEK, prices_include_tax: true, tax_rates: {{"": 25, "reduced-rate": 12}}{shop_options}}}
      erp:
        system: fortnox
        base_url: "{fortnox}"
        credentials: {fortnox_credentials}
        settings: {{rate_limit: {rate_limit}, max_attempts: {max_attempts}, auth_url: "{fortnox}/oauth-v1"}}
    flows:
      products: {{entity: products, source: shop, target: erp, mode: {mode}, op_retries: {op_retries}, op_retry_delay_s: 0.1{products_extra}}}
      orders:
        entity: orders
        source: shop
        target: erp
        mode: create
        options: {{document: {document}, vat_included: {vat_included}, statuses: [processing, completed]}}
      stock: {{entity: stock, source: erp, target: shop}}
    alerts: {{slack_webhook: {{env: TEST_SLACK_URL, default: ""}}, ui_url: "http://dagster.example:3000/"}}
"""


BEARER = "{access_token: {env: FORTNOX_ACCESS_TOKEN}}"
OAUTH = ("{client_id: {env: FORTNOX_CLIENT_ID}, client_secret: {env: FORTNOX_CLIENT_SECRET}, "
         "refresh_token: {env: FORTNOX_REFRESH_TOKEN}}")


def definitions(tmp_path: Path, woo_url: str, fortnox_url: str, *, mode: str = "both", document: str = "order",
                vat_included: str = "true", rate_limit: int = 1000, max_attempts: int = 6, op_retries: int = 2,
                shop_options: dict | None = None, owns: list[str] | None = None, oauth: bool = False):
    """``shop_options``: more options of the shop connection (e.g. ``{"missing_sku": "generate"}``);
    ``owns``: the article fields the products flow owns; ``oauth``: Fortnox by OAuth2 (client id, secret,
    first refresh token) instead of a bare access token."""
    path = tmp_path / "integrations.yaml"
    path.write_text(textwrap.dedent(TEMPLATE.format(woo=woo_url, fortnox=fortnox_url, mode=mode,
                                                    document=document, vat_included=vat_included,
                                                    rate_limit=rate_limit, max_attempts=max_attempts,
                                                    op_retries=op_retries,
                                                    shop_options="".join(f", {k}: {v}" for k, v in
                                                                         (shop_options or {}).items()),
                                                    products_extra=f", owns: [{', '.join(owns)}]" if owns is not None
                                                    else "", fortnox_credentials=OAUTH if oauth else BEARER)))
    return build_definitions(config.load(path))


def run(defs, job_name: str, instance: DagsterInstance | None = None, run_config: dict | None = None,
        partition_key: str | None = None, raise_on_error: bool = True):
    job = defs.resolve_job_def(job_name)  # (an asset job, the drift checks', is resolved here)
    return job.execute_in_process(instance=instance or DagsterInstance.ephemeral(), run_config=run_config,
                                  partition_key=partition_key, raise_on_error=raise_on_error)


def stats(url: str) -> dict:
    return requests.get(f"{url}/__sandbox__/stats", timeout=10).json()


def woo_get(url: str, path: str, **params) -> list | dict:
    """All pages of a WooCommerce list (or one object)."""
    out, page = [], 1
    while True:
        resp = requests.get(f"{url}/wp-json/wc/v3{path}", params={**params, "per_page": 100, "page": page},
                            auth=(WOO_KEY, WOO_SECRET), timeout=10)
        resp.raise_for_status()
        body = resp.json()
        if isinstance(body, dict):
            return body
        out += body
        if page >= int(resp.headers.get("X-WP-TotalPages", 1)):
            return out
        page += 1


def woo_put(url: str, path: str, body: dict) -> dict:
    resp = requests.put(f"{url}/wp-json/wc/v3{path}", json=body, auth=(WOO_KEY, WOO_SECRET), timeout=10)
    resp.raise_for_status()
    return resp.json()


def woo_post(url: str, path: str, body: dict) -> dict:
    resp = requests.post(f"{url}/wp-json/wc/v3{path}", json=body, auth=(WOO_KEY, WOO_SECRET), timeout=10)
    resp.raise_for_status()
    return resp.json()


def fx(url: str, method: str, path: str, body: dict | None = None, **params) -> dict:
    resp = requests.request(method, f"{url}/3{path}", json=body, params=params or None, timeout=10,
                            headers={"Authorization": f"Bearer {FORTNOX_TOKEN}"})
    if not resp.ok:  # Fortnox's own words, not just the status
        raise requests.HTTPError(f"{method} {path}: {resp.status_code} {resp.text}", response=resp)
    return resp.json()


def fx_all(url: str, resource: str, wrapper: str) -> list[dict]:
    out, page = [], 1
    while True:
        body = fx(url, "GET", f"/{resource}", page=page, limit=500)
        out += body[wrapper]
        if page >= int(body["MetaInformation"]["@TotalPages"]):
            return out
        page += 1


def woo_skus(url: str) -> set[str]:
    skus = set()
    for p in woo_get(url, "/products"):
        if p["type"] == "variable":
            skus |= {v["sku"] for v in woo_get(url, f"/products/{p['id']}/variations") if v["sku"]}
        elif p["sku"]:
            skus.add(p["sku"])
    return skus


class MemoryBinder:
    """An id map in memory, for connector tests that write without a state store."""

    def __init__(self, ids: dict[str, str] | None = None) -> None:
        self.ids = dict(ids or {})

    def external_id(self, entity: str, key: str) -> str | None:
        return self.ids.get(key)

    def key_for(self, entity: str, external_id: str) -> str | None:
        return next((k for k, v in self.ids.items() if v == external_id), None)

    def bind(self, entity: str, key: str, external_id: str, parent_id: str | None = None) -> None:
        self.ids[key] = external_id

    def all(self, entity: str) -> dict[str, str]:
        return dict(self.ids)


def sensor_ticks(defs, flow: str = "products", instance: DagsterInstance | None = None):
    """``tick(cursor) -> (result, cursor)``: one evaluation of the flow's change sensor, as the daemon
    runs it (with the source connection as its resource), against ``instance``."""
    from dagster import build_sensor_context

    sensor = defs.get_sensor_def(f"demo_{flow}_sensor")
    instance = instance or DagsterInstance.ephemeral()
    source = "demo__erp" if flow == "stock" else "demo__shop"
    resources = {source: defs.resources[source]}

    def tick(cursor):
        with build_sensor_context(instance=instance, resources=resources, cursor=cursor, definitions=defs) as ctx:
            return sensor(ctx), ctx.cursor

    return tick
