"""Suite 3 on the second integration — duplicate, lost, late and out-of-order events, Zettle ⇄ BigCommerce.

1. **Webhooks.** Both vendors' webhooks go to the real receiver (``receiver.build_app``, subscribed
   with ``receiver.subscribe`` as ``integrations-dagster subscribe`` does), each flow runs when its
   webhook sensor asks (products, stock and stock back all ``triggers: {webhook: true}``), and both
   sandboxes' delivery knobs make delivery bad: deliveries sent twice, dropped, late, and held then
   sent newest first. Meanwhile the till sells and refunds, the store takes orders, prices change
   several times in a row and new products appear. After the changes stop, the sensors are ticked
   until none asks for a run (a write carried back and forth — an echo loop — would never settle);
   then the schedule's poll and the daily reconcile run. The test's own ledger must hold: each SKU
   once in the store at Zettle's latest price, both sides' stock = received − sold + refunded −
   ordered, and one more run of every flow (and of whatever the sensors then ask) writes nothing.
2. **Stale versions.** Stock levels read at different times are replayed, shuffled and twice each,
   through the flows' own diff and push ops: an older level never overwrites a newer one (the
   freshness token ``as_of``), the same flow's and — after the other flow of the pair moved the
   count — the reverse flow's.
"""

from __future__ import annotations

import random
import textwrap
from collections import Counter
from typing import Callable

import pytest
import requests
from dagster import DagsterInstance, RunRequest, build_op_context, build_sensor_context

from conftest import BIGCOMMERCE_CLIENT_SECRET, BIGCOMMERCE_CREDENTIALS, BIGCOMMERCE_STORE_HASH, ZETTLE_CREDENTIALS
from flowkit import run, stats
from integrations_dagster import config
from integrations_dagster.build import build_definitions
from integrations_dagster.receiver import build_app, subscribe
from integrations_dagster.sandbox.base import Knobs
from integrations_dagster.sandbox.runner import serve_in_thread, start_in_thread
from reliability.relkit import SOAK
from zettlekit import BigCommerce, Zettle

pytestmark = [pytest.mark.reliability, pytest.mark.pg_pass]  # one of the longest: see conftest

# Every flow realtime by webhook; Zettle's signing key is the one ``subscribe`` keeps in the state store.
TEMPLATE = """
integrations:
  - name: pos
    start_date: 2026-11-01
    connections:
      till:
        system: zettle
        base_url: "{zettle}/{{service}}"
        credentials: {{client_id: {{env: ZETTLE_CLIENT_ID}}, api_key: {{env: ZETTLE_API_KEY}}}}
        settings: {{auth_url: "{zettle}/oauth", contact_email: kassa@example.se, timeout: 10}}
      shop:
        system: bigcommerce
        base_url: "{bigcommerce}"
        credentials: {{access_token: {{env: BIGCOMMERCE_ACCESS_TOKEN}}, webhook_secret: {{env: BIGCOMMERCE_WEBHOOK_SECRET}}}}
        settings: {{store_hash: {store_hash}, timeout: 10}}
        options: {{prices_include_tax: true}}
    flows:
      products: {{entity: products, source: till, target: shop, deletes: true, op_retries: 0, triggers: {{webhook: true}}}}
      stock: {{entity: stock, source: till, target: shop, op_retries: 0, after: [products], triggers: {{webhook: true}}}}
      stock_back: {{entity: stock, source: shop, target: till, op_retries: 0, after: [products], triggers: {{webhook: true}}}}
"""
JOBS = ("pos_products", "pos_stock", "pos_stock_back")
FULL = {"ops": {"pos_products_fetch": {"config": {"full": True}}}}
# Deliveries: a share sent twice, a share lost, every one late, and held in fours then sent newest first.
BAD_DELIVERY = {"webhook_duplicate_rate": 0.5, "webhook_drop_rate": 0.15, "webhook_delay_ms": 30.0,
                "webhook_reorder": 4}
