"""The console in Dagster: flows as assets with metadata, the run's record table, the
``failed_records`` check, the run tag, and alerts that say why (issue 10, "See it").

Expected values come from the shop's raw data and the test's own arithmetic: which records fail
and why is arranged by the test (a product without SKU, a SKU whose article the id map gives to
another record), and the counts follow from the shop's product list.
"""

from __future__ import annotations

import json

import requests
from dagster import AssetCheckKey, AssetCheckSeverity, AssetKey, DagsterInstance, build_run_status_sensor_context

from flowkit import definitions, run, woo_get, woo_post, woo_put

PRODUCTS = AssetKey(["demo", "erp", "products"])
CHECK = AssetCheckKey(PRODUCTS, "failed_records")


def _latest_check(instance: DagsterInstance):
    record = instance.event_log_storage.get_asset_check_execution_history(CHECK, limit=1)[0]
    return record.event.dagster_event.event_specific_data


def _arrange_two_bad_products(woo: str, store) -> tuple[dict, dict]:
    """One product the shop's mapping refuses (no SKU), one the push refuses (its SKU's article is
    bound to another record in the id map)."""
    no_sku = woo_post(woo, "/products", {"name": "No SKU here", "type": "simple", "regular_price": "10.00"})
    taken = next(p for p in woo_get(woo, "/products") if p["type"] == "simple" and p["sku"])
    store.binder("erp").bind("products", "SOME-OTHER-SKU", taken["sku"])
    return no_sku, taken


def test_flows_are_assets_with_lineage_freshness_and_a_check(tmp_path, woo_sandbox, fortnox_empty, state_url):
    defs = definitions(tmp_path, woo_sandbox.url, fortnox_empty.url)
    graph = defs.resolve_asset_graph()
    for source, target in ((("shop", "products"), ("erp", "products")), (("shop", "orders"), ("erp", "orders")),
                           (("erp", "stock"), ("shop", "stock"))):
        key = AssetKey(["demo", *target])
        assert graph.get(key).parent_keys == {AssetKey(["demo", *source])}
        assert AssetCheckKey(key, "failed_records") in graph.get(key).check_keys
    # A flow without its own schedule reports at least once per daily reconcile: stale after two.
    assert graph.get(PRODUCTS).freshness_policy is not None


def test_a_run_reports_counts_records_failures_and_a_red_check(tmp_path, woo_sandbox, fortnox_empty, store,
                                                                 monkeypatch, webhook_receiver):
    woo = woo_sandbox.url
    hook_url, alerts = webhook_receiver
    monkeypatch.setenv("TEST_SLACK_URL", hook_url)
    defs = definitions(tmp_path, woo, fortnox_empty.url)
    no_sku, taken = _arrange_two_bad_products(woo, store)
    products = woo_get(woo, "/products")
    instance = DagsterInstance.ephemeral()

    result = run(defs, "demo_products", instance=instance)

    assert result.success  # bad records never fail the run...
    run_record = instance.get_run_by_id(result.run_id)
    assert run_record.tags["integrations/failed_records"] == "2"  # ...but say so, on the run
    meta = instance.get_latest_materialization_event(PRODUCTS).asset_materialization.metadata
    assert meta["failed"].value == 2
    assert meta["created"].value == len(products) - 2  # every other product of the shop is one record
    assert meta["last successful sync"].value > 0
    rows = {r.data["key"]: r.data for r in meta["records"].value.records}
    assert "SKU" in next(r for k, r in rows.items() if str(no_sku["id"]) in k)["reason"]
    assert "SOME-OTHER-SKU" in rows[taken["sku"]]["reason"]
    assert rows[taken["sku"]]["outcome"] == "failed (push)"
    landed = [r for r in rows.values() if r["outcome"] == "created"]
    variants = [v for p in products if p["type"] == "variable" for v in woo_get(woo, f"/products/{p['id']}/variations")
                if v["sku"]]
    assert len(landed) == len(products) - 2 + len(variants)  # a row per product, and one per variant
    assert all(rows[v["sku"]]["target_id"] == v["sku"] for v in variants)
    simple = [p["sku"] for p in products if p["type"] == "simple" and p["sku"] and p["sku"] != taken["sku"]]
    assert simple and all(rows[sku]["target_id"] == sku for sku in simple)  # the article number is the SKU

    check = _latest_check(instance)
    assert check.passed is False and check.severity == AssetCheckSeverity.WARN  # 2 failed: warn from 1, error from 10
    assert check.metadata["unresolved"].value == 2 and "SOME-OTHER-SKU" in check.description

    # The alert for record failures names the flow, the first reasons and links the run.
    ctx = build_run_status_sensor_context(sensor_name="integrations_record_failure_alert",
                                          dagster_event=result.get_run_success_event(), dagster_instance=instance,
                                          dagster_run=run_record)
    defs.get_sensor_def("integrations_record_failure_alert")(ctx)
    assert len(alerts) == 1
    text = alerts[0]["text"]
    assert "demo.products" in text and "2 records failed" in text and "SOME-OTHER-SKU" in text
    assert f"http://dagster.example:3000/runs/{result.run_id}" in text

    # Fix both in the shop and the id map: the next full read lands them and the check turns green.
    woo_put(woo, f"/products/{no_sku['id']}", {"sku": "NOW-WITH-SKU"})
    store.binder("erp").bind("products", "SOME-OTHER-SKU", "SOME-OTHER-ARTICLE")
    again = run(defs, "demo_products", instance=instance,
                run_config={"ops": {"demo_products_fetch": {"config": {"full": True}}}})
    assert instance.get_run_by_id(again.run_id).tags["integrations/failed_records"] == "0"
    assert _latest_check(instance).passed is True


