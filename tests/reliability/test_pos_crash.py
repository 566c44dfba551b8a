"""Suite 2 on the second integration — crash, Zettle ⇄ BigCommerce: SIGKILL the run process mid-write,
then re-run.

A child process, forked from the pre-warmed interpreter of ``crashkit``, runs the pos jobs (products,
stock, stock back) and is SIGKILLed at its Nth write of one kind; the test process then re-runs the
jobs. Kill points, in three kinds taking turns (as in ``test_crash.py``):

* ``applied`` — the sandbox applied the Nth write and holds its answer (sandbox knobs ``hold_write``
  and ``hold_route``): the target has it, the run never learns it;
* ``answered`` — the run got the answer and is about to write it to the state store (the engine's
  landed record, or the id map's binding): neither is written;
* ``writes`` — the target's count of those writes reached N (polled): anywhere, mid-request too.

1. **Initial sync** (empty BigCommerce, empty state store; each round): killed at the Nth product
   create in BigCommerce, then the next child at the absolute stock level it sets; then re-run.
2. **Stock movements** (after a clean initial sync; each round the till sells and the store takes
   orders first): killed at BigCommerce's relative inventory adjustment (flow ``stock``) or at
   Zettle's stock movement (flow ``stock_back``) — writes that count a change, not a level: one sent
   again after a crash counts twice.

After each round: each SKU exactly once in BigCommerce, the stock on both sides equal to the test's
own ledger (received − sold at the till − ordered in the store), and one more run of every job
writes nothing to either system. Expected values are the ledger's arithmetic, never the code's.
"""

from __future__ import annotations

import os
import random
from collections import Counter

import pytest
import requests

from flowkit import run, stats
from integrations_dagster.build import build_definitions
from reliability.crashkit import child_env, child_home, fail_dead_runs, forget_state, kill_once, reset_sandbox, served
from reliability.relkit import BACKEND, SOAK
from zettlekit import BigCommerce, Zettle, integrations_file

from conftest import BIGCOMMERCE_STORE_HASH

pytestmark = [pytest.mark.reliability, pytest.mark.pg_pass]  # one of the longest: see conftest

SEED = 20261205
JOBS = ["pos_products", "pos_stock", "pos_stock_back"]
STOCK_JOBS = ["pos_stock", "pos_stock_back"]
KINDS = ("applied", "answered", "writes")
CHILD_TIMEOUT_S = 40
STORE = f"/stores/{BIGCOMMERCE_STORE_HASH}"
# Writes a kill waits for: "METHOD path" as the sandbox serves (and counts) them.
CREATE = f"POST {STORE}/v3/catalog/products"
ABSOLUTE = f"PUT {STORE}/v3/inventory/adjustments/absolute"
RELATIVE = f"POST {STORE}/v3/inventory/adjustments/relative"
MOVEMENT = "POST /inventory/v3/movements"
POS_ENV = ("ZETTLE_CLIENT_ID", "ZETTLE_API_KEY", "BIGCOMMERCE_ACCESS_TOKEN")

# The Zettle catalogue: simple products and two products with variants; each SKU received RECEIVED + i.
SIMPLE = 8
VARIANTS = {"Skjorta": ("S", "M", "L"), "Keps": ("Röd", "Blå")}
RECEIVED = 60


def _env() -> dict[str, str]:
    return {**child_env(), **{k: os.environ[k] for k in POS_ENV if k in os.environ}}


# -- the test's own view of both systems (HTTP reads, no code under test) ---------------------------

class Ledger:
    """What the test did: received, sold at the till, ordered in the store, per SKU."""

    def __init__(self) -> None:
        self.products: dict[str, str] = {}  # sku -> Zettle product uuid
        self.received, self.sold, self.ordered = Counter(), Counter(), Counter()

    def expected(self, sku: str) -> int:
        return self.received[sku] - self.sold[sku] - self.ordered[sku]