STEPS = 80 if SOAK else 36
TICK_EVERY = 3  # steps between two rounds of sensor ticks (and the runs they ask for)
SETTLE_PASSES = 6  # after the changes stop, ticks until no sensor asks for a run
RECEIVED = 80
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class Ledger:
    """What the test did, per SKU: received, sold at the till, refunded, ordered in the store; and
    the price Zettle was last given (öre)."""

    def __init__(self) -> None:
        self.products: dict[str, str] = {}  # sku -> product uuid
        self.price: dict[str, int] = {}
        self.received, self.sold, self.refunded, self.ordered = Counter(), Counter(), Counter(), Counter()

    def expected(self, sku: str) -> int:
        return self.received[sku] - self.sold[sku] + self.refunded[sku] - self.ordered[sku]

    def add(self, zt: Zettle, name: str, sku: str, amount: int, quantity: int) -> None:
        product = zt.create(name, [{"sku": sku, "amount": amount}])
        zt.track(product)
        zt.restock(product, sku, quantity)
        self.products[sku], self.price[sku], self.received[sku] = product, amount, quantity


def problems_of(ledger: Ledger, zt: Zettle, bc: BigCommerce) -> list[str]:
    out = []
    skus, shop, prices = bc.view()
    till = zt.levels()
    out += [f"{s} is {n} times in the store" for s, n in Counter(s.casefold() for s in skus).items() if n > 1]
    for sku in sorted(ledger.products):
        expected = ledger.expected(sku)
        if (till.get(sku), shop.get(sku)) != (expected, expected):
            out.append(f"{sku}: Zettle {till.get(sku)}, store {shop.get(sku)}; expected {expected} ({ledger.received[sku]} "
                       f"received, {ledger.sold[sku]} sold, {ledger.refunded[sku]} refunded, {ledger.ordered[sku]} ordered)")
        if prices.get(sku) != ledger.price[sku] / 100:
            out.append(f"{sku}: the store shows {prices.get(sku)}, Zettle's latest price is {ledger.price[sku] / 100}")
    return out


def data_writes(*urls: str) -> int:
    """Data writes both sandboxes served (the token grant, ``/oauth/token``, writes no data)."""
    return sum(n for url in urls for route, n in stats(url)["requests"].items()
               if route.split(" ", 1)[0] in WRITE_METHODS and not route.split(" ", 1)[1].startswith("/oauth/"))


@pytest.fixture
def realtime(tmp_path, store, state_url, monkeypatch):
    """Both sandboxes (the store signing with the app's client secret), the receiver, and both
    subscribed to it; yields a namespace of handles."""
    zettle = start_in_thread("zettle", credentials=ZETTLE_CREDENTIALS, knobs=Knobs(seed=41), demo=False)
    bigcommerce = start_in_thread("bigcommerce", credentials={**BIGCOMMERCE_CREDENTIALS,
                                                              "client_secret": BIGCOMMERCE_CLIENT_SECRET},
                                  knobs=Knobs(seed=42), demo=False)
    requests.post(f"{bigcommerce.url}/__sandbox__/bigcommerce/quota", json={"requests": 100_000, "window_ms": 30_000},
                  timeout=10).raise_for_status()
    path = tmp_path / "integrations.yaml"
    path.write_text(textwrap.dedent(TEMPLATE.format(zettle=zettle.url, bigcommerce=bigcommerce.url,
                                                    store_hash=BIGCOMMERCE_STORE_HASH)))
    file = config.load(path)
    server, thread, port = serve_in_thread(build_app(file, store), name="receiver")
    requests.post(f"{zettle.url}/__sandbox__/zettle/allow-http", json={"allow": True}, timeout=10).raise_for_status()
    subscribed = subscribe(file, store, "pos", f"http://127.0.0.1:{port}")
    assert len(subscribed) == 2, subscribed  # the till (products, stock) and the store (stock)

    class Handles:
        def __init__(self) -> None:
            self.zettle, self.bigcommerce = zettle, bigcommerce
            self.zt, self.bc = Zettle(zettle.url), BigCommerce(bigcommerce.url)
            self.defs = build_definitions(file)
            self.instance = DagsterInstance.ephemeral()
            self.store = store
            self.cursors: dict[str, str | None] = {}
            self.runs = Counter()  # job -> runs a sensor asked for

        def delivered(self, flush: bool = False) -> None:
            """Wait until both outboxes sent what is due (``flush``: also what ``webhook_reorder`` holds)."""
            for sandbox in (self.zettle, self.bigcommerce):
                if flush:
                    sandbox.sandbox.outbox.flush()
                assert sandbox.sandbox.outbox.idle(20)

        def knobs(self, **values) -> None:
            for sandbox in (self.zettle, self.bigcommerce):
                sandbox.sandbox.knobs.update(values)

        def tick_and_run(self) -> int:
            """One tick of each flow's webhook sensor, each run it asks for executed (as the daemon
            would launch it, with the request's tags); how many runs."""
            ran = 0
            for job in JOBS:
                sensor = self.defs.get_sensor_def(f"{job}_webhook")
                with build_sensor_context(instance=self.instance, cursor=self.cursors.get(job),
                                          definitions=self.defs) as ctx:
                    request = sensor(ctx)
                    self.cursors[job] = ctx.cursor
                if isinstance(request, RunRequest):
                    result = self.defs.get_job_def(job).execute_in_process(instance=self.instance, tags=request.tags)
                    assert result.success, f"webhook run of {job} failed"
                    self.runs[job] += 1
                    ran += 1
            return ran

        def deliveries(self) -> dict[str, Counter]:
            return {name: Counter(s.sandbox.outbox.stats) for name, s in
                    (("Zettle", self.zettle), ("BigCommerce", self.bigcommerce))}

    handles = Handles()
    yield handles
    server.should_exit = True
    thread.join(timeout=10)
    zettle.stop()
    bigcommerce.stop()


