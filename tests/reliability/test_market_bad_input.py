"""Suite 4 on the hub plugs (``market``, issue 15) — hostile and bad data: each bad record fails alone
with a reason naming it, each bad setting fails the run naming the setting, the rest lands.

1. **Shop products, shop → hub → Tradera** (the real ``products_in`` and ``products_to_tradera`` jobs, run
   twice), among good products (one with a SKU of exactly 60 characters, Tradera's limit for an own
   reference):
   * a price of 0 kr (Tradera lists nothing at no price);
   * a SKU of 61 characters (Tradera keeps 60 as an own reference: the SKU could never be found again);
   * a VAT rate Tradera does not take: the shop's "super reduced" class at 8 % (a shop's /taxes as a shop
     outside Sweden might have them; Tradera takes 0, 6, 12 and 25);
   * a name of 95 characters and a description of 7 100 (Tradera takes 80 and 7 000): these are not
     refused but cut, listed, and the cut is a warning in the sync log.
   Each refused one must be in the sync log as failed with a readable reason (no traceback) naming its
   SKU and why, still open after the second run; none of them reaches Tradera, no call is spent on them;
   every good one is listed once at its price; the second run writes nothing.
2. **A Tradera order naming an item without SKU**: the seller lists an item by hand on Tradera (no own
   reference, no seller part number: the integration did not list it) and a buyer buys it, among good
   purchases; and an item listed by hand with a reference the shop does not sell. The first fails in
   ``orders_from_tradera`` naming the order and the item, the second in ``orders_to_shop`` naming the
   SKU the shop lacks; every good purchase is one shop order for what the buyer paid.
3. **Bad listing settings**: three shipping options without Pickup, a payment type Tradera does not
   list, a condition other than new or used, a negative shipping cost. Each fails the run with one
   readable line naming the flow and the setting, before anything is listed (no write reaches Tradera);
   the good settings then list everything.

Expected values are the test's own: what it put in the shop and on Tradera, read back over HTTP
(``marketkit``), never the code under test.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from dagster import DagsterInstance

from flowkit import run, stats
from reliability.marketkit import (
    CREATE_ITEM, CREATE_VARIANT, LISTING, ORDER_JOBS, PRODUCT_JOBS, Ledger, Market, api_calls, buy, buyer,
    data_writes, definitions, listing_problems, order_problems, shop_units,
)

pytestmark = pytest.mark.reliability

PRODUCTS_FLOW, FROM_TRADERA, TO_SHOP = "market.products_to_tradera", "market.orders_from_tradera", \
    "market.orders_to_shop"
EXACT = "BI-EXACT-" + "X" * 51  # 60 characters: lands
LONG = "BI-LONG-" + "Y" * 53  # 61 characters
LONG_NAME = "Handstickad ullmössa i naturfärgad merinoull från Jämtland, med dubbelvikt kant och tofs"  # 95


def readable(reason) -> bool:
    return (isinstance(reason, str) and 0 < len(reason) < 1000 and "Traceback" not in reason
            and "\n  File " not in reason)


def failures(store, flow: str) -> dict[str, str]:
    """record key -> reason of the records whose latest sync-log row is a failure."""
    open_ = store.unresolved_failures(flow)
    return {str(k): str(e) for k, e in zip(open_["record_key"], open_["error"])}


def _named(failed: dict[str, str], key: str, *marks: str) -> bool:
    reason = failed.get(key)
    return reason is not None and readable(reason) and all(m in f"{key} {reason}" for m in marks)


@pytest.fixture
def market(woo_empty, tradera_empty, state_url):
    m = Market(woo_empty.url, tradera_empty.url)
    m.quota_off()
    m.settings(queue_delay_s=0)
    return m


@pytest.fixture
def rate_tradera_refuses(monkeypatch):
    """The shop's "super reduced" tax class at 8 % (its /taxes say so), for the length of the test."""
    from integrations_dagster.sandbox.woocommerce import taxes

    rates = tuple(r if r.tax_class != "super-reduced-rate" else type(r)(r.id, Decimal(8), "Moms 8%", r.tax_class)
                  for r in taxes.RATES)
    monkeypatch.setattr(taxes, "RATES", rates)


