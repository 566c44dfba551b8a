"""Test helpers for the Zettle → BigCommerce integration: both vendors' APIs as a merchant (or the
merchant's other tools) uses them, over real HTTP, and the integrations file on the two sandboxes."""

from __future__ import annotations

import textwrap
import time
import uuid
from pathlib import Path

import requests

from integrations_dagster import config
from integrations_dagster.build import build_definitions

from conftest import BIGCOMMERCE_STORE_HASH, BIGCOMMERCE_TOKEN, ZETTLE_API_KEY, ZETTLE_CLIENT_ID

TEMPLATE = """
integrations:
  - name: pos
    start_date: 2026-11-01
    connections:
      till:
        system: zettle
        base_url: "{zettle}/{{service}}"
        credentials: {{client_id: {{env: ZETTLE_CLIENT_ID}}, api_key: {{env: ZETTLE_API_KEY}},
                      webhook_secret: {{env: ZETTLE_WEBHOOK_SECRET}}}}
        settings: {{auth_url: "{zettle}/oauth", contact_email: kassa@example.se{settings}}}
      shop:
        system: bigcommerce
        base_url: "{bigcommerce}"
        credentials: {{access_token: {{env: BIGCOMMERCE_ACCESS_TOKEN}}}}
        settings: {{store_hash: {store_hash}{settings}}}
        options: {{prices_include_tax: {includes_tax}}}
    flows:
      products: {{entity: products, source: till, target: shop, deletes: true, op_retries: 0,
                  triggers: {{webhook: true}}{fields}{extra}}}
      stock: {{entity: stock, source: till, target: shop, op_retries: 0, after: [products]{stock_fields}}}
      stock_back: {{entity: stock, source: shop, target: till, op_retries: 0, after: [products]}}
"""


def integrations_file(tmp_path: Path, zettle_url: str, bigcommerce_url: str, *, includes_tax: bool = True,
                      flow_options: dict | None = None, settings: dict | None = None,
                      product_fields: dict | None = None, stock_fields: dict | None = None) -> config.IntegrationsFile:
    """``settings``: more connector settings of both connections (``timeout``, ``max_attempts``);
    ``flow_options``: options of the products flow; ``product_fields`` / ``stock_fields``: more fields of the products / stock
    flow (``scope``, ``separate_stock``)."""
    extra = ""
    if flow_options:
        extra = ", options: {" + ", ".join(f"{k}: {v}" for k, v in flow_options.items()) + "}"
    path = tmp_path / "integrations.yaml"
    path.write_text(textwrap.dedent(TEMPLATE.format(
        zettle=zettle_url, bigcommerce=bigcommerce_url, store_hash=BIGCOMMERCE_STORE_HASH,
        includes_tax=str(includes_tax).lower(), extra=extra,
        fields="".join(f", {k}: {v}" for k, v in (product_fields or {}).items()),
        stock_fields="".join(f", {k}: {v}" for k, v in (stock_fields or {}).items()),
        settings="".join(f", {k}: {v}" for k, v in (settings or {}).items()))))
    return config.load(path)


def definitions(tmp_path: Path, zettle_url: str, bigcommerce_url: str, **kwargs):
    return build_definitions(integrations_file(tmp_path, zettle_url, bigcommerce_url, **kwargs))


FULL = {"ops": {"pos_products_fetch": {"config": {"full": True}}}}


