"""Zettle stock → BigCommerce: the STORE balance of each tracked variant, after sales and refunds at
the till, is the store's level; untracked products keep theirs. Expected levels are the test's own
arithmetic over the movements it makes."""

from __future__ import annotations

import pytest
from dagster import DagsterInstance


from flowkit import run, stats
from zettlekit import BigCommerce, Zettle, definitions


@pytest.fixture
def shops(tmp_path, state_url, zettle_empty, bigcommerce_empty):
    return (Zettle(zettle_empty.url), BigCommerce(bigcommerce_empty.url),
            definitions(tmp_path, zettle_empty.url, bigcommerce_empty.url))


def test_sales_and_refunds_at_the_till_move_the_stores_stock(shops):
    zt, bc, defs = shops
    mug = zt.create("Mugg Sten", [{"sku": "MUG-STONE", "amount": 24900}])
    shirt = zt.create("T-shirt", [{"sku": "TS-S", "amount": 19900, "options": {"Storlek": "S"}},
                                  {"sku": "TS-M", "amount": 19900, "options": {"Storlek": "M"}}], options=["Storlek"])
    zt.create("Presentkort", [{"sku": "GIFT", "amount": 50000}])  # not tracked in Zettle
    zt.track(mug, shirt)
    zt.restock(mug, "MUG-STONE", 12)
    zt.restock(shirt, "TS-S", 5)
    zt.restock(shirt, "TS-M", 8)
    zt.sell(mug, "MUG-STONE", 3)
    instance = DagsterInstance.ephemeral()
    assert run(defs, "pos_products", instance).success
    assert run(defs, "pos_stock", instance).success
    assert bc.stock("MUG-STONE") == ("product", 12 - 3)
    assert bc.stock("TS-S") == ("variant", 5) and bc.stock("TS-M") == ("variant", 8)
    assert bc.stock("GIFT") == ("none", 0), "stock is synced only for what Zettle tracks"

    zt.sell(shirt, "TS-M", 2)
    zt.sell(mug, "MUG-STONE", 1, refund=True)
    assert run(defs, "pos_stock", instance).success
    assert bc.stock("TS-M")[1] == 8 - 2 and bc.stock("MUG-STONE")[1] == 12 - 3 + 1
    assert bc.stock("TS-S")[1] == 5


def test_a_sale_below_zero_lands_as_zero_with_a_warning(shops):
    zt, bc, defs = shops
    mug = zt.create("Mugg Sten", [{"sku": "MUG-STONE", "amount": 24900}])
    zt.track(mug)
    zt.restock(mug, "MUG-STONE", 1)
    zt.sell(mug, "MUG-STONE", 3)  # the till sells what the shelf had, the books say -2
    instance = DagsterInstance.ephemeral()
    assert run(defs, "pos_products", instance).success
    result = run(defs, "pos_stock", instance)
    assert result.success and bc.stock("MUG-STONE") == ("product", 0)


def test_both_ways_orders_and_sales_add_up_and_nothing_echoes(shops):
    """Seed 004: a BigCommerce order lowers Zettle's stock (STORE → SOLD) and a Zettle sale lowers
    the store's; our own write never comes back as the other side's change, and a sale on each side
    between two runs both count."""
    zt, bc, defs = shops
    mug = zt.create("Mugg Sten", [{"sku": "MUG-STONE", "amount": 24900}])
    zt.track(mug)
    zt.restock(mug, "MUG-STONE", 12)
    instance = DagsterInstance.ephemeral()
    for job in ("pos_products", "pos_stock", "pos_stock_back"):
        assert run(defs, job, instance).success
    assert bc.stock("MUG-STONE")[1] == 12 and zt.balance(mug, "MUG-STONE") == 12
    moved = zt.movements()

    bc.order("MUG-STONE", 3)  # a shopper buys three: the store's count is 9
    assert run(defs, "pos_stock_back", instance).success
    assert zt.balance(mug, "MUG-STONE") == 12 - 3 and zt.movements() == moved + 1
    writes = stats(bc.base.split("/stores/")[0])["writes"]
    assert run(defs, "pos_stock", instance).success
    assert stats(bc.base.split("/stores/")[0])["writes"] == writes, "Zettle's movement is ours: not carried back"

    zt.sell(mug, "MUG-STONE", 2)  # both sides sell before either flow runs
    bc.order("MUG-STONE", 1)
    assert run(defs, "pos_stock", instance).success
    assert run(defs, "pos_stock_back", instance).success
    expected = 12 - 3 - 2 - 1
    assert (zt.balance(mug, "MUG-STONE"), bc.stock("MUG-STONE")[1]) == (expected, expected)
    moved, writes = zt.movements(), stats(bc.base.split("/stores/")[0])["writes"]
    for job in ("pos_stock", "pos_stock_back", "pos_stock"):
        assert run(defs, job, instance).success
    assert (zt.movements(), stats(bc.base.split("/stores/")[0])["writes"]) == (moved, writes), "settled: no echo"


