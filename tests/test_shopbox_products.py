"""Shopbox as the target of products, against the Shopbox sandbox over real HTTP: simple and variable
products created with their tag and tax, prices turned into øre including VAT, a variation updated
through its own SKU, and compare-before-write (a record the shop already holds is not written again, so
its ``tstamp`` — what the flow reading Shopbox back keys on — does not move).

Expected values come from the records written here and the test's own arithmetic (net × (100 + rate)
øre, gross × 100), never from the connector."""

from __future__ import annotations

import time
from decimal import ROUND_HALF_UP, Decimal

import requests

from integrations_dagster.connectors.base import Change, WriteContext
from integrations_dagster.model import Money, Price, Product, Variant
from test_fortnox_connector import MemoryBinder
from test_shopbox_connector import connector, raw

SAVE = "POST /api/v3/products/create-or-update"


def ctx(owns: set[str] | None = None, **options) -> WriteContext:
    return WriteContext(binder=MemoryBinder(), source_binder=MemoryBinder(), options=options, log=lambda line: None,
                        owns=frozenset(owns) if owns is not None else None)


def dkk(amount: str, rate: str = "25", gross: bool = True) -> Price:
    return Price(amount=Money(amount=amount, currency="DKK"), vat_rate=Decimal(rate), includes_vat=gross)


def simple(sku: str, price: Price, **fields) -> Product:
    return Product(source_id=f"src-{sku}", sku=sku, name=fields.pop("name", f"Vare {sku}"), price=price, **fields)


def write(box, records: list[Product], context: WriteContext | None = None) -> dict:
    return {o.key: o for o in box.write("products", [Change("create", r.key, r) for r in records], context or ctx())}


def shop(sb, uid) -> dict:
    return raw(sb, f"/products/{uid}")


def saves(sb) -> int:
    return requests.get(f"{sb.url}/__sandbox__/stats", timeout=10).json()["requests"].get(SAVE, 0)


