"""Demo data of the Fortnox sandbox: a company, price list "A", a few stock articles and customers.

The article numbers match SKUs a small WooCommerce clothing shop would use, so a demo flow between
the two sandboxes finds them on both sides.
"""

from __future__ import annotations

from integrations_dagster.sandbox.base import Sandbox
from integrations_dagster.sandbox.fortnox.documents import Documents, ORDER
from integrations_dagster.sandbox.fortnox.registers import Registers

COMPANY = {"CompanyName": "Demobolaget AB", "OrganizationNumber": "556000-0000", "Address": "Storgatan 1",
           "ZipCode": "111 22", "City": "Stockholm", "CountryCode": "SE", "DatabaseNumber": 123456}
# (ArticleNumber, Description, quantity in stock, price in list A excl. VAT)
ARTICLES = [
    ("TSHIRT-BLUE-M", "T-shirt Blue M", 12, "159.20"),
    ("TSHIRT-BLUE-L", "T-shirt Blue L", 8, "159.20"),
    ("HOODIE-GREY", "Hoodie Grey", 5, "399.20"),
    ("CAP-BLACK", "Cap Black", 0, "119.20"),
    ("MUG-LOGO", "Mug with logo", 40, "79.20"),
]
CUSTOMERS = [
    {"Name": "Anna Andersson", "Email": "anna@example.com", "Address1": "Vägen 2", "ZipCode": "413 01",
     "City": "Göteborg", "CountryCode": "SE", "Phone1": "070-1234567"},
    {"Name": "Bygg & Co AB", "Email": "order@byggco.example", "Address1": "Industrigatan 9", "ZipCode": "211 20",
     "City": "Malmö", "CountryCode": "SE", "Type": "COMPANY", "OrganisationNumber": "556111-2222"},
]


def load_base(sb: Sandbox) -> None:
    """What every Fortnox company has, even a new one: its company information and price list A."""
    reg = Registers(sb.store)
    with sb.store.transaction():
        reg.company.save(dict(COMPANY))
        reg.pricelists.save({"Code": "A", "Description": "Standard", "PreSelected": True})


def load(sb: Sandbox) -> None:
    reg = Registers(sb.store)
    with sb.store.transaction():
        for number, description, stock, price in ARTICLES:
            reg.new_article({"ArticleNumber": number, "Description": description, "QuantityInStock": stock,
                             "StockGoods": True, "VAT": 25, "PurchasePrice": 50})
            reg.new_price({"ArticleNumber": number, "PriceList": "A", "FromQuantity": 0, "Price": float(price)})
        for customer in CUSTOMERS:
            reg.new_customer(dict(customer))
        Documents(reg, ORDER).create({"CustomerNumber": "1", "YourOrderNumber": "DEMO-1",
                                      "OrderRows": [{"ArticleNumber": "MUG-LOGO", "OrderedQuantity": "2"}]})
