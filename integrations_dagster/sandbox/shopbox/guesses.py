"""Every Shopbox behaviour the sandbox needs but no evidence pins down: one constant per guess.

No official Shopbox documentation, specification or recording is public (docs.shopbox.com is not
readable); the evidence is third-party code [3p] and partner help pages [partner], digested in
``docs/research/shopbox.md`` (§11 lists these guesses again). For Shopbox this sandbox is therefore the
spec of record of what the connector assumes: each constant says it is a GUESS and why that value was
chosen. When real traffic shows otherwise, change the value here and nowhere else.

Short names of the third-party sources used in the reasons:
* "PHP plugin": a WooCommerce ⇄ Shopbox plugin (PHP namespace ``ShopBox``: ``Api.php``, ``ShopBoxHooks.php``,
  ``Integrators/ProductsExporter.php``, ``OrderCreator.php``, ``InventoryImporter.php``, ``ProductsImporter.php``,
  ``CategoriesExporter.php``, ``Admin/Admin.php``) — it calls ``api.shopbox.com/api/v3`` with ``api-token``;
* "sales-sync script": a Danish merchant's ``shopbox_sync.py`` (two versions) reading ``/baskets``;
* "Dart model": ``ProductsModel`` generated (quicktype) from a real ``GET /products`` answer;
* "KDS app": a kitchen-display Next.js client (``authenticateCredentials``, ``buildShopboxUrl``);
* "Rackbeat": helpdesk.rackbeat.com ht-09001 / ht-09002 (seed 003).
"""

from __future__ import annotations

# --- Errors -----------------------------------------------------------------------------------------
# GUESS: error bodies are {"name", "message", "code": 0, "status"}, the shape a Yii2 REST server writes.
# Why Yii2: the page-size parameter is spelled "per-page" (Yii2's default) [3p: PHP plugin], the paging
# links are self/next/last [3p: Dart model], and the KDS app reads `message` from error bodies. Statuses
# 401 (token rejected) and 403 are [3p: sales-sync script, KDS app]; the words are invented.
ERROR_NAMES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
               405: "Method Not Allowed", 409: "Conflict", 422: "Data Validation Failed.",
               429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
               503: "Service Unavailable", 504: "Gateway Timeout"}
UNAUTHORIZED_MESSAGE = "Your request was made with invalid credentials."  # GUESS (Yii2's wording)
SERVER_ERROR_MESSAGE = "An internal server error occurred."  # GUESS (Yii2's wording)
RATE_LIMIT_MESSAGE = "Rate limit exceeded."  # GUESS: no rate limit is documented; 429 + Retry-After
# GUESS: validation refusals are HTTP 422 with a bare list [{"field", "message"}] (Yii2's shape).
VALIDATION_STATUS = 422

# --- Authentication -------------------------------------------------------------------------------
# Evidenced [3p: sales-sync script, KDS app, Flutter/C# clients]: POST /authenticate/credentials with JSON
# {"username", "password"} → {"accessToken", "account": {"uid", …}} (the KDS app checks both); every call
# then sends `accessToken` and `client` in the query string; tokens are 32 lower-case hex characters
# (two were committed by integrators). GUESS: how long a token lives — a working day and a night (24 h);
# with "remember_me": true (sent by the KDS app) 30 days. Knobs.token_ttl_s, when a test sets it, wins.
TOKEN_TTL_S = 24 * 3600
REMEMBER_ME_TTL_S = 30 * 24 * 3600
# GUESS: `email` is accepted in place of `username`. One script sends {"email", "password"} — but to the
# older base https://api.shopbox.com/v1 and while guessing the answer's key (token/access_token/jwt), so
# the evidence is weak; accepting it costs nothing and a connector must send `username` anyway.
ACCEPT_EMAIL_FIELD = True
# GUESS: a wrong e-mail/password answers 422 [{"field": "password", "message": …}] (Yii2 login form).
# The sales-sync script only checks "status not in (200, 201)", the KDS app only `response.ok`.
LOGIN_FAILURE_MESSAGE = "Incorrect username or password."
# GUESS: an expired token is refused exactly like an unknown one (401, same body): no client tells them
# apart, they all re-authenticate or stop on any 401 [3p: sales-sync script, KDS app].
EXPIRED_LIKE_INVALID = True  # built into auth.py: not a switch
# GUESS: with an accessToken, `client` is required (400 without it) and must be one of the user's shops
# (403 otherwise). Every evidenced call sends it [3p]; the sales-sync script probes "/baskets uden client"
# to tell a client-id problem from a token problem, so the two fail differently.
MISSING_CLIENT_STATUS = 400
FOREIGN_CLIENT_STATUS = 403
# Evidenced [3p: PHP plugin, dExPay server]: a long-lived API key travels as `api-token` in the query
# string, and the plugin sends no `client` with it. GUESS: such a key belongs to one shop, so `client` is
# optional with it (a different one is 403). The sandbox accepts a key only if its credentials name one
# (``api_token``).
API_TOKEN_IMPLIES_CLIENT = True
ACCOUNT_NAME = "Kasse Bruger"  # GUESS: the user's display name in the login answer

