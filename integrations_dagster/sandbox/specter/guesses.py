"""Every Specter behaviour the sandbox needs but no evidence pins down: one constant per guess.

Each constant says it is a GUESS and why that value was chosen. The evidence itself (vendor change log
[doc], partner manuals [partner], integrator code [3p]) is digested in ``docs/research/specter.md``;
§10 "Evidence gaps" lists these guesses again with their reasons. Everything else in
``integrations_dagster/sandbox/specter`` is cited where it is coded. When real traffic shows
otherwise, change the value here and nowhere else.

Short names of the third-party sources used in the reasons:
* "PrestaShop module": Prestaworks AB's Specter module 6.4.7 (PHP namespace ``Prestaworks\\Module\\Specter``),
  stored copy in the GitHub repository ``Bellazilla/SP`` (``src/*.php``, ``specter.txt``, ``controllers/front/*``);
* "Laravel app": a Laravel ``OrderController::submitOrder`` that sends API-v2 orders with ``useXml=2``;
* "Abicart", "Vendre", "core-suite", "Talex": partner help pages (URLs in the research digest).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP

# --- Wire: encoding, parameter names, content types ------------------------------------------------
# GUESS: request bytes (query string and form body) are ISO-8859-1, and answers are sent in it. Why: the
# PrestaShop module utf8_decode()s every value before sending and utf8_encode()s every answer it logs;
# its change log 6.1.4/6.1.7 fixes "md5key issue with åäö" and "åäö in articlenumber". A client that
# sends UTF-8 gets mojibake ("Ã¶"), as it would from a classic-ASP server.
CHARSET = "iso-8859-1"
# GUESS: parameter names are case-insensitive and the query string is read before the form body — the
# semantics of classic ASP's Request(name). Why: integrators spell the same names differently and get
# answers (PrestaShop: "Action=" and "action=", "useXML"; Laravel app: "useXml"; "usexml" in the change
# log), and both send some parameters in the URL and others in the POST body.
PARAM_NAMES_CASE_INSENSITIVE = True
# GUESS: a parameter sent twice reads as its values joined by ", " (classic ASP's Request collection).
DUPLICATE_PARAM_JOINER = ", "
# GUESS: page names are case-insensitive (IIS): "getinfo.asp" (PrestaShop's getPDFLink call) = "getInfo.asp".
PAGE_NAMES_CASE_INSENSITIVE = True
# GUESS: classic ASP's default content type for text answers; XML answers as text/xml.
TEXT_CONTENT_TYPE = "text/html; charset=ISO-8859-1"
XML_CONTENT_TYPE = "text/xml; charset=ISO-8859-1"
# GUESS: every answer, refusals included, is HTTP 200: no integrator checks the HTTP status; they all
# read the first ';'-field or <APIresponse><code> (PrestaShop, Laravel app).
REFUSAL_HTTP_STATUS = 200
# GUESS: lines of a multi-line text answer are joined by CR, without a trailing CR. The separator CR
# (chr(13)) is [3p: PrestaShop SpecterStockHandler explode(chr(13))]; the missing trailing CR is the guess.
LINE_SEPARATOR = "\r"
# GUESS: the root element of every XML answer. Integrators read <APIresponse>, <stockChanges>,
# <articles>, <orders>, <responseMaxLimit>, <moreInfoToFetch> as children of the document element
# ($xml->APIresponse …) but never name the root itself.
XML_ROOT = "response"
# GUESS: useXML=2 gives XML on every action (the change log lists four feed functions, and the Laravel
# app gets XML from newOrderSubmit with useXml=2); useXML=1 or none gives text (the PrestaShop module
# sends useXML=1 to the writes and splits the answer on ';').
XML_WHEN_USEXML = "2"
# GUESS: getArticleInfoExternalNeedUpdate and getOrdersExternalNeedUpdate answer XML whatever useXML
# says: only XML shapes are known for them, and PrestaShop's "clear all queues" parses both as XML
# without sending useXML. Their refusals still follow useXML (that same code reads "0;99;" as text).
XML_ONLY_FEEDS = frozenset({"articles", "orders"})  # built into api.py's renderers: not a switch
# GUESS: success answers in XML: <APIresponse><result>1</result><id/><message/></APIresponse>. Only
# `result` is evidenced (the Laravel app reads (array)$con->APIresponse and checks ['result'] == 1).
XML_OK_FIELDS = ("result", "id", "message")
# GUESS: XML refusals also carry <result>0</result> before <code>/<message> (code and message are
# [3p: PrestaShop $xml->APIresponse->code == '99', ->message]).
XML_ERROR_HAS_RESULT = True

# --- Numbers --------------------------------------------------------------------------------------
# GUESS: numbers Specter writes (feeds, answers) use a decimal comma. Why: PrestaShop replaces ',' by '.'
# in priceExclVat, buyPrice and productWeight read from getArticleInfoExternalNeedUpdate, and its change
# log 4.11 fixes "0,5 stock values".
OUTPUT_DECIMAL_SEPARATOR = ","
PRICE_DECIMALS = 2  # GUESS: prices are written with 2 decimals ("159,20")
WEIGHT_DECIMALS = 3  # GUESS: weights with 3 (PrestaShop sends productWeight with 3)
# GUESS: numbers sent to Specter must use a decimal point; anything else (a decimal comma "12,50", text)
# is refused. The point is [3p: every integrator formats number_format(x, n, '.', ''); PrestaShop change
# log 4.7 "Fixed issue with decimal point"]; refusing (rather than misreading) is the guess.
INPUT_DECIMAL_POINT_ONLY = True
# GUESS: an order's total incl. VAT is the exact sum over its rows of priceExclVAT × noOfItems ×
# (1 + vatPercent/100), rounded once, half up, to öre; no whole-krona rounding (öresavrundning) on orders.
# Its total excl. VAT is Σ priceExclVAT × noOfItems rounded the same way; VAT = incl. − excl.
TOTAL_ROUNDING = ROUND_HALF_UP
TOTAL_DECIMALS = 2
# GUESS: the VAT percents a row or article may carry: Sweden's rates. Why: the PrestaShop module maps
# only 25/12/6 (SPECTER_TAX_25/_12/_6) plus 0 (free shipping, wrapping without tax). Others are refused.
VAT_PERCENTS = frozenset({"0", "6", "12", "25"})

# --- Credentials and keys -------------------------------------------------------------------------
# GUESS: an account that has an IntegrationKey (API v2) still accepts v1 keys (md5(userKey+sbmId+X)),
# except where v2 is required (multishop webshopId). Vendre says v1 installations "can upgrade" to v2,
# which sounds like a per-integration choice, not a switch that breaks v1 clients.
ACCEPT_V1_WITH_V2 = True
# GUESS: v2's outer md5 (md5(integrationKey + v1key)) applies to every action, not only to orders where
# it is seen [3p: Laravel app]; PrestaShop's commented-out `MD5($md5key2 . MD5($md5key1 . $sbmId . $ref))`
# on newArticleSubmit and its getPDFLink key have the same two-key shape.
V2_KEY_ON_EVERY_ACTION = True
# GUESS: the key is compared case-insensitively (hex digests; PHP md5() gives lower case).
KEY_CASE_INSENSITIVE = True
# GUESS: apiUserId is required with a v1 key (the PrestaShop module refuses to save settings without it)
# and optional with v2 (Vendre: "ApiUserId om du fått ett sådant"); a wrong one is refused either way.
API_USER_ID_REQUIRED_V1 = True
# GUESS: the key subject of newCustomerSubmit is the customer's name as Specter reads it: `name` (a
# company), else `firstName` + " " + `surName` (a person). PrestaShop hashes "company" or
# "first last" (its `contactPerson` for a person) — the same strings.
CUSTOMER_KEY_NAME = ("name", ("firstName", "surName"))
# GUESS: checkAccountSettings' `date` (its key subject, [3p: PrestaShop md5(userKey.sbmId.date)]) must
# be within one day of today in Stockholm; any other date is refused as a wrong key.
ACCOUNT_DATE_TOLERANCE_DAYS = 1
ACCOUNT_NAME = "Demobolaget AB"  # GUESS: the company name checkAccountSettings answers with

# --- Refusal codes and messages (only 99 is evidenced) ----------------------------------------------
# GUESS: the codes and the Swedish wording of every refusal except 99 (which is [3p: PrestaShop
# "0;99;" / <code>99</code>]). Clients must key on the leading 0 and on 99, never on the other codes.
ERR_KEY = 1            # wrong key
ERR_SBM_ID = 2         # sbmId not this account
ERR_API_USER = 3       # apiUserId missing (v1) or wrong
ERR_ACTION = 4         # unknown action
ERR_MISSING = 5        # a required parameter is missing
ERR_NUMBER = 6         # a number is not a number (decimal comma, text)
ERR_ARTICLE_NO = 10    # article number breaks the rules
ERR_ARTICLE_EXISTS = 11  # article exists and forceArticleUpdate is not 1
ERR_ARTICLE_FIELD = 12   # name missing, VAT not allowed …
ERR_CUSTOMER_FIELD = 20  # customer field missing or too long
ERR_CUSTOMER_UNKNOWN = 30
ERR_EXTERNAL_ORDER_NO = 31
ERR_ARTICLE_UNKNOWN = 32
ERR_ROW = 33
ERR_VAT = 34
ERR_MULTISHOP_V2 = 35
ERR_WEBSHOP_UNKNOWN = 36
ERR_STOCKSITE_UNKNOWN = 37
ERR_BATCH_NO = 38      # batchNo missing or too long
MESSAGES = {
    ERR_KEY: "Felaktig nyckel (key)",
    ERR_SBM_ID: "Felaktigt sbmId",
    ERR_API_USER: "Felaktig API-användare (apiUserId)",
    ERR_ACTION: "Okänd funktion (action)",
    ERR_MISSING: "Parameter saknas: {name}",
    ERR_NUMBER: "Felaktigt tal i {name}: {value}",
    ERR_ARTICLE_NO: "Ogiltigt artikelnummer på rad {row}: '{articleNo}'",
    ERR_ARTICLE_EXISTS: "Artikeln finns redan: '{articleNo}' (använd forceArticleUpdate=1)",
    ERR_ARTICLE_FIELD: "Felaktigt värde på rad {row}: {name}",
    ERR_CUSTOMER_FIELD: "Felaktigt kundfält: {name}",
    ERR_CUSTOMER_UNKNOWN: "Kunden finns inte: {customerId}",
    ERR_EXTERNAL_ORDER_NO: "Det externa ordernumret finns redan: '{externalOrderNo}' (order {orderNo})",
    ERR_ARTICLE_UNKNOWN: "Artikeln finns inte, rad {row}: '{articleNo}'",
    ERR_ROW: "Felaktig orderrad {row}: {name}",
    ERR_VAT: "Felaktig momssats på rad {row}: {value}",
    ERR_MULTISHOP_V2: "webshopId kräver API version 2 (IntegrationKey)",
    ERR_WEBSHOP_UNKNOWN: "Okänd webbshop: {webshopId}",
    ERR_STOCKSITE_UNKNOWN: "Okänt lagerställe: {stockSiteId}",
    ERR_BATCH_NO: "Felaktigt batchNo",
}
BATCH_NO_MAX_LEN = 100  # GUESS: longest batchNo accepted (integrators send md5 hex, 32 characters)

# --- Batch protocol ---------------------------------------------------------------------------------
# Evidenced [3p: PrestaShop]: a feed call with another batchNo while one is unacknowledged answers code
# 99 and the message quotes the pending batchNo between single quotes, as the FIRST quoted string
# (explode("'", …)[1], text and XML, all three feeds). Acknowledging another batchNo than the pending one
# also answers 99: for the stock feed the pending batch is the first quoted string ([1]); for the
# article-info and orders feeds the SECOND ([3]) — PrestaShop's "clear all queues" reads those indexes.
# GUESS: the wording around the quotes.
MSG_BATCH_PENDING = "Batch '{pending}' är inte uppdaterad. Hämta batchen igen och uppdatera den först."
MSG_ACK_OTHER_FIRST = "Batch '{pending}' måste uppdateras först, inte '{given}'."
MSG_ACK_OTHER_SECOND = "Batch '{given}' kan inte uppdateras, batch '{pending}' väntar på uppdatering."
# GUESS: an answer with no changes opens no pending batch (nothing to acknowledge). PrestaShop acks an
# empty stock answer never and an empty order answer always; both work with this choice.
EMPTY_BATCH_PENDING = False
# GUESS: acknowledging when no batch is pending (a repeated ack whose first answer was lost, or an ack
# of an empty answer) succeeds and changes nothing.
ACK_WITHOUT_PENDING_OK = True
# GUESS: a batchNo that was already acknowledged, sent again to a feed, opens a NEW batch under that
# number holding only what changed since — the acknowledged changes never come again (Specter flags
# rows with the batch number; the acknowledged rows are no longer flagged).
REUSED_BATCH_NO_OPENS_NEW_BATCH = True
# GUESS: one row per article / order in a batch, with its value when the batch was made: several
# changes to one article while no batch was open come as one row ("NeedUpdate" flags, not events).
ONE_ROW_PER_ITEM = True  # built into feeds.py's flag model: not a switch
# GUESS: success answer of an acknowledgement (PrestaShop ignores it).
ACK_OK_MESSAGE = "OK"
# Response-size caps: "more — call again". Evidenced: article info writes <responseMaxLimit>N</...> and
# PrestaShop treats "N <= number of articles" as "more to fetch" (change log 6.4.2); the orders feed
# writes <moreInfoToFetch> [3p: PrestaShop clearAllQuesFromSBM]. GUESS: the sizes, the stock feed's cap
# (nothing known; its XML gets <moreInfoToFetch>1</...>, its text answer no marker — a client calls
# again until an answer is empty), and that the markers are written only when something was left out.
FEED_CAPS = {"stock": 500, "articles": 100, "orders": 100}
CAP_MARKER_ONLY_WHEN_MORE = True
# GUESS: a freshly connected integration gets everything once: the demo account's articles start flagged
# in the stock and article-info feeds.
INITIAL_SYNC_FLAGS_ALL = True
# GUESS: writes through the API flag the written articles in the feeds like an ERP user's changes do
# (Specter does not know who changed what): an article sent with newArticleSubmit comes back in
# getArticleInfoExternalNeedUpdate, and the stock an order reserves comes in getArticleExternalNeedUpdate.
API_WRITES_ENTER_FEEDS = True
# GUESS: the orders feed reports changes of status/deliveries only; a newly submitted order is not in it.
NEW_ORDERS_IN_ORDER_FEED = False
# GUESS: feeds are per account (one integration per sbmId here), not per apiUserId.
FEEDS_PER_ACCOUNT = True  # built into feeds.py (one batch per feed): not a switch

# --- Stock ------------------------------------------------------------------------------------------
# GUESS: the stock sites of the demo account (ids and names); the first is the default.
STOCK_SITES = ((1, "Huvudlager"), (2, "Butik"))
DEFAULT_STOCK_SITE = 1
# GUESS: the stock feed reports the available quantity (noItemsAv = in stock − reserved by orders);
# without getMultipleStocksites=1 only the default stock site is reported.
STOCK_REPORTS_AVAILABLE = True
# GUESS: the literal `noItemsAvailable` (PrestaShop maps it to 0 in XML and skips it in text) is written
# when the available quantity is 0 or less.
NO_ITEMS_LITERAL = "noItemsAvailable"
# GUESS: the 4th field of a stock text line ("batchId" in PrestaShop's list()) echoes the batchNo.
STOCK_LINE_BATCH_FIELD = "batchNo"
# GUESS: an order reserves its stock rows at its stock site (available drops), delivery takes them out
# of stock (available unchanged), cancelling releases them; orders may take available below zero.
ORDER_RESERVES_STOCK = True
ALLOW_OVERSELL = True
# GUESS: noItemsInStock_N of newArticleSubmit sets the stock only when the article's stock is created
# (a new article with createArticleStock_N=1, or an existing one that had none); updates leave stock alone.
INITIAL_STOCK_ONLY = True

# --- Articles ---------------------------------------------------------------------------------------
# Evidenced [partner: Abicart]: unique per variant; no spaces, commas, å ä ö & % ¤ # €.
# GUESS: also refused: empty, longer than ARTICLE_NO_MAX_LEN, Å Ä Ö (upper case of the same letters),
# control characters; uniqueness and lookups ignore case (SQL Server's default collation).
ARTICLE_NO_FORBIDDEN = frozenset(" ,åäöÅÄÖ&%¤#€")
ARTICLE_NO_MAX_LEN = 50
ARTICLE_NO_CASE_INSENSITIVE = True
# GUESS: one refused row refuses the whole newArticleSubmit (nothing saved), naming the row.
ARTICLE_SUBMIT_ATOMIC = True  # built in: the submit is one transaction; not a switch
# GUESS: numbering: internal article ids (the 1st field of a stock line, "specterId"), customer ids and
# order numbers start here.
ARTICLE_ID_START = 100001
CUSTOMER_ID_START = 1001
ORDER_NO_START = 10001
INVOICE_NO_START = 50001
DELIVERY_NO_START = 70001
# GUESS: answers of the writes: "1;<id>;<message>" — the id is the specterId of the first row's article,
# the new/matched customer id, the order number; the message text is invented; for an order the third
# field is its total incl. VAT (decimal comma).
ARTICLE_OK_MESSAGE = "{count} artiklar sparade"
CUSTOMER_OK_MESSAGES = {"created": "Ny kund", "updated": "Kund uppdaterad", "matched": "Befintlig kund"}

# --- Customers --------------------------------------------------------------------------------------
# Evidenced [partner: Abicart]: matching by e-mail or person/org number; "ignore" switches turn either
# check off; both off -> always a new customer. GUESS: the switch names, e-mail checked before orgNo,
# both compared ignoring case and (orgNo) ignoring '-' and spaces.
IGNORE_EMAIL_PARAM = "ignoreEmailAddressControl"
IGNORE_ORGNO_PARAM = "ignoreOrgNoControl"
# GUESS: a matched customer without forceCustomerUpdate=1 is answered with its id and left unchanged.
MATCH_WITHOUT_FORCE_RETURNS_EXISTING = True
# Max lengths [partner: core-suite "Spector - Create customer": Name 100, OrgNo 20, VatNo 30, Homepage 50,
# EmailAddress 100 (required), contact first/last name 50, mobile 50, phone 50]. GUESS: the same limits
# apply to the parameters as named here, and the rest of the address fields are not limited.
CUSTOMER_MAX_LEN = {"name": 100, "orgNo": 20, "vatNo": 30, "homepage": 50, "emailAddress": 100,
                    "firstName": 50, "surName": 50, "mobileNo": 50, "phoneNo": 50}
CUSTOMER_REQUIRED = ("emailAddress",)  # [partner: core-suite "Required field in Specter"]

# --- Orders -----------------------------------------------------------------------------------------
# GUESS: a duplicate externalOrderNo is refused unless ignoreExternalOrderNoControl=1 (the flag is [3p:
# PrestaShop SPECTER_IGNORE]; "external order number control" implies the refusal). Compared exactly.
EXTERNAL_ORDER_NO_CONTROL = True
# GUESS: an order row naming an article that does not exist is refused (Vendre: "artiklarna måste finnas
# i Specter när ordern skapas"). A row with an EMPTY articleNo is a free-text row (PrestaShop sends its
# shipping row with a configurable, possibly empty, article number).
UNKNOWN_ARTICLE_REFUSED = True
EMPTY_ARTICLE_NO_IS_TEXT_ROW = True
# GUESS: a row without priceExclVAT_N takes the article's price; without vatPercent_N the article's VAT;
# noOfItems_N is required; free-text rows need articleName_N, priceExclVAT_N and vatPercent_N.
ROW_DEFAULTS_FROM_ARTICLE = True
# GUESS: rows are read from _1 upwards until a number has none of articleNo_/articleName_/priceExclVAT_.
# The webshops of the demo account (multishop is on; "Webbshop" is the default). GUESS: ids and names.
WEBSHOPS = ((1, "Webbshop"), (2, "Webbshop NO"))
# Status ids: 5 = cancelled/removed is [3p: PrestaShop statusId == '5']; deliveryStatus 'D' = delivered
# [3p]. GUESS: the other ids/letters and the attribute names invoiced/paid/invoiceNo.
STATUS_IDS = {"registered": 1, "delivered": 2, "invoiced": 3, "paid": 4, "cancelled": 5}
DELIVERY_STATUS = {"none": "N", "delivered": "D"}
# GUESS: a delivered order cannot be cancelled; paying needs an invoice; nothing happens to a cancelled
# order. Control routes answer 409 for these (test instruments, not vendor answers).
CANCEL_AFTER_DELIVERY = False
# GUESS: `invoiceSource` substituted into the new-invoice callback URL.
INVOICE_SOURCE = "SBM"

# --- Callbacks (push) ---------------------------------------------------------------------------------
# Evidenced [3p: PrestaShop specter.txt]: URLs are registered with checkAccountSettings as actionStockChange,
# actionNewInvoice ($orderId, $invoiceId, $invoiceSource substituted), actionRemoveOrder ($orderNo),
# actionArticleChange, actionOrderChange; the shop answers "1;Done" [3p: controllers/front/specterreciever.php].
# Talex: the stock URL is called "every time there is a stock change". GUESS: the method (POST, as the
# shared outbox sends; the PrestaShop change log 5.0.9 "changed to post for callbacks"), an empty body
# (every value is in the URL), one call per change operation (not per article), no retries.
CALLBACK_NAMES = ("actionStockChange", "actionNewInvoice", "actionRemoveOrder", "actionArticleChange",
                  "actionOrderChange")
CALLBACK_BODY = b""
CALLBACK_RETRY_DELAYS_S: tuple[float, ...] = ()
