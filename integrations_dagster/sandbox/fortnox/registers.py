"""Register endpoints of the Fortnox sandbox: company information, articles, prices, price lists, customers.

Rules enforced (each answered with a 400 ErrorInformation, as Fortnox does): wrapped bodies, known
and writable fields with the spec's types (:mod:`.validation`), required ``Description`` on
articles, unique ``ArticleNumber`` / ``CustomerNumber`` / price list ``Code``, a price needs an
existing article and price list and is unique per (PriceList, ArticleNumber, FromQuantity), and an
article number cannot be changed. ``QuantityInStock`` is writable (the stock source of a sync).
"""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import quote

from starlette.requests import Request
from starlette.routing import Route

from integrations_dagster.sandbox.base import DocumentStore
from integrations_dagster.sandbox.fortnox.listing import (
    ListSpec, contains, exact, flag, list_page, natural, number,
)
from integrations_dagster.sandbox.fortnox.shapes import (
    ARTICLE, ARTICLE_ITEM, ARTICLE_ITEM_TEXT, COUNTRY_NAMES, CUSTOMER, CUSTOMER_ITEM, text_number,
)
from integrations_dagster.sandbox.fortnox.store import Keyed, present
from integrations_dagster.sandbox.fortnox.validation import ARTICLE_NUMBER, check
from integrations_dagster.sandbox.fortnox.wire import (
    CODE_DUPLICATE, CODE_NOT_FOUND, Refusal, dec, handler, money, not_found, wrapped_body,
)

DEFAULT_PRICE_LIST = "A"


class Registers:
    def __init__(self, store: DocumentStore) -> None:
        self.articles = Keyed(store, "articles", "ArticleNumber")
        self.prices = Keyed(store, "prices", "Key")
        self.pricelists = Keyed(store, "pricelists", "Code")
        self.customers = Keyed(store, "customers", "CustomerNumber")
        self.company = Keyed(store, "company", "DatabaseNumber")
        self.store = store

    # -- articles ----------------------------------------------------------------------------
    def new_article(self, data: dict) -> dict:
        check("Article", data, creating=True)
        number = data.get("ArticleNumber") or self.articles.next_number()
        if not ARTICLE_NUMBER.fullmatch(number):
            raise Refusal(400, f"Ogiltigt artikelnummer: {number!r}.")
        if self.articles.get(number):
            raise Refusal(400, f"Artikelnumret {number!r} används redan (already in use).", CODE_DUPLICATE)
        # Unset fields answer as recorded (shapes.ARTICLE): no unit, no sales price until list A has one.
        return self.articles.save(self._stock_figures({"ArticleNumber": number, **data}))

    def update_article(self, number: str, data: dict) -> dict:
        current = self.article(number)
        check("Article", data, creating=False)
        if data.get("ArticleNumber") not in (None, number):
            raise Refusal(400, "Artikelnumret kan inte ändras (cannot be changed).")
        return self.articles.save(self._stock_figures({**current, **data}))

    def article(self, number: str) -> dict:
        found = self.articles.get(number)
        if found is None:
            raise not_found("article")
        return found

    @staticmethod
    def _stock_figures(doc: dict) -> dict:
        """Stock rounded to 2 decimals (1.123 -> 1.12 [rec: articles/limits/quantity_in_stock_rounding_
        positive_value.yml]); what is disposable and the stock value follow from it."""
        doc["QuantityInStock"] = money(dec(doc.get("QuantityInStock") or 0))
        stock, reserved = dec(doc["QuantityInStock"]), dec(doc.get("ReservedQuantity") or 0)
        doc["DisposableQuantity"] = float(stock - reserved)
        doc["StockValue"] = money(stock * dec(doc.get("PurchasePrice") or 0))
        return doc

    # -- prices ------------------------------------------------------------------------------
    @staticmethod
    def price_key(price_list: str, article: str, from_qty: Decimal) -> str:
        return f"{price_list}|{article}|{from_qty.normalize()}"

    def new_price(self, data: dict) -> dict:
        check("Price", data, creating=True)
        if self.articles.get(data["ArticleNumber"]) is None:
            raise Refusal(400, f"Artikel {data['ArticleNumber']!r} finns inte (article not found).", CODE_NOT_FOUND)
        if self.pricelists.get(data["PriceList"]) is None:
            raise Refusal(400, f"Prislista {data['PriceList']!r} finns inte (price list not found).", CODE_NOT_FOUND)
        from_qty = dec(data.get("FromQuantity") or 0, "FromQuantity")
        key = self.price_key(data["PriceList"], data["ArticleNumber"], from_qty)
        if self.prices.get(key):
            raise Refusal(400, "Priset finns redan (price already exists).", CODE_DUPLICATE)
        return self._save_price({"Key": key, "Price": 0, "Percent": 0, **data, "FromQuantity": float(from_qty)})

    def update_price(self, price_list: str, article: str, from_qty: Decimal, data: dict) -> dict:
        current = self.price(price_list, article, from_qty)
        check("Price", data, creating=False)
        for name, value in (("PriceList", price_list), ("ArticleNumber", article)):
            if data.get(name) not in (None, value):
                raise Refusal(400, f"{name} kan inte ändras (cannot be changed).")
        if "FromQuantity" in data and dec(data["FromQuantity"]) != from_qty:
            raise Refusal(400, "FromQuantity kan inte ändras (cannot be changed).")
        return self._save_price({**current, **data, "FromQuantity": float(from_qty)})

    def price(self, price_list: str, article: str, from_qty: Decimal) -> dict:
        found = self.prices.get(self.price_key(price_list, article, from_qty))
        if found is None:
            raise not_found("price")
        return found

    def _save_price(self, doc: dict) -> dict:
        saved = self.prices.save(doc)
        if doc["PriceList"] == DEFAULT_PRICE_LIST and dec(doc["FromQuantity"]) == 0:
            article = self.article(doc["ArticleNumber"])  # SalesPrice mirrors list A, quantity 0
            self.articles.save({**article, "SalesPrice": doc["Price"]})
        return saved

    def price_list(self, code: str) -> dict:
        found = self.pricelists.get(code)
        if found is None:
            raise not_found("pricelist")
        return found

    # -- customers ---------------------------------------------------------------------------
    def new_customer(self, data: dict) -> dict:
        check("Customer", data, creating=True)
        number = data.get("CustomerNumber") or self.customers.next_number()
        if self.customers.get(number):
            raise Refusal(400, f"Kundnumret {number!r} används redan (already in use).", CODE_DUPLICATE)
        return self.customers.save(_with_country({"CustomerNumber": number, "Active": True, "Type": "PRIVATE",
                                                  "Currency": "SEK", "PriceList": DEFAULT_PRICE_LIST, **data}))

    def update_customer(self, number: str, data: dict) -> dict:
        current = self.customer(number)
        check("Customer", data, creating=False)
        if data.get("CustomerNumber") not in (None, number):
            raise Refusal(400, "Kundnumret kan inte ändras (cannot be changed).")
        return self.customers.save(_with_country({**current, **data}))

    def customer(self, number: str) -> dict:
        found = self.customers.get(number)
        if found is None:
            raise not_found("customer")
        return found


