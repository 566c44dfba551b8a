"""Adapter of the BigCommerce v3 catalog: the requests a product exporter needs, nothing else.

Lookups by SKU go through ``GET /catalog/variants?sku=``: every product has at least its base
variant, which carries the product's own SKU, so one filter finds a simple product and a variant
alike [spec: product-variants_catalog.v3.yml#getVariants, SkuParam "Filter items by variant SKU";
doc: catalog/index.mdx "the product is its own variant - called a base variant"]. SKUs are unique
store-wide regardless of case [spec: productVariant_Full.sku], so the index keys are casefolded.
Lists are paged with ``page``/``limit`` (≤ 250) and ``meta.pagination.total_pages`` [spec:
pagination_Full]; variants are updated in batches of 50 [spec: updateVariantsBatch].
"""

from __future__ import annotations

from typing import Any, Iterator

from integrations_dagster.connectors.http import HttpClient

PAGE_LIMIT = 250  # [spec: LimitParam maximum]
VARIANT_BATCH = 50  # [spec: updateVariantsBatch "the limit is 50 variants"]


class Catalog:
    def __init__(self, http: HttpClient) -> None:
        self.http = http

    def pages(self, path: str, **params: Any) -> Iterator[dict]:
        """Every item of a v3 list, page by page."""
        page = 1
        while True:
            body = self.http.get(path, **params, page=page, limit=PAGE_LIMIT)
            yield from body.get("data") or []
            pagination = (body.get("meta") or {}).get("pagination") or {}
            if page >= int(pagination.get("total_pages") or 1):
                return
            page += 1

    # -- lookups -------------------------------------------------------------------------------
    def variant_by_sku(self, sku: str) -> dict | None:
        """The variant (base variants included) holding ``sku``, or None."""
        found = self.http.get("/v3/catalog/variants", sku=sku).get("data") or []
        return next((v for v in found if str(v.get("sku", "")).casefold() == sku.casefold()), None)

    def sku_index(self) -> dict[str, tuple[int, int]]:
        """casefolded SKU -> (product id, variant id) of every variant in the store."""
        return {str(v["sku"]).casefold(): (int(v["product_id"]), int(v["id"]))
                for v in self.pages("/v3/catalog/variants") if v.get("sku")}

    def variants(self, product_id: int | str) -> list[dict]:
        return list(self.pages(f"/v3/catalog/products/{product_id}/variants"))

    # -- writes --------------------------------------------------------------------------------
    def create(self, body: dict) -> dict:
        return self.http.request("POST", "/v3/catalog/products", json=body,
                                 params={"include": "variants"}).json()["data"]

    def update(self, product_id: int | str, body: dict) -> dict | None:
        """PUT the fields; None when the product is gone (the merchant deleted it)."""
        resp = self.http.request("PUT", f"/v3/catalog/products/{product_id}", json=body, expect=(404,))
        return None if resp.status_code == 404 else resp.json().get("data")

    def delete(self, product_id: int | str) -> None:
        self.http.request("DELETE", f"/v3/catalog/products/{product_id}", expect=(404,))

    def update_variants(self, items: list[dict]) -> None:
        for start in range(0, len(items), VARIANT_BATCH):
            self.http.request("PUT", "/v3/catalog/variants", json=items[start:start + VARIANT_BATCH])

    def delete_variant(self, product_id: int | str, variant_id: int | str) -> None:
        self.http.request("DELETE", f"/v3/catalog/products/{product_id}/variants/{variant_id}", expect=(404,))

    def add_variant(self, product_id: int | str, sku: str, values: list[dict[str, str]], fields: dict) -> dict:
        """A new variant on an existing product: its option values must exist first, by id
        [doc: catalog/index.mdx "The ID in the option_values array is the ID from the variant option
        response"]; missing options and values are created one at a time [spec: createProductVariantOption]."""
        options = {o["display_name"]: o for o in self.pages(f"/v3/catalog/products/{product_id}/options")}
        chosen = []
        for value in values:
            option = options.get(value["option_display_name"])
            if option is None:
                option = self.http.request("POST", f"/v3/catalog/products/{product_id}/options", json={
                    "display_name": value["option_display_name"], "type": "rectangles",
                    "option_values": [{"label": value["label"], "sort_order": 0}]}).json()["data"]
                options[option["display_name"]] = option
            match = next((v for v in option.get("option_values") or [] if v.get("label") == value["label"]), None)
            if match is None:
                match = self.http.request(
                    "POST", f"/v3/catalog/products/{product_id}/options/{option['id']}/values",
                    json={"label": value["label"], "sort_order": len(option.get("option_values") or [])}).json()["data"]
                option.setdefault("option_values", []).append(match)
            chosen.append({"id": match["id"], "option_id": option["id"]})
        return self.http.request("POST", f"/v3/catalog/products/{product_id}/variants",
                                 json={"sku": sku, "option_values": chosen, **fields}).json()["data"]

    def category(self, name: str) -> int:
        """The id of the top-level category ``name``, created when missing [spec: categories_catalog
        getCategories ``name`` filter, createCategory ``parent_id`` 0 = top level]."""
        for found in self.http.get("/v3/catalog/categories", name=name).get("data") or []:
            if found.get("name") == name and not found.get("parent_id"):
                return int(found["id"])
        return int(self.http.request("POST", "/v3/catalog/categories",
                                     json={"name": name, "parent_id": 0}).json()["data"]["id"])

    def store(self) -> dict:
        """Store information (currency, weight units) [spec: orders.v2 / store info]."""
        return self.http.get("/v2/store")
