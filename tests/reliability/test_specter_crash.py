"""Suite 2 on the third integration — crash, WooCommerce ⇄ Specter: SIGKILL the run process mid-write,
then re-run.

A child process, forked from the pre-warmed interpreter of ``crashkit``, runs a flow job and is
SIGKILLed at its Nth write of one kind; the test process then re-runs the jobs. Kill points, taking
turns (as in ``test_crash.py`` and ``test_pos_crash.py``):

* ``applied`` — the sandbox applied the Nth write and holds its answer (sandbox knobs ``hold_write``
  and ``hold_route``): the target has it, the run never learns it;
* ``answered`` — the run got the answer and is about to write it to the state store (the engine's
  landed record, or the id map's binding): neither is written;
* ``writes`` — the target's count of those writes reached N (polled): anywhere, mid-request too;
* for the flows that read Specter's change feeds, also ``before ack`` — every record of the batch
  recorded, the acknowledgement not yet sent — and ``after ack`` — Specter took the acknowledgement,
  the run never finished.

1. **Initial sync** (each round: an empty Specter and an empty state store, the same shop): products
   killed at the Nth ``newArticleSubmit`` (two article rows a submit), then orders killed at the Nth
   write of the orders flow (``newCustomerSubmit`` or ``newOrderSubmit``); each re-run in the test
   process. Then: one article per SKU with the shop's name and price without VAT, one order per
   ``externalOrderNo`` for the shop's total to the öre, one customer per e-mail, and one more run
   writes nothing.
2. **Feeds** (after a clean initial sync; each round Specter counts stock, or delivers and cancels
   orders, first): the stock flow killed at its stock write to the shop, the order-status flow at its
   status update or tracking note — or either between recording its batch and acknowledging it. After
   the re-run every change is in the shop once: stock on both sides = the ledger, each delivered order
   completed with its tracking number in exactly one note, each cancelled one cancelled, the feeds
   drained.

Expected values are the shop's own orders and the ledger's arithmetic, never the code's.
"""

from __future__ import annotations

import os
import random
import textwrap
import time
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from flowkit import run, stats, woo_get, woo_post
from integrations_dagster import config
from integrations_dagster.build import build_definitions
from reliability.crashkit import child_env, child_home, fail_dead_runs, forget_state, reset_sandbox, kill_at
from reliability.relkit import BACKEND, SOAK, knobs, woo_stock
from specterkit import Specter

pytestmark = [pytest.mark.reliability, pytest.mark.pg_pass]  # one of the longest: see conftest

SEED = 20261208
CHILD_TIMEOUT_S = 40
CENT = Decimal("0.01")
RATES = {"": Decimal(25), "reduced-rate": Decimal(12)}
SPECTER_ENV = ("SPECTER_SBM_ID", "SPECTER_API_USER_ID", "SPECTER_USER_KEY", "SPECTER_INTEGRATION_KEY")
PUT_INFO = "POST /putInfo.asp"  # every Specter write: newArticleSubmit, newCustomerSubmit, newOrderSubmit
WC = "/wp-json/wc/v3"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
KINDS = ("applied", "answered", "writes")
FEED_KINDS = ("applied", "answered", "writes", "before ack", "after ack")

TEMPLATE = """
integrations:
  - name: butik
    start_date: 2026-11-01
    connections:
      shop:
        system: woocommerce
        base_url: "{woo}"
        credentials: {{consumer_key: {{env: WOO_CONSUMER_KEY}}, consumer_secret: {{env: WOO_CONSUMER_SECRET}}}}
        settings: {{timeout: 10}}
        options: {{currency: SEK, prices_include_tax: true, tax_rates: {{"": 25, "reduced-rate": 12}}}}
      erp:
        system: specter
        base_url: "{specter}"
        credentials: {{sbm_id: {{env: SPECTER_SBM_ID}}, api_user_id: {{env: SPECTER_API_USER_ID}},
                      user_key: {{env: SPECTER_USER_KEY}}, integration_key: {{env: SPECTER_INTEGRATION_KEY}}}}
        settings: {{timeout: 10, rows_per_submit: 2}}
        options: {{webshop_id: 1}}
    flows:
      products: {{entity: products, source: shop, target: erp, op_retries: 0}}
      orders: {{entity: orders, source: shop, target: erp, mode: create, after: [products], op_retries: 0,
                options: {{statuses: [processing, completed]}}}}
      stock: {{entity: stock, source: erp, target: shop, after: [products], op_retries: 0}}
      order_status: {{entity: order_status, source: erp, target: shop, after: [orders], op_retries: 0,
                      options: {{mail_customer: [delivered]}}}}
"""


