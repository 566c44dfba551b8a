"""The Specter sandbox over real HTTP: key recipes v1/v2, the writes and their refusals, order arithmetic,
multishop, the batch / acknowledge protocol of the three change feeds (code 99 quoting the pending batch,
the same content on a re-read, lost acknowledgements, changes made meanwhile), XML and text answers, and
the push callbacks.

Expected values come from the data each test sends, from its own arithmetic, and from the evidence in
docs/research/specter.md (key recipes and the 99 quoting from integrator code), never from the sandbox's
code. Where a test must lean on a sandbox choice (a guess), it says so.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests

from integrations_dagster.sandbox.base import Knobs
from integrations_dagster.sandbox.runner import start_in_thread
from conftest import QuietHandler, serving

SBM, USER = "4711", "12"
USER_KEY = "sp_test_5ecr3t_user_key_do_not_leak_0013"
INTEGRATION_KEY = "sp_test_5ecr3t_integration_key_do_not_leak_0014"
CREDS = {"sbm_id": SBM, "api_user_id": USER, "user_key": USER_KEY, "integration_key": INTEGRATION_KEY}
CR = "\r"
FEED_READ = {"stock": "getArticleExternalNeedUpdate", "articles": "getArticleInfoExternalNeedUpdate",
             "orders": "getOrdersExternalNeedUpdate"}
FEED_ACK = {"stock": "updateArticlesFromBatch", "articles": "updateArticleInfosFromBatch",
            "orders": "updateOrdersFromBatch"}


# --- the recipes, written from the evidence (docs/research/specter.md §2) -----------------------------
def md5(text: str) -> str:
    return hashlib.md5(text.encode("latin-1")).hexdigest()


def v1(subject: str, user_key: str = USER_KEY) -> str:
    return md5(user_key + SBM + subject)


def v2(subject: str) -> str:
    return md5(INTEGRATION_KEY + v1(subject))


# --- a small client -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sandbox():
    running = start_in_thread("specter", credentials=CREDS, knobs=Knobs(seed=13), demo=True)
    yield running
    running.stop()


@pytest.fixture
def base(sandbox):
    """An empty account for each test (the module's sandbox, reset without demo data)."""
    assert requests.post(f"{sandbox.url}/__sandbox__/reset?demo=false", timeout=10).ok
    return sandbox.url


def decode(resp: requests.Response) -> str:
    assert resp.status_code == 200, resp.text
    return resp.content.decode("latin-1")


def fields(resp: requests.Response) -> list[str]:
    return decode(resp).split(";")


def get(base: str, action: str, subject: str, *, key: str | None = None, **params) -> requests.Response:
    query = {"Action": action, "sbmId": SBM, "apiUserId": USER, "key": key or v1(subject), **params}
    return requests.get(f"{base}/getInfo.asp", params=query, timeout=10)


def put(base: str, action: str, subject: str, form: dict, *, version: int = 1, key: str | None = None,
        **query) -> requests.Response:
    """A write as the PrestaShop module sends it: action, ids and key in the URL, the rest a form body in
    ISO-8859-1 (utf8_decode'd)."""
    params = {"action": action, "sbmId": SBM, "apiUserId": USER, "useXML": "1",
              "key": key or (v2(subject) if version == 2 else v1(subject))}
    for name, value in query.items():  # names are one name whatever their case: replace, never repeat
        params = {k: v for k, v in params.items() if k.lower() != name.lower()} | {name: value}
    body = urlencode({k: str(v) for k, v in form.items()}, encoding="latin-1")
    return requests.post(f"{base}/putInfo.asp", params=params, data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)


def article_rows(rows: list[dict]) -> dict:
    form = {"forceArticleUpdate": "0"}
    for n, row in enumerate(rows, start=1):
        form.update({f"{k}_{n}": v for k, v in row.items()})
    return form


def submit_articles(base: str, rows: list[dict], **extra) -> requests.Response:
    return put(base, "newArticleSubmit", rows[0]["articleNo"], {**article_rows(rows), **extra})


def new_customer(base: str, **form) -> requests.Response:
    name = form.get("name") or f"{form.get('firstName', '')} {form.get('surName', '')}".strip()
    return put(base, "newCustomerSubmit", name, form)


def control(base: str, path: str, body: dict | None = None) -> requests.Response:
    return requests.post(f"{base}/__sandbox__/specter{path}", json=body or {}, timeout=10)


def set_stock(base: str, article_no: str, quantity: int, site: int | None = None) -> None:
    body = {"articleNo": article_no, "quantity": quantity, **({"stockSiteId": site} if site else {})}
    assert control(base, "/stock", body).ok


def batch_no() -> str:
    return md5(f"{time.time()}-{uuid.uuid4()}")  # as integrators do: md5(microtime())


def read(base: str, feed: str, batch: str, **params) -> requests.Response:
    return get(base, FEED_READ[feed], batch, batchNo=batch, **params)


def ack(base: str, feed: str, batch: str) -> requests.Response:
    return get(base, FEED_ACK[feed], batch, batchNo=batch)


def stock_lines(resp: requests.Response) -> dict[str, str]:
    """Text stock answer: ``specterId;articleNo;quantity;batchId`` per CR-separated line."""
    text = decode(resp)
    assert not text.startswith("0;"), text
    return {line.split(";")[1]: line.split(";")[2] for line in text.split(CR) if ";" in line}


def xml_of(resp: requests.Response) -> ET.Element:
    return ET.fromstring(resp.content)


def quoted(message: str) -> list[str]:
    return message.split("'")  # the way the PrestaShop module finds the pending batch


def drain(base: str, feed: str) -> None:
    """Read and acknowledge until a feed is empty (what an integration's first runs do)."""
    for _ in range(100):
        batch = batch_no()
        resp = read(base, feed, batch, useXML="2")
        root = xml_of(resp)
        code = root.findtext("APIresponse/code")
        if code == "99":
            batch = quoted(root.findtext("APIresponse/message"))[1]
            root = xml_of(read(base, feed, batch, useXML="2"))
        items = {"stock": "stockChanges/stock/articles/article", "articles": "articles/article",
                 "orders": "orders/order"}[feed]
        empty = not root.findall(items)
        assert fields(ack(base, feed, batch))[0] == "1"
        if empty:
            return
    raise AssertionError(f"{feed} feed never emptied")


# --- keys ------------------------------------------------------------------------------------------
def test_v1_and_v2_keys_are_accepted_and_a_wrong_key_is_refused(base):
    batch = batch_no()
    assert not decode(read(base, "stock", batch)).startswith("0;")  # v1: md5(userKey + sbmId + batchNo)
    assert fields(ack(base, "stock", batch))[0] == "1"
    batch = batch_no()
    v2_key = v2(batch)  # v2: md5(integrationKey + md5(userKey + sbmId + batchNo))
    assert not decode(get(base, FEED_READ["stock"], batch, key=v2_key, batchNo=batch)).startswith("0;")
    assert fields(get(base, FEED_ACK["stock"], batch, key=v2_key, batchNo=batch))[0] == "1"

    refused = [
        get(base, FEED_READ["stock"], "x", key=v1("another-batch"), batchNo=batch_no()),  # key of another value
        get(base, FEED_READ["stock"], "x", key=v1("b", user_key="not-the-key"), batchNo="b"),  # wrong user key
        requests.get(f"{base}/getInfo.asp", timeout=10, params={   # another account's sbmId
            "Action": FEED_READ["stock"], "sbmId": "1", "apiUserId": USER, "batchNo": "b", "key": v1("b")}),
        requests.get(f"{base}/getInfo.asp", timeout=10, params={   # no key at all
            "Action": FEED_READ["stock"], "sbmId": SBM, "apiUserId": USER, "batchNo": "b"}),
    ]
    for resp in refused:
        answer = fields(resp)
        assert answer[0] == "0" and answer[1] != "99", answer
    xml_refusal = xml_of(get(base, FEED_READ["stock"], "x", key="0" * 32, batchNo="b", useXML="2"))
    assert xml_refusal.findtext("APIresponse/code") not in (None, "", "99")
    assert xml_refusal.findtext("APIresponse/message")


def test_action_and_parameter_names_are_read_ignoring_case(base):
    """Integrators spell them "Action"/"action", "useXML"/"useXml" [3p] and get answers."""
    batch = batch_no()
    resp = requests.get(f"{base}/getinfo.asp", timeout=10, params={
        "action": "GETARTICLEEXTERNALNEEDUPDATE", "SBMID": SBM, "apiuserid": USER, "batchno": batch,
        "KEY": v1(batch), "usexml": "2"})
    assert xml_of(resp).find("stockChanges") is not None


# --- articles ----------------------------------------------------------------------------------------
def test_new_article_submit_one_article_per_variant_and_force_update(base):
    rows = [{"articleNo": f"TROJA-{size}", "name": f"Tröja blå {size}", "vatPercent": "25",
             "priceExclVAT": "199.20", "buyPrice": "80.00", "createArticleStock": "1", "noItemsInStock": stock}
            for size, stock in (("S", 4), ("M", 7), ("L", 0))]
    assert fields(submit_articles(base, rows))[0] == "1"
    for row in rows:
        shown = requests.get(f"{base}/__sandbox__/specter/articles/{row['articleNo']}", timeout=10).json()
        assert shown["name"] == row["name"]  # åäö sent as ISO-8859-1 come back as sent
        assert Decimal(shown["priceExclVat"]) == Decimal(row["priceExclVAT"])

    again = [{**rows[0], "name": "Tröja röd S"}]
    assert fields(submit_articles(base, again))[0] == "0"  # exists, no forceArticleUpdate
    assert fields(submit_articles(base, again, forceArticleUpdate="1"))[0] == "1"
    shown = requests.get(f"{base}/__sandbox__/specter/articles/TROJA-S", timeout=10).json()
    assert shown["name"] == "Tröja röd S"


@pytest.mark.parametrize("article_no", ["MED MELLANSLAG", "KOMMA,1", "BLÅ-1", "SÖT-2", "A&B", "PROC%", "NR#1",
                                        "KR¤1"])
def test_article_numbers_breaking_the_rules_are_refused_and_nothing_is_saved(base, article_no):
    """[partner: Abicart] no spaces, commas, å ä ö & % ¤ # € (€ has no ISO-8859-1 byte to send); a refused
    row saves no row (atomic)."""
    good = {"articleNo": "GOOD-1", "name": "Bra", "vatPercent": "25", "priceExclVAT": "10.00"}
    bad = {"articleNo": article_no, "name": "Dålig", "vatPercent": "25", "priceExclVAT": "10.00"}
    assert fields(submit_articles(base, [good, bad]))[0] == "0"
    assert requests.get(f"{base}/__sandbox__/specter/articles/GOOD-1", timeout=10).status_code == 404


def test_article_key_is_made_from_the_first_rows_article_number(base):
    rows = [{"articleNo": "FIRST-1", "name": "Ett", "vatPercent": "25", "priceExclVAT": "1.00"},
            {"articleNo": "SECOND-2", "name": "Två", "vatPercent": "25", "priceExclVAT": "2.00"}]
    assert fields(put(base, "newArticleSubmit", "SECOND-2", article_rows(rows)))[0] == "0"
    assert fields(put(base, "newArticleSubmit", "FIRST-1", article_rows(rows)))[0] == "1"


# --- customers ---------------------------------------------------------------------------------------
def test_new_customer_submit_matches_by_email_or_org_number(base):
    anna = fields(new_customer(base, firstName="Anna", surName="Öberg", emailAddress="anna@example.com",
                               city="Umeå"))
    assert anna[0] == "1"
    same_email = fields(new_customer(base, firstName="Anna", surName="Ny", emailAddress="ANNA@example.com"))
    assert same_email[:2] == ["1", anna[1]]
    forced = fields(new_customer(base, firstName="Anna", surName="Ny", emailAddress="anna@example.com",
                                 forceCustomerUpdate="1"))
    assert forced[:2] == ["1", anna[1]]
    shown = requests.get(f"{base}/__sandbox__/specter/customers/{anna[1]}", timeout=10).json()
    assert shown["surName"] == "Ny" and shown["city"] == "Umeå"

    company = fields(new_customer(base, name="Bygg & Co AB", orgNo="556111-2222", emailAddress="order@bygg.example"))
    assert company[0] == "1" and company[1] != anna[1]
    by_org_no = fields(new_customer(base, name="Bygg & Co AB", orgNo="556111-2222", emailAddress="ny@bygg.example"))
    assert by_org_no[:2] == ["1", company[1]]
    # [partner: Abicart] both checks switched off: always a new customer
    both_off = fields(new_customer(base, name="Bygg & Co AB", orgNo="556111-2222", emailAddress="order@bygg.example",
                                   ignoreEmailAddressControl="1", ignoreOrgNoControl="1"))
    assert both_off[0] == "1" and both_off[1] not in (anna[1], company[1])


def test_new_customer_submit_refusals(base):
    assert fields(new_customer(base, firstName="Utan", surName="Epost"))[0] == "0"  # e-mail required [partner]
    assert fields(new_customer(base, name="X" * 101, emailAddress="x@example.com"))[0] == "0"  # name ≤ 100
    assert fields(put(base, "newCustomerSubmit", "Fel Namn",
                      {"firstName": "Rätt", "surName": "Namn", "emailAddress": "r@example.com"}))[0] == "0"


# --- orders ------------------------------------------------------------------------------------------
def seed_shop(base: str) -> str:
    rows = [{"articleNo": "TSHIRT-M", "name": "T-shirt M", "vatPercent": "25", "priceExclVAT": "159.20",
             "createArticleStock": "1", "noItemsInStock": "10"},
            {"articleNo": "KAFFE-500", "name": "Kaffe", "vatPercent": "12", "priceExclVAT": "71.43",
             "createArticleStock": "1", "noItemsInStock": "20"},
            {"articleNo": "FRAKT", "name": "Frakt", "vatPercent": "25", "priceExclVAT": "39.20"},
            {"articleNo": "RABATT", "name": "Rabatt", "vatPercent": "25", "priceExclVAT": "0.00"}]
    assert fields(submit_articles(base, rows))[0] == "1"
    customer = fields(new_customer(base, firstName="Kim", surName="Kund", emailAddress="kim@example.com"))
    assert customer[0] == "1"
    return customer[1]


def order_form(customer_id: str, rows: list[tuple[str, str, str, str]], **header) -> dict:
    form = {"customerId": customer_id, "currency": "SEK", "language": "SE", **header}
    for n, (article_no, price, qty, vat) in enumerate(rows, start=1):
        form.update({f"articleNo_{n}": article_no, f"articleName_{n}": article_no, f"priceExclVAT_{n}": price,
                     f"noOfItems_{n}": qty, f"vatPercent_{n}": vat})
    return form


def new_order(base: str, customer_id: str, rows, *, version: int = 1, query: dict | None = None, **header):
    return put(base, "newOrderSubmit", customer_id, order_form(customer_id, rows, **header), version=version,
               **(query or {}))


def test_new_order_submit_total_is_the_exact_sum_of_the_rows_incl_vat(base):
    customer = seed_shop(base)
    rows = [("TSHIRT-M", "159.200", "3", "25"), ("KAFFE-500", "71.429", "2", "12"),
            ("FRAKT", "39.20", "1", "25"), ("RABATT", "-20.00", "1", "25")]  # freight and discount as rows
    answer = fields(new_order(base, customer, rows, externalOrderNo="WOO-1001"))
    assert answer[0] == "1" and answer[1].isdigit()
    expected = sum(Decimal(p) * Decimal(q) * (1 + Decimal(v) / 100) for _, p, q, v in rows)
    expected = expected.quantize(Decimal("0.01"), ROUND_HALF_UP)  # rounding once: the documented guess
    assert Decimal(answer[2].replace(",", ".")) == expected
    stored = requests.get(f"{base}/__sandbox__/specter/orders/{answer[1]}", timeout=10).json()
    assert Decimal(stored["totalInclVat"]) == expected
    assert [(r["articleNo"], Decimal(r["priceExclVat"]), Decimal(r["noOfItems"]), r["vatPercent"])
            for r in stored["rows"]] == [(a, Decimal(p), Decimal(q), v) for a, p, q, v in rows]
    assert stored["externalOrderNo"] == "WOO-1001"


def test_new_order_submit_refusals(base):
    customer = seed_shop(base)
    row = [("TSHIRT-M", "159.20", "1", "25")]
    first = fields(new_order(base, customer, row, externalOrderNo="WOO-7"))
    assert first[0] == "1"
    assert fields(new_order(base, customer, row, externalOrderNo="WOO-7"))[0] == "0"  # duplicate external no
    override = fields(new_order(base, customer, row, externalOrderNo="WOO-7", ignoreExternalOrderNoControl="1"))
    assert override[0] == "1" and override[1] != first[1]
    refused = [
        new_order(base, customer, [("FINNS-INTE", "10.00", "1", "25")], externalOrderNo="WOO-8"),  # no such article
        new_order(base, "999999", row, externalOrderNo="WOO-9"),                                 # no such customer
        new_order(base, customer, [("TSHIRT-M", "159,20", "1", "25")], externalOrderNo="WOO-10"),  # decimal comma
        new_order(base, customer, [("TSHIRT-M", "159.20", "1", "17")], externalOrderNo="WOO-11"),  # no such VAT
        put(base, "newOrderSubmit", "another-customer", order_form(customer, row, externalOrderNo="WOO-12")),
    ]
    for resp in refused:
        assert fields(resp)[0] == "0", decode(resp)
    # none of the refused orders took its external number: each can now be sent right
    assert fields(new_order(base, customer, row, externalOrderNo="WOO-8"))[0] == "1"


def test_multishop_webshop_id_requires_an_api_v2_key(base):
    customer = seed_shop(base)
    row = [("TSHIRT-M", "159.20", "1", "25")]
    assert fields(new_order(base, customer, row, query={"webshopId": "2"}, externalOrderNo="MS-1"))[0] == "0"
    answer = fields(new_order(base, customer, row, version=2, query={"webshopId": "2"}, externalOrderNo="MS-1"))
    assert answer[0] == "1"
    assert requests.get(f"{base}/__sandbox__/specter/orders/{answer[1]}", timeout=10).json()["webshopId"] == 2
    assert fields(new_order(base, customer, row, version=2, externalOrderNo="MS-2"))[0] == "1"  # v2 without multishop


def test_a_v1_only_account_refuses_v2_keys_and_multishop():
    creds = {k: v for k, v in CREDS.items() if k != "integration_key"}
    running = start_in_thread("specter", credentials=creds, demo=False)
    try:
        customer = seed_shop(running.url)
        row = [("TSHIRT-M", "159.20", "1", "25")]
        assert fields(new_order(running.url, customer, row, version=2, externalOrderNo="A"))[0] == "0"
        assert fields(new_order(running.url, customer, row, query={"webshopId": "1"}, externalOrderNo="B"))[0] == "0"
        assert fields(new_order(running.url, customer, row, externalOrderNo="C"))[0] == "1"
    finally:
        running.stop()


def test_order_answer_in_xml_with_usexml_2_sent_as_a_get_like_the_laravel_app(base):
    """The Laravel app sends putInfo.asp as a GET with every field in the query, useXml=2, a v2 key, and
    reads (array)$xml->APIresponse, checking ['result'] == 1 [3p]."""
    customer = seed_shop(base)
    query = {"action": "newOrderSubmit", "sbmId": SBM, "useXml": "2", "apiUserId": USER, "key": v2(customer),
             **order_form(customer, [("TSHIRT-M", "159.20", "2", "25")])}
    resp = requests.get(f"{base}/putInfo.asp", params=query, timeout=10)
    assert xml_of(resp).findtext("APIresponse/result") == "1"
    assert fields(new_order(base, customer, [("TSHIRT-M", "159.20", "1", "25")]))[0] == "1"  # and POST, text
    refused = new_order(base, "999999", [("TSHIRT-M", "159.20", "1", "25")], query={"useXml": "2"})
    assert xml_of(refused).findtext("APIresponse/code") not in (None, "")


# --- the batch protocol ------------------------------------------------------------------------------
def stock_shop(base: str) -> None:
    rows = [{"articleNo": no, "name": no, "vatPercent": "25", "priceExclVAT": "10.00", "createArticleStock": "1",
             "noItemsInStock": "1"} for no in ("ART-A", "ART-B", "ART-C")]
    assert fields(submit_articles(base, rows))[0] == "1"
    drain(base, "stock")


def test_a_pending_batch_is_refused_with_99_quoting_it_and_reread_gives_the_same_content(base):
    stock_shop(base)
    set_stock(base, "ART-A", 7)
    set_stock(base, "ART-B", 3)
    first = batch_no()
    got = read(base, "stock", first)
    assert stock_lines(got) == {"ART-A": "7", "ART-B": "3"}

    other = batch_no()
    text = decode(read(base, "stock", other))
    assert text.startswith("0;99;") and quoted(text)[1] == first
    xml_msg = xml_of(read(base, "stock", other, useXML="2"))
    assert xml_msg.findtext("APIresponse/code") == "99"
    assert quoted(xml_msg.findtext("APIresponse/message"))[1] == first
    for feed in ("articles", "orders"):  # each feed has a batch of its own: they are not blocked
        assert xml_of(read(base, feed, other)).findtext("APIresponse/code") != "99"
        ack(base, feed, other)

    assert read(base, "stock", first).content == got.content  # the same batch, byte for byte
    wrong_ack = decode(ack(base, "stock", other))
    assert wrong_ack.startswith("0;99;") and quoted(wrong_ack)[1] == first  # stock: pending quoted first [3p]
    assert fields(ack(base, "stock", first))[0] == "1"
    assert stock_lines(read(base, "stock", batch_no())) == {}


def test_changes_made_while_a_batch_is_pending_come_in_the_next_batch_exactly_once(base):
    stock_shop(base)
    set_stock(base, "ART-A", 5)
    first = batch_no()
    assert stock_lines(read(base, "stock", first)) == {"ART-A": "5"}
    set_stock(base, "ART-A", 9)  # meanwhile: the same article again, and another one
    set_stock(base, "ART-B", 4)
    assert stock_lines(read(base, "stock", first)) == {"ART-A": "5"}  # the pending batch does not grow
    assert fields(ack(base, "stock", first))[0] == "1"
    second = batch_no()
    assert stock_lines(read(base, "stock", second)) == {"ART-A": "9", "ART-B": "4"}
    assert fields(ack(base, "stock", second))[0] == "1"
    assert stock_lines(read(base, "stock", batch_no())) == {}


def test_lost_acknowledgement_never_brings_the_acknowledged_changes_again(base):
    """The client acks, never sees the answer, and asks for its batch again: what was acknowledged does
    not come back; what changed after it comes exactly once; repeating the ack does no harm."""
    stock_shop(base)
    set_stock(base, "ART-A", 5)
    first = batch_no()
    assert stock_lines(read(base, "stock", first)) == {"ART-A": "5"}
    ack(base, "stock", first)  # answer "lost"
    set_stock(base, "ART-C", 2)
    seen: list[dict[str, str]] = []
    again = read(base, "stock", first)  # the client thinks batch `first` is still pending
    seen.append(stock_lines(again))
    assert fields(ack(base, "stock", first))[0] == "1"
    assert fields(ack(base, "stock", first))[0] == "1"  # a repeated ack
    for _ in range(3):
        batch = batch_no()
        seen.append(stock_lines(read(base, "stock", batch)))
        ack(base, "stock", batch)
    assert all("ART-A" not in lines for lines in seen)
    assert sum(lines.get("ART-C") == "2" for lines in seen) == 1


def test_lost_read_answer_is_recovered_by_rereading_the_quoted_batch(base):
    stock_shop(base)
    set_stock(base, "ART-B", 8)
    lost = batch_no()
    original = read(base, "stock", lost)  # the answer never reaches the client
    message = decode(read(base, "stock", batch_no()))
    pending = quoted(message)[1]
    assert pending == lost
    assert read(base, "stock", pending).content == original.content
    assert fields(ack(base, "stock", pending))[0] == "1"


def test_stock_xml_with_multiple_stock_sites_sums_as_integrators_do(base):
    """[3p: PrestaShop StockSyncMultiStock] one <stock> per stock site; the module sums noItemsAv, taking
    `noItemsAvailable` as 0. Stock site 2 is the sandbox's guessed second site."""
    stock_shop(base)
    set_stock(base, "ART-A", 6)
    set_stock(base, "ART-A", 4, site=2)
    batch = batch_no()
    root = xml_of(read(base, "stock", batch, useXML="2", getMultipleStocksites="1"))
    sites = root.findall("stockChanges/stock")
    assert len(sites) == 2
    total = 0
    for site in sites:
        for article in site.findall("articles/article"):
            assert article.findtext("articleNo") == "ART-A"
            value = article.findtext("noItemsAv")
            total += 0 if value == "noItemsAvailable" else int(value)
    assert total == 10
    single = xml_of(read(base, "stock", batch, useXML="2"))  # same batch, without the multi-site switch
    assert [a.findtext("articleNo") for a in single.findall("stockChanges/stock/articles/article")] == ["ART-A"]
    assert fields(ack(base, "stock", batch))[0] == "1"


def test_article_info_feed_in_xml_with_a_response_cap_and_its_ack_quoting(base):
    rows = [{"articleNo": f"INFO-{i}", "name": f"Info {i}", "vatPercent": "25", "priceExclVAT": "10.00"}
            for i in range(3)]
    assert fields(submit_articles(base, rows))[0] == "1"
    drain(base, "articles")
    for i in range(3):
        assert control(base, f"/articles/INFO-{i}", {"name": f"Ändrad {i}", "priceExclVat": f"1{i}.50"}).ok
    assert control(base, "/limits", {"articles": 2}).ok  # a test instrument: the cap is a guess

    names, prices, calls = {}, {}, 0
    while True:
        calls += 1
        batch = batch_no()
        root = xml_of(read(base, "articles", batch, useXML="2"))
        got = root.findall("articles/article")
        for article in got:
            names[article.findtext("articleNo")] = article.findtext("name")
            prices[article.findtext("articleNo")] = Decimal(article.get("priceExclVat").replace(",", "."))
        if calls == 1:
            wrong = decode(ack(base, "articles", batch_no()))
            assert wrong.startswith("0;99;") and quoted(wrong)[3] == batch  # article info: second quote [3p]
        assert fields(ack(base, "articles", batch))[0] == "1"
        limit = root.findtext("responseMaxLimit")
        if limit is None or int(limit) > len(got):  # PrestaShop 6.4.2: "more" when limit <= count
            break
    assert calls == 2
    assert names == {f"INFO-{i}": f"Ändrad {i}" for i in range(3)}
    assert prices == {f"INFO-{i}": Decimal(f"1{i}.50") for i in range(3)}


def test_orders_feed_reports_deliveries_with_tracking_and_cancellations(base):
    customer = seed_shop(base)
    delivered = fields(new_order(base, customer, [("TSHIRT-M", "159.20", "2", "25")], externalOrderNo="W-1"))[1]
    cancelled = fields(new_order(base, customer, [("KAFFE-500", "71.43", "1", "12")], externalOrderNo="W-2"))[1]
    drain(base, "orders")
    assert control(base, f"/orders/{delivered}/deliver", {"trackingNo": "JJFI60001234"}).ok
    assert control(base, f"/orders/{cancelled}/cancel").ok

    batch = batch_no()
    root = xml_of(read(base, "orders", batch, useXML="2"))
    orders = {o.get("orderNo"): o for o in root.findall("orders/order")}
    assert set(orders) == {delivered, cancelled}
    assert orders[delivered].find("orderstatus").get("deliveryStatus") == "D"  # [3p] D = delivered
    assert [d.get("trackingNo") for d in orders[delivered].findall("deliveries/delivery")] == ["JJFI60001234"]
    assert orders[cancelled].find("orderstatus").get("statusId") == "5"  # [3p] 5 = cancelled/removed
    wrong = decode(ack(base, "orders", batch_no()))
    assert wrong.startswith("0;99;") and quoted(wrong)[3] == batch  # orders: second quote [3p]
    assert fields(ack(base, "orders", batch))[0] == "1"

    assert control(base, f"/orders/{delivered}/invoice").ok  # invoiced, then paid: the order comes again
    assert control(base, f"/orders/{delivered}/pay").ok
    batch = batch_no()
    again = [o.get("orderNo") for o in xml_of(read(base, "orders", batch, useXML="2")).findall("orders/order")]
    assert again == [delivered]  # one row per order, however many changes
    ack(base, "orders", batch)


def test_an_order_reserves_stock_that_the_stock_feed_then_reports(base):
    """Guess under test (guesses.ORDER_RESERVES_STOCK): available = in stock − ordered."""
    customer = seed_shop(base)
    drain(base, "stock")
    rows = [("TSHIRT-M", "159.20", "3", "25"), ("FRAKT", "39.20", "1", "25")]
    assert fields(new_order(base, customer, rows))[0] == "1"
    batch = batch_no()
    assert stock_lines(read(base, "stock", batch)) == {"TSHIRT-M": "7"}  # 10 - 3; freight keeps no stock
    ack(base, "stock", batch)


# --- demo, callbacks, shared machinery ------------------------------------------------------------------
def test_demo_data_has_variants_as_separate_articles_and_a_customer(sandbox):
    assert requests.post(f"{sandbox.url}/__sandbox__/reset?demo=true", timeout=10).ok
    names = [requests.get(f"{sandbox.url}/__sandbox__/specter/articles/TSHIRT-BLA-{s}", timeout=10).json()["name"]
             for s in "SML"]
    assert len(set(names)) == 3
    root = xml_of(read(sandbox.url, "articles", batch_no(), useXML="2"))  # a new integration gets the catalogue
    assert {"TSHIRT-BLA-S", "TSHIRT-BLA-M", "TSHIRT-BLA-L"} <= {a.findtext("articleNo")
                                                                  for a in root.findall("articles/article")}
    assert requests.get(f"{sandbox.url}/__sandbox__/specter/customers/1001", timeout=10).ok


class Receiver:
    def __init__(self) -> None:
        self.got: list[str] = []
        self.lock = threading.Lock()

    def handler(self):
        receiver = self

        class Hook(QuietHandler):
            def _record(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                with receiver.lock:
                    receiver.got.append(self.path)
                body = b"1;Done"  # what the PrestaShop receiver answers [3p]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _record  # noqa: N815
        return Hook

    def wait(self, n: int, timeout: float = 5.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.got) >= n:
                    return list(self.got)
            time.sleep(0.02)
        return list(self.got)


def test_callbacks_registered_with_check_account_settings_are_called_on_changes(base):
    """[3p: PrestaShop] URLs registered through checkAccountSettings (key md5(userKey + sbmId + date)),
    with $orderNo substituted; Talex: called on every stock change."""
    customer = seed_shop(base)
    order_no = fields(new_order(base, customer, [("KAFFE-500", "71.43", "1", "12")]))[1]
    receiver = Receiver()
    with serving(receiver.handler()) as url:
        today = datetime.now(ZoneInfo("Europe/Stockholm")).date().isoformat()
        registered = get(base, "checkAccountSettings", today, date=today, useXML="1",
                         actionStockChange=f"{url}/hook?calltype=1",
                         actionRemoveOrder=f"{url}/hook?calltype=3&orderNo=$orderNo")
        assert fields(registered)[0] == "1"
        set_stock(base, "TSHIRT-M", 3)
        assert control(base, f"/orders/{order_no}/cancel").ok
        got = receiver.wait(3)  # the cancel releases reserved stock too: a stock change
    calls = [(urlsplit(p).path, parse_qs(urlsplit(p).query)) for p in got]
    assert ("/hook", {"calltype": ["1"]}) in calls
    assert ("/hook", {"calltype": ["3"], "orderNo": [order_no]}) in calls
    assert fields(get(base, "checkAccountSettings", "1999-01-01", date="1999-01-01"))[0] == "0"  # stale date


def test_stats_knobs_and_faults_are_the_shared_machinery(base):
    requests.post(f"{base}/__sandbox__/stats/clear", timeout=10)
    read(base, "stock", batch_no())
    stats = requests.get(f"{base}/__sandbox__/stats", timeout=10).json()
    assert stats["requests"].get("GET /getInfo.asp") == 1
    requests.post(f"{base}/__sandbox__/knobs", json={"fault_rate": 1.0}, timeout=10)
    try:
        assert read(base, "stock", batch_no()).status_code >= 500
    finally:
        requests.post(f"{base}/__sandbox__/knobs", json={"fault_rate": 0.0}, timeout=10)
    assert read(base, "stock", batch_no()).status_code == 200
