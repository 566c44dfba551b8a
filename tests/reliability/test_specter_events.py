"""Suite 3 on the third integration — duplicated and out-of-order deliveries, WooCommerce ⇄ Specter.

Specter gives stock and order events only as change batches that wait for their acknowledgement
(``read_batch`` / ``acknowledge``); a batch not yet acknowledged is answered again, unchanged, to
every read (the 99). So the same events reach the flows again and again — through the change sensor's
reads, re-reads of the pending batch, runs that read it and died before acknowledging — and late:
a batch read before another one may be pushed after it.

1. **The same pending batch, several times.** Specter counts stock, delivers one order (tracking
   number) and cancels another; the change sensors tick three times each (one run asked for, not
   three); the pending batch of each feed is read three times (the same batchNo, the same rows) and
   every copy goes through the flow's own normalize, diff and push ops: the first writes, the others
   write nothing; the run the sensor asked for writes nothing more.
2. **Stale stock levels.** Stock levels read at different times (four batches, a second apart) are
   replayed shuffled and twice each through the stock flow's diff and push ops: an older level never
   overwrites a newer one (the freshness token ``as_of``); the next run reads Specter again.
3. **Order status replayed.** An order's events — delivered with a tracking number, invoiced, paid,
   and an older "open" row — replayed shuffled and twice each: the shop order never moves back
   (completed stays completed), and the tracking note is added once.
4. **Two stock batches within one second** (a finding): their levels replayed oldest last.

Expected values are the test's own ledger (the levels it counted, the order's events it made).
"""

from __future__ import annotations

import json

import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from dagster import RunRequest, build_op_context, build_sensor_context

from flowkit import run, stats, woo_get, woo_post
from integrations_dagster.connectors.base import Window
from integrations_dagster.flows.pipeline import Fetched
from reliability.relkit import woo_stock
from specterkit import Specter, definitions

pytestmark = pytest.mark.reliability

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
COPIES = 3
VERSIONS = 4
RESOURCES = ("state", "butik__shop", "butik__erp")


def writes(url: str) -> int:
    return sum(n for route, n in stats(url)["requests"].items() if route.split(" ", 1)[0] in WRITE_METHODS)


