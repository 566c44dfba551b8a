"""Every Tradera behaviour the sandbox needs but no evidence pins down: one constant per guess.

The evidence is digested in ``docs/research/tradera.md`` (tags used below: ``[spec <pointer>]`` the vendor's
OpenAPI v4 document, ``[doc: ...]`` vendor pages and the vendor's own plugin, ``[rec]`` the recorded v3 SOAP
answers, ``[3p: ...]`` third-party clients, ``[seed]`` Plugboard's help); §14 of the digest lists the guesses
below again. The spec describes only 200 answers, has no ``required`` lists and no length limits, so
for Tradera this file is the record of what the connector assumes. When real v4 traffic shows otherwise,
change the value here and nowhere else. Names in CAPITALS in the digest are the constant names here.
"""

from __future__ import annotations

# --- Errors (digest §2) -------------------------------------------------------------------------------
# Evidenced [doc: rest "Error responses"]: {"error": {"code": "BadRequest", "message": "..."}} and the
# statuses 400/401/403/429/500. GUESS ERROR_CODES: `code` is the .NET HttpStatusCode name of the status
# (only BadRequest appears in a vendor example; [3p: py-client] assumes the same names).
ERROR_CODES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
               405: "MethodNotAllowed", 409: "Conflict", 415: "UnsupportedMediaType",
               429: "TooManyRequests", 500: "InternalServerError", 502: "BadGateway",
               503: "ServiceUnavailable", 504: "GatewayTimeout"}
# GUESS V4_ERROR_MESSAGES: business refusals carry the v3 fault text after "---> " [rec], e.g.
# "Request data is not valid:\nShop item with id 12345 does not exist for user N."
INVALID_REQUEST_PREFIX = "Request data is not valid:"
NO_SUCH_SHOP_ITEM = "Shop item with id {item_id} does not exist for user {user_id}."  # [rec RemoveShopItem]
NO_SUCH_TRANSACTION = "Transction with id {transaction_id} does not exist."  # [rec] (Tradera's typo)
NO_SUCH_ORDER = "Order with id {order_id} does not exist."  # GUESS ORDER_RULES (modelled on the two above)
NOT_FOUND_ITEM = "The item does not exist or does not belong to the seller."  # 404 [spec items/{itemId} summary]
INVALID_APP_ID = "Invalid application id"  # [rec] "Server was unable to process request. ---> Invalid application id"
INVALID_APP_KEY = "Invalid application key"  # GUESS (no recorded text for a wrong key)
# GUESS USER_AUTH_STATUS: a missing/wrong/expired user token on a User+Seller endpoint is 403 ([doc: v3
# DocAuthorization] "without the right authorization ... 403 Forbidden"; v4 keeps 401 for app credentials).
USER_AUTH_STATUS = 403
INVALID_USER_TOKEN = "The user is not authorized for this application."  # GUESS wording
RATE_LIMIT_MESSAGE = "The rate limit has been exceeded. Wait before retrying."  # [doc: rest] status text
SERVER_ERROR_MESSAGE = "An unexpected error occurred."  # GUESS
# GUESS BIND_ERROR_STATUS: a body that does not bind to the operation's schema (a decimal in an int32, a
# string for a number, an unknown enum number) is a 400 in the same envelope. ASP.NET Core refuses a
# non-integer for `int`; v3 answered "Input string was not in a correct format." [rec AddItem].
BIND_ERROR_STATUS = 400
# GUESS BIND_UNKNOWN_FIELDS: a property the schema does not declare is refused (400). The spec declares
# `additionalProperties: false` on every schema; ASP.NET Core may ignore unknown JSON properties instead,
# but refusing is the safe side for a connector (a misspelt field never passes silently).
BIND_UNKNOWN_FIELDS_REFUSED = True
# GUESS NULL_REFS_BIND: a property typed as another schema ($ref) may be null in a request (a .NET
# reference type; the v3 update page asks for "All other properties ... set to null").
NULL_REFS_BIND = True
EMPTY_BODY_MESSAGE = "A non-empty request body is required."  # GUESS: ASP.NET Core's own text
# GUESS: a POST/PUT without a JSON content type is 415 (ASP.NET Core [ApiController]); the spec lists
# application/json, text/json and application/*+json [spec #/paths/~1v4~1listings~1shop-items/post].
JSON_MEDIA_TYPES = ("application/json", "text/json")