def test_a_simple_product_from_a_net_price_lands_in_oere_with_vat_and_a_new_tag(shopbox_empty):
    sb, box = shopbox_empty, connector(shopbox_empty)
    net, rate = Decimal("79.20"), Decimal(25)
    beans = simple("KAFFE-1", dkk(str(net), gross=False), name="Kaffebønner 1 kg", ean="5701111000011",
                   categories=("Bønner",), description="Mørkristet")
    mug = simple("KRUS-1", dkk("149.00"), categories=("Bønner",))
    out = write(box, [beans, mug], ctx(tags={"Bønner": "Kaffe"}))
    assert {k: (o.ok, o.action) for k, o in out.items()} == {"KAFFE-1": (True, "created"), "KRUS-1": (True, "created")}
    held = shop(sb, out["KAFFE-1"].target_id)
    expected = int((net * (100 + rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert expected == 9900
    assert (held["name"], held["sku_code"], held["code"], held["description"]) == (
        "Kaffebønner 1 kg", "KAFFE-1", "5701111000011", "Mørkristet")
    assert held["selling_price"] == expected and held["tax0"]["percentage"] == 25
    assert held["tag0"]["name"] == "Kaffe"  # the category renamed by the tags option
    assert shop(sb, out["KRUS-1"].target_id)["selling_price"] == 14900
    assert [t["name"] for t in raw(sb, "/tags")["data"]] == ["Kaffe"]  # made once for both


def test_a_variable_product_lands_with_its_sizes_skus_and_prices(shopbox_empty):
    sb, box = shopbox_empty, connector(shopbox_empty)
    tee = Product(source_id="p1", sku="TEE", kind="variable", name="T-shirt", vat_rate=Decimal(25),
                  option_names=("Størrelse",), categories=("Tøj",), variants=(
                      Variant(sku="TEE-S", source_id="v1", options={"Størrelse": "S"}, ean="5702000000011",
                              price=dkk("159.20", gross=False)),
                      Variant(sku="TEE-M", source_id="v2", options={"Størrelse": "M"}, price=dkk("219.00"))))
    [done] = write(box, [tee]).values()
    assert done.ok and done.action == "created"
    held = shop(sb, done.target_id)
    assert held["inventory_on_variants"] == 1 and held["sku_code"] == "TEE" and held["tag0"]["name"] == "Tøj"
    variances = {v["sku_code"]: v for v in held["product_variances"]}
    assert set(variances) == {"TEE-S", "TEE-M"}
    assert variances["TEE-S"]["selling_price"] == int(Decimal("159.20") * 125) == 19900
    assert variances["TEE-M"]["selling_price"] == 21900
    assert variances["TEE-S"]["barcode"] == "5702000000011"
    assert {s: [x["name"] for x in v["variance_values"]] for s, v in variances.items()} == {
        "TEE-S": ["S"], "TEE-M": ["M"]}
    assert done.bindings == {s: (str(v["uid"]), str(held["uid"])) for s, v in variances.items()}
    before = saves(sb)
    [again] = write(box, [tee]).values()  # a new run: the shop already holds it all
    assert (again.action, again.target_id, saves(sb)) == ("unchanged", done.target_id, before)
    large = Variant(sku="TEE-L", source_id="v3", options={"Størrelse": "L"}, price=dkk("239.00"))
    medium = tee.variants[1].model_copy(update={"price": dkk("229.00")})
    grown = tee.model_copy(update={"variants": (tee.variants[0], medium, large)})
    [more] = write(box, [grown]).values()
    assert (more.action, more.target_id, saves(sb)) == ("linked", done.target_id, before + 1)
    variances = {v["sku_code"]: v for v in shop(sb, done.target_id)["product_variances"]}
    assert {s: v["selling_price"] for s, v in variances.items()} == {"TEE-S": 19900, "TEE-M": 22900, "TEE-L": 23900}
    assert [x["name"] for x in variances["TEE-L"]["variance_values"]] == ["L"]
    assert set(more.bindings) == {"TEE-S", "TEE-M", "TEE-L"}


def test_an_update_writes_the_price_only_and_a_second_write_writes_nothing(shopbox_empty):
    sb, box = shopbox_empty, connector(shopbox_empty)
    first = simple("KAFFE-2", dkk("89.00"), ean="5701111000028", categories=("Kaffe",))
    [made] = write(box, [first]).values()
    before = shop(sb, made.target_id)
    time.sleep(1.1)  # tstamp is epoch seconds: a write from here on would move it
    cheaper = first.model_copy(update={"price": dkk("79.00")})
    [done] = box.write("products", [Change("update", cheaper.key, cheaper, target_id=made.target_id)], ctx())
    assert (done.ok, done.action, done.target_id) == (True, "updated", made.target_id)
    after = shop(sb, made.target_id)
    assert after["selling_price"] == 7900 and after["tstamp"] > before["tstamp"]
    moved = {"selling_price", "tstamp", "tstamp_formatted", "selling_price_formatted"}
    assert {k: v for k, v in after.items() if k not in moved} == {k: v for k, v in before.items() if k not in moved}
    time.sleep(1.1)
    count = saves(sb)
    [same] = box.write("products", [Change("update", cheaper.key, cheaper, target_id=made.target_id)], ctx())
    assert (same.ok, same.action, same.target_id) == (True, "unchanged", made.target_id)
    assert shop(sb, made.target_id)["tstamp"] == after["tstamp"] and saves(sb) == count


def test_a_simple_product_whose_sku_is_a_variation_updates_that_variation(shopbox_sandbox):
    sb, box = shopbox_sandbox, connector(shopbox_sandbox)
    tshirt = next(p for p in raw(sb, "/products", expand="product_variances")["data"] if p["product_variances"])
    medium, *others = sorted(tshirt["product_variances"], key=lambda v: v["sku_code"] != "TSHIRT-LOGO-M")
    erp = simple(medium["sku_code"], dkk("200.00", gross=False), name="ERP-navn", ean="5709999999999")
    [done] = write(box, [erp]).values()
    assert (done.ok, done.action, done.target_id) == (True, "linked", str(medium["uid"]))
    held = shop(sb, tshirt["uid"])
    variances = {v["uid"]: v for v in held["product_variances"]}
    assert variances[medium["uid"]]["selling_price"] == 200 * 125 == 25000
    assert variances[medium["uid"]]["barcode"] == "5709999999999"
    assert variances[medium["uid"]]["sku_code"] == medium["sku_code"]
    assert [variances[v["uid"]]["selling_price"] for v in others] == [v["selling_price"] for v in others]
    assert (held["name"], held["selling_price"]) == (tshirt["name"], tshirt["selling_price"])  # the product's own


def test_a_rate_no_tax_has_fails_that_record_and_the_rest_lands(shopbox_empty):
    sb, box = shopbox_empty, connector(shopbox_empty)
    books = simple("BOG-1", dkk("100.00", rate="12", gross=False))
    no_rate = Product(source_id="x", sku="X-1", name="X", price=Price(amount=Money(amount="10", currency="DKK")))
    fraction = simple("OERE-1", dkk("10.005"))
    tea = simple("TE-1", dkk("40.00", rate="0", gross=False))
    out = write(box, [books, no_rate, fraction, tea])
    assert not out["BOG-1"].ok and "12 %" in out["BOG-1"].error
    assert not out["X-1"].ok and "no VAT rate" in out["X-1"].error
    assert not out["OERE-1"].ok and "øre" in out["OERE-1"].error
    assert out["TE-1"].ok and out["TE-1"].action == "created"
    held = raw(sb, "/products")["data"]
    assert [(p["sku_code"], p["selling_price"], p["tax0"]["percentage"]) for p in held] == [("TE-1", 4000, 0)]


def test_owning_the_price_leaves_the_name_alone_and_other_modes_and_deletes(shopbox_empty):
    sb, box = shopbox_empty, connector(shopbox_empty)
    [made] = write(box, [simple("KAGE-1", dkk("35.00"), name="Kage", ean="111")]).values()
    renamed = simple("KAGE-1", dkk("30.00"), name="Ny kage", ean="222")
    [done] = box.write("products", [Change("update", renamed.key, renamed)], ctx(owns={"price"}))
    held = shop(sb, made.target_id)
    assert done.action == "linked" and (held["name"], held["code"], held["selling_price"]) == ("Kage", "111", 3000)
    count = saves(sb)
    new = simple("NY-1", dkk("10.00"))
    [ignored] = box.write("products", [Change("create", new.key, new)], ctx(mode="update"))
    [kept] = box.write("products", [Change("update", renamed.key, renamed)], ctx(mode="create"))
    [gone] = box.write("products", [Change("delete", renamed.key, None)], ctx())
    assert (ignored.ok, ignored.action, kept.action, kept.target_id) == (True, "ignored", "unchanged", made.target_id)
    assert (gone.ok, gone.action, gone.error) == (True, "skipped", "products are not deleted in Shopbox")
    assert saves(sb) == count and shop(sb, made.target_id)["name"] == "Kage"