def _env() -> dict[str, str]:
    return {**child_env(), **{k: os.environ[k] for k in SPECTER_ENV if k in os.environ}}


def cents(value) -> Decimal:
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


# -- what a child runs besides crashkit.run_jobs ----------------------------------------------------

def run_jobs_stopping_at_ack(args: dict) -> None:
    """``crashkit.run_jobs``, stopping at the acknowledgement of the feed's batch: ``before ack`` —
    every record of the batch recorded, the acknowledgement not sent —, or ``after ack`` — Specter
    took it —: create ``marker`` and wait to be killed."""
    from integrations_dagster.connectors.specter.client import SpecterResource
    from reliability.crashkit import run_jobs

    original = SpecterResource.acknowledge

    def stopping(self, entity: str, receipt: str) -> None:
        if args["stop"] == "before ack":
            Path(args["marker"]).write_text(receipt)
            time.sleep(120)  # the test kills us here
        original(self, entity, receipt)
        if args["stop"] == "after ack":
            Path(args["marker"]).write_text(receipt)
            time.sleep(120)

    SpecterResource.acknowledge = stopping
    run_jobs(args)


# -- the kill ------------------------------------------------------------------------------------------

def _served(url: str, route: str) -> int:
    """Requests the sandbox answered whose "METHOD path" starts with ``route`` (ids as {id})."""
    return sum(n for r, n in stats(url)["requests"].items() if r.startswith(route))


def _held(url: str) -> int:
    return stats(url)["faults"].get("held_after_write", 0)


def kill_once(zygote, tmp_path, cfg, url: str, route: str, kind: str, n: int, jobs: list[str], home, tag: str,
              probe_route: str | None = None) -> bool:
    """Fork a child that runs ``jobs``; SIGKILL it at its ``n``-th write ``route`` (a "METHOD /path"
    prefix as the sandbox at ``url`` counts it), or at its batch's acknowledgement. True when it was
    killed, False when it finished first."""
    done, marker = tmp_path / f"{tag}.done", tmp_path / f"{tag}.marker"
    args = {"config": str(cfg), "jobs": jobs, "dagster_home": child_home(home), "done": str(done)}
    func = "reliability.crashkit:run_jobs"
    before, held_before = _served(url, route), _held(url)
    if kind == "applied":
        knobs(url, hold_write=n, hold_route=route)
    elif kind == "answered":
        args["probe"] = {"answers": n, "route": probe_route or route, "marker": str(marker)}
    elif kind in ("before ack", "after ack"):
        func = "reliability.test_specter_crash:run_jobs_stopping_at_ack"
        args.update(stop=kind, marker=str(marker))
    pid = zygote.fork(func, args, env=_env(), log=str(tmp_path / f"{tag}.log"))
    log = tmp_path / f"{tag}.log"

    def reached() -> bool:
        if kind == "applied":
            return _held(url) > held_before
        if kind == "writes":
            return _served(url, route) >= before + n
        return marker.exists()

    return kill_at(zygote, pid, reached, done, log, tag, timeout_s=CHILD_TIMEOUT_S,
                   after=(lambda: knobs(url, hold_write=0, hold_route="")) if kind == "applied" else None)


# -- the shop, and what Specter must hold (the test's own reading) ------------------------------------

class Shop:
    """The shop's catalogue and orders as the test made them, and what Specter did since."""

    def __init__(self) -> None:
        self.ids: dict[str, tuple[int, int | None]] = {}
        self.prices: dict[str, tuple[str, str, str]] = {}  # sku -> (name, gross, tax class)
        self.orders: dict[int, dict] = {}
        self.lines: dict[int, Counter] = {}
        self.physical: dict[str, int] = {}
        self.tracking: dict[int, str] = {}
        self.cancelled: set[int] = set()

    def available(self, sku: str) -> int:
        return self.physical[sku] - sum(lines[sku] for oid, lines in self.lines.items()
                                        if oid not in self.tracking and oid not in self.cancelled)

    def open_orders(self) -> list[int]:
        return [oid for oid in self.orders if oid not in self.tracking and oid not in self.cancelled]


