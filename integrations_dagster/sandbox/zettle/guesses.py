"""Every Zettle behaviour the sandbox needs but no evidence pins down: one constant per guess.

Each constant says it is a GUESS and why that value was chosen. Citations point into the research
digest ``docs/research/zettle.md`` (§8 "Evidence gaps and recommended sandbox choices" lists them).
Everything else in ``integrations_dagster/sandbox/zettle`` is cited as [doc]/[3p]/[derived].
When real traffic shows otherwise, change the value here and nowhere else.
"""

from __future__ import annotations

# --- OAuth ---------------------------------------------------------------------------------------
# GUESS: the exact error_description for a bad/revoked API key is undocumented; only the error code
# `invalid_grant` with HTTP 400 is [doc: …assertion-grant.md §Step 1 note; authorization.md §Errors].
BAD_ASSERTION_DESCRIPTION = "Invalid assertion"
# GUESS (wording): 3p code shows `invalid_client` / "Invalid client_id" and status 400 [3p: LauLamanApps
# GuzzleClientExceptionHandler.php; vilkasgroup test_invalid_client_id]; we reuse that verbatim.
BAD_CLIENT_DESCRIPTION = "Invalid client_id"
# GUESS: RFC 6749 §5.2 codes for a wrong grant_type / missing fields; Zettle docs only cite RFC 6749.
UNSUPPORTED_GRANT = ("unsupported_grant_type", "Unsupported grant type")
MISSING_FIELD = ("invalid_request", "Missing parameter")
# Documented lifetime is 7200 s [doc: authorization.md §Refreshing an access token]; a Knobs default
# (3600, generic) is replaced by this, any other knob value is honoured (tests shorten it).
TOKEN_TTL_S = 7200

# --- 401 on resource APIs ----------------------------------------------------------------------
# The header for an expired token is documented [doc: authorization.md §Include the access token];
# GUESS: the body (digest §1.4 builds it from the generic envelope) and the description used for a
# missing or unknown (never issued) token — no example of those exists.
EXPIRED_DESCRIPTION = "ACCESS_TOKEN_EXPIRED"
INVALID_TOKEN_DESCRIPTION = "INVALID_ACCESS_TOKEN"

# --- Error envelope ------------------------------------------------------------------------------
# The envelope {developerMessage, errorType, violations} is [issue: iZettle/api-documentation#37, #43].
# GUESS: status and errorType of validation failures, and the violation item shape (digest §2.7, §8).
VALIDATION_STATUS = 400
VALIDATION_ERROR_TYPE = "VALIDATION"
NOT_FOUND_ERROR_TYPE = "NOT_FOUND"  # GUESS: 404 is documented for purchases, its errorType is not
# GUESS: creating a product whose uuid exists (digest §8 says 400/409; 409 is the HTTP meaning).
DUPLICATE_STATUS = 409
DUPLICATE_ERROR_TYPE = "ENTITY_ALREADY_EXISTS"
# GUESS: a path naming another organization than the token's (only `self` is ever shown working).
FOREIGN_ORG_STATUS = 403
SERVER_ERROR_TYPE = "INTERNAL_SERVER_ERROR"  # seen in [issue: #37]; any 5xx reuses it (GUESS)

# --- Products ------------------------------------------------------------------------------------
# GUESS: create answers 201 + empty body + Location (digest §2.4; clients ignore the body [3p]).
CREATE_STATUS = 201
# GUESS: variants missing from an update's `variants` array are deleted (digest §2.5: the vendor
# example always sends every variant, so the array is read as the full list).
OMITTED_VARIANTS_DELETED = True
# GUESS: an `ETag: "<etag>"` response header on GET/PUT (only the body `etag` is evidenced).
SEND_ETAG_HEADER = True
# GUESS: the update path without /v2 (PUT /organizations/self/products/{uuid}) is served as an alias
# of the documented v2 path, because our connector's URL layout names it.
SERVE_UPDATE_ALIAS = True
# GUESS: the user uuid shown as updatedBy/createdBy (v4, like user ids in the docs [digest §6.4]).
USER_UUID = "7a1abbf4-b5e2-4c70-8b21-f4ec5b00c463"  # the doc example's user [doc: event-payloads]