def stock_catalogue(zt: Zettle) -> Ledger:
    """The Zettle catalogue, tracked and received (a supplier delivery per SKU)."""
    ledger = Ledger()
    for i in range(SIMPLE):
        sku = f"CR-{i}"
        ledger.products[sku] = zt.create(f"Kraschvara {i}", [{"sku": sku, "amount": 10000 + 100 * i}])
    for name, sizes in VARIANTS.items():
        rows = [{"sku": f"CR-{name[:3].upper()}-{s}", "amount": 25000, "options": {"Val": s}} for s in sizes]
        product = zt.create(name, rows, options=["Val"])
        ledger.products.update({row["sku"]: product for row in rows})
    zt.track(*set(ledger.products.values()))
    for i, (sku, product) in enumerate(sorted(ledger.products.items())):
        zt.restock(product, sku, RECEIVED + i)
        ledger.received[sku] = RECEIVED + i
    return ledger


def differences(ledger: Ledger, zt: Zettle, bc: BigCommerce) -> dict[str, tuple[int, int, int]]:
    """sku -> (expected, Zettle, store) for each SKU where a side differs from the ledger."""
    till = zt.levels()
    _, shop, _ = bc.view()
    return {sku: (ledger.expected(sku), till.get(sku), shop.get(sku)) for sku in sorted(ledger.products)
            if (till.get(sku), shop.get(sku)) != (ledger.expected(sku), ledger.expected(sku))}


def store_duplicates(bc: BigCommerce) -> dict[str, int]:
    skus, _, _ = bc.view()
    return {s: n for s, n in Counter(s.casefold() for s in skus).items() if n > 1}


WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def writes(zettle_url: str, bc_url: str) -> Counter:
    """Data writes served so far, by system and route ("METHOD path"); the token grant
    (``POST /oauth/token``, a new access token per run) writes no data."""
    out = Counter()
    for system, url in (("Zettle", zettle_url), ("BigCommerce", bc_url)):
        for route, n in stats(url)["requests"].items():
            method, path = route.split(" ", 1)
            if method in WRITE_METHODS and not path.startswith("/oauth/"):
                out[f"{system} {route}"] += n
    return out


@pytest.fixture
def pos(tmp_path, state_url, zettle_empty, bigcommerce_empty, zygote, dagster_home):
    """Both sandboxes, the integrations file (written to disk for the children), its definitions,
    and the zygote pre-loaded with them."""
    zt, bc = Zettle(zettle_empty.url), BigCommerce(bigcommerce_empty.url)
    # The test's own reads of the store would take the connector's quota (150 / 30 s).
    requests.post(f"{bigcommerce_empty.url}/__sandbox__/bigcommerce/quota",
                  json={"requests": 100_000, "window_ms": 30_000}, timeout=10).raise_for_status()
    file = integrations_file(tmp_path, zettle_empty.url, bigcommerce_empty.url, settings={"timeout": 10})
    cfg = tmp_path / "integrations.yaml"
    zygote.preload(cfg, child_home(dagster_home), _env())

    class Pos:
        pass

    p = Pos()
    p.zt, p.bc, p.cfg, p.defs = zt, bc, cfg, build_definitions(file)
    p.zettle, p.bigcommerce = zettle_empty.url, bigcommerce_empty.url
    return p


INITIAL_ROUNDS = 12 if SOAK else 6


