"""Suite 4 on the Rackbeat ⇄ Shopbox integration ("kasse", seed 003) — bad input: each bad record fails
alone, in the sync log, with a reason a person can read that names it; the rest of its batch lands.

1. **Products, till → Rackbeat** (the real ``products_to_erp`` job, run twice; no ``default_group``):
   a product whose SKU has 30 characters (a Rackbeat number holds at most 25 [help centre: how to create
   a product]), a product in a category (tag) no product group is mapped to, and good products around
   them — one with a SKU of exactly 25 characters. Then, through the job's own normalize, diff and push
   ops, a batch in which one product's price is in euro (a till in another currency: refused, never
   converted) and the others in kroner.
2. **Sales, till → Rackbeat** (the real ``sales`` job, run twice): a sale of a SKU Rackbeat has no item
   for, among good sales; then, as Shopbox's raw JSON through the job's own ops, a basket whose lines do
   not add up to its total, with good baskets riding in the same batch.
3. **A sale in another currency**: a basket in euro among baskets in kroner, through the same ops. It
   must be refused with its reason, not booked in the Rackbeat account's kroner for the same figure.
4. **A receipt cancelled at the till** (``canceled``; the till put its goods back on the shelf) is no
   sale: it must not be booked in Rackbeat, where it would hold its goods and lower the counts the
   stock flow brings back to the tills.

Each bad record: a failed sync-log row whose key and reason name it and say why (a readable line, no
traceback), the failure still open after the second run (which writes nothing); each good record
lands exactly once, with what the test worked out (``kassekit``: net = gross ÷ 1.25, a sale's total =
what the till charged).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from dagster import build_op_context

from flowkit import run
from integrations_dagster.connectors.base import Window
from integrations_dagster.flows.pipeline import Fetched
from reliability.kassekit import (
    BRANCH_LOCATION, Kasse, Ledger, Sale, data_writes, definitions, product_problems, sales_problems, sell,
    stock_problems,
)

pytestmark = pytest.mark.reliability

PRODUCTS_FLOW, SALES_FLOW = "kasse.products_to_erp", "kasse.sales"
LONG = "LANG-SKU-" + "X" * 21  # 30 characters
EXACT = "GRENSE-SKU-" + "Y" * 14  # 25 characters: lands


def readable(reason) -> bool:
    return (isinstance(reason, str) and 0 < len(reason) < 1000 and "Traceback" not in reason
            and "\n  File " not in reason)


def failures(store, flow: str) -> dict[str, str]:
    """record key -> reason of the records whose latest sync-log row is a failure."""
    open_ = store.unresolved_failures(flow)
    return {str(k): str(e) for k, e in zip(open_["record_key"], open_["error"])}


def outcomes(store, flow: str) -> Counter:
    """record key -> how many times it landed (created / linked / updated / unchanged)."""
    log = store.log(flow=flow)
    return Counter(str(k) for k, o in zip(log["record_key"], log["outcome"]) if o in ("created", "linked"))


def _ops(defs, job: str, records: list[dict], tamper=None) -> None:
    """The job's own normalize, diff and push ops on fetched raw records, as the job runs them (the
    window is not a full read); ``tamper(normalized)`` changes the mapped records before the diff."""
    job_def = defs.get_job_def(job)
    resources = {k: defs.resources[k] for k in ("state", "kasse__pos", "kasse__erp")}
    fetched = Fetched.of(records, Window(since=datetime.now(UTC) - timedelta(days=1)), datetime.now(UTC),
                         moves_cursor=False)
    with build_op_context(resources=resources) as ctx:
        normalized = job_def.graph.node_named(f"{job}_normalize").definition(ctx, fetched)
        if tamper is not None:
            tamper(normalized)
        diff = job_def.graph.node_named(f"{job}_diff").definition(ctx, normalized)
        job_def.graph.node_named(f"{job}_push").definition(ctx, diff)


def _named(failed: dict[str, str], key: str, *marks: str) -> bool:
    """``key`` failed with a readable reason, and its sync-log row (key and reason, as a person reads
    them in ``integrations-dagster log``) holds every one of ``marks``: what it is and why it failed."""
    reason = failed.get(key)
    return reason is not None and readable(reason) and all(m in f"{key} {reason}" for m in marks)


@pytest.fixture
def kasse(rackbeat_sandbox, shopbox_empty, state_url):
    return Kasse(rackbeat_sandbox.url, shopbox_empty.url)


def test_bad_products_fail_alone_and_the_rest_of_their_batch_lands(tmp_path, kasse, store, figures):
    kaffe, klaer = kasse.tag("Kaffe"), kasse.tag("Klær")
    ledger = Ledger()
    for sku, name, price in (("GOD-1", "Kaffe lys 250 g", 6990), ("GOD-2", "Kaffe mørk 500 g", 11990),
                             (EXACT, "Kaffe med lang SKU", 9995)):
        ledger.till[sku] = kasse.till_product(name, sku, price, kaffe)
        ledger.till_price[sku], ledger.names[sku], ledger.till_group[sku] = price, name, 1
    bad = {LONG: kasse.till_product("Kaffe med for lang SKU", LONG, 8990, kaffe),
           "KLAER-1": kasse.till_product("Strikkelue", "KLAER-1", 24900, klaer)}
    defs = definitions(tmp_path, kasse.rackbeat, kasse.shopbox, default_group=False, flows=("products_to_erp",))
    first = run(defs, "kasse_products_to_erp", raise_on_error=False).success
    before = data_writes(kasse.rackbeat, kasse.shopbox)
    second = run(defs, "kasse_products_to_erp", raise_on_error=False).success
    again = data_writes(kasse.rackbeat, kasse.shopbox) - before

    # A batch through the job's ops: one product's price in euro (as a till in euro would give it).
    for sku, name, price in (("GOD-3", "Kopp hvit", 7490), ("GOD-4", "Kopp sort", 7490)):
        ledger.till[sku] = kasse.till_product(name, sku, price, kaffe)
        ledger.till_price[sku], ledger.names[sku], ledger.till_group[sku] = price, name, 1
    bad["EURO-1"] = kasse.till_product("Kopp fra Europa", "EURO-1", 1200, kaffe)

    def in_euro(normalized) -> None:
        for i, record in enumerate(normalized.records):
            if record.key == "EURO-1":
                money = record.price.amount.model_copy(update={"currency": "EUR"})
                normalized.records[i] = record.model_copy(update={"price": record.price.model_copy(
                    update={"amount": money})})

    raw = [p for p in kasse.shop_products() if p["sku_code"] in ("GOD-3", "GOD-4", "EURO-1")]
    crashed = None
    try:
        _ops(defs, "kasse_products_to_erp", raw, tamper=in_euro)
    except Exception as exc:  # noqa: BLE001 - a crashed batch is what this suite is there to find
        crashed = f"{type(exc).__name__}: {exc}"

    failed = failures(store, PRODUCTS_FLOW)
    landed = outcomes(store, PRODUCTS_FLOW)
    problems, dupes = product_problems(kasse, ledger)
    why = {
        LONG: _named(failed, LONG, "30", "25"),
        "KLAER-1": _named(failed, "KLAER-1", "Klær", "default_group"),
        "EURO-1": _named(failed, "EURO-1", "EUR"),
    }
    problems += [f"{sku}: {'not in the sync log as failed' if sku not in failed else 'reason ' + repr(failed[sku])}"
                 f" — wanted a readable reason naming it and why" for sku, ok in why.items() if not ok]
    problems += [f"{sku}: reached Rackbeat" for sku in bad if kasse.rb_product(sku) is not None]
    problems += [f"{key}: failed too ({reason})" for key, reason in failed.items() if key not in bad]
    problems += [f"{sku}: landed {landed[sku]} times in the sync log" for sku in ledger.till if landed[sku] != 1]
    figures.setdefault("kasse_bad_input", {}).update({
        "products: good / bad (30-character SKU, category without group, price in euro)": (
            f"{len(ledger.till)} / {len(bad)}"),
        "products: failed in the sync log with a reason naming them": sum(why.values()),
        "products: good ones landed exactly once": sum(landed[s] == 1 for s in ledger.till),
        "products: writes by the second run (the refused ones tried again)": sum(again.values()),
    })
    assert first and second, "a bad product must not fail the run"
    assert crashed is None, crashed
    assert not dupes
    assert not problems, "\n".join(problems)
    assert not again, dict(again)


def _good_raw(basket: dict, uid: int, *, currency: str = "DKK") -> dict:
    """A copy of a real basket under another uid (a sale rung up elsewhere), in ``currency``."""
    return {**basket, "uid": uid, "currency": currency,
            "basket_items": [{**item, "basket": uid} for item in basket["basket_items"]]}


@pytest.fixture
def tills(kasse):
    """Three products in Rackbeat (made there, so no product flow runs here) and in the till; a fourth,
    GHOST-1, only in the till."""
    ledger = Ledger()
    for sku, name, net in (("SALG-1", "Kaffe", "71.92"), ("SALG-2", "Kopp", "59.92"), ("SALG-3", "Fat", "39.92")):
        kasse.rb_new_product(sku, name, net)
        ledger.till[sku] = kasse.till_product(name, sku, int(Decimal(net) * 125))
    ledger.till["GHOST-1"] = kasse.till_product("Spøkelsesvare", "GHOST-1", 4990)
    return ledger


def test_bad_sales_fail_alone_and_the_rest_of_their_batch_lands(tmp_path, kasse, tills, store, figures):
    ledger = tills
    defs = definitions(tmp_path, kasse.rackbeat, kasse.shopbox, flows=("sales",))
    for branch, lines in ((6101, [("SALG-1", 2, 0)]), (6102, [("SALG-2", 1, 500), ("SALG-3", 3, 0)]),
                          (6101, [("SALG-1", 1, 0), ("GHOST-1", 1, 0)]), (6102, [("SALG-3", 1, 0)])):
        sell(kasse, ledger, branch, lines)
    ghost = next(s for s in ledger.sales if "GHOST-1" in s.quantities())
    first = run(defs, "kasse_sales", raise_on_error=False).success
    before = data_writes(kasse.rackbeat, kasse.shopbox)
    second = run(defs, "kasse_sales", raise_on_error=False).success
    again = data_writes(kasse.rackbeat, kasse.shopbox) - before

    # Raw baskets through the job's ops: one whose lines add up to 1.00 kr less than its total, with
    # two good ones (copies of real sales under uids of their own) in the same batch.
    real = kasse.sb("GET", f"/baskets/{ledger.sales[1].uid}")
    off = {**_good_raw(real, 9_800_001), "total": real["total"] + 100}
    riders = [_good_raw(real, 9_800_002), _good_raw(kasse.sb("GET", f"/baskets/{ledger.sales[0].uid}"), 9_800_003)]
    crashed = None
    try:
        _ops(defs, "kasse_sales", [off, *riders])
    except Exception as exc:  # noqa: BLE001
        crashed = f"{type(exc).__name__}: {exc}"
    ledger.sales += [Sale(9_800_002, ledger.sales[1].branch, ledger.sales[1].lines),
                     Sale(9_800_003, ledger.sales[0].branch, ledger.sales[0].lines)]

    failed = failures(store, SALES_FLOW)
    bad_keys = {f"pos:{ghost.uid}": (str(ghost.uid), "GHOST-1", "Rackbeat"),
                "basket 9800001": ("9800001", "total")}
    why = {key: _named(failed, key, *marks) for key, marks in bad_keys.items()}
    good = [s for s in ledger.sales if s is not ghost]
    ledger.sales = good
    problems, dupes = sales_problems(kasse, ledger)
    problems += [f"{key}: {'not in the sync log as failed' if key not in failed else 'reason ' + repr(failed[key])}"
                 " — wanted a readable reason naming it and why" for key, ok in why.items() if not ok]
    problems += [f"{key}: failed too ({reason})" for key, reason in failed.items() if key not in bad_keys]
    problems += [f"pos:{uid}: booked in Rackbeat" for uid in (ghost.uid, 9_800_001)
                 if any(o["their_reference"] == f"pos:{uid}" for o in kasse.orders())]
    figures.setdefault("kasse_bad_input", {}).update({
        "sales: good / bad (a SKU Rackbeat lacks, lines not adding up to the total)": f"{len(good)} / {len(bad_keys)}",
        "sales: failed in the sync log with a reason naming them": sum(why.values()),
        "sales: good ones booked once for what the till charged": sum(
            not any(f"pos:{s.uid}" in p for p in problems) for s in good),
        "sales: writes by the second run (the refused one tried again)": sum(again.values()),
    })
    assert first and second, "a bad sale must not fail the run"
    assert crashed is None, crashed
    assert not dupes
    assert not problems, "\n".join(problems)
    assert not again, dict(again)


def test_a_sale_in_another_currency_is_refused_not_booked_as_kroner(tmp_path, kasse, tills, store, figures):
    ledger = tills
    defs = definitions(tmp_path, kasse.rackbeat, kasse.shopbox, flows=("sales",))
    sale = sell(kasse, ledger, 6101, [("SALG-1", 1, 0), ("SALG-2", 2, 0)])
    real = kasse.sb("GET", f"/baskets/{sale.uid}")
    euro = _good_raw(real, 9_700_001, currency="EUR")
    riders = [_good_raw(real, 9_700_002), _good_raw(real, 9_700_003)]
    _ops(defs, "kasse_sales", [euro, *riders])
    ledger.sales = [Sale(uid, sale.branch, sale.lines) for uid in (9_700_002, 9_700_003)]
    failed = failures(store, SALES_FLOW)
    booked = [o for o in kasse.orders() if o["their_reference"] == "pos:9700001"]
    problems = [p for p in sales_problems(kasse, ledger)[0] if "9700001" not in p]
    figures.setdefault("kasse_bad_input", {}).update({
        "a sale in euro among sales in kroner: refused with a reason / booked in Rackbeat": (
            f"{_named(failed, 'pos:9700001', 'EUR')} / {bool(booked)}"),
    })
    assert not problems, "\n".join(problems)  # the kroner sales of its batch land
    assert not booked, (f"the euro basket was booked in Rackbeat as {booked[0]['total_total']} "
                        f"{booked[0]['currency']}: the till charged {sale.charged} EUR")
    assert _named(failed, "pos:9700001", "EUR"), failed


def test_a_receipt_cancelled_at_the_till_is_not_booked(tmp_path, kasse, tills, store, figures):
    ledger = tills
    defs = definitions(tmp_path, kasse.rackbeat, kasse.shopbox, flows=("sales", "stock"))
    for sku in ("SALG-1", "SALG-2", "SALG-3"):
        for location in BRANCH_LOCATION.values():
            kasse.rb_count(sku, location, 20)
            ledger.counted[sku, location] = 20
    sell(kasse, ledger, 6101, [("SALG-1", 2, 0)])
    void = sell(kasse, ledger, 6101, [("SALG-1", 1, 0), ("SALG-2", 1, 0)])
    kasse.sb("PUT", f"/baskets/{void.uid}/cancel")  # the till voids the receipt: its goods are back
    ledger.sales.remove(void)
    sell(kasse, ledger, 6102, [("SALG-3", 3, 0)])
    for job in ("kasse_sales", "kasse_stock"):
        assert run(defs, job).success
    booked = [o for o in kasse.orders() if o["their_reference"] == f"pos:{void.uid}"]
    sales = [p for p in sales_problems(kasse, ledger)[0] if str(void.uid) not in p]
    stock = stock_problems(kasse, ledger)
    figures.setdefault("kasse_bad_input", {}).update({
        "a receipt cancelled at the till: booked in Rackbeat / branch counts off the ledger after the stock flow": (
            f"{bool(booked)} / {len(stock)}"),
    })
    assert not sales, "\n".join(sales)  # the receipts not cancelled are booked
    assert not booked, (f"receipt {void.uid}, cancelled at the till, was booked in Rackbeat as order "
                        f"{booked[0]['number']} ({booked[0]['total_total']}), holding its goods")
    assert not stock, "\n".join(stock)
