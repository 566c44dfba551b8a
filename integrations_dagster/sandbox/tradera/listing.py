"""First-step validation of ``ShopItemData`` / ``ShopItemVariantData`` and applying it to a stored item.

"The provided ShopItemData data will go through a first step validation and then be added to a processing
queue" [doc: v3 op=AddShopItem]: what fails here is a 400 at once; what needs the seller's account (payment
options, the active-item limit) fails later as a request result (:mod:`.queue`).

Evidenced limits [spec ``#/components/schemas/ShopItemData/properties/<field>`` descriptions]: title 80,
description 7000, ownReferences 60 each, payment/shipping condition 500, images 40 of ≤ 4 MB, ≤ 2 shipping
options (3 when one is Pickup), ``cost`` required, quantity and absoluteQuantity never both, acceptedBuyerId
1/3/4; ``shippingOptionId`` XOR ``shippingProviderId`` [doc: plugin tradera-publish]. That each is refused
with a 400 (not truncated), and the rest of the table (price ≤ 0, empty title, both conditions, unknown ids,
VAT list, required category) is guesses.LISTING_RULES; variants: guesses.VARIANT_RULES.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from integrations_dagster.sandbox.tradera import guesses
from integrations_dagster.sandbox.tradera import reference as ref
from integrations_dagster.sandbox.tradera.shop import Shop
from integrations_dagster.sandbox.tradera.wire import Refusal, parse_time

TITLE_MAX, DESCRIPTION_MAX, OWN_REFERENCE_MAX, CONDITION_MAX = 80, 7000, 60, 500
IMAGES_MAX, IMAGE_MAX_BYTES = 40, 4 * 1024 * 1024
SHIPPING_MAX, SHIPPING_MAX_WITH_PICKUP = 2, 3
ACCEPTED_BUYER_IDS = (1, 3, 4)
BOTH_QUANTITIES = "It is not allowed to provide both AbsoluteQuantity and Quantity in the same request."
# Fields stored as sent (images are stored without their data).
PLAIN_FIELDS = ("title", "description", "descriptionLanguageCodeIso2", "categoryId", "price", "vat",
                "acceptedBuyerId", "itemAttributes", "attributeValues", "shippingOptions", "paymentOptionIds",
                "paymentCondition", "shippingCondition", "ownReferences", "externalId", "activateDate",
                "deactivateDate", "sellerPartNo", "variantData")


def first_step(shop: Shop, data: dict, *, create: bool, variant: bool, item: dict | None = None) -> list[str]:
    """Problems of ``data`` (create, or update of ``item``); each line of the 400's message."""
    problems: list[str] = []
    add = problems.append
    given = {k: v for k, v in data.items() if v is not None}  # guesses.OMITTED_IS_NULL
    title = given.get("title")
    if title is not None and not str(title).strip() or create and title is None and guesses.TITLE_REQUIRED:
        add("Title is required.")
    elif title is not None and len(title) > TITLE_MAX:
        add(f"Title can be at most {TITLE_MAX} characters.")
    if len(given.get("description") or "") > DESCRIPTION_MAX:
        add(f"Description can be at most {DESCRIPTION_MAX} characters.")
    if create and given.get("price") is None and guesses.PRICE_REQUIRED:
        add("Price is required.")
    elif "price" in given and given["price"] <= 0:
        add(guesses.PRICE_NOT_POSITIVE)
    if "quantity" in given and "absoluteQuantity" in given:
        add(BOTH_QUANTITIES)
    elif given.get("absoluteQuantity", 0) < 0 or create and given.get("quantity", 0) < 0:
        add(guesses.QUANTITY_NEGATIVE)
    if "vat" in given and given["vat"] not in guesses.VAT_RATES:
        add(f"Invalid VAT value {given['vat']}; allowed: {', '.join(map(str, guesses.VAT_RATES))}.")
    if "acceptedBuyerId" in given and given["acceptedBuyerId"] not in ACCEPTED_BUYER_IDS:
        add("AcceptedBuyerId must be 1 (Sweden), 3 (International) or 4 (EU).")
    attributes = given.get("itemAttributes") or []
    problems += [f"Unknown item attribute {a}." for a in attributes if a not in ref.ITEM_ATTRIBUTES]
    if {1, 2} <= set(attributes):
        add("An item cannot be both new (1) and used (2).")
    if create and given.get("categoryId") is None and guesses.CATEGORY_REQUIRED:
        add("CategoryId is required.")
    elif "categoryId" in given and given["categoryId"] not in ref.CATEGORY_IDS:
        add(f"Category {given['categoryId']} does not exist.")
    problems += _shipping(given.get("shippingOptions"))
    problems += [f"Unknown payment option {p}." for p in given.get("paymentOptionIds") or []
                 if p not in ref.PAYMENT_TYPES]
    if any(len(r or "") > OWN_REFERENCE_MAX for r in given.get("ownReferences") or []):
        add(f"An own reference can be at most {OWN_REFERENCE_MAX} characters.")
    for name in ("paymentCondition", "shippingCondition"):
        if len(given.get(name) or "") > CONDITION_MAX:
            add(f"{name[0].upper()}{name[1:]} can be at most {CONDITION_MAX} characters.")
    problems += _images(given.get("itemImages"))
    problems += _dates(given, item)
    code = given.get("descriptionLanguageCodeIso2")
    if code is not None and not (len(code) == guesses.LANGUAGE_CODE_LENGTH and code.isalpha()):
        add("DescriptionLanguageCodeIso2 must be a two-letter language code.")
    if variant:
        problems += _variant(shop, given, create=create, item=item)
    return problems