# --- Quota (digest §3) --------------------------------------------------------------------------------
# Evidenced: 100 calls / 24 h for all methods, 429 when exceeded [doc: v3 start page; doc: plugin README].
QUOTA_LIMIT = 100
QUOTA_WINDOW_S = 86_400.0  # GUESS QUOTA_WINDOW: a sliding 24 h window per application
# GUESS QUOTA_COUNTS_ERRORS: every request counts, 4xx and 429 answers and the token call included.
QUOTA_COUNTS_ERRORS = True
# GUESS QUOTA_HEADERS: none — no Retry-After, no X-RateLimit-* (none documented, recorded or read by any
# client; the "Calls remaining" in [rec] is the POC client's own counter [3p: poc README]).
QUOTA_HEADERS: dict[str, str] = {}
# GUESS: the browser login pages (/token-login) are Tradera's web site, not API methods: they do not count.
LOGIN_PAGES_COUNT = False

# --- Token login (digest §4) ------------------------------------------------------------------------
SKEY_MIN, SKEY_MAX = 32, 255  # [notes: v2 GetToken page] "32-255 characters"
TOKEN_FORMAT = "guid"  # (built in) GUESS TOKEN_FORMAT: opaque GUIDs ([doc: plugin README] "User Token (GUID)")
TOKEN_LIFETIME_DAYS = 540  # GUESS: ≈ the recorded 17½ months [rec FetchToken expiry 2027-02-26]
SKEY_SINGLE_USE = True  # GUESS: a second POST /v4/auth/token with one skey is 400 ([doc: plugin] "already used")
SKEY_USED_MESSAGE = "The secret key is invalid or has already been used."  # GUESS wording
# GUESS ACCEPT_URL_PARAMS: with "Display token" on, the accept URL gets userId, token and exp
# ([3p: poc auth_server.py] reads these names; the vendor names none).
ACCEPT_URL_PARAMS = ("userId", "token", "exp")
DEFAULT_ACCEPT_URL = "/token-login/accepted"  # sandbox settings; a registered app has its own URLs
DEFAULT_REJECT_URL = "/token-login/rejected"
# GUESS: the sandbox has no passwords: any non-empty user name logs in as the sandbox's one seller.
ANY_USER_NAME_IS_THE_SELLER = True  # built into auth.py: not a switch

# --- Shop items (digest §5-§7, §11) ---------------------------------------------------------------------
OMITTED_IS_NULL = True  # GUESS: on update omitted and `null` both mean "not changed" (built in: not a switch)
ITEM_TYPE_SHOP = 4  # ApiItemType 4 = shop item [doc: plugin tradera-get-item]
# GUESS ITEM_VIEW: a shop item shows its price in `buyItNowPrice` and its stock in `remainingQuantity`;
# `shortDescription` is the title; `startQuantity` is the quantity given at creation; `endDate` is the
# deactivateDate, or ITEM_OPEN_END_DATE for a shop item that never ends.
ITEM_OPEN_END_DATE = "2099-12-31T23:59:59.000000Z"
ITEM_LINK = "https://www.tradera.com/item/{category_id}/{item_id}"  # GUESS: the web address shape
# GUESS ENUM_ORDER: v3 declaration order from 0 ([3p: wsdl-ts], [3p: py-client]).
ACTIVE_FILTER = {0: "all", 1: "active", 2: "inactive"}
ITEM_TYPE_FILTER = {0: "all", 1: "auction", 2: "pure_buy_it_now", 3: "shop_item"}
QUERY_DATE_MODE = {0: "createdDate", 1: "lastUpdatedDate"}
TRANSACTION_FILTER = {2: "new", 4: "new_and_updated"}
# GUESS LISTING_RULES (first-step validation → 400; digest §11 table). Evidenced limits are in listing.py.
TITLE_REQUIRED = True  # an empty/missing title on create is refused
PRICE_REQUIRED = True  # a create without price is refused; price <= 0 is refused always
CATEGORY_REQUIRED = True  # a create without a known categoryId is refused (every listing sits in a category)
DEFAULT_ACCEPTED_BUYER_ID = 1  # missing on create → Sweden (the vendor skill's default [doc: plugin])
LANGUAGE_CODE_LENGTH = 2  # descriptionLanguageCodeIso2 must be two letters
# GUESS VARIANT_RULES: the seller chooses variantGroupId; sellerPartNo, variantGroupId and at least one
# {name, value} attribute are required (400); two live variants of one group with the same attribute set
# (names and values compared case-insensitively) are refused; merchantPartNumber = sellerPartNo.
VARIANT_ATTRIBUTES_CASE_INSENSITIVE = True
# GUESS BATCH_QUANTITY_IS_ABSOLUTE: PUT shop-items/quantities sets the value ("Sets the quantity" [doc: v3]).
BATCH_QUANTITY_IS_ABSOLUTE = True  # built into items.py: not a switch
BATCH_MAX = 500  # GUESS BATCH_MAX: "We recommend a maximum of 500" [doc: v3]; more → 400 for the whole call
BATCH_TOO_LARGE = "Too many shop items in one call; the maximum is {max}."
# GUESS BATCH_PARTIAL: bad rows go to validationErrors, the rest are applied; one request id per price row.
PRICE_NOT_POSITIVE = "Price must be greater than 0"  # [3p: soap-ts] checks price > 0 itself
QUANTITY_NEGATIVE = "Quantity must be 0 or greater"
# A removed shop item is gone: 404 on read, no longer listed, still reported once by updated-seller-items.
REMOVED_IS_GONE = True  # built into items.py/queue.py: not a switch

