"""The Specter connector over real HTTP against the Specter sandbox: keys v1/v2, refusals and faults,
secrets, articles (one per sellable unit, prices excl. VAT, owned fields only), orders (customers,
totals to the öre, never twice), and the batch / acknowledge protocol of the stock and article feeds.

Expected values come from each test's own inputs and arithmetic, and from the evidence
(docs/research/specter.md: key recipes, 99 quoting); never from the connector's code.
"""

from __future__ import annotations

import traceback
from decimal import ROUND_HALF_UP, Decimal

import pytest
import requests

from conftest import SPECTER_CREDENTIALS, SPECTER_INTEGRATION_KEY, SPECTER_SBM_ID, SPECTER_USER_KEY
from flowkit import MemoryBinder
from integrations_dagster.connectors.base import Change, WriteContext
from integrations_dagster.connectors.http import ApiError
from integrations_dagster.connectors.specter import SpecterResource
from integrations_dagster.connectors.specter.adapter import Keys
from integrations_dagster.model import (Customer, Money, Order, OrderLine, OrderStatus, Price, Product, StockLevel,
                                        Variant)
from integrations_dagster.sandbox.base import Knobs
from integrations_dagster.sandbox.runner import start_in_thread
from specterkit import Specter, decimal, md5

CENT = Decimal("0.01")
QUIET = {"fault_rate": 0.0, "fault_after_write_rate": 0.0, "reset_rate": 0.0, "timeout_rate": 0.0,
         "throttle_rate": 0.0, "fault_streak_max": 0}


@pytest.fixture(scope="module")
def running():
    sandbox = start_in_thread("specter", credentials=SPECTER_CREDENTIALS, knobs=Knobs(seed=7), demo=False)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sp(running) -> Specter:
    """An empty account for each test (the module's sandbox reset, its faults off)."""
    requests.post(f"{running.url}/__sandbox__/knobs", json=QUIET, timeout=10).raise_for_status()
    assert requests.post(f"{running.url}/__sandbox__/reset?demo=false", timeout=10).ok
    return Specter(running.url)


def resource(sp: Specter, **overrides) -> SpecterResource:
    fields = {**SPECTER_CREDENTIALS, "max_attempts": 3, **overrides}
    return SpecterResource(base_url=sp.url, **{k: v for k, v in fields.items() if v is not None})


def context(binder: MemoryBinder | None = None, *, owns: set[str] | None = None, **options) -> WriteContext:
    return WriteContext(binder=binder or MemoryBinder(), source_binder=MemoryBinder(), options=options,
                        owns=frozenset(owns) if owns is not None else None)


def write(res: SpecterResource, entity: str, records, ctx: WriteContext, previous: dict | None = None):
    changes = [Change("update" if previous and r.key in previous else "create", r.key, r,
                      previous=(previous or {}).get(r.key)) for r in records]
    out = {o.key: o for o in res.write(entity, changes, ctx)}
    for o in out.values():  # what the engine records in the id map as each lands
        if o.ok and o.action != "ignored":
            if o.target_id:
                ctx.binder.bind(o.target_entity or entity, o.key, o.target_id)
            for key, (target, parent) in o.bindings.items():
                ctx.binder.bind(o.binding_entity or entity, key, target, parent)
    return out


def price(gross: str, rate: int = 25) -> Price:
    return Price(amount=Money(amount=Decimal(gross)), vat_rate=Decimal(rate))


def net_of(gross: str, rate: int) -> Decimal:
    return (Decimal(gross) / (1 + Decimal(rate) / 100)).quantize(CENT, ROUND_HALF_UP)


# -- adapter: keys, refusals, faults, secrets -------------------------------------------------------
def test_key_recipes_are_the_evidenced_ones():
    """v1 md5(userKey + sbmId + subject); v2 md5(integrationKey + v1) [3p: PrestaShop, Laravel app]."""
    assert Keys("4711", "uk", None).key("B1") == md5("uk4711B1")
    assert Keys("4711", "uk", "ik").key("B1") == md5("ik" + md5("uk4711B1"))
    assert Keys("4711", "uk", None).key("Åsa Öberg") == md5("uk4711Åsa Öberg")  # ISO-8859-1 bytes