def test_duplicated_lost_late_and_reordered_webhooks_change_nothing_but_latency(realtime, figures):
    h = realtime
    zt, bc = h.zt, h.bc
    ledger = Ledger()
    for i in range(6):
        ledger.add(zt, f"Händelsevara {i}", f"EV-{i}", 9900 + 100 * i, RECEIVED + i)
    # The initial sync: what the schedule's first runs do (the stock flows wait for it: ``after``).
    h.delivered(flush=True)
    for job in JOBS:
        assert run(h.defs, job, h.instance).success
    assert not problems_of(ledger, zt, bc), "the initial sync must match the ledger"
    h.knobs(**BAD_DELIVERY)
    rng = random.Random(2026_12_01)
    actions = Counter()
    added = 0
    for step in range(STEPS):
        in_store = sorted(s for s in ledger.products if not s.startswith("EV-NEW"))  # landed at the initial sync
        roll = rng.random()
        sku = rng.choice(sorted(ledger.products))
        if roll < 0.40:
            quantity = rng.randint(1, 2)
            zt.sell(ledger.products[sku], sku, quantity)
            ledger.sold[sku] += quantity
            actions["till sales"] += 1
        elif roll < 0.70:
            sku = rng.choice(in_store)
            quantity = rng.randint(1, 2)
            bc.order(sku, quantity)
            ledger.ordered[sku] += quantity
            actions["store orders"] += 1
        elif roll < 0.80 and ledger.sold[sku] > ledger.refunded[sku]:
            zt.sell(ledger.products[sku], sku, 1, refund=True)
            ledger.refunded[sku] += 1
            actions["refunds at the till"] += 1
        elif roll < 0.93:
            for _ in range(rng.randint(2, 3)):  # several price changes in a row: their events race
                price = 9000 + rng.randint(0, 80) * 100
                product = ledger.products[sku]
                zt.update(product, {"variants": [{"uuid": zt.variant(product, sku),
                                                  "price": {"amount": price, "currencyId": "SEK"}}]})
                ledger.price[sku] = price
                actions["price changes"] += 1
        else:
            ledger.add(zt, f"Ny vara {added}", f"EV-NEW-{added}", 14900, 30)
            added += 1
            actions["new products"] += 1
        if step % TICK_EVERY == TICK_EVERY - 1:
            h.delivered()  # what is due has arrived; what the reorder knob holds stays late
            h.tick_and_run()
    runs_while_changing = sum(h.runs.values())
    # The changes stop: every held delivery goes out; the sensors run until none asks for a run.
    h.delivered(flush=True)
    passes = []
    for _ in range(SETTLE_PASSES):
        ran = h.tick_and_run()
        h.delivered(flush=True)  # the runs' own writes raise webhooks too (a loop would never end)
        passes.append(ran)
        if not ran:
            break
    settled = passes[-1] == 0
    before_poll = problems_of(ledger, zt, bc)  # webhooks alone (a change whose every hint was lost waits)
    # What the schedules do: the poll (changes since the cursor) and the daily reconcile (full read).
    assert run(h.defs, "pos_products", h.instance, run_config=FULL).success
    for job in JOBS:
        assert run(h.defs, job, h.instance).success
    problems = problems_of(ledger, zt, bc)
    # Quiet: one more run of every flow, and whatever the sensors then ask for, writes nothing.
    h.delivered(flush=True)
    before = data_writes(h.zettle.url, h.bigcommerce.url)
    for job in JOBS:
        assert run(h.defs, job, h.instance).success
    for _ in range(3):
        h.delivered(flush=True)
        if not h.tick_and_run():
            break
    rewrites = data_writes(h.zettle.url, h.bigcommerce.url) - before
    hints = [h.store.webhook_events_after("pos", c, e, 0)[1] for c, e in (("till", "products"), ("till", "stock"),
                                                                           ("shop", "stock"))]
    delivered = h.deliveries()
    figures.setdefault("pos_events", {}).update({
        "changes (till sales / store orders / refunds / price changes / new products)": " / ".join(
            str(actions[k]) for k in ("till sales", "store orders", "refunds at the till", "price changes",
                                      "new products")),
        "Zettle webhooks queued / sent twice / dropped / delivered": " / ".join(
            str(delivered["Zettle"][k]) for k in ("queued", "duplicated", "dropped", "delivered")),
        "BigCommerce webhooks queued / sent twice / dropped / delivered": " / ".join(
            str(delivered["BigCommerce"][k]) for k in ("queued", "duplicated", "dropped", "delivered")),
        "hints stored (till products / till stock / store stock)": " / ".join(map(str, hints)),
        "runs the webhook sensors asked for (products / stock / stock back)": " / ".join(
            str(h.runs[j]) for j in JOBS),
        "runs asked for while the changes went on": runs_while_changing,
        "settle passes after the changes stopped (runs per pass)": " ".join(map(str, passes)),
        "differences from the ledger before the schedule's poll (webhooks alone)": len(before_poll),
        "differences from the ledger (stock both sides, prices, SKUs twice)": len(problems),
        "writes by a quiet run of every flow": rewrites,
    })
    assert delivered["Zettle"]["duplicated"] and delivered["Zettle"]["dropped"] and delivered["Zettle"]["reordered"]
    assert delivered["BigCommerce"]["duplicated"] and delivered["BigCommerce"]["reordered"]
    assert settled, f"the webhook sensors never stopped asking for runs (an echo loop?): runs per pass {passes}"
    assert not problems, "\n".join(problems)
    assert rewrites == 0


