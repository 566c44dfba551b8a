"""Shop item routes: queued writes, the synchronous batch quantity call, reads, the item feed, shop settings.

* ``POST|PUT /v4/listings/shop-items`` and ``…/shop-items/variant`` [spec ``#/paths/~1v4~1listings~1shop-items``,
  ``…~1variant``]: first-step validation (:mod:`.listing`) → 400, else queued (:mod:`.queue`). Update bodies
  ``{itemId, itemData}`` [spec ``#/components/schemas/ShopItemUpdateData``]; an unknown item is refused at
  once with the v3 text [rec RemoveShopItem] (guesses.V4_ERROR_MESSAGES).
* ``DELETE /v4/listings/shop-items/{itemId}`` queued [spec]; unknown → 400 [rec].
* ``PUT …/shop-items/quantities`` synchronous, absolute (guesses.BATCH_QUANTITY_IS_ABSOLUTE) →
  ``{successfulUpdates, validationErrors}``; ``PUT …/shop-items/prices`` queued, one request id per accepted
  row → ``{queuedRequestResponses, validationErrors}`` [spec ``#/components/schemas/SetPriceOnShopItemsResult``];
  more than guesses.BATCH_MAX rows → 400 for the whole call (guesses.BATCH_PARTIAL, BATCH_MAX).
* ``GET /v4/listings/items/{itemId}`` (404 if not the seller's [spec summary]), ``GET …/seller-items`` (no
  paging; future activate dates hidden [notes]; filters per guesses.ENUM_ORDER), ``GET
  …/updated-seller-items?rowVersion=`` (guesses.ROWVERSION_RULES), ``GET|PUT …/shop-settings``
  [spec ``#/components/schemas/ShopSettingsData``].
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from integrations_dagster.sandbox.tradera import guesses, listing
from integrations_dagster.sandbox.tradera.queue import Queue
from integrations_dagster.sandbox.tradera.shop import SHOP_TEXTS, Shop
from integrations_dagster.sandbox.tradera.views import end_date, item_view, start_date, updated_info
from integrations_dagster.sandbox.tradera.wire import USER, Api, Refusal, bad_request, int_value, parse_time
from integrations_dagster.sandbox.tradera.wire import query_int, query_time

BASE = "/v4/listings"


def routes(api: Api, shop: Shop, queue: Queue) -> list[Route]:
    clock = shop.clock

    def _check(data: dict, **kwargs) -> None:
        problems = listing.first_step(shop, data, **kwargs)
        if problems:
            raise bad_request(*problems)

    def _create(variant: bool):
        def create(_: Request, body: dict) -> dict:
            body = listing.require_object(body, "The shop item")
            _check(body, create=True, variant=variant)
            item = shop.reserve_item("variant" if variant else "shop")
            if variant:  # known at once, so that a second variant of the same set is refused (VARIANT_RULES)
                item["variantData"] = body.get("variantData")
                shop.save_item(item, bump=False)
            return queue.submit("create", item["itemId"], body)
        return create

    def _update(variant: bool):
        def update(_: Request, body: dict) -> dict:
            body = listing.require_object(body, "The request")
            item = shop.item(body.get("itemId"), "pending", "active")
            if item is None:
                raise bad_request(shop.no_such_item(body.get("itemId") or 0))
            if variant and item["kind"] != "variant":
                raise bad_request(f"Shop item with id {item['itemId']} is not a variant.")
            data = listing.require_object(body.get("itemData"), "ItemData")
            _check(data, create=False, variant=variant, item=item)
            return queue.submit("update", item["itemId"], data)
        return update

    def remove(request: Request, _) -> dict:
        raw = request.path_params["item_id"]
        item = shop.item(int_value(raw, "itemId"), "pending", "active")
        if item is None:
            raise bad_request(shop.no_such_item(raw))
        return queue.submit("delete", item["itemId"])

    def _rows(body: dict) -> list[dict]:
        rows = listing.require_object(body, "The request").get("shopItems")
        if rows is None:
            raise Refusal(400, "ShopItems is required.")
        if len(rows) > guesses.BATCH_MAX:
            raise Refusal(400, guesses.BATCH_TOO_LARGE.format(max=guesses.BATCH_MAX))
        return rows

    def quantities(_: Request, body: dict) -> dict:
        done, errors = 0, []
        for row in _rows(body):
            echo = {"id": row.get("id") or 0, "quantity": row.get("quantity") or 0}
            item = shop.item(row.get("id"), "active")
            if item is None:
                errors.append({"item": echo, "errorMessage": shop.no_such_item(echo["id"])})
            elif row.get("quantity") is None or row["quantity"] < 0:
                errors.append({"item": echo, "errorMessage": guesses.QUANTITY_NEGATIVE})
            else:
                item["remainingQuantity"] = row["quantity"]
                shop.save_item(item)
                done += 1
        return {"successfulUpdates": done, "validationErrors": errors}

    def prices(_: Request, body: dict) -> dict:
        queued, errors = [], []
        for row in _rows(body):
            echo = {"id": row.get("id") or 0, "price": row.get("price") or 0}
            item = shop.item(row.get("id"), "pending", "active")
            if item is None:
                errors.append({"item": echo, "errorMessage": shop.no_such_item(echo["id"])})
            elif row.get("price") is None or row["price"] <= 0:
                errors.append({"item": echo, "errorMessage": guesses.PRICE_NOT_POSITIVE})
            else:
                queued.append(queue.submit("price", item["itemId"], {"price": row["price"]}))
        return {"queuedRequestResponses": queued, "validationErrors": errors}

    def get_item(request: Request, _) -> dict:
        item = shop.item(int_value(request.path_params["item_id"], "itemId"), "active")
        if item is None:
            raise Refusal(404, guesses.NOT_FOUND_ITEM)
        return item_view(item, shop.profile(), clock.now())

    def seller_items(request: Request, _) -> list[dict]:
        category = query_int(request, "categoryId", 0)
        active = query_int(request, "filterActive", 0, guesses.ACTIVE_FILTER)
        kind = query_int(request, "filterItemType", 0, guesses.ITEM_TYPE_FILTER)
        min_end, max_end = query_time(request, "minEndDate"), query_time(request, "maxEndDate")
        max_start, now = query_time(request, "maxStartDate"), clock.now()
        if guesses.ITEM_TYPE_FILTER[kind] not in ("all", "shop_item"):
            return []
        out = []
        for item in shop.items("active"):
            start, end = parse_time(start_date(item), "start"), parse_time(end_date(item), "end")
            if start > now:  # a future activate date hides the item [notes]
                continue
            running = end > now
            if (category and item.get("categoryId") != category) or (active == 1 and not running) \
                    or (active == 2 and running) or (min_end and end < min_end) or (max_end and end > max_end) \
                    or (max_start and start > max_start):
                continue
            out.append(item_view(item, shop.profile(), now))
        return sorted(out, key=lambda v: v["id"])

    def updated(request: Request, _) -> list[dict]:
        since = query_int(request, "rowVersion", 0, high=2**63 - 1)
        changed = [i for i in shop.items("active", "removed") if i.get("rowVersion", 0) > since]
        return [updated_info(i) for i in sorted(changed, key=lambda i: i["rowVersion"])]

    def get_settings(_: Request, __) -> dict:
        settings, texts = shop.settings(), shop.shop_texts()
        return {"maxActiveItems": settings["max_active_items"], "maxInventoryItems": settings["max_inventory_items"],
                **texts}

    def put_settings(_: Request, body: dict) -> Response:
        body = listing.require_object(body, "The shop settings")
        # Limits are Tradera's to set (GUESS: maxActiveItems/maxInventoryItems in the body are ignored).
        shop.update_shop({k: v for k, v in body.items() if v is not None
                          and k in (*SHOP_TEXTS, "isTemporaryClosed", "showAuctionView", "showGalleryMode")})
        return Response(status_code=200)

    return [
        api.route("POST", f"{BASE}/shop-items", USER, _create(False)),
        api.route("PUT", f"{BASE}/shop-items", USER, _update(False)),
        api.route("POST", f"{BASE}/shop-items/variant", USER, _create(True)),
        api.route("PUT", f"{BASE}/shop-items/variant", USER, _update(True)),
        api.route("PUT", f"{BASE}/shop-items/quantities", USER, quantities),
        api.route("PUT", f"{BASE}/shop-items/prices", USER, prices),
        api.route("DELETE", f"{BASE}/shop-items/{{item_id}}", USER, remove),
        api.route("GET", f"{BASE}/items/{{item_id}}", USER, get_item),
        api.route("GET", f"{BASE}/seller-items", USER, seller_items),
        api.route("GET", f"{BASE}/updated-seller-items", USER, updated),
        api.route("GET", f"{BASE}/shop-settings", USER, get_settings),
        api.route("PUT", f"{BASE}/shop-settings", USER, put_settings),
    ]
