"""The Fortnox sandbox over real HTTP: spec-valid bodies, auth, rate limit, refusals, filters, paging."""

from __future__ import annotations

import json
import time
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import pytest
import requests
from jsonschema import Draft7Validator

from conftest import API_SPECS, FORTNOX_TOKEN, in_ci

SPEC = API_SPECS / "fortnox" / "openapi-fortnox.json"
AUTH = {"Authorization": f"Bearer {FORTNOX_TOKEN}"}


# Where recorded real traffic contradicts the OpenAPI document, the recording wins [rec]; each
# correction names its cassette (../shared/api-specs/fortnox/recordings/).
SPEC_CORRECTIONS: dict[str, dict[str, dict]] = {
    # articles/search_by_name.yml, articles/single_param_find_by_hash.yml: numbers as text, VAT null
    "fortnox_ArticleListItem": {
        **{name: {"type": "string"} for name in ("DisposableQuantity", "PurchasePrice", "QuantityInStock",
                                                   "ReservedQuantity", "StockValue")},
        "VAT": {"type": "null"},
    },
    # articles/find_new.yml: an unset construction account is 0, below the document's minimum 1000
    "fortnox_Article": {"ConstructionAccount": {"type": ["integer", "null"]}},
    # invoices/row_price_limit.yml (2024): an unset PaymentWay is "", ContractReference the text "0"
    "fortnox_Invoice": {"PaymentWay": {"type": ["string", "null"]}, "ContractReference": {"type": ["string", "null"]}},
    # invoices/all.yml: CurrencyRate is text in the list ("1"), a number on the invoice
    "fortnox_InvoiceListItem": {"CurrencyRate": {"type": ["string", "null"]}},
}


@lru_cache(maxsize=1)
def _spec() -> dict:
    """The vendor's document as real traffic corrects it: every recorded body answers an unset field
    with null, which the document never allows, so every property may be null; then the corrections."""
    spec = json.loads(SPEC.read_text())
    for schema in spec["components"]["schemas"].values():
        for prop in (schema.get("properties") or {}).values():
            if isinstance(prop.get("type"), str):
                prop["type"] = [prop["type"], "null"]
                if "enum" in prop:
                    prop["enum"] = [*prop["enum"], None]
    for component, properties in SPEC_CORRECTIONS.items():
        spec["components"]["schemas"][component]["properties"].update(properties)
    return spec


def assert_matches_spec(path: str, method: str, resp: requests.Response) -> None:
    """Validate a response body against the schema the OpenAPI document gives for that path/method/status."""
    if not SPEC.exists():
        if in_ci():
            pytest.fail(f"{SPEC} is missing: CI must check the sandbox against the vendor's schema")
        pytest.skip(f"{SPEC} is not available here")
    responses = _spec()["paths"][path][method]["responses"]
    entry = responses.get(str(resp.status_code), responses["default"])
    schema = entry["content"]["application/json"]["schema"]
    validator = Draft7Validator({**schema, "components": _spec()["components"]})
    errors = sorted(validator.iter_errors(resp.json()), key=str)
    assert not errors, f"{method.upper()} {path} -> {resp.status_code}: {errors[0].message} at {list(errors[0].path)}"


def call(sb, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, sb.url + path, headers=AUTH, timeout=10, **kwargs)


