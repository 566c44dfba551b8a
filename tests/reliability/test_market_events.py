"""Suite 3 on the hub plugs (``market``, issue 15) — the same event twice, events out of order, and
answers that come a run late.

Tradera sends no webhooks (a poll would cost a call of the day's 100): its flows run on schedules and
read orders by last-updated windows, each from the cursor less an overlap. What is injected:

1. **The same Tradera order read again.** Orders are read by the cursor's window (which re-reads the
   last ten minutes: the overlap), then in full (the reconcile), then by an explicit window covering them
   all; ``orders_to_shop`` runs between those reads and again in full. An order the shop completes is
   marked shipped on Tradera, which makes Tradera give it again as updated in the next window, and the
   ship flow runs twice. Each purchase must be exactly one shop order for what the buyer paid, no run
   after the first writes to the shop, the completed order stays completed, and Tradera is asked to ship
   it once.
2. **A Tradera order sent again by key** (``keys``: the re-send an operator makes, "never a duplicate")
   after the shop completed it: still one shop order, and it stays completed.
3. **A queued create whose result comes a run late.** Tradera's queue is made slow (``queue_delay_s``
   3600 on its clock; the connection asks for results after 0 and 0.05 s): the first run sends each create
   and has no result — the records wait (deferred), nothing is taken as landed; a second run before the
   queue has run sends nothing again; after ``/process`` the next run asks for the results (one call),
   lands every record and sends nothing again. Calls counted on the sandbox (``/__sandbox__/stats``).
4. **The same for a queued price change.**
5. **Sales on both sides with the runs out of order**: a buyer buys on Tradera and the shop sells the
   same SKU itself; the product flows run before the orders flows bring the Tradera sale to the shop,
   then the orders flows, then the product flows again. At the end the shop's stock and Tradera's are
   the same: the count the merchant started from less both sales (the test's arithmetic).

Expected values are the buyers' purchases, the shop's own records and arithmetic written here
(``marketkit``), never the code under test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dagster import DagsterInstance

from flowkit import run, stats
from reliability.marketkit import (
    CREATE_ITEM, CREATE_VARIANT, ORDER_JOBS, PRODUCT_JOBS, Ledger, Market, api_calls, buy, buyer, data_writes,
    definitions, listing_problems, order_problems, shop_units,
)

pytestmark = pytest.mark.reliability

SHIP = "POST /v4/orders/{id}/ship"
PRICES = "PUT /v4/listings/shop-items/prices"


@pytest.fixture
def market(woo_empty, tradera_empty, state_url):
    m = Market(woo_empty.url, tradera_empty.url)
    m.quota_off()
    m.settings(queue_delay_s=0)
    return m


def _catalogue(market: Market) -> None:
    for i in range(3):
        market.new_product(f"EV-{i}", f"Händelsevara {i}", f"{119 + 40 * i}.50", 20)
    market.new_variable("Vante", {"EV-GLOVE-S": "179.00", "EV-GLOVE-M": "189.00"}, stock=10)


def _fetch(job: str, **config) -> dict:
    return {"ops": {f"{job}_fetch": {"config": config}}}


def _fetched(result) -> int:
    """How many records the run's fetch read (its output metadata): evidence that a re-read happened."""
    for event in result.all_events:
        if event.event_type_value == "STEP_OUTPUT" and (event.step_key or "").endswith("_fetch"):
            return int(event.step_output_data.metadata["records"].value)
    raise AssertionError("no fetch output")


def _shop_status(market: Market, key: str) -> str:
    return market.tradera_orders_in_shop()[key][0]["status"]


def _listed(tmp_path, market: Market, **kw):
    _catalogue(market)
    defs = definitions(tmp_path, market.woo, market.tradera, **kw)
    instance = DagsterInstance.ephemeral()
    for job in PRODUCT_JOBS:
        assert run(defs, job, instance).success
    return defs, instance