VERSIONS = 4


def _replay(h, job: str, versions: list, sku: str, rng: random.Random) -> int:
    """Run the job's own diff and push ops on each normalized version (shuffled, each twice); how
    many times ``sku`` was held back as older than what its target already has."""
    job_def = h.defs.get_job_def(job)
    resources = {k: h.defs.resources[k] for k in ("state", "pos__till", "pos__shop")}
    replay = versions * 2
    rng.shuffle(replay)
    held = 0
    for normalized in replay:
        with build_op_context(resources=resources) as ctx:
            diff = job_def.graph.node_named(f"{job}_diff").definition(ctx, normalized)
            held += (len([r for r in normalized.records if r.key == sku])
                     - len([c for c in diff.changes if c.key == sku]))
            job_def.graph.node_named(f"{job}_push").definition(ctx, diff)
    return held


def _capture(h, job: str, change) -> list:
    """``VERSIONS`` levels: each after one change, read by a run of ``job`` (its normalize output)."""
    out = []
    for _ in range(VERSIONS):
        change()
        result = run(h.defs, job, h.instance)
        assert result.success
        out.append(result.output_for_node(f"{job}_normalize"))
    return out


def _in_sync(h) -> tuple[Ledger, Callable[[], None], Callable[[], None]]:
    """Two tracked products, synced both ways; (the ledger, a till sale of OLD-A, a store order of OLD-B)."""
    zt, bc = h.zt, h.bc
    ledger = Ledger()
    ledger.add(zt, "Gammal vara A", "OLD-A", 12900, RECEIVED)
    ledger.add(zt, "Gammal vara B", "OLD-B", 13900, RECEIVED)
    for job in JOBS:
        assert run(h.defs, job, h.instance).success

    def sell():
        zt.sell(ledger.products["OLD-A"], "OLD-A", 1)
        ledger.sold["OLD-A"] += 1

    def order():
        bc.order("OLD-B", 1)
        ledger.ordered["OLD-B"] += 1

    return ledger, sell, order