def test_an_update_logs_each_changed_field_old_and_new(tmp_path, woo_sandbox, fortnox_empty, store):
    woo = woo_sandbox.url
    defs = definitions(tmp_path, woo, fortnox_empty.url)
    instance = DagsterInstance.ephemeral()
    assert run(defs, "demo_products", instance=instance).success
    simple = next(p for p in woo_get(woo, "/products") if p["type"] == "simple" and p["sku"])
    woo_put(woo, f"/products/{simple['id']}", {"regular_price": "999.00"})
    result = run(defs, "demo_products", instance=instance)
    log = store.log(run_id=result.run_id)
    row = log[log["record_key"] == simple["sku"]].iloc[0]
    changes = json.loads(row["changes"])
    (path, (old, new)), = [(p, v) for p, v in changes.items() if "price" in p]
    assert old == f"{simple['regular_price']} SEK" and new == "999.00 SEK"  # the shop's currency: SEK
    meta = instance.get_latest_materialization_event(PRODUCTS).asset_materialization.metadata
    table = {r.data["key"]: r.data for r in meta["records"].value.records}
    assert table[simple["sku"]]["changes"] == f"{path}: {old} → {new}"
    assert meta["updated"].value == 1 and meta["created"].value == 0  # the run read only what changed


def test_the_failure_alert_says_the_root_cause_and_links_the_run(tmp_path, woo_sandbox, fortnox_empty, store,
                                                                  monkeypatch, webhook_receiver):
    from dagster import build_run_status_sensor_context

    hook_url, alerts = webhook_receiver
    monkeypatch.setenv("TEST_SLACK_URL", hook_url)
    defs = definitions(tmp_path, woo_sandbox.url, fortnox_empty.url, max_attempts=2, op_retries=0)
    requests.post(f"{fortnox_empty.url}/__sandbox__/knobs", json={"fault_rate": 1.0}, timeout=5)
    instance = DagsterInstance.ephemeral()
    result = run(defs, "demo_products", instance=instance, raise_on_error=False)
    assert not result.success
    ctx = build_run_status_sensor_context(
        sensor_name="integrations_failure_alert", dagster_event=result.get_run_failure_event(),
        dagster_instance=instance, dagster_run=instance.get_run_by_id(result.run_id)).for_run_failure()
    defs.get_sensor_def("integrations_failure_alert")(ctx)
    text = alerts[0]["text"]
    assert "demo.products" in text and "Steps failed" not in text
    assert "503" in text  # the sandbox's outage answer, not the step's name
    assert f"http://dagster.example:3000/runs/{result.run_id}" in text
    check = _latest_check(instance)
    assert check.passed is True  # a run that gave up on the target refused no record of its own