def test_the_same_tradera_order_read_again_in_overlapping_windows_is_one_shop_order(tmp_path, market, figures):
    defs, instance = _listed(tmp_path, market)
    ledger = Ledger()
    first = buy(market, ledger, "EV-0", 2, buyer=buyer(1))
    buy(market, ledger, "EV-GLOVE-M", 1, option=8, buyer=buyer(2))
    reads = []
    before = data_writes(market.woo)
    reads.append(_fetched(run(defs, "market_orders_from_tradera", instance)))
    assert run(defs, "market_orders_to_shop", instance).success
    creates_first = (data_writes(market.woo) - before)["%s POST /wp-json/wc/v3/orders" % market.woo]
    buy(market, ledger, "EV-1", 1, buyer=buyer(1))  # the first buyer again: one e-mail, two orders
    before = data_writes(market.woo)
    # the cursor's window (its overlap re-reads the first two), then the reconcile, then an explicit window
    reads.append(_fetched(run(defs, "market_orders_from_tradera", instance)))
    reads.append(_fetched(run(defs, "market_orders_from_tradera", instance,
                              run_config=_fetch("market_orders_from_tradera", full=True))))
    today = datetime.now(UTC)
    reads.append(_fetched(run(defs, "market_orders_from_tradera", instance, run_config=_fetch(
        "market_orders_from_tradera", since=(today - timedelta(days=1)).date().isoformat(),
        until=(today + timedelta(days=1)).date().isoformat()))))
    for config in ({}, {"full": True}):
        assert run(defs, "market_orders_to_shop", instance,
                   run_config=_fetch("market_orders_to_shop", **config) if config else None).success
    later = data_writes(market.woo) - before
    # the shop ships the first order: marked shipped on Tradera, which gives it again as updated
    market.wc("PUT", f"/orders/{market.tradera_orders_in_shop()[first.key][0]['id']}", {"status": "completed"})
    for _ in range(2):
        assert run(defs, "market_shipped_to_tradera", instance).success
    shipped = {o["orderId"]: o["shipped"] for o in market.tradera_orders()}
    before = data_writes(market.woo)
    reads.append(_fetched(run(defs, "market_orders_from_tradera", instance)))
    assert run(defs, "market_orders_to_shop", instance).success
    assert run(defs, "market_shipped_to_tradera", instance).success
    after_shipping = data_writes(market.woo) - before
    problems, dupes = order_problems(market, ledger, statuses={first.key: "completed"})
    ships = stats(market.tradera)["requests"].get(SHIP, 0)
    figures.setdefault("market_events", {}).update({
        "re-reads: purchases / orders read by the five reads of orders_from_tradera": (
            f"{len(ledger.purchases)} / {' + '.join(map(str, reads))}"),
        "re-reads: shop orders made / duplicates": f"{sum(len(v) for v in market.tradera_orders_in_shop().values())}"
                                                  f" / {dupes}",
        "re-reads: shop writes besides each purchase's one create": (
            sum(later.values()) - 1 + sum(after_shipping.values())),
        "re-reads: ship calls to Tradera for the one shipped order (ship flow run three times)": ships,
    })
    assert creates_first == 2 and reads[1] >= 2 and reads[2] == reads[3] == 3 and reads[4] >= 1, (creates_first, reads)
    assert later == {f"{market.woo} POST /wp-json/wc/v3/orders": 1}, dict(later)  # the third purchase, once
    assert not after_shipping, dict(after_shipping)
    assert shipped == {first.order_id: True, **{p.order_id: False for p in ledger.purchases[1:]}}, shipped
    assert ships == 1, ships
    assert not problems, "\n".join(problems)


def test_a_tradera_order_sent_again_after_the_shop_shipped_it_stays_shipped(tmp_path, market, figures):
    defs, instance = _listed(tmp_path, market)
    ledger = Ledger()
    sold = buy(market, ledger, "EV-2", 1, buyer=buyer(3))
    for job in ORDER_JOBS:
        assert run(defs, job, instance).success
    market.wc("PUT", f"/orders/{market.tradera_orders_in_shop()[sold.key][0]['id']}", {"status": "completed"})
    assert run(defs, "market_shipped_to_tradera", instance).success
    before = data_writes(market.woo)
    assert run(defs, "market_orders_to_shop", instance,
               run_config=_fetch("market_orders_to_shop", keys=[sold.key])).success
    rewrites = data_writes(market.woo) - before
    problems, dupes = order_problems(market, ledger, statuses={sold.key: "completed"})
    figures.setdefault("market_events", {}).update({
        "re-send by key of a shipped order: shop orders / status after": (
            f"{1 + dupes} / {_shop_status(market, sold.key)}")})
    assert not problems, "\n".join(problems)
    assert not rewrites, dict(rewrites)


def _outcomes(store, result) -> dict[str, str]:
    """record key -> outcome of one run's rows in the sync log (warnings left out)."""
    log = store.log(run_id=result.run_id)
    return {str(k): str(o) for k, o in zip(log["record_key"], log["outcome"]) if o != "warning"}


