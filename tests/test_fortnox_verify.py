"""Reconciliation with Fortnox as the target (issue 10, "Reconciliation checks"): right after a sync
``verify`` finds no drift; after a change by hand in Fortnox it finds exactly that change.

The flows run first (WooCommerce sandbox -> empty Fortnox sandbox), then the records are built the
way the drift check builds them: the shop connector's ``prepare``/``read``/``to_canonical`` with the
flow's own options, only those the state store says Fortnox holds as they are. The changes by hand
go over HTTP; expected values come from the shop's raw data and arithmetic here (a price incl. 25 %
VAT ÷ 1.25, to the öre half up), and request counts from the sandbox's own stats.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import requests

from conftest import FORTNOX_TOKEN
from flowkit import definitions, fx, fx_all, run, stats, woo_get
from integrations_dagster import config
from integrations_dagster.build import flow_spec
from integrations_dagster.connectors.base import Drift, Window, WriteContext
from integrations_dagster.flows.pipeline import connection_options, filter_statuses


def net(price: str, rate: str = "25") -> Decimal:
    return (Decimal(price) / (1 + Decimal(rate) / 100)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def live(defs, key: str):
    """A connection's resource with its credentials resolved from the environment, as a run has it."""
    return defs.resources[key].process_config_and_initialize()


def engine_view(tmp_path, defs, store, flow: str):
    """(records the drift check hands to verify, the WriteContext it hands with them), as it builds them."""
    integration = config.load(tmp_path / "integrations.yaml").integrations[0]
    spec = flow_spec(integration, flow, integration.flows[flow])
    shop = live(defs, "demo__shop")
    options = shop.prepare(spec.entity, connection_options(spec, "source"))
    records = [shop.to_canonical(spec.entity, raw, options) for raw in shop.read(spec.entity, Window(), options)]
    records, _ = filter_statuses(spec, records)
    hashes = store.snapshot_hashes(spec.state_name, [r.key for r in records])
    in_sync = [r for r in records if hashes.get(r.key) == r.content_hash()]
    ctx = WriteContext(binder=store.binder(spec.target), source_binder=store.binder(spec.source),
                       options=connection_options(spec, "target"), owns=spec.owns, log=lambda line: None)
    return in_sync, ctx, len(records)


def fx_delete(fx_url: str, path: str) -> None:
    requests.delete(f"{fx_url}/3{path}", headers={"Authorization": f"Bearer {FORTNOX_TOKEN}"},
                    timeout=10).raise_for_status()


def verify_counting(fx_url: str, erp, entity: str, records, ctx) -> tuple[list[Drift], dict[str, int]]:
    """The drifts, and the requests Fortnox got meanwhile (route -> count; the sandbox writes a numeric
    path segment as ``{id}``, "/3/orders/7" as "/{id}/orders/{id}")."""
    before = stats(fx_url)["requests"]
    drifts = list(erp.verify(entity, records, ctx))
    after = stats(fx_url)["requests"]
    return drifts, {route: n - before.get(route, 0) for route, n in after.items() if n != before.get(route, 0)}