# --- Paging -------------------------------------------------------------------------------------------
DEFAULT_PER_PAGE = 20  # GUESS: Yii2's default page size; no client shows the default
MAX_PER_PAGE = 100  # GUESS: larger sizes are cut to this (the PHP plugin asks num_per_page=100)
# All three spellings are [3p: PHP plugin]; that every collection accepts each of them is the GUESS.
PER_PAGE_PARAMS = ("per-page", "per_page", "num_per_page")
ALL_ROWS = -1  # "-1" = everything [3p: PHP plugin per-page => -1]; that it works is a GUESS
# GUESS: `count` (rows on this page) is in the pagination object. The Dart model, generated from a real
# answer, has only total/per_page/current_page/total_pages/links — a connector must not rely on `count`.
PAGINATION_COUNT = True
PREV_LINK = True  # GUESS: a "prev" link beside the evidenced self/next/last (absent on page 1)
# GUESS: the links repeat the request's query string, accessToken included. Evidence: the sales-sync
# script scrubs "accessToken=…" out of pagination.links before printing them. Redact these in logs.
LINKS_CARRY_QUERY = True
# GUESS: links to page 1 carry no `page` parameter, so that a client following them never meets the
# page=1 quirk below.
LINKS_OMIT_PAGE_ONE = True
EMPTY_TOTAL_PAGES = True  # GUESS: an empty collection reports total_pages 1 (not 0)
# The quirk is [3p: sales-sync script "UDEN page (page=1 giver 500 hos Shopbox)"]: GET /baskets?page=1
# answered HTTP 500 while the same call without `page` worked. GUESS: only /baskets does it (nothing was
# said of other collections), page=2… work, and the body is the generic 500 body.
PAGE_ONE_FAILS = frozenset({"/api/v3/baskets"})
PAGE_ONE_STATUS = 500

# --- Times --------------------------------------------------------------------------------------------
TIMEZONE = "Europe/Copenhagen"  # GUESS: the shop's local time for *_formatted and report dates
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"  # GUESS: the text of crdate_formatted / tstamp_formatted

# --- Organisation ----------------------------------------------------------------------------------
# Evidenced [3p]: GET /branches, GET /branches/{uid} with `cash_registers` [PHP plugin Admin], GET
# /cash-registers, GET /cash-registers/{uid} with `filter_uid` [PHP plugin], GET /staff, GET /payment-types,
# GET /clients [Flutter `getClientsURL`]. GUESS: every other field of these objects, and that the branch
# list does not embed the registers (only the branch detail is seen doing so).
BRANCH_LIST_HAS_REGISTERS = False
CURRENCY = "DKK"  # GUESS: a Danish shop; no currency field was seen anywhere