def test_a_queued_create_whose_result_comes_a_run_late_is_sent_once(tmp_path, market, store, figures):
    market.settings(queue_delay_s=3600)  # Tradera has no result for an hour (its clock)
    _catalogue(market)
    defs = definitions(tmp_path, market.woo, market.tradera, waits=(0.0, 0.05))
    instance = DagsterInstance.ephemeral()
    units = shop_units(market.woo)
    assert run(defs, "market_products_in", instance).success
    first = run(defs, "market_products_to_tradera", instance)
    waiting = instance.get_run_by_id(first.run_id).tags.get("integrations/waiting", "")
    creates = sum(stats(market.tradera)["requests"].get(r, 0) for r in (CREATE_ITEM, CREATE_VARIANT))
    listed_early = len(market.active_items())
    calls, writes = api_calls(market.tradera), data_writes(market.tradera)
    second = run(defs, "market_products_to_tradera", instance)  # the queue has not run yet
    second_calls, second_writes = api_calls(market.tradera) - calls, data_writes(market.tradera) - writes
    market.process()  # the hour passes
    calls, writes = api_calls(market.tradera), data_writes(market.tradera)
    third = run(defs, "market_products_to_tradera", instance)
    third_calls, third_writes = api_calls(market.tradera) - calls, data_writes(market.tradera) - writes
    problems, dupes = listing_problems(market, units)
    calls = api_calls(market.tradera)
    assert run(defs, "market_products_to_tradera", instance).success
    quiet = api_calls(market.tradera) - calls
    outcomes = [_outcomes(store, r) for r in (first, second, third)]
    figures.setdefault("market_events", {}).update({
        "late create results: units / creates sent by the first run / items active after it": (
            f"{len(units)} / {creates} / {listed_early}"),
        "late create results: records waiting after the first and second run": (
            f"{sum(o == 'waiting' for o in outcomes[0].values())} / "
            f"{sum(o == 'waiting' for o in outcomes[1].values())}"),
        "late create results: Tradera calls / writes of the run before the queue ran": (
            f"{second_calls} / {sum(second_writes.values())}"),
        "late create results: Tradera calls / writes of the run after": f"{third_calls} / {sum(third_writes.values())}",
        "late create results: units listed twice / lost": f"{dupes} / {len(problems) - dupes}",
        "late create results: Tradera calls of a quiet run": quiet,
    })
    assert first.success and second.success and third.success
    assert "has not given its request result yet" in waiting, waiting
    assert creates == len(units) and listed_early == 0, (creates, listed_early)
    records = set(outcomes[0])
    assert set(outcomes[0].values()) == set(outcomes[1].values()) == {"waiting"}, outcomes[:2]
    assert second_calls == 1 and not second_writes, (second_calls, dict(second_writes))  # asked once, sent nothing
    assert outcomes[2] == {**{k: "created" for k in records}, **{s: "created" for s in units if s.startswith(
        "EV-GLOVE")}}, outcomes[2]
    assert third_calls == 1 and not third_writes, (third_calls, dict(third_writes))
    assert not problems, "\n".join(problems)
    assert quiet == 0, quiet


def test_a_queued_price_change_whose_result_comes_a_run_late_is_sent_once(tmp_path, market, store, figures):
    defs, instance = _listed(tmp_path, market, waits=(0.0, 0.05))
    market.settings(queue_delay_s=3600)
    market.edit("EV-1", regular_price="175.50")  # 175.50 → 176
    market.edit("EV-2", regular_price="99.00")
    before = stats(market.tradera)["requests"].get(PRICES, 0)
    for job in PRODUCT_JOBS:
        assert run(defs, job, instance).success
    assert run(defs, "market_products_to_tradera", instance).success  # the queue has not run yet
    early = stats(market.tradera)["requests"].get(PRICES, 0) - before
    market.process()  # the hour passes
    after = run(defs, "market_products_to_tradera", instance)
    market.process()
    sent = stats(market.tradera)["requests"].get(PRICES, 0) - before
    landed = _outcomes(store, after)
    problems, _ = listing_problems(market, shop_units(market.woo))
    figures.setdefault("market_events", {}).update({
        "late price results: price calls for one change (before / after the queue ran)": f"{early} / {sent}",
        "late price results: the run after the queue ran says": ", ".join(
            f"{k} {o}" for k, o in sorted(landed.items()))})
    assert not problems, "\n".join(problems)  # (the queue ran: Tradera has the new prices)
    assert early == 1, early
    assert landed == {"EV-1": "updated", "EV-2": "updated"}, landed
    assert sent == 1, f"one price change sent {sent} times"


def test_sales_on_both_sides_with_the_runs_out_of_order_end_with_the_same_stock(tmp_path, market, figures):
    defs, instance = _listed(tmp_path, market)
    start = shop_units(market.woo)["EV-0"]["quantity"]
    ledger = Ledger()
    buy(market, ledger, "EV-0", 3, buyer=buyer(4))  # Tradera's count falls at once
    product = market.product_by_sku("EV-0")  # the shop sells two itself
    market.wc("POST", "/orders", {"set_paid": True, "status": "processing", "billing": {"email": "kund@example.se"},
                                  "line_items": [{"product_id": product["id"], "quantity": 2}]})
    for job in PRODUCT_JOBS:  # the product flows first: the shop does not know the Tradera sale yet
        assert run(defs, job, instance).success
    between = market.listed()["EV-0"][0]["remainingQuantity"]
    for job in (*ORDER_JOBS, *PRODUCT_JOBS):
        assert run(defs, job, instance).success
    want = start - 3 - 2
    shop, tradera = shop_units(market.woo)["EV-0"]["quantity"], market.listed()["EV-0"][0]["remainingQuantity"]
    problems, _ = order_problems(market, ledger)
    figures.setdefault("market_events", {}).update({
        "out of order: stock counted / sold on Tradera / sold in the shop": f"{start} / 3 / 2",
        "out of order: Tradera's count while the Tradera sale was not yet in the shop": between,
        "out of order: the shop's count / Tradera's at the end": f"{shop} / {tradera}",
    })
    assert (shop, tradera) == (want, want), f"shop {shop}, Tradera {tradera}; {start} − 3 − 2 = {want}"
    assert not problems, "\n".join(problems)