def make_shop(woo: str) -> Shop:
    """Seven simple products (both VAT rates) and a sweater in three sizes; eight paid orders of
    three buyers, some with shipping."""
    shop = Shop()
    for i in range(7):
        sku, price, cls = f"KR-{i}", f"{79 + 20 * i}.{(i * 35) % 100:02d}", "reduced-rate" if i % 3 == 1 else ""
        p = woo_post(woo, "/products", {"name": f"Kraschvara {i} Åäö", "type": "simple", "sku": sku,
                                        "regular_price": price, "tax_class": cls, "manage_stock": True,
                                        "stock_quantity": 40 + i})
        shop.ids[sku], shop.prices[sku] = (p["id"], None), (f"Kraschvara {i} Åäö", price, cls)
    tee = woo_post(woo, "/products", {"name": "Tröja", "type": "variable", "sku": "KR-TROJA", "attributes": [
        {"name": "Storlek", "options": ["S", "M", "L"], "variation": True, "visible": True}]})
    for size in ("S", "M", "L"):
        var = woo_post(woo, f"/products/{tee['id']}/variations", {
            "sku": f"KR-TROJA-{size}", "regular_price": "299.00", "manage_stock": True, "stock_quantity": 30,
            "attributes": [{"name": "Storlek", "option": size}]})
        shop.ids[f"KR-TROJA-{size}"], shop.prices[f"KR-TROJA-{size}"] = (tee["id"], var["id"]), (f"Tröja {size}",
                                                                                                 "299.00", "")
    rng = random.Random(SEED)
    for n in range(8):
        place_order(woo, shop, rng, n)
    shop.physical.update(woo_stock(woo))  # what the articles are created with (the orders then reserve theirs)
    return shop


def place_order(woo: str, shop: Shop, rng: random.Random, n: int) -> int:
    """A paid order of one to three SKUs (buyer ``n % 3``; shipping on every third)."""
    email = f"kropp{n % 3}@example.se"
    lines = []
    for sku in rng.sample(sorted(shop.ids), rng.randint(1, 3)):
        product, variation = shop.ids[sku]
        lines.append({"product_id": product, "quantity": rng.randint(1, 3),
                      **({"variation_id": variation} if variation else {})})
    body = {"status": "processing" if n % 2 else "completed", "set_paid": True, "line_items": lines,
            "billing": {"first_name": "Kund", "last_name": f"Nummer {n % 3}", "email": email,
                        "address_1": "Gatan 2", "postcode": "90325", "city": "Umeå", "country": "SE"}}
    if n % 3 == 0:
        body["shipping_lines"] = [{"method_id": "flat_rate", "method_title": "Schenker", "total": "59.20"}]
    order = woo_post(woo, "/orders", body)
    shop.orders[order["id"]] = order
    shop.lines[order["id"]] = Counter({li["sku"]: int(li["quantity"]) for li in order["line_items"]})
    return order["id"]


def charged(order: dict) -> Decimal:
    parts = [*order["line_items"], *order["shipping_lines"], *order["fee_lines"]]
    return sum((Decimal(p["total"]) + Decimal(p["total_tax"]) for p in parts), Decimal(0))


def book_problems(shop: Shop, sp: Specter, sp_store) -> tuple[list[str], int]:
    """Specter's articles, orders and customers against the shop: (differences, duplicates)."""
    problems, dupes = [], 0
    articles = Counter(d["articleNo"].upper() for d in sp_store.find("articles"))
    orders = sp_store.find("orders")
    refs = Counter(o.get("externalOrderNo") for o in orders)
    emails = Counter((c.get("emailAddress") or "").lower() for c in sp_store.find("customers"))
    for what, counts in (("article", articles), ("externalOrderNo", refs), ("customer", emails)):
        for k, n in counts.items():
            if n > 1:
                dupes += n - 1
                problems.append(f"{what} {k} is {n} times in Specter")
    for sku, (name, gross, cls) in sorted(shop.prices.items()):
        article = sp.article(sku)
        net = cents(Decimal(gross) / (1 + RATES[cls] / 100))
        if article is None:
            problems.append(f"{sku}: no article in Specter")
        elif (article.get("name"), Decimal(article.get("priceExclVat") or "0")) != (name, net):
            problems.append(f"{sku}: Specter has {article.get('name')!r} at {article.get('priceExclVat')}, "
                            f"the shop {name!r} at {net} without VAT")
    held = {o.get("externalOrderNo"): o for o in orders}
    for oid, order in sorted(shop.orders.items()):
        doc = held.get(f"shop:{oid}")
        if doc is None:
            problems.append(f"shop order {oid}: not in Specter")
        elif Decimal(doc["totalInclVat"]) != charged(order) or charged(order) != Decimal(order["total"]):
            problems.append(f"shop order {oid}: Specter totals {doc['totalInclVat']}, the shop charged "
                            f"{charged(order)} (total {order['total']})")
    wanted = {(o["billing"]["email"] or "").lower() for o in shop.orders.values()}
    if set(emails) != wanted:
        problems.append(f"customers {sorted(emails)} != the buyers {sorted(wanted)}")
    return problems, dupes


