"""Every rule of the BigCommerce sandbox that the evidence does not settle, in one place.

Each constant says what is missing (see ``docs/research/bigcommerce.md`` §11 "Evidence gaps") and
what the sandbox does instead. Change a value here when evidence arrives; nowhere else guesses.
"""

from __future__ import annotations

# §1.2: the live 401 body of v3 catalog/inventory is unknown (the catalog specs say ``plain/text``,
# the webhooks spec gives JSON). We answer every v3 path with the webhooks example's JSON
# [spec: webhooks.v3.yml#components/responses/401_Unauthorized].
UNAUTHORIZED_TITLE = ("Unauthorized - the v3 Auth client ID or token in the request are not a valid "
                      "combination for this store.")
# ... and v2 paths with the v2 error array shape [spec: orders.v2.oas2.yml#updateOrderShippingAddress]
# carrying the same words (no v2 401 example exists).
V2_UNAUTHORIZED_MESSAGE = "You are not authorized to access this store."
# A store hash the token does not belong to: §1.2 allows 401 or 404; we answer 401 (the token is not
# "a valid combination for this store").
WRONG_STORE_STATUS = 401

# §2.7: name uniqueness case rule unknown; SKU is documented case-insensitive, we treat names alike.
NAME_UNIQUE_CASE_INSENSITIVE = True
# §2.7: the exact duplicate-name body; the title is from live clients [3p], the errors map is modelled
# on the SKU body [3p].
DUPLICATE_NAME_TITLE = "The product name is a duplicate"
# §3.4 / §11: status and body of a duplicate variant SKU; modelled on the product SKU 409 [3p].
DUPLICATE_VARIANT_SKU_TITLE = "The product sku is a duplicate"
# §3.4: "Variant with the same option values set exists" is a live title [3p]; its status is unknown.
DUPLICATE_COMBINATION_STATUS = 409

# Refusing fields the schema does not declare: the specs do not say ``additionalProperties: false``;
# the brief asks the sandbox to refuse them, and the catalog's 422 names the field. Title guessed.
UNKNOWN_FIELD_TITLE = "JSON data is missing or invalid"
INVALID_FIELD_TITLE = "JSON data is missing or invalid"

# §2.8: no live 207 body exists. We send 207 when a product write asks for an ``inventory_level`` on a
# product whose tracking is not ``product`` ("the product information was updated successfully, but
# the inventory data failed to update" [spec: products_catalog.v3.yml#updateProducts]); title guessed.
MULTI_STATUS_TITLE = "Inventory update failed"
MULTI_STATUS_MESSAGE = "The inventory level can only be set on a product that tracks inventory by product."

# §9.18: DELETE /catalog/products without a filter must be refused; status unknown (categories: 422).
DELETE_WITHOUT_FILTER_STATUS = 422
# §5.3: status when an adjustment carries more than 2000 items.
INVENTORY_TOO_MANY_STATUS = 413
# §5.3: the Inventory API is asynchronous; the sandbox applies adjustments at once (seconds of delay
# would only slow tests). A reader must still not rely on it.
INVENTORY_APPLY_DELAY_S = 0.0
# §5: whether an inventory adjustment bumps the product's ``date_modified`` is not stated. Catalog
# writes of inventory_level go through the Inventory API "under the hood" [doc] and bump it; we bump
# on adjustments too, so an incremental sync by ``date_modified:min`` sees stock changes.
INVENTORY_BUMPS_DATE_MODIFIED = True
# §5.3: relative adjustment below 0 (safety stock 0) is refused [doc]; the title is ours.
BELOW_SAFETY_STOCK_TITLE = "Items with identity: [{identity}] would go below safety stock"
# §5.2: ``product_id`` "if a product has no variants"; the refusal for a variant-tracked product with
# several variants mirrors the documented opposite case [spec: inventory.v3.yml#post-relative-adjustment].
PRODUCT_ID_ON_VARIANT_TRACKED = "[Item with product_id {id} is tracked by variant, please update stock by variant id or sku]"
# A product with inventory_tracking "none": adjustments are accepted and stored (no evidence either way).

# When a product tracks by variant, its ``inventory_level`` is the sum of its variants (the spec only
# bounds the sum to 2,147,483,647 [spec: product-variants_catalog.v3.yml#getVariants]).
PRODUCT_LEVEL_IS_VARIANT_SUM = True

# §6.1: maximum ``limit`` of v2 /orders (the generic doc says 250).
ORDERS_MAX_LIMIT = 250
# §6.5: ``update_stock_behavior`` default: stock leaves when the order is placed.
STOCK_LEAVES_ON_ORDER_PLACED = True
# Status of an order a shopper places in the sandbox (11 = Awaiting Fulfillment, §6.3).
CHECKOUT_STATUS_ID = 11
# §6.4: ``product_id: 0`` marks a custom line (not used by the checkout instrument).