def test_sigkill_during_initial_sync_then_rerun_converges(pos, tmp_path, state_url, zygote, dagster_home,
                                                          dagster_instance, figures):
    """Each round: an empty store and state store; killed at the Nth product create, then at the
    absolute stock write; re-run; no SKU twice, both sides at the ledger, a further run writes nothing."""
    ledger = stock_catalogue(pos.zt)
    creates = len(VARIANTS) + SIMPLE  # one create per Zettle product (variants go inline)
    rng = random.Random(SEED)
    kills, missed = Counter(), Counter()
    dupes, problems, rewrites, left_started = 0, [], 0, 0
    for round_no in range(INITIAL_ROUNDS):
        reset_sandbox(pos.bigcommerce, demo=False)
        forget_state(state_url)
        for k, (route, what) in enumerate(((CREATE, "product creates"), (ABSOLUTE, "stock levels set"))):
            kind = KINDS[(round_no + k) % len(KINDS)]
            left = creates - served(pos.bigcommerce, CREATE) if route == CREATE else 1
            n = rng.randint(1, max(1, left))
            killed = kill_once(zygote, tmp_path, pos.cfg, pos.bigcommerce, route, kind, n, JOBS, dagster_home,
                               f"init{round_no}-{k}", _env(), timeout_s=CHILD_TIMEOUT_S)
            (kills if killed else missed)[what, kind if killed else ""] += 1
        left_started += fail_dead_runs(dagster_instance, "its process was SIGKILLed by the pos crash suite")
        for job in JOBS:
            assert run(pos.defs, job, dagster_instance).success, f"round {round_no}: re-run of {job} failed"
        found = store_duplicates(pos.bc)
        dupes += sum(n - 1 for n in found.values())
        problems += [f"round {round_no}: {sku} twice in the store ({n})" for sku, n in found.items()]
        problems += [f"round {round_no}: {sku}: expected {e}, Zettle {z}, store {s}"
                     for sku, (e, z, s) in differences(ledger, pos.zt, pos.bc).items()]
        before = writes(pos.zettle, pos.bigcommerce)
        for job in JOBS:
            assert run(pos.defs, job, dagster_instance).success
        again = writes(pos.zettle, pos.bigcommerce) - before
        rewrites += sum(again.values())
        problems += [f"round {round_no}: a run after convergence wrote {route} ×{n}" for route, n in again.items()]
    crash = figures.setdefault("pos_crash", {})
    crash.update({
        "initial-sync rounds (killed at a product create, then at the stock write; re-run)": INITIAL_ROUNDS,
        "initial sync: SKUs / Zettle products": f"{len(ledger.products)} / {creates}",
        "initial sync: kills at the Nth product create (applied / answered / writes)": " / ".join(
            str(kills["product creates", kind]) for kind in KINDS),
        "initial sync: kills at the absolute stock write (applied / answered / writes)": " / ".join(
            str(kills["stock levels set", kind]) for kind in KINDS),
        "initial sync: runs that finished before their kill point": sum(missed.values()),
        "initial sync: SKUs duplicated in BigCommerce": dupes,
        "initial sync: writes by a re-run after convergence": rewrites,
    })
    if BACKEND == "postgresql":
        crash["initial sync: killed runs left STARTED (then marked failed)"] = left_started
    assert not problems, "\n".join(problems[:20])
    assert rewrites == 0
    assert all(kills[what, kind] for what in ("product creates", "stock levels set") for kind in KINDS), (
        dict(kills), dict(missed))


MOVE_ROUNDS = 12 if SOAK else 6
# Each round, before the kill: this many sales at the till and orders in the store, 1-3 units each.
SALES, ORDERS = 3, 2


