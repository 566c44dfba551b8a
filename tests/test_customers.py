"""Customers in the ERP (seed 001: "Ska e-handelssystemet eller ekonomisystemet styra kundnummer?"; seed
002: customers matched by e-mail or organisation number), WooCommerce → Fortnox over real HTTP: who
numbers a new customer, and how an existing one is found before one is created."""

from __future__ import annotations

from dagster import DagsterInstance

from flowkit import definitions, fx, fx_all, run, woo_get, woo_post
from integrations_dagster import config
from integrations_dagster.build import build_definitions


def _orders_with(tmp_path, woo: str, fortnox: str, options: str, field_map: str = ""):
    definitions(tmp_path, woo, fortnox)  # writes tmp_path/integrations.yaml
    path = tmp_path / "integrations.yaml"
    text = path.read_text().replace("statuses: [processing, completed]}", f"statuses: [processing, completed], {options}}}")
    if field_map:
        text = text.replace("        mode: create\n", f"        mode: create\n        field_map: {field_map}\n", 1)
    path.write_text(text)
    return build_definitions(config.load(path))


def test_the_shop_numbers_its_customers_when_asked(tmp_path, woo_sandbox, fortnox_empty, state_url):
    woo, fx_url = woo_sandbox.url, fortnox_empty.url
    defs = _orders_with(tmp_path, woo, fx_url, "customer_numbers: shop, customer_number_prefix: W")
    instance = DagsterInstance.ephemeral()
    assert run(defs, "demo_products", instance).success and run(defs, "demo_orders", instance).success
    registered = [o for o in woo_get(woo, "/orders") if o["status"] in ("processing", "completed") and o["customer_id"]]
    assert registered
    for order in registered:
        booked = next(d for d in fx_all(fx_url, "orders", "Orders")
                      if d["ExternalInvoiceReference1"] == f"shop:{order['id']}")
        assert booked["CustomerNumber"] == f"W{order['customer_id']}"  # the shop's id, not Fortnox's series


def test_a_company_is_found_by_its_organisation_number(tmp_path, woo_sandbox, fortnox_empty, state_url):
    woo, fx_url = woo_sandbox.url, fortnox_empty.url
    known = fx(fx_url, "POST", "/customers", {"Customer": {
        "Name": "Berg AB", "Type": "COMPANY", "OrganisationNumber": "556677-8899",
        "Email": "inkop@berg.example"}})["Customer"]["CustomerNumber"]
    product = next(p for p in woo_get(woo, "/products") if p["sku"] == "MUG-FIKA")
    order = woo_post(woo, "/orders", {
        "status": "processing", "billing": {"first_name": "Björn", "company": "Berg AB", "email": "bjorn@berg.example",
                                           "country": "SE"},
        "meta_data": [{"key": "_billing_org_nr", "value": "556677-8899"}],  # what an org-number plugin stores
        "line_items": [{"product_id": product["id"], "quantity": 1}]})
    defs = _orders_with(tmp_path, woo, fx_url, "match_customers_by: [org_number, email]",
                        field_map="{customer.org_number: meta_data._billing_org_nr}")
    instance = DagsterInstance.ephemeral()
    before = len(fx_all(fx_url, "customers", "Customers"))
    assert run(defs, "demo_products", instance).success and run(defs, "demo_orders", instance).success
    booked = next(d for d in fx_all(fx_url, "orders", "Orders") if d["ExternalInvoiceReference1"] == f"shop:{order['id']}")
    assert booked["CustomerNumber"] == known  # not a new customer for another buyer at the same company
    others = {d["CustomerNumber"] for d in fx_all(fx_url, "orders", "Orders")} - {known}
    assert len(fx_all(fx_url, "customers", "Customers")) == before + len(others)