def test_connection_with_v1_and_v2_keys_and_a_clear_message_for_wrong_ones(sp):
    said_v2 = resource(sp).test_connection()
    said_v1 = resource(sp, integration_key=None).test_connection()
    assert said_v2.startswith("Specter:") and "v2" in said_v2 and SPECTER_SBM_ID in said_v2
    assert "v1" in said_v1
    for wrong in ({"user_key": "not-the-key"}, {"integration_key": "not-the-integration-key"},
                  {"sbm_id": "1"}, {"api_user_id": "999"}):
        with pytest.raises(ApiError) as err:
            resource(sp, **wrong).test_connection()
        assert "Specter refused checkAccountSettings" in str(err.value) and "check sbm_id" in str(err.value)


def test_refusals_carry_specters_message_and_transient_faults_are_retried(sp):
    adapter = resource(sp).adapter()
    with pytest.raises(ApiError) as err:  # the key of another batchNo than the one sent
        adapter.get("getArticleExternalNeedUpdate", "another-batch", batchNo="this-batch")
    assert err.value.message and getattr(err.value, "code", "") not in ("", "99")
    sp.knobs(fault_rate=1.0, fault_streak_max=2)  # every request answered 5xx twice, then through
    assert resource(sp).test_connection().startswith("Specter:")
    assert sum(sp.stats()["faults"].values()) == 2


def test_secrets_show_nowhere_a_failure_or_a_repr_reaches(sp):
    secrets = (SPECTER_USER_KEY, SPECTER_INTEGRATION_KEY)
    texts = []
    res = resource(sp, user_key=SPECTER_USER_KEY + "-wrong", max_attempts=2)
    texts += [repr(res), str(res), repr(res.adapter()), repr(res.adapter().keys)]
    sp.knobs(fault_rate=1.0)
    failures = [fail(call) for res in (resource(sp, user_key=SPECTER_USER_KEY + "-wrong"), resource(sp, max_attempts=2))
                for call in (res.test_connection, lambda res=res: res.read_batch("stock", {}))]
    for exc in failures:
        texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc)),
                  "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())]
    leaks = [text[max(0, text.find(s) - 200):text.find(s) + 40] for s in secrets for text in texts if s in text]
    assert not leaks, leaks[0]


def fail(call) -> ApiError:
    """What ``call`` raised (its traceback then starts here: no frame of the test's own locals)."""
    try:
        call()
    except ApiError as exc:
        return exc
    raise AssertionError("the call did not fail")


# -- articles ---------------------------------------------------------------------------------------
TROJA = Product(source_id="10", kind="variable", name="Tröja", vat_rate=Decimal(25), price=price("249.00"),
                weight=Decimal("0.25"), option_names=("Storlek",),
                variants=(Variant(sku="TROJA-S", source_id="10/11", options={"Storlek": "S"}, ean="7350000000101",
                                  stock_quantity=Decimal(4)),
                          Variant(sku="TROJA-M", source_id="10/12", options={"Storlek": "M"}, ean="7350000000118")))
KAFFE = Product(source_id="20", sku="KAFFE-1", name="Kaffe mörkrost", vat_rate=Decimal(12), price=price("89.90", 12),
                weight=Decimal("0.5"), stock_quantity=Decimal(10))