def specter_available(sp_store, sku: str) -> Decimal | None:
    found = [d for d in sp_store.find("articles") if d["articleNo"].upper() == sku.upper()]
    if not found:
        return None
    return Decimal(found[0].get("stock", {}).get("1", "0")) - Decimal(found[0].get("reserved", {}).get("1", "0"))


def feed_problems(shop: Shop, woo: str, sp: Specter, sp_store) -> list[str]:
    """Stock both sides against the ledger, every status Specter gave, and the feeds drained."""
    problems = []
    levels = woo_stock(woo)
    for sku in sorted(shop.physical):
        expected = shop.available(sku)
        got = (levels.get(sku), specter_available(sp_store, sku))
        if got != (expected, expected):
            problems.append(f"{sku}: shop {got[0]}, Specter {got[1]}; expected {expected}")
    for oid, order in sorted(shop.orders.items()):
        now = woo_get(woo, f"/orders/{oid}")
        notes = [n["note"] for n in woo_get(woo, f"/orders/{oid}/notes")]
        if oid in shop.tracking:
            noted = sum(shop.tracking[oid] in n for n in notes)
            if (now["status"], noted) != ("completed", 1):
                problems.append(f"shop order {oid}: delivered with {shop.tracking[oid]}, but {now['status']} with "
                                f"the tracking number in {noted} notes")
        elif oid in shop.cancelled and now["status"] != "cancelled":
            problems.append(f"shop order {oid}: cancelled in Specter, {now['status']} in the shop")
        elif oid not in shop.cancelled and now["status"] != order["status"]:
            problems.append(f"shop order {oid}: open in Specter, moved {order['status']} → {now['status']}")
    feeds = sp.feeds()
    for feed in ("stock", "orders"):
        if feeds[feed]["pending"] or feeds[feed]["flagged"]:
            problems.append(f"Specter's {feed} feed still holds {feeds[feed]}")
    return problems


def data_writes(*urls: str) -> Counter:
    out = Counter()
    for url in urls:
        for route, n in stats(url)["requests"].items():
            if route.split(" ", 1)[0] in WRITE_METHODS:
                out[f"{url.rsplit(':', 1)[-1]} {route}"] += n
    return out


@pytest.fixture
def butik(tmp_path, woo_empty, specter_empty, state_url, zygote, dagster_home):
    cfg = tmp_path / "integrations.yaml"
    cfg.write_text(textwrap.dedent(TEMPLATE.format(woo=woo_empty.url, specter=specter_empty.url)))
    zygote.preload(cfg, child_home(dagster_home), _env())

    class Butik:
        pass

    b = Butik()
    b.woo, b.sp, b.sp_store, b.cfg = woo_empty.url, Specter(specter_empty.url), specter_empty.sandbox.store, cfg
    b.defs = build_definitions(config.load(cfg))
    b.shop = make_shop(woo_empty.url)
    return b


INITIAL_ROUNDS = 12 if SOAK else 6
ARTICLE_SUBMITS = 5  # 10 SKUs, two rows a submit
ORDER_WRITES = 11  # 3 new customers and 8 orders


