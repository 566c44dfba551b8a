"""State store: one transaction per landed record, id map refuses duplicates, cursors."""

import pytest

from integrations_dagster.state import DuplicateBinding, FlowRef

FLOW = FlowRef("demo.products", "shop", "erp", "products")


def test_landed_record_writes_snapshot_id_map_and_log(store):
    store.record_landed("run1", FLOW, key="MUG", action="create", outcome="created", record_hash="h1",
                        payload={"sku": "MUG"}, target_id="MUG", source_id="17")
    assert store.snapshot_frame(FLOW.name).to_dict("records") == [{"key": "MUG", "hash": "h1"}]
    assert store.id_pairs("shop", "erp", "products").to_dict("records") == [
        {"key": "MUG", "source_id": "17", "target_id": "MUG"}]
    log = store.log(run_id="run1")
    assert list(log["outcome"]) == ["created"] and log["error"].isna().all()


def test_failed_record_is_logged_with_reason_and_no_snapshot(store):
    store.record_failed("run1", FLOW.name, key="product 5", stage="normalize", action="map", error="no SKU")
    assert store.snapshot_frame(FLOW.name).empty
    assert store.log(flow=FLOW.name).iloc[0]["error"] == "no SKU"


def test_id_map_refuses_to_bind_one_external_id_to_two_keys(store):
    binder = store.binder("erp")
    binder.bind("products", "A", "100")
    binder.bind("products", "A", "100")  # idempotent
    with pytest.raises(DuplicateBinding):
        binder.bind("products", "B", "100")
    assert binder.all("products") == {"A": "100"}


def test_cursor_round_trip(store):
    assert store.get_cursor("demo.orders") is None
    store.set_cursor("demo.orders", "2026-11-25T10:00:00+00:00")
    store.set_cursor("demo.orders", "2026-11-25T11:00:00+00:00")
    assert store.get_cursor("demo.orders") == "2026-11-25T11:00:00+00:00"


def test_state_store_runs_on_postgres_in_ci(store):
    """In CI the second pass must really use PostgreSQL, not fall back to SQLite."""
    import os

    from conftest import in_ci

    if os.environ.get("INTEGRATIONS_TEST_PG_URL"):
        assert store.engine.dialect.name == "postgresql"
    elif in_ci():
        assert store.engine.dialect.name == "sqlite"  # the first pass; `make test` runs the second
    else:
        pytest.skip("no INTEGRATIONS_TEST_PG_URL: this pass is SQLite only")


def test_one_writer_claims_a_record_at_a_time_and_a_dead_writers_claim_is_stale(store):
    import os
    import subprocess
    import sys

    from integrations_dagster.state.store import claim_owner

    me, other = claim_owner("run-a"), claim_owner("run-b")  # two runs of this process: both alive
    assert store.claim("erp", "orders", ["shop:1", "shop:2"], me) == {"shop:1", "shop:2"}
    assert store.claim("erp", "orders", ["shop:2", "shop:3"], other) == {"shop:3"}
    store.release_claims(me, ["shop:2"])
    assert store.claim("erp", "orders", ["shop:2"], other) == {"shop:2"}
    store.release_claims(other)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    gone = claim_owner("run-c").replace(f":{os.getpid()}:", f":{int(dead.stdout)}:")
    assert store.claim("erp", "orders", ["shop:9"], gone) == {"shop:9"}
    assert store.claim("erp", "orders", ["shop:9"], me) == {"shop:9"}  # its process has exited: stale


def test_the_diff_looks_the_id_map_up_in_batches_not_once_per_change(store):
    """A diff of 1 200 creates asks the id map ceil(1 200 / 500) = 3 times, not 1 200, after the one
    read of the landed records that joins it (issue 11)."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from sqlalchemy import event

    from integrations_dagster.flows.pipeline import compute_diff
    from integrations_dagster.flows.spec import FlowSpec
    from integrations_dagster.model.stock import StockLevel

    spec = FlowSpec(integration="demo", name="stock", entity="stock", source="erp", target="shop")
    records = [StockLevel(sku=f"SKU-{i:05d}", quantity=Decimal(i % 9), source_id=f"SKU-{i:05d}",
                          as_of=datetime(2026, 11, 30, tzinfo=UTC).isoformat()) for i in range(1200)]
    binder = store.binder("shop")
    for i in range(0, 1200, 7):  # some are bound already
        binder.bind("stock", f"SKU-{i:05d}", f"{1000 + i}")
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *args: statements.append(statement))
    result = compute_diff(spec, store, records, full=False)
    assert len(result.changes) == 1200
    assert sum("id_map" in s for s in statements) == 1 + 3
    bound = {c.key: c.target_id for c in result.changes if c.target_id}
    assert bound == {f"SKU-{i:05d}": f"{1000 + i}" for i in range(0, 1200, 7)}
