"""Acting from the console (issue 10, "Act on it"): re-send one record, retry a flow's failed
records, dry-run a flow — typed run config of the flow's own job, so the launchpad offers them.

Expected values come from the shop's raw data and arithmetic in the test (a price incl. 25 % VAT
÷ 1.25, to the öre half up), and Fortnox's own counts before and after, read over HTTP.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import requests
from dagster import AssetCheckKey, AssetKey, DagsterInstance

from conftest import WOO_KEY, WOO_SECRET
from flowkit import definitions, fx, fx_all, run, stats, woo_get, woo_post, woo_put

CHECK = AssetCheckKey(AssetKey(["demo", "erp", "products"]), "failed_records")


def fetch_config(flow: str = "products", **config) -> dict:
    return {"ops": {f"demo_{flow}_fetch": {"config": config}}}


def net(price: str, rate: str = "25") -> Decimal:
    return (Decimal(price) / (1 + Decimal(rate) / 100)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def price_a(fx_url: str, sku: str) -> Decimal:
    return Decimal(str(fx(fx_url, "GET", f"/prices/A/{sku}")["Price"]["Price"]))


def table(result, flow: str = "products") -> dict[str, dict]:
    for e in result.all_events:
        if e.event_type_value == "STEP_OUTPUT" and e.step_key == f"demo_{flow}_push":
            return {r.data["key"]: r.data for r in e.event_specific_data.metadata["records"].records}
    raise AssertionError("the push reported no record table")


def test_dry_run_says_field_by_field_what_would_change_and_writes_nothing(tmp_path, woo_sandbox, fortnox_empty,
                                                                          store):
    woo, fx_url = woo_sandbox.url, fortnox_empty.url
    defs = definitions(tmp_path, woo, fx_url)
    products = woo_get(woo, "/products")
    before = stats(fx_url)["writes"]
    first = run(defs, "demo_products", run_config=fetch_config(dry_run=True))
    assert stats(fx_url)["writes"] == before and fx_all(fx_url, "articles", "Articles") == []
    rows = table(first)
    assert len(rows) == len(products) and {r["outcome"] for r in rows.values()} == {"would create"}
    assert store.snapshot_frame("demo.products").empty and store.get_cursor("demo.products") is None
    assert store.log().empty  # nothing in the sync log either

    assert run(defs, "demo_products").success
    simple = next(p for p in products if p["type"] == "simple" and p["sku"] and p["tax_class"] == "")
    new_price = str(Decimal(simple["regular_price"]) + 100)
    woo_put(woo, f"/products/{simple['id']}", {"regular_price": new_price})
    before, cursor = stats(fx_url)["writes"], store.get_cursor("demo.products")
    dry = run(defs, "demo_products", run_config=fetch_config(dry_run=True))
    assert stats(fx_url)["writes"] == before and store.get_cursor("demo.products") == cursor
    row = table(dry)[simple["sku"]]
    assert row["outcome"] == "would update" and f"{simple['regular_price']} SEK → {new_price} SEK" in row["changes"]
    assert price_a(fx_url, simple["sku"]) == net(simple["regular_price"])
    assert run(defs, "demo_products").success  # the real run then does it
    assert price_a(fx_url, simple["sku"]) == net(new_price)


def test_resend_one_product_puts_back_what_someone_changed_in_the_target(tmp_path, woo_sandbox, fortnox_empty,
                                                                         store):
    woo, fx_url = woo_sandbox.url, fortnox_empty.url
    defs = definitions(tmp_path, woo, fx_url)
    assert run(defs, "demo_products").success
    articles = len(fx_all(fx_url, "articles", "Articles"))
    simple = next(p for p in woo_get(woo, "/products") if p["type"] == "simple" and p["sku"] and p["tax_class"] == "")
    fx(fx_url, "PUT", f"/prices/A/{simple['sku']}", {"Price": {"Price": 1}})  # edited by hand in Fortnox
    assert run(defs, "demo_products").success  # nothing changed in the shop: a normal run leaves it
    assert price_a(fx_url, simple["sku"]) == Decimal("1")

    result = run(defs, "demo_products", run_config=fetch_config(keys=[simple["sku"]]))

    assert price_a(fx_url, simple["sku"]) == net(simple["regular_price"])
    assert len(fx_all(fx_url, "articles", "Articles")) == articles  # never a duplicate
    assert set(table(result)) == {simple["sku"]}


def test_resend_an_order_by_its_number_never_books_it_twice(tmp_path, woo_sandbox, fortnox_empty, store):
    woo, fx_url = woo_sandbox.url, fortnox_empty.url
    defs = definitions(tmp_path, woo, fx_url)
    assert run(defs, "demo_products").success and run(defs, "demo_orders").success
    booked = fx_all(fx_url, "orders", "Orders")
    order = next(o for o in woo_get(woo, "/orders") if o["status"] in ("processing", "completed"))
    result = run(defs, "demo_orders", run_config=fetch_config("orders", keys=[str(order["number"])]))
    assert len(fx_all(fx_url, "orders", "Orders")) == len(booked)
    (row,) = table(result, "orders").values()
    assert row["outcome"] == "skipped" and row["target_id"]  # already booked: named, not booked again
    missing = run(defs, "demo_orders", run_config=fetch_config("orders", keys=["999999"]))
    assert table(missing, "orders")["999999"]["outcome"] == "failed (fetch)"


def test_retry_failed_lands_what_failed_and_closes_what_the_source_no_longer_has(tmp_path, woo_sandbox,
                                                                                fortnox_empty, store):
    woo, fx_url = woo_sandbox.url, fortnox_empty.url
    defs = definitions(tmp_path, woo, fx_url)
    instance = DagsterInstance.ephemeral()
    taken = next(p for p in woo_get(woo, "/products") if p["type"] == "simple" and p["sku"])
    store.binder("erp").bind("products", "SOME-OTHER-SKU", taken["sku"])
    doomed = woo_post(woo, "/products", {"name": "Doomed", "type": "simple", "sku": "DOOMED-1",
                                         "regular_price": "10.00"})
    store.binder("erp").bind("products", "SOME-THIRD-SKU", "DOOMED-1")
    assert run(defs, "demo_products", instance=instance).success
    assert set(store.unresolved_failures("demo.products")["record_key"]) == {taken["sku"], "DOOMED-1"}
    cursor = store.get_cursor("demo.products")

    store.binder("erp").bind("products", "SOME-OTHER-SKU", "SOME-OTHER-ARTICLE")  # the cause fixed
    requests.delete(f"{woo}/wp-json/wc/v3/products/{doomed['id']}", params={"force": "true"},
                    auth=(WOO_KEY, WOO_SECRET), timeout=10).raise_for_status()
    result = run(defs, "demo_products", instance=instance, run_config=fetch_config(retry_failed=True))

    assert taken["sku"] in {a["ArticleNumber"] for a in fx_all(fx_url, "articles", "Articles")}
    assert price_a(fx_url, taken["sku"]) == net(taken["regular_price"],
                                                 "25" if taken["tax_class"] == "" else "12")
    assert store.unresolved_failures("demo.products").empty
    assert store.get_cursor("demo.products") == cursor  # a re-send does not move the flow's cursor
    log = store.log(run_id=result.run_id)
    assert set(log.loc[log["record_key"] == "DOOMED-1", "outcome"]) == {"gone"}
    check = instance.event_log_storage.get_asset_check_execution_history(CHECK, limit=1)[0]
    assert check.event.dagster_event.event_specific_data.passed is True


def test_the_cli_dry_runs_and_resends_in_the_instance_the_ui_shows(tmp_path, woo_sandbox, fortnox_empty, store,
                                                                   monkeypatch, capsys):
    import shutil
    from pathlib import Path

    from integrations_dagster.cli import main

    woo, fx_url = woo_sandbox.url, fortnox_empty.url
    definitions(tmp_path, woo, fx_url)  # writes tmp_path/integrations.yaml
    monkeypatch.setenv("INTEGRATIONS_CONFIG", str(tmp_path / "integrations.yaml"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "nowhere"))
    assert main(["dry-run", "demo", "products"]) == 2
    assert "no Dagster instance at" in capsys.readouterr().err

    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(Path(__file__).parents[1] / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    products = woo_get(woo, "/products")
    assert main(["dry-run", "demo", "products"]) == 0
    out = capsys.readouterr().out
    assert out.count("would create") == len(products) + 1  # a row each, and the summary line
    assert fx_all(fx_url, "articles", "Articles") == []
    assert main(["resend", "demo", "products", products[0]["sku"] or f"product {products[0]['id']}"]) == 0
    assert "created" in capsys.readouterr().out
    assert len(fx_all(fx_url, "articles", "Articles")) >= 1
    runs = DagsterInstance.get().get_runs()
    assert len(runs) == 2 and all(r.tags.get("integrations/trigger") == "cli" for r in runs)
    assert main(["resend", "demo", "nosuchflow", "X"]) == 2
    assert "no flow demo.nosuchflow (flows: demo.orders, demo.products, demo.stock)" in capsys.readouterr().err