def test_sigkill_at_article_customer_and_order_writes_then_rerun_books_each_once(butik, tmp_path, state_url, zygote,
                                                                                dagster_home, dagster_instance,
                                                                                figures):
    b = butik
    rng = random.Random(SEED + 1)
    kills, missed = Counter(), Counter()
    problems, dupes, rewrites, left_started = [], 0, 0, 0
    for round_no in range(INITIAL_ROUNDS):
        reset_sandbox(b.sp.url, demo=False)
        forget_state(state_url)
        for k, (job, total, what) in enumerate((("butik_products", ARTICLE_SUBMITS, "article submits"),
                                                ("butik_orders", ORDER_WRITES, "customer and order submits"))):
            kind = KINDS[(round_no + k) % len(KINDS)]
            n = rng.randint(1, total)
            killed = kill_once(zygote, tmp_path, b.cfg, b.sp.url, PUT_INFO, kind, n, [job], dagster_home,
                               f"init{round_no}-{k}")
            (kills if killed else missed)[what, kind if killed else ""] += 1
            left_started += fail_dead_runs(dagster_instance, "its process was SIGKILLed by the Specter crash suite")
            assert run(b.defs, job, dagster_instance).success, f"round {round_no}: re-run of {job} failed"
        found, d = book_problems(b.shop, b.sp, b.sp_store)
        dupes += d
        problems += [f"round {round_no}: {p}" for p in found]
        before = data_writes(b.woo, b.sp.url)
        for job in ("butik_products", "butik_orders"):
            assert run(b.defs, job, dagster_instance).success
        again = data_writes(b.woo, b.sp.url) - before
        rewrites += sum(again.values())
        problems += [f"round {round_no}: a run after convergence wrote {r} ×{n}" for r, n in again.items()]
    crash = figures.setdefault("specter_crash", {})
    crash.update({
        "initial-sync rounds (empty Specter and state store; products, then orders killed; re-run)": INITIAL_ROUNDS,
        "initial sync: SKUs / article submits (2 rows each) / customer + order submits": (
            f"{len(b.shop.prices)} / {ARTICLE_SUBMITS} / {ORDER_WRITES}"),
        "kills at the Nth newArticleSubmit (applied / answered / writes)": " / ".join(
            str(kills["article submits", kind]) for kind in KINDS),
        "kills at the Nth newCustomerSubmit or newOrderSubmit (applied / answered / writes)": " / ".join(
            str(kills["customer and order submits", kind]) for kind in KINDS),
        "initial sync: runs that finished before their kill point": sum(missed.values()),
        "initial sync: duplicates in Specter (articles, orders, customers)": dupes,
        "initial sync: differences from the shop after the re-runs": len(problems),
        "initial sync: writes by a run after convergence": rewrites,
    })
    if BACKEND == "postgresql":
        crash["initial sync: killed runs left STARTED (then marked failed)"] = left_started
    assert dupes == 0
    assert not problems, "\n".join(problems[:20])
    assert all(kills[what, kind] for what in ("article submits", "customer and order submits") for kind in KINDS), (
        dict(kills), dict(missed))


FEED_ROUNDS = 30 if SOAK else 20
STOCK_ROUTE = f"POST {WC}/products"  # the batch endpoints: /products/batch, /products/{id}/variations/batch
STATUS_ROUTE = f"PUT {WC}/orders"  # the status update (a processing order delivered: completed)
NOTE_ROUTE = f"POST {WC}/orders"  # the tracking note (/orders/{id}/notes)