def _move_round_plan(round_no: int) -> tuple[str, str, str, str]:
    """(flow, kind, sandbox, route): the flows alternate, the kinds take turns over each flow."""
    kind = KINDS[(round_no // 2) % len(KINDS)]
    return ("stock", kind, "bigcommerce", RELATIVE) if round_no % 2 == 0 else ("stock_back", kind, "zettle", MOVEMENT)


def test_sigkill_during_stock_movements_then_rerun_counts_each_change_once(pos, tmp_path, state_url, zygote,
                                                                          dagster_home, dagster_instance, figures):
    """After a clean initial sync, each round the till sells and the store takes orders; a child runs
    stock and stock back and is killed at the relative adjustment (store) or the movement (Zettle);
    re-run. Each change must count once on both sides (the ledger)."""
    ledger = stock_catalogue(pos.zt)
    for job in JOBS:
        assert run(pos.defs, job, dagster_instance).success
    assert not differences(ledger, pos.zt, pos.bc), "the clean initial sync must match the ledger"
    rng = random.Random(SEED + 1)
    skus = sorted(ledger.products)
    kills, missed = Counter(), Counter()
    drifted: Counter = Counter()  # (flow, kind) -> rounds after which a side differed from the ledger anew
    problems, rewrites, left_started = [], 0, 0
    previous: dict[str, tuple] = {}
    for round_no in range(MOVE_ROUNDS):
        for sku in rng.sample(skus, SALES):
            quantity = rng.randint(1, 3)
            pos.zt.sell(ledger.products[sku], sku, quantity)
            ledger.sold[sku] += quantity
        for sku in rng.sample(skus, ORDERS):
            quantity = rng.randint(1, 3)
            pos.bc.order(sku, quantity)
            ledger.ordered[sku] += quantity
        flow, kind, system, route = _move_round_plan(round_no)
        url = pos.bigcommerce if system == "bigcommerce" else pos.zettle
        killed = kill_once(zygote, tmp_path, pos.cfg, url, route, kind, 1, STOCK_JOBS, dagster_home,
                           f"move{round_no}", _env(), timeout_s=CHILD_TIMEOUT_S)
        (kills if killed else missed)[flow, kind] += 1
        left_started += fail_dead_runs(dagster_instance, "its process was SIGKILLed by the pos crash suite")
        for _ in range(2):
            for job in STOCK_JOBS:
                assert run(pos.defs, job, dagster_instance).success, f"round {round_no}: re-run of {job} failed"
        now = differences(ledger, pos.zt, pos.bc)
        drift = {sku: d for sku, d in now.items()
                 if (d[1] - d[0], d[2] - d[0]) != ((previous[sku][1] - previous[sku][0],
                                                    previous[sku][2] - previous[sku][0]) if sku in previous else (0, 0))}
        if drift:
            drifted[flow, kind] += 1
            problems += [f"round {round_no} (killed in {flow}, {kind}): {sku}: expected {e}, Zettle {z}, store {s}"
                         for sku, (e, z, s) in drift.items()]
        previous = now
    before = writes(pos.zettle, pos.bigcommerce)
    for job in JOBS:
        assert run(pos.defs, job, dagster_instance).success
    again = writes(pos.zettle, pos.bigcommerce) - before
    rewrites = sum(again.values())
    problems += [f"a run after the last round wrote {route} ×{n}" for route, n in again.items()]
    dupes = store_duplicates(pos.bc)
    crash = figures.setdefault("pos_crash", {})
    crash.update({
        "stock rounds (till sales and store orders, then killed at a relative write; re-run)": MOVE_ROUNDS,
        "stock: kills at the store's relative adjustment (applied / answered / writes)": " / ".join(
            str(kills["stock", kind]) for kind in KINDS),
        "stock back: kills at Zettle's movement (applied / answered / writes)": " / ".join(
            str(kills["stock_back", kind]) for kind in KINDS),
        "stock: runs that finished before their kill point": sum(missed.values()),
        "stock: rounds after which a side left the ledger (stock / stock back)": (
            f"{sum(n for (f, _), n in drifted.items() if f == 'stock')} / "
            f"{sum(n for (f, _), n in drifted.items() if f == 'stock_back')}"),
        "stock: SKUs off the ledger at the end": len(previous),
        "stock: writes by a re-run after the last round": rewrites,
    })
    if BACKEND == "postgresql":
        crash["stock: killed runs left STARTED (then marked failed)"] = left_started
    assert not dupes, dupes
    assert all(kills[flow, kind] for flow in ("stock", "stock_back") for kind in KINDS), (dict(kills), dict(missed))
    assert rewrites == 0
    assert not problems, "\n".join(problems[:20])