@pytest.mark.parametrize("side", ["bigcommerce", "zettle"])
def test_a_change_applied_but_answered_500_is_not_applied_twice(shops, side, zettle_empty, bigcommerce_empty):
    """A relative adjustment or a movement is not idempotent: when the target applied it and the
    answer was lost (500 after the write), the next run must find it applied, not send it again."""
    zt, bc, defs = shops
    mug = zt.create("Mugg Sten", [{"sku": "MUG-STONE", "amount": 24900}])
    zt.track(mug)
    zt.restock(mug, "MUG-STONE", 10)
    instance = DagsterInstance.ephemeral()
    for job in ("pos_products", "pos_stock", "pos_stock_back"):
        assert run(defs, job, instance).success
    if side == "bigcommerce":
        zt.sell(mug, "MUG-STONE", 2)  # to carry into the store
        target, job = bigcommerce_empty, "pos_stock"
    else:
        bc.order("MUG-STONE", 2)  # to carry into Zettle
        target, job = zettle_empty, "pos_stock_back"
    target.sandbox.knobs.update({"fault_after_write_rate": 1.0})
    run(defs, job, instance, raise_on_error=False)
    target.sandbox.knobs.update({"fault_after_write_rate": 0.0})
    assert run(defs, job, instance).success
    for again in ("pos_stock", "pos_stock_back"):
        assert run(defs, again, instance).success
    assert (zt.balance(mug, "MUG-STONE"), bc.stock("MUG-STONE")[1]) == (10 - 2, 10 - 2)


def test_separate_stock_gives_the_store_its_share_once_and_then_neither_side_follows(tmp_path, state_url,
                                                                                   zettle_empty, bigcommerce_empty):
    """Seed 004: "Separat lager för BigCommerce … Ange hur du vill fördela lagren", and stock shows on
    the other side only while "separat lager är avaktiverat"."""
    zt, bc = Zettle(zettle_empty.url), BigCommerce(bigcommerce_empty.url)
    mug = zt.create("Mugg Sten", [{"sku": "MUG-STONE", "amount": 24900}])
    cup = zt.create("Kopp", [{"sku": "CUP-1", "amount": 9900}])
    zt.track(mug, cup)
    zt.restock(mug, "MUG-STONE", 12)
    zt.restock(cup, "CUP-1", 10)
    instance = DagsterInstance.ephemeral()
    together = definitions(tmp_path, zettle_empty.url, bigcommerce_empty.url)
    for job in ("pos_products", "pos_stock", "pos_stock_back"):
        assert run(together, job, instance).success
    assert bc.stock("MUG-STONE")[1] == 12 and bc.stock("CUP-1")[1] == 10
    apart = definitions(tmp_path, zettle_empty.url, bigcommerce_empty.url, stock_fields={"separate_stock": "{MUG-STONE: 5}"})
    for job in ("pos_stock", "pos_stock_back"):
        assert run(apart, job, instance).success
    assert bc.stock("MUG-STONE")[1] == 5 and zt.balance(mug, "MUG-STONE") == 12 - 5  # the split, once
    zt.sell(mug, "MUG-STONE", 2)  # a sale at the till: the store's share stays
    bc.order("MUG-STONE", 1)  # an order in the store: the till's count stays
    zt.sell(cup, "CUP-1", 3)  # a SKU not kept apart still follows both ways
    bc.order("CUP-1", 1)
    for _ in range(2):
        for job in ("pos_stock", "pos_stock_back"):
            assert run(apart, job, instance).success
    assert bc.stock("MUG-STONE")[1] == 5 - 1 and zt.balance(mug, "MUG-STONE") == 12 - 5 - 2
    assert bc.stock("CUP-1")[1] == 10 - 3 - 1 and zt.balance(cup, "CUP-1") == 10 - 3 - 1
    # Unlisted again: Zettle is the master of the count once more.
    for job in ("pos_stock", "pos_stock_back"):
        assert run(together, job, instance).success
    assert bc.stock("MUG-STONE")[1] == 12 - 5 - 2 and zt.balance(mug, "MUG-STONE") == 12 - 5 - 2
