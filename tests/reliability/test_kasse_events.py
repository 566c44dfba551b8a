"""Suite 3 on the Rackbeat ⇄ Shopbox integration ("kasse", seed 003) — duplicated, lost, late and
out-of-order webhook deliveries, and forged ones.

Seed 003 wants Rackbeat's stock and new products at the tills "i sanntid": Rackbeat's webhooks go to
the real receiver (``receiver.build_app``, subscribed with ``receiver.subscribe`` as ``integrations-dagster
subscribe`` does: the tokens Rackbeat shows once are kept in the state store), and the stock and
products-to-the-till flows run when their webhook sensors ask (``triggers: {webhook: true}``). The
tills' sales go to Rackbeat on the sales flow's schedule.

1. **A storm of bad deliveries.** The Rackbeat sandbox's delivery knobs send half of the deliveries
   twice, drop 15 %, delay every one and hold them in fours to send newest first, while Rackbeat's
   users count stock, change prices (several times in a row), make products, and the tills sell; now
   and then somebody posts a delivery with a forged token, which must be refused (401) and store no
   hint. After the changes stop the sensors are ticked until none asks for a run (no echo loop); then
   what the schedules do — the poll and the daily reconcile (a full read) — catches what every lost
   delivery left. The till must then show, per branch, Rackbeat's final counts less what was sold at
   that branch (``kassekit``), every product made in Rackbeat once at its latest price × 1.25, and one
   more run of every flow (and of whatever the sensors then ask) writes nothing.
2. **Duplicates ask for no extra run.** Every delivery sent twice: one tick asks for one run per flow
   however many copies arrived, and copies arriving after that run ask for at most one more, which
   writes nothing (what the POS suite accepts: lost, doubled or reordered deliveries change latency,
   never the result nor the number of writes).
3. **Every delivery lost.** A tick finds no hint and asks for nothing; the schedule's run of each flow
   (the stock flow reads every count, the products flow its cursor window) brings the till level.
4. **A token of a removed subscription.** ``subscribe`` again (the tokens renewed: one leaked, say)
   deletes the old subscriptions and keeps the new tokens; the receiver, running all along, must refuse
   a delivery that carries an old token — a forgery now — and go on taking Rackbeat's deliveries.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import random
from collections import Counter
from decimal import Decimal

import pytest
import requests
from dagster import DagsterInstance, RunRequest, SkipReason, build_sensor_context
from sqlalchemy import text

from flowkit import run
from integrations_dagster import config
from integrations_dagster.build import build_definitions
from integrations_dagster.receiver import build_app, subscribe, webhook_secret_key
from integrations_dagster.sandbox.runner import serve_in_thread
from reliability.kassekit import (
    BRANCH_LOCATION, Kasse, Ledger, data_writes, integrations_file, sales_problems, sell, stock_problems,
)
from reliability.relkit import SOAK

pytestmark = pytest.mark.reliability

WEBHOOK_JOBS = ("kasse_products_to_pos", "kasse_stock")
JOBS = ("kasse_sales", *WEBHOOK_JOBS)  # the order a tick round runs them (the sales flow: its schedule)
FULL = {"ops": {"kasse_products_to_pos_fetch": {"config": {"full": True}}}}
BAD_DELIVERY = {"webhook_duplicate_rate": 0.5, "webhook_drop_rate": 0.15, "webhook_delay_ms": 20.0,
                "webhook_reorder": 4}
CLEAN_DELIVERY = {"webhook_duplicate_rate": 0.0, "webhook_drop_rate": 0.0, "webhook_delay_ms": 0.0,
                  "webhook_reorder": 0}
STEPS = 80 if SOAK else 45
TICK_EVERY = 3
SETTLE_PASSES = 6
STOCK_HEADER = {"Rackbeat-Webhook-Event": "product.stock_changed"}


class Realtime:
    """The two sandboxes, the receiver they deliver to, the definitions, and the sensors as the daemon
    would tick them (each run they ask for executed with the request's tags)."""

    def __init__(self, tmp_path, rackbeat_sandbox, shopbox_empty, store) -> None:
        self.rackbeat_sandbox, self.store = rackbeat_sandbox, store
        self.kasse = Kasse(rackbeat_sandbox.url, shopbox_empty.url)
        path = integrations_file(tmp_path, rackbeat_sandbox.url, shopbox_empty.url, webhooks=True,
                                 flows=("sales", "stock", "products_to_pos"))
        self.file = config.load(path)
        self.defs = build_definitions(self.file)
        self.instance = DagsterInstance.ephemeral()
        self.cursors: dict[str, str | None] = {}
        self.runs = Counter()  # job -> runs a webhook sensor asked for
        self.server, self.thread, port = serve_in_thread(build_app(self.file, store), name="receiver")
        self.receiver = f"http://127.0.0.1:{port}"
        self.subscribed = subscribe(self.file, store, "kasse", self.receiver)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def knobs(self, **values) -> None:
        self.rackbeat_sandbox.sandbox.knobs.update(values)

    def delivered(self, flush: bool = False) -> None:
        outbox = self.rackbeat_sandbox.sandbox.outbox
        if flush:
            outbox.flush()
        assert outbox.idle(20)

    def tick(self, job: str) -> list[RunRequest]:
        """One tick of the job's webhook sensor: the runs it asks for (none, one, or — were it to ask
        for one per delivery — several)."""
        sensor = self.defs.get_sensor_def(f"{job}_webhook")
        with build_sensor_context(instance=self.instance, cursor=self.cursors.get(job), definitions=self.defs) as ctx:
            result = sensor(ctx)
            many = not isinstance(result, (RunRequest, SkipReason)) and (  # (both are named tuples)
                isinstance(result, (list, tuple)) or inspect.isgenerator(result))
            asked = [r for r in (result if many else [result]) if isinstance(r, RunRequest)]
            self.cursors[job] = ctx.cursor
        return asked

    def tick_and_run(self) -> int:
        """One tick of each webhook sensor, each run it asks for executed; how many runs."""
        ran = 0
        for job in WEBHOOK_JOBS:
            for request in self.tick(job):
                result = self.defs.get_job_def(job).execute_in_process(instance=self.instance, tags=request.tags)
                assert result.success, f"webhook run of {job} failed"
                self.runs[job] += 1
                ran += 1
        return ran

    def run(self, job: str, **kw):
        result = run(self.defs, job, self.instance, **kw)
        assert result.success, f"run of {job} failed"
        return result

    def hints(self) -> dict[str, int]:
        return {e: self.store.webhook_events_after("kasse", "erp", e, 0)[1] for e in ("stock", "products")}

    def forge(self, event: str = "product.stock_changed") -> tuple[int, bool]:
        """A delivery with a token no subscription has (the length and alphabet of a real one): its status,
        and whether the receiver stored no hint of it. Its body is unique, and a stored hint keeps the body's
        SHA-256, so real deliveries arriving meanwhile (the outbox sends late ones any time) are told apart."""
        self.forged = getattr(self, "forged", 0) + 1
        body = json.dumps({"key_name": "number", "key": f"FORGED-{self.forged}"}).encode()
        status = requests.post(f"{self.receiver}/hooks/kasse/erp", timeout=10, data=body,
                               headers={"Rackbeat-Webhook-Token": "f0rg3d" + "0" * 26, "Content-Type": "application/json",
                                        "Rackbeat-Webhook-Event": event}).status_code
        digest = hashlib.sha256(body).hexdigest()
        with self.store.engine.connect() as conn:
            stored = conn.execute(text("select count(*) from webhook_events where digest = :d"), {"d": digest}).scalar()
        return status, not stored

    def outbox_stats(self) -> Counter:
        return Counter(self.rackbeat_sandbox.sandbox.outbox.stats)


@pytest.fixture
def realtime(tmp_path, rackbeat_sandbox, shopbox_empty, store):
    h = Realtime(tmp_path, rackbeat_sandbox, shopbox_empty, store)
    try:
        yield h
    finally:
        h.close()


def _add(h: Realtime, ledger: Ledger, sku: str, name: str, net: Decimal, rng: random.Random) -> None:
    """A product a Rackbeat user makes, counted at both locations at once."""
    h.kasse.rb_new_product(sku, name, str(net))
    ledger.erp_net[sku], ledger.names[sku] = net, name
    for location in BRANCH_LOCATION.values():
        quantity = 30 + rng.randint(0, 30)
        h.kasse.rb_count(sku, location, quantity)
        ledger.counted[sku, location] = quantity


def _price_problems(h: Realtime, ledger: Ledger) -> list[str]:
    """Each product made in Rackbeat once in the till, at its latest net price × 1.25 (øre)."""
    skus = h.kasse.shop_skus()
    out = [f"{s} is {len(v)} times in Shopbox" for s, v in skus.items() if len(v) > 1]
    for sku, net in sorted(ledger.erp_net.items()):
        held = skus.get(sku)
        if not held:
            out.append(f"{sku}: not in Shopbox")
        elif (held[0]["name"], Decimal(held[0]["selling_price"])) != (ledger.names[sku], net * 125):
            out.append(f"{sku}: the till has {held[0]['name']!r} at {held[0]['selling_price']} øre, Rackbeat's latest "
                       f"is {ledger.names[sku]!r} at {net} net ({net * 125} øre)")
    return out


def _problems(h: Realtime, ledger: Ledger) -> list[str]:
    return stock_problems(h.kasse, ledger) + _price_problems(h, ledger)


def _initial_sync(h: Realtime, ledger: Ledger, rng: random.Random, products: int) -> None:
    for i in range(products):
        _add(h, ledger, f"EV-{i}", f"Hendelsesvare {i}", Decimal("99.20") + 4 * i, rng)
    h.delivered(flush=True)
    for job in ("kasse_products_to_pos", "kasse_stock"):  # the schedules' first runs
        h.run(job)
    for job in WEBHOOK_JOBS:  # the initial sync's hints are taken: the sensors start after them
        h.cursors[job] = str(h.store.webhook_events_after("kasse", "erp", "products" if "products" in job
                                                          else "stock", 0)[0])
    assert not _problems(h, ledger), "the initial sync must match the ledger"


def test_duplicated_lost_late_reordered_and_forged_deliveries_change_nothing_but_latency(realtime, figures):
    h = realtime
    assert h.subscribed == [f"kasse.erp: products, stock → {h.receiver}/hooks/kasse/erp"]
    ledger = Ledger()
    rng = random.Random(20261204)
    _initial_sync(h, ledger, rng, 5)
    h.knobs(**BAD_DELIVERY)
    actions, forged, added = Counter(), [], 0
    for step in range(STEPS):
        roll = rng.random()
        sku = rng.choice(sorted(ledger.erp_net))
        in_till = set(h.kasse.shop_skus())
        if roll < 0.35:
            location = rng.choice(sorted(BRANCH_LOCATION.values()))
            quantity = rng.randint(5, 60)
            h.kasse.rb_count(sku, location, quantity)
            ledger.counted[sku, location] = quantity
            actions["stock counts"] += 1
        elif roll < 0.55:
            for _ in range(rng.randint(2, 3)):  # several changes in a row: their deliveries race
                net = Decimal("79.20") + Decimal("0.04") * rng.randint(0, 500)
                h.kasse.rb_new_product(sku, ledger.names[sku], str(net))  # an edit: the number exists
                ledger.erp_net[sku] = net
                actions["price changes"] += 1
        elif roll < 0.65:
            _add(h, ledger, f"EV-NY-{added}", f"Ny hendelsesvare {added}", Decimal("149.20"), rng)
            added += 1
            actions["new products"] += 1
        elif roll < 0.90:
            sellable = sorted(s for s in ledger.erp_net if s in in_till)
            lines = [(s, rng.randint(1, 2), 0) for s in rng.sample(sellable, rng.randint(1, min(2, len(sellable))))]
            sell(h.kasse, ledger, rng.choice(sorted(BRANCH_LOCATION)), lines)
            actions["till sales"] += 1
        else:
            forged.append(h.forge(rng.choice(["product.stock_changed", "product.created"])))
            actions["forged deliveries"] += 1
        if step % TICK_EVERY == TICK_EVERY - 1:
            h.delivered()  # what is due has arrived; what the reorder knob holds stays late
            h.run("kasse_sales")  # the sales flow's schedule
            h.tick_and_run()
    runs_while_changing = sum(h.runs.values())
    tick_rounds = STEPS // TICK_EVERY
    # The changes stop: every held delivery goes out; the sensors run until none asks for a run.
    h.delivered(flush=True)
    h.run("kasse_sales")
    passes = []
    for _ in range(SETTLE_PASSES):
        ran = h.tick_and_run()
        h.delivered(flush=True)
        passes.append(ran)
        if not ran:
            break
    settled = passes[-1] == 0
    before_poll = _problems(h, ledger)  # webhooks alone (a change whose every delivery was lost waits)
    # What the schedules do: the poll (changes since the cursor) and the daily reconcile (a full read).
    h.run("kasse_products_to_pos")
    h.run("kasse_products_to_pos", run_config=FULL)
    h.run("kasse_stock")
    problems = _problems(h, ledger)
    sales, order_dupes = sales_problems(h.kasse, ledger)
    # Quiet: one more run of every flow, and whatever the sensors then ask for, writes nothing.
    h.delivered(flush=True)
    before = data_writes(h.kasse.rackbeat, h.kasse.shopbox)
    for job in JOBS:
        h.run(job)
    for _ in range(3):
        h.delivered(flush=True)
        if not h.tick_and_run():
            break
    rewrites = data_writes(h.kasse.rackbeat, h.kasse.shopbox) - before
    delivered = h.outbox_stats()
    hints = h.hints()
    figures.setdefault("kasse_events", {}).update({
        "changes (stock counts / price changes / new products / till sales / forged deliveries)": " / ".join(
            str(actions[k]) for k in ("stock counts", "price changes", "new products", "till sales",
                                      "forged deliveries")),
        "Rackbeat webhooks queued / sent twice / dropped / reordered / delivered": " / ".join(
            str(delivered[k]) for k in ("queued", "duplicated", "dropped", "reordered", "delivered")),
        "hints stored (stock / products)": f"{hints['stock']} / {hints['products']}",
        "forged deliveries refused (401, no hint stored)": f"{sum(c == 401 and same for c, same in forged)} of "
                                                           f"{len(forged)}",
        "runs the webhook sensors asked for (products to the till / stock)": " / ".join(
            str(h.runs[j]) for j in WEBHOOK_JOBS),
        "tick rounds while the changes went on / runs asked for then": f"{tick_rounds} / {runs_while_changing}",
        "settle passes after the changes stopped (runs per pass)": " ".join(map(str, passes)),
        "differences from the ledger before the schedules' runs (webhooks alone)": len(before_poll),
        "differences from the ledger (branch counts, till prices, SKUs twice)": len(problems),
        "sales lost, booked twice or off the till's total": len(sales),
        "writes by a quiet run of every flow": sum(rewrites.values()),
    })
    assert delivered["duplicated"] and delivered["dropped"] and delivered["reordered"], delivered
    assert forged and all(code == 401 and same for code, same in forged), forged
    assert settled, f"the webhook sensors never stopped asking for runs (an echo loop?): runs per pass {passes}"
    # One run per flow per tick at most, however many copies arrived.
    assert all(h.runs[j] <= tick_rounds + len(passes) + 3 for j in WEBHOOK_JOBS), dict(h.runs)
    assert not problems, "\n".join(problems)
    assert not sales and not order_dupes, "\n".join(sales)
    assert not rewrites, dict(rewrites)


def test_duplicated_deliveries_ask_for_one_run_and_late_copies_write_nothing(realtime, figures):
    h = realtime
    ledger = Ledger()
    rng = random.Random(5)
    _initial_sync(h, ledger, rng, 3)
    h.knobs(**{**CLEAN_DELIVERY, "webhook_duplicate_rate": 1.0})
    earlier = h.hints()
    for sku in sorted(ledger.erp_net):  # three counts and a price change: four changes, each delivered twice
        h.kasse.rb_count(sku, 2, 17)
        ledger.counted[sku, 2] = 17
    h.kasse.rb_new_product("EV-0", ledger.names["EV-0"], "111.20")
    ledger.erp_net["EV-0"] = Decimal("111.20")
    h.delivered()
    hints = {e: n - earlier[e] for e, n in h.hints().items()}
    first = {job: h.tick(job) for job in WEBHOOK_JOBS}
    for job, asked in first.items():
        for request in asked:
            assert h.defs.get_job_def(job).execute_in_process(instance=h.instance, tags=request.tags).success
    second = {job: h.tick(job) for job in WEBHOOK_JOBS}
    # Late copies: a second burst of the same changes held back, then sent newest first after the runs.
    h.knobs(**{**CLEAN_DELIVERY, "webhook_duplicate_rate": 1.0, "webhook_reorder": 16})
    for sku in sorted(ledger.erp_net):
        h.kasse.rb_count(sku, 1, 23)
        ledger.counted[sku, 1] = 23
    h.knobs(**CLEAN_DELIVERY)
    for job in WEBHOOK_JOBS:  # the schedule's runs take the changes before their late deliveries arrive
        h.run(job)
    settled = not _problems(h, ledger)
    before = data_writes(h.kasse.rackbeat, h.kasse.shopbox)
    h.delivered(flush=True)
    late_runs = h.tick_and_run()
    late_writes = sum((data_writes(h.kasse.rackbeat, h.kasse.shopbox) - before).values())
    figures.setdefault("kasse_events", {}).update({
        "every delivery twice: hints stored (stock / products) / runs asked for at the first tick": (
            f"{hints['stock']} / {hints['products']} / {sum(map(len, first.values()))}"),
        "every delivery twice: runs asked for at the next tick": sum(map(len, second.values())),
        "late copies after the schedule's runs: runs asked for / writes": f"{late_runs} / {late_writes}",
    })
    assert hints == {"stock": 6, "products": 2}, hints  # two copies of each of the four changes arrived
    assert {job: len(asked) for job, asked in first.items()} == dict.fromkeys(WEBHOOK_JOBS, 1), first
    assert not any(second.values()), second
    assert settled and not _problems(h, ledger), _problems(h, ledger)
    assert late_runs <= len(WEBHOOK_JOBS), late_runs
    assert late_writes == 0


def test_lost_deliveries_are_caught_by_the_schedules_runs(realtime, figures):
    h = realtime
    ledger = Ledger()
    rng = random.Random(6)
    _initial_sync(h, ledger, rng, 3)
    h.knobs(**{**CLEAN_DELIVERY, "webhook_drop_rate": 1.0})
    h.kasse.rb_count("EV-1", 1, 4)
    ledger.counted["EV-1", 1] = 4
    h.kasse.rb_new_product("EV-2", ledger.names["EV-2"], "87.20")
    ledger.erp_net["EV-2"] = Decimal("87.20")
    _add(h, ledger, "EV-TAPT", "Tapt levering", Decimal("55.20"), rng)
    h.delivered()
    ticks = [h.tick(job) for job in WEBHOOK_JOBS]
    waiting = _problems(h, ledger)
    for job in WEBHOOK_JOBS:  # the schedules: a poll of each flow
        h.run(job)
    after = _problems(h, ledger)
    dropped = h.outbox_stats()["dropped"]
    figures.setdefault("kasse_events", {}).update({
        "every delivery lost: deliveries dropped / runs the sensors asked for / differences until the schedule ran":
            f"{dropped} / {sum(map(len, ticks))} / {len(waiting)}",
        "every delivery lost: differences after the schedule's runs": len(after),
    })
    assert dropped >= 5 and not any(ticks), (dropped, ticks)
    assert waiting, "with every delivery lost the till must still be behind before the schedule runs"
    assert not after, "\n".join(after)


def test_a_token_of_a_removed_subscription_is_refused(realtime, figures):
    h = realtime
    old = h.store.token(webhook_secret_key("kasse", "erp"))["secret"].split(",")
    h.kasse.rb_count("KAFFE-500", 1, 3)  # a real delivery: the receiver has verified the tokens in use
    h.delivered(flush=True)
    assert h.hints()["stock"] == 1
    assert h.forge() == (401, True)  # refused, and no hint of it stored
    renewed = subscribe(h.file, h.store, "kasse", h.receiver)  # what `integrations-dagster subscribe` does
    new = h.store.token(webhook_secret_key("kasse", "erp"))["secret"].split(",")
    before = h.hints()
    replayed = [requests.post(f"{h.receiver}/hooks/kasse/erp", timeout=10, json={"key_name": "number", "key": "X"},
                              headers={"Rackbeat-Webhook-Token": token, **STOCK_HEADER}).status_code for token in old]
    stored_by_replay = h.hints()["stock"] - before["stock"]
    h.kasse.rb_count("KAFFE-500", 1, 4)  # Rackbeat's next delivery carries a new token
    h.delivered(flush=True)
    taken = h.hints()["stock"] - before["stock"] - stored_by_replay
    figures.setdefault("kasse_events", {}).update({
        "tokens of removed subscriptions replayed after subscribe renewed them: refused / hints stored": (
            f"{replayed.count(401)} of {len(replayed)} / {stored_by_replay}"),
    })
    assert renewed and not set(old) & set(new), (old, new)
    assert taken == 1, "the receiver must take Rackbeat's deliveries with the renewed tokens"
    assert replayed == [401] * len(old) and stored_by_replay == 0, (
        f"deliveries with the tokens of removed subscriptions were answered {replayed} and stored "
        f"{stored_by_replay} hints: the running receiver still takes them")
