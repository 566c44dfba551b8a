"""The Fortnox sandbox answers as real Fortnox answered in recorded traffic, over real HTTP.

The oracle is the recordings themselves (``../shared/api-specs/fortnox/recordings/``: cassettes of
real api.fortnox.se traffic) and the amounts of the recorded documents with amounts (cited where
used), never the sandbox's own code: every field a recorded body has, with the JSON type it had;
list items typed as recorded; errors spelled as recorded; the recorded document arithmetic.
"""

from __future__ import annotations

import json
from collections import defaultdict
from functools import lru_cache

import pytest
import requests
import yaml

from conftest import API_SPECS, FORTNOX_TOKEN, in_ci

RECORDINGS = API_SPECS / "fortnox" / "recordings"
AUTH = {"Authorization": f"Bearer {FORTNOX_TOKEN}"}
NUMBER = {"int": "number", "float": "number"}


def _type(value) -> str:
    name = type(value).__name__
    return NUMBER.get(name, name)


@lru_cache(maxsize=1)
def recorded() -> dict[str, dict[str, set[str]]]:
    """Wrapper ("Article", "OrderRow", "Articles"...) -> field -> JSON types seen in real answers."""
    if not RECORDINGS.exists():
        if in_ci():
            pytest.fail(f"{RECORDINGS} is missing: CI must check the sandbox against recorded traffic")
        pytest.skip("no recordings here")
    seen: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in RECORDINGS.rglob("*.yml"):
        for interaction in yaml.safe_load(path.read_text())["http_interactions"]:
            try:
                body = json.loads(interaction["response"]["body"]["string"])
            except (ValueError, KeyError, TypeError):
                continue
            if not isinstance(body, dict):
                continue
            for wrapper, content in body.items():
                records = content if isinstance(content, list) else [content]
                for record in records:
                    if not isinstance(record, dict) or wrapper in ("MetaInformation", "ErrorInformation"):
                        continue
                    for name, value in record.items():
                        seen[wrapper][name].add(_type(value))
                    for rows in ("OrderRows", "InvoiceRows"):
                        for row in record.get(rows) or []:
                            for name, value in row.items():
                                seen[rows][name].add(_type(value))
    return seen


def call(sb, method: str, path: str, body: dict | None = None, **params) -> requests.Response:
    return requests.request(method, f"{sb.url}/3{path}", json=body, params=params or None, headers=AUTH, timeout=10)


def ok(sb, method: str, path: str, body: dict | None = None, **params) -> dict:
    resp = call(sb, method, path, body, **params)
    assert resp.status_code < 300, resp.text
    return resp.json()


def assert_shaped_as_recorded(wrapper: str, record: dict) -> None:
    """Exactly the recorded fields; each value of a type a real answer had (or null)."""
    fields = recorded()[wrapper]
    assert set(record) == set(fields), (f"{wrapper}: missing {sorted(set(fields) - set(record))}, "
                                        f"not recorded {sorted(set(record) - set(fields))}")
    for name, value in record.items():
        types = fields[name] - {"NoneType"}
        if value is not None and types:
            assert _type(value) in types, f"{wrapper}.{name} = {value!r}: recorded as {sorted(fields[name])}"


def test_single_records_carry_every_recorded_field_typed_as_recorded(fortnox_empty):
    sb = fortnox_empty
    article = ok(sb, "POST", "/articles", {"Article": {"ArticleNumber": "A-1", "Description": "Hammer",
                                                       "PurchasePrice": 40, "QuantityInStock": 3}})["Article"]
    assert_shaped_as_recorded("Article", article)
    customer = ok(sb, "POST", "/customers", {"Customer": {"Name": "Anna", "CountryCode": "SE",
                                                          "Email": "anna@example.se"}})["Customer"]
    assert_shaped_as_recorded("Customer", customer)
    assert customer["Country"] == "Sverige"  # customers/save_new_with_country_code_SE.yml
    order = ok(sb, "POST", "/orders", {"Order": {"CustomerNumber": customer["CustomerNumber"], "OrderRows": [
        {"ArticleNumber": "A-1", "OrderedQuantity": 2, "DeliveredQuantity": 2, "Price": 100, "VAT": 25}]}})["Order"]
    assert_shaped_as_recorded("Order", order)
    assert_shaped_as_recorded("OrderRows", order["OrderRows"][0])
    invoice = ok(sb, "POST", "/invoices", {"Invoice": {"CustomerNumber": customer["CustomerNumber"], "InvoiceRows": [
        {"ArticleNumber": "A-1", "DeliveredQuantity": "2", "Price": 100, "VAT": 25}]}})["Invoice"]
    assert_shaped_as_recorded("Invoice", invoice)
    assert_shaped_as_recorded("InvoiceRows", invoice["InvoiceRows"][0])
    for wrapper, path in (("Article", "/articles/A-1"), ("Customer", f"/customers/{customer['CustomerNumber']}"),
                          ("Order", f"/orders/{order['DocumentNumber']}"),
                          ("Invoice", f"/invoices/{invoice['DocumentNumber']}")):
        assert_shaped_as_recorded(wrapper, ok(sb, "GET", path)[wrapper])


