"""Every Rackbeat behaviour the sandbox needs but no evidence pins down: one constant per guess.

Each constant says it is a GUESS and why that value was chosen. The evidence itself is digested in
``docs/research/rackbeat.md`` (its §12 "Guesses" lists these constants again); everything else in
``integrations_dagster/sandbox/rackbeat`` is cited where it is coded. When real traffic shows otherwise,
change the value here and nowhere else.

Short names of the sources used in the reasons (full addresses in the digest):
* "portal": developer.rackbeat.com/reference/<page> [doc];
* "SDK": the official PHP client ``Rackbeat/laravel-client`` [source];
* "swagger": the Swagger-Codegen PHP client ``kg-bot/rackbeat-app`` generated from Rackbeat's own
  Swagger (API version 0.5.4, ``api.rackbeat.io/v1``) — an old vendor spec read through generated docs [spec];
* "kg-bot": ``kg-bot/laravel-rackbeat`` [3p]; "mother-sku": a public Vercel app ``rackbeat-mother-sku-sync``
  that talks to a live Rackbeat account and notes what it saw [3p, observed traffic].
"""

from __future__ import annotations

# --- Errors (Rackbeat is a Laravel app: the SDK says it pluralises keys "as does Rackbeat API") ------------
# GUESS: the 401 body is Laravel's default for a failed token guard. The portal only says requests "will be
# rejected with authentication errors"; its error page documents 422 only.
UNAUTHENTICATED_BODY = {"message": "Unauthenticated."}
# GUESS: a missing record answers 404 with a Laravel-style {"message"}; the wording is ours.
NOT_FOUND_MESSAGE = "No query results for {what} {key}."
# GUESS: the 429 of the generic rate limit knob: Laravel's throttle body, ``Retry-After`` in whole seconds and
# ``X-RateLimit-Limit`` / ``X-RateLimit-Remaining`` on every answer (kg-bot reads exactly these two headers;
# no rate limit is documented — kg-bot self-throttles to 480 requests a minute).
RATE_LIMITED_BODY = {"message": "Too Many Attempts."}
# GUESS: 5xx bodies (never documented).
SERVER_ERROR_BODY = {"message": "Server Error"}
# GUESS: wording of 422 messages the portal does not quote. Two are quoted and used verbatim where they
# apply: "The selected Customer is invalid." and "Product needed" (portal: errors).
MSG_REQUIRED = "The {field} field is required."
MSG_INVALID = "The selected {field} is invalid."
MSG_TAKEN = "The {field} has already been taken."
MSG_TOO_LONG = "The {field} may not be greater than {max} characters."
MSG_NUMERIC = "The {field} must be a number."
MSG_BOOLEAN = "The {field} field must be true or false."
MSG_INTEGER = "The {field} must be an integer."
# Evidenced (mother-sku): a zero-change adjustment is refused with this text; its status and the field it
# hangs on are GUESSES (422 under "quantity").
MSG_NO_CHANGE = "Adjustment can't be created, since no change is made."
MSG_NO_INVENTORY = "The item's group has no inventory."
MSG_HAS_INVENTORY_LOCKED = "Has inventory can not be changed after an item of the group has had a movement."
MSG_VARIATION_WITH_STOCK = "A product with stock on hand can not be given a variation group."  # ht-00066 rule
MSG_VARIATION_NEEDED = "A variation must be chosen for a product with variations."
MSG_ALREADY_BOOKED = "The order is already booked."
MSG_BOOKED_LOCKED = "A booked order can not be changed."
MSG_UNKNOWN_EVENT = "The selected event is invalid."

# --- Lists ------------------------------------------------------------------------------------------------
# GUESS: a list that fits on one page (pages <= 1) answers 200; only a page of a larger set answers 206. The
# portal says list endpoints answer 206 "indicating that only a subset of the total data is being returned"
# and the swagger names the products list's answer InlineResponse206; nobody shows the status of a list that
# fits. Clients must accept both (the SDK only reads the body).
STATUS_WHOLE_SET = 200
STATUS_PART_OF_SET = 206
DEFAULT_LIMIT = 20  # evidenced (portal: pagination "default: 20")
# GUESS: the largest page. kg-bot asks limit=1000 on every list for years; the SDK's all-pages helper 200.
# A larger limit is clamped, not refused.
MAX_LIMIT = 1000
# GUESS: ``search`` matches case-insensitively as a substring of these fields of a row.
SEARCH_FIELDS = {
    "items": ("number", "name", "barcode"), "product-groups": ("number", "name"),
    "locations": ("number", "name"), "customers": ("number", "company_name", "contact_email"),
    "orders": ("number", "their_reference", "customer_name"), "fields": ("name", "slug"),
    "webhooks": ("event", "url"),
}

# --- Time -------------------------------------------------------------------------------------------------
# GUESS: timestamps ("2025-01-08 10:30:00", no zone — portal examples) are the account's local time,
# Europe/Copenhagen (a Danish vendor), and ``updated_at_from`` / ``updated_at_to`` are read in that zone too,
# both bounds inclusive, to the second. A date without a time ("2025-07-14") means its midnight.
TIMEZONE = "Europe/Copenhagen"
# GUESS: a stock movement (adjustment, shipment) does not touch the item's ``updated_at`` (stock is a ledger
# sum, not a field of the item). A connector polling by updated_at must read stock separately, or listen.
STOCK_MOVE_BUMPS_ITEM_UPDATED_AT = False

