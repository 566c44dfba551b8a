"""Suite 1 on the third integration — WooCommerce ⇄ Specter under faults.

Both sandboxes inject 5xx, 429, timeouts, dropped connections and writes applied-then-answered-500
(``relkit.FAULTS``) while products and orders (shop → Specter), stock and order status (Specter → shop)
run every round. Between rounds, with the faults off, the shop takes paid orders and changes prices and
adds products, and Specter counts stock, delivers orders (with a tracking number) and cancels some.

After the faults stop and every flow runs clean, the oracle — the shop's own orders and the test's own
ledger of what it did, never the code under test — must hold:

* every shop order is once in Specter (one order per ``externalOrderNo``), for the shop's total incl.
  VAT to the öre (worked out here from the order's own lines, shipping and VAT);
* every SKU is one article, named as in the shop, priced without VAT at the shop's price ÷ (1 + rate);
  one customer per e-mail address;
* every SKU's stock in the shop = Specter's available quantity = the ledger (what Specter was last
  counted to, less what it delivered since, less what its open orders reserve);
* no order status lost: each delivered order completed in the shop with its tracking number in
  exactly one note, each cancelled one cancelled, the others as the shop left them;
* one more run of every flow writes nothing to either system.

The change feeds are read in acknowledged batches (``read_batch`` / ``acknowledge``): under the faults a
read fails, an acknowledgement fails; the second test makes an acknowledgement's *answer* get lost
after Specter applied it, and a read's answer get lost after Specter opened the batch (a latency longer
than the connector's timeout): nothing may be lost or delivered twice.
"""

from __future__ import annotations

import json
import random
import textwrap
import time
from collections import Counter
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from dagster import build_op_context

from flowkit import run, stats, woo_get, woo_post, woo_put
from integrations_dagster import config
from integrations_dagster.build import build_definitions
from integrations_dagster.connectors.base import Window
from integrations_dagster.flows.pipeline import Fetched
from reliability.relkit import CLEAN, FAULTS, SOAK, faults_injected, knobs, woo_stock
from specterkit import Specter

pytestmark = [pytest.mark.reliability, pytest.mark.pg_pass]  # one of the longest: see conftest

ROUNDS = 30 if SOAK else 10
JOBS = ("butik_products", "butik_orders", "butik_stock", "butik_order_status")
CENT = Decimal("0.01")
RATES = {"": Decimal(25), "reduced-rate": Decimal(12)}
EMAILS = [f"kund{i}@example.se" for i in range(4)]
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
SETTLE_S = 1.2  # how long a request the latency knob held may still be on its way to Specter's handler

TEMPLATE = """
integrations:
  - name: butik
    start_date: 2026-11-01
    connections:
      shop:
        system: woocommerce
        base_url: "{woo}"
        credentials: {{consumer_key: {{env: WOO_CONSUMER_KEY}}, consumer_secret: {{env: WOO_CONSUMER_SECRET}}}}
        settings: {{timeout: {timeout}, max_attempts: {attempts}}}
        options: {{currency: SEK, prices_include_tax: true, tax_rates: {{"": 25, "reduced-rate": 12}}}}
      erp:
        system: specter
        base_url: "{specter}"
        credentials: {{sbm_id: {{env: SPECTER_SBM_ID}}, api_user_id: {{env: SPECTER_API_USER_ID}},
                      user_key: {{env: SPECTER_USER_KEY}}, integration_key: {{env: SPECTER_INTEGRATION_KEY}}}}
        settings: {{timeout: {timeout}, max_attempts: {attempts}}}
        options: {{webshop_id: 1}}
    flows:
      products: {{entity: products, source: shop, target: erp, op_retries: {retries}, op_retry_delay_s: 0.05}}
      orders: {{entity: orders, source: shop, target: erp, mode: create, after: [products], op_retries: {retries},
                op_retry_delay_s: 0.05, options: {{statuses: [processing, completed]}}}}
      stock: {{entity: stock, source: erp, target: shop, after: [products], op_retries: {retries},
               op_retry_delay_s: 0.05}}
      order_status: {{entity: order_status, source: erp, target: shop, after: [orders], op_retries: {retries},
                      op_retry_delay_s: 0.05, options: {{mail_customer: [delivered]}}}}
"""