def test_products_no_drift_after_sync_then_exactly_the_changes_made_by_hand(tmp_path, woo_sandbox, fortnox_empty,
                                                                            store):
    woo, fx_url = woo_sandbox.url, fortnox_empty.url
    defs = definitions(tmp_path, woo, fx_url)
    assert run(defs, "demo_products").success
    records, ctx, read = engine_view(tmp_path, defs, store, "products")
    assert len(records) == read  # right after the sync, Fortnox holds every record as it is
    erp = live(defs, "demo__erp")
    skus = [u.sku for r in records for u in r.sellable_units()]
    assert len(skus) > 5

    drifts, requests_made = verify_counting(fx_url, erp, "products", records, ctx)

    assert drifts == []
    # In bulk: the article list (one page of 500), the inactive ones, the price lists - never one per SKU.
    assert set(requests_made) <= {"GET /{id}/articles", "GET /{id}/pricelists"}, requests_made
    assert sum(requests_made.values()) <= 3

    products = woo_get(woo, "/products")
    simple = [p for p in products if p["type"] == "simple" and p["sku"] and p["tax_class"] == ""
              and p["status"] == "publish" and p["regular_price"] and "<" not in p["name"] and "&" not in p["name"]]
    assert len(simple) >= 4
    priced, described, deleted, deactivated = simple[:4]
    variable = next(p for p in products if p["type"] == "variable" and p["tax_class"] == "")
    variation = next(v for v in woo_get(woo, f"/products/{variable['id']}/variations")
                     if v["sku"] and v["regular_price"])
    restocked = simple[4] if len(simple) > 4 else priced

    fx(fx_url, "PUT", f"/prices/A/{priced['sku']}", {"Price": {"Price": 1}})
    fx(fx_url, "PUT", f"/prices/A/{variation['sku']}", {"Price": {"Price": 12.5}})
    fx(fx_url, "PUT", f"/articles/{described['sku']}", {"Article": {"Description": "Edited by hand"}})
    fx_delete(fx_url, f"/articles/{deleted['sku']}")
    fx(fx_url, "PUT", f"/articles/{deactivated['sku']}", {"Article": {"Active": False}})
    fx(fx_url, "PUT", f"/articles/{restocked['sku']}", {"Article": {"QuantityInStock": 999}})  # Fortnox owns stock

    drifts, requests_made = verify_counting(fx_url, erp, "products", records, ctx)

    assert sorted(drifts, key=repr) == sorted([
        Drift(priced["sku"], "price list A", money(net(priced["regular_price"])), "1.00"),
        Drift(variation["sku"], "price list A", money(net(variation["regular_price"])), "12.50"),
        Drift(described["sku"], "Description", described["name"], "Edited by hand"),
        Drift(deleted["sku"], "record", f"article {deleted['sku']}", None),
        Drift(deactivated["sku"], "Active", "true", "false"),
    ], key=repr)
    assert sum(requests_made.values()) <= 3, requests_made

    # The id map comes first: the deleted SKU bound to another article that holds what the shop says.
    legacy = {"ArticleNumber": "LEGACY-1", "Description": deleted["name"]}
    if deleted.get("global_unique_id"):  # the shop's GTIN is the article's EAN
        legacy["EAN"] = deleted["global_unique_id"]
    fx(fx_url, "POST", "/articles", {"Article": legacy})
    fx(fx_url, "POST", "/prices", {"Price": {"ArticleNumber": "LEGACY-1", "PriceList": "A", "FromQuantity": 0,
                                             "Price": float(net(deleted["regular_price"]))}})
    store.binder("erp").bind("products", deleted["sku"], "LEGACY-1")
    assert {d.key for d in erp.verify("products", records, ctx)} == {
        priced["sku"], variation["sku"], described["sku"], deactivated["sku"]}


def test_products_flow_that_owns_only_the_price_sees_only_price_drift(tmp_path, woo_sandbox, fortnox_empty, store):
    woo, fx_url = woo_sandbox.url, fortnox_empty.url
    defs = definitions(tmp_path, woo, fx_url, owns=["price"])
    assert run(defs, "demo_products").success
    records, ctx, _ = engine_view(tmp_path, defs, store, "products")
    simple = [p for p in woo_get(woo, "/products") if p["type"] == "simple" and p["sku"] and p["tax_class"] == ""
              and p["regular_price"]]
    fx(fx_url, "PUT", f"/articles/{simple[0]['sku']}", {"Article": {"Description": "Not ours to keep"}})
    fx(fx_url, "PUT", f"/prices/A/{simple[1]['sku']}", {"Price": {"Price": 2}})

    drifts, requests_made = verify_counting(fx_url, live(defs, "demo__erp"), "products", records, ctx)

    assert drifts == [Drift(simple[1]["sku"], "price list A", money(net(simple[1]["regular_price"])), "2.00")]
    assert "GET /{id}/articles" in requests_made and sum(requests_made.values()) <= 2  # no inactive list: not owned


