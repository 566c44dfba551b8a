"""End to end: the demo's three flows as Dagster jobs, over real HTTP between the two sandboxes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from dagster import DagsterInstance

from flowkit import definitions, fx, fx_all, run, stats, woo_get, woo_post, woo_put, woo_skus


@pytest.fixture
def env(tmp_path, woo_sandbox, fortnox_empty, state_url):
    defs = definitions(tmp_path, woo_sandbox.url, fortnox_empty.url)
    return defs, woo_sandbox.url, fortnox_empty.url


def writes(url: str) -> int:
    return stats(url)["writes"]


def test_products_land_one_article_per_sellable_sku_and_rerun_writes_nothing(env, store):
    defs, woo, fx_url = env
    result = run(defs, "demo_products")
    assert result.success
    articles = {a["ArticleNumber"] for a in fx_all(fx_url, "articles", "Articles")}
    assert woo_skus(woo) <= articles
    pairs = store.id_pairs("shop", "erp", "products")
    assert len(pairs) > 0
    before = writes(fx_url)
    assert run(defs, "demo_products").success
    assert writes(fx_url) == before, "a re-run right after a success must write nothing"
    assert run(defs, "demo_products", run_config={"ops": {"demo_products_fetch": {"config": {"full": True}}}}).success
    assert writes(fx_url) == before


def test_changed_price_updates_only_that_article(env):
    defs, woo, fx_url = env
    assert run(defs, "demo_products").success
    simple = next(p for p in woo_get(woo, "/products") if p["type"] == "simple" and p["sku"])
    woo_put(woo, f"/products/{simple['id']}", {"regular_price": "999.00"})
    before = writes(fx_url)
    assert run(defs, "demo_products").success
    assert 1 <= writes(fx_url) - before <= 2  # the article and/or its price, nothing else
    price = fx(fx_url, "GET", f"/prices/A/{simple['sku']}")["Price"]["Price"]
    assert Decimal(str(price)) == Decimal("799.20")  # 999.00 incl. 25 % VAT -> price list excl. VAT


def test_snapshots_hashed_by_an_older_release_cause_no_writes(env, store):
    """Upgrading across a change of the hash scheme re-pushes nothing: same content, new hash."""
    defs, woo, fx_url = env
    assert run(defs, "demo_products").success
    current = store.snapshot_frame("demo.products")
    store.rehash("demo.products", {k: "hashed-by-an-older-release" for k in current["key"]})
    before = writes(fx_url)
    result = run(defs, "demo_products", run_config={"ops": {"demo_products_fetch": {"config": {"full": True}}}})
    assert result.success and writes(fx_url) == before
    assert result.output_for_node("demo_products_diff").unchanged == len(current)
    assert store.snapshot_frame("demo.products").sort_values("key").equals(current.sort_values("key"))


def test_sku_renamed_in_the_shop_moves_the_source_binding(env, store):
    """The shop is the authority on its own ids: a product keeping its id under a new SKU lands
    as the new SKU and the shop's id moves to it (it used to stop the run: DuplicateBinding)."""
    defs, woo, fx_url = env
    assert run(defs, "demo_products").success
    simple = next(p for p in woo_get(woo, "/products") if p["type"] == "simple" and p["sku"])
    woo_put(woo, f"/products/{simple['id']}", {"sku": simple["sku"] + "-NEW"})
    result = run(defs, "demo_products")
    assert result.success and result.output_for_node("demo_products_normalize").failed == 0
    assert store.binder("shop").key_for("products", str(simple["id"])) == simple["sku"] + "-NEW"
    assert simple["sku"] + "-NEW" in {a["ArticleNumber"] for a in fx_all(fx_url, "articles", "Articles")}


def test_a_target_id_bound_to_another_key_fails_that_record_only(env, store):
    """Two source records ending on one target record: the second is logged with the reason, the
    rest of the batch lands and the run says how many failed."""
    defs, woo, fx_url = env
    simple = next(p for p in woo_get(woo, "/products") if p["type"] == "simple" and p["sku"])
    store.binder("erp").bind("products", "SOME-OTHER-SKU", simple["sku"])
    result = run(defs, "demo_products")
    assert result.success
    log = store.log(flow="demo.products")
    failed = log[log["outcome"] == "failed"]
    assert list(failed["record_key"]) == [simple["sku"]]
    assert "already bound to 'SOME-OTHER-SKU'" in failed["error"].iloc[0]
    assert (log["outcome"] != "failed").sum() >= 10