class Zettle:
    """The Zettle APIs with the merchant's API key (what the Zettle back office and apps do)."""

    def __init__(self, url: str) -> None:
        self.url = url
        body = requests.post(f"{url}/oauth/token", timeout=10, data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "client_id": ZETTLE_CLIENT_ID,
            "assertion": ZETTLE_API_KEY})
        body.raise_for_status()
        self.headers = {"Authorization": f"Bearer {body.json()['access_token']}"}

    def call(self, method: str, path: str, body: dict | None = None, **kwargs) -> requests.Response:
        resp = requests.request(method, f"{self.url}/products/organizations/self{path}", json=body,
                                headers={**self.headers, **kwargs.pop("headers", {})}, timeout=10, **kwargs)
        assert resp.status_code < 300, (method, path, resp.status_code, resp.text)
        return resp

    def create(self, name: str, variants: list[dict], vat: str = "25", options: list[str] = (),
               online: dict | None = None) -> str:
        """A product; each variant ``{"sku", "amount" (öre), "currency"?, "options"?: {name: value}, "barcode"?}``;
        ``online``: the product's webshop block (``{"status": "HIDDEN"}``: not assigned to the webshop)."""
        product_uuid = str(uuid.uuid1())
        body = {"uuid": product_uuid, "name": name, "vatPercentage": vat, "variants": [
            {"uuid": str(uuid.uuid1()), "name": " ".join((v.get("options") or {}).values()) or name,
             "sku": v["sku"], "barcode": v.get("barcode"),
             "price": {"amount": v["amount"], "currencyId": v.get("currency", "SEK")},
             "options": [{"name": k, "value": x} for k, x in (v.get("options") or {}).items()]}
            for v in variants]}
        if online is not None:
            body["online"] = online
        if options:
            body["variantOptionDefinitions"] = {"definitions": [
                {"name": n, "properties": [{"value": x} for x in dict.fromkeys(
                    v["options"][n] for v in variants)]} for n in options]}
        self.call("POST", "/products", body)
        return product_uuid

    def get(self, product_uuid: str) -> dict:
        return self.call("GET", f"/products/{product_uuid}").json()

    def update(self, product_uuid: str, patch: dict) -> None:
        etag = self.get(product_uuid)["etag"]
        self.call("PUT", f"/products/v2/{product_uuid}", patch, headers={"If-Match": f'"{etag}"'})

    def delete(self, product_uuid: str) -> None:
        self.call("DELETE", f"/products/{product_uuid}")

    # -- stock, as the back office and the till move it ---------------------------------------
    def inventory(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        for _ in range(50):  # the inventory service allows 4 requests a second
            resp = requests.request(method, f"{self.url}/inventory/v3{path}", json=body, headers=self.headers, timeout=10)
            if resp.status_code != 429:
                break
            time.sleep(0.3)
        assert resp.status_code < 300, (method, path, resp.status_code, resp.text)
        return resp

    def track(self, *product_uuids: str) -> None:
        self.inventory("POST", "/products", {"productUuids": list(product_uuids)})

    def restock(self, product_uuid: str, sku: str, quantity: int) -> None:
        """A delivery from the supplier: a SUPPLIER → STORE movement [doc: how-inventories-work]."""
        kinds = {i["inventoryType"]: i["inventoryUuid"] for i in self.inventory("GET", "/inventories").json()}
        self.inventory("POST", "/movements", {"movements": [{
            "productUuid": product_uuid, "variantUuid": self.variant(product_uuid, sku), "change": quantity,
            "from": kinds["SUPPLIER"], "to": kinds["STORE"]}]})

    def sell(self, product_uuid: str, sku: str, quantity: int, refund: bool = False) -> None:
        """A sale (or refund) at the till (the sandbox's till: a purchase and its stock movement)."""
        requests.post(f"{self.url}/__sandbox__/zettle/sale", timeout=10, json={"refund": refund, "lines": [{
            "productUuid": product_uuid, "variantUuid": self.variant(product_uuid, sku), "quantity": quantity}]}
        ).raise_for_status()

    def levels(self) -> dict[str, int]:
        """Every tracked variant's STORE balance, by SKU (one library read, one balance read)."""
        skus = {v["uuid"]: v.get("sku") for p in self.call("GET", "/products/v2").json() for v in p["variants"]}
        return {skus[r["variantUuid"]]: r["balance"] for r in self.inventory("GET", "/stock?limit=1000").json()
                if skus.get(r["variantUuid"])}

    def balance(self, product_uuid: str, sku: str) -> int:
        """The STORE balance of one variant [doc: …/fetch-inventory-balance]."""
        variant = self.variant(product_uuid, sku)
        return next(r["balance"] for r in self.inventory("GET", "/stock?limit=1000").json() if r["variantUuid"] == variant)

    def movements(self) -> int:
        """How many stock movements Zettle has recorded (the sandbox's ledger)."""
        return len(requests.get(f"{self.url}/__sandbox__/zettle/ledger", timeout=10).json())

    def variant(self, product_uuid: str, sku: str) -> str:
        return next(v["uuid"] for v in self.get(product_uuid)["variants"] if v.get("sku") == sku)

    def subscribe(self, destination: str, events: list[str]) -> str:
        """A Pusher subscription for ``destination``; its signingKey [doc: pusher-api_api-reference.md].
        The sandbox's HTTPS rule is switched off first: the test's receiver listens on plain http."""
        requests.post(f"{self.url}/__sandbox__/zettle/allow-http", json={"allow": True}, timeout=10).raise_for_status()
        answer = requests.post(f"{self.url}/pusher/organizations/self/subscriptions", headers=self.headers, timeout=10,
                               json={"uuid": str(uuid.uuid1()), "transportName": "WEBHOOK", "eventNames": events,
                                     "destination": destination, "contactEmail": "kassa@example.se"})
        assert answer.status_code == 200, answer.text
        return answer.json()["signingKey"]


class BigCommerce:
    """The store's API with an API account's token (what the merchant's control panel does)."""

    def __init__(self, url: str) -> None:
        self.base = f"{url}/stores/{BIGCOMMERCE_STORE_HASH}"
        self.headers = {"X-Auth-Token": BIGCOMMERCE_TOKEN, "Accept": "application/json",
                        "Content-Type": "application/json"}

    def call(self, method: str, path: str, body=None, **params) -> dict | list | None:
        resp = requests.request(method, f"{self.base}{path}", json=body, params=params or None,
                                headers=self.headers, timeout=10)
        assert resp.status_code < 300, (method, path, resp.status_code, resp.text)
        return resp.json() if resp.content else None

    def products(self) -> list[dict]:
        return self.call("GET", "/v3/catalog/products", include="variants", limit=250)["data"]

    def view(self) -> tuple[list[str], dict[str, int], dict[str, float]]:
        """(every SKU the store holds, once per variant or simple product; the level of each; the price
        of each simple product), all pages."""
        skus, levels, prices, page = [], {}, {}, 1
        while True:
            body = self.call("GET", "/v3/catalog/products", include="variants", limit=250, page=page)
            for product in body["data"]:
                for v in product.get("variants") or []:
                    if v.get("sku"):
                        skus.append(v["sku"])
                        simple = not v["option_values"]
                        levels[v["sku"]] = product["inventory_level"] if simple else v["inventory_level"]
                        if simple:
                            prices[v["sku"]] = product["price"]
            if page >= body["meta"]["pagination"]["total_pages"]:
                return skus, levels, prices
            page += 1

    def by_sku(self, sku: str) -> list[dict]:
        """The variants (base variants too) holding ``sku``, whatever its case (SKUs are unique
        regardless of case)."""
        return [v for v in self.call("GET", "/v3/catalog/variants", limit=250)["data"]
                if v["sku"].casefold() == sku.casefold()]

    def product(self, product_id: int) -> dict:
        return self.call("GET", f"/v3/catalog/products/{product_id}", include="variants")["data"]

    def order(self, sku: str, quantity: int) -> None:
        """A shopper checks out (the sandbox's checkout: an order, and the stock it takes)."""
        requests.post(self.base.split("/stores/")[0] + "/__sandbox__/bigcommerce/order", timeout=10,
                      json={"lines": [{"sku": sku, "quantity": quantity}]}).raise_for_status()

    def stock(self, sku: str) -> tuple[str, int]:
        """(the product's inventory_tracking, the level of ``sku``) as the catalog shows them."""
        variant = self.by_sku(sku)[0]
        product = self.product(variant["product_id"])
        level = product["inventory_level"] if not variant["option_values"] else variant["inventory_level"]
        return product["inventory_tracking"], level

    def category_id(self, name: str) -> int | None:
        found = self.call("GET", "/v3/catalog/categories", name=name)["data"]
        return found[0]["id"] if found else None
