"""The Rackbeat connector against the Rackbeat sandbox over real HTTP: stock per location (variations
under their own SKU), and a POS's sales booked as orders — with or without VAT ("Tilføy moms"), on the
location the sale's branch maps to, found by reference on a re-send, never twice.

Expected values come from the sandbox's demo records read here and the test's own arithmetic."""

from __future__ import annotations

from decimal import Decimal

import requests

from conftest import RACKBEAT_API_KEY
from integrations_dagster.connectors.base import Change, Window, WriteContext
from integrations_dagster.connectors.rackbeat.client import RackbeatResource
from integrations_dagster.model import Customer, Money, Order, OrderLine
from integrations_dagster.model.order import OrderStatus
from test_fortnox_connector import MemoryBinder

AUTH = {"Authorization": f"Bearer {RACKBEAT_API_KEY}"}


def connector(sb) -> RackbeatResource:
    return RackbeatResource(base_url=f"{sb.url}/api", api_key=RACKBEAT_API_KEY)


def get(sb, path: str, **params) -> dict:
    resp = requests.get(f"{sb.url}/api{path}", headers=AUTH, params=params, timeout=10)
    resp.raise_for_status()
    return resp.json()


def sale(number: str, lines: list[tuple[str, int, str, int]], location: str | None = "6102") -> Order:
    """A till receipt as the Shopbox connector makes it: (sku, quantity, gross, VAT %) per line."""
    parts = []
    for sku, quantity, gross, rate in lines:
        g = Decimal(gross)
        net = (g * 100 / (100 + rate)).quantize(Decimal("0.01"))
        parts.append(OrderLine(sku=sku, name=sku, quantity=Decimal(quantity), net=net, vat=g - net,
                               vat_rate=Decimal(rate)))
    total = sum((p.gross for p in parts), Decimal(0))
    return Order(source="kasse", source_id=number, number=number, status=OrderStatus.COMPLETED,
                 created_at="2026-12-01T10:00:00+00:00", currency="NOK", prices_include_vat=True,
                 customer=Customer(name="Shopbox Aarhus C"), lines=tuple(parts),
                 total=Money(amount=total, currency="NOK"), location=location)


def ctx(**options) -> WriteContext:
    return WriteContext(binder=MemoryBinder(), source_binder=MemoryBinder(),
                        options={"customer_number": "1", "locations": {"6102": "2"}, "main_location": "1", **options})


def test_stock_per_location_and_each_variation_under_its_sku(rackbeat_sandbox):
    sb, rb = rackbeat_sandbox, connector(rackbeat_sandbox)
    levels = {lv.key: lv.quantity for lv in (rb.to_canonical("stock", r, {}) for r in rb.read("stock", Window(), {}))}
    expected = {}
    for product in get(sb, "/products")["products"]:
        if not product["inventory_enabled"]:  # a service (FRAKT) keeps no stock
            continue
        number = requests.utils.quote(product["number"], safe="")
        for place in get(sb, f"/products/{number}/locations")["product_locations"]:
            for row in place.get("variations") or [{**place, "sku": product["number"]}]:
                if row.get("sku"):
                    expected[f"{row['sku']}@{place['number']}"] = Decimal(str(row["available_quantity"]))
    assert levels == expected and any("@2" in key for key in levels)
    assert "TSKJORTE-M@2" in levels  # a variation counts under its own SKU


def test_sales_are_booked_once_with_vat_on_the_mapped_location(rackbeat_sandbox):
    sb, rb = rackbeat_sandbox, connector(rackbeat_sandbox)
    receipt = sale("9001", [("KAFFE-500", 3, "267.00", 25), ("TSKJORTE-M", 1, "199.00", 25)])
    [done] = rb.write("orders", [Change("create", receipt.key, receipt)], ctx())
    assert (done.ok, done.action, done.warnings) == (True, "created", ())
    order = get(sb, f"/orders/{done.target_id}")["order"]
    assert order["their_reference"] == "kasse:9001" and order["is_booked"]
    assert Decimal(str(order["total_total"])) == Decimal("267.00") + Decimal("199.00")  # what the till charged
    assert [(line["child_id"], line["location"]["number"]) for line in order["lines"]] == [("KAFFE-500", 2),
                                                                                       ("TSKJORTE", 2)]
    assert order["lines"][1]["product_variation_id"] is not None  # the variation, not just the product
    again = list(rb.write("orders", [Change("create", receipt.key, receipt)], ctx()))
    assert [(o.action, o.target_id) for o in again] == [("linked", done.target_id)]
    assert len([o for o in get(sb, "/orders", limit=200)["orders"] if o["their_reference"] == "kasse:9001"]) == 1


def test_without_add_vat_the_sale_is_booked_without_vat_and_bad_lines_fail_alone(rackbeat_sandbox):
    sb, rb = rackbeat_sandbox, connector(rackbeat_sandbox)
    plain = sale("9002", [("KAFFE-500", 2, "178.00", 25)], location="unmapped")
    unknown = sale("9003", [("NO-SUCH-ITEM", 1, "10.00", 25)])
    outcomes = {o.key: o for o in rb.write("orders", [Change("create", o.key, o) for o in (plain, unknown)],
                                           ctx(add_vat=False))}
    assert outcomes[unknown.key].ok is False and "NO-SUCH-ITEM" in outcomes[unknown.key].error
    booked = get(sb, f"/orders/{outcomes[plain.key].target_id}")["order"]
    assert Decimal(str(booked["total_vat"])) == 0
    assert Decimal(str(booked["total_total"])) == (Decimal("178.00") * 100 / 125).quantize(Decimal("0.01"))
    assert booked["lines"][0]["location"]["number"] == 1  # no mapping: the main location
