"""What the engine spares itself (issue 11): records unchanged at the source are not mapped again,
and the diff reads a record's accepted version back only when its hash alone cannot decide."""

from __future__ import annotations

import gc
from decimal import Decimal

import pytest
from sqlalchemy import event

from flowkit import definitions, run, woo_get, woo_put
from integrations_dagster.flows.memory import collector_paused
from integrations_dagster.flows.pipeline import compute_diff
from integrations_dagster.flows.spec import FlowSpec
from integrations_dagster.model import Money, Price, Product
from integrations_dagster.state import FlowRef

FULL = {"ops": {"demo_products_fetch": {"config": {"full": True}}}}


def normalized(result):
    return result.output_for_node("demo_products_normalize")


def test_records_unchanged_at_the_source_are_not_mapped_again(tmp_path, woo_sandbox, fortnox_empty, store):
    woo = woo_sandbox.url
    defs = definitions(tmp_path, woo, fortnox_empty.url)
    first = normalized(run(defs, "demo_products"))
    assert first.unchanged == [] and first.records
    landed = set(store.snapshot_frame("demo.products")["key"])

    again = normalized(run(defs, "demo_products", run_config=FULL))
    assert again.records == []  # every record that landed was skipped, none mapped
    assert {k for k, _ in again.unchanged} == landed
    assert again.failed == first.failed  # records that never landed are mapped (and refused) again

    simple = next(p for p in woo_get(woo, "/products") if p["type"] == "simple" and p["sku"])
    woo_put(woo, f"/products/{simple['id']}", {"regular_price": "999.00"})
    changed = run(defs, "demo_products", run_config=FULL)
    assert [r.key for r in normalized(changed).records] == [simple["sku"]]
    diff = changed.output_for_node("demo_products_diff")
    assert [(c.action, c.key) for c in diff.changes] == [("update", simple["sku"])]
    assert diff.unchanged == len(landed) - 1


def test_other_mapping_options_map_every_record_again(tmp_path, woo_sandbox, fortnox_empty, store):
    woo = woo_sandbox.url
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert run(definitions(tmp_path / "a", woo, fortnox_empty.url), "demo_products").success
    landed = set(store.snapshot_frame("demo.products")["key"])
    other = definitions(tmp_path / "b", woo, fortnox_empty.url, shop_options={"generated_sku_prefix": "X-"})
    result = normalized(run(other, "demo_products", run_config=FULL))
    assert result.unchanged == []
    assert landed <= {r.key for r in result.records}


def _product(sku: str, price: str) -> Product:
    return Product(source_id=sku, sku=sku, name=f"Product {sku}",
                   price=Price(amount=Money(amount=Decimal(price), currency="SEK"), vat_rate=Decimal(25)))


def test_the_diff_reads_accepted_versions_only_for_hashes_of_an_older_scheme(store):
    spec = FlowSpec(integration="demo", name="products", entity="products", source="shop", target="erp")
    before = [_product(f"SKU-{i}", f"{100 + i}.00") for i in range(6)]
    for record in before:
        store.record_landed("run-1", FlowRef("demo.products", "shop", "erp", "products"), key=record.key,
                            action="create", outcome="created", record_hash=record.content_hash(),
                            payload=record.model_dump(mode="json"), target_id=None, source_id=record.source_id)
    now = [_product(f"SKU-{i}", f"{100 + i + (i % 2)}.00") for i in range(6)]  # odd ones: 1.00 more
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda c, cur, statement, *a: statements.append(statement))

    result = compute_diff(spec, store, now, full=False)
    assert sorted(c.key for c in result.changes) == ["SKU-1", "SKU-3", "SKU-5"]
    assert not [s for s in statements if "payload" in s], "a current-scheme hash that differs needs no read-back"

    store.rehash("demo.products", {r.key: "older-scheme-" + r.key for r in before})
    statements.clear()
    result = compute_diff(spec, store, now, full=False)
    assert sorted(c.key for c in result.changes) == ["SKU-1", "SKU-3", "SKU-5"]  # odd ones changed
    assert result.unchanged == 3  # even ones: same content under the older hash, rehashed
    assert [s for s in statements if "payload" in s]
    assert set(store.snapshot_hashes("demo.products", ["SKU-0", "SKU-2", "SKU-4"]).values()) == {
        r.content_hash() for r in now[0::2]}


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_pause_restores_the_callers_setting(enabled):
    (gc.enable if enabled else gc.disable)()
    try:
        with collector_paused():
            assert not gc.isenabled()
            with collector_paused():
                assert not gc.isenabled()
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
    finally:
        gc.enable()


def test_fetched_texts_read_as_json_loads_reads_them():
    """normalize reads fetched texts with pydantic-core's parser (half json.loads' time); the objects
    must be the ones json.loads gives, and what that parser refuses (an escaped lone surrogate, which
    a vendor's JSON may hold and Python's json accepts) is still read."""
    import json

    from integrations_dagster.flows.pipeline import parse_text

    record = {"id": 7, "price": "219.50", "weight": 0.1, "big": 2**70, "name": "Tröja \u2028 😀",
              "meta_data": [{"key": "_ean", "value": None}], "on_sale": False}
    text = json.dumps(record, separators=(",", ":"))
    assert parse_text(text) == json.loads(text) == record
    assert parse_text(json.dumps({"name": "\ud800"})) == {"name": "\ud800"}


def test_what_a_pause_built_skips_the_young_collections_and_its_cycles_are_still_freed():
    """After a pause every object it built would sit in the youngest generation, and the first
    allocations after it would start a collection that traverses them all; the pause moves them to
    the oldest generation at once. Garbage cycles among them are still found by a full collection."""
    import weakref

    class Node:
        pass

    collections: list[int] = []

    def seen(phase, info):
        if phase == "start":
            collections.append(info["generation"])

    gc.enable()
    gc.callbacks.append(seen)
    try:
        with collector_paused():
            kept = [[i] for i in range(50_000)]
            node = Node()
            node.me = node
            gone = weakref.ref(node)
            del node
        after = [[] for _ in range(10)]  # a few allocations, far below the youngest generation's threshold
    finally:
        gc.callbacks.remove(seen)
    assert collections == []  # no collection set off by the 50 000 objects the pause built
    assert id(kept) in {id(o) for o in gc.get_objects(generation=2)}
    gc.collect()
    assert gone() is None and len(kept) == 50_000 and len(after) == 10