def _with_country(customer: dict) -> dict:
    """Fortnox fills a customer's ``Country`` (and delivery country) from the code: "SE" -> "Sverige"."""
    for code, name in (("CountryCode", "Country"), ("DeliveryCountryCode", "DeliveryCountry")):
        if customer.get(code) and not customer.get(name):
            customer[name] = COUNTRY_NAMES.get(customer[code], customer[code])
    return customer


def _article_out(doc: dict, base: str) -> dict:
    return present(doc, base, f"/3/articles/{quote(doc['ArticleNumber'])}", ARTICLE)


def _article_item(doc: dict, base: str) -> dict:
    listed = present(doc, base, f"/3/articles/{quote(doc['ArticleNumber'])}", ARTICLE, ARTICLE_ITEM)
    for name in ARTICLE_ITEM_TEXT:
        listed[name] = text_number(doc.get(name) or 0)
    if listed.get("SalesPrice") is not None:  # text like the list's other numbers (spec: string)
        listed["SalesPrice"] = text_number(listed["SalesPrice"])
    listed["VAT"] = None
    listed["EAN"] = doc.get("EAN") or ""
    return listed


def _price_out(doc: dict, base: str) -> dict:
    path = f"/3/prices/{quote(doc['PriceList'])}/{quote(doc['ArticleNumber'])}/{dec(doc['FromQuantity']).normalize()}"
    body = present(doc, base, path)
    body.pop("Key")
    return body


def _price_list_out(doc: dict, base: str) -> dict:
    return present(doc, base, f"/3/pricelists/{quote(doc['Code'])}")


def _customer_out(doc: dict, base: str) -> dict:
    return present(doc, base, f"/3/customers/{quote(doc['CustomerNumber'])}", CUSTOMER)


def _customer_item(doc: dict, base: str) -> dict:
    """Every field text, unset ones "" (the single record has null), the phone as "Phone"
    [rec: customers/all.yml]."""
    listed = present({**doc, "Phone": doc.get("Phone1")}, base, f"/3/customers/{quote(doc['CustomerNumber'])}",
                     None, CUSTOMER_ITEM)
    return {k: "" if v is None else v for k, v in listed.items()}


