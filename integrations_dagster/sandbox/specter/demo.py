"""Demo data of the Specter sandbox: a small Swedish shop's ERP (SEK, VAT 25 / 12 / 6 %).

One article per variant [partner: Abicart], so the blue T-shirt is three articles (S, M, L); a freight
and a discount article for order rows (the PrestaShop module sends freight and discount as order rows
with article numbers of their own [3p: SpecterOrderHelper::buildOrderData]); two stock sites; a
private and a company customer; one registered order. Article numbers match SKUs a WooCommerce shop of
the other sandboxes would use.

Every article starts flagged in the stock and article-info feeds (guesses.INITIAL_SYNC_FLAGS_ALL): the
first batches of a freshly connected integration hold the whole catalogue. The demo order reserves its
stock (guesses.ORDER_RESERVES_STOCK): MUGG-LOGO's available quantity at Huvudlager is 40 − 2 = 38.
"""

from __future__ import annotations

from decimal import Decimal

from integrations_dagster.sandbox.specter import guesses
from integrations_dagster.sandbox.specter.erp import Erp

# (articleNo, name, VAT, price excl. VAT, buy price, barcode, weight kg, {stock site: quantity} or None)
ARTICLES = [
    ("MUGG-LOGO", "Mugg med logga", "25", "79.20", "30.00", "7350000000017", "0.350", {1: 40, 2: 6}),
    ("TSHIRT-BLA-S", "T-shirt blå S", "25", "159.20", "60.00", "7350000000024", "0.200", {1: 5}),
    ("TSHIRT-BLA-M", "T-shirt blå M", "25", "159.20", "60.00", "7350000000031", "0.210", {1: 12, 2: 3}),
    ("TSHIRT-BLA-L", "T-shirt blå L", "25", "159.20", "60.00", "7350000000048", "0.220", {1: 0}),
    ("KAFFE-500", "Kaffe mellanrost 500 g", "12", "71.43", "35.00", "7350000000055", "0.520", {1: 24}),
    ("BOK-ERP", "Boken om affärssystem", "6", "188.68", "90.00", "9789100000001", "0.600", {1: 7}),
    ("FRAKT", "Frakt", "25", "39.20", "0.00", "", "0.000", None),
    ("RABATT", "Rabatt", "25", "0.00", "0.00", "", "0.000", None),
]
CUSTOMERS = [
    {"firstName": "Anna", "surName": "Andersson", "contactPerson": "Anna Andersson", "emailAddress": "anna@example.com",
     "address": "Vägen 2", "zipCodeEng": "413 01", "city": "Göteborg", "countryCode": "SE", "phoneNo": "070-1234567",
     "customerOrganizationalForm": "P", "currency": "SEK", "language": "SE"},
    {"name": "Bygg & Co AB", "orgNo": "556111-2222", "emailAddress": "order@byggco.example",
     "address": "Industrigatan 9", "zipCodeEng": "211 20", "city": "Malmö", "countryCode": "SE", "customerOrganizationalForm": "C",
     "currency": "SEK", "language": "SE"},
]
ORDER = {"externalOrderNo": "DEMO-1001", "currency": "SEK", "language": "SE", "payTypeIdentifier": "K",
         "rows": [("MUGG-LOGO", 2), ("FRAKT", 1)]}


def load(erp: Erp) -> None:
    with erp.unit():
        for no, name, vat, price, buy, barcode, weight, stock in ARTICLES:
            values = {"articleNo": no, "name": name, "vatPercent": vat, "priceExclVat": price, "buyPrice": buy,
                      "stockPrice": buy, "barCode": barcode, "productWeight": weight}
            default = (stock or {}).get(guesses.DEFAULT_STOCK_SITE, 0)
            erp.save_article(values, create_stock=stock is not None, stock=Decimal(default),
                             source="erp" if guesses.INITIAL_SYNC_FLAGS_ALL else "api")
            for site, quantity in (stock or {}).items():
                if site != guesses.DEFAULT_STOCK_SITE:
                    erp.set_stock(no, site, quantity=Decimal(quantity))
        customers = [erp.save_customer(dict(c), None) for c in CUSTOMERS]
        rows = []
        for i, (no, quantity) in enumerate(ORDER["rows"], start=1):
            article = erp.article(no)
            rows.append({"row": i, "articleNo": no, "articleName": article["name"], "articleComment": "",
                         "priceExclVat": article["priceExclVat"], "noOfItems": str(quantity),
                         "vatPercent": article["vatPercent"], "stockArticle": bool(article.get("stockKept"))})
        erp.create_order({k: v for k, v in ORDER.items() if k != "rows"} |
                         {"customerId": customers[0]["customerId"], "webshopId": None,
                          "stockSiteId": guesses.DEFAULT_STOCK_SITE, "apiVersion": 1, "rows": rows})