def test_an_older_state_store_gets_the_new_column(tmp_path):
    from sqlalchemy import create_engine, text

    from integrations_dagster.state import StateStore

    url = f"sqlite:///{tmp_path}/old.db"
    engine = create_engine(url)
    with engine.begin() as conn:  # the sync log as the previous release created it
        conn.execute(text("CREATE TABLE sync_log (id INTEGER PRIMARY KEY, run_id VARCHAR(64) NOT NULL, "
                          "flow VARCHAR(200) NOT NULL, record_key VARCHAR(300) NOT NULL, stage VARCHAR(20) NOT NULL, "
                          "action VARCHAR(20) NOT NULL, outcome VARCHAR(20) NOT NULL, error TEXT, "
                          "source_id VARCHAR(300), target_id VARCHAR(300), changed TEXT, at DATETIME NOT NULL)"))
        conn.execute(text("INSERT INTO sync_log (run_id, flow, record_key, stage, action, outcome, at) "
                          "VALUES ('r0', 'demo.products', 'A', 'push', 'create', 'created', '2026-11-01 00:00:00')"))
    store = StateStore(url)
    store.record_failed("r1", "demo.products", key="B", stage="push", action="create", error="refused")
    log = store.log(flow="demo.products")
    assert list(log["record_key"]) == ["A", "B"] and "changes" in log.columns
    assert list(store.unresolved_failures("demo.products")["record_key"]) == ["B"]


def test_the_sync_log_has_a_row_per_variant_with_its_own_ids_and_changes(tmp_path, woo_sandbox, fortnox_empty,
                                                                           store):
    woo = woo_sandbox.url
    defs = definitions(tmp_path, woo, fortnox_empty.url)
    assert run(defs, "demo_products").success
    parent = next(p for p in woo_get(woo, "/products") if p["type"] == "variable")
    variations = [v for v in woo_get(woo, f"/products/{parent['id']}/variations") if v["sku"]]
    assert len(variations) >= 2
    created = store.log(flow="demo.products")
    for v in variations:  # the first sync: a row per variant, with the shop's and Fortnox's ids
        row = created[created["record_key"] == v["sku"]].iloc[0]
        assert row["outcome"] == "created" and row["target_id"] == v["sku"]
        assert row["source_id"] == f"{parent['id']}/{v['id']}"  # the shop's variation under its product
    edited, other = variations[0], variations[1]
    woo_put(woo, f"/products/{parent['id']}/variations/{edited['id']}", {"regular_price": "777.00"})
    result = run(defs, "demo_products")
    log = store.log(run_id=result.run_id).set_index("record_key")
    assert json.loads(log.loc[edited["sku"], "changes"]) == {"price.amount": [f"{edited['regular_price']} SEK",
                                                                              "777.00 SEK"]}
    assert log.loc[edited["sku"], "outcome"] == "updated" and log.loc[other["sku"], "outcome"] == "unchanged"


def test_stock_of_an_article_the_shop_does_not_sell_is_ignored_not_failed(tmp_path, woo_sandbox, fortnox_empty,
                                                                            store):
    from flowkit import fx

    woo, fx_url = woo_sandbox.url, fortnox_empty.url
    defs = definitions(tmp_path, woo, fx_url)
    assert run(defs, "demo_products").success
    fx(fx_url, "POST", "/articles", {"Article": {"ArticleNumber": "RAW-MATERIAL-1", "Description": "Tyg",
                                                 "QuantityInStock": 40}})
    instance = DagsterInstance.ephemeral()
    result = run(defs, "demo_stock", instance=instance)
    assert instance.get_run_by_id(result.run_id).tags["integrations/failed_records"] == "0"
    log = store.log(run_id=result.run_id)
    row = log[log["record_key"] == "RAW-MATERIAL-1"].iloc[0]
    assert row["outcome"] == "ignored" and "not in the shop" in row["error"]
    assert "RAW-MATERIAL-1" not in set(store.snapshot_frame("demo.stock")["key"])  # goes out once the shop has it
