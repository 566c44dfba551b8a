"""The Fortnox connector against the Fortnox sandbox over real HTTP (no mocks)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import requests

from conftest import FORTNOX_TOKEN
from integrations_dagster.connectors.base import Change, Watermark, Window, WriteContext
from integrations_dagster.connectors.fortnox import FortnoxResource
from integrations_dagster.model import Customer, Money, Order, OrderLine, Price, Product, Variant

AUTH = {"Authorization": f"Bearer {FORTNOX_TOKEN}"}


class MemoryBinder:
    def __init__(self) -> None:
        self.ids: dict[tuple[str, str], str] = {}

    def external_id(self, entity: str, key: str) -> str | None:
        return self.ids.get((entity, key))

    def key_for(self, entity: str, external_id: str) -> str | None:
        return next((k for (e, k), v in self.ids.items() if e == entity and v == external_id), None)

    def bind(self, entity: str, key: str, external_id: str, parent_id: str | None = None) -> None:
        self.ids[(entity, key)] = external_id

    def all(self, entity: str) -> dict[str, str]:
        return {k: v for (e, k), v in self.ids.items() if e == entity}


def connector(sb) -> FortnoxResource:
    return FortnoxResource(base_url=sb.url, access_token=FORTNOX_TOKEN)


def ctx(binder: MemoryBinder | None = None, **options) -> WriteContext:
    return WriteContext(binder=binder or MemoryBinder(), source_binder=MemoryBinder(), options=options,
                        log=lambda line: None)


def get(sb, path: str, **params) -> dict:
    return requests.get(sb.url + path, headers=AUTH, params=params, timeout=10).json()


def stats(sb) -> dict:
    return requests.get(sb.url + "/__sandbox__/stats", timeout=10).json()


def clear_stats(sb) -> None:
    requests.post(sb.url + "/__sandbox__/stats/clear", timeout=10)


def knobs(sb, **values) -> None:
    requests.post(sb.url + "/__sandbox__/knobs", json=values, timeout=10).raise_for_status()


def price(amount: str, includes_vat: bool = True) -> Price:
    return Price(amount=Money(amount=amount), vat_rate=Decimal(25), includes_vat=includes_vat)


SIMPLE = Product(source_id="11", sku="SOCK-1", name="Socks", price=price("125.00"), vat_rate=Decimal(25),
                 weight=Decimal("0.25"), ean="7350000000011")
VARIABLE = Product(source_id="20", kind="variable", name="Jacket", vat_rate=Decimal(25), price=price("1000.00"),
                   option_names=("Size",), variants=tuple(
                       Variant(sku=f"JACKET-{s}", source_id=f"2{i}", options={"Size": s})
                       for i, s in enumerate(("S", "M", "L"), start=1)))


def order(n: int, lines: list[tuple[str, int, str]], email: str = "anna@example.com", incl: bool = True,
          shipping: str = "49.00") -> Order:
    """An order at 25 % VAT: ``lines`` are (SKU, quantity, unit price with VAT when ``incl``), shipping
    too; its amounts worked out here as a shop would (VAT to the öre on each line)."""
    def split(amount: Decimal) -> tuple[Decimal, Decimal]:  # (net, VAT)
        if incl:
            vat = (amount * 25 / 125).quantize(Decimal("0.01"))
            return amount - vat, vat
        return amount, (amount * Decimal("0.25")).quantize(Decimal("0.01"))

    items = []
    for sku, q, p in lines:
        net, vat = split(Decimal(p) * q)
        items.append(OrderLine(sku=sku, name=f"Item {sku}", quantity=Decimal(q), net=net, vat=vat, vat_rate=Decimal(25)))
    ship_net, ship_vat = split(Decimal(shipping))
    items.append(OrderLine(kind="shipping", name="PostNord", net=ship_net, vat=ship_vat, vat_rate=Decimal(25)))
    vat = sum(line.vat for line in items)
    return Order(
        source="woo", source_id=str(n), number=str(1000 + n), status="processing",
        created_at="2024-05-01T22:30:00Z", currency="SEK", prices_include_vat=incl,
        customer=Customer(email=email, name=f"Customer {email}", source_id=str(n)), lines=tuple(items),
        total=Money(amount=sum(line.net for line in items) + vat), total_vat=Money(amount=vat),
        vat_by_rate=((Decimal(25), vat),),
    )


def test_connection(fortnox_sandbox):
    assert connector(fortnox_sandbox).test_connection() == "Fortnox: Demobolaget AB (556000-0000)"


def test_read_stock_maps_to_stock_levels(fortnox_sandbox):
    fx = connector(fortnox_sandbox)
    levels = {r["ArticleNumber"]: fx.to_canonical("stock", r, {}) for r in fx.read("stock", Window(), {})}
    assert levels["MUG-LOGO"].quantity == Decimal(40) and levels["MUG-LOGO"].as_of


def test_latest_change_asks_for_a_run_only_for_rows_it_has_not_seen(fortnox_sandbox):
    """``lastmodified`` counts in minutes: a fingerprint of the changed rows keeps the sensor from
    asking for a run on every tick of the minute after a change, and still sees a second change."""
    fx = connector(fortnox_sandbox)
    first = fx.latest_change("stock", None)
    assert first.new
    assert not fx.latest_change("stock", first).new
    requests.put(fortnox_sandbox.url + "/3/articles/MUG-LOGO", headers=AUTH, timeout=10,
                 json={"Article": {"QuantityInStock": 41}}).raise_for_status()
    changed = fx.latest_change("stock", first)
    assert changed.new and changed.fingerprint != first.fingerprint
    assert not fx.latest_change("stock", Watermark.decode(changed.encode())).new
    older = Watermark(changed.at - timedelta(minutes=2), "seen-before-the-change")
    assert fx.latest_change("stock", older).new and fx.latest_change("stock", older).at == changed.at


def test_order_progress_is_read_from_the_documents_that_changed_and_the_sensor_sees_each_event(fortnox_sandbox):
    """Order status from Fortnox: an order invoiced, then paid, and one cancelled, each asks the sensor
    for a run once; the read gives each shop order its furthest state, keyed by its reference."""
    sb, fx = fortnox_sandbox, connector(fortnox_sandbox)

    def call(method: str, path: str, body: dict | None = None) -> dict:
        resp = requests.request(method, sb.url + path, json=body, headers=AUTH, timeout=10)
        resp.raise_for_status()
        return resp.json()

    made = [call("POST", "/3/orders", {"Order": {"CustomerNumber": "1", "ExternalInvoiceReference1": f"shop:{n}",
                                                 "OrderRows": [{"ArticleNumber": "MUG-LOGO", "OrderedQuantity": "1",
                                                                "DeliveredQuantity": "1", "Price": 100}]}})["Order"]
            for n in (1, 2, 3)]
    mark = fx.latest_change("order_status", None)
    read = lambda: {p.order_key: p.state for p in (  # noqa: E731
        fx.to_canonical("order_status", raw, {}) for raw in fx.read("order_status", Window(), {}))}
    assert read() == {}  # open orders are nothing for the shop
    invoice = call("PUT", f"/3/orders/{made[0]['DocumentNumber']}/createinvoice")["Invoice"]
    call("PUT", f"/3/orders/{made[1]['DocumentNumber']}/cancel")
    seen = fx.latest_change("order_status", mark)
    assert seen.new and not fx.latest_change("order_status", seen).new
    assert read() == {"shop:1": "invoiced", "shop:2": "cancelled"}
    call("POST", "/3/invoicepayments", {"InvoicePayment": {"InvoiceNumber": int(invoice["DocumentNumber"]),
                                                           "Amount": invoice["Total"]}})
    assert fx.latest_change("order_status", seen).new
    assert read() == {"shop:1": "paid", "shop:2": "cancelled"}


def test_write_products_then_rewrite_writes_nothing(fortnox_sandbox):
    sb, fx, binder = fortnox_sandbox, connector(fortnox_sandbox), MemoryBinder()
    changes = [Change("create", p.key, p) for p in (SIMPLE, VARIABLE)]
    outcomes = list(fx.write("products", changes, ctx(binder)))
    assert [(o.ok, o.action) for o in outcomes] == [(True, "created"), (True, "created")]
    assert set(outcomes[1].bindings) == {"JACKET-S", "JACKET-M", "JACKET-L"}
    article = get(sb, "/3/articles/SOCK-1")["Article"]
    assert (article["Description"], article["Weight"], article["VAT"], article["Type"]) == ("Socks", 250, 25, "STOCK")
    assert get(sb, "/3/prices/A/SOCK-1/0")["Price"]["Price"] == 100.0  # list A excludes VAT
    assert binder.all("products")["JACKET-M"] == "JACKET-M"

    clear_stats(sb)
    again = [Change("update", p.key, p, previous=p) for p in (SIMPLE, VARIABLE)]
    assert [o.action for o in fx.write("products", again, ctx(binder))] == ["skipped", "skipped"]
    assert stats(sb)["writes"] == 0

    medium = VARIABLE.variants[1].model_copy(update={"price": price("1100.00")})
    changed = VARIABLE.model_copy(update={"variants": (VARIABLE.variants[0], medium, VARIABLE.variants[2])})
    clear_stats(sb)
    [outcome] = fx.write("products", [Change("update", changed.key, changed, previous=VARIABLE)], ctx(binder))
    assert outcome.action == "updated" and stats(sb)["writes"] == 1  # only the price changed: one price PUT
    assert get(sb, "/3/prices/A/JACKET-M/0")["Price"]["Price"] == 880.0


def test_modes_and_invalid_article_numbers(fortnox_sandbox):
    sb, fx = fortnox_sandbox, connector(fortnox_sandbox)
    [missing] = fx.write("products", [Change("create", SIMPLE.key, SIMPLE)], ctx(mode="update"))
    assert not missing.ok and "not in Fortnox and mode is update" in missing.error
    existing = Product(source_id="9", sku="HOODIE-GREY", name="Renamed hoodie", price=price("1.00"))
    clear_stats(sb)
    binder = MemoryBinder()
    [linked] = fx.write("products", [Change("create", existing.key, existing)], ctx(binder, mode="create"))
    assert (linked.ok, linked.action, stats(sb)["writes"]) == (True, "linked", 0)
    assert binder.external_id("products", "HOODIE-GREY") == "HOODIE-GREY"
    [updated] = fx.write("products", [Change("update", existing.key, existing)], ctx(MemoryBinder(), mode="both"))
    assert updated.action == "updated" and get(sb, "/3/articles/HOODIE-GREY")["Article"]["Description"] == "Renamed hoodie"
    bad = Product(source_id="8", sku="BAD SKU/1", name="Bad")
    [failed] = fx.write("products", [Change("create", bad.key, bad)], ctx())
    assert not failed.ok and "BAD SKU/1" in failed.error


def test_orders_and_invoices_with_vat_math(fortnox_sandbox):
    sb, fx = fortnox_sandbox, connector(fortnox_sandbox)
    customers_before = get(sb, "/3/customers")["MetaInformation"]["@TotalResources"]
    # 2 x 125.00 with VAT + 49.00 shipping with VAT: 299.00, of which VAT 50.00 + 9.80.
    incl = order(1, [("MUG-LOGO", 2, "125.00")])
    [o] = fx.write("orders", [Change("create", incl.key, incl)], ctx())
    assert (o.ok, o.action, o.binding_entity, o.bindings, o.warnings) == (
        True, "created", "customers", {"anna@example.com": ("1", None)}, ())
    stored = get(sb, f"/3/orders/{o.target_id}")["Order"]
    assert (stored["VATIncluded"], stored["Total"], stored["TotalVAT"], stored["RoundOff"], stored["Freight"]) == (
        True, 299, 59.8, 0, 0), "shipping is a row at its own rate, not Fortnox's Freight"
    assert stored["OrderRows"][0]["OrderedQuantity"] == "2" and stored["ExternalInvoiceReference1"] == "woo:1"
    # 3 x 100.00 without VAT + 39.20 shipping: 339.20 net, VAT 75.00 + 9.80, 424.00.
    excl = order(2, [("MUG-LOGO", 3, "100.00")], incl=False, shipping="39.20")
    [i] = fx.write("orders", [Change("create", excl.key, excl)], ctx(document="invoice"))
    invoice = get(sb, f"/3/invoices/{i.target_id}")["Invoice"]
    assert (invoice["VATIncluded"], invoice["Net"], invoice["TotalVAT"], invoice["Total"]) == (False, 339.2, 84.8, 424)
    assert invoice["InvoiceRows"][0]["Price"] == 100 and invoice["YourOrderNumber"] == "1002"
    # The same amounts with VAT, written without: 100.00 + 39.20 net, 174.00.
    flipped = order(3, [("MUG-LOGO", 1, "125.00")])
    [f] = fx.write("orders", [Change("create", flipped.key, flipped)], ctx(document="invoice", vat_included=False))
    invoice = get(sb, f"/3/invoices/{f.target_id}")["Invoice"]
    assert ([r["Price"] for r in invoice["InvoiceRows"]], invoice["Total"]) == ([100, 39.2], 174)
    assert get(sb, "/3/customers")["MetaInformation"]["@TotalResources"] == customers_before  # matched by e-mail


def test_a_line_that_is_no_article_is_booked_without_article_unless_refused(fortnox_sandbox):
    sb, fx = fortnox_sandbox, connector(fortnox_sandbox)
    orders = [order(10, [("MUG-LOGO", 1, "99.00")], email="new@example.com"),
              order(11, [("MUG-LOGO", 1, "99.00"), ("NOPE", 1, "5.00")]),
              order(12, [("CAP-BLACK", 1, "149.00")], email="new@example.com")]
    changes = [Change("create", o.key, o) for o in orders]
    outcomes = list(fx.write("orders", changes, ctx()))
    assert [o.ok for o in outcomes] == [True, True, True]
    assert outcomes[1].warnings == ("line 2 'Item NOPE': SKU 'NOPE' is not an article in Fortnox; booked as a row "
                                    "without article",)
    rows = get(sb, f"/3/orders/{outcomes[1].target_id}")["Order"]["OrderRows"]
    assert [(r["ArticleNumber"], r["Description"], r["Price"]) for r in rows[:2]] == [
        ("MUG-LOGO", "Item MUG-LOGO", 99), ("", "Item NOPE", 5)]
    assert outcomes[0].bindings == outcomes[2].bindings  # one new customer, reused
    count = get(sb, "/3/orders")["MetaInformation"]["@TotalResources"]
    again = list(fx.write("orders", changes, ctx()))  # empty id map: the lookup must find them
    assert [o.action for o in again] == ["linked", "linked", "linked"]
    assert [o.target_id for o in again] == [o.target_id for o in outcomes]
    assert get(sb, "/3/orders")["MetaInformation"]["@TotalResources"] == count
    assert len(get(sb, "/3/customers", email="new@example.com")["Customers"]) == 1
    strict = order(13, [("NOPE", 1, "5.00")])
    [refused] = fx.write("orders", [Change("create", strict.key, strict)], ctx(lines_without_article="refuse"))
    assert (refused.ok, refused.error) == (False, "line 1 'Item NOPE': SKU 'NOPE' is not an article in Fortnox "
                                                  "(lines_without_article: refuse)")


def test_client_stays_under_the_rate_limit(fortnox_sandbox):
    sb = fortnox_sandbox
    knobs(sb, rate_limit=25, rate_window_s=5)
    clear_stats(sb)
    fx = connector(sb)
    for _ in range(60):
        fx.test_connection()
    assert stats(sb)["status"] == {"200": 60}


def test_faults_after_writes_never_duplicate_orders(fortnox_sandbox):
    sb, fx = fortnox_sandbox, connector(fortnox_sandbox)
    knobs(sb, fault_after_write_rate=0.3, seed=7)
    orders = [order(100 + n, [("MUG-LOGO", 1, "99.00")], email=f"buyer{n % 4}@example.com") for n in range(10)]
    outcomes = list(fx.write("orders", [Change("create", o.key, o) for o in orders], ctx()))
    knobs(sb, fault_after_write_rate=0)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    assert stats(sb)["faults"].get("error_after_write", 0) > 0
    refs = [get(sb, "/3/orders", externalinvoicereference1=o.key)["Orders"] for o in orders]
    assert [len(r) for r in refs] == [1] * 10
    buyers = [c for c in get(sb, "/3/customers")["Customers"] if c.get("Email", "").startswith("buyer")]
    assert len(buyers) == 4