def test_older_stock_levels_of_a_flow_never_overwrite_its_newer(realtime, figures):
    """Each flow's older reads, replayed shuffled and twice right after its newest landed (before the
    pair's other flow moved anything), are held back."""
    h = realtime
    ledger, sell, order = _in_sync(h)
    rng = random.Random(5)
    till_versions = _capture(h, "pos_stock", sell)  # Zettle's level of OLD-A at four times
    held = _replay(h, "pos_stock", till_versions[:-1], "OLD-A", rng)
    store_versions = _capture(h, "pos_stock_back", order)  # the store's level of OLD-B at four times
    held += _replay(h, "pos_stock_back", store_versions[:-1], "OLD-B", rng)
    problems = problems_of(ledger, h.zt, h.bc)
    figures.setdefault("pos_events", {}).update({
        "stock versions of one flow replayed out of order, twice each / held back as older": (
            f"{2 * 2 * (VERSIONS - 1)} / {held}"),
        "differences from the ledger after those replays": len(problems),
    })
    assert not problems, "an older level overwrote a newer one:\n" + "\n".join(problems)
    assert held == 2 * 2 * (VERSIONS - 1)


def test_older_stock_levels_never_overwrite_what_the_pairs_other_flow_moved(realtime, figures):
    """Stock's reads of OLD-B from before the store's orders (which stock back has since moved into
    Zettle, shifting stock's snapshot of OLD-B), and stock back's first read of OLD-A (from before the
    till's sales, which stock has since carried into the store), replayed: both held back."""
    h = realtime
    ledger, sell, order = _in_sync(h)
    early_back = run(h.defs, "pos_stock_back", h.instance).output_for_node("pos_stock_back_normalize")
    till_versions = _capture(h, "pos_stock", sell)  # OLD-B at its level before the orders
    _capture(h, "pos_stock_back", order)  # the orders, moved into Zettle: stock's snapshot of OLD-B shifts
    rng = random.Random(6)
    held = _replay(h, "pos_stock", till_versions, "OLD-B", rng)
    held += _replay(h, "pos_stock_back", [early_back], "OLD-A", rng)
    problems = problems_of(ledger, h.zt, h.bc)  # right after the replays: did an older level win?
    for job in ("pos_stock", "pos_stock_back"):
        assert run(h.defs, job, h.instance).success
    healed = not problems_of(ledger, h.zt, h.bc)  # the next runs read both sides again
    figures.setdefault("pos_events", {}).update({
        "older stock versions replayed after the pair's other flow moved the count / held back": (
            f"{2 * (VERSIONS + 1)} / {held}"),
        "differences from the ledger right after those replays": len(problems),
        "both sides back at the ledger after the next runs": healed,
    })
    assert healed
    assert not problems, "an older level overwrote a newer one:\n" + "\n".join(problems)
    assert held == 2 * (VERSIONS + 1)