def definitions(tmp_path, woo: str, specter: str, *, timeout: float = 1.0, attempts: int = 6, retries: int = 2):
    path = tmp_path / "integrations.yaml"
    path.write_text(textwrap.dedent(TEMPLATE.format(woo=woo, specter=specter, timeout=timeout, attempts=attempts,
                                                    retries=retries)))
    return build_definitions(config.load(path))


def cents(value) -> Decimal:
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


def shop_charged(order: dict) -> Decimal:
    """What the customer paid, from the order's own parts: lines, shipping and fees, each with its VAT."""
    parts = [*order["line_items"], *order["shipping_lines"], *order["fee_lines"]]
    return sum((Decimal(p["total"]) + Decimal(p["total_tax"]) for p in parts), Decimal(0))


# -- the ledger: what the test did to both systems ---------------------------------------------------

class Ledger:
    """Per SKU: the quantity Specter was last counted to (or created with) less what it delivered since;
    per order: its lines, and whether Specter delivered (tracking number) or cancelled it."""

    def __init__(self) -> None:
        self.physical: dict[str, int] = {}
        self.lines: dict[int, Counter] = {}  # shop order id -> sku -> quantity
        self.tracking: dict[int, str] = {}  # delivered: shop order id -> tracking number
        self.cancelled: set[int] = set()
        self.prices: dict[str, tuple[str, str, str]] = {}  # sku -> (name, gross price, tax class)

    def available(self, sku: str) -> int:
        reserved = sum(lines[sku] for oid, lines in self.lines.items()
                       if oid not in self.tracking and oid not in self.cancelled)
        return self.physical[sku] - reserved

    def open_orders(self) -> list[int]:
        return [oid for oid in self.lines if oid not in self.tracking and oid not in self.cancelled]


def specter_available(sp_store, sku: str) -> Decimal | None:
    """Specter's available quantity of an article at its default stock site (in stock − reserved), as
    its books hold it (the sandbox's own documents, read directly)."""
    found = [d for d in sp_store.find("articles") if d["articleNo"].upper() == sku.upper()]
    if not found:
        return None
    doc = found[0]
    return Decimal(doc.get("stock", {}).get("1", "0")) - Decimal(doc.get("reserved", {}).get("1", "0"))


def add_product(woo: str, ledger: Ledger, sku: str, name: str, price: str, stock: int, tax_class: str = "") -> dict:
    product = woo_post(woo, "/products", {"name": name, "type": "simple", "sku": sku, "regular_price": price,
                                          "tax_class": tax_class, "manage_stock": True, "stock_quantity": stock})
    ledger.prices[sku] = (name, price, tax_class)
    return product


def catalogue(woo: str, ledger: Ledger) -> dict[str, tuple[int, int | None]]:
    """Six simple products (both VAT rates, öre prices) and a sweater in two sizes, each variation with
    its own stock; sku -> (product id, variation id or None)."""
    ids = {}
    for i in range(6):
        p = add_product(woo, ledger, f"SF-{i}", f"Felvara {i} åäö", f"{89 + 10 * i}.{(i * 45) % 100:02d}",
                        30 + i, "reduced-rate" if i % 3 == 2 else "")
        ids[f"SF-{i}"] = (p["id"], None)
    tee = woo_post(woo, "/products", {"name": "Tröja", "type": "variable", "sku": "SF-TROJA", "attributes": [
        {"name": "Storlek", "options": ["S", "M"], "variation": True, "visible": True}]})
    for size, qty in (("S", 25), ("M", 22)):
        var = woo_post(woo, f"/products/{tee['id']}/variations", {
            "sku": f"SF-TROJA-{size}", "regular_price": "249.00", "manage_stock": True, "stock_quantity": qty,
            "attributes": [{"name": "Storlek", "option": size}]})
        ids[f"SF-TROJA-{size}"] = (tee["id"], var["id"])
        ledger.prices[f"SF-TROJA-{size}"] = (f"Tröja {size}", "249.00", "")
    return ids


