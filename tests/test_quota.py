"""The call ledger of a daily quota (connectors.quota): what is spent, what is kept for orders, when room frees.

Expected values are the arithmetic of each case: a limit, a reserve, the calls the test spends.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from integrations_dagster.connectors.quota import CallBudget, QuotaExhausted, budget_name


def spend(budget: CallBudget, purpose: str, n: int) -> int:
    """Spend up to ``n`` calls on ``purpose``; how many the budget let through."""
    done = 0
    with budget.spending_on(purpose):
        for _ in range(n):
            try:
                budget.spend()
            except QuotaExhausted:
                break
            done += 1
    return done


def test_listings_leave_the_unspent_reserve_to_orders_and_orders_spend_first(store):
    budget = CallBudget(store, budget_name("t", "1"), limit=10, reserve=4)
    assert spend(budget, "listings", 10) == 6  # 10 − the 4 kept for orders
    assert spend(budget, "orders", 10) == 4  # the reserve is theirs
    assert budget.used() == 10 and budget.left("orders") == 0

    other = CallBudget(store, budget_name("t", "2"), limit=10, reserve=4)
    assert spend(other, "orders", 5) == 5  # orders spent more than the reserve first ...
    assert spend(other, "listings", 10) == 5  # ... so listings may use all that is left


def test_an_exhausted_quota_says_when_it_frees_and_sends_nothing(store):
    budget = CallBudget(store, budget_name("t", "3"), limit=3, window=timedelta(hours=24))
    spend(budget, "orders", 3)
    first = store.calls_sent(budget.name, budget.window)[0][0]
    with budget.spending_on("orders"), pytest.raises(QuotaExhausted) as refused:
        budget.spend()
    assert refused.value.frees_at == first + timedelta(hours=24)  # the oldest call leaves the window
    assert "3 of 3 calls used in the last 24 h" in refused.value.message
    assert budget.used() == 3  # the refused call was not recorded


def test_two_processes_never_spend_past_the_limit_together(store):
    budget_a = CallBudget(store, budget_name("t", "4"), limit=20)
    budget_b = CallBudget(store, budget_name("t", "4"), limit=20)  # the same application, another run
    spent = []
    threads = [threading.Thread(target=lambda b=b: spent.append(spend(b, "orders", 15))) for b in (budget_a, budget_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(spent) == 20 and budget_a.used() == 20