def test_list_items_carry_the_recorded_fields_typed_as_recorded(fortnox_sandbox):
    sb = fortnox_sandbox
    customer = ok(sb, "GET", "/customers")["Customers"][0]["CustomerNumber"]
    ok(sb, "POST", "/invoices", {"Invoice": {"CustomerNumber": customer, "InvoiceRows": [
        {"ArticleNumber": "MUG-LOGO", "DeliveredQuantity": 1, "Price": 10}]}})
    for plural in ("Articles", "Customers", "Orders", "Invoices"):
        items = ok(sb, "GET", f"/{plural.lower()}")[plural]
        assert items
        for listed in items:
            assert_shaped_as_recorded(plural, listed)
    article = ok(sb, "GET", "/articles", articlenumber="MUG-LOGO")["Articles"][0]
    assert article["QuantityInStock"] == "40" and article["VAT"] is None  # articles/search_by_name.yml


def test_errors_are_spelled_as_recorded(fortnox_empty):
    sb = fortnox_empty
    # articles/find_failure.yml, customers/find_failure.yml, orders/find_failure.yml, invoices/find_failure.yml
    for path, message, code in (("/articles/123456789", "Kan inte hitta artikeln.", 2000428),
                                ("/customers/123456789", "Kan inte hitta kunden.", 2000433),
                                ("/orders/123456789", "Kan inte hitta ordern.", 2000439),
                                ("/invoices/123456789", "Kan inte hitta fakturan.", 2000434)):
        resp = call(sb, "GET", path)
        assert resp.status_code == 404
        assert resp.json() == {"ErrorInformation": {"Error": 1, "Message": message, "Code": code}}
    # invoices/filter_invalid.yml
    resp = call(sb, "GET", "/invoices", filter="doesntexist")
    assert resp.status_code == 400
    assert resp.json() == {"ErrorInformation": {"error": 1, "message": "Ett ogiltigt filter har använts.",
                                                "code": 2000587}}
    # authentication/expired_token.yml
    resp = requests.get(f"{sb.url}/3/customers", headers={"Authorization": "Bearer expired"}, timeout=10)
    assert resp.status_code == 401 and resp.json() == {"message": "unauthorized"}


