"""Render docs/reliability.md from docs/reliability-figures.json (written by the reliability suites).

    .venv/bin/python scripts/reliability_doc.py      # re-render from the last figures

The figures are never typed by hand: ``tests/reliability/conftest.py`` records them during the test
run and calls :func:`render` at the end of the session.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "docs" / "reliability-figures.json"
DOC = ROOT / "docs" / "reliability.md"

SUITES = {
    "faults": ("Faults", "tests/reliability/test_faults.py",
               "Both sandboxes answer, by their own knobs, 10 % HTTP 500/502/503, 5 % 429 with Retry-After, "
               "1 % read timeouts and 1 % dropped connections (on reads and writes; half of the dropped writes "
               "after the sandbox applied them) and 10 % of writes are applied and then answered 500. "
               "Every flow (products, orders, invoices, stock) runs once per round while the catalogue, the "
               "order book and the ERP stock change between rounds; after each run the snapshot is checked "
               "against the target, each run that gave up must have failed and fired the failure sensor; "
               "a final clean run must leave the target equal to the shop field by field."),
    "crash": ("Crash", "tests/reliability/test_crash.py",
              "Each round is an initial sync (empty Fortnox, empty state store) of the products, orders and "
              "invoices jobs, run in a child process forked from a pre-warmed interpreter and SIGKILLed at "
              "seeded-random points of push; the next child carries on and is killed again; then the test "
              "process re-runs the jobs. Kill points: the target applied its Nth write and holds the answer "
              "(sandbox knob `hold_write`); the run got the answer and is about to write the Nth record to the "
              "state store; the target's count of applied writes reached N. After each round: no duplicate "
              "article, order, invoice or customer, Fortnox equals the shop field by field, and one more re-run "
              "writes nothing. Then a process writing the state store (one-record transactions and 3000-row "
              "batches, once inside a transaction held open) is SIGKILLed: SQLite passes PRAGMA "
              "integrity_check, and every record's snapshot, id-map rows, bindings and sync-log row are all "
              "there or all absent (on PostgreSQL through a fresh connection, after taking every table's "
              "exclusive lock)."),
    "events": ("Duplicate and out-of-order events", "tests/reliability/test_events.py",
               "Every change is delivered two or three times, in shuffled order: as a re-read of the window it "
               "happened in and as the change sensor's run request; "
               "stock snapshots taken at different times are replayed shuffled through the diff and push "
               "ops: an older stock level never overwrites a newer one (freshness token `as_of`)."),
    "bad_input": ("Bad input", "tests/reliability/test_bad_input.py",
                  "hypothesis draws malformed and hostile values per field of a WooCommerce product (missing and "
                  "wrong-typed fields, huge strings, unicode, negative/NaN quantities, 5-decimal prices, "
                  "dates in odd time zones, HTML in names); 10 000 products combine them, in batches of 500 "
                  "each with one good product, through the real normalize, diff and push ops against the Fortnox "
                  "sandbox; bad YAML must name file and field."),
    "bad_input_orders": ("Bad input: orders", "tests/reliability/test_bad_input.py",
                         "hypothesis draws hostile WooCommerce orders (unknown or missing SKUs on lines, NaN "
                         "and negative quantities, 5-decimal amounts, odd currencies and time zones, bad e-mails, "
                         "HTML in names, wrong types) in batches of 500, each with one good order, through the "
                         "real orders ops into the Fortnox sandbox: each bad order is logged with a reason, the "
                         "good one lands, no order is created twice."),
    "books": ("Books exact: orders total what the shop charged", "tests/reliability/test_books.py",
              "hypothesis draws orders (500 per pass; `BOOKS_EXAMPLES` raises it) over Swedish rates 25/12/6/0 "
              "mixed in one order, shipping taxed, untaxed and split over the goods' rates, fees, percentage, "
              "fixed-cart and fixed-product coupons, prices entered with and without VAT, tax rounded per line "
              "or at subtotal, quantities up to 7, prices at rounding edges, Swedish and foreign addresses, "
              "orders and invoices, rows with and without VAT. The WooCommerce sandbox charges each order as "
              "WooCommerce does; the connectors map and write it; the Fortnox sandbox totals the document as "
              "Fortnox does (recorded arithmetic, whole-krona RoundOff). Checked against the shop's own "
              "figures: Total - RoundOff = the order's total, TotalVAT = its total_tax, each rate's VAT "
              "(recomputed from the rows) = its tax_lines."),
    "exposure": ("Secrets and exposure", "tests/reliability/test_exposure.py",
                 "Distinctive fake secrets; every job runs (also with wrong credentials); run logs, run config, "
                 "tags, op metadata, the sync log and the sandboxes' request logs are scanned."),
    "postgres": ("PostgreSQL and racing runs", "tests/reliability/test_racing.py (and every suite)",
                 "All suites run a second time with the state store and Dagster's own storage (runs, events) "
                 "on PostgreSQL (the figures above, column postgresql). Two processes run the products, orders "
                 "and invoices jobs at the same instant on one empty Fortnox with an empty id map, the tag "
                 "concurrency limit bypassed (`execute_in_process`), Fortnox answering 10 ms late: the state "
                 "store's claims (one row per target, entity and key under a primary key) let one create each "
                 "record while the other waits and finds it landed (without the claims this test finds 8 "
                 "duplicate customers, orders and invoices). The tag limit itself: with the repository's "
                 "dagster.yaml, of two queued runs on one target the run queue starts one at a time."),
}


def render(figures: dict) -> str:
    lines = [
        "# Reliability: nothing lost, nothing duplicated",
        "",
        "Generated by `scripts/reliability_doc.py` from `docs/reliability-figures.json`, which the "
        "reliability suites (`pytest -m reliability`, part of `make test`) write at the end of each run. "
        "Do not edit by hand.",
        "",
        "Run them alone: `.venv/bin/pytest -m reliability` (state store on SQLite), and "
        "`INTEGRATIONS_TEST_PG_URL=postgresql+psycopg2://postgres@127.0.0.1:5432/postgres .venv/bin/pytest -m reliability`.",
        "",
        "**Long soak**: `RELIABILITY_SOAK=1 .venv/bin/pytest -m reliability` runs 100 fault rounds "
        "and 50 000 hostile records (about 10-20 minutes).",
        "",
    ]
    for suite, (title, path, what) in SUITES.items():
        lines += [f"## {title}", "", f"`{path}` — {what}", ""]
        by_backend = {b: f[suite] for b, f in sorted(figures.items()) if suite in f}
        if not by_backend:
            lines += ["_No figures recorded yet._", ""]
            continue
        keys = sorted({k for f in by_backend.values() for k in f})
        lines += ["| figure | " + " | ".join(by_backend) + " |", "|---|" + "---|" * len(by_backend)]
        for k in keys:
            lines.append(f"| {k} | " + " | ".join(str(f.get(k, "")) for f in by_backend.values()) + " |")
        lines.append("")
    lines += [
        "## Known limits",
        "",
        "- Fortnox articles carry no modification time: the stock flow uses the time it read the article "
        "as the freshness token, so the newest *read* wins, not the newest edit in Fortnox.",
        "- Orders are written once (mode `create`): an edit of an order already in Fortnox is not synced.",
        "- A SIGKILLed run worker: under the daemon the code server sees its child die and fails the run "
        "at once (checked by hand: FAILURE within 1 s). If the code server dies with it (a host crash), the "
        "run stays STARTED until Dagster's run monitoring (dagster.yaml) fails it after the flow's "
        "`max_runtime_hours` (default 12; checked by hand with 0.01 h: FAILURE 36 s after its start, then "
        "the failure alert). Until then its flow's change sensor skips (for at most 2 h) and the "
        "per-target limit of 1 holds back queued runs on that target. The crash suite kills processes that "
        "run jobs outside any code server and marks those runs failed itself (figure above).",
        "- A claim left by a killed run on another host (container) is taken over only after 5 minutes "
        "(`CLAIM_TTL`); meanwhile a racing run waits up to 2 minutes, then fails and leaves the records to "
        "the next run. Claims cover the flow's own records: a customer shared by two orders that two racing "
        "runs with *different* change sets write could still be created twice.",
        "",
    ]
    return "\n".join(lines)


def write(figures: dict) -> None:
    DOC.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    DOC.write_text(render(figures))


if __name__ == "__main__":
    write(json.loads(FIGURES.read_text()))
    sys.stdout.write(f"wrote {DOC}\n")