def test_products_in_a_price_list_other_than_the_preselected_one_are_read_per_article(tmp_path, woo_sandbox,
                                                                                     fortnox_empty, store):
    woo, fx_url = woo_sandbox.url, fortnox_empty.url
    defs = definitions(tmp_path, woo, fx_url)
    assert run(defs, "demo_products").success
    records, ctx, _ = engine_view(tmp_path, defs, store, "products")
    # A second price list "B" holding, by hand, what the shop says (net of 25 % VAT, as list A got it).
    fx(fx_url, "POST", "/pricelists", {"PriceList": {"Code": "B", "Description": "Återförsäljare"}})
    units = [u for r in records for u in r.sellable_units() if u.price is not None]
    expected = {}
    for p in woo_get(woo, "/products"):
        for raw in ([p] if p["type"] == "simple" else woo_get(woo, f"/products/{p['id']}/variations")):
            if raw["sku"] and raw["regular_price"]:
                expected[raw["sku"]] = net(raw["regular_price"], "12" if p["tax_class"] == "reduced-rate" else "25")
    assert {u.sku for u in units} <= set(expected)
    for u in units:
        fx(fx_url, "POST", "/prices", {"Price": {"ArticleNumber": u.sku, "PriceList": "B", "FromQuantity": 0,
                                                 "Price": float(expected[u.sku])}})
    erp_b = live(defs, "demo__erp").model_copy(update={"price_list": "B"})
    assert list(erp_b.verify("products", records, ctx)) == []

    changed = units[0].sku
    fx(fx_url, "PUT", f"/prices/B/{changed}", {"Price": {"Price": 3}})
    fx(fx_url, "PUT", f"/prices/A/{units[1].sku}", {"Price": {"Price": 4}})  # list A is not this connection's
    drifts, requests_made = verify_counting(fx_url, erp_b, "products", records, ctx)

    assert drifts == [Drift(changed, "price list B", money(expected[changed]), "3.00")]
    assert sum(n for route, n in requests_made.items() if route.startswith("GET /{id}/prices/B/")) == len(units)


WRITABLE_ROW = ("ArticleNumber", "Description", "Price", "VAT", "DeliveredQuantity", "OrderedQuantity",
                "AccountNumber")


def test_orders_no_drift_after_sync_then_a_row_price_and_a_lost_document(tmp_path, woo_sandbox, fortnox_empty,
                                                                        store):
    woo, fx_url = woo_sandbox.url, fortnox_empty.url
    defs = definitions(tmp_path, woo, fx_url)
    assert run(defs, "demo_products").success
    assert run(defs, "demo_orders").success
    records, ctx, _ = engine_view(tmp_path, defs, store, "orders")
    bound = store.binder("erp").all("orders")
    assert len(bound) >= 2 and {r.key for r in records} >= set(bound)
    erp = live(defs, "demo__erp")

    drifts, requests_made = verify_counting(fx_url, erp, "orders", records, ctx)

    assert drifts == []
    assert requests_made == {"GET /{id}/orders/{id}": len(bound)}  # one per bound order, none for the rest

    woo_orders = {f"shop:{o['id']}": o for o in woo_get(woo, "/orders")}
    # A row at 25 % in a document with VAT included, repriced by hand so that it totals 12.50 more:
    # Fortnox then charges 12.50 more, 2.50 more VAT, and rounds the total to whole kronor (RoundOff 0.50).
    edited_key, lost_key = sorted(bound)[:2]
    number = bound[edited_key]
    doc = fx(fx_url, "GET", f"/orders/{number}")["Order"]
    assert doc["VATIncluded"] is True
    rows = [{k: row[k] for k in WRITABLE_ROW if row.get(k) not in (None, "")} for row in doc["OrderRows"]]
    n = next(i for i, row in enumerate(rows) if Decimal(str(row["VAT"])) == 25 and row.get("ArticleNumber"))
    step = Decimal("12.50") / Decimal(str(rows[n]["DeliveredQuantity"]))
    assert step == step.quantize(Decimal("0.01")), rows[n]  # a unit price change of whole öre
    rows[n]["Price"] = float(Decimal(str(rows[n]["Price"])) + step)
    edited = fx(fx_url, "PUT", f"/orders/{number}", {"Order": {"OrderRows": rows}})["Order"]
    assert Decimal(str(edited["RoundOff"])) != 0
    store.binder("erp").bind("orders", lost_key, "999999")  # bound to a document Fortnox does not have

    drifts, _ = verify_counting(fx_url, erp, "orders", records, ctx)

    woo_order = woo_orders[edited_key]
    assert sorted(drifts, key=repr) == sorted([
        Drift(edited_key, "Total", money(Decimal(woo_order["total"])),
              money(Decimal(woo_order["total"]) + Decimal("12.50"))),
        Drift(edited_key, "TotalVAT", money(Decimal(woo_order["total_tax"])),
              money(Decimal(woo_order["total_tax"]) + Decimal("2.50"))),
        Drift(lost_key, "record", "order 999999", None),
    ], key=repr)