def test_responses_validate_against_the_openapi_schemas(fortnox_sandbox):
    sb = fortnox_sandbox
    checks = [
        ("get", "/3/companyinformation", "/3/companyinformation", None),
        ("get", "/3/articles", "/3/articles", None),
        ("get", "/3/articles/{ArticleNumber}", "/3/articles/MUG-LOGO", None),
        ("post", "/3/articles", "/3/articles", {"Article": {"ArticleNumber": "NEW-1", "Description": "New",
                                                            "QuantityInStock": 3, "EAN": "7350000000001"}}),
        ("put", "/3/articles/{ArticleNumber}", "/3/articles/NEW-1", {"Article": {"QuantityInStock": 7}}),
        ("post", "/3/prices", "/3/prices", {"Price": {"ArticleNumber": "NEW-1", "PriceList": "A", "Price": 10}}),
        ("get", "/3/prices/{PriceList}/{ArticleNumber}", "/3/prices/A/NEW-1", None),
        ("put", "/3/prices/{PriceList}/{ArticleNumber}/{FromQuantity}", "/3/prices/A/NEW-1/0",
         {"Price": {"Price": 12.5}}),
        ("get", "/3/pricelists", "/3/pricelists", None),
        ("get", "/3/pricelists/{Code}", "/3/pricelists/A", None),
        ("get", "/3/customers", "/3/customers", None),
        ("post", "/3/customers", "/3/customers", {"Customer": {"Name": "Cecilia", "Email": "c@example.com"}}),
        ("get", "/3/customers/{CustomerNumber}", "/3/customers/1", None),
        ("post", "/3/orders", "/3/orders", {"Order": {"CustomerNumber": "1", "OrderRows": [
            {"ArticleNumber": "NEW-1", "OrderedQuantity": "2", "Price": 10}]}}),
        ("get", "/3/orders", "/3/orders", None),
        ("get", "/3/orders/{DocumentNumber}", "/3/orders/1", None),
        ("post", "/3/invoices", "/3/invoices", {"Invoice": {"CustomerNumber": "2", "InvoiceRows": [
            {"ArticleNumber": "NEW-1", "DeliveredQuantity": "1", "Price": 10}]}}),
        ("get", "/3/invoices", "/3/invoices", None),
        ("get", "/3/invoices/{DocumentNumber}", "/3/invoices/1", None),
        ("get", "/3/articles/{ArticleNumber}", "/3/articles/NOPE", None),  # 404: ErrorInformation
    ]
    for method, template, path, body in checks:
        resp = call(sb, method, path, json=body)
        assert resp.status_code < 300 or path.endswith("NOPE"), resp.text
        assert_matches_spec(template, method, resp)
    article = call(sb, "get", "/3/articles/NEW-1").json()["Article"]
    assert article["QuantityInStock"] == 7 and article["SalesPrice"] == 12.5


def test_unauthorized_body(fortnox_sandbox):
    resp = requests.get(fortnox_sandbox.url + "/3/articles", headers={"Authorization": "Bearer wrong"}, timeout=10)
    assert resp.status_code == 401
    assert resp.json() == {"message": "unauthorized"}  # recordings/authentication/expired_token.yml
    assert requests.get(fortnox_sandbox.url + "/3/articles", timeout=10).status_code == 401


def test_the_26th_request_within_5_seconds_is_refused(fortnox_sandbox):
    sb = fortnox_sandbox
    requests.post(sb.url + "/__sandbox__/knobs", json={"rate_limit": 25, "rate_window_s": 5}, timeout=10)
    statuses = [call(sb, "get", "/3/companyinformation").status_code for _ in range(26)]
    assert statuses[:25] == [200] * 25 and statuses[25] == 429
    assert "ErrorInformation" in call(sb, "get", "/3/companyinformation").json()
    assert "X-RateLimit-Remaining" not in call(sb, "get", "/3/companyinformation").headers


def test_order_with_unknown_article_is_refused_naming_it(fortnox_sandbox):
    resp = call(fortnox_sandbox, "post", "/3/orders", json={"Order": {"CustomerNumber": "1", "OrderRows": [
        {"ArticleNumber": "MUG-LOGO", "OrderedQuantity": "1"}, {"ArticleNumber": "GHOST-9", "OrderedQuantity": "1"}]}})
    assert resp.status_code == 400 and "GHOST-9" in resp.json()["ErrorInformation"]["message"]
    resp = call(fortnox_sandbox, "post", "/3/orders", json={"Order": {"CustomerNumber": "999", "OrderRows": []}})
    assert resp.status_code == 400