def place_order(woo: str, ledger: Ledger, rng: random.Random, ids: dict, skus: list[str]) -> dict:
    chosen = rng.sample(skus, rng.randint(1, min(3, len(skus))))
    lines = []
    for sku in chosen:
        product, variation = ids[sku]
        lines.append({"product_id": product, "quantity": rng.randint(1, 2),
                      **({"variation_id": variation} if variation else {})})
    email = rng.choice(EMAILS)
    body = {"status": rng.choice(["processing", "completed"]), "set_paid": True, "line_items": lines,
            "billing": {"first_name": "Kund", "last_name": email.split("@")[0], "email": email,
                        "address_1": "Gatan 1", "postcode": "11122", "city": "Umeå", "country": "SE"}}
    if rng.random() < 0.5:
        body["shipping_lines"] = [{"method_id": "flat_rate", "method_title": "PostNord", "total": "39.20"}]
    order = woo_post(woo, "/orders", body)
    ledger.lines[order["id"]] = Counter({li["sku"]: int(li["quantity"]) for li in order["line_items"]})
    return order


def data_writes(woo: str, specter: str) -> Counter:
    out = Counter()
    for system, url in (("WooCommerce", woo), ("Specter", specter)):
        for route, n in stats(url)["requests"].items():
            if route.split(" ", 1)[0] in WRITE_METHODS:
                out[f"{system} {route}"] += n
    return out


def problems_of(woo: str, sp: Specter, sp_store, ledger: Ledger, orders: dict[int, dict]) -> dict[str, list[str]]:
    """Every difference between both systems and the ledger, by kind."""
    out: dict[str, list[str]] = {"orders": [], "duplicates": [], "articles": [], "stock": [], "status": []}
    booked = sp_store.find("orders")
    by_external = Counter(o.get("externalOrderNo") for o in booked)
    out["duplicates"] += [f"externalOrderNo {ref} is {n} orders in Specter" for ref, n in by_external.items() if n > 1]
    emails = Counter((c.get("emailAddress") or "").lower() for c in sp_store.find("customers"))
    out["duplicates"] += [f"customer {e} is {n} customers in Specter" for e, n in emails.items() if n > 1]
    articles = Counter(d["articleNo"].upper() for d in sp_store.find("articles"))
    out["duplicates"] += [f"article {a} is {n} articles in Specter" for a, n in articles.items() if n > 1]
    held = {o.get("externalOrderNo"): o for o in booked}
    for oid, order in sorted(orders.items()):
        doc = held.get(f"shop:{oid}")
        if doc is None:
            out["orders"].append(f"shop order {oid}: lost (not in Specter)")
            continue
        charged = shop_charged(order)
        if charged != Decimal(order["total"]):
            out["orders"].append(f"shop order {oid}: its parts add up to {charged}, its total is {order['total']}")
        if Decimal(doc["totalInclVat"]) != charged:
            out["orders"].append(f"shop order {oid}: Specter's total {doc['totalInclVat']} != the shop's {charged}")
    for sku, (name, gross, tax_class) in sorted(ledger.prices.items()):
        article = sp.article(sku)
        if article is None:
            out["articles"].append(f"{sku}: lost (no article in Specter)")
            continue
        net = cents(Decimal(gross) / (1 + RATES[tax_class] / 100))
        if (article.get("name"), Decimal(article.get("priceExclVat") or "0")) != (name, net):
            out["articles"].append(f"{sku}: Specter has {article.get('name')!r} at {article.get('priceExclVat')}, "
                                   f"the shop {name!r} at {gross} ({net} without VAT)")
    shop = woo_stock(woo)
    for sku in sorted(ledger.physical):
        expected = ledger.available(sku)
        erp = specter_available(sp_store, sku)
        if (shop.get(sku), erp) != (expected, expected):
            out["stock"].append(f"{sku}: shop {shop.get(sku)}, Specter {erp}; expected {expected}")
    for oid in sorted(orders):
        now = woo_get(woo, f"/orders/{oid}")
        notes = [n["note"] for n in woo_get(woo, f"/orders/{oid}/notes")]
        if oid in ledger.tracking:
            number = ledger.tracking[oid]
            noted = sum(number in n for n in notes)
            if now["status"] != "completed" or noted != 1:
                out["status"].append(f"shop order {oid} (delivered, {number}): status {now['status']}, "
                                     f"tracking number in {noted} notes")
        elif oid in ledger.cancelled:
            if now["status"] != "cancelled":
                out["status"].append(f"shop order {oid} (cancelled in Specter): status {now['status']}")
        elif now["status"] != orders[oid]["status"]:
            out["status"].append(f"shop order {oid} (open in Specter): moved {orders[oid]['status']} → {now['status']}")
    return out


