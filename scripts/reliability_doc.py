"""Render docs/reliability.md from docs/reliability-figures.json (written by the reliability suites).

    .venv/bin/python scripts/reliability_doc.py      # re-render from the last figures

The figures are never typed by hand: ``tests/reliability/conftest.py`` records them during the test
run and calls :func:`render` at the end of the session.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "docs" / "reliability-figures.json"
MUTATIONS = ROOT / "docs" / "reliability-mutations.json"  # written by scripts/mutate.py (make mutate)
DOC = ROOT / "docs" / "reliability.md"

SUITES = {
    "faults": ("Faults", "tests/reliability/test_faults.py",
               "Both sandboxes answer, by their own knobs, 10 % HTTP 500/502/503, 5 % 429 with Retry-After, "
               "1 % read timeouts and 1 % dropped connections (on reads and writes; half of the dropped writes "
               "after the sandbox applied them) and 10 % of writes are applied and then answered 500. "
               "Every flow (products, orders, invoices, stock) runs once per round while the catalogue, the "
               "order book and the ERP stock change between rounds; after each run the snapshot is checked "
               "against the target (it must never claim more than Fortnox holds), each run that gave up must have "
               "failed and fired the failure sensor; a final clean run must leave Fortnox equal to what the "
               "shop's raw data give (tests/reliability/oracle.py: arithmetic written in the test, not the "
               "mapping) — every SKU an article with its name, weight in grams, VAT and price without VAT, every "
               "order one document with the shop's total, VAT, shipping, rows and customer. Faults follow a "
               "per-request schedule (seeded hash of the request and its occurrence), not a shared random "
               "stream, so a run meets the same faults whatever the thread interleaving."),
    "pos_faults": ("Faults, Zettle ⇄ BigCommerce", "tests/reliability/test_pos_faults.py",
                   "The same faults on the Zettle and BigCommerce sandboxes, with 35 % of writes applied and then "
                   "answered 500 (each round writes only a few stock changes), while the till sells, the store "
                   "takes orders and prices change; products, stock and stock back run every round. After clean "
                   "runs the test's own ledger must hold: each SKU once in the store at Zettle's latest price, and "
                   "the same stock on both sides = received − sold at the till − ordered in the store. A relative "
                   "adjustment or movement sent again after its lost answer breaks it (checked: without "
                   "connectors/deltas.py the suite finds stock counted twice)."),
    "specter_faults": ("Faults, WooCommerce ⇄ Specter", "tests/reliability/test_specter_faults.py",
                       "Both sandboxes inject the faults above while products and orders (shop → Specter), stock "
                       "and order status (Specter → shop) run every round, with few attempts and no op retry so "
                       "that runs give up and leave their feed batch pending; between rounds the shop takes paid "
                       "orders, changes prices and adds products, and Specter counts stock, delivers orders with a "
                       "tracking number and cancels some. After clean runs: every shop order once in Specter for "
                       "the shop's total to the öre (worked out from the order's own lines, shipping and VAT), every "
                       "SKU one article with the shop's name and price without VAT, one customer per e-mail, the "
                       "stock in the shop = Specter's available = the test's ledger, each delivered order completed "
                       "with its tracking number in exactly one note, each cancelled one cancelled, and a final run "
                       "of every flow writes nothing. Then Specter's latency knob (longer than the connector's "
                       "timeout) makes an acknowledgement's answer get lost after Specter applied it, and a read's "
                       "answer get lost after Specter opened the batch: the next batches neither repeat nor lose a "
                       "row. It found, now fixed: a retried feed read that reaches Specter after its batch was "
                       "acknowledged opens a batch under the old number, whose rows carried that number's old time "
                       "(as_of), so a newer stock level was judged stale and acknowledged away; a row's as_of is now "
                       "when the answer came."),
    "crash": ("Crash", "tests/reliability/test_crash.py",
              "Each round is an initial sync (empty Fortnox, empty state store) of the products, orders and "
              "invoices jobs, run in a child process forked from a pre-warmed interpreter and SIGKILLed at its "
              "Nth create of one entity — articles, prices, customers, orders, invoices in turn, N seeded-random "
              "among that entity's creates still to come; the next child carries on and is killed at the next "
              "entity; then the test process re-runs the jobs. Kill points, taking turns: Fortnox applied the "
              "create and holds its answer (sandbox knobs `hold_write`, `hold_route`); the run got the answer "
              "and is about to write it to the state store; Fortnox's count of that entity's creates reached N. "
              "After each round: no duplicate article, order, invoice or customer, Fortnox equals what the "
              "shop's raw data give (oracle.py), and one more re-run writes nothing. Then a process writing the state store (one-record transactions and 3000-row "
              "batches, once inside a transaction held open) is SIGKILLed: SQLite passes PRAGMA "
              "integrity_check, and every record's snapshot, id-map rows, bindings and sync-log row are all "
              "there or all absent (on PostgreSQL through a fresh connection, after taking every table's "
              "exclusive lock)."),
    "pos_crash": ("Crash, Zettle ⇄ BigCommerce", "tests/reliability/test_pos_crash.py",
                  "A child process forked from the pre-warmed interpreter runs the pos jobs (products, stock, stock "
                  "back) and is SIGKILLed at its Nth write, the kill points taking turns: the sandbox applied the "
                  "write and holds its answer (knobs `hold_write`, `hold_route`); the run got the answer and is about "
                  "to write it to the state store; the sandbox's count of those writes reached N. Initial sync "
                  "(empty BigCommerce and state store, each round): killed at the Nth product create, then at the "
                  "absolute stock write; re-run. Stock movements (after a clean initial sync; each round the till "
                  "sells and the store takes orders first): killed at BigCommerce's relative inventory adjustment "
                  "(flow stock) or Zettle's stock movement (flow stock back). After each round every SKU must be "
                  "once in the store, both sides' stock = the test's ledger (received − sold − ordered), and one "
                  "more run of every job must write nothing. A product created twice, or a relative change sent "
                  "again after a crash (it counts twice), breaks it. It found a relative adjustment or movement the "
                  "target applied before the kill sent again by the re-run; each change now goes into the flow's "
                  "journal (state store `intents`) before it is sent and leaves it with its record's landing, and "
                  "the next push settles what a dead run left against the counts (`connectors/deltas.py`)."),
    "specter_crash": ("Crash, WooCommerce ⇄ Specter", "tests/reliability/test_specter_crash.py",
                      "A child process forked from the pre-warmed interpreter runs one flow job and is SIGKILLed, "
                      "the kill points taking turns: the sandbox applied the write and holds its answer (knobs "
                      "`hold_write`, `hold_route`); the run got the answer and is about to write it to the state "
                      "store; the sandbox's count of those writes reached N. Initial sync (empty Specter and state "
                      "store each round, the same shop): products killed at the Nth `newArticleSubmit` (two rows a "
                      "submit), orders at the Nth `newCustomerSubmit` or `newOrderSubmit`; re-run. Then one article "
                      "per SKU with the shop's name and price without VAT, one order per `externalOrderNo` for the "
                      "shop's total to the öre, one customer per e-mail, and one more run writes nothing. Feeds "
                      "(after a clean sync; each round Specter counts stock, or delivers and cancels orders, and "
                      "the shop takes an order): the stock flow killed at its stock write to the shop, the order-"
                      "status flow at its status update or tracking note, or either between recording its batch "
                      "and acknowledging it (before the acknowledgement, and after Specter took it); re-run. Then "
                      "stock on both sides = the ledger, each delivered order completed with its tracking number in "
                      "exactly one note, each cancelled one cancelled, the feeds drained, and the re-read of a "
                      "batch recorded before the kill writes nothing."),
    "events": ("Duplicate and out-of-order events", "tests/reliability/test_events.py",
               "Every change is delivered two or three times, in shuffled order: as a re-read of the window it "
               "happened in and as the change sensor's run request; "
               "stock snapshots taken at different times are replayed shuffled through the diff and push "
               "ops: an older stock level never overwrites a newer one (freshness token `as_of`)."),
    "pos_events": ("Duplicate and out-of-order events, Zettle ⇄ BigCommerce", "tests/reliability/test_pos_events.py",
                   "Both vendors' webhooks go to the real receiver (subscribed as `integrations-dagster subscribe` "
                   "does) and every flow runs when its webhook sensor asks, while both sandboxes' delivery knobs "
                   "send half of the deliveries twice, drop 15 %, delay every one and hold them in fours to send "
                   "newest first; meanwhile the till sells and refunds, the store takes orders, prices change "
                   "several times in a row and new products appear. After the changes stop the sensors are ticked "
                   "until none asks for a run (an echo loop never settles), then the poll and the reconcile run: "
                   "each SKU once in the store at Zettle's latest price, both sides' stock = the ledger, and one "
                   "more run of every flow writes nothing. Then stock levels read at different times are replayed "
                   "shuffled and twice through the flows' diff and push ops: an older level must never overwrite a "
                   "newer one (`as_of`). It found the echo (`flows/pairs.py`) leaving the reverse flow's snapshot "
                   "without `as_of`, so an older level replayed after the other flow moved a count won; the echo "
                   "now stamps the time of the write."),
    "specter_events": ("Duplicate and out-of-order events, WooCommerce ⇄ Specter",
                       "tests/reliability/test_specter_events.py",
                       "Specter's feeds answer a batch again, unchanged, until it is acknowledged. Specter counts "
                       "stock, delivers one order and cancels another; each change sensor ticks three times (one "
                       "run asked for), each feed's pending batch is read three times (the same batchNo and rows) "
                       "and every copy goes through the flow's own normalize, diff and push ops: the first writes, "
                       "the others and the runs the sensors asked for write nothing. Stock levels read a second "
                       "apart are replayed shuffled and twice through the stock flow's diff and push ops: an older "
                       "level never overwrites a newer one (`as_of`). An order's events (delivered with a tracking "
                       "number, invoiced, paid, and an older open row) replayed shuffled and twice: the shop order "
                       "stays completed and its tracking note is added once. It found, now fixed: two stock batches "
                       "asked for within one second carried the same `as_of` (the batch number's time has seconds), "
                       "so the older one's level, replayed after the newer, overwrote it (as_of now has microseconds)."),
    "bad_input": ("Bad input", "tests/reliability/test_bad_input.py",
                  "hypothesis draws malformed and hostile values per field of a WooCommerce product (missing and "
                  "wrong-typed fields, huge strings, unicode, negative/NaN quantities, 5-decimal prices, "
                  "dates in odd time zones, HTML in names); 10 000 products combine them, in batches of 500 "
                  "each with one good product, through the real normalize, diff and push ops against the Fortnox "
                  "sandbox; 20 valid products of varied shape (unicode and HTML names, 250-character names, no price, "
                  "0 kr, weights, drafts, the reduced rate) ride in each batch and every one must land: a valid "
                  "record refused is a failure too; bad YAML must name file and field."),
    "bad_input_orders": ("Bad input: orders", "tests/reliability/test_bad_input.py",
                         "hypothesis draws hostile WooCommerce orders (unknown or missing SKUs on lines, NaN "
                         "and negative quantities, 5-decimal amounts, odd currencies and time zones, bad e-mails, "
                         "HTML in names, wrong types) in batches of 500, each with one good order, through the "
                         "real orders ops into the Fortnox sandbox: each bad order is logged with a reason; 20 valid "
                         "orders per batch (unicode and HTML names, quantities 1-7, four countries, day-edge times) "
                         "must each be booked for exactly what it charged; no order is created twice."),
    "pos_bad_input": ("Bad input, Zettle → BigCommerce", "tests/reliability/test_pos_bad_input.py",
                      "Hostile Zettle products — no SKU, float, string, boolean and list price amounts, negative "
                      "prices, a 5000-character name, unicode and HTML names, no or empty variants, 99 and 100 "
                      "variants, null or non-numeric VAT, a variant without SKU among good ones, 400-character SKUs, "
                      "SKUs shared by two products, names that are numbers — mixed with good products of every "
                      "shape: created in the Zettle sandbox over HTTP and run through the real products job (twice: "
                      "the second run must change nothing), or, where Zettle's own rules refuse them, fed raw through "
                      "the job's normalize, diff and push ops with good products in the same batch; then 600 seeded "
                      "combinations of hostile field values in batches through the same ops. No run or batch may "
                      "crash, every bad record must be in the sync log with a reason that names it and stays "
                      "readable, every good record must land in BigCommerce exactly once with its name and price. "
                      "It found, now fixed: a SKU another product holds in another case (or as a variant) made the "
                      "second product overwrite the first one's name and price in the store (now refused, nothing "
                      "written); a variant left out for lack of a SKU was logged with its product's whole name "
                      "(over 5000 characters); on PostgreSQL a SKU over 300 characters failed the claim insert and no "
                      "product of the run landed (now that record fails, naming its key's length)."),
    "specter_bad_input": ("Bad input, WooCommerce ⇄ Specter", "tests/reliability/test_specter_bad_input.py",
                          "Hostile WooCommerce products — SKUs with å ä ö, spaces, commas, 61 characters or none, a "
                          "tax class without a VAT rate, negative and text prices, five decimals, HTML and 5000-"
                          "character names, a padded SKU, negative stock — and orders without an e-mail, with one "
                          "over Specter's 100 characters, a negative quantity, VAT at 7 %, a line whose SKU is no "
                          "article number, a 5000-character or HTML buyer name, a fee and a line of five decimals — "
                          "mixed with good ones: created in the WooCommerce sandbox and run through the real products "
                          "and orders jobs (twice: the second changes nothing in Specter), or, where WooCommerce's own "
                          "rules refuse them, fed as the shop's raw JSON through the jobs' ops with good records in "
                          "the batch. Then hostile Specter feed rows (no article number, quantities that are text, "
                          "NaN or with a decimal comma, sites that are no table, unknown and 400-character article "
                          "numbers; order rows without or with another shop's external number, an order the shop "
                          "lacks, tracking numbers that are not text, HTML or 5000 characters, rows that are no "
                          "record) raw through the stock and order-status ops; then 600 seeded combinations of hostile "
                          "field values per kind (shop products, shop orders, stock rows, order-status rows) in "
                          "batches through the same ops, good records riding along. No run or batch may crash, every "
                          "bad record must be in the sync log with a readable reason naming it, every good one must "
                          "land exactly once (articles, orders for the shop's total, stock, statuses and notes). It "
                          "found, now fixed: a stock row of 1e400 or 10^20 was written to the shop as a 400- or "
                          "21-digit stock quantity instead of being refused; a product priced past Decimal's 28 digits "
                          "(1e400, 10^27) crashed the products push (decimal.InvalidOperation escaped the article "
                          "exporter), so no product of its batch landed."),
    "kasse_faults": ("Faults, Rackbeat ⇄ Shopbox", "tests/reliability/test_kasse_faults.py",
                     "Both sandboxes answer 5xx, time out, drop connections and apply writes before answering 500, "
                     "and Rackbeat rate-limits with 429 and Retry-After, while the tills sell, Rackbeat's counts "
                     "change and products change on both sides; sales, stock and products both ways run every "
                     "round, then the one-time stock sync. After clean runs the test's own ledger must hold: each "
                     "till receipt one booked Rackbeat order for what the till charged (Σ quantity × price − "
                     "discount), each branch's count = the count at its Rackbeat location − what that branch sold, "
                     "each product once on each side at the same price (net × 1.25 in øre), and a last quiet run "
                     "writes nothing. A sale whose create answer is lost (applied, then 500) is booked once."),
    "kasse_crash": ("Crash, Rackbeat ⇄ Shopbox", "tests/reliability/test_kasse_crash.py",
                    "The sales flow and both product flows are SIGKILLed at each of their kill points (before the "
                    "write, after the target applied it, before the landing was recorded) and run again: every "
                    "receipt booked once, no product made twice on either side, the ledger's totals and prices."),
    "kasse_events": ("Duplicate and out-of-order events, Rackbeat ⇄ Shopbox", "tests/reliability/test_kasse_events.py",
                     "Rackbeat's webhook deliveries go to the real receiver, duplicated, dropped, delayed and "
                     "reordered, with forged tokens among them: each till ends with Rackbeat's final counts and "
                     "new products, a duplicate asks for no extra run and writes nothing, a dropped one is caught "
                     "by the schedule's run, a forged token is refused. It found the receiver still taking the "
                     "tokens of subscriptions `subscribe` had replaced (a secret cached per process); it is now "
                     "read from the state store for every delivery."),
    "kasse_bad_input": ("Bad input, Rackbeat ⇄ Shopbox", "tests/reliability/test_kasse_bad_input.py",
                        "Products with a 30-character number (Rackbeat takes 25), a price in another currency, a category without "
                        "group and no default group; receipts whose lines do not add up to their total, that sell "
                        "a SKU Rackbeat does not have, in another currency, or cancelled at the till: each fails "
                        "(or, cancelled, is not booked) alone with a reason naming it, and the rest of its batch "
                        "lands. It found a euro receipt booked as kroner and a cancelled receipt booked (holding "
                        "its goods); both are refused now."),
    "market_faults": ("Faults, hub ⇄ Tradera", "tests/reliability/test_market_faults.py",
                      "The hub plugs (WooCommerce → hub → Tradera listings, Tradera orders → hub → shop orders). "
                      "Tradera answers 10 % 5xx, 2 % read timeouts, 4 % dropped connections (half of the dropped "
                      "writes after it queued them) and 12 % of writes queued then answered 500; the shop the same, "
                      "with a quarter of its reads 5xx and 35 % of order creates applied then answered 500; the "
                      "quota is off on both sides. Runs are repeated until green (bounded) while the shop changes "
                      "prices, stock and its catalogue and buyers buy on Tradera. After clean runs: every published "
                      "shop unit one active Tradera item (its SKU in ownReferences) at the shop's price incl. VAT "
                      "in whole kronor, half up, with the shop's stock; every purchase one shop order for quantity "
                      "× price + shipping with its SKU and quantity; the shop's stock less exactly what was bought; "
                      "a quiet run writes nothing."),
    "market_crash": ("Crash, hub ⇄ Tradera", "tests/reliability/test_market_crash.py",
                     "The listing and shop-order exports are SIGKILLed after Tradera queued a create and held its "
                     "answer, after the answer came (before the binding), at the Nth create, and after the shop "
                     "made an order and held its answer; then run again. A create whose answer never came is found "
                     "by its Pending mark and the seller's items; a shop order by its meta and the buyer's e-mail. "
                     "Three cases are xfail (strict), each a bug stated in the test: Pending settled before the "
                     "binding is written (a kill between lists the batch twice), a lost create looked up before "
                     "Tradera's queue processed it (listed twice), and a lost shop order of a buyer without e-mail "
                     "(never looked up: a second order)."),
    "market_events": ("Duplicate and out-of-order events, hub ⇄ Tradera", "tests/reliability/test_market_events.py",
                      "Tradera orders read again by overlapping windows, in full and by an explicit window, an "
                      "order marked shipped coming back as updated, the ship flow run three times: one shop order "
                      "per purchase, no further shop write, one ship call. Queued creates whose request results "
                      "come only on a later run (queue_delay_s 3600, then /process): deferred, nothing sent again, "
                      "landed by one results call. Sales on both sides with the product flows run before the order "
                      "flows: the same stock on both sides at the end. Two xfail (strict): a shipped order re-sent "
                      "by key is reopened (status back to processing), and a queued price change is sent again on "
                      "every run after its result came."),
    "market_bad_input": ("Bad input, hub ⇄ Tradera", "tests/reliability/test_market_bad_input.py",
                         "Shop products with a price of 0, a 61-character SKU (Tradera keeps 60) and a VAT rate "
                         "Tradera does not take (8 %) fail alone with a reason naming them, no call spent on them; a "
                         "95-character name and a 7 100-character description are cut to Tradera's 80 and 7 000 "
                         "and listed with a warning. A Tradera order of an item listed by hand without SKU fails in "
                         "the import naming the order and item, one of a SKU the shop lacks fails in the export; "
                         "good orders land once. Bad listing settings (three shipping options without pickup, an "
                         "unknown payment type, a condition other than new/used, a negative shipping cost) fail the "
                         "run with one line naming the flow and the setting, nothing written to Tradera."),
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
                 "Distinctive fake secrets; every job runs, and with wrong credentials must fail; run logs, run "
                 "config, tags, op metadata, the sync log and the sandboxes' request logs are scanned for each "
                 "secret verbatim, URL-encoded and base64-encoded (also inside Basic auth's `key:secret`). "
                 "tests/test_secrets_repr.py makes connectors fail inside over HTTP and scans the exception chain, "
                 "its traceback and the repr of every local of every frame."),
    "postgres": ("PostgreSQL and racing runs", "tests/reliability/test_racing.py (and every suite)",
                 "All suites run a second time with the state store and Dagster's own storage (runs, events) "
                 "on PostgreSQL (the figures above, column postgresql). Two processes run the products, orders "
                 "and invoices jobs at the same instant on one empty Fortnox with an empty id map, the tag "
                 "concurrency limit bypassed (`execute_in_process`), Fortnox answering 10 ms late: the state "
                 "store's claims (one row per target, entity and key under a primary key) let one create each "
                 "record while the other waits and finds it landed (without them the test goes red: see the "
                 "mutation table). The tag limit itself: with the repository's "
                 "dagster.yaml, of two queued runs on one target the run queue starts one at a time."),
}


def stamp(duration_s: float) -> dict:
    """Where figures come from: the commit (and whether the code or tests differ from it), when, on
    which state-store backend, how long it took. Used by the reliability suites and make mutate."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", "integrations_dagster", "tests"))
    return {"commit": (git("rev-parse", "--short", "HEAD") or "unknown") + (" + local changes" if dirty else ""),
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "backend": "postgresql" if os.environ.get("INTEGRATIONS_TEST_PG_URL") else "sqlite",
            "duration_s": round(duration_s)}


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
    lines += _provenance(figures)
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
    lines += _mutations()
    lines += [
        "## Known limits",
        "",
        "- Fortnox articles carry no modification time: the stock flow uses the time it read the article "
        "as the freshness token, so the newest *read* wins, not the newest edit in Fortnox.",
        "- Orders are written once (mode `create`): an edit of an order already in Fortnox is not synced.",
        "- A SIGKILLed run worker: under the daemon the code server sees its child die and fails the run "
        "at once (seen by hand under `make demo`, not tested). If the code server dies with it (a host "
        "crash), the run stays STARTED until Dagster's run monitoring (dagster.yaml) fails it after the "
        "flow's `max_runtime_hours` (default 12): tests/test_triggers.py runs the monitor's own check on a "
        "run left STARTED under the repository's dagster.yaml and the engine's tag (FAILURE past the limit, "
        "a younger run untouched); the daemon's polling loop itself is Dagster's. Until then its flow's change sensor skips (for at most 2 h) and the "
        "per-target limit of 1 holds back queued runs on that target. The crash suite kills processes that "
        "run jobs outside any code server and marks those runs failed itself (figure above).",
        "- A claim left by a killed run on another host (container) is taken over only after 5 minutes "
        "(`CLAIM_TTL`); meanwhile a racing run waits up to 2 minutes, then fails and leaves the records to "
        "the next run. Claims cover the flow's own records: a customer shared by two orders that two racing "
        "runs with *different* change sets write could still be created twice.",
        "",
    ]
    return "\n".join(lines)


