"""Suite 2 on the Rackbeat ⇄ Shopbox integration ("kasse", seed 003) — crash: SIGKILL the run process
mid-push, then run again.

A child process, forked from the pre-warmed interpreter of ``crashkit``, runs the flow jobs and is
SIGKILLed at its Nth write of one kind; the test process then runs the jobs again. Kill points, three
kinds taking turns (as in ``test_crash.py`` and ``test_pos_crash.py``):

* ``applied`` — the sandbox applied the Nth write and holds its answer (knobs ``hold_write`` and
  ``hold_route``): the target has it, the run never learns it;
* ``answered`` — the run got the answer and is about to write it to the state store (the engine's
  landed record, or the id map's binding): neither is written;
* ``writes`` — the target's count of those writes reached N (polled): anywhere, mid-request too.

1. **Sales** (each round the tills ring up a few sales first): the sales job killed at its Nth
   ``POST /api/orders`` in Rackbeat; run again. Every sale must be once in Rackbeat (one order per
   ``their_reference``), for what the till charged, none lost — an order booked by the killed run and
   booked again by the next breaks it.
2. **Products both ways** (each round products are made at the till and in Rackbeat first): the two
   product jobs killed at the Nth product create in Rackbeat (``POST /api/products``) or the Nth
   ``POST /api/v3/products/create-or-update`` in Shopbox (whose SKUs are not unique: a product created
   again is a second product); run again. Each product once on each side with its name, price and —
   in Rackbeat — the till's uid in its custom field.

After each round one more run of the jobs must write nothing. Expected values are the ledger's
(``kassekit``), never the code's.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from decimal import Decimal

import pytest

from flowkit import run
from integrations_dagster import config
from integrations_dagster.build import build_definitions
from reliability.crashkit import child_env, child_home, fail_dead_runs, kill_once
from reliability.kassekit import (
    BRANCH_LOCATION, DEFAULT_GROUP, GROUPS, KASSE_ENV, Kasse, Ledger, data_writes, integrations_file,
    product_problems, sales_problems, sell,
)
from reliability.relkit import BACKEND, SOAK

pytestmark = pytest.mark.reliability

KINDS = ("applied", "answered", "writes")
CHILD_TIMEOUT_S = 40
ORDER_CREATE = "POST /api/orders"
RB_PRODUCT_CREATE = "POST /api/products"
SB_PRODUCT_SAVE = "POST /api/v3/products/create-or-update"
UID_FIELD = 1  # the demo account's "Shopbox UID felt ID"


def _env() -> dict[str, str]:
    return {**child_env(), **{k: os.environ[k] for k in KASSE_ENV if k in os.environ}}


@pytest.fixture
def kasse(tmp_path, rackbeat_sandbox, shopbox_empty, state_url, zygote, dagster_home):
    """Both sandboxes (the demo Rackbeat account with the default group made, an empty shop with tag
    Kaffe), the integrations file on disk for the children, its definitions, and the zygote pre-loaded."""
    k = Kasse(rackbeat_sandbox.url, shopbox_empty.url)
    k.rb_group(DEFAULT_GROUP, "Shopbox diverse")
    k.kaffe = k.tag("Kaffe")
    k.cfg = integrations_file(tmp_path, k.rackbeat, k.shopbox, timeout=10)
    k.defs = build_definitions(config.load(k.cfg))
    zygote.preload(k.cfg, child_home(dagster_home), _env())
    return k


def _till_product(kasse: Kasse, ledger: Ledger, sku: str, name: str, price: int, kaffe: bool = True) -> None:
    ledger.till[sku] = kasse.till_product(name, sku, price, kasse.kaffe if kaffe else None)
    ledger.till_price[sku], ledger.names[sku] = price, name
    ledger.till_group[sku] = GROUPS["Kaffe"] if kaffe else DEFAULT_GROUP


SALES_ROUNDS = 18 if SOAK else 9
SALES_PER_ROUND = 4


def test_sigkill_while_booking_sales_then_rerun_books_each_sale_once(kasse, tmp_path, zygote, dagster_home,
                                                                     dagster_instance, figures):
    ledger = Ledger()
    for i in range(4):
        _till_product(kasse, ledger, f"KR-{i}", f"Krasjvare {i}", 6990 + 1000 * i)
    assert run(kasse.defs, "kasse_products_to_erp", dagster_instance).success  # the items the sales name
    rng = random.Random(20261202)
    kills, missed = Counter(), Counter()
    problems, dupes, rewrites, left_started = [], 0, 0, 0
    for round_no in range(SALES_ROUNDS):
        for _ in range(SALES_PER_ROUND):
            lines = [(sku, rng.randint(1, 3), rng.choice([0, 0, 500]))
                     for sku in rng.sample(sorted(ledger.till), rng.randint(1, 3))]
            sell(kasse, ledger, rng.choice(sorted(BRANCH_LOCATION)), lines)
        kind = KINDS[round_no % len(KINDS)]
        n = rng.randint(1, SALES_PER_ROUND)
        killed = kill_once(zygote, tmp_path, kasse.cfg, kasse.rackbeat, ORDER_CREATE, kind, n, ["kasse_sales"],
                           dagster_home, f"sales{round_no}", _env(), timeout_s=CHILD_TIMEOUT_S)
        (kills if killed else missed)[kind] += 1
        left_started += fail_dead_runs(dagster_instance, "its process was SIGKILLed by the kasse crash suite")
        assert run(kasse.defs, "kasse_sales", dagster_instance).success, f"round {round_no}: the re-run failed"
        found, twice = sales_problems(kasse, ledger)
        dupes += twice
        problems += [f"round {round_no} (killed: {kind}, at create {n}): {p}" for p in found]
        before = data_writes(kasse.rackbeat, kasse.shopbox)
        assert run(kasse.defs, "kasse_sales", dagster_instance).success
        again = data_writes(kasse.rackbeat, kasse.shopbox) - before
        rewrites += sum(again.values())
        problems += [f"round {round_no}: a run after convergence wrote {r} ×{k}" for r, k in again.items()]
    crash = figures.setdefault("kasse_crash", {})
    crash.update({
        "sales rounds (tills sell, then killed at the Nth order create; re-run)": SALES_ROUNDS,
        "sales rung up / booked in Rackbeat": f"{len(ledger.sales)} / {len(kasse.orders())}",
        "sales: kills at the Nth order create (applied / answered / writes)": " / ".join(
            str(kills[k]) for k in KINDS),
        "sales: runs that finished before their kill point": sum(missed.values()),
        "sales: orders booked twice": dupes,
        "sales: writes by a re-run after convergence": rewrites,
    })
    if BACKEND == "postgresql":
        crash["sales: killed runs left STARTED (then marked failed)"] = left_started
    assert not problems, "\n".join(problems[:20])
    assert all(kills[k] for k in KINDS), (dict(kills), dict(missed))


PRODUCT_ROUNDS = 12 if SOAK else 6
NEW_PER_SIDE = 3
PRODUCT_JOBS = ["kasse_products_to_erp", "kasse_products_to_pos"]


def _fields_problems(kasse: Kasse, ledger: Ledger) -> list[str]:
    """Each till product's uid in its Rackbeat item's custom field (a create whose fields were never
    written is a half-made product)."""
    out = []
    for sku, made in sorted(ledger.till.items()):
        if kasse.rb_product(sku) is None:
            continue  # (lost: product_problems says so)
        rows = kasse.rb("GET", f"/products/{sku}/fields")["field_values"]
        held = {row["field"]["id"]: row["value"] for row in rows}
        if held.get(UID_FIELD) != str(made["uid"]):
            out.append(f"{sku}: Rackbeat's Shopbox UID field holds {held.get(UID_FIELD)!r}, not {made['uid']}")
    return out


def test_sigkill_while_pushing_products_both_ways_then_rerun_duplicates_nothing(kasse, tmp_path, zygote,
                                                                               dagster_home, dagster_instance,
                                                                               figures):
    ledger = Ledger()
    for job in PRODUCT_JOBS:  # the demo account's own products reach the till first, cleanly
        assert run(kasse.defs, job, dagster_instance).success
    rng = random.Random(20261203)
    kills, missed = Counter(), Counter()
    problems, dupes, rewrites, left_started = [], 0, 0, 0
    for round_no in range(PRODUCT_ROUNDS):
        for i in range(NEW_PER_SIDE):
            _till_product(kasse, ledger, f"KP-{round_no}-{i}", f"Kassevare {round_no}.{i}", 4990 + 505 * i,
                          kaffe=i % 2 == 0)
            sku, name, net = f"RP-{round_no}-{i}", f"Lagervare {round_no}.{i}", Decimal("59.20") + 4 * i
            kasse.rb_new_product(sku, name, str(net))
            ledger.erp_net[sku], ledger.names[sku] = net, name
        kind = KINDS[round_no % len(KINDS)]
        url, route = ((kasse.rackbeat, RB_PRODUCT_CREATE) if round_no % 2 == 0
                      else (kasse.shopbox, SB_PRODUCT_SAVE))
        n = rng.randint(1, NEW_PER_SIDE)
        killed = kill_once(zygote, tmp_path, kasse.cfg, url, route, kind, n, PRODUCT_JOBS, dagster_home,
                           f"products{round_no}", _env(), timeout_s=CHILD_TIMEOUT_S)
        side = "Rackbeat" if url == kasse.rackbeat else "Shopbox"
        (kills if killed else missed)[side, kind] += 1
        left_started += fail_dead_runs(dagster_instance, "its process was SIGKILLed by the kasse crash suite")
        # Re-run: to the till's products in Rackbeat, Rackbeat's to the till, then the till's uids of
        # those back into Rackbeat's custom fields (the schedule's next run).
        for job in (*PRODUCT_JOBS, PRODUCT_JOBS[0]):
            assert run(kasse.defs, job, dagster_instance).success, f"round {round_no}: the re-run of {job} failed"
        found, twice = product_problems(kasse, ledger)
        dupes += twice
        problems += [f"round {round_no} (killed in {side}: {kind}, at write {n}): {p}"
                     for p in found + _fields_problems(kasse, ledger)]
        before = data_writes(kasse.rackbeat, kasse.shopbox)
        for job in PRODUCT_JOBS:
            assert run(kasse.defs, job, dagster_instance).success
        again = data_writes(kasse.rackbeat, kasse.shopbox) - before
        rewrites += sum(again.values())
        problems += [f"round {round_no}: a run after convergence wrote {r} ×{k}" for r, k in again.items()]
    crash = figures.setdefault("kasse_crash", {})
    crash.update({
        "product rounds (new products on both sides, then killed at the Nth create; re-run)": PRODUCT_ROUNDS,
        "products: kills at Rackbeat's product create (applied / answered / writes)": " / ".join(
            str(kills["Rackbeat", k]) for k in KINDS),
        "products: kills at Shopbox's create-or-update (applied / answered / writes)": " / ".join(
            str(kills["Shopbox", k]) for k in KINDS),
        "products: runs that finished before their kill point": sum(missed.values()),
        "products: SKUs twice on either side": dupes,
        "products: writes by a re-run after convergence": rewrites,
    })
    if BACKEND == "postgresql":
        crash["products: killed runs left STARTED (then marked failed)"] = left_started
    assert not problems, "\n".join(problems[:20])
    assert sum(kills.values()) >= PRODUCT_ROUNDS - 1, (dict(kills), dict(missed))
    assert {k for _, k in kills} == set(KINDS), dict(kills)