# --- Products -------------------------------------------------------------------------------------
# Field names of a product are [3p: Dart model]: uid, name, tag, kitchen_name, official_name, stock_price,
# selling_price, code, sku_code, quantity, client, description, type, type_text ("POS"), is_visible, tax0,
# tag0, unit0, image0, inventory_on_variants, closed_for_discount, crdate, tstamp, *_formatted.
# GUESS: `sku` is also present, equal to `sku_code` — a dExPay server reads `product.sku`.
SKU_ALIAS = True
# Prices are integer øre INCLUDING VAT: the PHP plugin writes selling_price = round(price_excl × (100 + vat%))
# and reads selling_price / 100 as the shop price [3p]. stock_price (cost) = round(cost × 100), no VAT [3p].
# GUESS: the list does not embed `product_variances` (the Dart model's list item has none; the PHP plugin
# reads them from GET /products/{uid}); `?expand=product_variances` embeds them (Yii2's expand).
LIST_EMBEDS_VARIANCES = False
EXPAND_PARAM = "expand"
# Evidenced write [3p: PHP plugin]: POST /products/create-or-update — `uid` null creates, a uid updates;
# answers the product (bare). GUESS: the REST forms POST /products (create), PUT /products/{uid} (update)
# and DELETE /products/{uid} exist too and behave the same; statuses 201 (create), 200, 204 (delete).
SERVE_REST_PRODUCT_WRITES = True
CREATE_STATUS = 201
DELETE_STATUS = 204
# GUESS: a deleted product is gone for the API (404, not listed); baskets keep its name.
DELETED_IS_GONE = True
# GUESS: product `type` 1 with type_text "POS" ("POS" is the only type_text in the Dart model).
PRODUCT_TYPE = 1
# The plugin sends every variant with "uid": 0 on every export [3p], so Shopbox must recognise existing
# ones. GUESS: a variant is the same as an existing variance when its uid, else its integration_number,
# else its set of variance_value uids matches; variances left out of an update are kept.
VARIANT_MATCH = ("uid", "integration_number", "variance_value")
# GUESS: SKUs (sku_code) and barcodes (code) are not required to be unique (the plugin can send the
# WooCommerce product id as sku_code, and auto-generate both; nothing shows a uniqueness refusal).
SKU_UNIQUE = False  # built into catalog.py (no check): not a switch
OMITTED_VARIANTS_KEPT = True  # built into catalog.py: not a switch
# Evidenced flags sent with create-or-update [3p: PHP plugin]: disable_name_update, update_tag,
# update_image. GUESS: they only matter on an update, and only when present (1 keeps the name / 0 keeps
# the tag and image); absent, an update changes what it names.
UPDATE_FLAGS = ("disable_name_update", "update_tag", "update_image")
# GUESS: the shop's tax rates: Danish 25 % (the plugin's default "vat_percentage" is 25 [3p]) and 0 %.
# The product's `tax` is a tax uid and tax0 the rate object {uid, name, enabled, percentage, …} [3p: Dart model].
TAXES = ((1, "Moms 25%", 25), (2, "Momsfri", 0))
DEFAULT_TAX = 1
# GUESS (composite / structured products): Rackbeat can create "strukturvarer" in Shopbox [partner: seed
# 003], but no payload is public. The sandbox takes `components: [{product, product_variance?, quantity}]`
# on a product; selling it draws its components' stock, not its own.
COMPONENTS_FIELD = "components"
# `inventory_multiply_factor` is on the plugin's variants [3p]. GUESS: when stock is kept on the product
# (inventory_on_variants 0), selling one of that variant draws `factor` units of the product's stock.
MULTIPLY_FACTOR_ON_PRODUCT_STOCK = True
# GUESS: a product's `quantity` is its stock summed over branches (and variances).
PRODUCT_QUANTITY_IS_TOTAL = True

# --- Variant types ---------------------------------------------------------------------------------
# Evidenced [3p: PHP plugin]: POST /variance-type/create-or-update {name, slug, variants: [{name, slug}]}
# → {uid, name, variants: [{uid, name}]}; variances carry variance_values [{name, variance_type}].
# GUESS: a type is found again by slug (else name) and its values by slug (else name): create-or-update.
VARIANCE_TYPE_KEY = ("slug", "name")  # built into catalog.py: not a switch

# --- Tags (categories) -----------------------------------------------------------------------------
# Evidenced [3p]: GET /tags (filter `names[]`, per_page -1), POST /tags {name} → {uid, …}, GET
# /tags/{uid}/products?cashRegister=&per-page=-1 → items {product, product0, selling_price}. GUESS: those
# items are every live product of the tag, whatever the register (register menus are not emulated).
TAG_NAMES_PARAM = "names"
# GUESS: tag names are unique in a shop (case-insensitive); a second POST /tags with a taken name is 422.
# The plugin looks a name up before creating it, as one does when duplicates are refused.
TAG_NAME_UNIQUE = True
TAG_CREATE_STATUS = 201  # GUESS

# --- Stock ------------------------------------------------------------------------------------------
# Evidenced [3p: PHP plugin]: GET /product-inventories?branch=&num_per_page= → rows with uid (= the
# product's uid: the plugin keys them so), sku_code, quantity; POST /product-inventories {branch, product,
# product_variance?, quantity, note}. Stock is per branch [partner: Rackbeat maps one location per register].
# GUESS: the POST sets the counted quantity (absolute) — the plugin posts the current WooCommerce stock on
# every product save, which would pile up if it were a delta.
STOCK_WRITE_ABSOLUTE = True
STOCK_ALLOW_NEGATIVE = True  # GUESS: a POS sells what is on the counter, stock may go below 0
# GUESS: only rows that were ever counted or moved are listed.
STOCK_LIST_ONLY_EXISTING = True  # built into stock.py: not a switch
INVENTORY_CREATE_STATUS = 201  # GUESS