def test_bad_products_fail_alone_and_the_rest_of_their_batch_lands(tmp_path, market, store, rate_tradera_refuses,
                                                                   figures):
    assert len(EXACT) == 60 and len(LONG) == 61 and len(LONG_NAME) > 80
    for sku, name, price in (("BI-GOOD-1", "Mugg", "149.00"), ("BI-GOOD-2", "Kopp", "89.50"),
                             (EXACT, "Vara med lång SKU", "199.00")):
        market.new_product(sku, name, price, 10)
    market.new_product("BI-TITLE", LONG_NAME, "349.00", 5)
    market.new_product("BI-TEXT", "Lång text", "129.00", 5, short_description="", description="Ull. " * 1420)
    bad = {"BI-FREE": market.new_product("BI-FREE", "Gratis", "0", 5),
           LONG: market.new_product(LONG, "För lång SKU", "99.00", 5),
           "BI-VAT8": market.new_product("BI-VAT8", "Vara med 8 % moms", "108.00", 5, tax_class="super-reduced-rate")}
    defs = definitions(tmp_path, market.woo, market.tradera)
    instance = DagsterInstance.ephemeral()
    first = [run(defs, job, instance, raise_on_error=False).success for job in PRODUCT_JOBS]
    creates = sum(stats(market.tradera)["requests"].get(r, 0) for r in (CREATE_ITEM, CREATE_VARIANT))
    before, calls = data_writes(market.tradera), api_calls(market.tradera)
    second = [run(defs, job, instance, raise_on_error=False).success for job in PRODUCT_JOBS]
    again, again_calls = data_writes(market.tradera) - before, api_calls(market.tradera) - calls

    failed = failures(store, PRODUCTS_FLOW)
    units = shop_units(market.woo)
    good = {sku: unit for sku, unit in units.items() if sku not in bad}
    problems, dupes = listing_problems(market, good)
    why = {"BI-FREE": _named(failed, "BI-FREE", "0 kr"),
           LONG: _named(failed, LONG, "60"),
           "BI-VAT8": _named(failed, "BI-VAT8", "8", "VAT")}
    problems += [f"{sku}: {'not in the sync log as failed' if sku not in failed else 'reason ' + repr(failed[sku])}"
                 " — wanted a readable reason naming it and why" for sku, ok in why.items() if not ok]
    problems += [f"{key}: failed too ({reason})" for key, reason in failed.items() if key not in bad]
    listed = market.listed()
    problems += [f"{sku}: reached Tradera" for sku in bad if sku in listed]
    # the cut ones: listed with Tradera's lengths, the shop's text their beginning, and a warning each
    log = store.log(flow=PRODUCTS_FLOW)
    warned = {str(k): str(e) for k, o, e in zip(log["record_key"], log["outcome"], log["error"]) if o == "warning"}
    title = (listed.get("BI-TITLE") or [{}])[0].get("title") or ""
    text = (listed.get("BI-TEXT") or [{}])[0].get("description") or ""
    if not (0 < len(title) <= 80 and LONG_NAME.startswith(title.rstrip("…").rstrip())):
        problems.append(f"BI-TITLE: Tradera's title {title!r} is not the name's beginning within 80 characters")
    shop_text = market.product_by_sku("BI-TEXT")["description"]  # as the shop gives it (wrapped in <p>)
    if not (len(shop_text) > 7000 and 0 < len(text) <= 7000 and shop_text.startswith(text.rstrip("…"))):
        problems.append(f"BI-TEXT: Tradera's description ({len(text)} characters) is not the text's beginning "
                        "within 7 000")
    for sku, marks in (("BI-TITLE", ("title", "80")), ("BI-TEXT", ("description", "7000"))):
        if not any(all(m in reason for m in marks) for key, reason in warned.items() if key == sku):
            problems.append(f"{sku}: no warning in the sync log saying it was cut ({warned.get(sku)!r})")
    landed = Counter(str(k) for k, o in zip(log["record_key"], log["outcome"]) if o == "created")
    problems += [f"{sku}: landed {landed[sku]} times in the sync log" for sku in good if landed[sku] != 1]
    figures.setdefault("market_bad_input", {}).update({
        "products: good (two cut, with a warning) / bad (price 0, 61-character SKU, VAT 8 %)": (
            f"{len(good)} / {len(bad)}"),
        "products: failed in the sync log with a reason naming them": sum(why.values()),
        "products: creates sent to Tradera / good units": f"{creates} / {len(good)}",
        "products: good ones listed exactly once": sum(len(listed.get(sku, ())) == 1 for sku in good),
        "products: Tradera calls / writes of the second run": f"{again_calls} / {sum(again.values())}",
    })
    assert all(first) and all(second), "a bad product must not fail the run"
    assert creates == len(good), (creates, sorted(good))
    assert not problems, "\n".join(problems)
    assert not again and again_calls == 0, (dict(again), again_calls)


