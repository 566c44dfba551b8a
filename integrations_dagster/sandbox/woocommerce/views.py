"""What a REST answer shows of a stored product or variation: WooCommerce's getters in view context.

The store keeps each record's own values (what WooCommerce calls the *edit* context). The API shows
many of a variation's values through its parent, and formats descriptions. Every rule below is read
from WooCommerce's source [source: woocommerce/woocommerce, plugins/woocommerce/includes/
class-wc-product-variation.php (get_sku, get_weight, get_length/width/height, get_tax_class,
get_manage_stock, get_stock_quantity, get_backorders, get_shipping_class_id, get_image_id) and
rest-api/Controllers/Version3/class-wc-rest-product-variations-controller.php
prepare_object_for_response, which calls those getters without a context, so even ``context=edit``
shows the inherited SKU, weight, dimensions and stock; only ``tax_class`` and ``image`` honour it]:

* ``sku``, ``weight`` and each of ``dimensions`` fall back to the parent's when the variation's own
  is empty in PHP's sense (``""`` and ``"0"`` are empty): several SKU-less variations therefore
  answer with their parent's SKU;
* ``tax_class`` stored as ``"parent"`` (a new variation's default) answers the parent's class;
* ``manage_stock`` answers the string ``"parent"`` when the variation does not manage stock and the
  parent does (WooCommerce issue #19500, PR #19598), and then ``stock_quantity``/``backorders`` are
  the parent's: one pool, shown on every such variation;
* ``shipping_class(_id)`` and ``image`` fall back to the parent's; description, prices, GTIN never.

Products: ``description`` is ``wpautop(do_shortcode(...))`` in view context; ``short_description`` and
a variation's ``description`` go through the ``woocommerce_short_description`` filters (wpautop
among them) [source: .../Version2/class-wc-rest-products-v2-controller.php get_product_data;
includes/wc-core-functions.php]. ``wptexturize`` and shortcodes are not emulated (guess: plain text
without quotes or ``--`` is unchanged by them).
"""

from __future__ import annotations

import re
from typing import Any

from integrations_dagster.sandbox.woocommerce.catalog import PRODUCTS, VARIATIONS, SHIPPING_CLASSES

_BLOCK = re.compile(r"^<(?:p|div|ul|ol|li|h[1-6]|table|thead|tbody|tr|td|th|blockquote|pre|dl|dd|dt|form|hr|"
                    r"section|article|aside|header|footer|figure|address|fieldset)\b", re.I)


def php_empty(value: Any) -> bool:
    """PHP's ``empty()``: ``""``, ``"0"``, 0, None and False are empty."""
    return value in (None, "", "0", 0, False)


def wpautop(text: str | None) -> str:
    """WordPress's ``wpautop`` for the texts shops hold: blank lines make paragraphs (``<p>…</p>\\n``),
    a single newline ``<br />\\n``, and a paragraph that already is a block tag is kept as it is
    [source: WordPress wp-includes/formatting.php wpautop; nested blocks and <pre> are not emulated]."""
    if text is None or not text.strip():
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for para in re.split(r"\n\s*\n", text.strip()):
        para = para.strip()
        if not para:
            continue
        if _BLOCK.match(para):
            out.append(para + "\n")
        else:
            out.append("<p>" + re.sub(r"\s*\n\s*", "<br />\n", para) + "</p>\n")
    return "".join(out)


def product(doc: dict, context: str) -> dict:
    if context == "edit":
        return doc
    return {**doc, "description": wpautop(doc.get("description")),
            "short_description": wpautop(doc.get("short_description"))}


def variation(doc: dict, parent: dict | None, context: str) -> dict:
    """A stored variation as the API shows it (``parent``: the stored parent product)."""
    parent = parent or {}
    out = dict(doc)
    for name in ("sku", "weight"):
        if php_empty(doc.get(name)):
            out[name] = parent.get(name) or ""
    own_dims, parent_dims = doc.get("dimensions") or {}, parent.get("dimensions") or {}
    out["dimensions"] = {k: own_dims.get(k) if not php_empty(own_dims.get(k)) else (parent_dims.get(k) or "")
                         for k in ("length", "width", "height")}
    if doc.get("tax_class") == "parent" and context != "edit":
        out["tax_class"] = parent.get("tax_class") or ""
    pooled = not doc.get("manage_stock") and bool(parent.get("manage_stock"))
    if pooled:
        out["manage_stock"] = "parent"
        out["stock_quantity"] = int(parent.get("stock_quantity") or 0)
        out["backorders"] = parent.get("backorders", "no")
        out["backorders_allowed"] = out["backorders"] != "no"
        out["stock_status"] = parent.get("stock_status", out.get("stock_status"))
        out["backordered"] = out["stock_status"] == "onbackorder"
    elif not doc.get("manage_stock"):
        out["stock_quantity"] = None
    if not doc.get("shipping_class_id") and parent.get("shipping_class_id"):
        out["shipping_class_id"] = parent["shipping_class_id"]
        out["shipping_class"] = SHIPPING_CLASSES.get(parent["shipping_class_id"], "")
    if not doc.get("image") and parent.get("images") and context != "edit":
        out["image"] = parent["images"][0]
    out["description"] = wpautop(doc.get("description"))
    out["name"] = ", ".join(a.get("option", "") for a in doc.get("attributes") or [] if a.get("option"))
    out["type"] = "variation"
    return out


def item_name(product: dict, variation: dict | None) -> str:
    """An order item's name: the product's, or for a variation "Parent - Black, M" (the values are
    left out from three attributes on, or when an attribute name holds a dash)
    [source: data-stores/class-wc-product-variation-data-store-cpt.php generate_product_title]."""
    if not variation:
        return product["name"]
    attributes = [a for a in variation.get("attributes", []) if a.get("option")]
    if not attributes or len(attributes) >= 3 or (len(attributes) > 1 and any("-" in a["name"] for a in attributes)):
        return product["name"]
    return f"{product['name']} - {', '.join(a['option'] for a in attributes)}"


def pooled(doc: dict, parent: dict | None) -> bool:
    """Whether a stored variation's stock is its parent's pool (``manage_stock`` shows ``"parent"``)."""
    return not doc.get("manage_stock") and bool((parent or {}).get("manage_stock"))


def view_sku(doc: dict, parent: dict | None) -> str:
    """The SKU WooCommerce shows for a product or variation (``get_sku()`` in view context)."""
    own = doc.get("sku") or ""
    return own if not php_empty(own) else ((parent or {}).get("sku") or "")


def present(kind: str, doc: dict, context: str, parent_of, listed_as: str | None = None) -> dict:
    """``doc`` as the API answers it; ``parent_of(pid)`` gives a variation's stored parent.

    A variation the products list answers (its SKU filter) goes through the products controller,
    which names it by its post title, "Parent - Black, M" [source: Version2
    class-wc-rest-products-v2-controller.php get_product_data: ``$product->get_name()``]; its other
    fields are shown as the variations endpoint shows them (the products controller's extra
    fields for a variation - categories, tags... - are not emulated).
    """
    if kind == PRODUCTS:
        return product(doc, context)
    if kind == VARIATIONS:
        parent = parent_of(doc["parent_id"])
        shown = variation(doc, parent, context)
        if listed_as == PRODUCTS and parent is not None:
            shown["name"] = item_name(parent, doc)
        return shown
    return doc