def _shipping(options: list[dict] | None) -> list[str]:
    if not options:
        return []
    problems = []
    pickup = any(o.get("shippingOptionId") == ref.PICKUP_SHIPPING_ID for o in options)
    limit = SHIPPING_MAX_WITH_PICKUP if pickup else SHIPPING_MAX
    if len(options) > limit:
        problems.append(f"At most {SHIPPING_MAX} shipping options ({SHIPPING_MAX_WITH_PICKUP} if Pickup is included).")
    for option in options:
        option_id, provider = option.get("shippingOptionId"), option.get("shippingProviderId")
        if option.get("cost") is None:
            problems.append("Shipping cost is required.")
        elif option["cost"] < 0:
            problems.append("Shipping cost cannot be negative.")
        if option_id is not None and provider is not None:
            problems.append("Use either shippingOptionId or shippingProviderId, not both.")
        elif option_id is not None:
            if option_id not in ref.SHIPPING_TYPES:
                problems.append(f"Unknown shipping option {option_id}.")
        elif provider is None:
            problems.append("A shipping option needs shippingOptionId, or shippingProviderId and shippingProductId.")
        elif (provider, option.get("shippingProductId")) not in ref.SHIPPING_PRODUCT_KEYS:
            problems.append(f"Unknown shipping product {provider}/{option.get('shippingProductId')}.")
    return problems


def _images(images: list[dict] | None) -> list[str]:
    if not images:
        return []
    problems = [f"At most {IMAGES_MAX} images."] if len(images) > IMAGES_MAX else []
    for image in images:
        try:
            size = len(base64.b64decode(image.get("data") or "", validate=True))
        except (binascii.Error, ValueError):
            size = -1
        if size <= 0:
            problems.append("Every image needs base64 data.")
        elif size > IMAGE_MAX_BYTES:
            problems.append("An image can be at most 4 MB.")
    return problems


def _dates(given: dict, item: dict | None) -> list[str]:
    try:
        start = given.get("activateDate") or (item or {}).get("activateDate")
        end = given.get("deactivateDate") or (item or {}).get("deactivateDate")
        if start and end and parse_time(end, "deactivateDate") <= parse_time(start, "activateDate"):
            return ["DeactivateDate must be after ActivateDate."]
    except Refusal as refusal:
        return [refusal.message]
    return []