class Butik:
    """The shop (four simple products with stock, three paid processing orders) and Specter, in sync."""

    def __init__(self, tmp_path, woo: str, specter_url: str, specter_store, instance) -> None:
        self.woo, self.sp, self.sp_store, self.instance = woo, Specter(specter_url), specter_store, instance
        self.defs = definitions(tmp_path, woo, specter_url)
        self.ids: dict[str, int] = {}
        for i in range(4):
            p = woo_post(woo, "/products", {"name": f"Händelsevara {i}", "type": "simple", "sku": f"EV-{i}",
                                            "regular_price": f"{100 + i}.00", "manage_stock": True,
                                            "stock_quantity": 50 + i})
            self.ids[f"EV-{i}"] = p["id"]
        self.physical = {sku: 50 + i for i, sku in enumerate(sorted(self.ids))}
        assert self.run("butik_products").success
        self.orders: dict[int, Counter] = {}
        for n in range(3):
            order = woo_post(woo, "/orders", {
                "status": "processing", "set_paid": True,
                "line_items": [{"product_id": self.ids[f"EV-{n}"], "quantity": 2},
                               {"product_id": self.ids["EV-3"], "quantity": 1}],
                "billing": {"first_name": "Eva", "last_name": f"Händelse {n}", "email": f"ev{n}@example.se",
                            "country": "SE"}})
            self.orders[order["id"]] = Counter({li["sku"]: int(li["quantity"]) for li in order["line_items"]})
        for job in ("butik_orders", "butik_stock"):
            assert self.run(job).success
        self.delivered: dict[int, str] = {}
        self.cancelled: set[int] = set()

    def run(self, job: str, **kw):
        return run(self.defs, job, self.instance, **kw)

    def available(self, sku: str) -> int:
        return self.physical[sku] - sum(c[sku] for oid, c in self.orders.items()
                                        if oid not in self.delivered and oid not in self.cancelled)

    def count(self, sku: str, quantity: int) -> None:
        self.sp.set_stock(sku, quantity)
        self.physical[sku] = quantity

    def deliver(self, oid: int, number: str) -> None:
        self.sp.order_action(f"shop:{oid}", "deliver", trackingNo=number)
        self.delivered[oid] = number
        for sku, qty in self.orders[oid].items():
            self.physical[sku] -= qty

    def cancel(self, oid: int) -> None:
        self.sp.order_action(f"shop:{oid}", "cancel")
        self.cancelled.add(oid)

    def fetch(self, entity: str) -> Fetched:
        """A read of the feed as the fetch op makes it: the pending batch, else a new one."""
        with build_op_context(resources={k: self.defs.resources[k] for k in RESOURCES}) as ctx:
            batch = ctx.resources.butik__erp.read_batch(entity, {})
        fetched = Fetched.of(batch.records, Window(), datetime.now(UTC), False)
        fetched.receipt = batch.receipt
        return fetched

    def push(self, job: str, fetched: Fetched | None = None, normalized=None) -> tuple[int, int]:
        """The job's own ops on one delivery (normalize, diff, push; push acknowledges its batch):
        (records the diff passed on, records it held back as older than what the shop has)."""
        job_def = self.defs.get_job_def(job)
        with build_op_context(resources={k: self.defs.resources[k] for k in RESOURCES}) as ctx:
            if normalized is None:
                normalized = job_def.graph.node_named(f"{job}_normalize").definition(ctx, fetched)
            diff = job_def.graph.node_named(f"{job}_diff").definition(ctx, normalized)
            job_def.graph.node_named(f"{job}_push").definition(ctx, diff)
        return len(diff.changes), len(normalized.records) - len(diff.changes) - diff.unchanged

    def tick(self, flow: str, cursor: str | None) -> tuple[bool, str | None]:
        """One tick of the flow's change sensor: (a run asked for, the new cursor)."""
        sensor = self.defs.get_sensor_def(f"butik_{flow}_sensor")
        with build_sensor_context(instance=self.instance, resources={"butik__erp": self.defs.resources["butik__erp"]},
                                  cursor=cursor, definitions=self.defs) as ctx:
            result = sensor(ctx)
            return isinstance(result, RunRequest), ctx.cursor

    def problems(self) -> list[str]:
        out = []
        shop = woo_stock(self.woo)
        for sku in sorted(self.ids):
            erp = [d for d in self.sp_store.find("articles") if d["articleNo"] == sku][0]
            have = Decimal(erp["stock"]["1"]) - Decimal(erp.get("reserved", {}).get("1", "0"))
            if (shop[sku], have) != (self.available(sku), self.available(sku)):
                out.append(f"{sku}: shop {shop[sku]}, Specter {have}; expected {self.available(sku)}")
        for oid in sorted(self.orders):
            status = woo_get(self.woo, f"/orders/{oid}")["status"]
            notes = [n["note"] for n in woo_get(self.woo, f"/orders/{oid}/notes")]
            want = "completed" if oid in self.delivered else "cancelled" if oid in self.cancelled else "processing"
            if status != want:
                out.append(f"shop order {oid}: {status}, expected {want}")
            noted = sum(self.delivered[oid] in n for n in notes) if oid in self.delivered else 1
            if noted != 1:
                out.append(f"shop order {oid}: its tracking number is in {noted} notes, expected 1")
        return out


@pytest.fixture
def butik(tmp_path, woo_empty, specter_empty, state_url, dagster_instance):
    return Butik(tmp_path, woo_empty.url, specter_empty.url, specter_empty.sandbox.store, dagster_instance)


