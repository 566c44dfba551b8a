"""The shop's own setup as its REST API shows it: settings, tax rates and classes, coupons.

* ``GET /settings/{group}`` answers an array of ``{id, label, description, type, default, options?,
  tip?, value}``; ``GET``/``PUT /settings/{group}/{id}`` one of them with its ``group_id``; checkbox
  values are ``"yes"``/``"no"``; ``woocommerce_tax_classes`` is ``""`` on every shop since 3.7 (the
  classes moved to ``/taxes/classes``) [source: includes/rest-api/Controllers/Version2/
  class-wc-rest-setting-options-v2-controller.php, includes/class-wc-register-wp-admin-settings.php,
  admin/settings/class-wc-settings-general.php, views/settings-tax.php; docs: _setting-options.md].
* ``GET /taxes`` answers rates with ``rate`` as text with 4 decimals ("25.0000") and ``class``
  "standard" for the standard class; ``GET /taxes/classes`` ``[{slug, name}]``, standard first
  [source: class-wc-rest-taxes-v1-controller.php; docs: _taxes.md, _tax-classes.md].
* Coupons: ``POST /coupons`` with ``code``, ``discount_type`` (percent, fixed_cart, fixed_product)
  and ``amount``; an order names them in ``coupon_lines`` by code [docs: _coupons.md].
"""

from __future__ import annotations

import json

from decimal import Decimal
from typing import Any

from integrations_dagster.sandbox.woocommerce import taxes
from integrations_dagster.sandbox.woocommerce.documents import WooDocuments
from integrations_dagster.sandbox.woocommerce.errors import WooError, invalid_param
from integrations_dagster.sandbox.woocommerce.schema import fmt_money

OPTIONS, COUPONS = "options", "coupons"
_YES_NO = {"yes": "Yes", "no": "No"}
# group -> (id, label, type, default, options)
SETTINGS: dict[str, list[tuple[str, str, str, str, dict[str, str] | None]]] = {
    "general": [
        ("woocommerce_default_country", "Country / State", "select", "US:CA", {"SE": "Sweden", "NO": "Norway"}),
        ("woocommerce_calc_taxes", "Enable taxes", "checkbox", "no", None),
        ("woocommerce_currency", "Currency", "select", "USD",
         {"SEK": "Swedish krona (kr) — SEK", "EUR": "Euro (€) — EUR", "USD": "United States (US) dollar ($) — USD"}),
        ("woocommerce_price_num_decimals", "Number of decimals", "number", "2", None),
    ],
    "tax": [
        ("woocommerce_prices_include_tax", "Prices entered with tax", "radio", "no",
         {"yes": "Yes, I will enter prices inclusive of tax", "no": "No, I will enter prices exclusive of tax"}),
        ("woocommerce_tax_based_on", "Calculate tax based on", "select", "shipping",
         {"shipping": "Customer shipping address", "billing": "Customer billing address", "base": "Shop base address"}),
        ("woocommerce_shipping_tax_class", "Shipping tax class", "select", "inherit",
         {"inherit": "Shipping tax class based on cart items", **{s: n for s, n in taxes.TAX_CLASSES}}),
        ("woocommerce_tax_round_at_subtotal", "Rounding", "checkbox", "no", None),
        ("woocommerce_tax_classes", "Additional tax classes", "textarea", "", None),
        # A Swedish VAT plugin's option (see taxes.py: a guess standing for such plugins).
        ("se_vat_shipping_proportional", "Split shipping VAT over the goods' rates", "checkbox", "no", None),
    ],
}


# wc_get_order_statuses() of core, slug without "wc-" -> label [source: woocommerce
# includes/wc-order-functions.php wc_get_order_statuses(); Draft is the block checkout's]. A plugin
# adds its own through the `wc_order_statuses` filter; the REST enums and `GET /orders/statuses` are
# built from the same function, so a custom status is as valid as a core one [source: woocommerce
# WC_REST_Orders_V2_Controller::get_order_statuses(), Internal/Orders/OrderStatusRestController].
CORE_ORDER_STATUSES = (("pending", "Pending payment"), ("processing", "Processing"), ("on-hold", "On hold"),
                       ("completed", "Completed"), ("cancelled", "Cancelled"), ("refunded", "Refunded"),
                       ("failed", "Failed"), ("checkout-draft", "Draft"))
CUSTOM_STATUSES_OPTION = "sandbox_custom_order_statuses"  # (the plugin's registration, kept as an option)