def test_article_refusals(fortnox_sandbox):
    sb = fortnox_sandbox
    dup = call(sb, "post", "/3/articles", json={"Article": {"ArticleNumber": "MUG-LOGO", "Description": "Again"}})
    assert dup.status_code == 400 and "MUG-LOGO" in dup.json()["ErrorInformation"]["message"]
    assert call(sb, "post", "/3/articles", json={"Article": {"ArticleNumber": "X-1"}}).status_code == 400
    assert call(sb, "post", "/3/articles", json={"Article": {"Description": "d", "SalesPrice": 5}}).status_code == 400
    assert call(sb, "post", "/3/articles", json={"Article": {"Description": "d", "Colour": "red"}}).status_code == 400
    assert call(sb, "post", "/3/articles", json={"Description": "unwrapped"}).status_code == 400
    assert call(sb, "put", "/3/articles/MUG-LOGO", json={"Article": {"ArticleNumber": "OTHER"}}).status_code == 400
    auto = call(sb, "post", "/3/articles", json={"Article": {"Description": "Auto-numbered"}})
    assert auto.status_code == 201 and auto.json()["Article"]["ArticleNumber"] == "1"
    price = {"Price": {"ArticleNumber": "MUG-LOGO", "PriceList": "A", "FromQuantity": 0, "Price": 1}}
    assert call(sb, "post", "/3/prices", json=price).status_code == 400  # one per list/article/quantity
    price["Price"]["PriceList"] = "ZZ"
    assert call(sb, "post", "/3/prices", json=price).status_code == 400  # price list must exist
    price["Price"].update(PriceList="A", ArticleNumber="GHOST")
    assert call(sb, "post", "/3/prices", json=price).status_code == 400  # article must exist


def test_lastmodified_filter(fortnox_sandbox):
    sb = fortnox_sandbox
    time.sleep(1.05)
    mark = datetime.now(ZoneInfo("Europe/Stockholm")).strftime("%Y-%m-%d %H:%M:%S")
    time.sleep(1.05)
    call(sb, "put", "/3/articles/CAP-BLACK", json={"Article": {"QuantityInStock": 4}})
    changed = call(sb, "get", "/3/articles", params={"lastmodified": mark}).json()
    assert [a["ArticleNumber"] for a in changed["Articles"]] == ["CAP-BLACK"]
    assert changed["MetaInformation"]["@TotalResources"] == 1
    minute = datetime.now(ZoneInfo("Europe/Stockholm")).strftime("%Y-%m-%d %H:%M")
    assert call(sb, "get", "/3/articles", params={"lastmodified": "2999-01-01 00:00"}).json()["Articles"] == []
    assert call(sb, "get", "/3/articles", params={"lastmodified": minute}).status_code == 200
    assert call(sb, "get", "/3/articles", params={"lastmodified": "yesterday"}).status_code == 400


def test_paging_and_sorting(fortnox_sandbox):
    sb = fortnox_sandbox
    first = call(sb, "get", "/3/articles", params={"limit": 2}).json()
    assert first["MetaInformation"] == {"@TotalResources": 5, "@TotalPages": 3, "@CurrentPage": 1}
    last = call(sb, "get", "/3/articles", params={"limit": 2, "page": 3}).json()
    assert len(last["Articles"]) == 1 and last["MetaInformation"]["@CurrentPage"] == 3
    numbers = [a["ArticleNumber"] for a in call(sb, "get", "/3/articles").json()["Articles"]]
    assert numbers == sorted(numbers)
    by_stock = call(sb, "get", "/3/articles", params={"sortby": "quantityinstock", "sortorder": "descending"}).json()
    assert by_stock["Articles"][0]["ArticleNumber"] == "MUG-LOGO"
    assert call(sb, "get", "/3/articles", params={"limit": 501}).status_code == 400
    assert call(sb, "get", "/3/articles", params={"sortby": "lastmodified"}).status_code == 400
    found = call(sb, "get", "/3/customers", params={"email": "ANNA@example.com"}).json()["Customers"]
    assert [c["CustomerNumber"] for c in found] == ["1"]