def test_every_flow_converges_under_faults_on_both_sides(tmp_path, woo_empty, specter_empty, state_url,
                                                          dagster_instance, figures):
    woo, sp = woo_empty.url, Specter(specter_empty.url)
    sp_store = specter_empty.sandbox.store
    # Few attempts and no op retry: some runs give up, and leave their batch pending for the next.
    defs = definitions(tmp_path, woo, sp.url, attempts=3, retries=0)
    ledger = Ledger()
    ids = catalogue(woo, ledger)
    ledger.physical.update({sku: q for sku, q in woo_stock(woo).items()})
    for job in ("butik_products", "butik_stock"):  # the initial sync, clean
        assert run(defs, job, dagster_instance).success
    rng = random.Random(20261207)
    orders: dict[int, dict] = {}
    failed_runs, changes, served = Counter(), Counter(), 0
    added = 0
    for round_no in range(ROUNDS):
        for url in (woo, sp.url):
            knobs(url, **CLEAN)
        # The merchant's and the ERP user's own changes (no faults on them).
        in_specter = [s for s in sorted(ledger.physical) if sp.article(s) is not None]
        for _ in range(rng.randint(1, 2)):
            order = place_order(woo, ledger, rng, ids, in_specter)
            orders[order["id"]] = order
            changes["shop orders"] += 1
        if round_no % 2 == 0:
            sku = rng.choice([s for s in in_specter if s.startswith("SF-") and "TROJA" not in s])
            price = f"{rng.randint(50, 400)}.{rng.choice(['00', '50', '95'])}"
            woo_put(woo, f"/products/{ids[sku][0]}", {"regular_price": price})
            ledger.prices[sku] = (ledger.prices[sku][0], price, ledger.prices[sku][2])
            changes["price changes"] += 1
        if round_no % 3 == 1:
            sku = f"SF-NY-{added}"
            p = add_product(woo, ledger, sku, f"Ny vara {added}", "120.00", 15)
            ids[sku], added = (p["id"], None), added + 1
            ledger.physical[sku] = 15  # created in Specter with the shop's stock
            changes["new products"] += 1
        for sku in rng.sample(in_specter, 2):
            quantity = rng.randint(20, 60)
            sp.set_stock(sku, quantity)
            ledger.physical[sku] = quantity
            changes["stock counts in Specter"] += 1
        landed = {o.get("externalOrderNo") for o in sp_store.find("orders")}
        open_landed = [oid for oid in ledger.open_orders() if f"shop:{oid}" in landed]
        if open_landed:
            oid = rng.choice(open_landed)
            if rng.random() < 0.25:
                sp.order_action(f"shop:{oid}", "cancel")
                ledger.cancelled.add(oid)
                changes["orders cancelled in Specter"] += 1
            else:
                number = f"0037{oid:07d}SE"
                sp.order_action(f"shop:{oid}", "deliver", trackingNo=number)
                ledger.tracking[oid] = number
                for sku, qty in ledger.lines[oid].items():
                    ledger.physical[sku] -= qty  # taken out of stock, no longer reserved
                changes["orders delivered in Specter"] += 1
        # Every flow under faults on both sides.
        for flow_no, job in enumerate(JOBS):
            before = sum(stats(url)["total"] for url in (woo, sp.url))
            for i, url in enumerate((woo, sp.url)):
                knobs(url, **FAULTS, seed=round_no * 100 + flow_no * 10 + i)
            failed_runs[job] += not run(defs, job, dagster_instance, raise_on_error=False).success
            for url in (woo, sp.url):
                knobs(url, **CLEAN)
            served += sum(stats(url)["total"] for url in (woo, sp.url)) - before
    injected = {"WooCommerce": faults_injected(woo), "Specter": faults_injected(sp.url)}
    # The faults stop: every flow runs clean until the feeds are drained (one batch a run).
    for _ in range(2):
        for job in JOBS:
            assert run(defs, job, dagster_instance).success, f"clean run of {job} failed"
    problems = problems_of(woo, sp, sp_store, ledger, orders)
    before = data_writes(woo, sp.url)
    for job in JOBS:
        assert run(defs, job, dagster_instance).success
    rewrites = data_writes(woo, sp.url) - before
    rate = sum(FAULTS[k] for k in ("fault_rate", "throttle_rate", "timeout_rate", "reset_rate"))
    figures.setdefault("specter_faults", {}).update({
        "rounds (products, orders, stock, order status each under faults)": ROUNDS,
        "runs that gave up under faults (products / orders / stock / order status)": " / ".join(
            str(failed_runs[j]) for j in JOBS),
        "faults injected (WooCommerce / Specter)": f"{injected['WooCommerce']} / {injected['Specter']}",
        "changes between rounds (shop orders / price changes / new products / stock counts / deliveries / "
        "cancellations)": " / ".join(str(changes[k]) for k in (
            "shop orders", "price changes", "new products", "stock counts in Specter", "orders delivered in Specter",
            "orders cancelled in Specter")),
        "SKUs checked (article, price, stock both sides)": len(ledger.physical),
        "orders in Specter / in the shop": f"{len({o.get('externalOrderNo') for o in sp_store.find('orders')})} / "
                                           f"{len(orders)}",
        "duplicates (orders, customers, articles)": len(problems["duplicates"]),
        "orders lost or off the shop's total": len(problems["orders"]),
        "articles lost or off the shop's name and price": len(problems["articles"]),
        "SKUs whose stock differs from the ledger (shop or Specter)": len(problems["stock"]),
        "order statuses lost or wrong (tracking notes twice)": len(problems["status"]),
        "writes by a final run of every flow": sum(rewrites.values()),
    })
    assert sum(injected.values()) >= 0.5 * rate * served, (injected, served)
    assert all(changes[k] for k in ("orders delivered in Specter", "orders cancelled in Specter"))
    flat = [p for kind in problems.values() for p in kind]
    assert not flat, "\n".join(flat[:30])
    assert not rewrites, dict(rewrites)