def test_one_article_per_sellable_unit_with_prices_excluding_vat(sp):
    res, binder = resource(sp), MemoryBinder()
    out = write(res, "products", [TROJA, KAFFE], context(binder))
    assert {k: o.action for k, o in out.items()} == {TROJA.key: "created", KAFFE.key: "created"}
    assert set(out[TROJA.key].bindings) == {"TROJA-S", "TROJA-M"}
    for sku, ean in (("TROJA-S", "7350000000101"), ("TROJA-M", "7350000000118")):
        article = sp.article(sku)
        assert article["name"] == f"Tröja {sku[-1]}"  # åäö travel as ISO-8859-1
        assert Decimal(article["priceExclVat"]) == net_of("249.00", 25) == Decimal("199.20")
        assert (article["vatPercent"], article["barCode"]) == ("25", ean)
        assert Decimal(article["productWeight"]) == Decimal("0.25")
    assert sp.article("TROJA-S")["stock"] == {"1": "4"}  # a new article starts with the shop's stock
    kaffe = sp.article("KAFFE-1")
    assert Decimal(kaffe["priceExclVat"]) == net_of("89.90", 12) == Decimal("80.27")  # 89.90 / 1.12 = 80.2678…
    assert kaffe["vatPercent"] == "12"

    # a new price: the article is updated (forceArticleUpdate) from the same id map
    dearer = KAFFE.model_copy(update={"price": price("99.90", 12)})
    before = sp.writes()
    out = write(res, "products", [dearer], context(binder), previous={KAFFE.key: KAFFE})
    assert out[KAFFE.key].action == "updated" and sp.writes() == before + 1
    assert Decimal(sp.article("KAFFE-1")["priceExclVat"]) == net_of("99.90", 12)
    # unchanged as Specter last accepted it (only the shop's stock moved): nothing is sent
    restocked = dearer.model_copy(update={"stock_quantity": Decimal(3)})
    out = write(res, "products", [restocked], context(binder), previous={KAFFE.key: dearer})
    assert out[KAFFE.key].action == "skipped" and sp.writes() == before + 1


def test_article_writes_whose_answers_are_lost_are_sent_again_and_land_once(sp):
    sp.knobs(fault_after_write_rate=1.0, fault_streak_max=1)  # each write applied, then answered 500 once
    out = write(resource(sp), "products", [TROJA, KAFFE], context())
    sp.knobs(**QUIET)
    assert all(o.ok for o in out.values()), out
    assert Decimal(sp.article("KAFFE-1")["priceExclVat"]) == net_of("89.90", 12)
    assert sp.article("TROJA-S")["stock"] == {"1": "4"}  # the initial stock once, not twice
    assert sp.stats()["faults"]["error_after_write"] >= 1


def test_a_flow_that_does_not_own_the_price_never_sends_it(sp):
    res, binder = resource(sp), MemoryBinder()
    write(res, "products", [KAFFE], context(binder))
    sp.edit_article("KAFFE-1", priceExclVat="111.00")  # Specter leads the price
    sp.edit_article("ERP-1", name="Artikel från affärssystemet", priceExclVat="50.00", vatPercent="25")
    renamed = KAFFE.model_copy(update={"name": "Kaffe extra mörk", "price": price("19.90", 12)})
    shop_only = Product(source_id="30", sku="ERP-1", name="Webbshopens namn", vat_rate=Decimal(25),
                        price=price("10.00"), ean="7350000000200")
    owns = {"name", "vat", "ean", "weight"}  # the combo preset's products flow: everything but prices
    out = write(res, "products", [renamed, shop_only], context(binder, owns=owns), previous={KAFFE.key: KAFFE})
    assert out[KAFFE.key].action == "updated" and out["ERP-1"].action == "linked"
    assert sp.article("KAFFE-1")["name"] == "Kaffe extra mörk"
    assert Decimal(sp.article("KAFFE-1")["priceExclVat"]) == Decimal("111.00")
    erp = sp.article("ERP-1")  # an article Specter already had: linked, its price left alone
    assert (erp["name"], Decimal(erp["priceExclVat"]), erp["barCode"]) == ("Webbshopens namn", Decimal("50.00"),
                                                                          "7350000000200")
    assert binder.external_id("products", "ERP-1") == "ERP-1"