def test_the_same_pending_batch_delivered_again_and_again_writes_once(butik, figures):
    b = butik
    first, second, _ = sorted(b.orders)
    b.count("EV-0", 17)
    b.count("EV-1", 18)
    b.deliver(first, "00371111111SE")
    b.cancel(second)
    asked, cursors = Counter(), {}
    for flow in ("stock", "order_status"):
        for _ in range(COPIES):  # the change notification, duplicated: one run asked for
            wanted, cursors[flow] = b.tick(flow, cursors.get(flow))
            asked[flow] += wanted
    copies = {entity: [b.fetch(entity) for _ in range(COPIES)] for entity in ("stock", "order_status")}
    same = {entity: len({c.receipt for c in got}) == 1 and all(_rows(c) == _rows(got[0]) for c in got)
            for entity, got in copies.items()}
    rng = random.Random(11)
    wrote, passed = Counter(), Counter()
    for entity, job in (("stock", "butik_stock"), ("order_status", "butik_order_status")):
        order = list(range(COPIES))
        rng.shuffle(order)
        for i in order:
            before = writes(b.woo)
            changes, _ = b.push(job, copies[entity][i])
            wrote[entity, "first" if not passed[entity] else "again"] += writes(b.woo) - before
            passed[entity] += 1 if not passed[entity] else 0
            wrote[entity, "changes"] += changes
    before = writes(b.woo) + writes(b.sp.url)
    for job in ("butik_stock", "butik_order_status"):  # the runs the sensors asked for
        assert b.run(job).success
    after_runs = writes(b.woo) + writes(b.sp.url) - before
    problems = b.problems()
    feeds = b.sp.feeds()
    figures.setdefault("specter_events", {}).update({
        "change notifications (sensor ticks) per feed / runs asked for (stock, order status)": (
            f"{COPIES} / {asked['stock']}, {asked['order_status']}"),
        "reads of one pending batch per feed / the same batchNo and rows each time": (
            f"{COPIES} / {same['stock'] and same['order_status']}"),
        "writes to the shop by the first delivery / by the repeated ones (stock)": (
            f"{wrote['stock', 'first']} / {wrote['stock', 'again']}"),
        "writes to the shop by the first delivery / by the repeated ones (order status)": (
            f"{wrote['order_status', 'first']} / {wrote['order_status', 'again']}"),
        "writes by the runs the sensors asked for after the deliveries": after_runs,
        "differences after the repeated deliveries (stock, statuses, tracking notes)": len(problems),
    })
    assert asked == Counter({"stock": 1, "order_status": 1}), asked
    assert all(same.values()), same
    assert wrote["stock", "first"] and wrote["order_status", "first"], wrote
    assert not wrote["stock", "again"] and not wrote["order_status", "again"], wrote
    assert not after_runs
    assert not problems, problems
    assert not feeds["stock"]["pending"] and not feeds["orders"]["pending"], feeds


def _rows(fetched) -> list[dict]:
    """A batch's rows without ``_as_of`` (when the answer came, not what Specter said)."""
    return [{k: v for k, v in json.loads(text).items() if k != "_as_of"} for text in fetched.raw]


def _capture(b: Butik, job: str, change, *, gap_s: float = 1.05, n: int = VERSIONS) -> list:
    """``n`` reads of one feed, each after one change and ``gap_s`` apart (batch numbers, and
    so ``as_of``, say the second): each run's normalize output."""
    out = []
    for i in range(n):
        if out and gap_s:
            time.sleep(gap_s)
        change(i)
        result = b.run(job)
        assert result.success
        out.append(result.output_for_node(f"{job}_normalize"))
    return out


def _replay(b: Butik, job: str, versions: list, rng: random.Random) -> tuple[int, int]:
    """Each version twice, shuffled, through the job's diff and push ops: (held back, passed on)."""
    replay = versions * 2
    rng.shuffle(replay)
    held = passed = 0
    for normalized in replay:
        changes, stale = b.push(job, normalized=normalized)
        held, passed = held + stale, passed + changes
    return held, passed