# -- an acknowledgement's answer lost, a read's answer lost ------------------------------------------

def _fetch(defs, job: str, entity: str):
    """What the fetch op hands on: the feed's batch (the pending one, else a new one), read by the
    connector as the fetch op reads it."""
    resources = {k: defs.resources[k] for k in ("state", "butik__shop", "butik__erp")}
    with build_op_context(resources=resources) as ctx:
        batch = ctx.resources.butik__erp.read_batch(entity, {})
    fetched = Fetched.of(batch.records, Window(), datetime.now(UTC), False)
    fetched.receipt = batch.receipt
    return fetched


def _push(defs, job: str, fetched) -> None:
    """The job's normalize, diff and push ops on ``fetched`` (push acknowledges its batch at the end)."""
    resources = {k: defs.resources[k] for k in ("state", "butik__shop", "butik__erp")}
    job_def = defs.get_job_def(job)
    with build_op_context(resources=resources) as ctx:
        normalized = job_def.graph.node_named(f"{job}_normalize").definition(ctx, fetched)
        diff = job_def.graph.node_named(f"{job}_diff").definition(ctx, normalized)
        job_def.graph.node_named(f"{job}_push").definition(ctx, diff)


def _keys(fetched) -> list[str]:
    out = []
    for text in fetched.raw:
        raw = json.loads(text)
        out.append(raw.get("articleNo") or raw.get("externalOrderNo"))
    return sorted(out)