def _list_by_hand(market: Market, title: str, price: int, reference: str | None = None) -> dict:
    """A shop item the seller lists on Tradera by hand (its own API calls), processed at once."""
    body = {"title": title, "description": title, "price": price, "absoluteQuantity": 5, "vat": 25,
            "categoryId": LISTING["category"], "itemAttributes": [1], "acceptedBuyerId": 1,
            "shippingOptions": [{"shippingOptionId": 12, "cost": 49}], "paymentOptionIds": [4096]}
    if reference is not None:
        body["ownReferences"] = [reference]
    answer = market.api("POST", "/v4/listings/shop-items", body)
    market.process()
    return answer


def test_a_tradera_order_naming_an_item_without_sku_fails_alone_and_the_rest_lands(tmp_path, market, store,
                                                                                  figures):
    for i in range(3):
        market.new_product(f"BO-{i}", f"Ordervara {i}", f"{159 + 20 * i}.00", 20)
    defs = definitions(tmp_path, market.woo, market.tradera)
    instance = DagsterInstance.ephemeral()
    for job in PRODUCT_JOBS:
        assert run(defs, job, instance).success
    hand = _list_by_hand(market, "Handlistad tavla", 450)
    foreign = _list_by_hand(market, "Handlistad lampa", 390, reference="NOT-IN-SHOP")
    ledger = Ledger()
    buy(market, ledger, "BO-0", 2, buyer=buyer(1))
    no_sku = market.control("POST", "buy", {"itemId": hand["itemId"], "quantity": 1, "buyer": buyer(2)})
    buy(market, ledger, "BO-1", 1, option=8, buyer=buyer(3))
    unknown = market.control("POST", "buy", {"itemId": foreign["itemId"], "quantity": 1, "buyer": buyer(4)})
    buy(market, ledger, "BO-2", 3, buyer=buyer(2))
    first = [run(defs, job, instance, raise_on_error=False).success for job in ORDER_JOBS]
    before = data_writes(market.woo, market.tradera)
    second = [run(defs, job, instance, raise_on_error=False).success for job in ORDER_JOBS]
    again = data_writes(market.woo, market.tradera) - before

    from_tradera, to_shop = failures(store, FROM_TRADERA), failures(store, TO_SHOP)
    problems, dupes = order_problems(market, ledger)
    bad = {f"order {no_sku['orderId']}": _named(from_tradera, f"order {no_sku['orderId']}", str(hand["itemId"]),
                                                "SKU"),
           f"tradera:{unknown['orderId']}": _named(to_shop, f"tradera:{unknown['orderId']}", "NOT-IN-SHOP")}
    problems += [f"{key}: not failed with a readable reason naming it and why ({from_tradera.get(key)!r}, "
                 f"{to_shop.get(key)!r})" for key, ok in bad.items() if not ok]
    problems += [f"{key}: failed too ({reason})" for key, reason in {**from_tradera, **to_shop}.items()
                 if key not in bad]
    in_shop = market.tradera_orders_in_shop()
    problems += [f"tradera:{o['orderId']}: reached the shop" for o in (no_sku, unknown) if f"tradera:{o['orderId']}"
                 in in_shop]
    figures.setdefault("market_bad_input", {}).update({
        "orders: good / bad (an item listed by hand without SKU, a SKU the shop does not sell)": (
            f"{len(ledger.purchases)} / 2"),
        "orders: failed in the sync log with a reason naming them": sum(bad.values()),
        "orders: good ones one shop order for what the buyer paid": sum(
            len(in_shop.get(p.key, ())) == 1 and Decimal(in_shop[p.key][0]["total"]) == p.total
            for p in ledger.purchases),
        "orders: writes by the second run": sum(again.values()),
    })
    assert all(first) and all(second), "a bad order must not fail the run"
    assert not dupes
    assert not problems, "\n".join(problems)
    assert not again, dict(again)


