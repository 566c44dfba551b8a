"""Presets (seed 002's three "huvudflöden"): ``preset: ecom | erp | combo`` expands into flows when the
file is read; the integration's own ``flows:`` override them key by key; the controlling system owns
its fields. Expected flows are the seed's tables, written here:

* Flöde #1 (Ecom) — WooCommerce styr: Order inkl kund shop → ERP; Produkt shop → ERP.
* Flöde #2 (ERP) — Specter styr: Order shop → ERP; Produkt, Pris, Lager ERP → shop.
* Flöde #3 (Kombo) — WooCommerce styr artiklar, Specter styr lager och pris: Produkt shop → ERP;
  Pris, Lager ERP → shop; Order shop → ERP.
"""

from __future__ import annotations

import textwrap
from decimal import Decimal

import pytest

import requests

from flowkit import fx, fx_all, run, stats, woo_get, woo_post, woo_put
from integrations_dagster import config
from integrations_dagster.build import build_definitions

HEAD = """
integrations:
  - name: webshop
    start_date: 2026-11-01
    preset: {preset}
    {roles}
    connections:
      {shop}:
        system: woocommerce
        base_url: "{woo}"
        credentials: {{consumer_key: {{env: WOO_CONSUMER_KEY}}, consumer_secret: {{env: WOO_CONSUMER_SECRET}}}}
        options: {{currency: SEK, prices_include_tax: true, tax_rates: {{"": 25, "reduced-rate": 12}}}}
      {erp}:
        system: fortnox
        base_url: "{fortnox}"
        credentials: {{access_token: {{env: FORTNOX_ACCESS_TOKEN}}}}
        settings: {{auth_url: "{fortnox}/oauth-v1"}}
"""

SEED = {  # flow -> (entity, from, to), per preset: the seed's tables
    "ecom": {"products": ("products", "shop", "erp"), "orders": ("orders", "shop", "erp")},
    "erp": {"products": ("products", "erp", "shop"), "prices": ("products", "erp", "shop"),
            "stock": ("stock", "erp", "shop"), "orders": ("orders", "shop", "erp"),
            "order_status": ("order_status", "erp", "shop")},
    "combo": {"products": ("products", "shop", "erp"), "prices": ("products", "erp", "shop"),
              "stock": ("stock", "erp", "shop"), "orders": ("orders", "shop", "erp"),
              "order_status": ("order_status", "erp", "shop")},
}
OPTIONAL = {"order_status"}  # "Orderstatus … Valbart": off until the integration turns it on


SPECTER = """        system: specter
        base_url: "{fortnox}"
        credentials: {{sbm_id: {{env: SPECTER_SBM_ID}}, api_user_id: {{env: SPECTER_API_USER_ID}},
                      user_key: {{env: SPECTER_USER_KEY}}, integration_key: {{env: SPECTER_INTEGRATION_KEY}}}}
"""


def load(tmp_path, preset: str, flows: str = "", *, shop: str = "shop", erp: str = "erp", roles: str = "",
         woo: str = "http://127.0.0.1:1", fortnox: str = "http://127.0.0.1:2",
         system: str = "fortnox") -> config.IntegrationsFile:
    head = HEAD
    if system == "specter":
        head = head[:head.index("        system: fortnox")] + SPECTER
    path = tmp_path / "integrations.yaml"
    path.write_text(textwrap.dedent(head.format(preset=preset, roles=roles, shop=shop, erp=erp, woo=woo,
                                                fortnox=fortnox)) + textwrap.indent(textwrap.dedent(flows), "    "))
    return config.load(path)


@pytest.mark.parametrize("system", ["fortnox", "specter"])
@pytest.mark.parametrize("preset", ["ecom", "erp", "combo"])
def test_every_preset_builds_on_both_erps_and_no_side_owns_the_others_fields(tmp_path, preset, system):
    """The seed's rule, per preset × ERP: where the ERP controls prices, no flow into the ERP owns a price
    and the prices flow into the shop owns nothing but prices; where the shop controls all (ecom), its
    flows own every field."""
    file = load(tmp_path, preset, system=system)
    build_definitions(file)  # every expanded flow can run on these connectors
    flows = file.integrations[0].flows
    prices = {"price", "sale_price"}
    for name, flow in flows.items():
        if flow.entity != "products":
            continue
        if preset == "ecom":
            assert flow.owns is None, name
        elif system == "specter" and preset == "erp" and name == "products":
            assert flow.owns is None, name  # the feed's one reader owns every field (test below)
        elif name == "prices":
            assert flow.source == "erp" and flow.owns and set(flow.owns) <= prices, (name, flow.owns)
        else:
            assert flow.owns and not set(flow.owns) & prices and "name" in flow.owns, (name, flow.owns)