def test_a_lost_acknowledgement_answer_or_read_answer_loses_and_repeats_nothing(tmp_path, woo_empty, specter_empty,
                                                                                state_url, dagster_instance, figures):
    woo, sp = woo_empty.url, Specter(specter_empty.url)
    sp_store = specter_empty.sandbox.store
    # Specter answers after 0.8 s when the latency knob is on; the connector waits 0.4 s, twice.
    defs = definitions(tmp_path, woo, sp.url, timeout=0.4, attempts=2, retries=0)
    ledger = Ledger()
    ids = catalogue(woo, ledger)
    ledger.physical.update(woo_stock(woo))  # what Specter's articles are created with
    for job in ("butik_products", "butik_stock"):
        assert run(defs, job, dagster_instance).success
    orders = {}
    rng = random.Random(7)
    for _ in range(3):
        order = place_order(woo, ledger, rng, ids, sorted(ids))
        orders[order["id"]] = order
    assert run(defs, "butik_orders", dagster_instance).success
    assert run(defs, "butik_stock", dagster_instance).success  # the orders' reservations, taken
    seen: dict[str, list[list[str]]] = {"stock": [], "order_status": []}
    lost_acks = 0

    # 1. Stock: counted in Specter; the batch read and pushed; the acknowledgement is applied by Specter
    #    but its answer never reaches the run (both attempts time out).
    for sku, quantity in (("SF-0", 11), ("SF-1", 12)):
        sp.set_stock(sku, quantity)
        ledger.physical[sku] = quantity
    fetched = _fetch(defs, "butik_stock", "stock")
    seen["stock"].append(_keys(fetched))
    knobs(sp.url, latency_ms=800)
    started = time.monotonic()
    _push(defs, "butik_stock", fetched)
    waited = [time.monotonic() - started]  # both attempts of the acknowledgement timed out (2 × 0.4 s)
    knobs(sp.url, latency_ms=0)
    time.sleep(SETTLE_S)  # the acknowledgement's second attempt has reached Specter too
    lost_acks += sp.feeds()["stock"]["pending"] is None  # Specter took it, the run never learned so
    # The next change comes in a new batch: the acknowledged rows never again, the new one once.
    sp.set_stock("SF-2", 13)
    ledger.physical["SF-2"] = 13
    result = run(defs, "butik_stock", dagster_instance)
    assert result.success
    seen["stock"].append(_keys(result.output_for_node("butik_stock_fetch")))

    # 2. Stock: a read whose answer is lost after Specter opened the batch (the run fails), then a run
    #    that reads it again through the 99 and takes it.
    sp.set_stock("SF-3", 14)
    ledger.physical["SF-3"] = 14
    knobs(sp.url, latency_ms=800)
    assert not run(defs, "butik_stock", dagster_instance, raise_on_error=False).success
    knobs(sp.url, latency_ms=0)
    time.sleep(SETTLE_S)  # the read's second attempt (same batchNo) has reached Specter too
    opened = sp.feeds()["stock"]["pending"]
    result = run(defs, "butik_stock", dagster_instance)
    assert result.success
    seen["stock"].append(_keys(result.output_for_node("butik_stock_fetch")))

    # 3. Order status: a delivery; the acknowledgement's answer lost; then a cancellation.
    first, second = sorted(orders)[:2]
    sp.order_action(f"shop:{first}", "deliver", trackingNo="00370000001SE")
    ledger.tracking[first] = "00370000001SE"
    for sku, qty in ledger.lines[first].items():
        ledger.physical[sku] -= qty
    fetched = _fetch(defs, "butik_order_status", "order_status")
    seen["order_status"].append(_keys(fetched))
    knobs(sp.url, latency_ms=800)
    started = time.monotonic()
    _push(defs, "butik_order_status", fetched)
    waited.append(time.monotonic() - started)
    knobs(sp.url, latency_ms=0)
    time.sleep(SETTLE_S)
    lost_acks += sp.feeds()["orders"]["pending"] is None
    sp.order_action(f"shop:{second}", "cancel")
    ledger.cancelled.add(second)
    result = run(defs, "butik_order_status", dagster_instance)
    assert result.success
    seen["order_status"].append(_keys(result.output_for_node("butik_order_status_fetch")))
    for job in JOBS:
        assert run(defs, job, dagster_instance).success

    found = problems_of(woo, sp, sp_store, ledger, orders)
    problems = [p for kind in found.values() for p in kind]
    ref = {f"shop:{first}", f"shop:{second}"}
    figures.setdefault("specter_faults", {}).update({
        "acknowledgements applied whose answer was lost (stock / order status)": lost_acks,
        "batch read whose answer was lost: the next run read the same batch again": opened is not None,
        "stock batches after a lost acknowledgement answer (SKUs per batch)": " | ".join(
            ",".join(b) for b in seen["stock"]),
        "differences after the lost answers": len(problems),
    })
    assert min(waited) >= 0.8, f"the acknowledgements must have timed out twice each: {waited}"
    assert lost_acks == 2, "the latency knob must have made Specter apply the acknowledgements the run lost"
    assert opened is not None, "the read whose answer was lost must have opened a batch in Specter"
    assert seen["stock"] == [["SF-0", "SF-1"], ["SF-2"], ["SF-3"]], seen["stock"]
    assert seen["order_status"] == [[f"shop:{first}"], [f"shop:{second}"]], (seen["order_status"], ref)
    assert not problems, problems