def test_bad_record_is_logged_and_the_rest_of_the_batch_lands(env, store):
    defs, woo, fx_url = env
    bad = woo_post(woo, "/products", {"name": "No SKU here", "type": "simple", "regular_price": "10.00"})
    result = run(defs, "demo_products")
    assert result.success
    failed = store.log(flow="demo.products")
    failed = failed[failed["outcome"] == "failed"]
    assert any(str(bad["id"]) in k for k in failed["record_key"])
    assert any("SKU" in e for e in failed["error"])
    articles = {a["ArticleNumber"] for a in fx_all(fx_url, "articles", "Articles")}
    assert woo_skus(woo) <= articles
    meta = result.output_for_node("demo_products_normalize")
    assert meta.failed == 1


def test_crash_after_write_before_state_rerun_creates_no_duplicate(env, store):
    """Every write's bookkeeping lost (snapshot and id map): a full re-read finds each article in
    Fortnox by its number and links it — no create, no refusal (Fortnox refuses a taken article
    number, so without the lookup every product of this re-run would fail instead)."""
    defs, woo, fx_url = env
    assert run(defs, "demo_products").success
    numbers = sorted(a["ArticleNumber"] for a in fx_all(fx_url, "articles", "Articles"))
    from integrations_dagster.state.tables import id_map, snapshots

    with store.engine.begin() as conn:
        conn.execute(snapshots.delete())
        conn.execute(id_map.delete())
    creates = stats(fx_url)["requests"].get("POST /{id}/articles", 0)
    result = run(defs, "demo_products", run_config={"ops": {"demo_products_fetch": {"config": {"full": True}}}})
    assert result.success
    assert sorted(a["ArticleNumber"] for a in fx_all(fx_url, "articles", "Articles")) == numbers
    assert stats(fx_url)["requests"].get("POST /{id}/articles", 0) == creates  # not even tried
    log = store.log()
    rerun = log[log["run_id"] == result.run_id]
    assert not rerun.empty and set(rerun["outcome"]) <= {"linked", "updated", "unchanged"}, \
        rerun[["record_key", "outcome", "error"]].to_string()
    pairs = store.id_pairs("shop", "erp", "products")
    assert sorted(pairs["target_id"]) == numbers  # each SKU bound to its article again
    assert len(store.snapshot_frame("demo.products")) == len(woo_get(woo, "/products"))


def test_orders_land_with_customers_once(env, store):
    defs, woo, fx_url = env
    assert run(defs, "demo_products").success
    result = run(defs, "demo_orders")
    assert result.success
    wanted = [o for o in woo_get(woo, "/orders") if o["status"] in ("processing", "completed")]
    orders = fx_all(fx_url, "orders", "Orders")
    assert len(orders) == len(wanted) > 0
    emails = {o["billing"]["email"].lower() for o in wanted}
    customers = fx_all(fx_url, "customers", "Customers")
    assert len(customers) == len(emails)
    before = writes(fx_url)
    assert run(defs, "demo_orders", run_config={"ops": {"demo_orders_fetch": {"config": {"full": True}}}}).success
    assert writes(fx_url) == before
    # Even with the id map lost, the order lookup by external reference prevents a duplicate.
    from integrations_dagster.state.tables import id_map, snapshots

    with store.engine.begin() as conn:
        conn.execute(snapshots.delete())
        conn.execute(id_map.delete())
    assert run(defs, "demo_orders", run_config={"ops": {"demo_orders_fetch": {"config": {"full": True}}}}).success
    assert len(fx_all(fx_url, "orders", "Orders")) == len(wanted)
    assert len(fx_all(fx_url, "customers", "Customers")) == len(emails)


def test_orders_as_invoices(tmp_path, woo_sandbox, fortnox_empty, state_url):
    defs = definitions(tmp_path, woo_sandbox.url, fortnox_empty.url, document="invoice", vat_included="false")
    assert run(defs, "demo_products").success
    assert run(defs, "demo_orders").success
    invoices = fx_all(fortnox_empty.url, "invoices", "Invoices")
    assert invoices and not fx_all(fortnox_empty.url, "orders", "Orders")