# --- Items ------------------------------------------------------------------------------------------------
NUMBER_MAX_LEN = 25  # evidenced (help centre: how-to-create-a-product "max 25 characters")
# GUESS: ``urlfriendly_number`` is PHP rawurlencode(number) (RFC 3986: letters, digits and "-_.~" kept, all
# else %XX, space %20). Why: the SDK rawurlencode()s urlfriendly_number once more when it builds a path, and
# kg-bot rawurlencode()s the plain number twice — the same bytes on the wire; a number like "A/B 1" then
# travels as "A%252FB%25201". The sandbox also accepts the number encoded once ("A%2FB%201").
URLFRIENDLY_IS_RAWURLENCODE = True
# GUESS: VAT percents of a new product group when the body leaves them out (Danish/Norwegian domestic 25,
# zero outside the country and when exempt). Values are percents (25.0), not fractions.
DEFAULT_GROUP_VAT = {"vat_domestic": 25.0, "vat_eu": 0.0, "vat_abroad": 0.0, "vat_domestic_exempt": 0.0}
# GUESS: a product's ``inventory_enabled`` is its group's ``has_inventory`` (the group holds the flag —
# help centre ht-00064 — while integrators read it per product).
INVENTORY_FROM_GROUP = True
# GUESS: ``sales_price`` is required on create (the swagger marks it required); ``cost_price`` is read-only
# and silently ignored when sent (help centre: "cost price cannot be set directly").
SALES_PRICE_REQUIRED = True
# GUESS: DELETE of a product, lot, field or webhook answers 204 with no body (the swagger: "void").
DELETE_STATUS = 204
# GUESS: a lot's stock is what its components allow: min over lines of floor(component available / line
# quantity) (a kit / "strukturvare"); selling a lot reserves and draws its components.
LOT_STOCK_FROM_COMPONENTS = True

# --- Variations -------------------------------------------------------------------------------------------
# GUESS: giving a product a variation group creates one product variation per combination of the group's
# options (the UI's "variation matrix", help centre ht-00066); each gets its own id and an empty ``sku``.
VARIATIONS_FROM_MATRIX = True
# GUESS: an order line or an adjustment names its variation by the chosen options,
# ``variations: [{"option_id": ..}, ..]`` one per variation type (the portal's 422 example names
# "lines.0.variations.0.option_id"; the swagger's LineVariation has variation_id and option_id), or by the
# product variation's id in ``product_variation_id`` (our shortcut).
LINE_VARIATION_SHORTCUT = "product_variation_id"

# --- Stock ------------------------------------------------------------------------------------------------
# Evidenced (mother-sku): POST /inventory-adjustments {item_id, adjustment_type: "quantity", quantity,
# location, regulated_at, reason} answers {"inventory_regulation": {id, ..}}, and nothing moves until
# POST /inventory-adjustments/{id}/book; "quantity" is the new count at the location (the app sends its
# target and Rackbeat refuses an adjustment that changes nothing).
# GUESS: a second type, "regulation", whose quantity is a signed change.
ADJUSTMENT_TYPE_ABSOLUTE = "quantity"
ADJUSTMENT_TYPE_DELTA = "regulation"
# GUESS: without ``location`` an adjustment (and an order line) uses the item's default location, else the
# account's default location (the first one created, ``is_default``).
DEFAULT_LOCATION_FALLBACK = True  # built into stock.Stock.resolve_location: not a switch
# GUESS: booking an order reserves stock (in_order_quantity up, available_quantity down); shipping draws it
# (stock_quantity down). The swagger defines available_quantity as "in stock - in order"; mother-sku saw a
# shipment decrement stock. Stock may go negative on shipment (Rackbeat does not block sales, GUESS).
BOOKING_RESERVES_STOCK = True
ALLOW_NEGATIVE_STOCK = True  # built into stock.Stock.move (no floor on on_hand): not a switch

# --- Orders -----------------------------------------------------------------------------------------------
# GUESS: order numbers count up from 1001 (mother-sku saw order "1021" on a young account).
FIRST_ORDER_NUMBER = 1001
FIRST_CUSTOMER_NUMBER = 1
# Evidenced: POST /orders creates a booked order and POST /orders/drafts a draft (portal: postordersdrafts;
# SDK createDraft / drafts() = is_booked false).
# GUESS: ``"book": false`` in the body of POST /orders creates a draft as well (the portal's convert
# endpoint takes book=false to make a draft).
ORDERS_POST_BOOKS = True
# GUESS: a line's VAT percent is its own ``vat_percentage`` when sent, else the product group's rate for the
# order's ``vat_zone`` (domestic | eu | abroad | domestic_exempt — the group's four zones), the zone coming
# from the order, else the customer, else "domestic". Line prices are excl. VAT, in the order's currency.
VAT_ZONES = ("domestic", "eu", "abroad", "domestic_exempt")
DEFAULT_VAT_ZONE = "domestic"
# GUESS: line_total = quantity × line_price × (1 − discount_percentage/100), rounded half-up to 2 decimals
# per line; vat per line = line_total × vat_percentage/100 rounded the same way; total_subtotal = Σ
# line_total, total_vat = Σ vat, total_total = subtotal + vat. Money is a JSON number in major units.
MONEY_DECIMALS = 2
# GUESS: a line without ``line_price`` takes the product's (or lot's) sales_price; without ``name`` the item's.
LINE_DEFAULTS_FROM_ITEM = True  # built into sales.Sales._line: not a switch
# GUESS: an order's currency defaults to the customer's, else the account's.
ACCOUNT_CURRENCY = "NOK"

