"""End to end: a WooCommerce ⇄ Specter integration as Dagster jobs built from its YAML (specterkit), over
real HTTP between the two sandboxes — products become articles (one per variation), orders land once
with the shop's total to the öre, and Specter's stock reaches the shop.

Expected values come from the shop's own records (its prices, its orders' fields) and the test's own
arithmetic, never from the connector.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
import requests

from flowkit import run, stats, woo_get, woo_post, woo_put
from integrations_dagster.state.tables import id_map
from specterkit import PRESET, Specter, definitions

CENT = Decimal("0.01")


@pytest.fixture
def env(tmp_path, woo_empty, specter_empty, state_url):
    woo, sp = woo_empty.url, Specter(specter_empty.url)
    shop = {
        "mug": woo_post(woo, "/products", {"name": "Mugg med logga", "type": "simple", "sku": "MUGG-1",
                                           "regular_price": "99.00", "manage_stock": True, "stock_quantity": 40,
                                           "global_unique_id": "7350000000017", "weight": "0.35"}),
        "coffee": woo_post(woo, "/products", {"name": "Kaffe mörkrost", "type": "simple", "sku": "KAFFE-1",
                                              "regular_price": "89.90", "tax_class": "reduced-rate",
                                              "manage_stock": True, "stock_quantity": 24}),
    }
    tee = woo_post(woo, "/products", {
        "name": "Tröja", "type": "variable", "sku": "TROJA", "weight": "0.25",
        "attributes": [{"name": "Storlek", "options": ["S", "M"], "variation": True, "visible": True}]})
    shop["tee"] = tee
    shop["tee_vars"] = [woo_post(woo, f"/products/{tee['id']}/variations", {
        "sku": f"TROJA-{size}", "regular_price": "249.00", "manage_stock": True, "stock_quantity": qty,
        "attributes": [{"name": "Storlek", "option": size}]}) for size, qty in (("S", 5), ("M", 3))]
    defs = definitions(tmp_path, woo, sp.url, erp_options={"shipping_article": "FRAKT"})
    return defs, woo, sp, shop


def net(gross: str, rate: int) -> Decimal:
    return (Decimal(gross) / (1 + Decimal(rate) / 100)).quantize(CENT, ROUND_HALF_UP)


def test_products_become_one_article_per_sellable_unit_and_a_second_run_writes_nothing(env):
    defs, woo, sp, shop = env
    assert run(defs, "butik_products").success
    expected = {"MUGG-1": ("Mugg med logga", net("99.00", 25), "25"),
                "KAFFE-1": ("Kaffe mörkrost", net("89.90", 12), "12"),
                "TROJA-S": ("Tröja S", net("249.00", 25), "25"), "TROJA-M": ("Tröja M", net("249.00", 25), "25")}
    for sku, (name, price, vat) in expected.items():
        article = sp.article(sku)
        assert (article["name"], Decimal(article["priceExclVat"]), article["vatPercent"]) == (name, price, vat), sku
    assert sp.article("TROJA") is None  # the variable parent is no article
    assert sp.article("MUGG-1")["barCode"] == "7350000000017"
    assert sp.article("TROJA-M")["stock"] == {"1": "3"}  # the shop's stock is where Specter starts
    writes = sp.writes()
    assert run(defs, "butik_products").success
    assert sp.writes() == writes, "a second run must write nothing"


def woo_total(order: dict) -> Decimal:
    """What the customer paid, from the order's own parts: lines, shipping and fees without VAT, plus
    their VAT."""
    parts = [*order["line_items"], *order["shipping_lines"], *order["fee_lines"]]
    return sum((Decimal(p["total"]) + Decimal(p["total_tax"]) for p in parts), Decimal(0))


def test_orders_land_once_with_the_shops_total_and_a_resend_makes_no_second_order(env, store):
    defs, woo, sp, shop = env
    sp.edit_article("FRAKT", name="Frakt", priceExclVat="39.20", vatPercent="25")  # the shipping_article option
    assert run(defs, "butik_products").success
    woo_post(woo, "/coupons", {"code": "TIO", "discount_type": "percent", "amount": "10"})
    small = shop["tee_vars"][0]
    orders = [
        woo_post(woo, "/orders", {
            "status": "processing", "billing": {"first_name": "Åsa", "last_name": "Öberg", "email": "asa@example.se",
                                               "address_1": "Storgatan 1", "city": "Umeå", "country": "SE"},
            "line_items": [{"product_id": shop["mug"]["id"], "quantity": 3},
                           {"product_id": shop["coffee"]["id"], "quantity": 2},
                           {"product_id": shop["tee"]["id"], "variation_id": small["id"], "quantity": 1}],
            "shipping_lines": [{"method_id": "flat_rate", "method_title": "PostNord", "total": "39.20"}],
            "coupon_lines": [{"code": "tio"}]}),
        woo_post(woo, "/orders", {
            "status": "processing", "billing": {"first_name": "Bo", "last_name": "Ek", "email": "bo@example.se",
                                               "country": "SE"},
            "line_items": [{"product_id": shop["coffee"]["id"], "quantity": 3}],
            "fee_lines": [{"name": "Fakturaavgift", "total": "15.99"}]}),
        woo_post(woo, "/orders", {"status": "pending", "billing": {"email": "later@example.se"},  # not yet paid
                                  "line_items": [{"product_id": shop["mug"]["id"], "quantity": 1}]}),
    ]
    result = run(defs, "butik_orders")
    assert result.success
    landed = {o["externalOrderNo"]: o for o in sp.orders()}
    assert set(landed) == {f"shop:{orders[0]['id']}", f"shop:{orders[1]['id']}"}
    for order in orders[:2]:
        stored = landed[f"shop:{order['id']}"]
        assert Decimal(stored["totalInclVat"]) == woo_total(order) == Decimal(order["total"]), order["id"]
    first = landed[f"shop:{orders[0]['id']}"]
    assert any(r["articleNo"] == "FRAKT" for r in first["rows"])  # shipping on the freight article
    assert any(Decimal(r["priceExclVat"]) < 0 for r in first["rows"])  # the coupon as a discount row
    assert sp.customer(first["customerId"])["emailAddress"] == "asa@example.se"

    writes = sp.writes()
    assert run(defs, "butik_orders").success
    assert sp.writes() == writes, "a second run must write nothing"
    resend = {"ops": {"butik_orders_fetch": {"config": {"keys": [f"shop:{o['id']}" for o in orders[:2]]}}}}
    assert run(defs, "butik_orders", run_config=resend).success
    assert len(sp.orders()) == 2, "a re-send never makes a second order"
    with store.engine.begin() as conn:  # the id map lost too: Specter's external order number control finds them
        conn.execute(id_map.delete())
    again = run(defs, "butik_orders", run_config=resend)
    assert again.success
    assert len(sp.orders()) == 2, "a re-send never makes a second order"
    log = store.log(flow="butik.orders")
    rerun = log[log["run_id"] == again.run_id]
    assert sorted(rerun[rerun["outcome"] != "warning"]["outcome"]) == ["linked", "linked"]
    assert store.binder("erp").external_id("orders", f"shop:{orders[0]['id']}") == str(first["orderNo"])


def test_order_status_comes_back_with_tracking_and_the_shops_own_mails(env):
    """Seed 002: Specter's Levererad / Fakturerad / Betald / Makulerad set the shop order's status, the
    tracking number follows the delivery (mailed on the states asked for), and delivered moves the
    order to completed — the status Klarna and Nets capture on."""
    defs, woo, sp, shop = env
    assert run(defs, "butik_products").success
    sent, cancelled = (woo_post(woo, "/orders", {
        "status": "processing", "billing": {"first_name": "Åsa", "email": email, "country": "SE"},
        "line_items": [{"product_id": shop["mug"]["id"], "quantity": 1}]}) for email in ("asa@example.se", "bo@example.se"))
    assert run(defs, "butik_orders").success
    mails = lambda: requests.get(f"{woo}/__sandbox__/woocommerce/mails", timeout=10).json()  # noqa: E731
    before = len(mails())
    sp.order_action(f"shop:{sent['id']}", "deliver", trackingNo="00370712345SE")
    sp.order_action(f"shop:{cancelled['id']}", "cancel")
    assert run(defs, "butik_order_status").success
    assert woo_get(woo, f"/orders/{sent['id']}")["status"] == "completed"
    assert woo_get(woo, f"/orders/{cancelled['id']}")["status"] == "cancelled"
    notes = woo_get(woo, f"/orders/{sent['id']}/notes")
    assert [(n["customer_note"], "00370712345SE" in n["note"]) for n in notes] == [(True, True)]
    got = [(m["template"], m["order_id"]) for m in mails()[before:]]
    assert sorted(got) == sorted([("customer_completed_order", sent["id"]), ("customer_note", sent["id"]),
                                  ("cancelled_order", cancelled["id"])])
    sp.order_action(f"shop:{sent['id']}", "invoice")  # invoiced, then paid: the order stays completed
    sp.order_action(f"shop:{sent['id']}", "pay")
    writes = stats(woo)["writes"]
    assert run(defs, "butik_order_status").success
    assert woo_get(woo, f"/orders/{sent['id']}")["status"] == "completed"
    assert stats(woo)["writes"] == writes, "nothing new for the shop: no status write, no second note"
    assert len(woo_get(woo, f"/orders/{sent['id']}/notes")) == 1 and len(mails()) == before + 3




def test_combo_the_shop_owns_the_articles_and_specter_the_price(env, tmp_path):
    """Seed 002, Flöde #3: products shop → Specter never write a price into Specter; prices Specter →
    shop never touch a name in the shop. Expected prices: Specter's price without VAT × 1.25."""
    from integrations_dagster import config
    from integrations_dagster.build import build_definitions

    _, woo, sp, shop = env
    path = _write(tmp_path / "combo.yaml", PRESET, woo, sp.url)
    defs = build_definitions(config.load(path))
    assert run(defs, "kombo_products").success  # the shop's articles into Specter
    mug = sp.article("MUGG-1")
    assert mug is not None and mug["name"] == "Mugg med logga"
    assert "priceExclVat" not in mug, mug  # "never writes prices into the ERP", not even on create
    sp.edit_article("MUGG-1", priceExclVat="100.00", name="Mugg (ERP-namn)")  # Specter sets the price
    assert run(defs, "kombo_prices").success
    held = woo_get(woo, f"/products/{shop['mug']['id']}")
    assert (held["regular_price"], held["name"]) == ("125.00", "Mugg med logga")
    woo_put(woo, f"/products/{shop['mug']['id']}", {"name": "Mugg med ny logga", "regular_price": "10.00"})
    assert run(defs, "kombo_products").success  # the shop's name goes to Specter, its price does not
    mug = sp.article("MUGG-1")
    assert (mug["name"], Decimal(mug["priceExclVat"])) == ("Mugg med ny logga", Decimal("100.00"))
    erp = build_definitions(config.load(_write(path, PRESET.replace("preset: combo", "preset: erp"), woo, sp.url)))
    jobs = {j.name for j in erp.jobs}  # erp: one reader of Specter's article feed, prices with the products
    assert {"kombo_products", "kombo_stock", "kombo_orders"} <= jobs and "kombo_prices" not in jobs