# --- Inventory v3 ------------------------------------------------------------------------------
# Documented: "4 requests per second", averaged over a short period [doc: inventory overview §Rate
# limit]. GUESS: modelled as a token bucket of 4/s with a burst of 4, answered 429 + Retry-After
# (whole seconds, rounded up) and the standard envelope (digest §3.1, §8).
INVENTORY_RATE_PER_S = 4.0
INVENTORY_BURST = 4
RATE_LIMITED_ERROR_TYPE = "TOO_MANY_REQUESTS"
# GUESS: body of start/stop tracking and of GET tracking status (digest §8).
TRACKING_BODY_KEY = "productUuids"
# GUESS: default/maximum page size of GET /v3/stock (100 in the doc examples; 1000 per a 3p tool).
STOCK_PAGE_DEFAULT = 100
STOCK_PAGE_MAX = 1000
# GUESS: the cursor is the last row's variantUuid (the doc only says it is a v1 UUID).
# GUESS: movement refusals (change <= 0, unknown inventory, untracked product) answer 400 VALIDATION;
# STORE may go negative (POS oversells) (digest §3.1, §8).
ALLOW_NEGATIVE_STORE = True
LOW_STOCK_LEVEL = 0  # GUESS: the level when none was set (the doc example shows 7, set by a user)

# --- Purchases ---------------------------------------------------------------------------------
# GUESS: default `limit` when none is given (only the 1–1000 range is documented [doc: purchase.adoc]).
PURCHASE_PAGE_DEFAULT = 1000
# GUESS: the empty terminal page is {"purchases": [], "linkUrls": []} (digest §4, §8).
# GUESS: rounding of rowTaxableAmount = gross / (1 + rate), half up (the doc example 10000 @ 12 %
# -> 8929 fits any rounding to nearest) [derived: purchase.adoc §example2].
# GUESS: the payment type of a till sale made through the control route.
TILL_PAYMENT_TYPE = "IZETTLE_CARD"
TILL_USER_DISPLAY_NAME = "Kassa 1"

# --- Pusher --------------------------------------------------------------------------------------
# Documented event names [doc: pusher-api_api-reference.md §Supported events]; unknown -> 400 [doc].
# GUESS: an HTTPS destination is also required on create (documented for update only: 422).
# The sandbox keeps that rule by default; ``POST /__sandbox__/zettle/allow-http {"allow": true}`` (a test
# instrument, undone by a reset) lets a test subscribe a plain ``http://127.0.0.1:…`` receiver.

# --- Pusher deliveries (events.py) --------------------------------------------------------------------
# GUESS: one messageId per (subscription, event): two subscriptions get different messageIds for the same
# change. The doc only says "unique UUID of the message" and that it is v5 (name-based) [digest §5.3].
MESSAGE_ID_PER_SUBSCRIPTION = True
# GUESS: webhook product JSON omits unset (null) keys instead of sending null, as the doc examples have no
# description/sku/barcode keys at all [doc: event-payloads §ProductCreated; digest §6.6, §8].
WEBHOOK_PRODUCT_OMITS_NULLS = True
# GUESS: `clientUuid` in the `updated`/`created`/`changeInformation` blocks: the doc example's value, since
# which client it names (the app? the POS device?) is unknown [doc: event-payloads].
WEBHOOK_CLIENT_UUID = "51e57b0d-1ea2-48a4-b0a0-91d90424e62c"
# GUESS: `udid` (device id) of PurchaseCreated for a till sale: a fixed 40-hex value shaped like the doc's.
WEBHOOK_UDID = "5a4d6b0c1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b"
# GUESS: PurchaseCreated carries no refund keys (the only example is a sale) [doc: event-payloads]; a refund
# shows only as negative quantities/amounts. Set True to add `refund`/`refundsPurchaseUUID1`.
WEBHOOK_PURCHASE_REFUND_KEYS = False
# GUESS: InventoryBalanceChanged lists only STORE-type inventories (the doc example moved stock in and shows
# the STORE location `fd4a39a0-…` alone, no SUPPLIER entry), one event per movements request (or sale) with
# index-aligned before/after lists; a request that changes no STORE balance raises no event.
BALANCE_EVENT_INVENTORY_TYPES = ("STORE",)
# GUESS: InventoryTrackingStarted/Stopped only when the tracking state of a product really changes (starting
# tracking of a tracked product raises nothing), one event per product (the payload names one product).
TRACKING_EVENT_ONLY_ON_CHANGE = True
# GUESS: a product deleted through the bulk DELETE raises one ProductDeleted per product (the payload is
# one product [doc: event-payloads §ProductDeleted]).
# NOT MODELLED: the TestMessage sent to a destination used for the first time, the synchronous destination
# check on create (400/500), and the FAILING status / deletion after the last retry (digest §5.1, §5.5):
# the shared Outbox reports no per-delivery outcome back to the vendor module.