def test_on_a_feed_of_articles_the_erp_preset_reads_it_once(tmp_path):
    """Specter gives articles as a feed whose batches go to one reader: erp's products and prices (same
    source, same target) are one flow owning every field, the prices with it. Two flows on one feed are
    refused, naming both — the second would miss every batch the first acknowledged."""
    flows = load(tmp_path, "erp", system="specter").integrations[0].flows
    assert {n: (f.entity, f.source, f.target) for n, f in flows.items()} == {
        n: t for n, t in SEED["erp"].items() if n != "prices"}
    assert flows["products"].owns is None  # every field, prices too
    build_definitions(load(tmp_path, "combo", system="specter"))  # combo: prices are the feed's one reader
    with pytest.raises(config.ConfigError) as err:
        build_definitions(load(tmp_path, "erp", """
            flows:
              stock_2: {entity: stock, source: erp, target: shop}
        """, system="specter"))
    assert ("flows.stock_2.source: erp's stock is a change feed, and flow stock reads it already; a feed gives "
            "each batch to one reader") in str(err.value)


@pytest.mark.parametrize("preset", ["ecom", "erp", "combo"])
def test_each_preset_expands_into_the_seeds_flows(tmp_path, preset):
    integration = load(tmp_path, preset).integrations[0]
    got = {name: (f.entity, f.source, f.target) for name, f in integration.flows.items()}
    assert got == SEED[preset]
    assert {name for name, f in integration.flows.items() if not f.enabled} == OPTIONAL & set(SEED[preset])


def test_the_controlling_system_owns_its_fields(tmp_path):
    """Combo: the products flow (shop → ERP) never writes a price into the ERP; the prices flow owns
    prices only, so it never touches a name in the shop."""
    flows = load(tmp_path, "combo").integrations[0].flows
    assert "price" not in flows["products"].owns and "name" in flows["products"].owns
    assert flows["prices"].owns is None or set(flows["prices"].owns) <= {"price", "sale_price"}
    erp = load(tmp_path, "erp").integrations[0].flows
    assert erp["products"].owns is None or "price" not in erp["products"].owns
    assert load(tmp_path, "ecom").integrations[0].flows["products"].owns is None  # the shop controls all


def test_the_integrations_own_flows_override_the_preset_key_by_key(tmp_path):
    file = load(tmp_path, "combo", """
        flows:
          orders: {options: {document: invoice}, triggers: {schedule: 15min}}
          stock: {enabled: false}
          customers_note: {entity: orders, source: shop, target: erp, mode: create, options: {document: order}}
    """)
    flows = file.integrations[0].flows
    assert (flows["orders"].entity, flows["orders"].source, flows["orders"].options) == (
        "orders", "shop", {"document": "invoice"})
    assert flows["orders"].triggers.cron() == "*/15 * * * *" and flows["orders"].after == ["products"]
    assert flows["stock"].enabled is False and "customers_note" in flows


def test_roles_name_the_connections_and_a_missing_one_is_a_clear_error(tmp_path):
    flows = load(tmp_path, "ecom", shop="butik", erp="bokforing", roles="roles: {shop: butik, erp: bokforing}"
                 ).integrations[0].flows
    assert (flows["products"].source, flows["products"].target) == ("butik", "bokforing")
    with pytest.raises(config.ConfigError) as err:
        load(tmp_path, "ecom", shop="butik")
    assert "roles.shop: preset ecom needs the shop's connection; no connection named 'shop'" in str(err.value)
    assert str(tmp_path / "integrations.yaml") in str(err.value)
    with pytest.raises(config.ConfigError) as err:
        load(tmp_path, "webshop_first")
    assert "preset: 'webshop_first' is not one of ecom, erp, combo" in str(err.value)


def test_a_flow_the_connectors_cannot_run_says_which_flow_and_why(tmp_path):
    with pytest.raises(config.ConfigError) as err:
        build_definitions(load(tmp_path, "erp", "flows: {order_status: {enabled: true, source: shop, target: erp}}"))
    assert "flows.order_status.target: fortnox (erp) cannot be the target of order_status yet" in str(err.value)