def test_an_order_is_invoiced_paid_and_cancelled_as_fortnox_does(fortnox_sandbox):
    """The events an order-status flow reads back: an invoice made from an order carries the order's
    rows, total and ExternalInvoiceReference1 [3p: woo-fortnox-hub], each points at the other; a payment
    lowers the balance and the last one dates FinalPayDate; what Fortnox would refuse is refused."""
    sb = fortnox_sandbox
    order = call(sb, "post", "/3/orders", json={"Order": {
        "CustomerNumber": "1", "ExternalInvoiceReference1": "shop:77", "VATIncluded": True, "Freight": 49,
        "OrderRows": [{"ArticleNumber": "MUG-LOGO", "OrderedQuantity": "2", "DeliveredQuantity": "2",
                       "Price": 125, "VAT": 25}]}}).json()["Order"]
    number = order["DocumentNumber"]
    made = call(sb, "put", f"/3/orders/{number}/createinvoice")
    assert made.status_code == 200, made.text
    assert_matches_spec("/3/orders/{DocumentNumber}/createinvoice", "put", made)
    invoice = made.json()["Invoice"]
    assert (invoice["ExternalInvoiceReference1"], invoice["OrderReference"]) == ("shop:77", number)
    assert invoice["Total"] == order["Total"] == 2 * 125 + 49  # prices include VAT: the customer's sum
    assert invoice["Balance"] == invoice["Total"] and invoice["FinalPayDate"] is None
    assert call(sb, "get", f"/3/orders/{number}").json()["Order"]["InvoiceReference"] == invoice["DocumentNumber"]
    assert call(sb, "put", f"/3/orders/{number}/createinvoice").status_code == 400  # invoiced once
    assert call(sb, "put", f"/3/orders/{number}/cancel").status_code == 400  # an invoiced order stays

    time.sleep(1.05)
    mark = datetime.now(ZoneInfo("Europe/Stockholm")).strftime("%Y-%m-%d %H:%M:%S")
    time.sleep(1.05)
    inv = invoice["DocumentNumber"]
    pay = lambda amount: call(sb, "post", "/3/invoicepayments", json={"InvoicePayment": {  # noqa: E731
        "InvoiceNumber": int(inv), "Amount": amount, "PaymentDate": "2026-11-20"}})
    assert pay(300).status_code == 400  # more than the balance (299)
    first = pay(100)
    assert first.status_code == 201, first.text
    assert_matches_spec("/3/invoicepayments", "post", first)
    assert call(sb, "get", f"/3/invoices/{inv}").json()["Invoice"]["Balance"] == 199
    changed = call(sb, "get", "/3/invoices", params={"lastmodified": mark}).json()["Invoices"]
    assert [i["DocumentNumber"] for i in changed] == [inv]  # a payment moves the invoice's lastmodified
    assert pay(199).status_code == 201
    paid = call(sb, "get", f"/3/invoices/{inv}").json()["Invoice"]
    assert (paid["Balance"], paid["FinalPayDate"]) == (0, "2026-11-20")
    assert inv in [i["DocumentNumber"] for i in call(sb, "get", "/3/invoices", params={"filter": "fullypaid"}
                                                     ).json()["Invoices"]]
    assert len(call(sb, "get", "/3/invoicepayments", params={"invoicenumber": inv}).json()["InvoicePayments"]) == 2

    other = call(sb, "post", "/3/orders", json={"Order": {"CustomerNumber": "1", "OrderRows": [
        {"ArticleNumber": "MUG-LOGO", "OrderedQuantity": "1", "DeliveredQuantity": "1", "Price": 10}]}}).json()
    cancelled = call(sb, "put", f"/3/orders/{other['Order']['DocumentNumber']}/cancel")
    assert_matches_spec("/3/orders/{DocumentNumber}/cancel", "put", cancelled)
    assert cancelled.json()["Order"]["Cancelled"] is True
    assert call(sb, "put", f"/3/orders/{other['Order']['DocumentNumber']}/createinvoice").status_code == 400
    booked = call(sb, "put", f"/3/invoices/{inv}/bookkeep")
    assert booked.json()["Invoice"]["Booked"] is True
    assert call(sb, "put", f"/3/invoices/{inv}/cancel").status_code == 400  # booked: credit it instead
