"""Zettle → BigCommerce products, seed 004 point by point, over real HTTP against both sandboxes.

Every expected value is computed here from the data the test gives Zettle (öre, VAT rates) and the
store's convention; nothing is read back from the connectors' own code.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from dagster import DagsterInstance


from flowkit import run, stats
from zettlekit import FULL, BigCommerce, Zettle, definitions


def kronor(ore: int) -> float:
    return float(Decimal(ore) / 100)


def net(ore: int, vat: str) -> float:
    """A VAT-inclusive Zettle price as an excl.-VAT store keeps it (4 decimals, BigCommerce's precision)."""
    return float((Decimal(ore) / 100 / (1 + Decimal(vat) / 100)).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def writes(url: str) -> int:
    return stats(url)["writes"]


def test_first_sync_links_by_sku_and_lands_the_rest_hidden_in_the_zettle_category(tmp_path, zettle_empty, bigcommerce_empty, state_url):
    zt, bc = Zettle(zettle_empty.url), BigCommerce(bigcommerce_empty.url)
    zt.create("Mugg Sten", [{"sku": "MUG-STONE", "amount": 24900, "barcode": "7350000000017"}])
    zt.create("T-shirt Logga", [{"sku": "TS-S", "amount": 19900, "options": {"Storlek": "S"}},
                                {"sku": "TS-M", "amount": 21900, "options": {"Storlek": "M"}}],
              options=["Storlek"])
    zt.create("Kaffe Mörkrost", [{"sku": "COF-1", "amount": 8900}], vat="12")
    existing = bc.call("POST", "/v3/catalog/products", {"name": "Stone mug", "type": "physical", "sku": "mug-stone",
                                                        "price": 10, "weight": 1, "is_visible": True})["data"]
    defs = definitions(tmp_path, zettle_empty.url, bigcommerce_empty.url)
    instance = DagsterInstance.ephemeral()
    assert run(defs, "pos_products", instance).success

    # The mug the store already had is the same product (SKUs are case-insensitive): linked, not duplicated.
    assert [v["product_id"] for v in bc.by_sku("MUG-STONE")] == [existing["id"]]
    mug = bc.product(existing["id"])
    assert (mug["name"], mug["price"], mug["is_visible"]) == ("Mugg Sten", kronor(24900), True)
    assert len(bc.products()) == 3
    zettle_category = bc.category_id("Zettle")
    assert zettle_category is not None
    shirt = bc.product(bc.by_sku("TS-S")[0]["product_id"])
    assert (shirt["name"], shirt["is_visible"], shirt["categories"]) == ("T-shirt Logga", False, [zettle_category])
    prices = {v["sku"]: v["price"] for v in shirt["variants"] if v.get("option_values")}
    assert prices == {"TS-S": kronor(19900), "TS-M": kronor(21900)}
    labels = {v["sku"]: [o["label"] for o in v["option_values"]] for v in shirt["variants"] if v.get("option_values")}
    assert labels == {"TS-S": ["S"], "TS-M": ["M"]}
    coffee = bc.product(bc.by_sku("COF-1")[0]["product_id"])
    assert coffee["price"] == kronor(8900)  # the store includes VAT: Zettle's price as it is

    before = writes(bigcommerce_empty.url)
    assert run(defs, "pos_products", instance, run_config=FULL).success
    assert writes(bigcommerce_empty.url) == before, "nothing changed in Zettle: nothing is written"
    assert len(bc.products()) == 3


def test_zettle_is_the_master_but_the_tax_class_stays_the_merchants(tmp_path, zettle_empty, bigcommerce_empty, state_url):
    zt, bc = Zettle(zettle_empty.url), BigCommerce(bigcommerce_empty.url)
    mug = zt.create("Mugg Sten", [{"sku": "MUG-STONE", "amount": 24900}])
    defs = definitions(tmp_path, zettle_empty.url, bigcommerce_empty.url)
    instance = DagsterInstance.ephemeral()
    assert run(defs, "pos_products", instance).success
    product_id = bc.by_sku("MUG-STONE")[0]["product_id"]
    bc.call("PUT", f"/v3/catalog/products/{product_id}", {"name": "Renamed in the shop", "tax_class_id": 2,
                                                          "is_visible": True})
    zt.update(mug, {"variants": [{"uuid": zt.get(mug)["variants"][0]["uuid"],
                                  "price": {"amount": 27900, "currencyId": "SEK"}}]})
    assert run(defs, "pos_products", instance).success
    after = bc.product(product_id)
    assert (after["name"], after["price"]) == ("Mugg Sten", kronor(27900)), "the shop's edit is overwritten"
    assert (after["tax_class_id"], after["is_visible"]) == (2, True), "tax class and visibility are the merchant's"


def test_an_excl_vat_store_gets_net_prices_that_add_up_to_zettles(tmp_path, zettle_empty, bigcommerce_empty, state_url):
    zt, bc = Zettle(zettle_empty.url), BigCommerce(bigcommerce_empty.url)
    zt.create("Kaffe Mörkrost", [{"sku": "COF-1", "amount": 8900}], vat="12")
    zt.create("Mugg Sten", [{"sku": "MUG-STONE", "amount": 24900}], vat="25")
    defs = definitions(tmp_path, zettle_empty.url, bigcommerce_empty.url, includes_tax=False)
    assert run(defs, "pos_products").success
    coffee = bc.product(bc.by_sku("COF-1")[0]["product_id"])
    mug = bc.product(bc.by_sku("MUG-STONE")[0]["product_id"])
    assert (coffee["price"], mug["price"]) == (net(8900, "12"), net(24900, "25"))
    for price, vat, ore in ((coffee["price"], "1.12", 8900), (mug["price"], "1.25", 24900)):
        assert (Decimal(str(price)) * Decimal(vat)).quantize(Decimal("0.01"), ROUND_HALF_UP) == Decimal(ore) / 100


def test_prices_in_another_currency_land_as_zero_and_the_log_says_why(tmp_path, zettle_empty, bigcommerce_empty, state_url):
    zt, bc = Zettle(zettle_empty.url), BigCommerce(bigcommerce_empty.url)
    zt.create("Mug", [{"sku": "MUG-EUR", "amount": 1500, "currency": "EUR"}])
    defs = definitions(tmp_path, zettle_empty.url, bigcommerce_empty.url)
    instance = DagsterInstance.ephemeral()
    result = run(defs, "pos_products", instance)
    assert bc.product(bc.by_sku("MUG-EUR")[0]["product_id"])["price"] == 0
    said = [e.user_message for e in instance.all_logs(result.run_id)]
    assert any("prices are not synced" in m and "EUR" in m for m in said), said


def test_prices_not_synced_are_the_merchants_to_set_and_stay(tmp_path, zettle_empty, bigcommerce_empty, state_url):
    """Seed 004: "Om du väljer att inte synka priserna från Zettle kan du sätta priserna i BigCommerce
    utan att de skrivs över" — land at 0, then the merchant's price survives every Zettle change."""
    zt, bc = Zettle(zettle_empty.url), BigCommerce(bigcommerce_empty.url)
    mug = zt.create("Mugg", [{"sku": "MUG-1", "amount": 14900}])
    shirt = zt.create("Skjorta", [{"sku": "SH-S", "amount": 29900, "options": {"Storlek": "S"}},
                                  {"sku": "SH-M", "amount": 29900, "options": {"Storlek": "M"}}], options=["Storlek"])
    defs = definitions(tmp_path, zettle_empty.url, bigcommerce_empty.url, flow_options={"sync_prices": "false"})
    instance = DagsterInstance.ephemeral()
    assert run(defs, "pos_products", instance).success
    mug_id, shirt_id = bc.by_sku("MUG-1")[0]["product_id"], bc.by_sku("SH-S")[0]["product_id"]
    assert bc.product(mug_id)["price"] == 0
    bc.call("PUT", f"/v3/catalog/products/{mug_id}", {"price": 179.0})  # the merchant prices it
    small = bc.by_sku("SH-S")[0]
    bc.call("PUT", f"/v3/catalog/products/{shirt_id}/variants/{small['id']}", {"price": 249.0})
    zt.update(mug, {"name": "Mugg stor"})
    held = zt.get(shirt)
    zt.update(shirt, {"name": "Skjorta lin", "variants": [
        {"uuid": v["uuid"], "price": {"amount": 31900, "currencyId": "SEK"}} for v in held["variants"]]})
    assert run(defs, "pos_products", instance).success
    assert bc.product(mug_id)["name"] == "Mugg stor" and bc.product(mug_id)["price"] == 179.0
    assert bc.product(shirt_id)["name"] == "Skjorta lin"
    assert bc.by_sku("SH-S")[0]["price"] == 249.0


def test_a_product_deleted_in_zettle_is_deleted_in_the_store(tmp_path, zettle_empty, bigcommerce_empty, state_url):
    zt, bc = Zettle(zettle_empty.url), BigCommerce(bigcommerce_empty.url)
    keep = zt.create("Mugg Sten", [{"sku": "MUG-STONE", "amount": 24900}])
    gone = zt.create("Kaffe", [{"sku": "COF-1", "amount": 8900}], vat="12")
    defs = definitions(tmp_path, zettle_empty.url, bigcommerce_empty.url)
    instance = DagsterInstance.ephemeral()
    assert run(defs, "pos_products", instance).success
    zt.delete(gone)
    assert run(defs, "pos_products", instance, run_config=FULL).success
    assert [p["sku"] for p in bc.products()] == ["MUG-STONE"] and keep


def test_only_products_assigned_to_the_channel_sync_and_unassigning_removes_one(tmp_path, zettle_empty,
                                                                               bigcommerce_empty, state_url):
    """Seed 004: "Välj manuellt vilka produkter du vill synka" … "endast dessa och alla nytillagda
    produkter" and, unassigned, "Efter detta tas dina produkter bort från BigCommerce"."""
    zt, bc = Zettle(zettle_empty.url), BigCommerce(bigcommerce_empty.url)
    zt.create("Mugg", [{"sku": "MUG-1", "amount": 14900}], online={"status": "ACTIVE"})
    cup = zt.create("Kopp", [{"sku": "CUP-1", "amount": 9900}], online={"status": "ACTIVE"})
    bowl = zt.create("Skål", [{"sku": "BOWL-1", "amount": 19900}], online={"status": "HIDDEN"})
    defs = definitions(tmp_path, zettle_empty.url, bigcommerce_empty.url, product_fields={"scope": "assigned"})
    instance = DagsterInstance.ephemeral()
    assert run(defs, "pos_products", instance).success
    assert sorted(p["sku"] for p in bc.products()) == ["CUP-1", "MUG-1"]
    zt.update(cup, {"online": {"status": "HIDDEN"}})  # unassigned in the product library
    zt.update(bowl, {"online": {"status": "ACTIVE"}})  # assigned
    zt.create("Fat", [{"sku": "PLATE-1", "amount": 12900}])  # added after the setup: follows the channel
    assert run(defs, "pos_products", instance).success
    assert sorted(p["sku"] for p in bc.products()) == ["BOWL-1", "MUG-1", "PLATE-1"]
    assert run(defs, "pos_products", instance, run_config=FULL).success  # a full read agrees
    assert sorted(p["sku"] for p in bc.products()) == ["BOWL-1", "MUG-1", "PLATE-1"]
    zt.update(cup, {"online": {"status": "ACTIVE"}})  # assigned again: back in the store, once
    assert run(defs, "pos_products", instance).success
    assert sorted(p["sku"] for p in bc.products()) == ["BOWL-1", "CUP-1", "MUG-1", "PLATE-1"]


def test_every_product_syncs_when_the_scope_is_all(tmp_path, zettle_empty, bigcommerce_empty, state_url):
    zt, bc = Zettle(zettle_empty.url), BigCommerce(bigcommerce_empty.url)
    zt.create("Skål", [{"sku": "BOWL-1", "amount": 19900}], online={"status": "HIDDEN"})
    defs = definitions(tmp_path, zettle_empty.url, bigcommerce_empty.url)
    assert run(defs, "pos_products", DagsterInstance.ephemeral()).success
    assert [p["sku"] for p in bc.products()] == ["BOWL-1"]


def test_variants_added_changed_and_removed_in_zettle_follow_in_the_store(tmp_path, zettle_empty, bigcommerce_empty, state_url):
    zt, bc = Zettle(zettle_empty.url), BigCommerce(bigcommerce_empty.url)
    shirt = zt.create("T-shirt", [{"sku": "TS-S", "amount": 19900, "options": {"Storlek": "S"}},
                                  {"sku": "TS-M", "amount": 19900, "options": {"Storlek": "M"}}], options=["Storlek"])
    defs = definitions(tmp_path, zettle_empty.url, bigcommerce_empty.url)
    instance = DagsterInstance.ephemeral()
    assert run(defs, "pos_products", instance).success
    held = zt.get(shirt)
    small = next(v for v in held["variants"] if v["sku"] == "TS-S")
    zt.update(shirt, {
        "variants": [{"uuid": small["uuid"], "price": {"amount": 17900, "currencyId": "SEK"}},
                     {"uuid": "5a1c0a3e-0000-11ef-8000-000000000001", "name": "L", "sku": "TS-L",
                      "price": {"amount": 20900, "currencyId": "SEK"}, "options": [{"name": "Storlek", "value": "L"}]}],
        "variantOptionDefinitions": {"definitions": [{"name": "Storlek", "properties": [{"value": "S"}, {"value": "L"}]}]},
    })
    assert run(defs, "pos_products", instance).success
    product = bc.product(bc.by_sku("TS-S")[0]["product_id"])
    prices = {v["sku"]: v["price"] for v in product["variants"] if v.get("option_values")}
    assert prices == {"TS-S": kronor(17900), "TS-L": kronor(20900)}


def test_a_dry_run_of_the_first_sync_says_what_would_be_created_matched_and_left_alone(
        tmp_path, zettle_empty, bigcommerce_empty, state_url):
    """Seed 004's duplicates, avoided before anything is written: the dry run reads the store (never
    writes it) and lists the product it would match by SKU apart from those it would create."""
    zt, bc = Zettle(zettle_empty.url), BigCommerce(bigcommerce_empty.url)
    zt.create("Mugg Sten", [{"sku": "MUG-STONE", "amount": 24900}])
    zt.create("Kaffe", [{"sku": "COF-1", "amount": 8900}], vat="12")
    existing = bc.call("POST", "/v3/catalog/products", {"name": "Stone mug", "type": "physical", "sku": "MUG-STONE",
                                                        "price": 10, "weight": 1})["data"]
    defs = definitions(tmp_path, zettle_empty.url, bigcommerce_empty.url)
    before = writes(bigcommerce_empty.url)
    result = run(defs, "pos_products", run_config={"ops": {"pos_products_fetch": {"config": {"dry_run": True}}}})
    assert writes(bigcommerce_empty.url) == before, "a dry run writes nothing"
    rows = next({r.data["key"]: r.data for r in e.event_specific_data.metadata["records"].records}
                for e in result.all_events if e.event_type_value == "STEP_OUTPUT" and e.step_key == "pos_products_push")
    assert {k: r["outcome"] for k, r in rows.items()} == {"MUG-STONE": "would link", "COF-1": "would create"}
    assert f"product {existing['id']}" in rows["MUG-STONE"]["reason"]
    assert len(bc.products()) == 1