def test_order_status_comes_back_from_fortnox_and_completes_the_order_where_payment_captures(
        tmp_path, woo_empty, fortnox_empty, state_url):
    """Seed 002, status back on the erp preset with Fortnox: an order invoiced in Fortnox completes the
    shop order (WooCommerce mails the customer its completed-order mail; Klarna and Nets capture on
    completed), one cancelled in Fortnox cancels it, a payment afterwards writes nothing more. With
    ``document: invoice`` the invoice the flow wrote is what gets paid."""
    woo, fx_url = woo_empty.url, fortnox_empty.url
    fx(fx_url, "POST", "/articles", {"Article": {"ArticleNumber": "LJUS-1", "Description": "Doftljus", "VAT": 25}})
    defs = build_definitions(load(tmp_path, "erp", "flows: {order_status: {enabled: true}}", woo=woo, fortnox=fx_url))
    assert run(defs, "webshop_products").success
    [candle] = woo_get(woo, "/products", sku="LJUS-1")
    made = [woo_post(woo, "/orders", {"status": "processing", "payment_method": "kco",
                                      "billing": {"first_name": "Åsa", "email": email, "country": "SE"},
                                      "line_items": [{"product_id": candle["id"], "quantity": 1, "total": "80.00"}]})
            for email in ("asa@example.se", "bo@example.se", "cy@example.se")]
    assert run(defs, "webshop_orders").success
    documents = {o["ExternalInvoiceReference1"]: o["DocumentNumber"] for o in fx_all(fx_url, "orders", "Orders")}
    invoiced, cancelled, untouched = (documents[f"shop:{o['id']}"] for o in made)
    mails = lambda: requests.get(f"{woo}/__sandbox__/woocommerce/mails", timeout=10).json()  # noqa: E731
    before = len(mails())
    invoice = fx(fx_url, "PUT", f"/orders/{invoiced}/createinvoice")["Invoice"]
    fx(fx_url, "PUT", f"/orders/{cancelled}/cancel")
    assert run(defs, "webshop_order_status").success
    status = lambda order: woo_get(woo, f"/orders/{order['id']}")["status"]  # noqa: E731
    assert [status(o) for o in made] == ["completed", "cancelled", "processing"]
    assert sorted((m["template"], m["order_id"]) for m in mails()[before:]) == sorted(
        [("customer_completed_order", made[0]["id"]), ("cancelled_order", made[1]["id"])])
    fx(fx_url, "POST", "/invoicepayments", {"InvoicePayment": {
        "InvoiceNumber": int(invoice["DocumentNumber"]), "Amount": invoice["Total"], "PaymentDate": "2026-11-30"}})
    writes = stats(woo)["writes"]
    assert run(defs, "webshop_order_status").success
    assert stats(woo)["writes"] == writes, "paid after invoiced: the order is completed already"
    assert [status(o) for o in made] == ["completed", "cancelled", "processing"]
    assert untouched not in {invoiced, cancelled}

    as_invoices = build_definitions(load(tmp_path, "erp", """
        flows:
          order_status: {enabled: true, options: {status_map: {invoiced: on-hold, paid: completed}}}
          orders: {options: {document: invoice}}
    """, woo=woo, fortnox=fx_url))
    later = woo_post(woo, "/orders", {"status": "processing", "billing": {"email": "di@example.se", "country": "SE"},
                                      "line_items": [{"product_id": candle["id"], "quantity": 2, "total": "160.00"}]})
    assert run(as_invoices, "webshop_orders").success
    [written] = [i for i in fx_all(fx_url, "invoices", "Invoices") if i["ExternalInvoiceReference1"] == f"shop:{later['id']}"]
    assert run(as_invoices, "webshop_order_status").success
    assert status(later) == "on-hold"  # invoiced, mapped per integration
    fx(fx_url, "POST", "/invoicepayments", {"InvoicePayment": {
        "InvoiceNumber": int(written["DocumentNumber"]), "Amount": written["Total"]}})
    assert run(as_invoices, "webshop_order_status").success
    assert status(later) == "completed"


