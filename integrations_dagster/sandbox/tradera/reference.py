"""Reference data (App level; every call counts against the quota — clients cache it [notes]).

* ``GET /v4/reference-data/item-field-values`` → ``{vat, itemAttributes, paymentTypes, shippingTypes}``
  [spec ``#/components/schemas/ItemFieldsResponse``]: VAT guesses.VAT_RATES; attributes 1 Ny, 2 Begagnad
  [spec ``#/paths/~1v4~1reference-data~1item-field-values/get`` summary]; payment and shipping ids are the
  vendor's example ids [doc: plugin tradera-publish].
* ``…/accepted-bidder-types`` (1 Sweden, 3 International, 4 EU [spec summary]), ``…/item-types`` (ApiItemType:
  1 auction, 3 fixed price, 4 shop item [doc: plugin tradera-get-item], 5 contact only [3p: py-client]),
  ``…/shipping-options`` [spec ``#/components/schemas/GetShippingOptionsResponse``], ``…/time`` (guesses.
  TIME_BODY_IS_OBJECT), ``GET /v4/categories`` (guesses.REF_SHAPES), ``GET /v4/users/me/payment-options``
  (User level; ``{paymentOptions: [{name, displayName}]}`` [spec ``#/components/schemas/MemberPaymentOption``]).
* Shapes of ``IdDescriptionPair`` and ``Category``: spec.CORRECTIONS. The category tree, the shipping
  products and the option ``name`` strings are sandbox data (GUESS): a real account reads the live lists.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from integrations_dagster.sandbox.tradera import guesses
from integrations_dagster.sandbox.tradera.shop import Shop
from integrations_dagster.sandbox.tradera.wire import APP, USER, Api, Clock

ITEM_ATTRIBUTES = {1: "Ny", 2: "Begagnad"}
PAYMENT_TYPES = {4: "Banköverföring", 8: "PlusGiro/Bankgiro", 16: "Postförskott", 32: "Kontant",
                 4096: "Swish", 16384: "Swish/Kort/PayPal"}
PAYMENT_NAMES = {4: "BankTransfer", 8: "PlusGiroBankgiro", 16: "CashOnDelivery", 32: "Cash", 4096: "Swish",
                 16384: "SwishCardPayPal"}  # GUESS: the `name` strings of MemberPaymentOption
SHIPPING_TYPES = {1: "Posten", 2: "DHL", 6: "Annat fraktsätt", 7: "Schenker", 8: "Avhämtning",
                  12: "PostNord Paket", 13: "PostNord Frimärke", 20: "DHL Express"}
PICKUP_SHIPPING_ID = 8  # "3 if Pickup is included" [spec ShopItemData/properties/shippingOptions]
ACCEPTED_BIDDER_TYPES = {1: "Sweden", 3: "International", 4: "EU"}
ITEM_TYPES = {1: "Auction", 3: "Fixed price", 4: "Shop item", 5: "Contact only"}
# (categoryId, name, children) — sandbox data
CATEGORIES = [
    (344481, "Hem & Hushåll", [(344482, "Kök", []), (344483, "Inredning", [])]),
    (340000, "Kläder", [(340001, "Dam", []), (340002, "Herr", [])]),
    (302571, "Sport & Fritid", [(302572, "Cykel", [])]),
]
# (provider id, provider, product id, product name, price kr, max weight kg) — sandbox data
SHIPPING_PRODUCTS = [
    (1, "PostNord", 101, "Varubrev 1:a klass", 45, 1.0),
    (1, "PostNord", 102, "Postpaket", 89, 5.0),
    (2, "DHL", 201, "DHL Service Point", 79, 5.0),
    (2, "DHL", 202, "DHL Paket", 149, 20.0),
]


def _category_ids(nodes) -> set[int]:
    ids: set[int] = set()
    for cid, _, kids in nodes:
        ids |= {cid, *_category_ids(kids)}
    return ids


CATEGORY_IDS = _category_ids(CATEGORIES)
SHIPPING_PRODUCT_KEYS = {(provider, product) for provider, _, product, *_ in SHIPPING_PRODUCTS}


def pairs(table: dict[int, str]) -> list[dict]:
    return [{"id": k, "description": v, "value": None} for k, v in table.items()]


def _tree(nodes) -> list[dict]:
    return [{"categoryId": cid, "categoryName": name, "subCategories": _tree(kids)} for cid, name, kids in nodes]


def shipping_name(option: dict) -> str | None:
    if option.get("shippingOptionId") is not None:
        return SHIPPING_TYPES.get(option["shippingOptionId"])
    for provider, provider_name, product, name, *_ in SHIPPING_PRODUCTS:
        if (provider, product) == (option.get("shippingProviderId"), option.get("shippingProductId")):
            return f"{provider_name} {name}"
    return None


def routes(api: Api, shop: Shop, clock: Clock) -> list[Route]:
    def field_values(_: Request, __) -> dict:
        return {"vat": list(guesses.VAT_RATES), "itemAttributes": pairs(ITEM_ATTRIBUTES),
                "paymentTypes": pairs(PAYMENT_TYPES), "shippingTypes": pairs(SHIPPING_TYPES)}

    def shipping_options(_: Request, __) -> dict:
        spans: dict[float, list[dict]] = {}
        for provider, provider_name, product, name, price, weight in SHIPPING_PRODUCTS:
            spans.setdefault(weight, []).append({
                "id": product, "name": name, "price": price, "shippingProvider": provider_name,
                "shippingProviderId": provider, "fromCountry": "SE", "toCountry": "SE", "vatPercent": 25,
                "weight": weight, "dimensionsExceededPenalty": 0, "weightExceededPenalty": 0,
                "displayPenaltyWarning": False})
        return {"productsPerWeightSpan": [{"weight": w, "products": p} for w, p in sorted(spans.items())]}

    def member_payment_options(_: Request, __) -> dict:
        enabled = shop.settings()["payment_option_ids"]
        return {"paymentOptions": [{"name": PAYMENT_NAMES.get(i, str(i)), "displayName": PAYMENT_TYPES.get(i, str(i))}
                                   for i in enabled]}

    return [
        api.route("GET", "/v4/reference-data/item-field-values", APP, field_values),
        api.route("GET", "/v4/reference-data/accepted-bidder-types", APP,
                  lambda *_: pairs(ACCEPTED_BIDDER_TYPES)),
        api.route("GET", "/v4/reference-data/item-types", APP, lambda *_: pairs(ITEM_TYPES)),
        api.route("GET", "/v4/reference-data/shipping-options", APP, shipping_options),
        api.route("GET", "/v4/reference-data/time", APP, lambda *_: {"time": clock.stamp()}),
        api.route("GET", "/v4/categories", APP, lambda *_: _tree(CATEGORIES)),
        api.route("GET", "/v4/users/me/payment-options", USER, member_payment_options),
    ]