BAD_SETTINGS = {  # setting named in the message -> the listing options
    "shipping": {**LISTING, "shipping": [{"option": 12, "cost": 49}, {"option": 1, "cost": 59},
                                          {"option": 2, "cost": 69}]},
    "payment_options[0]": {**LISTING, "payment_options": [999]},
    "condition": {**LISTING, "condition": "refurbished"},
    "shipping[1].cost": {**LISTING, "shipping": [{"option": 12, "cost": 49}, {"option": 8, "cost": -10}]},
}


def _failure_message(result) -> str:
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            return event.event_specific_data.error.message.strip()
    return ""


def test_bad_listing_settings_fail_the_run_naming_the_setting(tmp_path, market, figures):
    market.new_product("BS-1", "Mugg", "149.00", 10)
    market.new_variable("Mössa", {"BS-HAT-S": "199.00", "BS-HAT-M": "199.00"}, stock=4)
    instance = DagsterInstance.ephemeral()
    problems, said = [], {}
    for n, (setting, listing) in enumerate(BAD_SETTINGS.items()):
        defs = definitions(tmp_path, market.woo, market.tradera, listing=listing, name=f"bad{n}.yaml")
        before = data_writes(market.tradera)
        assert run(defs, "market_products_in", instance).success
        result = run(defs, "market_products_to_tradera", instance, raise_on_error=False)
        message = said[setting] = _failure_message(result)
        line = message.removeprefix("dagster._core.definitions.events.Failure: ")
        if result.success:
            problems.append(f"{setting}: the run succeeded")
        elif not (readable(line) and "\n" not in line and f".{setting}:" in line and "products_to_tradera" in line):
            problems.append(f"{setting}: the run failed with {message!r}: wanted one readable line naming the flow "
                            f"and the setting")
        if wrote := data_writes(market.tradera) - before:
            problems.append(f"{setting}: wrote to Tradera {dict(wrote)}")
    good = definitions(tmp_path, market.woo, market.tradera, name="good.yaml")
    for job in PRODUCT_JOBS:
        assert run(good, job, instance).success
    listed, dupes = listing_problems(market, shop_units(market.woo))
    figures.setdefault("market_bad_input", {}).update({
        "listing settings: bad ones (3 shipping options without pickup, unknown payment type, condition "
        "'refurbished', negative shipping cost) failing the run naming the setting":
            f"{len(BAD_SETTINGS) - len({p.split(':')[0] for p in problems})} of {len(BAD_SETTINGS)}",
        "listing settings: units listed with the good settings afterwards / twice":
            f"{len(shop_units(market.woo)) - len(listed)} / {dupes}",
    })
    assert not problems, "\n".join(problems) + "\n" + "\n".join(f"{k}: {v}" for k, v in said.items())
    assert not listed, "\n".join(listed)