# Store settings of the Swedish demo store. GET /v2/store's shape comes from a third-party copy of
# the vendor's Store Information spec [3p: api-evangelist/bigcommerce getStoreInformation example];
# whether prices include tax is ``tax_entered_with_prices`` of GET /v3/tax/settings [3p:
# kzhang-dsg/bigcommerce-api-client tax_settings.v3 Tax_Settings_Req]. Neither file is in the local
# spec set, so neither response is spec-validated.
STORE_CURRENCY = "SEK"
TAX_ENTERED_WITH_PRICES = True  # Swedish shops enter prices incl. moms
VAT_RATE = "0.25"  # the one tax rate of the demo store, applied to every tax class (orders only)
STORE_TIMEZONE = "Europe/Stockholm"

# §7: the 429 while the quota is exhausted; ``X-Retry-After`` in whole seconds, rounded up [doc].
RATE_LIMIT_TITLE = "Too many requests"

# ---- Webhook callbacks (§8, :mod:`.events`) ---------------------------------------------------------
# §8.4: BigCommerce signs per Standard Webhooks with "the client secret" [doc: https-webhook-overview.mdx],
# but how its client secret maps to the Standard Webhooks key is not documented. The standard's secrets
# are ``whsec_`` + base64 of the key bytes, and its library base64-decodes them [3p: standard-webhooks
# libraries/python/standardwebhooks/webhooks.py]; BigCommerce's sample hands the library
# ``base64(client_secret)``, so the effective HMAC key is the raw UTF-8 bytes of the client secret.
# We sign with those raw bytes (no ``whsec_``, no base64 decoding of the secret itself).
SIGNING_KEY_IS_RAW_SECRET = True
# Which secret: the credential ``client_secret`` (the API account's / app's, §8.4 point 3: no evidence
# which one); when it is absent the sandbox signs with the ``access_token`` (our fallback, not vendor
# behaviour).
SIGNING_SECRET_FALLS_BACK_TO_ACCESS_TOKEN = True
# §8.4: what ``webhook-id`` holds is undocumented; we send ``msg_`` + 32 hex digits, one per callback
# and destination, the same on every retry and on a duplicate (the Standard Webhooks rule).
WEBHOOK_ID = "msg_<uuid4 hex>"
# ``webhook-timestamp`` is the signing time; the shared outbox resends the same headers on a retry, so
# a retry carries its first attempt's timestamp (the standard would re-sign per attempt; with the
# compressed schedule below the difference never exceeds a verifier's 5-minute tolerance).
# ``Content-Type: application/json`` on callbacks: not documented, §8.4 recommendation.
# §8.3: ``hash`` is "SHA-1 hash of the JSON-encoded payload data"; we hash the compact, key-sorted JSON
# of the payload without ``hash`` (so it differs per event, and a retry/duplicate repeats it).
# §8.3: ``store_id`` is numeric text the sandbox has no source for; ``None`` derives a stable 7-digit
# number from the store hash.
STORE_ID: str | None = None
# §8.5: the vendor retries after 60, 180, 300, 600, 900, 1800, 3600, 7200, 21600, 50400 and 86400 s and
# deactivates the hook after the final retry [doc: BCdocs:docs/integrations/webhooks/overview.mdx]. The
# sandbox keeps the 11 retries and their proportions but compresses ~48 h into ~0.2 s (1/864000), so a
# test can watch a hook being deactivated.
WEBHOOK_RETRY_SCALE = 1 / 864_000
WEBHOOK_RETRY_DELAYS_S = tuple(s * WEBHOOK_RETRY_SCALE for s in
                               (60, 180, 300, 600, 900, 1800, 3600, 7200, 21600, 50400, 86400))
# The 2-minute / 90 % / 100-request domain blocklist of §8.5 is not emulated.
# §8.3: an inventory write that leaves the level unchanged fires nothing (the events fire on "changes").
WEBHOOK_ON_UNCHANGED_STOCK = False
# ``inventory.method``: the product scope says ``absolute`` = "updated through the API or the control
# panel", ``relative`` = "updated by an order" [spec: webhooks.v3.yml#store_product_inventory_updated];
# the SKU scope's text swaps the two [spec: …#store_sku_inventory_updated]. We follow the product text
# for both: every API write (absolute or relative adjustment, catalog write) is ``absolute``, an order's
# stock move ``relative``.
STOCK_METHOD_API = "absolute"
STOCK_METHOD_ORDER = "relative"
# A stock change of a variant-tracked product fires only store/sku/inventory/updated (no
# store/product/updated): the doc ties product/updated's "Inventory Level" to product tracking.
# store/sku/deleted carries the store/sku/updated shape (the spec has no example of its own data).
