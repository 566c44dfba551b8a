"""What Fortnox answers for a record: every field, every time, with the real API's unset values.

Recorded real traffic shows that Fortnox never leaves a field out of a single record: an unset field
is ``null``, ``""``, ``0`` or ``false`` as below, and list items carry a fixed subset whose numbers are
sometimes text. Each shape is taken from the cassettes in ``../shared/api-specs/fortnox/recordings/``
(recorded by accodeing/fortnox-api against api.fortnox.se, 2023-2024) [rec]:

* Article: ``articles/find_new.yml``, ``articles/limits/quantity_in_stock_rounding_positive_value.yml``
  (2024 body, adds ``CommodityCode``); company default accounts 3001/3108/3106/3105/4000 as recorded.
* Customer: ``customers/find_new.yml``, ``customers/save_new_with_country_code_SE.yml``.
* Order and order row: ``orders/save_with_nested_model.yml``, ``orders/find_id_1.yml``.
* Invoice and invoice row: ``invoices/row_price_limit.yml`` (2024), ``invoices/find_id_1.yml``.
* List items: ``articles/search_by_name.yml``, ``customers/all.yml``, ``orders/all.yml``, ``invoices/all.yml``.

The sandbox stores what was written (and what it computed) and answers ``{**SHAPE, **stored}``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

ARTICLE: dict[str, Any] = {
    "ArticleNumber": "", "Bulky": False, "ConstructionAccount": 0, "Depth": 0, "Description": "",
    "DisposableQuantity": 0, "EAN": "", "EUAccount": 3108, "EUVATAccount": 3106, "ExportAccount": 3105, "Height": 0,
    "Housework": False, "HouseworkType": None, "Active": True, "Manufacturer": None, "ManufacturerArticleNumber": "",
    "Note": "", "PurchaseAccount": 4000, "PurchasePrice": 0, "QuantityInStock": 0, "ReservedQuantity": 0,
    "SalesAccount": 3001, "StockGoods": False, "StockPlace": None, "StockValue": 0, "StockWarning": None,
    "SupplierName": None, "SupplierNumber": None, "Type": "STOCK", "Unit": None, "VAT": 25, "WebshopArticle": False,
    "Weight": 0, "Width": 0, "Expired": False, "SalesPrice": None, "CostCalculationMethod": None,
    "StockAccount": None, "StockChangeAccount": None, "DirectCost": None, "FreightCost": None, "OtherCost": None,
    "DefaultStockPoint": None, "DefaultStockLocation": None, "CommodityCode": "",
}

CUSTOMER: dict[str, Any] = {
    "Address1": None, "Address2": None, "City": None, "Country": None, "Comments": None, "Currency": "SEK",
    "CostCenter": None, "CountryCode": None, "Active": True, "CustomerNumber": "",
    "DefaultDeliveryTypes": {"Invoice": "PRINT", "Order": "PRINT", "Offer": "PRINT"},
    "DefaultTemplates": {"Order": "DEFAULTTEMPLATE", "Offer": "DEFAULTTEMPLATE", "Invoice": "DEFAULTTEMPLATE",
                         "CashInvoice": "DEFAULTTEMPLATE"},
    "DeliveryAddress1": None, "DeliveryAddress2": None, "DeliveryCity": None, "DeliveryCountry": None,
    "DeliveryCountryCode": None, "DeliveryFax": None, "DeliveryName": None, "DeliveryPhone1": None,
    "DeliveryPhone2": None, "DeliveryZipCode": None, "Email": "", "EmailInvoice": "", "EmailInvoiceBCC": "",
    "EmailInvoiceCC": "", "EmailOffer": "", "EmailOfferBCC": "", "EmailOfferCC": "", "EmailOrder": "",
    "EmailOrderBCC": "", "EmailOrderCC": "", "ExternalReference": None, "Fax": None, "GLN": None,
    "GLNDelivery": None, "InvoiceAdministrationFee": None, "InvoiceDiscount": None, "InvoiceFreight": None,
    "InvoiceRemark": "", "Name": "", "OrganisationNumber": "", "OurReference": "", "Phone1": None, "Phone2": None,
    "PriceList": "A", "Project": "", "SalesAccount": None, "ShowPriceVATIncluded": False, "TermsOfDelivery": "",
    "TermsOfPayment": "", "Type": "COMPANY", "VATNumber": "", "VATType": "SEVAT", "VisitingAddress": None,
    "VisitingCity": None, "VisitingCountry": None, "VisitingCountryCode": None, "VisitingZipCode": None,
    "WayOfDelivery": "", "WWW": "", "YourReference": "", "ZipCode": None,
}

_EMAIL = {"EmailAddressFrom": None, "EmailAddressTo": "", "EmailAddressCC": None, "EmailAddressBCC": None,
          "EmailSubject": "", "EmailBody": " "}
_DOCUMENT: dict[str, Any] = {
    "AdministrationFee": 0, "AdministrationFeeVAT": 0, "Address1": "", "Address2": "", "BasisTaxReduction": 0,
    "Cancelled": False, "City": "", "Comments": "", "ContributionPercent": 0, "ContributionValue": 0,
    "CostCenter": "", "Country": "", "Currency": "SEK", "CurrencyRate": 1, "CurrencyUnit": 1, "CustomerName": "",
    "CustomerNumber": "", "DeliveryAddress1": "", "DeliveryAddress2": "", "DeliveryCity": "", "DeliveryCountry": "",
    "DeliveryDate": None, "DeliveryName": "", "DeliveryZipCode": "", "DocumentNumber": "",
    "ExternalInvoiceReference1": "", "ExternalInvoiceReference2": "", "Freight": 0, "FreightVAT": 0, "Gross": 0,
    "HouseWork": False, "InvoiceReference": "0", "Labels": [], "Language": "SV", "Net": 0, "NotCompleted": False,
    "OfferReference": "0", "OrganisationNumber": "", "OurReference": "", "OutboundDate": "", "Phone1": "",
    "Phone2": "", "PriceList": "A", "Project": "", "Remarks": "", "RoundOff": 0, "Sent": False, "TaxReduction": None,
    "TaxReductionType": "none", "TermsOfDelivery": "", "TermsOfPayment": "30", "TimeBasisReference": None,
    "Total": 0, "TotalToPay": 0, "TotalVAT": 0, "VATIncluded": False, "WarehouseReady": True, "WayOfDelivery": "",
    "YourOrderNumber": "", "YourReference": "", "ZipCode": "",
}
ORDER: dict[str, Any] = {
    **_DOCUMENT, "@urlTaxReductionList": "", "CopyRemarks": False, "DeliveryState": "delivery",
    "EmailInformation": {**_EMAIL, "EmailSubject": "Order {no} bifogas"}, "OrderDate": "", "OrderRows": [],
    "OrderType": "Order", "PrintTemplate": "oc", "StockPointCode": None, "StockPointId": None,
}
INVOICE: dict[str, Any] = {
    **_DOCUMENT, "@urlTaxReductionList": "", "AccountingMethod": "ACCRUAL", "Balance": 0, "Booked": False,
    "ContractReference": "0", "Credit": "false", "CreditInvoiceReference": "0", "DueDate": "",
    "EDIInformation": {"EDIGlobalLocationNumber": None, "EDIGlobalLocationNumberDelivery": None,
                       "EDIInvoiceExtra1": None, "EDIInvoiceExtra2": None, "EDIOurElectronicReference": None,
                       "EDIYourElectronicReference": None, "EDIStatus": ""},
    "EUQuarterlyReport": False, "EmailInformation": {**_EMAIL, "EmailSubject": "Faktura {no} bifogas"},
    "FinalPayDate": None, "InvoiceDate": "", "InvoicePeriodEnd": "", "InvoicePeriodStart": "", "InvoiceRows": [],
    "InvoiceType": "INVOICE", "LastRemindDate": None, "NoxFinans": False, "OCR": "", "OrderReference": "0",
    "PaymentWay": "", "PrintTemplate": "st", "Reminders": 0, "VoucherNumber": None, "VoucherSeries": None,
    "VoucherYear": None,
}
_ROW: dict[str, Any] = {
    "AccountNumber": 3001, "ArticleNumber": "", "ContributionPercent": "0", "ContributionValue": "0", "Cost": 0,
    "CostCenter": "", "DeliveredQuantity": "0", "Description": "", "Discount": 0, "DiscountType": "PERCENT",
    "HouseWork": False, "HouseWorkHoursToReport": None, "HouseWorkType": None, "Price": 0, "Project": "",
    "RowId": 0, "StockPointCode": None, "Total": 0, "Unit": "", "VAT": 0,
}
ORDER_ROW: dict[str, Any] = {**_ROW, "OrderedQuantity": "0", "ReservedQuantity": "0", "StockPointId": None}
INVOICE_ROW: dict[str, Any] = {**_ROW, "PriceExcludingVAT": 0, "TotalExcludingVAT": 0, "VATCode": None}

# List items: the fields and how each is typed there (numbers as text where the recordings show it).
ARTICLE_ITEM = ("ArticleNumber", "Description", "DisposableQuantity", "EAN", "Housework", "PurchasePrice",
                "SalesPrice", "QuantityInStock", "ReservedQuantity", "StockPlace", "StockValue", "Unit", "VAT",
                "WebshopArticle")
ARTICLE_ITEM_TEXT = ("DisposableQuantity", "PurchasePrice", "QuantityInStock", "ReservedQuantity", "StockValue")
CUSTOMER_ITEM = ("Address1", "Address2", "City", "CustomerNumber", "Email", "Name", "OrganisationNumber", "Phone",
                 "ZipCode")
ORDER_ITEM = ("Cancelled", "Currency", "CustomerName", "CustomerNumber", "DeliveryDate", "DocumentNumber",
              "ExternalInvoiceReference1", "ExternalInvoiceReference2", "OrderDate", "OrderType", "Project", "Sent",
              "Total")
INVOICE_ITEM = ("Balance", "Booked", "Cancelled", "CostCenter", "Currency", "CurrencyRate", "CurrencyUnit",
                "CustomerName", "CustomerNumber", "DocumentNumber", "DueDate", "ExternalInvoiceReference1",
                "ExternalInvoiceReference2", "InvoiceDate", "InvoiceType", "NoxFinans", "OCR", "VoucherNumber",
                "VoucherSeries", "VoucherYear", "WayOfDelivery", "TermsOfPayment", "Project", "Sent", "Total",
                "FinalPayDate")

# Country names Fortnox fills in from a customer's CountryCode ("SE" -> "Sverige" is recorded in
# customers/save_new_with_country_code_SE.yml; the others are a guess in the same language).
COUNTRY_NAMES = {"SE": "Sverige", "NO": "Norge", "DK": "Danmark", "FI": "Finland", "DE": "Tyskland",
                 "GB": "Storbritannien", "US": "USA", "NL": "Nederländerna", "FR": "Frankrike", "ES": "Spanien"}


def text_number(value: Any) -> str:
    """A number in text, shortest form ("1", "1.12", "0"), as row quantities and list items carry them."""
    text = format(Decimal(str(value)).normalize(), "f")
    return "0" if text == "-0" else text


def whole(shape: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """Every field of ``shape``, stored values over the unset ones (``wire.jsonable`` writes the
    numbers as Fortnox does)."""
    out = {}
    for name, unset in shape.items():
        value = stored.get(name, unset)
        if isinstance(unset, dict) and isinstance(value, dict):
            value = {**unset, **value}
        out[name] = value
    return out


def item(fields: tuple[str, ...], record: dict[str, Any]) -> dict[str, Any]:
    return {name: record.get(name) for name in fields}