def test_article_numbers_specter_refuses_fail_their_record_and_the_rest_land(sp):
    res = resource(sp, vat_rates=[25, 12, 6, 0, 7])  # 7 %: let one record through to Specter's own refusal
    good = [Product(source_id=str(i), sku=f"OK-{i}", name=f"Bra {i}", vat_rate=Decimal(25), price=price("10.00"))
            for i in range(3)]
    bad_numbers = [Product(source_id=f"b{i}", sku=sku, name="Dålig", vat_rate=Decimal(25), price=price("10.00"))
                   for i, sku in enumerate(("BLÅ-1", "MED MELLANSLAG", "KOMMA,1", "A&B", "x" * 51))]
    refused = Product(source_id="v", sku="MOMS-7", name="Sju procent", vat_rate=Decimal(7), price=price("10.70", 7))
    out = write(res, "products", [good[0], *bad_numbers, good[1], refused, good[2]], context())
    assert [k for k, o in out.items() if o.ok] == [g.key for g in good]
    for product in bad_numbers:
        assert "cannot be a Specter article number" in out[product.key].error
    assert "MOMS-7" in out["MOMS-7"].error and "7" in out["MOMS-7"].error
    assert all(sp.article(g.sku) for g in good) and sp.article("MOMS-7") is None


# -- orders -----------------------------------------------------------------------------------------
def shop_line(kind: str, name: str, net: str, rate: int, qty: int = 1, sku: str | None = None,
              discount: str = "0") -> OrderLine:
    """A line as a shop charges it: VAT rounded per line to the öre."""
    vat = (Decimal(net) * rate / 100).quantize(CENT, ROUND_HALF_UP)
    return OrderLine(kind=kind, sku=sku, name=name, quantity=Decimal(qty), net=Decimal(net), vat=vat,
                     vat_rate=Decimal(rate), discount=Decimal(discount))


def shop_order(source_id: str, lines: list[OrderLine], email: str = "kim@example.se") -> Order:
    net = sum((line.net for line in lines), Decimal(0))
    vat = sum((line.vat for line in lines), Decimal(0))
    return Order(source="shop", source_id=source_id, number=source_id, status=OrderStatus.PROCESSING,
                 created_at="2026-11-20T10:00:00Z", currency="SEK", prices_include_vat=True,
                 customer=Customer(email=email, name="Kim Kundsson"), lines=tuple(lines),
                 total=Money(amount=net + vat), total_vat=Money(amount=vat))


def seed_articles(sp: Specter) -> None:
    for no, vat in (("MUGG-1", "25"), ("KAFFE-1", "12"), ("FRAKT", "25"), ("RABATT", "25")):
        sp.edit_article(no, name=no, priceExclVat="1.00", vatPercent=vat)


def order_lines() -> list[OrderLine]:
    # 3 mugs at 79.20 (99.00 incl.); 2 coffees at 80.27 with 10.00 off (net 150.54; 12 % VAT 18.0648 -> 18.06);
    # shipping 39.20; an invoice fee 15.99 (VAT 3.9975 -> 4.00); two fees of 0.02 (VAT 0.005 -> 0.01 each)
    return [shop_line("item", "Mugg", "237.60", 25, 3, sku="MUGG-1"),
            shop_line("item", "Kaffe", "150.54", 12, 2, sku="KAFFE-1", discount="10.00"),
            shop_line("shipping", "PostNord", "39.20", 25), shop_line("fee", "Fakturaavgift", "15.99", 25),
            shop_line("fee", "Miljöavgift", "0.02", 25), shop_line("fee", "Miljöavgift", "0.02", 25)]