def test_an_order_line_that_is_no_article_lands_as_a_row_without_article(env, store):
    """A line whose SKU never reached Fortnox does not stop its order: it is booked as a row without
    article (description, quantity, price, VAT) and the sync log says so."""
    defs, woo, fx_url = env
    assert run(defs, "demo_products").success
    fresh = woo_post(woo, "/products", {"name": "Shop-only lamp", "type": "simple", "sku": "LAMP-NEW",
                                        "regular_price": "100.00"})
    customer_order = next(o for o in woo_get(woo, "/orders") if o["status"] == "processing")
    lamp_order = woo_post(woo, "/orders", {"status": "processing", "billing": customer_order["billing"],
                                           "line_items": [{"product_id": fresh["id"], "quantity": 1}]})
    result = run(defs, "demo_orders")
    assert result.success
    log = store.log(flow="demo.orders")
    assert (log["outcome"] == "failed").sum() == 0
    warned = log[log["outcome"] == "warning"]
    assert list(warned["record_key"]) == [f"shop:{lamp_order['id']}"]
    assert "SKU 'LAMP-NEW' is not an article in Fortnox; booked as a row without article" in warned.iloc[0]["error"]
    wanted = [o for o in woo_get(woo, "/orders") if o["status"] in ("processing", "completed")]
    assert len(fx_all(fx_url, "orders", "Orders")) == len(wanted)
    number = store.binder("erp").external_id("orders", f"shop:{lamp_order['id']}")
    row = fx(fx_url, "GET", f"/orders/{number}")["Order"]["OrderRows"][0]
    # 100.00 with 25 % VAT: 80.00 without, written with VAT as the demo's flow does (vat_included: true).
    assert (row["ArticleNumber"], row["Description"], row["Price"], row["VAT"]) == ("", "Shop-only lamp", 100, 25)


def test_stock_flows_back_to_the_product_or_variation(env):
    defs, woo, fx_url = env
    assert run(defs, "demo_products").success
    skus = sorted(woo_skus(woo))
    for i, sku in enumerate(skus[:3]):
        fx(fx_url, "PUT", f"/articles/{sku}", {"Article": {"QuantityInStock": 40 + i}})
    assert run(defs, "demo_stock").success
    found = {}
    for p in woo_get(woo, "/products"):
        items = woo_get(woo, f"/products/{p['id']}/variations") if p["type"] == "variable" else [p]
        found |= {i["sku"]: i["stock_quantity"] for i in items}
    for i, sku in enumerate(skus[:3]):
        assert found[sku] == 40 + i
    before = writes(woo)
    assert run(defs, "demo_stock").success
    assert writes(woo) == before


def test_backfill_partition_reads_one_day(env, woo_sandbox):
    """The partition 2026-11-02 books the orders changed that day (UTC) and no other: one order
    changed at 10:00 that day, one at 23:59:59, one at 00:00:00 the day after, the rest in 2024."""
    from integrations_dagster.sandbox.woocommerce.sales import ORDERS

    defs, woo, fx_url = env
    assert run(defs, "demo_products").success
    shop = woo_sandbox.sandbox.store
    wanted = [o for o in woo_get(woo, "/orders") if o["status"] in ("processing", "completed")]
    moments = {wanted[0]["id"]: "2026-11-02T10:00:00", wanted[1]["id"]: "2026-11-02T23:59:59",
               wanted[2]["id"]: "2026-11-03T00:00:00"}
    for order_id, gmt in moments.items():  # arrange the shop's history: when these orders last changed
        doc = shop.get(ORDERS, order_id)
        doc["date_modified_gmt"] = gmt
        shop.put(ORDERS, order_id, doc, key=doc["number"], modified=gmt)
    job = defs.get_job_def("demo_orders_backfill")
    assert job.partitions_def is not None
    result = run(defs, "demo_orders_backfill", partition_key="2026-11-02")
    assert result.success
    booked = {d["ExternalInvoiceReference1"] for d in fx_all(fx_url, "orders", "Orders")}
    assert booked == {f"shop:{wanted[0]['id']}", f"shop:{wanted[1]['id']}"}


def test_secrets_never_reach_logs_or_metadata(env):
    from conftest import FORTNOX_TOKEN, WOO_KEY, WOO_SECRET

    defs, woo, fx_url = env
    instance = DagsterInstance.ephemeral()
    for name in ("demo_products", "demo_orders", "demo_stock", "demo_check_connections"):
        assert run(defs, name, instance=instance).success
    text = ""
    for record in instance.get_run_records():
        text += repr(record.dagster_run.run_config) + repr(record.dagster_run.tags)
        for entry in instance.all_logs(record.dagster_run.run_id):
            text += repr(entry)
    assert len(text) > 1000
    for secret in (WOO_KEY, WOO_SECRET, FORTNOX_TOKEN):
        assert secret not in text


def test_a_yaml_option_that_contradicts_the_shop_fails_the_run_naming_it(tmp_path, woo_sandbox, fortnox_empty,
                                                                         state_url):
    defs = definitions(tmp_path, woo_sandbox.url, fortnox_empty.url, shop_options={"currency": "EUR"})
    result = run(defs, "demo_products", raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "connections.shop.options.currency: 'EUR', but the shop's currency is 'SEK'" in \
        failure.event_specific_data.error.message