ARTICLES = ListSpec(
    "articles", "Articles", _article_item,
    filters={"articlenumber": exact("ArticleNumber"), "description": contains("Description"),
             "ean": exact("EAN"), "suppliernumber": exact("SupplierNumber"),
             "manufacturer": contains("Manufacturer"),
             "manufacturerarticlenumber": exact("ManufacturerArticleNumber"), "webshop": flag("WebshopArticle")},
    # An article created without ``Active`` is active [rec: articles/save_new.yml sends Description and
    # SalesAccount only and is answered "Active":true], so a stored article without the field is too.
    named_filters={"active": lambda d: d.get("Active", True) is not False,
                   "inactive": lambda d: d.get("Active", True) is False},
    sorts={"articlenumber": lambda d: natural(d["ArticleNumber"]), "quantityinstock": number("QuantityInStock"),
           "reservedquantity": number("ReservedQuantity"), "stockvalue": number("StockValue")},
    default_sort="articlenumber",
)
CUSTOMERS = ListSpec(
    "customers", "Customers", _customer_item,
    filters={"customernumber": exact("CustomerNumber"), "name": contains("Name"), "zipcode": contains("ZipCode"),
             "city": contains("City"), "email": exact("Email"), "phone": contains("Phone1"),
             "organisationnumber": exact("OrganisationNumber"), "gln": exact("GLN"),
             "glndelivery": exact("GLNDelivery")},
    named_filters={"active": lambda d: bool(d.get("Active")), "inactive": lambda d: not d.get("Active")},
    sorts={"customernumber": lambda d: natural(d["CustomerNumber"]), "name": lambda d: str(d.get("Name", "")).lower()},
    default_sort="customernumber",
)
PRICE_LISTS = ListSpec("pricelists", "PriceLists", _price_list_out, sorts={"code": lambda d: d["Code"]},
                       default_sort="code")


def routes(reg: Registers) -> list[Route]:
    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    @handler
    async def company(request: Request):
        info = reg.store.find("company", limit=1)
        if not info:
            raise not_found("företagsinformation")
        body = {k: v for k, v in info[0].items() if k != "id"}
        return 200, {"CompanyInformation": body}

    @handler
    async def articles(request: Request):
        if request.method == "POST":
            return 201, {"Article": _article_out(reg.new_article(await wrapped_body(request, "Article")), base(request))}
        return 200, list_page(request, reg.store, ARTICLES)

    @handler
    async def article(request: Request):
        number = request.path_params["ArticleNumber"]
        if request.method == "DELETE":
            reg.article(number)
            for price in reg.store.find("prices"):
                if price["ArticleNumber"] == number:
                    reg.prices.delete(price["Key"])
            reg.articles.delete(number)
            return 204, None
        if request.method == "PUT":
            doc = reg.update_article(number, await wrapped_body(request, "Article"))
        else:
            doc = reg.article(number)
        return 200, {"Article": _article_out(doc, base(request))}

    @handler
    async def create_price(request: Request):
        return 201, {"Price": _price_out(reg.new_price(await wrapped_body(request, "Price")), base(request))}

    @handler
    async def price(request: Request):
        p = request.path_params
        from_qty = dec(p.get("FromQuantity", "0"), "FromQuantity")
        if request.method == "PUT":
            doc = reg.update_price(p["PriceList"], p["ArticleNumber"], from_qty, await wrapped_body(request, "Price"))
        else:
            doc = reg.price(p["PriceList"], p["ArticleNumber"], from_qty)
        return 200, {"Price": _price_out(doc, base(request))}

    @handler
    async def price_lists(request: Request):
        if request.method == "POST":
            data = await wrapped_body(request, "PriceList")
            check("PriceList", data, creating=True)
            if reg.pricelists.get(data["Code"]):
                raise Refusal(400, f"Prislistan {data['Code']!r} finns redan.", CODE_DUPLICATE)
            return 201, {"PriceList": _price_list_out(reg.pricelists.save(data), base(request))}
        return 200, list_page(request, reg.store, PRICE_LISTS)

    @handler
    async def price_list(request: Request):
        return 200, {"PriceList": _price_list_out(reg.price_list(request.path_params["Code"]), base(request))}

    @handler
    async def customers(request: Request):
        if request.method == "POST":
            doc = reg.new_customer(await wrapped_body(request, "Customer"))
            return 201, {"Customer": _customer_out(doc, base(request))}
        return 200, list_page(request, reg.store, CUSTOMERS)

    @handler
    async def customer(request: Request):
        number = request.path_params["CustomerNumber"]
        if request.method == "PUT":
            doc = reg.update_customer(number, await wrapped_body(request, "Customer"))
        else:
            doc = reg.customer(number)
        return 200, {"Customer": _customer_out(doc, base(request))}

    return [
        Route("/3/companyinformation", company, methods=["GET"]),
        Route("/3/articles", articles, methods=["GET", "POST"]),
        Route("/3/articles/{ArticleNumber}", article, methods=["GET", "PUT", "DELETE"]),
        Route("/3/prices", create_price, methods=["POST"]),
        Route("/3/prices/{PriceList}/{ArticleNumber}", price, methods=["GET", "PUT"]),
        Route("/3/prices/{PriceList}/{ArticleNumber}/{FromQuantity}", price, methods=["GET", "PUT"]),
        Route("/3/pricelists", price_lists, methods=["GET", "POST"]),
        Route("/3/pricelists/{Code}", price_list, methods=["GET"]),
        Route("/3/customers", customers, methods=["GET", "POST"]),
        Route("/3/customers/{CustomerNumber}", customer, methods=["GET", "PUT"]),
    ]