def test_an_order_lands_with_its_customer_and_the_shops_total_to_the_ore(sp):
    seed_articles(sp)
    order = shop_order("5001", order_lines())
    expected_total = Decimal("237.60") + Decimal("59.40") + Decimal("150.54") + Decimal("18.06") \
        + Decimal("39.20") + Decimal("9.80") + Decimal("15.99") + Decimal("4.00") + 2 * (Decimal("0.02") + CENT)
    assert order.total.amount == expected_total == Decimal("534.65")
    # Σ rows × (1 + VAT) exactly is 534.6423: the shop's per-line rounding of VAT is an öre more
    binder = MemoryBinder()
    out = write(resource(sp), "orders", [order], context(binder, shipping_article="FRAKT", discount_article="RABATT"))
    outcome = out[order.key]
    assert outcome.action == "created", outcome.error
    stored = sp.order(outcome.target_id)
    assert stored["externalOrderNo"] == "shop:5001"
    assert Decimal(stored["totalInclVat"]) == expected_total
    rows = [(r["articleNo"], Decimal(r["priceExclVat"]), Decimal(r["noOfItems"]), r["vatPercent"])
            for r in stored["rows"]]
    assert ("MUGG-1", Decimal("79.20"), Decimal(3), "25") in rows
    assert ("FRAKT", Decimal("39.20"), Decimal(1), "25") in rows  # shipping on the freight article
    assert ("RABATT", Decimal("-10.00"), Decimal(1), "12") in rows  # the discount a negative row at its rate
    assert sum(p * q for a, p, q, v in rows if a == "KAFFE-1") == Decimal("160.54")  # before the discount
    customer = sp.customer(outcome.bindings[order.customer.key][0])
    assert (customer["emailAddress"], customer["firstName"], customer["surName"]) == ("kim@example.se", "Kim",
                                                                                      "Kundsson")


def test_an_order_is_never_made_twice(sp):
    seed_articles(sp)
    order = shop_order("5002", order_lines()[:1])
    first = write(resource(sp), "orders", [order], context())[order.key]
    assert first.action == "created"
    # the id map lost: Specter refuses the external order number again, and the order is bound to it
    again = write(resource(sp), "orders", [order], context())[order.key]
    assert (again.action, again.target_id) == ("linked", first.target_id)
    # a lost answer: every first newOrderSubmit is applied and answered 500; the connector sends again
    sp.knobs(fault_after_write_rate=1.0, fault_streak_max=1)
    lost = shop_order("5003", order_lines()[:1], email="KIM@example.se")
    out = write(resource(sp), "orders", [lost], context())[lost.key]
    sp.knobs(**QUIET)
    assert (out.action, out.target_id) == ("created", next(o["orderNo"] for o in sp.orders()
                                                           if o["externalOrderNo"] == "shop:5003").__str__())
    externals = [o["externalOrderNo"] for o in sp.orders()]
    assert sorted(externals) == ["shop:5002", "shop:5003"]
    assert len({o["customerId"] for o in sp.orders()}) == 1  # matched on the e-mail address


def test_multishop_webshop_id_goes_with_api_v2_and_is_refused_readably_without(sp):
    seed_articles(sp)
    order = shop_order("5004", order_lines()[:1])
    out = write(resource(sp), "orders", [order], context(webshop_id=2))[order.key]
    assert out.action == "created" and sp.order(out.target_id)["webshopId"] == 2
    v1 = write(resource(sp, integration_key=None), "orders", [shop_order("5005", order_lines()[:1])],
               context(webshop_id=2))["shop:5005"]
    assert not v1.ok and "integration_key" in v1.error


def test_an_order_row_on_an_article_specter_lacks_fails_that_order_with_specters_words(sp):
    seed_articles(sp)
    order = shop_order("5006", [shop_line("item", "Okänd", "10.00", 25, sku="FINNS-INTE")])
    out = write(resource(sp), "orders", [order], context())[order.key]
    assert not out.ok and "FINNS-INTE" in out.error and "Specter refused newOrderSubmit" in out.error
    assert sp.orders() == []


# -- the change feeds -------------------------------------------------------------------------------
def levels(res: SpecterResource, batch) -> dict[str, Decimal]:
    records = [res.to_canonical("stock", raw, {}) for raw in batch.records]
    assert all(isinstance(r, StockLevel) for r in records)
    return {r.sku: r.quantity for r in records}


def unstamped(rows: list[dict]) -> list[dict]:
    """A batch's rows without ``_as_of`` (when the answer came, not what Specter said)."""
    return [{k: v for k, v in row.items() if k != "_as_of"} for row in rows]