def test_recorded_documents_total_as_fortnox_totalled_them(fortnox_empty):
    sb = fortnox_empty
    ok(sb, "POST", "/articles", {"Article": {"ArticleNumber": "101", "Description": "Hammer"}})
    ok(sb, "POST", "/articles", {"Article": {"ArticleNumber": "203", "Description": "Kabel", "PurchasePrice": 99}})
    customer = ok(sb, "POST", "/customers", {"Customer": {"Name": "Kund 100092"}})["Customer"]["CustomerNumber"]
    # accodeing/fortnox-api spec/vcr_cassettes/invoices/save_new_fully_populated.yml (2026): one row
    # 100 × 1 at 25 %, freight 25, fee 50 -> Net 100, Gross 100, FreightVAT 6.25, AdministrationFeeVAT 12.5,
    # TotalVAT 43.75, 218.75 rounded to Total 219 (RoundOff +0.25), TotalToPay 219, Balance 219.
    for kind, rows, extra in (("invoices", "InvoiceRows", {}), ("orders", "OrderRows", {"OrderedQuantity": 1.0})):
        body = {"CustomerNumber": customer, "Freight": 25.0, "AdministrationFee": 50.0, "VATIncluded": False,
                rows: [{"AccountNumber": 3001, "ArticleNumber": "101", "DeliveredQuantity": 1.0, "Discount": 0.0,
                        "DiscountType": "PERCENT", "Price": 100.0, "VAT": 25, **extra}]}
        doc = ok(sb, "POST", f"/{kind}", {kind[:-1].capitalize(): body})[kind[:-1].capitalize()]
        got = {k: doc[k] for k in ("Net", "Gross", "FreightVAT", "AdministrationFeeVAT", "TotalVAT", "RoundOff",
                                   "Total", "TotalToPay")}
        assert got == {"Net": 100, "Gross": 100, "FreightVAT": 6.25, "AdministrationFeeVAT": 12.5,
                       "TotalVAT": 43.75, "RoundOff": 0.25, "Total": 219, "TotalToPay": 219}
        assert doc[rows][0]["Total"] == 100 and doc[rows][0]["DeliveredQuantity"] == "1"
    # Fortnox's documentation example invoice 203 (FriendsOfApi/fortnox tests/Model/Invoice/InvoiceTest.php):
    # 159 × "10.00" at 25 %, freight 95, cost 99 a piece -> TotalVAT 421.25, Total 2106, RoundOff -0.25,
    # ContributionValue 600, ContributionPercent 37.74.
    doc = ok(sb, "POST", "/invoices", {"Invoice": {"CustomerNumber": customer, "Freight": 95, "InvoiceRows": [
        {"ArticleNumber": "203", "DeliveredQuantity": "10.00", "Price": 159, "VAT": 25}]}})["Invoice"]
    assert {k: doc[k] for k in ("Net", "TotalVAT", "FreightVAT", "Total", "RoundOff", "Balance",
                                "ContributionValue", "ContributionPercent")} == {
        "Net": 1590, "TotalVAT": 421.25, "FreightVAT": 23.75, "Total": 2106, "RoundOff": -0.25, "Balance": 2106,
        "ContributionValue": 600, "ContributionPercent": 37.74}


def test_rows_round_price_and_quantity_and_total_the_delivered_quantity(fortnox_empty):
    sb = fortnox_empty
    ok(sb, "POST", "/articles", {"Article": {"ArticleNumber": "101", "Description": "Hammer"}})
    customer = ok(sb, "POST", "/customers", {"Customer": {"Name": "Test"}})["Customer"]["CustomerNumber"]
    # invoices/row_price_limit_round_up.yml and row_delivered_quantity_decimals_round_up.yml: 1.125 -> 1.13
    row = ok(sb, "POST", "/invoices", {"Invoice": {"CustomerNumber": customer, "InvoiceRows": [
        {"ArticleNumber": "101", "Price": 1.125, "DeliveredQuantity": 1.125}]}})["Invoice"]["InvoiceRows"][0]
    assert (row["Price"], row["DeliveredQuantity"]) == (1.13, "1.13")
    # orders/save_with_nested_model.yml: ordered 1, nothing delivered -> the row totals 0
    order = ok(sb, "POST", "/orders", {"Order": {"CustomerNumber": customer, "OrderRows": [
        {"ArticleNumber": "101", "Price": 10, "OrderedQuantity": 1}]}})["Order"]
    assert (order["OrderRows"][0]["DeliveredQuantity"], order["OrderRows"][0]["Total"], order["Total"]) == ("0", 0, 0)


def test_row_vat_must_be_one_of_the_companys_rates_and_free_rows_land(fortnox_empty):
    sb = fortnox_empty
    customer = ok(sb, "POST", "/customers", {"Customer": {"Name": "Test"}})["Customer"]["CustomerNumber"]
    bad = call(sb, "POST", "/orders", {"Order": {"CustomerNumber": customer, "OrderRows": [
        {"Description": "Freight", "Price": 10, "DeliveredQuantity": 1, "OrderedQuantity": 1, "VAT": 7.5}]}})
    assert bad.status_code == 400 and "7.5" in bad.json()["ErrorInformation"]["message"]
    free = ok(sb, "POST", "/orders", {"Order": {"CustomerNumber": customer, "OrderRows": [
        {"Description": "Frakt", "Price": 40, "DeliveredQuantity": "1", "OrderedQuantity": "1", "VAT": 12}]}})
    row = free["Order"]["OrderRows"][0]
    assert (row["ArticleNumber"], row["AccountNumber"], row["Total"]) == ("", 3001, 40)
    assert free["Order"]["TotalVAT"] == 4.8