# --- Baskets (sales receipts) -------------------------------------------------------------------------
# Evidenced [3p]: GET /baskets (data/meta), GET /baskets/{uid} (bare, with `canceled`), POST /baskets
# {order_hash, external_id, creation_time, cash_register, basket_items: [{product, quantity, selling_price,
# comment, tax, course, product_variance, menu, name, discount}], staff, type, table_id, discount_margin}
# → {uid, …}, PUT /baskets/{uid}/cancel, GET /baskets/top-item-sales?from_date&to_date.
# GUESS: the list is newest first, by uid (a receipt's uid never changes; a receipt created later through
# the API with an older creation_time still comes first). The sales-sync script assumes newest first.
BASKETS_NEWEST_FIRST = True
# GUESS: no date filter on /baskets: from/to/date/dateFrom/startDate/crdate_from/created_from (all tried by
# the sales-sync script, results unknown) are ignored; clients page newest-first and stop themselves.
BASKET_DATE_FILTER = False  # built into baskets.py: not a switch
# GUESS: lines are read back under the key they are written with, `basket_items`. The sales-sync script
# looked for sales/products/items/basketProducts/lines/basket_products and never showed what it found.
LINES_KEY = "basket_items"
# GUESS: list items are whole baskets, lines included (the sales-sync script first looks for the lines in
# the list item, then fetches the detail "perhaps only there").
LIST_BASKETS_HAVE_LINES = True  # built into baskets.py: not a switch
# Line amounts are integers; clients divide by 100 (øre) [3p: sales-sync script "typisk øre", unverified].
# The plugin writes a line's selling_price as the unit price incl. VAT in øre [3p]. GUESS (VAT): every
# amount is gross (incl. VAT); each line carries tax (uid), tax_percentage and vat_amount =
# total − round_half_up(total × 100 / (100 + pct)); the basket sums total and vat_amount.
VAT_FIELDS = ("tax", "tax_percentage", "vat_amount")  # built into baskets.py: not a switch
# GUESS: a line's `discount` is øre off the line total (the plugin always sends 0.0).
LINE_DISCOUNT_IS_AMOUNT = True  # built into baskets.py: not a switch
# GUESS: `order_hash` makes POST /baskets idempotent: the same hash again answers the first basket (200).
# The plugin builds it as "<cash register>-<order|refund>-<order id>", a natural de-duplication key.
ORDER_HASH_DEDUP = True
BASKET_CREATE_STATUS = 201  # GUESS
# GUESS: cancelling puts the stock back and marks the basket canceled = 1; cancelling twice is harmless.
CANCEL_RESTORES_STOCK = True
# GUESS: a negative quantity is a refund line (the plugin sends WooCommerce refunds as baskets).
NEGATIVE_QUANTITY_IS_REFUND = True
DEFAULT_PAYMENT_TYPE = 1  # GUESS: a till sale without a payment type is cash (payment type 1)
# GUESS: top-item-sales answers {"data": [{product, product_variance, name, quantity, total}]} for the
# dates (shop time, inclusive), canceled baskets left out, biggest quantity first; no paging.

# --- Push ----------------------------------------------------------------------------------------
# Evidence of a push [3p: PHP plugin ShopBoxHooks/InventoryImporter]: the shop's web site shows a URL
# "<site>/?shopbox_hook_id=<md5(api token)>" to give to Shopbox, and Shopbox calls it with
# action=updateInventory and a JSON array [{product_id, quantity, variance_values, variance_id}]; the
# plugin subtracts `quantity` from the product (or the variant found by variance_id / variance_values).
# Nothing else (no subscription API, no signature, no order events) is known.
# GUESS: the URL is registered in the back office (a control route here), called with POST after each
# till sale, one array per basket; variance_values are the value slugs and variance_id the variance's
# integration_number; no retries; baskets created through the API are not echoed (the plugin would
# subtract its own web orders twice).
INVENTORY_HOOK = True
HOOK_ON_API_BASKETS = False
HOOK_RETRY_DELAYS_S: tuple[float, ...] = ()
