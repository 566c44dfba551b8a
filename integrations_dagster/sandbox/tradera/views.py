"""How a stored shop item reads back: the ``Item`` of ``GET /v4/listings/items/{itemId}`` and seller-items.

Fields [spec ``#/components/schemas/Item/properties``]; which ones carry a shop item's price and stock is
guesses.ITEM_VIEW (``buyItNowPrice``, ``remainingQuantity``, ``itemType`` 4, ``shortDescription`` = title,
``longDescription`` = description). ``status`` and ``seller`` have the v3 shapes (spec.CORRECTIONS).
Only declared properties are written: the spec allows no others.
"""

from __future__ import annotations

from datetime import datetime

from integrations_dagster.sandbox.tradera import guesses
from integrations_dagster.sandbox.tradera.reference import PICKUP_SHIPPING_ID
from integrations_dagster.sandbox.tradera.wire import fmt, parse_time

SHIPPING_FIELDS = ("cost", "shippingOptionId", "shippingProviderId", "shippingProductId", "shippingWeight",
                   "sellerDiscount", "sellerSurcharge")


def end_date(item: dict) -> str:
    return fmt(parse_time(item["deactivateDate"], "deactivateDate")) if item.get("deactivateDate") \
        else guesses.ITEM_OPEN_END_DATE


def start_date(item: dict) -> str:
    if item.get("activateDate"):
        return fmt(parse_time(item["activateDate"], "activateDate"))
    return item.get("startDate") or guesses.ITEM_OPEN_END_DATE


def is_running(item: dict, now: datetime) -> bool:
    """Activated and not yet deactivated (filterActive 1)."""
    return parse_time(start_date(item), "start") <= now < parse_time(end_date(item), "end")


def shipping(option: dict) -> dict:
    out = {k: option[k] for k in SHIPPING_FIELDS if option.get(k) is not None}
    out.setdefault("cost", 0)
    out["shippingProductIdSpecified"] = option.get("shippingProductId") is not None
    out["shippingWeightSpecified"] = option.get("shippingWeight") is not None
    out["sellerDiscountSpecified"] = option.get("sellerDiscount") is not None
    out["sellerSurchargeSpecified"] = option.get("sellerSurcharge") is not None
    return out


def seller_user(seller: dict) -> dict:
    """The v3 ``User`` shape (spec.CORRECTIONS["User"])."""
    return {"id": seller["userId"], "alias": seller.get("alias"), "firstName": seller.get("firstName"),
            "lastName": seller.get("lastName"), "email": seller.get("email"), "phoneNumber": seller.get("phone"),
            "address": seller.get("addressLine1"), "zipCode": seller.get("zipCode"), "city": seller.get("city"),
            "countryName": seller.get("countryName"), "totalRating": 0}


def item_view(item: dict, seller: dict, now: datetime) -> dict:
    values = item.get("attributeValues") or {}
    options = [shipping(o) for o in item.get("shippingOptions") or []]
    ended = not is_running(item, now) and parse_time(end_date(item), "end") <= now
    return {
        "id": item["itemId"],
        "itemType": guesses.ITEM_TYPE_SHOP,
        "shortDescription": item.get("title"),
        "longDescription": item.get("description"),
        "categoryId": item.get("categoryId") or 0,
        "buyItNowPrice": item.get("price") or 0,
        "buyItNowPriceSpecified": True,
        "startQuantity": item.get("startQuantity", 0),
        "remainingQuantity": item.get("remainingQuantity", 0),
        "vat": item.get("vat") or 0,
        "vatSpecified": item.get("vat") is not None,
        "acceptedBuyerId": item.get("acceptedBuyerId", guesses.DEFAULT_ACCEPTED_BUYER_ID),
        "ownReferences": list(item.get("ownReferences") or []),
        "itemAttributes": list(item.get("itemAttributes") or []),
        "attributeValues": {
            "termAttributeValues": [{"id": t.get("id", 0), "name": None, "values": t.get("values") or []}
                                    for t in values.get("terms") or []],
            "numberAttributeValues": [{"id": n.get("id", 0), "name": None, "values": n.get("values") or []}
                                      for n in values.get("numbers") or []]},
        "paymentOptions": list(item.get("paymentOptionIds") or []),
        "shippingOptions": options,
        "acceptsPickup": any(o.get("shippingOptionId") == PICKUP_SHIPPING_ID for o in options),
        "paymentCondition": item.get("paymentCondition"),
        "shippingCondition": item.get("shippingCondition"),
        "startDate": start_date(item),
        "endDate": end_date(item),
        "itemLink": guesses.ITEM_LINK.format(category_id=item.get("categoryId") or 0, item_id=item["itemId"]),
        "imageLinks": [],
        "status": {"ended": ended, "gotBidders": False, "gotWinner": False},
        "seller": seller_user(seller),
        "totalBids": 0, "restarts": 0, "bold": False, "thumbnail": False, "highlight": False,
        "featuredItem": False, "paypal": False,
    }


def updated_info(item: dict) -> dict:
    return {"id": item["itemId"], "itemType": guesses.ITEM_TYPE_SHOP, "rowVersion": item["rowVersion"]}
