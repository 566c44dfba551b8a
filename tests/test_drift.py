"""Reconciliation checks (issue 10, "See it"): the ``drift`` asset check of a flow finds where the
target no longer holds what the source says — a price edited by hand in Fortnox, stock edited in
the shop — lists them, tells a change still on its way (pending) from drift, and alerts once.

Expected values come from the shop's raw data and the test's own arithmetic (gross ÷ 1.25 to the
öre, half up), and from what the test itself wrote into the target by hand.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from dagster import AssetCheckKey, AssetKey, DagsterInstance, build_run_status_sensor_context

from flowkit import definitions, fx, run, woo_get, woo_put

PRODUCTS_DRIFT = AssetCheckKey(AssetKey(["demo", "erp", "products"]), "drift")


def net(price: str, rate: str = "25") -> Decimal:
    return (Decimal(price) / (1 + Decimal(rate) / 100)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def evaluation(instance: DagsterInstance, key: AssetCheckKey):
    record = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)[0]
    return record.event.dagster_event.event_specific_data


def alert(defs, instance, result) -> None:
    ctx = build_run_status_sensor_context(sensor_name="integrations_record_failure_alert",
                                          dagster_event=result.get_run_success_event(), dagster_instance=instance,
                                          dagster_run=instance.get_run_by_id(result.run_id))
    defs.get_sensor_def("integrations_record_failure_alert")(ctx)


def test_every_flow_into_a_verifiable_target_has_a_scheduled_drift_check(tmp_path, woo_sandbox, fortnox_empty,
                                                                         state_url):
    defs = definitions(tmp_path, woo_sandbox.url, fortnox_empty.url)
    graph = defs.resolve_asset_graph()
    for target in (("erp", "products"), ("erp", "orders"), ("shop", "stock")):
        assert AssetCheckKey(AssetKey(["demo", *target]), "drift") in graph.get(AssetKey(["demo", *target])).check_keys
    for flow in ("products", "orders", "stock"):
        assert defs.get_schedule_def(f"demo_{flow}_drift_check").cron_schedule == "0 * * * *"


def test_a_price_edited_by_hand_in_fortnox_is_drift_and_a_pending_change_is_not(
        tmp_path, woo_sandbox, fortnox_empty, store, monkeypatch, webhook_receiver):
    woo, fx_url = woo_sandbox.url, fortnox_empty.url
    hook_url, alerts = webhook_receiver
    monkeypatch.setenv("TEST_SLACK_URL", hook_url)
    defs = definitions(tmp_path, woo, fx_url)
    instance = DagsterInstance.ephemeral()
    assert run(defs, "demo_products", instance=instance).success
    products = woo_get(woo, "/products")
    clean = run(defs, "demo_products_drift", instance=instance)
    check = evaluation(instance, PRODUCTS_DRIFT)
    assert check.passed and check.metadata["records checked"].value == len(products)

    simple = [p for p in products if p["type"] == "simple" and p["sku"] and p["tax_class"] == ""]
    edited, pending = simple[0], simple[1]
    fx(fx_url, "PUT", f"/prices/A/{edited['sku']}", {"Price": {"Price": 1}})  # by hand, in Fortnox
    woo_put(woo, f"/products/{pending['id']}", {"regular_price": str(Decimal(pending["regular_price"]) + 10)})
    result = run(defs, "demo_products_drift", instance=instance)

    check = evaluation(instance, PRODUCTS_DRIFT)
    assert not check.passed
    rows = [r.data for r in check.metadata["drift"].value.records]
    assert {r["key"] for r in rows} == {edited["sku"]}  # the shop's own edit is on its way, not drift
    (row,) = rows
    assert Decimal(row["expected"]) == net(edited["regular_price"]) and Decimal(row["actual"]) == Decimal("1")
    assert check.metadata["records that differ"].value == 1
    assert check.metadata["pending (changed since the last sync)"].value == 1
    assert check.metadata["records checked"].value == len(products) - 1

    alert(defs, instance, clean)
    assert alerts == []  # no drift, no alert
    alert(defs, instance, result)
    assert len(alerts) == 1 and edited["sku"] in alerts[0]["text"] and "drift" in alerts[0]["text"]
    again = run(defs, "demo_products_drift", instance=instance)
    alert(defs, instance, again)
    assert len(alerts) == 1  # the same drift, still unfixed: alerted once

    assert run(defs, "demo_products", instance=instance,
               run_config={"ops": {"demo_products_fetch": {"config": {"keys": [edited["sku"]]}}}}).success
    assert Decimal(str(fx(fx_url, "GET", f"/prices/A/{edited['sku']}")["Price"]["Price"])) == net(edited["regular_price"])
    assert run(defs, "demo_products", instance=instance).success  # the pending shop edit lands too
    run(defs, "demo_products_drift", instance=instance)
    assert evaluation(instance, PRODUCTS_DRIFT).passed  # re-sent: the drift is gone


def test_stock_edited_in_the_shop_is_drift_of_the_stock_flow(tmp_path, woo_sandbox, fortnox_empty, store):
    woo, fx_url = woo_sandbox.url, fortnox_empty.url
    defs = definitions(tmp_path, woo, fx_url)
    instance = DagsterInstance.ephemeral()
    assert run(defs, "demo_products", instance=instance).success
    assert run(defs, "demo_stock", instance=instance).success
    key = AssetCheckKey(AssetKey(["demo", "shop", "stock"]), "drift")
    run(defs, "demo_stock_drift", instance=instance)
    assert evaluation(instance, key).passed
    simple = next(p for p in woo_get(woo, "/products") if p["type"] == "simple" and p["sku"] and p["manage_stock"])
    held = Decimal(str(fx(fx_url, "GET", f"/articles/{simple['sku']}")["Article"]["QuantityInStock"]))
    woo_put(woo, f"/products/{simple['id']}", {"stock_quantity": int(held) + 7})
    run(defs, "demo_stock_drift", instance=instance)
    check = evaluation(instance, key)
    assert not check.passed
    (row,) = [r.data for r in check.metadata["drift"].value.records]
    assert row["key"] == simple["sku"] and Decimal(row["expected"]) == held and Decimal(row["actual"]) == held + 7