def test_invoices_are_verified_when_the_flow_books_invoices(tmp_path, woo_sandbox, fortnox_empty, store):
    woo, fx_url = woo_sandbox.url, fortnox_empty.url
    defs = definitions(tmp_path, woo, fx_url, document="invoice")
    assert run(defs, "demo_products").success
    assert run(defs, "demo_orders").success
    records, ctx, _ = engine_view(tmp_path, defs, store, "orders")
    bound = store.binder("erp").all("invoices")
    assert bound and not store.binder("erp").all("orders")

    drifts, requests_made = verify_counting(fx_url, live(defs, "demo__erp"), "orders", records, ctx)

    assert drifts == [] and requests_made == {"GET /{id}/invoices/{id}": len(bound)}
    assert len(fx_all(fx_url, "invoices", "Invoices")) == len(bound)


def test_a_flow_in_mode_create_is_verified_for_articles_that_exist_only(tmp_path, woo_sandbox, fortnox_empty, store):
    """Mode create links an article it finds and writes none of its fields: only a missing one is drift."""
    woo, fx_url = woo_sandbox.url, fortnox_empty.url
    defs = definitions(tmp_path, woo, fx_url, mode="create")
    assert run(defs, "demo_products").success
    records, ctx, _ = engine_view(tmp_path, defs, store, "products")
    simple = [p["sku"] for p in woo_get(woo, "/products") if p["type"] == "simple" and p["sku"]]
    fx(fx_url, "PUT", f"/articles/{simple[0]}", {"Article": {"Description": "Renamed in Fortnox", "Active": False}})
    fx(fx_url, "PUT", f"/prices/A/{simple[0]}", {"Price": {"Price": 5}})
    fx_delete(fx_url, f"/articles/{simple[1]}")

    drifts = list(live(defs, "demo__erp").verify("products", records, ctx))

    assert drifts == [Drift(simple[1], "record", f"article {simple[1]}", None)]


def test_the_sandbox_lists_an_article_created_without_active_as_active(fortnox_sandbox):
    """The demo articles are created without ``Active``; Fortnox answers such an article active
    [rec: articles/save_new.yml], so ``filter=inactive`` must not list them (verify reads Active so)."""
    url = fortnox_sandbox.url
    everything = {a["ArticleNumber"] for a in fx_all(url, "articles", "Articles")}
    assert everything and fx(url, "GET", "/articles", filter="inactive")["Articles"] == []
    active = fx(url, "GET", "/articles", filter="active", limit=500)["Articles"]
    assert {a["ArticleNumber"] for a in active} == everything
    number = sorted(everything)[0]
    fx(url, "PUT", f"/articles/{number}", {"Article": {"Active": False}})
    assert [a["ArticleNumber"] for a in fx(url, "GET", "/articles", filter="inactive")["Articles"]] == [number]