def test_the_erp_preset_on_fortnox_takes_products_and_two_price_lists_to_the_shop(tmp_path, woo_empty, fortnox_empty,
                                                                                 state_url):
    """Seed 002, Flöde #2: products and prices Fortnox → WooCommerce; WooCommerce has a regular and a sale
    price only, so price list A is the regular price and list B the sale price. Expected: a list's price
    without VAT × 1.25 (the shop enters prices with VAT)."""
    woo, fx_url = woo_empty.url, fortnox_empty.url
    fx(fx_url, "POST", "/articles", {"Article": {"ArticleNumber": "LJUS-1", "Description": "Doftljus", "VAT": 25}})
    fx(fx_url, "POST", "/pricelists", {"PriceList": {"Code": "B", "Description": "Kampanj"}})
    for code, price in (("A", 79.20), ("B", 63.20)):
        fx(fx_url, "POST", "/prices", {"Price": {"ArticleNumber": "LJUS-1", "PriceList": code, "FromQuantity": 0,
                                                 "Price": price}})
    defs = build_definitions(load(tmp_path, "erp", "flows: {prices: {options: {sale_price_list: B}}, "
                                                   "products: {options: {sale_price_list: B}}}",
                                  woo=woo, fortnox=fx_url))
    assert run(defs, "webshop_products").success
    [candle] = woo_get(woo, "/products", sku="LJUS-1")
    assert (candle["name"], candle["status"], candle["regular_price"], candle["sale_price"]) == (
        "Doftljus", "draft", "99.00", "79.00")
    fx(fx_url, "PUT", "/prices/A/LJUS-1/0", {"Price": {"Price": 80.00}})
    fx(fx_url, "PUT", "/articles/LJUS-1", {"Article": {"Description": "Doftljus stor"}})
    full = {"ops": {"webshop_prices_fetch": {"config": {"full": True}}}}  # a price does not move the article
    assert run(defs, "webshop_prices", run_config=full).success
    [candle] = woo_get(woo, "/products", sku="LJUS-1")
    assert (candle["name"], candle["regular_price"]) == ("Doftljus", "100.00")  # prices never touch a name
    assert run(defs, "webshop_products").success
    [candle] = woo_get(woo, "/products", sku="LJUS-1")
    assert (candle["name"], candle["regular_price"]) == ("Doftljus stor", "100.00")


def test_the_ecom_preset_runs_end_to_end(tmp_path, woo_sandbox, fortnox_empty, state_url):
    """The shop controls: its products become articles, its orders documents, over real HTTP."""
    defs = build_definitions(load(tmp_path, "ecom", woo=woo_sandbox.url, fortnox=fortnox_empty.url))
    assert {j.name for j in defs.resolve_all_job_defs()} >= {"webshop_products", "webshop_orders"}
    assert run(defs, "webshop_products").success and run(defs, "webshop_orders").success
    skus = {v["sku"] for p in woo_get(woo_sandbox.url, "/products") for v in [p] if p.get("sku")}
    articles = {a["ArticleNumber"] for a in fx_all(fortnox_empty.url, "articles", "Articles")}
    assert skus and skus <= articles
    assert fx_all(fortnox_empty.url, "orders", "Orders")


# Two rounds: each side holds its own name and price; after the first round both sides edit both.
SHOP = [("Ljus från butiken", Decimal("125.00")), ("Ljus, butikens nya namn", Decimal("150.00"))]  # incl. VAT
ERP = [("Doftljus från ERP", Decimal("80.00")), ("Doftljus, ERP:s nya namn", Decimal("96.00"))]  # excl. VAT
VAT = Decimal("1.25")


def owned_outcome(preset: str, n: int) -> tuple[str, Decimal, str, Decimal]:
    """After round ``n``: (the ERP's name, its price without VAT, the shop's name, its price with VAT)."""
    (shop_name, gross), (erp_name, net) = SHOP[n], ERP[n]
    return {"ecom": (shop_name, gross / VAT, shop_name, gross),  # the shop owns every field
            "erp": (erp_name, net, erp_name, net * VAT),  # the ERP owns every field
            "combo": (shop_name, net, shop_name, net * VAT)}[preset]  # the shop its names, the ERP prices


