"""Suite 3 — duplicate and out-of-order events: each change delivered two or three times through the
change sensor, and stock versions replayed in shuffled order through the diff and push ops: no
duplicate, and an older stock level never overwrites a newer one (freshness token ``as_of``)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from dagster import RunRequest, build_op_context, build_sensor_context

from flowkit import fx, fx_all, run, woo_get, woo_post
from reliability.oracle import duplicates, order_problems
from reliability.relkit import definitions, woo_stock

pytestmark = pytest.mark.reliability


def test_duplicated_and_shuffled_events(tmp_path, woo_sandbox, fortnox_empty, store, figures, dagster_instance):
    woo, fortnox = woo_sandbox.url, fortnox_empty.url
    defs = definitions(tmp_path, woo, fortnox)
    instance = dagster_instance  # Dagster's storage on PostgreSQL in the PostgreSQL pass
    rng = random.Random(3)
    assert run(defs, "demo_products", instance=instance).success
    sensor = defs.get_sensor_def("demo_orders_sensor")
    resources = {"demo__shop": defs.resources["demo__shop"]}
    simple = [p for p in woo_get(woo, "/products") if p["type"] == "simple" and p["sku"]]
    requests_seen, runs, posted = [], 0, []
    cursor = None
    for i in range(6):
        order = woo_post(woo, "/orders", {"status": "processing",
                                          "line_items": [{"product_id": rng.choice(simple)["id"], "quantity": 1}],
                                          "billing": {"first_name": "E", "last_name": str(i),
                                                      "email": f"ev{i % 2}@example.se"}})
        posted.append(order["id"])
        # Each change is delivered two or three times: as a re-read of the window it happened in ...
        since = (datetime.fromisoformat(order["date_modified_gmt"]) - timedelta(seconds=1)).isoformat()
        requests_seen += [("window", since)] * rng.choice([2, 3])
        # ... and as the sensor's run request for it (changes in one second share one request).
        with build_sensor_context(instance=instance, resources=resources, cursor=cursor, definitions=defs) as ctx:
            req = sensor(ctx)
            if isinstance(req, RunRequest):
                requests_seen += [("sensor", None)] * rng.choice([2, 3])
                cursor = ctx.cursor
    rng.shuffle(requests_seen)
    for kind, since in requests_seen:
        config = {"ops": {"demo_orders_fetch": {"config": {"since": since}}}} if kind == "window" else None
        assert run(defs, "demo_orders", instance=instance, run_config=config).success
        runs += 1
    refs = [d["ExternalInvoiceReference1"] for d in fx_all(fortnox, "orders", "Orders")]
    emails = [(c.get("Email") or "").lower() for c in fx_all(fortnox, "customers", "Customers")]
    wanted = {f"shop:{o['id']}" for o in woo_get(woo, "/orders") if o["status"] in ("processing", "completed")}

    # Stock: versions read at different times, replayed out of order (and twice) through diff + push.
    sku = next(s for s in woo_stock(woo) if s in {a["ArticleNumber"] for a in fx_all(fortnox, "articles", "Articles")})
    job = defs.get_job_def("demo_stock")
    versions = []
    for qty in (11, 12, 13, 14):
        fx(fortnox, "PUT", f"/articles/{sku}", {"Article": {"QuantityInStock": qty}})
        result = run(defs, "demo_stock", instance=instance)
        versions.append(result.output_for_node("demo_stock_normalize"))
    replay = versions[:-1] * 2
    rng.shuffle(replay)
    stale = 0
    res = {k: defs.resources[k] for k in ("state", "demo__shop", "demo__erp")}
    for normalized in replay:
        with build_op_context(resources=res) as ctx:
            diff = job.graph.node_named("demo_stock_diff").definition(ctx, normalized)
            stale += len([c for c in normalized.records if c.key == sku]) - len([c for c in diff.changes if c.key == sku])
            job.graph.node_named("demo_stock_push").definition(ctx, diff)
    final = woo_stock(woo)[sku]
    problems, _ = order_problems(woo, fortnox, "orders", ("processing", "completed"))
    figures["events"] = {"changes": len(posted), "differences from the shop's orders": len(problems), "deliveries (duplicated, shuffled)": len(requests_seen), "runs": runs,
                         "stock versions replayed out of order": len(replay), "stale versions refused": stale,
                         "duplicates found": sum(n - 1 for n in duplicates(refs).values())
                         + sum(n - 1 for n in duplicates(emails).values()),
                         "records lost": len(wanted - set(refs))}
    assert not duplicates(refs) and not duplicates(emails)
    assert not problems, problems[:5]
    assert wanted <= set(refs)
    assert final == 14, f"an older stock level overwrote the newest: {final}"
    assert stale == len(replay)