def _feed_round_plan(round_no: int) -> tuple[str, str]:
    """(job, kind): the flows alternate, the kinds take turns over each flow."""
    return ("butik_stock" if round_no % 2 == 0 else "butik_order_status"), FEED_KINDS[(round_no // 2) % len(FEED_KINDS)]


def test_sigkill_between_reading_a_feed_batch_and_acknowledging_it_loses_and_repeats_nothing(
        butik, tmp_path, state_url, zygote, dagster_home, dagster_instance, figures):
    b = butik
    shop = b.shop
    for job in ("butik_products", "butik_orders", "butik_stock"):
        assert run(b.defs, job, dagster_instance).success
    assert not feed_problems(shop, b.woo, b.sp, b.sp_store), "the clean initial sync must match the ledger"
    rng = random.Random(SEED + 2)
    kills, missed = Counter(), Counter()
    problems, left_started, rewrites_after_kill = [], 0, Counter()
    for round_no in range(FEED_ROUNDS):
        job, kind = _feed_round_plan(round_no)
        if job == "butik_stock":
            place_order(b.woo, shop, rng, 101 + round_no)  # a processing order; Specter reserves it
            assert run(b.defs, "butik_orders", dagster_instance).success
            for sku in rng.sample(sorted(shop.physical), 3):
                quantity = rng.randint(5, 80)
                b.sp.set_stock(sku, quantity)
                shop.physical[sku] = quantity
            url, route, probe = b.woo, STOCK_ROUTE, "POST /batch"
        else:
            open_orders = shop.open_orders()
            # The first half kills at the status update (a processing order), the second at the note.
            at_status = round_no < FEED_ROUNDS // 2
            pool = [o for o in open_orders if shop.orders[o]["status"] == "processing"] if at_status else open_orders
            oid = rng.choice(pool)
            number = f"00375{oid:06d}SE"
            b.sp.order_action(f"shop:{oid}", "deliver", trackingNo=number)
            shop.tracking[oid] = number
            for sku, qty in shop.lines[oid].items():
                shop.physical[sku] -= qty
            rest = [o for o in open_orders if o != oid]
            if round_no % 3 == 1 and len(rest) > 2:
                other = rng.choice(rest)
                b.sp.order_action(f"shop:{other}", "cancel")
                shop.cancelled.add(other)
            url, route, probe = b.woo, STATUS_ROUTE if at_status else NOTE_ROUTE, "POST /notes"
        killed = kill_once(zygote, tmp_path, b.cfg, url, route, kind, 1, [job], dagster_home, f"feed{round_no}",
                           probe_route=probe)
        (kills if killed else missed)[job, kind] += 1
        left_started += fail_dead_runs(dagster_instance, "its process was SIGKILLed by the Specter crash suite")
        before = data_writes(b.woo, b.sp.url)
        assert run(b.defs, job, dagster_instance).success, f"round {round_no}: re-run of {job} failed"
        if kind == "before ack":  # the batch was recorded whole: its re-read writes nothing
            rewrites_after_kill[job] += sum((data_writes(b.woo, b.sp.url) - before).values())
        for again in ("butik_stock", "butik_order_status"):  # (the other flow's feed too: it moved)
            assert run(b.defs, again, dagster_instance).success
        problems += [f"round {round_no} (killed in {job}, {kind}): {p}"
                     for p in feed_problems(shop, b.woo, b.sp, b.sp_store)]
    before = data_writes(b.woo, b.sp.url)
    for job in ("butik_products", "butik_orders", "butik_stock", "butik_order_status"):
        assert run(b.defs, job, dagster_instance).success
    rewrites = data_writes(b.woo, b.sp.url) - before
    books, dupes = book_problems(shop, b.sp, b.sp_store)
    crash = figures.setdefault("specter_crash", {})
    crash.update({
        "feed rounds (Specter counts stock or delivers and cancels orders, then the flow is killed; re-run)":
            FEED_ROUNDS,
        "stock: kills (applied / answered / writes / before ack / after ack)": " / ".join(
            str(kills["butik_stock", k]) for k in FEED_KINDS),
        "order status: kills (applied / answered / writes / before ack / after ack)": " / ".join(
            str(kills["butik_order_status", k]) for k in FEED_KINDS),
        "feeds: runs that finished before their kill point": sum(missed.values()),
        "feeds: writes by the re-read of a batch recorded before the kill (stock / order status)": (
            f"{rewrites_after_kill['butik_stock']} / {rewrites_after_kill['butik_order_status']}"),
        "feeds: orders in the shop / delivered / cancelled in Specter": (
            f"{len(shop.orders)} / {len(shop.tracking)} / {len(shop.cancelled)}"),
        "feeds: differences after a re-run (stock both sides, statuses, tracking notes, feeds drained)": len(problems),
        "feeds: duplicates in Specter, differences of its books at the end": f"{dupes} / {len(books)}",
        "feeds: writes by a run of every flow at the end": sum(rewrites.values()),
    })
    if BACKEND == "postgresql":
        crash["feeds: killed runs left STARTED (then marked failed)"] = left_started
    assert all(kills[job, k] for job in ("butik_stock", "butik_order_status") for k in FEED_KINDS), (
        dict(kills), dict(missed))
    assert not problems, "\n".join(problems[:20])
    assert not books and not dupes, books
    assert not sum(rewrites_after_kill.values()), dict(rewrites_after_kill)
    assert not rewrites, dict(rewrites)