def attribute_key(attributes: list[dict] | None) -> tuple:
    fold = (lambda s: (s or "").strip().lower()) if guesses.VARIANT_ATTRIBUTES_CASE_INSENSITIVE else \
        (lambda s: (s or "").strip())
    return tuple(sorted((fold(a.get("name")), fold(a.get("value"))) for a in attributes or []))


def _variant(shop: Shop, given: dict, *, create: bool, item: dict | None) -> list[str]:
    problems = []
    part_no = given.get("sellerPartNo")
    if (create and part_no is None) or (part_no is not None and not str(part_no).strip()):
        problems.append("SellerPartNo is required.")
    data = given.get("variantData")
    if data is None and not create:
        return problems
    data = data or {}
    current = (item or {}).get("variantData") or {}
    group = data.get("variantGroupId") or (None if create else current.get("variantGroupId"))
    attributes = data.get("variantAttributes")
    if attributes is None and not create:
        attributes = current.get("variantAttributes")
    if not group or not str(group).strip():
        problems.append("VariantData.VariantGroupId is required.")
    if not attributes:
        problems.append("VariantData.VariantAttributes needs at least one attribute.")
        return problems
    if any(not (a.get("name") or "").strip() or not (a.get("value") or "").strip() for a in attributes):
        problems.append("Every variant attribute needs a name and a value.")
    key = attribute_key(attributes)
    if len({name for name, _ in key}) != len(key):
        problems.append("Variant attribute names must be unique within a variant.")
    own_id = (item or {}).get("itemId")
    for other in shop.items("pending", "active"):
        other_data = other.get("variantData") or {}
        if other["itemId"] != own_id and other_data.get("variantGroupId") == group \
                and attribute_key(other_data.get("variantAttributes")) == key:
            problems.append(f"A variant with the same attributes already exists in group {group}.")
            break
    return problems


def late_problem(shop: Shop, item: dict, data: dict) -> tuple[int, str] | None:
    """What fails only when the queue processes the write (guesses.QUEUE_RESULTS)."""
    enabled = set(shop.settings()["payment_option_ids"])
    for option in data.get("paymentOptionIds") or []:
        if option not in enabled:
            return guesses.RESULT_ERROR, guesses.PAYMENT_OPTION_NOT_ENABLED.format(option=option)
    delta = data.get("quantity")
    if data.get("absoluteQuantity") is None and delta is not None and item.get("remainingQuantity", 0) + delta < 0:
        return guesses.RESULT_ERROR, guesses.QUANTITY_BELOW_ZERO.format(item_id=item["itemId"])
    return None


def apply(item: dict, data: dict, *, create: bool) -> dict:
    """``data`` written into ``item``: null/omitted fields unchanged; quantity a delta, absoluteQuantity absolute."""
    for name in PLAIN_FIELDS:
        if data.get(name) is not None:
            item[name] = data[name]
    if data.get("itemImages") is not None:
        item["itemImages"] = [{"name": i.get("name"), "format": i.get("format"), "hasMega": bool(i.get("hasMega"))}
                              for i in data["itemImages"]]
    if data.get("absoluteQuantity") is not None:
        item["remainingQuantity"] = data["absoluteQuantity"]
    elif data.get("quantity") is not None:
        item["remainingQuantity"] = item.get("remainingQuantity", 0) + data["quantity"]
    if create:
        item.setdefault("acceptedBuyerId", guesses.DEFAULT_ACCEPTED_BUYER_ID)
        item.setdefault("remainingQuantity", 0)
        item["startQuantity"] = item["remainingQuantity"]
    return item


def require_object(value: Any, name: str) -> dict:
    if not isinstance(value, dict):
        raise Refusal(400, f"{name} is required.")
    return value