class ShopSetup:
    """The shop's options (WordPress's ``wp_options``) and coupons, in the sandbox's store."""

    def __init__(self, store: WooDocuments) -> None:
        self.store = store

    def load_defaults(self) -> None:
        for name, value in taxes.default_settings().items():
            self.set(name, value)

    def order_statuses(self) -> list[tuple[str, str]]:
        """(slug, label) of every order status the shop has: core's, then the plugins' own."""
        return [*CORE_ORDER_STATUSES, *(tuple(s) for s in json.loads(self.get(CUSTOM_STATUSES_OPTION) or "[]"))]

    def register_order_status(self, slug: str, label: str) -> None:
        """What a status plugin does (``register_post_status('wc-<slug>')`` + the filter)."""
        custom = [s for s in json.loads(self.get(CUSTOM_STATUSES_OPTION) or "[]") if s[0] != slug]
        self.set(CUSTOM_STATUSES_OPTION, json.dumps([*custom, [slug, label]]))

    def get(self, name: str) -> str:
        found = self.store.find(OPTIONS, key=name, limit=1)
        return found[0]["value"] if found else taxes.default_settings().get(name, "")

    def set(self, name: str, value: str) -> None:
        found = self.store.find(OPTIONS, key=name, limit=1)
        if found:
            self.store.put(OPTIONS, found[0]["id"], {**found[0], "value": value}, key=name)
        else:
            self.store.insert(OPTIONS, {"value": value}, key=name)

    def setup_for(self, order: dict) -> taxes.Setup:
        """How an order is taxed: its own prices-include-tax flag, the store's rounding now, and the
        country of its shipping address, else billing, else the shop's (``woocommerce_tax_based_on``)."""
        based_on = self.get("woocommerce_tax_based_on")
        address = order.get("shipping") or {}
        if based_on == "billing" or not address.get("country"):
            address = order.get("billing") or {}
        country = address.get("country") if based_on != "base" else None
        return taxes.Setup(
            prices_include_tax=bool(order.get("prices_include_tax")),
            store_prices_include_tax=self.get("woocommerce_prices_include_tax") == "yes",
            round_at_subtotal=self.get("woocommerce_tax_round_at_subtotal") == "yes",
            shipping_tax_class=self.get("woocommerce_shipping_tax_class"),
            proportional_shipping=self.get("se_vat_shipping_proportional") == "yes",
            country=(country or self.base_country()).upper(), base_country=self.base_country(),
        )

    def base_country(self) -> str:
        return self.get("woocommerce_default_country").split(":")[0].upper()

    # -- settings endpoints --------------------------------------------------------------------
    def group(self, group: str) -> list[dict[str, Any]]:
        if group not in SETTINGS:
            raise WooError(404, "rest_setting_setting_group_invalid", "Invalid setting group.")
        return [self._setting(row) for row in SETTINGS[group]]

    def setting(self, group: str, name: str) -> dict[str, Any]:
        row = next((r for r in SETTINGS.get(group, []) if r[0] == name), None)
        if row is None:
            raise WooError(404, "rest_setting_setting_invalid", "Invalid setting.")
        return {**self._setting(row), "group_id": group}

    def update(self, group: str, name: str, body: Any) -> dict[str, Any]:
        current = self.setting(group, name)
        value = body.get("value") if isinstance(body, dict) else None
        if not isinstance(value, str) or (current.get("options") and value not in current["options"]) or (
                current["type"] == "checkbox" and value not in _YES_NO):
            raise invalid_param("value", "value is not valid for this setting.")
        self.set(name, value)
        return self.setting(group, name)

    def _setting(self, row: tuple) -> dict[str, Any]:
        name, label, kind, default, options = row
        out: dict[str, Any] = {"id": name, "label": label, "description": "", "type": kind, "default": default}
        if options:
            out["options"] = options
        out["value"] = self.get(name)
        return out

    # -- taxes ---------------------------------------------------------------------------------
    @staticmethod
    def rates(tax_class: str | None = None) -> list[dict[str, Any]]:
        out = []
        for order, rate in enumerate(taxes.RATES):
            slug = rate.tax_class or "standard"
            if tax_class and tax_class != slug:
                continue
            out.append({"id": rate.id, "country": rate.country, "state": "", "postcode": "", "city": "",
                        "postcodes": [], "cities": [], "rate": format(rate.rate.quantize(Decimal("0.0001")), "f"),
                        "name": rate.name, "priority": rate.priority, "compound": False, "shipping": rate.shipping,
                        "order": order, "class": slug})
        return out

    @staticmethod
    def classes() -> list[dict[str, str]]:
        return [{"slug": slug or "standard", "name": name} for slug, name in taxes.TAX_CLASSES]

    # -- coupons -------------------------------------------------------------------------------
    def create_coupon(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not str(body.get("code") or "").strip():
            raise WooError(400, "rest_missing_callback_param", "Missing parameter(s): code")
        code = str(body["code"]).strip().lower()  # coupon codes are case-insensitive (wc_format_coupon_code)
        if self.coupon(code) is not None:
            raise WooError(400, "woocommerce_rest_coupon_code_already_exists", "The coupon code already exists")
        kind = body.get("discount_type", "fixed_cart")
        if kind not in ("percent", "fixed_cart", "fixed_product"):
            raise invalid_param("discount_type", "discount_type is not one of percent, fixed_cart, fixed_product.")
        try:
            amount = Decimal(str(body.get("amount", "0")))
        except ArithmeticError:
            raise invalid_param("amount", "amount is not of type string.") from None
        doc = {"code": code, "amount": fmt_money(amount), "discount_type": kind, "individual_use": False,
               "usage_count": 0, "date_expires": None}
        doc["id"] = self.store.insert(COUPONS, doc, key=code)
        return doc

    def coupon(self, code: str) -> dict[str, Any] | None:
        found = self.store.find(COUPONS, key=code.strip().lower(), limit=1)
        return found[0] if found else None