# --- Custom fields ----------------------------------------------------------------------------------------
# Evidenced: GET /products/{n}/fields answers {"field_values": [{"field": {"id", ..}, "value"}]} (kg-bot,
# mother-sku); PUT /orders/{n}/fields takes {"custom_fields": [{"id", "value"}]} (SDK).
# GUESS: items are written the same way (PUT /products|lots|items/{n}/fields {"custom_fields": [..]}), and
# GET lists every field available for items, unset ones with their default_value (or null).
ITEM_FIELDS_WRITE_BODY = "custom_fields"
FIELD_TYPES = ("text", "textarea", "checkbox", "dropdown")  # evidenced (portal: custom-fields-1)
# GUESS: the list filter ``for=item`` (CONTRACTS' spelling) is accepted as an alias of the SDK's
# ``available_for=item``.
FIELDS_FOR_ALIAS = "for"

# --- Webhooks ---------------------------------------------------------------------------------------------
# Evidenced: headers Rackbeat-Webhook-Token / -Event / Rackbeat-Account-Id / User-Agent "Rackbeat Webhook"
# (portal: webhook-events); the token is 32 characters and only in the creation answer (portal:
# intro-to-webhooks). The event header is singular ("order.created", "product.updated") (mother-sku).
# GUESS: the account id in Rackbeat-Account-Id when the credentials give none.
ACCOUNT_ID = "4242"
# The portal's payload example is {"key", "key_name", "event", "data"}; real deliveries seen by mother-sku,
# and the portal's own changelog example for product.deleted, carry no "event" and no "data":
# {"key_name": "number", "key": "1021"}. GUESS: the sandbox sends what was observed ("observed"); the control
# route /__sandbox__/rackbeat/settings switches to the documented shape ("documented") for a test.
WEBHOOK_PAYLOAD_STYLE = "observed"
# GUESS: number keys travel as strings ("1021" was observed for an order number), id keys as integers.
KEY_AS_STRING_FOR_NUMBER = True
# Subscriptions: the portal subscribes "orders.created" (plural) while deliveries say "order.created"; a
# Rackbeat-made integration subscribes "plugin.uninstalled" (singular). GUESS: both spellings are accepted and
# name the same event; the webhook keeps the spelling it was created with.
# Event names evidenced: order.created, product.created, product.updated (mother-sku), product.deleted and
# lot.created (portal changelog), employee.created, payment_terms.created … (portal: webhook-events).
# GUESS: the rest of this list, and above all the stock event — its name was never captured. The stock event
# fires when a product's stock or available quantity changes at a location (adjustment booked, order booked or
# shipped). Its observed-style body adds {"item", "item_type": "product", "type": "stock"}: a payload of that
# shape is handled by mother-sku's stock sync, whose event name is not shown.
STOCK_EVENT = "product.stock_changed"
EVENTS = (
    "product.created", "product.updated", "product.deleted", STOCK_EVENT,
    "lot.created", "lot.updated", "lot.deleted",
    "product_group.created", "product_group.updated",
    "order.created", "order.updated", "order.booked", "order.shipped", "order.deleted",
    "customer.created", "customer.updated",
    "location.created", "location.updated",
    "field.created", "plugin.uninstalled",
)
# GUESS: the plural spelling of each entity for subscriptions ("orders.created").
PLURALS = {"product": "products", "lot": "lots", "order": "orders", "customer": "customers",
           "location": "locations", "field": "fields", "plugin": "plugins", "product_group": "product_groups"}
# GUESS: "updated" events (observed style) carry old_key, new_key and changed (the portal documents them for
# "updated" events and says they are "generally always supplied").
UPDATED_EXTRA_KEYS = True
# Evidenced: ~24 h of retries with exponential back-off (portal: monitoring-security). GUESS: 10 retries
# doubling from 1 minute (1, 2, 4 … 512 min ≈ 17 h), compressed 1/600000 so a test sees them in ~0.1 s.
WEBHOOK_RETRY_SCALE = 1 / 600_000
WEBHOOK_RETRY_DELAYS_S = tuple(60 * 2 ** n * WEBHOOK_RETRY_SCALE for n in range(10))
# GUESS: failures_since_last_success counts deliveries that failed every attempt; a delivered one resets it.
# A same event+url POST answers 200 (update) instead of 201 (portal: monitoring-security lists both codes).
WEBHOOK_TOKEN_LENGTH = 32