# --- Queue (digest §8) -------------------------------------------------------------------------------
QUEUE_DELAY_S = 2.0  # GUESS QUEUE_DELAY_S: a request has no result for 2 s, then its final result
RESULT_OK, RESULT_ERROR, RESULT_MAX_ACTIVE = 1, 4, 64  # names [3p: py-client]: Ok, Error, Reached...Threshold
RESULT_KEPT_DAYS = 7  # GUESS QUEUE_RESULTS: results are kept 7 days; unknown ids are simply absent
PAYMENT_OPTION_NOT_ENABLED = "Payment option {option} is not enabled for this seller."  # GUESS wording
MAX_ACTIVE_REACHED = "The maximum number of active shop items ({max}) has been reached."  # GUESS wording
QUANTITY_BELOW_ZERO = "The quantity of shop item {item_id} cannot become negative."  # GUESS: result 4
# GUESS: ?requestIds=1&requestIds=2 (ASP.NET binding); a comma list works too (built into queue.py)
REQUEST_IDS_REPEATED = True
FAILED_CREATE_GONE = True  # (built into queue.py) GUESS: a failed create's reserved id never becomes an item

# --- Row versions (digest §9) -------------------------------------------------------------------------
# GUESS ROWVERSION_RULES: one increasing counter per seller; every change (create, update, price, quantity,
# sale, removal) gives the item a new value; answers list items with rowVersion > given, ascending, no cap.
# The counter starts above the int32 range (SQL Server rowversions are 8-byte numbers; the spec types it
# int64), so a client that keeps it in 32 bits fails at once.
ROWVERSION_START = 3_000_000_000

# --- Money, VAT, orders (digest §10, §12) -------------------------------------------------------------
VAT_RATES = [0, 6, 12, 25]  # GUESS VAT_RATES: Sweden's rates
# GUESS MONEY_RULES: prices include VAT; subTotal = Σ quantity × unitPrice; payment = subTotal + shippingCost.
# GUESS ORDER_WINDOW: fromDate/toDate inclusive, UTC (a date without offset is UTC), no maximum window,
# both required (400 without them).
# GUESS ORDER_RULES: an order is made when a shop purchase is paid (one payment, paidDate set); one
# transaction per order line with amount = quantity × unitPrice; lastUpdatedDate moves on the first ship and
# on transaction-status changes; shipping again answers 200 with nothing changed; unknown order → 400.
# GUESS SALE_DECREMENTS_STOCK: a sale lowers remainingQuantity and gives the item a new row version.
COUNTRY_NAME = "Sverige"  # GUESS: countryName is the Swedish name of the country
PAYMENT_REFERENCE = "TR-{order_id}"  # GUESS: the payment's reference text
# GUESS TIME_BODY: {"time": "…Z"} [doc: rest] over the spec's bare string (built in: spec.RESPONSE_OVERRIDES)
TIME_BODY_IS_OBJECT = True

# --- Sandbox ids (sandbox choices, not vendor claims) ---------------------------------------------------
# Separate number ranges, so that a client mixing an item id with a request or order id fails visibly.
ITEM_ID_BASE = 600_000_000
REQUEST_ID_BASE = 40_000_000
ORDER_ID_BASE = 10_000
TRANSACTION_ID_BASE = 300_000_000