@pytest.mark.parametrize("system", ["fortnox", "specter"])
@pytest.mark.parametrize("preset", ["ecom", "erp", "combo"])
def test_every_preset_on_both_erps_writes_no_field_the_other_side_owns(tmp_path, woo_empty, fortnox_empty,
                                                                       specter_empty, state_url, preset, system):
    """Seed 002's rule, at run time: one product the shop and the ERP both hold, each with its own name
    and price; every flow of the preset runs. The side that owns a field wins it on both sides; the
    other side's value is nowhere. Round two: both sides edit both fields, and the flows run in the
    opposite order (a flow writing a field it does not own would carry the wrong side's edit)."""
    from specterkit import Specter

    woo = woo_empty.url
    erp_url = fortnox_empty.url if system == "fortnox" else specter_empty.url

    def erp_edit(name: str, net: Decimal, create: bool = False) -> None:
        if system == "specter":
            Specter(erp_url).edit_article("LJUS-1", name=name, priceExclVat=str(net), vatPercent="25")
        elif create:
            fx(erp_url, "POST", "/articles", {"Article": {"ArticleNumber": "LJUS-1", "Description": name, "VAT": 25}})
            fx(erp_url, "POST", "/prices", {"Price": {"ArticleNumber": "LJUS-1", "PriceList": "A", "FromQuantity": 0,
                                                      "Price": float(net)}})
        else:
            fx(erp_url, "PUT", "/articles/LJUS-1", {"Article": {"Description": name}})
            fx(erp_url, "PUT", "/prices/A/LJUS-1/0", {"Price": {"Price": float(net)}})

    def state() -> tuple[str, Decimal, str, Decimal]:
        if system == "fortnox":
            erp = (fx(erp_url, "GET", "/articles/LJUS-1")["Article"]["Description"],
                   Decimal(str(fx(erp_url, "GET", "/prices/A/LJUS-1/0")["Price"]["Price"])))
        else:
            article = Specter(erp_url).article("LJUS-1")
            erp = (article["name"], Decimal(article["priceExclVat"]))
        shop = woo_get(woo, f"/products/{product['id']}")
        return erp[0], erp[1], shop["name"], Decimal(shop["regular_price"])

    erp_edit(*ERP[0], create=True)
    product = woo_post(woo, "/products", {"name": SHOP[0][0], "type": "simple", "sku": "LJUS-1",
                                          "regular_price": str(SHOP[0][1]), "manage_stock": True, "stock_quantity": 5})
    integration = load(tmp_path, preset, woo=woo, fortnox=erp_url, system=system)
    defs = build_definitions(integration)
    flows = [name for name, flow in integration.integrations[0].flows.items() if flow.enabled]
    for name in flows:
        assert run(defs, f"webshop_{name}").success, name
    assert state() == owned_outcome(preset, 0)

    erp_edit(*ERP[1])
    woo_put(woo, f"/products/{product['id']}", {"name": SHOP[1][0], "regular_price": str(SHOP[1][1])})
    for name in reversed(flows):  # a Fortnox price does not move its article: read in full
        config = {"ops": {f"webshop_{name}_fetch": {"config": {"full": True}}}} if system == "fortnox" else None
        assert run(defs, f"webshop_{name}", run_config=config).success, name
    assert state() == owned_outcome(preset, 1)


def test_combo_prices_and_stock_reach_variations_and_the_prices_flow_creates_nothing(tmp_path, woo_empty,
                                                                                   fortnox_empty, state_url):
    """Combo on Fortnox with a variable product: the ERP's prices and stock reach each variation (the
    prices flow keeps the id map's spelling of a variation, which the stock flow then writes through),
    and an article only the ERP has is not made a product by the prices flow — the shop decides what
    it sells. Expected: the list price without VAT × 1.25; the counts set in Fortnox."""
    woo, fx_url = woo_empty.url, fortnox_empty.url
    tee = woo_post(woo, "/products", {"name": "Tröja", "type": "variable", "attributes": [
        {"name": "Storlek", "options": ["S", "M"], "variation": True, "visible": True}]})
    sizes = {size: woo_post(woo, f"/products/{tee['id']}/variations", {
        "sku": f"TROJA-{size}", "regular_price": "249.00", "manage_stock": True, "stock_quantity": 2,
        "attributes": [{"name": "Storlek", "option": size}]}) for size in ("S", "M")}
    defs = build_definitions(load(tmp_path, "combo", woo=woo, fortnox=fx_url))
    assert run(defs, "webshop_products").success
    fx(fx_url, "POST", "/articles", {"Article": {"ArticleNumber": "BARA-ERP", "Description": "Lagerhylla", "VAT": 25}})
    fx(fx_url, "POST", "/prices", {"Price": {"ArticleNumber": "BARA-ERP", "PriceList": "A", "FromQuantity": 0,
                                             "Price": 400}})
    nets, counts = {"S": Decimal("160.00"), "M": Decimal("180.00")}, {"S": 7, "M": 11}
    for size in sizes:
        fx(fx_url, "PUT", f"/prices/A/TROJA-{size}/0", {"Price": {"Price": float(nets[size])}})
        fx(fx_url, "PUT", f"/articles/TROJA-{size}", {"Article": {"QuantityInStock": counts[size]}})
    full = lambda flow: {"ops": {f"webshop_{flow}_fetch": {"config": {"full": True}}}}  # noqa: E731
    assert run(defs, "webshop_prices", run_config=full("prices")).success
    assert run(defs, "webshop_stock", run_config=full("stock")).success
    for size, variation in sizes.items():
        held = woo_get(woo, f"/products/{tee['id']}/variations/{variation['id']}")
        assert (Decimal(held["regular_price"]), held["stock_quantity"]) == (nets[size] * VAT, counts[size]), size
    assert woo_get(woo, "/products", sku="BARA-ERP") == []  # the prices flow made no product