def test_older_stock_levels_never_overwrite_a_newer_one(butik, figures):
    b = butik
    levels = [31, 32, 33, 34]

    def count(i):
        b.count("EV-2", levels[i])

    versions = _capture(b, "butik_stock", count)
    held, passed = _replay(b, "butik_stock", versions[:-1], random.Random(5))
    shown = woo_stock(b.woo)["EV-2"]
    assert b.run("butik_stock").success  # the next run reads Specter again
    problems = b.problems()
    figures.setdefault("specter_events", {}).update({
        "stock levels (a second apart) replayed out of order, twice each / held back as older": (
            f"{2 * (VERSIONS - 1)} / {held}"),
        "shop stock after the replays / Specter's newest": f"{shown} / {b.available('EV-2')}",
    })
    assert shown == b.available("EV-2"), f"an older level overwrote the newest: {shown}"
    assert (held, passed) == (2 * (VERSIONS - 1), 0)
    assert not problems, problems


def test_order_status_replayed_never_moves_an_order_back_nor_notes_twice(butik, figures):
    b = butik
    oid = sorted(b.orders)[2]
    number = "00372222222SE"
    steps = [lambda: b.deliver(oid, number), lambda: b.sp.order_action(f"shop:{oid}", "invoice"),
             lambda: b.sp.order_action(f"shop:{oid}", "pay")]
    versions = []
    for i, step in enumerate(steps):
        if i:
            time.sleep(1.05)
        step()
        result = b.run("butik_order_status")
        assert result.success
        versions.append(result.output_for_node("butik_order_status_normalize"))
    states = [v.records[0].state for v in versions]
    # The order as Specter had it before the delivery ("open", no tracking number), a late row.
    delivered = versions[0].records[0]
    early = {"orderNo": delivered.source_id, "externalOrderNo": f"shop:{oid}", "statusId": "1",
             "deliveryStatus": "N", "invoiced": False, "paid": False, "tracking": [],
             "_as_of": (datetime.fromisoformat(delivered.as_of) - timedelta(seconds=2)).isoformat()}
    before = writes(b.woo)
    held, passed = _replay(b, "butik_order_status", versions[:-1], random.Random(8))
    for _ in range(2):
        changes, stale = b.push("butik_order_status", Fetched.of([early], Window(), datetime.now(UTC), False))
        held, passed = held + stale, passed + changes
    replay_writes = writes(b.woo) - before
    status = woo_get(b.woo, f"/orders/{oid}")["status"]
    notes = [n["note"] for n in woo_get(b.woo, f"/orders/{oid}/notes")]
    problems = b.problems()
    figures.setdefault("specter_events", {}).update({
        "order events (delivered, invoiced, paid) replayed out of order, twice each, and an older open row "
        "twice / held back as older": f"{2 * (len(versions) - 1) + 2} / {held}",
        "shop order after the replays / tracking notes": f"{status} / {sum(number in n for n in notes)}",
        "writes to the shop by the replays": replay_writes,
    })
    assert states == ["delivered", "invoiced", "paid"], states
    assert status == "completed", f"a replayed event moved the order back to {status}"
    assert sum(number in n for n in notes) == 1, notes
    assert (held, passed) == (2 * (len(versions) - 1) + 2, 0)
    assert replay_writes == 0
    assert not problems, problems


def test_stock_levels_read_within_one_second_keep_their_order(butik, figures):
    b = butik
    levels = iter(range(41, 60))

    def count(_):
        b.count("EV-1", next(levels))

    for _ in range(3):  # two reads in one second (a read takes a fraction of one)
        time.sleep(1.0 - datetime.now(UTC).microsecond / 1e6 + 0.01)
        versions = _capture(b, "butik_stock", count, gap_s=0, n=2)
        if versions[0].records[0].as_of[:19] == versions[1].records[0].as_of[:19]:
            break
    same_second = versions[0].records[0].as_of[:19] == versions[1].records[0].as_of[:19]
    held, _ = _replay(b, "butik_stock", versions[:1], random.Random(6))
    shown = woo_stock(b.woo)["EV-1"]
    figures.setdefault("specter_events", {}).update({
        "an older stock level read in the same second as the newest, replayed twice / held back as older": (
            f"2 / {held}"),
    })
    assert same_second, "the two reads must have fallen within one second"
    assert shown == b.available("EV-1"), f"an older level read in the same second overwrote the newest: {shown}"