def _provenance(figures: dict) -> list[str]:
    """Where the figures come from: a complete passing run per backend (tests/reliability/conftest.py
    writes nothing after a failing or partial run)."""
    lines = ["## Provenance", "", "| backend | commit | date | duration | reliability tests passed | CI |",
             "|---|---|---|---|---|---|"]
    for backend, f in sorted(figures.items()):
        p = f.get("provenance")
        if not p:
            lines.append(f"| {backend} | _unknown: figures from before provenance was recorded_ | | | | |")
            continue
        lines.append(f"| {backend} | {p['commit']} | {p['date']} | {p['duration_s']} s | "
                     f"{p['reliability tests passed']} | {'yes' if p.get('CI') else 'no'} |")
    return lines + [""]


def _mutations() -> list[str]:
    """The mutation table of the last `make mutate` (scripts/mutate.py)."""
    lines = ["## Mutation check: each suite goes red when its mechanism is broken", "",
             "`make mutate` (scripts/mutate.py) breaks the code one named mutation at a time in a scratch copy "
             "and runs the suites named for it; first it runs them all on the unmutated copy, where each must "
             "be green. \"red\" is failing tests (an import error would count as \"error\").", ""]
    try:
        table = json.loads(MUTATIONS.read_text())
    except (FileNotFoundError, ValueError):
        return lines + ["_Not run yet._", ""]
    p = table["provenance"]
    lines += [f"Run of commit {p['commit']}, {p['date']}, state store on {p['backend']}, {p['duration_s']} s.", "",
              "| mutation | what it breaks | suite | result | seconds | the suite's first failure |",
              "|---|---|---|---|---|---|"]
    for r in table["mutations"]:
        why = r.get("first failure", "").replace("|", "\\|")
        lines.append(f"| `{r['mutation']}` | {r['breaks']} | `{r['suite']}` | **{r['verdict']}** | {r['seconds']} "
                     f"| {why} |")
    return lines + [""]


def write(figures: dict) -> None:
    DOC.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    DOC.write_text(render(figures))


if __name__ == "__main__":
    write(json.loads(FIGURES.read_text()))
    sys.stdout.write(f"wrote {DOC}\n")
