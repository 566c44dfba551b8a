"""Suite 1 — faults: every flow, many rounds, both sandboxes injecting 5xx, 429, timeouts, dropped
connections and writes applied-then-answered-500, while the shop and the ERP keep changing.
After a final clean run the target equals the source field by field: 0 duplicates, 0 lost."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from dagster import build_run_status_sensor_context

from flowkit import fx, fx_all, run, stats, woo_get, woo_post, woo_put
from integrations_dagster.model import Product
from reliability.oracle import (
    article_problems, cents, duplicates, order_problems, plain, shop_units, without_vat,
)
from reliability.relkit import CLEAN, FAULTS, FLOWS, SOAK, definitions, faults_injected, knobs, woo_stock

pytestmark = pytest.mark.reliability

ROUNDS = 100 if SOAK else 20
EMAILS = [f"buyer{i}@example.se" for i in range(5)]


@pytest.fixture
def alert_hook(monkeypatch, webhook_receiver):
    url, got = webhook_receiver
    monkeypatch.setenv("RELIABILITY_ALERT_URL", url)
    return got


def _mutate(rng: random.Random, woo: str, fortnox: str, round_no: int, created: list[dict]) -> int:
    """Change the shop and the ERP between runs; return how many records changed."""
    products = woo_get(woo, "/products")
    simple = [p for p in products if p["type"] == "simple" and p["sku"]]
    variable = [p for p in products if p["type"] == "variable"]
    changed = 0
    for p in rng.sample(simple, 2):
        woo_put(woo, f"/products/{p['id']}", {"regular_price": f"{rng.randint(10, 900)}.{rng.choice(['00', '50', '95'])}",
                                              "name": f"{p['name'].split(' #')[0]} #{round_no}"})
        changed += 1
    parent = rng.choice(variable)
    var = rng.choice(woo_get(woo, f"/products/{parent['id']}/variations"))
    woo_put(woo, f"/products/{parent['id']}/variations/{var['id']}", {"regular_price": f"{rng.randint(100, 500)}.00"})
    changed += 1
    if round_no % 3 == 0:
        created.append(woo_post(woo, "/products", {"name": f"Reliability item {round_no}", "type": "simple",
                                                   "sku": f"REL-{round_no}", "regular_price": "120.00",
                                                   "manage_stock": True, "stock_quantity": 5}))
        changed += 1
    line_items = [{"product_id": p["id"], "quantity": rng.randint(1, 3)} for p in rng.sample(simple, rng.randint(1, 2))]
    email = rng.choice(EMAILS)
    woo_post(woo, "/orders", {"status": rng.choice(["processing", "completed"]), "line_items": line_items,
                              "billing": {"first_name": "Test", "last_name": email.split("@")[0], "email": email,
                                          "address_1": "Gatan 1", "postcode": "11122", "city": "Stockholm",
                                          "country": "SE"}})
    changed += 1
    articles = [a["ArticleNumber"] for a in fx_all(fortnox, "articles", "Articles")]
    for number in rng.sample(articles, min(2, len(articles))):
        fx(fortnox, "PUT", f"/articles/{number}", {"Article": {"QuantityInStock": rng.randint(0, 60)}})
        changed += 1
    return changed


def _snapshot_problems(store, woo: str, fortnox: str) -> list[str]:
    """The snapshot must never claim more than the target holds."""
    problems = []
    articles = {a["ArticleNumber"]: a for a in fx_all(fortnox, "articles", "Articles")}
    snap = store.snapshot_payloads("demo.products", list(store.snapshot_frame("demo.products")["key"]))
    for key, payload in snap.items():
        for unit in Product.model_validate(payload).sellable_units():  # the snapshot's own record, read as data
            if unit.sku not in articles:
                problems.append(f"snapshot has {unit.sku}, Fortnox does not")
                continue
            full = fx(fortnox, "GET", f"/articles/{unit.sku}")["Article"]
            claims = {"Description": plain(unit.name)[:200]}
            if unit.weight is not None:
                claims["Weight"] = int((unit.weight * 1000).to_integral_value())
            if any(str(full.get(k)) != str(v) for k, v in claims.items()):
                problems.append(f"snapshot of {unit.sku} {claims} is ahead of Fortnox")
            if unit.price is not None:
                gross, rate = unit.price.amount.amount, unit.price.vat_rate
                net = without_vat(gross, rate) if unit.price.includes_vat else cents(gross)
                have = Decimal(str(fx(fortnox, "GET", f"/prices/A/{unit.sku}")["Price"]["Price"]))
                if have != net:
                    problems.append(f"snapshot price of {unit.sku} ({net}) is ahead of Fortnox ({have})")
    for flow, resource, wrapper in (("demo.orders", "orders", "Orders"), ("demo.invoices", "invoices", "Invoices")):
        refs = {d.get("ExternalInvoiceReference1") for d in fx_all(fortnox, resource, wrapper)}
        problems += [f"snapshot has {k}, Fortnox {resource} do not"
                     for k in store.snapshot_frame(flow)["key"] if k not in refs]
    stock = woo_stock(woo)
    for key, payload in store.snapshot_payloads("demo.stock", list(store.snapshot_frame("demo.stock")["key"])).items():
        if stock.get(key) is not None and Decimal(str(stock[key])) != Decimal(str(payload["quantity"])):
            problems.append(f"stock snapshot of {key} ({payload['quantity']}) is ahead of the shop ({stock[key]})")
    return problems


def test_flows_converge_under_faults(tmp_path, woo_sandbox, fortnox_empty, store, alert_hook, figures,
                                     dagster_instance):
    woo, fortnox = woo_sandbox.url, fortnox_empty.url
    defs = definitions(tmp_path, woo, fortnox, timeout=1.0, max_attempts=6, op_retries=2)
    alert_sensor = defs.get_sensor_def("integrations_failure_alert")
    instance = dagster_instance  # Dagster's storage on PostgreSQL in the PostgreSQL pass
    rng = random.Random(20261125)
    runs = gave_up = changed = faulted_requests = 0
    created: list[dict] = []
    ahead: list[str] = []
    for round_no in range(1, ROUNDS + 1):
        for url in (woo, fortnox):
            knobs(url, **CLEAN)
        if round_no > 1:
            changed += _mutate(rng, woo, fortnox, round_no, created)
        for flow_no, flow in enumerate(FLOWS):
            served = sum(stats(url)["total"] for url in (woo, fortnox))
            for i, url in enumerate((woo, fortnox)):
                knobs(url, **FAULTS, seed=round_no * 100 + flow_no * 10 + i)
            result = run(defs, f"demo_{flow}", instance=instance, raise_on_error=False)
            for url in (woo, fortnox):
                knobs(url, **CLEAN)
            faulted_requests += sum(stats(url)["total"] for url in (woo, fortnox)) - served
            runs += 1
            if not result.success:
                gave_up += 1
                event = result.get_run_failure_event()
                ctx = build_run_status_sensor_context(
                    sensor_name="integrations_failure_alert", dagster_event=event, dagster_instance=instance,
                    dagster_run=result.dagster_run).for_run_failure()
                before = len(alert_hook)
                alert_sensor(ctx)
                assert len(alert_hook) == before + 1 and f"demo_{flow}" in alert_hook[-1]["text"]
            # After every run, failed or not: the snapshot never claims more than the target holds.
            ahead += [f"round {round_no}, after {flow}: {p}" for p in _snapshot_problems(store, woo, fortnox)]
    assert not ahead, ahead[:10]
    injected = faults_injected(woo) + faults_injected(fortnox)
    # Each request meets a fault at the summed rate (before its handler); writes more. Half of the
    # expectation is far outside chance at these counts, and far above "a few".
    rate = sum(FAULTS[k] for k in ("fault_rate", "throttle_rate", "timeout_rate", "reset_rate"))
    assert injected >= 0.5 * rate * faulted_requests, (injected, faulted_requests)

    # A final clean run (full read, as the daily reconcile does) brings everything in.
    for flow in FLOWS:
        assert run(defs, f"demo_{flow}", instance=instance,
                   run_config={"ops": {f"demo_{flow}_fetch": {"config": {"full": True}}}}).success
    runs += len(FLOWS)
    units = shop_units(woo)  # from the shop's raw JSON, by the arithmetic in oracle.py
    mismatches = article_problems(fortnox, units, store.log())
    articles = [a["ArticleNumber"] for a in fx_all(fortnox, "articles", "Articles")]
    customers = [(c.get("Email") or "").lower() for c in fx_all(fortnox, "customers", "Customers")]
    order_issues, order_dupes = order_problems(woo, fortnox, "orders", ("processing", "completed"))
    invoice_issues, invoice_dupes = order_problems(woo, fortnox, "invoices", ("completed",))
    stock_fx = {a["ArticleNumber"]: Decimal(str(a["QuantityInStock"])) for a in
                (fx(fortnox, "GET", f"/articles/{n}")["Article"] for n in articles)}
    stock_issues = [f"{sku}: shop {q} != Fortnox {stock_fx.get(sku)}" for sku, q in woo_stock(woo).items()
                    if sku in stock_fx and (q is None or Decimal(q) != stock_fx[sku])]
    duplicate_count = (sum(n - 1 for n in duplicates(articles).values())
                       + sum(n - 1 for n in duplicates(customers).values()) + order_dupes + invoice_dupes)
    lost = [m for m in mismatches if "lost" in m or "refused" in m] + [
        p for p in order_issues + invoice_issues if "missing" in p]
    figures["faults"] = {
        "rounds": ROUNDS, "runs": runs, "runs that gave up (failed loudly, alert fired)": gave_up,
        "faults injected": injected, "source changes between rounds": changed,
        "shop SKUs checked (articles + price list A)": len(units),
        "articles": len(articles), "customers": len(customers),
        "orders": len(fx_all(fortnox, "orders", "Orders")), "invoices": len(fx_all(fortnox, "invoices", "Invoices")),
        "duplicates found": duplicate_count, "records lost": len(lost),
        "field mismatches after final run": len(mismatches) + len(order_issues) + len(invoice_issues) + len(stock_issues),
    }
    assert duplicate_count == 0, (duplicates(articles), duplicates(customers), order_dupes, invoice_dupes)
    assert not mismatches, mismatches[:10]
    assert not order_issues and not invoice_issues, (order_issues + invoice_issues)[:10]
    assert not stock_issues, stock_issues[:10]
    assert all(f"REL-{i}" in units for i in range(3, ROUNDS + 1, 3))


def test_a_run_that_gives_up_fails_and_fires_the_alert(tmp_path, woo_sandbox, fortnox_empty, store, alert_hook,
                                                       dagster_instance):
    """Fortnox down for good: the run fails (no silent success), the snapshot and cursor stay where
    the target left them, and the failure sensor posts the alert."""
    defs = definitions(tmp_path, woo_sandbox.url, fortnox_empty.url, max_attempts=2, op_retries=0)
    knobs(fortnox_empty.url, fault_rate=1.0)
    result = run(defs, "demo_products", instance=dagster_instance, raise_on_error=False)
    assert not result.success
    assert store.snapshot_frame("demo.products").empty and store.get_cursor("demo.products") is None
    ctx = build_run_status_sensor_context(
        sensor_name="integrations_failure_alert", dagster_event=result.get_run_failure_event(),
        dagster_instance=dagster_instance, dagster_run=result.dagster_run).for_run_failure()
    defs.get_sensor_def("integrations_failure_alert")(ctx)
    assert len(alert_hook) == 1 and "demo_products" in alert_hook[0]["text"] and "failed" in alert_hook[0]["text"]
