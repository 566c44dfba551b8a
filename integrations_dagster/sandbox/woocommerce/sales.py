"""Orders and customers: defaults, items and money (:mod:`.ordering`), status dates, customer rules.

A new order takes the shop's currency and whether its prices include VAT from the shop's settings
at creation (``set_prices_include_tax`` in the REST controller's ``save_object``) [source:
rest-api/Controllers/Version3/class-wc-rest-orders-controller.php]; its money is recomputed on every
write as WooCommerce does after a REST write.
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from typing import Any

from integrations_dagster.sandbox.woocommerce import taxes, views
from integrations_dagster.sandbox.woocommerce.catalog import PRODUCTS, VARIATIONS, Catalog
from integrations_dagster.sandbox.woocommerce.clock import dated, now_gmt
from integrations_dagster.sandbox.woocommerce.documents import WooDocuments
from integrations_dagster.sandbox.woocommerce.errors import WooError, invalid_id, invalid_param
from integrations_dagster.sandbox.woocommerce.notes import OrderNotes
from integrations_dagster.sandbox.woocommerce.ordering import OrderItems
from integrations_dagster.sandbox.woocommerce.schema import CUSTOMER_FIELDS, ORDER_FIELDS, validate
from integrations_dagster.sandbox.woocommerce.setup import ShopSetup
from integrations_dagster.sandbox.woocommerce.webhooks import fire, mark

ORDERS, CUSTOMERS = "orders", "customers"
WC_VERSION = "9.4.2"
_BILLING = ("first_name", "last_name", "company", "address_1", "address_2", "city", "state", "postcode",
            "country", "email", "phone")
_SHIPPING = _BILLING[:9]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NUMERIC = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")  # PHP's is_numeric, on a trimmed string
# Where each kind of item keeps what WooCommerce stores as its ``order_item_name`` (``get_name()``): a
# shipping line's method title, a coupon's code, a tax line's rate code [source: woocommerce/woocommerce,
# plugins/woocommerce/includes/data-stores/abstract-wc-order-item-type-data-store.php create;
# class-wc-order-item-shipping.php set_method_title; class-wc-order-item-coupon.php and
# class-wc-order-item-tax.php get_name].
_ITEM_NAMES = (("line_items", "name"), ("shipping_lines", "method_title"), ("fee_lines", "name"),
               ("coupon_lines", "code"), ("tax_lines", "rate_code"))


def address_index(address: dict, keys: tuple[str, ...]) -> str:
    """What WooCommerce stores as ``_billing_address_index`` / ``_shipping_address_index``: the
    address's fields joined with single spaces, empty ones too, in ``WC_Order``'s order (billing:
    first_name .. country, email, phone; shipping: first_name .. country, phone) [source:
    woocommerce/woocommerce, plugins/woocommerce/includes/data-stores/class-wc-order-data-store-cpt.php
    update_post_meta ``implode( ' ', $order->get_address( 'billing' ) )``, and the same in
    src/Internal/DataStores/Orders/OrdersTableDataStore.php update_address_index_meta;
    includes/class-wc-order.php ``$data``]. The sandbox keeps no shipping phone: "" there."""
    return " ".join(str(address.get(key, "")) for key in keys)


def _as_order_id(term: str) -> int | None:
    """``absint( $term )`` of a numeric term, the id the ``order_id`` filter looks for."""
    if not _NUMERIC.fullmatch(term):
        return None
    number = abs(Decimal(term))
    return int(number) if number < 2 ** 63 else None


class Sales:
    def __init__(self, store: WooDocuments, catalog: Catalog, setup: ShopSetup) -> None:
        self.store, self.catalog, self.setup = store, catalog, setup
        self.notes = OrderNotes(store)
        self.items = OrderItems(store, setup, self._item_id)

    # -- orders --------------------------------------------------------------------------------
    def order_statuses(self) -> tuple[str, ...]:
        """The statuses an order may be given: the shop's own (core and plugins'), and trash."""
        return (*(slug for slug, _ in self.setup.order_statuses()), "trash")

    def order(self, oid: int) -> dict:
        doc = self.store.get(ORDERS, oid)
        if doc is None:
            raise invalid_id("shop_order")
        return doc

    def search_orders(self, term: str) -> list[int]:
        """The ids of the orders ``GET /orders?search=`` finds for ``term`` (see ``listing.search_term``).

        Emulated: WooCommerce 9.4 on HPOS, new shops' order storage since 8.2 (GUESS: third-party docs
        only, e.g. skills.sh "woocommerce-data"), where the REST controller passes
        ``s`` to ``WC_Order_Query`` [source: woocommerce/woocommerce, plugins/woocommerce/includes/
        rest-api/Controllers/Version2/class-wc-rest-orders-v2-controller.php get_objects] and
        ``OrdersTableSearchQuery`` ORs its core filters, as no ``search_filter`` is given [source:
        plugins/woocommerce/src/Internal/DataStores/Orders/OrdersTableSearchQuery.php
        sanitize_search_filters, generate_where, generate_where_for_search_filter]:

        - ``order_id``: the order whose id is the term read as a number (``is_numeric``, ``absint``);
        - ``transaction_id``, ``LIKE %term%``;
        - ``customers``: the ``_billing_address_index`` / ``_shipping_address_index`` meta, ``LIKE
          %term%`` when the HPOS full-text index option is not on (GUESS: it is off unless a shop
          turns it on), see :func:`address_index`;
        - ``customer_email``: ``billing_email LIKE term%``, already found through the billing index;
        - ``products``: any of the order's items' ``order_item_name``, ``LIKE %term%``.

        ``LIKE`` there runs under WordPress's case-insensitive collation, so: a substring, any case
        (GUESS: the collation's accent folding, "a" finding "å", is not emulated). The legacy posts
        storage (``WC_Order_Data_Store_CPT::search_orders``) finds the same but for the transaction id,
        and searches the posts' title and excerpt when nothing matched [source: plugins/woocommerce/
        includes/data-stores/class-wc-order-data-store-cpt.php search_orders;
        class-wc-rest-orders-v2-controller.php prepare_objects_query]: not emulated.
        """
        needle = term.casefold()
        wanted = _as_order_id(term)
        found = []
        for doc in self.store.find(ORDERS):
            texts = [address_index(doc["billing"], _BILLING), address_index(doc["shipping"], (*_SHIPPING, "phone")),
                     doc.get("transaction_id", ""),
                     *(item.get(key, "") for part, key in _ITEM_NAMES for item in doc.get(part, []))]
            if doc["id"] == wanted or any(needle in str(text).casefold() for text in texts):
                found.append(doc["id"])
        return found

    def create_order(self, body: Any) -> dict:
        data = validate(body, ORDER_FIELDS, {"status": self.order_statuses()})
        now = now_gmt()
        doc: dict[str, Any] = {
            "parent_id": 0, "number": "", "order_key": "", "created_via": "rest-api", "version": WC_VERSION,
            "status": "pending", "currency": self.setup.get("woocommerce_currency"), **dated("date_created", now),
            **dated("date_modified", now), "discount_total": "0", "discount_tax": "0", "shipping_total": "0",
            "shipping_tax": "0", "cart_tax": "0", "total": "0", "total_tax": "0",
            "prices_include_tax": self.setup.get("woocommerce_prices_include_tax") == "yes",
            "customer_id": 0, "customer_ip_address": "", "customer_user_agent": "", "customer_note": "",
            "billing": dict.fromkeys(_BILLING, ""), "shipping": dict.fromkeys(_SHIPPING, ""),
            "payment_method": "", "payment_method_title": "", "transaction_id": "",
            **dated("date_paid", None), **dated("date_completed", None), "cart_hash": "", "meta_data": [],
            "line_items": [], "tax_lines": [], "shipping_lines": [], "fee_lines": [], "coupon_lines": [],
            "refunds": [],
        }
        at = mark()  # woocommerce_new_order runs before set_paid's stock reduction (payment_complete)
        with self.store.transaction():
            self._apply(doc, data, creating=True)
            doc["id"] = self.store.insert(ORDERS, doc)
            doc["number"] = str(doc["id"])
            doc["order_key"] = "wc_order_" + hashlib.sha1(f"order-{doc['id']}".encode()).hexdigest()[:13]
            self._save(doc)
            self.notes.on_status(doc, "pending", doc["status"])  # created past pending: that transition's mail
        fire("order.created", doc["id"], at=at)  # woocommerce_new_order
        return doc

    def update_order(self, oid: int, body: Any) -> dict:
        data = validate(body, ORDER_FIELDS, {"status": self.order_statuses()})
        with self.store.transaction():
            doc = self.order(oid)
            self._apply(doc, data, creating=False)
            doc.update(dated("date_modified", now_gmt()))
            self._save(doc)
        fire("order.updated", oid)  # woocommerce_update_order
        return doc

    def delete_order(self, oid: int, force: bool) -> dict:
        with self.store.transaction():
            doc = self.order(oid)
            if force:
                self.store.delete(ORDERS, oid)
            else:
                doc["status"] = "trash"
                self._save(doc)
                fire("order.deleted", oid)  # woocommerce_trash_order; a forced delete: no topic's hook
        return doc

    def _apply(self, doc: dict, data: dict, creating: bool) -> None:
        if data.get("customer_id") and self.store.get(CUSTOMERS, data["customer_id"]) is None:
            raise WooError(400, "woocommerce_rest_invalid_customer_id", "Customer ID is invalid.")
        for part, keys in (("billing", _BILLING), ("shipping", _SHIPPING)):
            if part in data:
                doc[part] = {**doc[part], **{k: str(v) for k, v in data[part].items() if k in keys}}
        email = doc["billing"].get("email", "")
        if email and not _EMAIL.match(email):
            raise invalid_param("billing", "Invalid email address.")
        for name in ("parent_id", "currency", "customer_id", "customer_note", "payment_method",
                     "payment_method_title", "transaction_id"):
            if name in data:
                doc[name] = data[name]
        if "meta_data" in data:
            doc["meta_data"] = doc["meta_data"] + [
                {"id": len(doc["meta_data"]) + i + 1, "key": m["key"], "value": m.get("value")}
                for i, m in enumerate(data["meta_data"]) if isinstance(m, dict) and "key" in m]
        if "line_items" in data:
            self._line_items(doc, data["line_items"], creating)
        if "shipping_lines" in data:
            doc["shipping_lines"] = [self.items.shipping_line(x) for x in data["shipping_lines"] if isinstance(x, dict)]
        if "fee_lines" in data:
            doc["fee_lines"] = [self.items.fee_line(x) for x in data["fee_lines"] if isinstance(x, dict)]
        if "coupon_lines" in data:
            doc["coupon_lines"] = self.items.coupon_lines(data["coupon_lines"])
        try:
            self.items.recompute(doc)
        except taxes.SandboxLimit as exc:
            raise WooError(400, "sandbox_not_emulated", str(exc)) from None
        if data.get("set_paid"):
            data.setdefault("status", "processing")
            self._reduce_stock(doc)
        if "status" in data:
            self._status(doc, data["status"])

    def _status(self, doc: dict, status: str) -> None:
        now = now_gmt()
        if status in ("processing", "completed") and not doc["date_paid"]:
            doc.update(dated("date_paid", now))
        if status == "completed" and doc["status"] != "completed":
            doc.update(dated("date_completed", now))
        old, doc["status"] = doc["status"], status
        if doc.get("id"):  # (a new order's transition from pending mails once it has its id)
            self.notes.on_status(doc, old, status)

    def _line_items(self, doc: dict, items: list, creating: bool) -> None:
        lines = {line["id"]: line for line in doc["line_items"]}
        for posted in items:
            if not isinstance(posted, dict):
                raise invalid_param("line_items", "line_items[0] is not of type object.")
            existing = lines.get(posted.get("id")) if not creating else None
            if existing and posted.get("quantity") in (0, "0"):
                del lines[existing["id"]]
                continue
            line = self._line(posted, existing, doc)
            lines[line["id"]] = line
        doc["line_items"] = list(lines.values())

    def _line(self, posted: dict, existing: dict | None, order: dict) -> dict:
        product = variation = None
        if posted.get("sku"):
            product, variation = self._by_sku(str(posted["sku"]))
        elif posted.get("variation_id") or posted.get("product_id") or not existing:
            if not posted.get("product_id") and not posted.get("variation_id"):
                raise WooError(400, "woocommerce_rest_required_product_reference", "Product ID or SKU is required.")
            product = self.store.get(PRODUCTS, int(posted.get("product_id") or 0))
            if posted.get("variation_id"):
                variation = self.store.get(VARIATIONS, int(posted["variation_id"]))
                if variation and not product:
                    product = self.store.get(PRODUCTS, variation["parent_id"])
                if variation is None or product is None or variation["parent_id"] != product["id"]:
                    product = None
        elif existing:
            product = self.store.get(PRODUCTS, existing["product_id"])
            variation = self.store.get(VARIATIONS, existing["variation_id"]) if existing["variation_id"] else None
        if product is None:
            raise WooError(400, "woocommerce_rest_invalid_product_id", "Invalid product ID.")
        return self.items.line(posted, existing, product, variation, order)

    def _by_sku(self, sku: str) -> tuple[dict | None, dict | None]:
        for row in self.store.find(VARIATIONS, key=sku):
            return self.store.get(PRODUCTS, row["parent_id"]), row
        for row in self.store.find(PRODUCTS, key=sku):
            return row, None
        return None, None

    def _reduce_stock(self, doc: dict) -> None:
        """``set_paid`` reduces stock where it is managed: a variation in its parent's pool reduces
        the parent [source: wc-stock-functions.php wc_update_product_stock, get_stock_managed_by_id]."""
        for line in doc["line_items"]:
            collection, item_id = ((VARIATIONS, line["variation_id"]) if line["variation_id"]
                                   else (PRODUCTS, line["product_id"]))
            item = self.store.get(collection, item_id)
            if item and collection == VARIATIONS and views.pooled(item, self.store.get(PRODUCTS, item["parent_id"])):
                collection, item_id = PRODUCTS, item["parent_id"]
                item = self.store.get(PRODUCTS, item_id)
            if item and item["manage_stock"]:
                body = {"stock_quantity": (item["stock_quantity"] or 0) - line["quantity"]}
                if collection == VARIATIONS:
                    self.catalog.update_variation(item["parent_id"], item_id, body)
                else:
                    self.catalog.update_product(item_id, body)

    def _item_id(self) -> int:
        return self.store.insert("order_items", {})

    def _save(self, doc: dict) -> None:
        self.store.put(ORDERS, doc["id"], doc, key=doc["number"] or None, modified=doc["date_modified_gmt"])

    # -- customers -----------------------------------------------------------------------------
    def customer(self, cid: int) -> dict:
        doc = self.store.get(CUSTOMERS, cid)
        if doc is None:
            raise WooError(404, "woocommerce_rest_invalid_id", "Invalid resource ID.")
        return doc

    def create_customer(self, body: Any) -> dict:
        if not isinstance(body, dict) or not body.get("email"):
            raise WooError(400, "rest_missing_callback_param", "Missing parameter(s): email")
        data = validate(body, CUSTOMER_FIELDS)
        now = now_gmt()
        doc = {**dated("date_created", now), **dated("date_modified", now), "email": "", "first_name": "",
               "last_name": "", "role": "customer", "username": "", "billing": dict.fromkeys(_BILLING, ""),
               "shipping": dict.fromkeys(_SHIPPING, ""), "is_paying_customer": False, "avatar_url": "",
               "meta_data": []}
        with self.store.transaction():
            self._apply_customer(doc, data)
            doc["id"] = self.store.insert(CUSTOMERS, doc)
            self.store.put(CUSTOMERS, doc["id"], doc, key=doc["email"], modified=doc["date_modified_gmt"])
        fire("customer.created", doc["id"])  # user_register
        return doc

    def update_customer(self, cid: int, body: Any) -> dict:
        data = validate(body, CUSTOMER_FIELDS)
        with self.store.transaction():
            doc = self.customer(cid)
            self._apply_customer(doc, data)
            doc.update(dated("date_modified", now_gmt()))
            self.store.put(CUSTOMERS, cid, doc, key=doc["email"], modified=doc["date_modified_gmt"])
        fire("customer.updated", cid)  # profile_update
        return doc

    def _apply_customer(self, doc: dict, data: dict) -> None:
        email = data.get("email", doc["email"]).strip().lower()
        if not _EMAIL.match(email):
            raise WooError(400, "registration-error-invalid-email", "Please provide a valid email address.")
        if self.store.exists(CUSTOMERS, "key = ? AND id != ?", [email, doc.get("id", -1)]):
            raise WooError(400, "registration-error-email-exists",
                           "An account is already registered with your email address. Please log in.")
        username = data.get("username") or doc["username"] or email.split("@")[0]
        if self.store.exists(CUSTOMERS, "json_extract(data, '$.username') = ? AND id != ?",
                             [username, doc.get("id", -1)]):
            raise WooError(400, "registration-error-username-exists",
                           "An account is already registered with that username. Please choose another.")
        doc.update(email=email, username=username)
        for name in ("first_name", "last_name"):
            if name in data:
                doc[name] = data[name]
        for part, keys in (("billing", _BILLING), ("shipping", _SHIPPING)):
            if part in data:
                doc[part] = {**doc[part], **{k: str(v) for k, v in data[part].items() if k in keys}}
        if "meta_data" in data:
            doc["meta_data"] = [{"id": i + 1, "key": m["key"], "value": m.get("value")}
                                for i, m in enumerate(data["meta_data"]) if isinstance(m, dict) and "key" in m]
        doc["avatar_url"] = "https://secure.gravatar.com/avatar/" + hashlib.md5(email.encode()).hexdigest() + "?s=96"