# -- a retried read that reaches Specter after its batch was acknowledged ----------------------------

LATE_LATENCY_MS = 6000  # Specter answers this late while the knob is on
LATE_TIMEOUT_S = 2.5  # the connector waits this long, twice (its retry sends the same batchNo)


def test_a_late_retry_of_a_read_loses_no_stock_change(tmp_path, woo_empty, specter_empty, state_url,
                                                      dagster_instance, figures):
    """The read of run 1 times out twice (Specter slow): the first attempt opens batch X with SF-0's
    level in Specter, the second (same batchNo X) is still on its way. Run 2 reads X through the 99
    and acknowledges it; SF-1 is counted and run 3 lands it (as of run 3's batch); SF-1 is counted
    again; then the late retry of X reaches Specter. SF-1's last count must reach the shop."""
    woo, sp = woo_empty.url, Specter(specter_empty.url)
    sp_store = specter_empty.sandbox.store
    defs = definitions(tmp_path, woo, sp.url, timeout=LATE_TIMEOUT_S, attempts=2, retries=0)
    ledger = Ledger()
    catalogue(woo, ledger)
    for job in ("butik_products", "butik_stock"):
        assert run(defs, job, dagster_instance).success
    sp.set_stock("SF-0", 40)
    knobs(sp.url, latency_ms=LATE_LATENCY_MS)
    started = time.monotonic()
    assert not run(defs, "butik_stock", dagster_instance, raise_on_error=False).success  # both attempts timed out
    knobs(sp.url, latency_ms=0)  # (requests already held keep their delay)
    while sp.feeds()["stock"]["pending"] is None:  # the first attempt opened batch X
        assert time.monotonic() - started < LATE_LATENCY_MS / 1000 + 5
        time.sleep(0.02)
    assert run(defs, "butik_stock", dagster_instance).success  # run 2: X, acknowledged
    sp.set_stock("SF-1", 41)
    assert run(defs, "butik_stock", dagster_instance).success  # run 3: SF-1 at 41
    sp.set_stock("SF-1", 42)
    before_late = time.monotonic() - started
    while sp.feeds()["stock"]["pending"] is None and time.monotonic() - started < 2 * LATE_LATENCY_MS / 1000 + 2:
        time.sleep(0.02)  # the late retry of X: Specter opens a batch under X again
    late = sp.feeds()["stock"]["pending"]
    for _ in range(3):
        assert run(defs, "butik_stock", dagster_instance).success
    shop = woo_stock(woo)
    figures.setdefault("specter_faults", {}).update({
        "late retry of a read (after its batch was acknowledged) opened a batch again": late is not None,
        "stock counted after the late retry left: seconds of slack": round(
            LATE_LATENCY_MS / 1000 + LATE_TIMEOUT_S + 0.25 - before_late, 2),
    })
    assert late is not None and late["batchNo"], "the late retry must have reached Specter after run 3"
    assert (shop["SF-1"], specter_available(sp_store, "SF-1")) == (42, 42), (shop["SF-1"], sp.feeds()["stock"])