def _write(path, template: str, woo: str, specter: str):
    import textwrap

    path.write_text(textwrap.dedent(template.format(woo=woo, specter=specter)))
    return path


def test_initial_sync_runs_once_either_way_after_a_dry_run_says_what_it_would_do(env, tmp_path, monkeypatch,
                                                                                 capsys):
    """Seed 002, "Initial produktsynkronisering": shop → Specter creating articles with the same numbers,
    and Specter → shop creating products for the shop team; matched by SKU, a dry run first, once."""
    import shutil
    from pathlib import Path

    from integrations_dagster.cli import main

    _, woo, sp, shop = env
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(Path(__file__).parents[1] / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    butik = str(tmp_path / "integrations.yaml")  # (env wrote it: shop → Specter products)
    skus = ["KAFFE-1", "MUGG-1", "TROJA-M", "TROJA-S"]

    assert main(["initial-sync", "--config", butik, "butik", "products", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("would create") == 3 + 1 and "nothing written" not in out  # 3 products, the summary line
    assert all(sp.article(sku) is None for sku in skus)
    assert main(["initial-sync", "--config", butik, "butik", "products"]) == 0
    assert all(sp.article(sku) for sku in skus)
    capsys.readouterr()
    assert main(["initial-sync", "--config", butik, "butik", "products"]) == 2
    assert "it is done once: --force runs it again" in capsys.readouterr().err
    writes = sp.writes()
    assert main(["initial-sync", "--config", butik, "butik", "products", "--force"]) == 0
    assert sp.writes() == writes  # matched: nothing created twice

    sp.edit_article("LJUS-1", name="Doftljus", priceExclVat="79.20", vatPercent="25")  # only in Specter
    erp = str(_write(tmp_path / "erp.yaml", PRESET.replace("preset: combo", "preset: erp"), woo, sp.url))
    capsys.readouterr()
    assert main(["initial-sync", "--config", erp, "kombo", "products", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "LJUS-1" in out and "would link" in out and "the shop has SKU MUGG-1" in out
    assert not woo_get(woo, "/products", sku="LJUS-1")
    assert main(["initial-sync", "--config", erp, "kombo", "products"]) == 0
    [candle] = woo_get(woo, "/products", sku="LJUS-1")
    assert (candle["name"], candle["status"]) == ("Doftljus", "draft")  # for the shop team to finish
    assert len([p for p in woo_get(woo, "/products", sku="MUGG-1") if p["sku"] == "MUGG-1"]) == 1


def test_a_feed_of_batches_has_no_reconcile_and_no_drift_check(env):
    """Specter gives stock and order events only as change batches: no read is the whole set, so
    there is no daily full read to schedule and no drift check reading the source for comparison."""
    defs = env[0]
    schedules = {s.name for s in defs.schedules}
    assert "butik_products_reconcile" in schedules  # WooCommerce: read whole once a day
    assert not {"butik_stock_reconcile", "butik_order_status_reconcile"} & schedules
    checks = {key.name for c in defs.asset_checks for key in c.check_keys}
    assert not any("drift" in name and "stock" in name for name in checks)


def woo_faults(woo: str, rate: float) -> None:
    requests.post(f"{woo}/__sandbox__/knobs", json={"fault_rate": rate}, timeout=10).raise_for_status()


def test_specter_stock_reaches_the_shop_and_a_failed_run_loses_nothing(env):
    defs, woo, sp, shop = env
    assert run(defs, "butik_products").success
    assert run(defs, "butik_stock").success  # the first batch: the levels Specter started with
    sp.set_stock("TROJA-S", 7)
    sp.set_stock("MUGG-1", 0)  # written by Specter as noItemsAvailable
    woo_faults(woo, 1.0)  # the shop is down: the run fails before it acknowledges the batch
    assert not run(defs, "butik_stock", raise_on_error=False).success
    woo_faults(woo, 0.0)
    assert sp.feeds()["stock"]["pending"]["rows"] == 2  # Specter still holds the batch for us
    assert run(defs, "butik_stock").success
    mug = woo_get(woo, f"/products/{shop['mug']['id']}")
    small = woo_get(woo, f"/products/{shop['tee']['id']}/variations/{shop['tee_vars'][0]['id']}")
    assert (mug["stock_quantity"], small["stock_quantity"]) == (0, 7)
    assert sp.feeds()["stock"]["pending"] is None  # acknowledged once the shop had it
    assert woo_get(woo, f"/products/{shop['coffee']['id']}")["stock_quantity"] == 24