def test_stock_batches_are_read_again_until_acknowledged_and_never_repeated(sp):
    for no, qty in (("ART-A", 5), ("ART-B", 0)):
        sp.edit_article(no, name=no, priceExclVat="10.00", stock=qty)
    res = resource(sp)
    first = res.read_batch("stock", {})
    assert levels(res, first) == {"ART-A": 5, "ART-B": 0}  # noItemsAvailable is 0
    sp.set_stock("ART-A", 9)  # meanwhile
    again = res.read_batch("stock", {})  # a run that failed before acknowledging: the same batch again
    assert (again.receipt, unstamped(again.records)) == (first.receipt, unstamped(first.records))
    res.acknowledge("stock", first.receipt)
    second = res.read_batch("stock", {})
    assert levels(res, second) == {"ART-A": 9}  # the change made meanwhile, once
    assert second.records[0]["_as_of"] >= first.records[0]["_as_of"]

    # the acknowledgement reaches Specter but its answer is lost; the engine's next run reads on
    assert sp.ack_stock(second.receipt).startswith("1;")
    sp.set_stock("ART-B", 3)
    res.acknowledge("stock", second.receipt)  # sent again: no harm
    third = res.read_batch("stock", {})
    assert levels(res, third) == {"ART-B": 3}
    sp.set_stock("ART-A", 1)
    other = res.read_batch("stock", {})  # (pending: third again)
    assert other.receipt == third.receipt
    res.acknowledge("stock", third.receipt)
    fourth = res.read_batch("stock", {})
    res.acknowledge("stock", third.receipt)  # an old batch while another is pending: nothing to do
    assert levels(res, fourth) == {"ART-A": 1}
    res.acknowledge("stock", fourth.receipt)
    empty = res.read_batch("stock", {})
    assert (empty.records, empty.receipt) == ([], None)


def test_stock_of_every_stock_site_when_asked(sp):
    sp.edit_article("ART-S", name="Sitesum", priceExclVat="10.00", stock=6)
    sp.set_stock("ART-S", 4, site=2)
    res = resource(sp)
    assert levels(res, res.read_batch("stock", {"all_stock_sites": True})) == {"ART-S": 10}
    assert levels(res, res.read_batch("stock", {})) == {"ART-S": 6}  # the same batch: the default site only


def test_article_feed_gives_products_with_prices_excluding_vat_one_capped_batch_per_read(sp):
    for i, (vat, net) in enumerate((("25", "79.20"), ("12", "71.43"), ("6", "188.68"))):
        sp.edit_article(f"INFO-{i}", name=f"Artikel {i}", priceExclVat=net, vatPercent=vat, barCode=f"735000000{i}")
    sp.limits(articles=2)
    res = resource(sp)
    first = res.read_batch("products", {})
    assert len(first.records) == 2  # the cap: the rest waits for the next batch
    products = [res.to_canonical("products", raw, {}) for raw in first.records]
    assert all(isinstance(p, Product) and p.kind == "simple" and p.price.includes_vat is False for p in products)
    res.acknowledge("products", first.receipt)
    second = res.read_batch("products", {})
    res.acknowledge("products", second.receipt)
    products += [res.to_canonical("products", raw, {}) for raw in second.records]
    by_sku = {p.sku: p for p in products}
    assert set(by_sku) == {"INFO-0", "INFO-1", "INFO-2"}
    assert (by_sku["INFO-1"].price.amount.amount, by_sku["INFO-1"].price.vat_rate) == (Decimal("71.43"), Decimal(12))
    assert by_sku["INFO-2"].name == "Artikel 2" and by_sku["INFO-2"].ean == "7350000002"
    assert res.read_batch("products", {}).receipt is None


def test_latest_change_names_the_batch_the_next_run_reads(sp):
    res = resource(sp)
    assert res.latest_change("stock", None) is None
    sp.edit_article("ART-W", name="Watch", priceExclVat="1.00", stock=2)
    mark = res.latest_change("stock", None)
    assert mark is not None and mark.new
    assert not res.latest_change("stock", mark).new  # the same pending batch: no second run
    batch = res.read_batch("stock", {})
    assert batch.receipt == mark.fingerprint and decimal(batch.records[0]["sites"]["1"]) == 2
