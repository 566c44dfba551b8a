"""Suite 4 on the second integration — bad input, Zettle → BigCommerce: hostile Zettle products go
through the real products flow; no run crashes, every bad record is in the sync log with a reason a
person can read that names the record, and every good record lands in BigCommerce exactly once.

1. **Named cases.** Products without a SKU, with a float, string or boolean price amount, a price
   that is a list, a negative price, a 5000-character name, unicode and HTML names, no variants, 99
   and 100 variants, a null or non-numeric ``vatPercentage``, a variant without a SKU among good
   ones, a name that is a number, variants that are not a list, two products with one SKU — mixed
   with good products of every shape. Each is created in the Zettle sandbox over its HTTP API; what
   the sandbox refuses (Zettle's own rules: integer money, 1..99 variants, a percentage, a UUID) is
   fed as fetched raw records through the flow's own normalize, diff and push ops, with good products
   in the same batch. The real ``pos_products`` job runs twice (the second run must change nothing
   in the store). Cases that find a bug have a test of their own: SKUs over 300 characters, a SKU
   shared by two products in another case or as a variant, a reason quoting a 5000-character name.
2. **Generated.** Seeded combinations of hostile field values (ids, names, rates, money, variants,
   options, dates, web-shop data) in batches through the same ops, each batch with good products: no
   batch crashes, every record either lands or is logged with a reason, the good ones land.

Expected outcomes are the test's own reading of the vendors' rules (BigCommerce: name 1..250 and
unique, SKU ≤ 255 and unique whatever its case, price ≥ 0), never the code under test.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import requests
from dagster import build_op_context

from flowkit import run, stats
from integrations_dagster.connectors.base import Window
from integrations_dagster.flows.pipeline import Fetched
from reliability.relkit import SOAK
from zettlekit import BigCommerce, Zettle, definitions

pytestmark = pytest.mark.reliability

HUGE = "Ω" * 5000
NAME_MAX = 250  # BigCommerce: a product name is 1..250 characters [spec: ProductPost.name]


def uid() -> str:
    return str(uuid.uuid1())


def variant(sku, amount=9900, currency="SEK", options: dict | None = None, **extra) -> dict:
    price = amount if isinstance(amount, dict) or amount is None else {"amount": amount, "currencyId": currency}
    return {"uuid": uid(), "name": " ".join((options or {}).values()) or None, "sku": sku, "price": price,
            "options": [{"name": k, "value": v} for k, v in (options or {}).items()], **extra}


def product(name, variants, vat="25", option_names=(), **extra) -> dict:
    body = {"uuid": uid(), "name": name, "vatPercentage": vat, "variants": variants, **extra}
    if option_names:
        body["variantOptionDefinitions"] = {"definitions": [
            {"name": n, "properties": [{"value": x} for x in dict.fromkeys(
                o["value"] for v in variants for o in v["options"] if o["name"] == n)]} for n in option_names]}
    return body


def sized(name: str, skus: list[str], amount: int = 19900) -> dict:
    return product(name, [variant(s, amount, options={"Storlek": s.rsplit("-", 1)[-1]}) for s in skus],
                   option_names=["Storlek"])


@dataclass
class Case:
    """One Zettle product and what must become of it: ``land`` (``skus`` in the store exactly once,
    under ``name`` at ``price`` kr), ``log`` (a failed sync-log row naming it, and none of ``gone``
    in the store), ``part`` (``skus`` land, the variants without SKU are logged), or ``either`` (where
    no vendor rule settles it: it lands as ``land`` says, or is logged as ``log`` says)."""

    label: str
    body: dict
    expect: str
    skus: list[str] = field(default_factory=list)
    name: str | None = None
    price: float | None = None
    gone: list[str] = field(default_factory=list)
    route: str = ""  # "http" (the Zettle sandbox took it) or "raw" (fed through the ops)


def cases() -> list[Case]:
    """Good and hostile products, in the order a merchant might have made them."""
    good = [
        Case("simple", product("Mugg Sten", [variant("G-MUG", 24900)]), "land", ["G-MUG"], "Mugg Sten", 249.0),
        Case("unicode name", product("Kaffekopp ☕ 雪 Åäö", [variant("G-UNI", 8900)], vat="12"), "land", ["G-UNI"],
             "Kaffekopp ☕ 雪 Åäö", 89.0),
        Case("HTML in name", product("<b>Fet</b> <script>alert(1)</script> skål", [variant("G-HTML", 15000)]), "land",
             ["G-HTML"], "<b>Fet</b> <script>alert(1)</script> skål", 150.0),
        Case("huge name (5000 characters)", product("Lång " + HUGE, [variant("G-HUGE", 5000)]), "land", ["G-HUGE"],
             ("Lång " + HUGE)[:NAME_MAX], 50.0),
        Case("null vatPercentage", product("Utan momssats", [variant("G-NOVAT", 10000)], vat=None), "land",
             ["G-NOVAT"], "Utan momssats", 100.0),
        Case("open price (set at the till)", product("Öppet pris", [variant("G-OPEN", None)]), "land", ["G-OPEN"],
             "Öppet pris", 0.0),
        Case("SKU padded with spaces", product("Mellanslag", [variant("  G-PAD  ", 1200)]), "land", ["G-PAD"],
             "Mellanslag", 12.0),
        Case("too long barcode", product("Streckkod", [variant("G-EAN", 3300, barcode="1" * 40)]), "land", ["G-EAN"],
             "Streckkod", 33.0),
        Case("variants", sized("T-shirt Bas", ["G-TS-S", "G-TS-M", "G-TS-L"]), "land", ["G-TS-S", "G-TS-M", "G-TS-L"],
             "T-shirt Bas"),
        Case("99 variants (Zettle's maximum)", sized("Nittionio", [f"G-99-{i:02d}" for i in range(99)], 1000), "land",
             [f"G-99-{i:02d}" for i in range(99)], "Nittionio"),
    ]
    mixed = product("Blandad", [variant("G-MIX-A", 4000, options={"Färg": "Röd"}),
                                variant(None, 4000, options={"Färg": "Blå"}),
                                variant("G-MIX-C", 4000, options={"Färg": "Grön"})], option_names=["Färg"])
    dup_first = product("Dubblett ett", [variant("DUP-1", 1000)])
    dup_second = product("Dubblett två", [variant("DUP-1", 2000)])
    bad = [
        Case("a variant without SKU among good ones", mixed, "part", ["G-MIX-A", "G-MIX-C"], "Blandad"),
        Case("no SKU", product("Utan SKU", [variant(None, 5000)]), "log"),
        Case("empty SKU", product("Tom SKU", [variant("   ", 5000)]), "log"),
        Case("no variant has a SKU", product("Inga SKU", [variant(None, 100, options={"S": "1"}),
                                                        variant("", 100, options={"S": "2"})], option_names=["S"]),
             "log"),
        Case("float amount", product("Flyttal", [variant("B-FLOAT", 99.5)]), "log", gone=["B-FLOAT"]),
        Case("string amount", product("Textbelopp", [variant("B-STR", "9900")]), "log", gone=["B-STR"]),
        Case("boolean amount", product("Sant belopp", [variant("B-BOOL", True)]), "log", gone=["B-BOOL"]),
        Case("price is a list", product("Listpris", [variant("B-LIST", [9900])]), "log", gone=["B-LIST"]),
        Case("negative price", product("Minuspris", [variant("B-NEG", -100)]), "log", gone=["B-NEG"]),
        Case("missing variants", {k: v for k, v in product("Inga varianter", []).items() if k != "variants"}, "log"),
        Case("empty variants", product("Tomma varianter", []), "log"),
        Case("variants not a list", product("Konstiga varianter", "S,M,L"), "log"),
        Case("a variant not an object", product("Siffervariant", [7]), "log"),
        Case("vatPercentage not a number", product("Moms abc", [variant("B-VAT", 1000)], vat="abc"), "log",
             gone=["B-VAT"]),
        Case("name is a number", product(12345, [variant("B-NUM", 1000)]), "log", gone=["B-NUM"]),
        Case("no name", product("", [variant("B-NONAME", 1000)]), "log", gone=["B-NONAME"]),
        Case("100 variants (over Zettle's maximum)", sized("Hundra", [f"B-100-{i:03d}" for i in range(100)], 1000),
             "either", [f"B-100-{i:03d}" for i in range(100)], "Hundra"),
        Case("duplicate SKU: first", dup_first, "land", ["DUP-1"], "Dubblett ett", 10.0),
        Case("duplicate SKU: second", dup_second, "log"),
    ]
    return good + bad


def long_sku_cases() -> list[Case]:
    """SKUs longer than the state store's keys (300), among good products: the store refuses a
    product SKU over 255 characters; a variant's SKU has no documented limit (landing or a logged
    refusal both do)."""
    return [
        Case("400-character SKU", product("Lång SKU", [variant("L" * 400, 1000)]), "log", gone=["L" * 400]),
        Case("400-character variant SKU", product("Lång variant", [
            variant("V" * 400, 1000, options={"Val": "A"}), variant("B-LONGV-B", 1000, options={"Val": "B"})],
            option_names=["Val"]), "either", ["V" * 400, "B-LONGV-B"], "Lång variant"),
        Case("good neighbour", product("Granne ett", [variant("G-NB-1", 1100)]), "land", ["G-NB-1"], "Granne ett", 11.0),
        Case("good neighbour", product("Granne två", [variant("G-NB-2", 1200)]), "land", ["G-NB-2"], "Granne två", 12.0),
    ]


def shared_sku_cases() -> list[Case]:
    """Two products holding one SKU where only BigCommerce can tell (its SKUs are unique whatever
    their case): the first must land as it is, the second be logged."""
    return [
        Case("duplicate SKU in another case: first", product("Versaler", [variant("DUP-CASE", 3000)]), "land",
             ["DUP-CASE"], "Versaler", 30.0),
        Case("duplicate SKU in another case: second", product("Gemener", [variant("dup-case", 4000)]), "log"),
        Case("a simple product's SKU as a variant's: simple", product("Ensam", [variant("DUP-X", 5000)]), "land",
             ["DUP-X"], "Ensam", 50.0),
        Case("a simple product's SKU as a variant's: variants", product("Familj", [
            variant("DUP-X", 6000, options={"Val": "A"}), variant("DUP-X-B", 6000, options={"Val": "B"})],
            option_names=["Val"]), "log"),
    ]


def raw_good(n: int, tag: str) -> list[Case]:
    """Good products that ride along in a batch of raw records (they are not in Zettle)."""
    out = []
    for i in range(n):
        sku = f"RG-{tag}-{i}"
        name = f"Rå vara {tag} {i} ÅÄÖ"
        out.append(Case(f"good raw {sku}", product(name, [variant(sku, 1000 + i * 100)]), "land", [sku], name,
                        (1000 + i * 100) / 100, route="raw"))
    return out


def names_of(case: Case) -> list[str]:
    """What a person would recognise the record by: its uuid, the start of its name, its SKUs."""
    body = case.body
    out = [str(body.get("uuid"))]
    if isinstance(body.get("name"), str) and body["name"].strip():
        out.append(body["name"].strip()[:40])
    elif body.get("name") is not None:
        out.append(str(body["name"]))
    for v in body.get("variants") if isinstance(body.get("variants"), list) else []:
        if isinstance(v, dict):
            if isinstance(v.get("sku"), str) and v["sku"].strip():
                out.append(v["sku"].strip()[:40])
            out.append(str(v.get("uuid")))
    return out


def readable(reason) -> bool:
    return isinstance(reason, str) and 0 < len(reason) < 2000 and "Traceback" not in reason and "\n  File " not in reason


# -- the store as the test reads it (HTTP) ----------------------------------------------------------

def store_products(bc: BigCommerce) -> list[dict]:
    out, page = [], 1
    while True:
        body = bc.call("GET", "/v3/catalog/products", include="variants", limit=250, page=page)
        out += body["data"]
        if page >= body["meta"]["pagination"]["total_pages"]:
            return out
        page += 1


def by_sku(products: list[dict]) -> dict[str, list[tuple[dict, dict]]]:
    """casefolded SKU -> every (product, variant) holding it."""
    out: dict[str, list] = {}
    for p in products:
        for v in p.get("variants") or []:
            if v.get("sku"):
                out.setdefault(v["sku"].casefold(), []).append((p, v))
    return out


def landing_problems(case: Case, index: dict, products: list[dict]) -> list[str]:
    """What is wrong with a record that must land: each SKU once, in one product, with its name and price."""
    problems = []
    held = [index.get(s.casefold(), []) for s in case.skus]
    for sku, found in zip(case.skus, held):
        if len(found) != 1:
            problems.append(f"{case.label}: SKU {sku[:40]} is {len(found)} times in the store")
    ids = {p["id"] for found in held for p, _ in found}
    if len(ids) == 1:
        shown = next(p for found in held for p, _ in found)
        if case.name is not None and shown["name"] != case.name:
            problems.append(f"{case.label}: the store names it {shown['name'][:60]!r}, not {case.name[:60]!r}")
        if case.price is not None and shown["price"] != case.price:
            problems.append(f"{case.label}: the store's price is {shown['price']}, not {case.price}")
        own = {s.casefold() for s in case.skus}
        extra = [v["sku"] for v in shown.get("variants") or [] if v.get("sku") and v["sku"].casefold() not in own]
        if extra:
            problems.append(f"{case.label}: its product in the store also holds {extra[:5]}")
    elif ids:
        problems.append(f"{case.label}: its SKUs are spread over {len(ids)} products")
    return problems


def logged(case: Case, failed) -> list[str]:
    """The readable reasons of the failed sync-log rows naming ``case``."""
    marks = names_of(case)
    return [e for k, e in zip(failed["record_key"].astype(str), failed["error"])
            if any(m in f"{k} {e}" for m in marks) and readable(e)]


def _ops(defs, records: list[dict]):
    """The products flow's own normalize, diff and push ops on fetched raw records, as the job runs them.
    The window is not a full read: the diff must not take what this batch lacks as deleted."""
    job = defs.get_job_def("pos_products")
    resources = {k: defs.resources[k] for k in ("state", "pos__till", "pos__shop")}
    fetched = Fetched.of(records, Window(since=datetime.now(UTC) - timedelta(days=1)), datetime.now(UTC),
                         moves_cursor=False)
    with build_op_context(resources=resources) as ctx:
        normalized = job.graph.node_named("pos_products_normalize").definition(ctx, fetched)
        diff = job.graph.node_named("pos_products_diff").definition(ctx, normalized)
        job.graph.node_named("pos_products_push").definition(ctx, diff)
        return ctx.run_id, normalized


@pytest.fixture
def pos(tmp_path, state_url, zettle_empty, bigcommerce_empty):
    requests.post(f"{bigcommerce_empty.url}/__sandbox__/bigcommerce/quota", json={"requests": 100_000, "window_ms": 30_000},
                  timeout=10).raise_for_status()
    return (Zettle(zettle_empty.url), BigCommerce(bigcommerce_empty.url),
            definitions(tmp_path, zettle_empty.url, bigcommerce_empty.url, settings={"timeout": 10}),
            bigcommerce_empty.url)


def check_named(pos, store, all_cases: list[Case], tag: str) -> dict:
    """Create each case in Zettle (or, refused there, feed it raw through the ops with good riders),
    run the real job twice; what went wrong, as figures and lists."""
    zt, bc, defs, bc_url = pos
    raw: list[Case] = []
    for case in all_cases:  # the Zettle sandbox takes it over HTTP, or refuses it by Zettle's rules
        resp = requests.post(f"{zt.url}/products/organizations/self/products", json=case.body, headers=zt.headers,
                             timeout=10)
        if resp.status_code < 300:
            case.route = "http"
        else:
            assert resp.status_code in (400, 422), (case.label, resp.status_code, resp.text)
            case.route = "raw"
            raw.append(case)
    crashed = []
    if not run(defs, "pos_products", raise_on_error=False).success:
        crashed.append("the first pos_products run")
    riders = raw_good(5, tag)
    try:
        _ops(defs, [c.body for c in raw] + [c.body for c in riders])
    except Exception as exc:  # noqa: BLE001 - counted: a crashed batch is what this suite exists to find
        crashed.append(f"the raw batch ({type(exc).__name__}: {str(exc)[:300]})")
    all_cases = all_cases + riders
    before, listed = writes(bc_url), store_products(bc)
    if not run(defs, "pos_products", raise_on_error=False).success:
        crashed.append("the second pos_products run")
    again = writes(bc_url) - before  # (a refused record is tried again: refused again, nothing written)

    products = store_products(bc)
    index = by_sku(products)
    log = store.log(flow="pos.products")
    failed = log[log["outcome"] == "failed"]
    problems = []
    for case in all_cases:
        lands = case.expect in ("land", "part") or (
            case.expect == "either" and any(s.casefold() in index for s in case.skus))
        if lands:
            problems += landing_problems(case, index, products)
        if case.expect == "part" and not any("SKU" in r for r in logged(case, failed)):
            problems.append(f"{case.label}: its variant without SKU is not in the sync log with a reason")
        if case.expect == "log" or (case.expect == "either" and not lands):
            if not logged(case, failed):
                problems.append(f"{case.label} ({case.route}): not in the sync log with a readable reason naming it")
            problems += [f"{case.label}: SKU {s[:40]} reached the store" for s in case.gone if s.casefold() in index]
    changed = {p["id"] for p in products} ^ {p["id"] for p in listed} | {
        p["id"] for p in products for q in listed if p["id"] == q["id"] and p != q}
    problems += [f"a second run changed the store's product {i}" for i in sorted(changed)]
    expected_skus = {s.casefold() for c in all_cases if c.expect in ("land", "part") for s in c.skus}
    return {"cases": all_cases, "crashed": crashed, "problems": problems, "failed": failed,
            "unreadable": [e for e in failed["error"] if not readable(e)], "retries": sum(again.values()),
            "changed": len(changed),
            "expected_skus": expected_skus, "held_skus": expected_skus & set(index)}


WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def writes(url: str) -> Counter:
    """Data writes the sandbox served so far, by route."""
    return Counter({route: n for route, n in stats(url)["requests"].items()
                    if route.split(" ", 1)[0] in WRITE_METHODS})


def test_hostile_zettle_products_never_crash_the_products_flow(pos, store, figures):
    got = check_named(pos, store, cases(), "A")
    all_cases, failed = got["cases"], got["failed"]
    figures.setdefault("pos_bad_input", {}).update({
        "named cases (good / hostile)": f"{sum(c.expect == 'land' for c in all_cases)} / "
                                        f"{sum(c.expect != 'land' for c in all_cases)}",
        "taken by the Zettle sandbox over HTTP / refused by it, fed raw through the ops": (
            f"{sum(c.route == 'http' for c in all_cases)} / {sum(c.route == 'raw' for c in all_cases)}"),
        "failed sync-log rows (with a readable reason)": f"{len(failed)} ({len(failed) - len(got['unreadable'])})",
        "good SKUs expected in the store / held there exactly": (
            f"{len(got['expected_skus'])} / {len(got['held_skus'])}"),
        "runs or op batches crashed": len(got["crashed"]),
        "store products a second run changed (its refused retries)": f"{got['changed']} ({got['retries']})",
        "differences (named cases)": len(got["problems"]),
    })
    assert not got["crashed"], got["crashed"]
    assert not got["unreadable"], got["unreadable"][:5]
    assert not got["problems"], "\n".join(got["problems"])


def test_a_sku_longer_than_the_state_stores_keys_stops_nothing_else(pos, store, figures):
    got = check_named(pos, store, long_sku_cases(), "L")
    figures.setdefault("pos_bad_input", {}).update({
        "400-character SKUs among good products: runs or batches crashed / differences": (
            f"{len(got['crashed'])} / {len(got['problems'])}"),
    })
    assert not got["crashed"], got["crashed"]
    assert not got["unreadable"], got["unreadable"][:5]
    assert not got["problems"], "\n".join(got["problems"])


def test_products_sharing_a_sku_leave_the_first_one_alone(pos, store, figures):
    got = check_named(pos, store, shared_sku_cases(), "S")
    figures.setdefault("pos_bad_input", {}).update({
        "products sharing a SKU only BigCommerce tells apart (pairs) / differences": (
            f"2 / {len(got['problems'])}"),
    })
    assert not got["crashed"], got["crashed"]
    assert not got["unreadable"], got["unreadable"][:5]
    assert not got["problems"], "\n".join(got["problems"])


# -- generated hostile records ------------------------------------------------------------------------

FUZZ = 3000 if SOAK else 600
BATCH = 150
GOOD_PER_BATCH = 5

MONEY = [{"amount": 9900, "currencyId": "SEK"}, {"amount": 9.5, "currencyId": "SEK"}, {"amount": "9900"},
         {"amount": None, "currencyId": "SEK"}, None, "99 kr", {"amount": -1, "currencyId": "SEK"},
         {"amount": True, "currencyId": "SEK"}, {"currencyId": "SEK"}, {"amount": 10 ** 20, "currencyId": "SEK"},
         {"amount": 100, "currencyId": None}, [1, 2], {"amount": float("nan"), "currencyId": "SEK"}]
TEXT = ["Vara", "", None, "   ", HUGE, "ÅÄÖ 雪 🎉", "<script>alert(1)</script>", 42, ["x"], {"a": 1}, "\x00nul",
        "a\nb", "ǅ" * 300]
VAT = ["25", "12.5", "6", None, "", "abc", 25, -5, "1e400", [], "NaN", 100, "0"]
DATES = ["2026-11-25T10:00:00.000+0000", "not a date", None, 5, "2026-02-30T00:00:00.000+0000", ""]


def _hostile(rng: random.Random, n: int) -> dict:
    def pick(pool):
        return rng.choice(pool)

    def one_variant(i: int):
        if rng.random() < 0.05:
            return pick([7, None, "x", []])
        sku = pick([f"FZ-{n}-{i}", f"FZ-{n}-{i}", "", None, "  ", "L" * 300, 7, "FZ-DUP", "fz-dup", "ÅÄÖ-SKU"])
        v = {"uuid": pick([uid(), uid(), None, "nope", 5]), "sku": sku, "price": pick(MONEY)}
        if rng.random() < 0.3:
            v["name"] = pick(TEXT)
        if rng.random() < 0.3:
            v["options"] = pick([[{"name": "Färg", "value": pick(["Röd", "Blå", "", None, 3])}], "x", None,
                                 [{"value": "Röd"}], [7]])
        if rng.random() < 0.2:
            v["vatPercentage"] = pick(VAT)
        if rng.random() < 0.2:
            v["barcode"] = pick(["7350000000001", "1" * 40, 7, None, ""])
        return v

    body = {"uuid": pick([uid(), uid(), uid(), None, "", "not-a-uuid", 123]), "name": pick(TEXT),
            "vatPercentage": pick(VAT), "updated": pick(DATES),
            "variants": pick([[one_variant(i) for i in range(rng.randint(1, 3))]] * 6 + [[], None, "S,M", {}])}
    if rng.random() < 0.3:
        body["variantOptionDefinitions"] = pick([None, {}, {"definitions": "x"}, 5,
                                                 {"definitions": [{"name": "Färg", "properties": []}]},
                                                 {"definitions": [{"properties": [{"value": "Röd"}]}]}])
    if rng.random() < 0.3:
        body["online"] = pick([None, {}, "x", {"description": HUGE}, {"shipping": {"weightInGrams": "abc"}},
                               {"shipping": {"weightInGrams": 500}}, {"shipping": {"weight": {"weight": "x"}}},
                               {"presentation": {"additionalImageUrls": "x"}}])
    if rng.random() < 0.2:
        body["taxExempt"] = pick([True, False, None, "yes"])
    if rng.random() < 0.1:
        body["presentation"] = pick([{"imageUrl": "http://example.se/a.jpg"}, None, "x", {"imageUrl": 5}])
    for key in list(body):
        if rng.random() < 0.06:
            del body[key]
    return body


def generated(pos, store) -> dict:
    """The generated products in batches through the ops, good ones riding along; what went wrong."""
    zt, bc, defs, _ = pos
    rng = random.Random(424242)
    drawn = [_hostile(rng, n) for n in range(FUZZ)]
    batches = -(-FUZZ // BATCH)
    goods = raw_good(batches * GOOD_PER_BATCH, "F")
    crashed, mapped, reasons, unaccounted = [], 0, [], []
    for b, start in enumerate(range(0, FUZZ, BATCH)):
        good = goods[b * GOOD_PER_BATCH:(b + 1) * GOOD_PER_BATCH]
        batch = drawn[start:start + BATCH] + [c.body for c in good]
        seen = len(store.log(flow="pos.products"))
        try:
            run_id, normalized = _ops(defs, batch)
        except Exception as exc:  # noqa: BLE001 - counted: a crashed batch is what this suite exists to find
            crashed.append(f"batch {b}: {type(exc).__name__}: {str(exc)[:300]}")
            continue
        log = store.log(flow="pos.products").iloc[seen:]
        failed = log[log["outcome"] == "failed"]
        reasons += list(failed["error"])
        mapped += len(normalized.records)
        if len(normalized.records) + normalized.failed != len(batch):
            unaccounted.append(f"batch {b}: {len(batch)} records, {len(normalized.records)} mapped, "
                               f"{normalized.failed} failed to map")
        if normalized.failed + normalized.parts_failed != int((failed["stage"] == "normalize").sum()):
            unaccounted.append(f"batch {b}: {normalized.failed + normalized.parts_failed} mapping failures, "
                               f"{int((failed['stage'] == 'normalize').sum())} in the sync log")
        keys = set(log["record_key"].astype(str))
        unaccounted += [f"batch {b}: {r.key[:60]!r} mapped but has no sync-log row (landed or failed)"
                        for r in normalized.records if r.key[:300] not in keys]
    products = store_products(bc)
    index = by_sku(products)
    return {"drawn": len(drawn), "batches": batches, "goods": goods, "crashed": crashed, "mapped": mapped,
            "reasons": reasons, "unaccounted": unaccounted,
            "problems": [p for case in goods for p in landing_problems(case, index, products)]}


def test_generated_hostile_products_are_logged_or_land(pos, store, figures):
    got = generated(pos, store)
    reasons = got["reasons"]
    empty = [r for r in reasons if not isinstance(r, str) or not r.strip() or "Traceback" in r]
    figures.setdefault("pos_bad_input", {}).update({
        "generated hostile products (batches)": f"{got['drawn']} ({got['batches']})",
        "generated: mapped to a product / failed rows in the sync log": f"{got['mapped']} / {len(reasons)}",
        "generated: good products riding along / landed exactly": (
            f"{len(got['goods'])} / {len(got['goods']) - len(got['problems'])}"),
        "generated: batches crashed": len(got["crashed"]),
        "generated: records neither landed nor logged": len(got["unaccounted"]),
        "generated: failed rows without a reason (empty or a traceback)": len(empty),
    })
    assert not got["crashed"], got["crashed"]
    assert not empty, empty[:5]
    assert not got["unaccounted"], got["unaccounted"][:10]
    assert not got["problems"], got["problems"][:10]


def test_every_reason_stays_readable_whatever_the_record_holds(pos, store, figures):
    got = check_named(pos, store, [Case(
        "a variant without SKU in a product with a 5000-character name",
        product("Jätte" + HUGE, [variant("LR-A", 1000, options={"Val": "A"}), variant(None, 1000, options={"Val": "B"})],
                option_names=["Val"]), "part", ["LR-A"], ("Jätte" + HUGE)[:NAME_MAX])], "R")
    fuzz = generated(pos, store)
    long = [r for r in list(got["failed"]["error"]) + fuzz["reasons"] if not readable(r)]
    figures.setdefault("pos_bad_input", {}).update({
        "failed rows whose reason is over 2000 characters (named / generated)": (
            f"{len(got['unreadable'])} / {sum(not readable(r) for r in fuzz['reasons'])}"),
    })
    assert not long, [r[:120] + f"… ({len(r)} characters)" for r in long[:5]]
