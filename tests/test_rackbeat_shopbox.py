"""End to end: a Rackbeat ⇄ Shopbox integration as Dagster jobs built from its YAML, over real HTTP
between the two sandboxes (seed 003) — the tills' sales land in Rackbeat as orders, once, on the
location each branch maps to, with the till's VAT; Rackbeat's stock reaches each branch.

Expected values come from the test's own sales (øre incl. 25 % VAT) and arithmetic."""

from __future__ import annotations

import textwrap
from decimal import Decimal

import requests

from conftest import RACKBEAT_API_KEY, SHOPBOX_CLIENT, SHOPBOX_PASSWORD, SHOPBOX_USERNAME
from flowkit import run
from integrations_dagster import config
from integrations_dagster.build import build_definitions

AUTH = {"Authorization": f"Bearer {RACKBEAT_API_KEY}"}
# The two connections of the kasse tests (a str.format template: {shopbox}, {rackbeat}); flows follow.
CONNECTIONS = """
integrations:
  - name: kasse
    start_date: 2026-11-01
    connections:
      pos:
        system: shopbox
        base_url: "{shopbox}/api/v3"
        credentials: {{username: {{env: SHOPBOX_USERNAME}}, password: {{env: SHOPBOX_PASSWORD}},
                      client: {{env: SHOPBOX_CLIENT}}}}
        options: {{currency: DKK}}
      erp:
        system: rackbeat
        base_url: "{rackbeat}/api"
        credentials: {{api_key: {{env: RACKBEAT_API_KEY}}}}
        options: {{currency: DKK}}  # the till's currency (the Shopbox sandbox's shop is Danish): nothing converted
    flows:
"""
YAML = CONNECTIONS + """
      sales:
        entity: orders
        source: pos
        target: erp
        mode: create
        op_retries: 0
        options: {{customer_number: "1", add_vat: true, locations: {{"6101": "1", "6102": "2"}}, main_location: "1"}}
      stock:
        entity: stock
        source: erp
        target: pos
        op_retries: 0
        options: {{branches: {{"1": "6101", "2": "6102"}}}}
"""
PRODUCTS_FROM_RACKBEAT = """      products_to_pos:
        entity: products
        source: erp
        target: pos
        op_retries: 0
        triggers: {webhook: true, sensor: false}
"""
BRANCH_REGISTER = {6101: 7101, 6102: 7102}  # the Shopbox sandbox's organisation


def rb(sandbox, method: str, path: str, body: dict | None = None, **params) -> dict:
    """Rackbeat's own API, with the account's key (the test's view of it)."""
    resp = requests.request(method, f"{sandbox.url}/api{path}", headers=AUTH, json=body, params=params, timeout=10)
    assert resp.status_code < 300, resp.text
    return resp.json() if resp.content else {}


def test_till_sales_become_rackbeat_orders_once_and_rackbeat_stock_reaches_each_branch(
        tmp_path, rackbeat_sandbox, shopbox_empty, state_url):
    box = f"{shopbox_empty.url}/__sandbox__/shopbox"
    made = {}
    for sku, name, price in (("BONNER-1", "Kaffebønner", 8900), ("KOPP-1", "Kopp", 14900)):
        rb(rackbeat_sandbox, "POST", "/products", {"number": sku, "name": name, "group": 1, "sales_price": price / 125})
        made[sku] = requests.post(f"{box}/products", timeout=10, json={
            "name": name, "sku_code": sku, "selling_price": price, "tax": 1}).json()
    sales = [  # (branch, [(sku, quantity)])
        (6101, [("BONNER-1", 2), ("KOPP-1", 1)]),
        (6102, [("KOPP-1", 3)]),
    ]
    price = {"BONNER-1": 8900, "KOPP-1": 14900}
    for branch, lines in sales:
        requests.post(f"{box}/sale", timeout=10, json={"cash_register": BRANCH_REGISTER[branch], "lines": [
            {"product": made[sku]["uid"], "quantity": qty} for sku, qty in lines]}).raise_for_status()
    path = tmp_path / "integrations.yaml"
    path.write_text(textwrap.dedent(YAML.format(shopbox=shopbox_empty.url, rackbeat=rackbeat_sandbox.url)))
    defs = build_definitions(config.load(path))
    assert run(defs, "kasse_sales").success
    orders = [o for o in rb(rackbeat_sandbox, "GET", "/orders", limit=200)["orders"]
              if o["their_reference"].startswith("pos:")]
    assert len(orders) == 2
    by_total = sorted(Decimal(str(o["total_total"])) for o in orders)
    assert by_total == sorted(Decimal(sum(price[s] * q for s, q in lines)) / 100 for _, lines in sales)
    for order in orders:
        full = rb(rackbeat_sandbox, "GET", f"/orders/{order['number']}")["order"]
        locations = {line["location"]["number"] for line in full["lines"]}
        assert locations == ({1} if len(full["lines"]) == 2 else {2})  # Nørrebro → 1, Aarhus → 2
    # booked orders hold stock, and our writes fire no webhook: the stock flow is told as a webhook would
    from integrations_dagster.state import StateStore

    hints = StateStore(state_url).webhook_events_after("kasse", "erp", "stock", 0)
    assert hints[1] == 1
    assert run(defs, "kasse_sales").success
    assert len([o for o in rb(rackbeat_sandbox, "GET", "/orders", limit=200)["orders"]
                if o["their_reference"].startswith("pos:")]) == 2, "a second run books nothing again"
    assert StateStore(state_url).webhook_events_after("kasse", "erp", "stock", 0) == hints  # nothing booked, no hint

    for location, count in ((1, 40), (2, 7)):
        requests.post(f"{rackbeat_sandbox.url}/__sandbox__/rackbeat/stock", timeout=10, json={
            "item": "KOPP-1", "location": location, "quantity": count}).raise_for_status()
    assert run(defs, "kasse_stock").success
    kopp = made["KOPP-1"]["uid"]
    for branch, count in ((6101, 40 - 1), (6102, 7 - 3)):  # Rackbeat's available: on hand less the booked sales
        rows = requests.get(f"{box}/stock", params={"branch": branch}, timeout=10).json()
        held = {(r["product"], r.get("product_variance")): r["quantity"] for r in rows}
        assert held[(kopp, None)] == count, branch
    assert StateStore(state_url).unresolved_failures("kasse.stock").empty  # one count per branch: no id clash


def test_rackbeat_stock_reaches_the_till_through_its_webhook_and_a_forged_one_is_refused(
        tmp_path, rackbeat_sandbox, shopbox_empty, store):
    """Realtime stock (seed 003: "lager fra Rackbeat til Shopbox i sanntid"): `subscribe` makes the
    subscription through Rackbeat's API and keeps its token (shown once) in the state store; Rackbeat's
    delivery carries it in Rackbeat-Webhook-Token, the receiver verifies it, the flow's webhook sensor
    asks for a run, and the run sets the branch's count. A delivery with another token is refused;
    disconnecting removes the subscription."""
    from dagster import DagsterInstance, RunRequest, SkipReason, build_sensor_context

    from integrations_dagster.receiver import build_app, subscribe, unsubscribe, webhook_secret_key
    from integrations_dagster.sandbox.runner import serve_in_thread

    box = f"{shopbox_empty.url}/__sandbox__/shopbox"
    rb(rackbeat_sandbox, "POST", "/products", {"number": "KOPP-1", "name": "Kopp", "group": 1, "sales_price": 119.2})
    kopp = requests.post(f"{box}/products", timeout=10, json={"name": "Kopp", "sku_code": "KOPP-1",
                                                              "selling_price": 14900, "tax": 1}).json()
    path = tmp_path / "integrations.yaml"
    path.write_text(textwrap.dedent(YAML.format(shopbox=shopbox_empty.url, rackbeat=rackbeat_sandbox.url)).replace(
        'options: {branches: {"1": "6101", "2": "6102"}}',
        'options: {branches: {"1": "6101", "2": "6102"}}\n        triggers: {webhook: true}')
        + PRODUCTS_FROM_RACKBEAT)
    file = config.load(path)
    defs, instance = build_definitions(file), DagsterInstance.ephemeral()
    server, thread, port = serve_in_thread(build_app(file, store), name="receiver")

    cursors: dict[str, str | None] = {}

    def tick(flow: str = "stock"):
        sensor = defs.get_sensor_def(f"kasse_{flow}_webhook")
        with build_sensor_context(instance=instance, cursor=cursors.get(flow), definitions=defs) as ctx:
            result = sensor(ctx)
            cursors[flow] = ctx.cursor
        return result

    try:
        receiver = f"http://127.0.0.1:{port}"
        assert subscribe(file, store, "kasse", receiver) == [
            f"kasse.erp: products, stock → {receiver}/hooks/kasse/erp"]
        hooks = rb(rackbeat_sandbox, "GET", "/webhooks")["webhooks"]
        assert {h["url"] for h in hooks} == {f"{receiver}/hooks/kasse/erp"}
        assert "token" not in hooks[0] and store.token(webhook_secret_key("kasse", "erp"))["secret"]
        assert isinstance(tick(), SkipReason)
        requests.post(f"{rackbeat_sandbox.url}/__sandbox__/rackbeat/stock", timeout=10, json={
            "item": "KOPP-1", "location": 2, "quantity": 11}).raise_for_status()
        rackbeat_sandbox.sandbox.outbox.flush()
        assert rackbeat_sandbox.sandbox.outbox.idle(10)
        assert isinstance(tick(), RunRequest)
        assert run(defs, "kasse_stock", instance).success
        rows = requests.get(f"{box}/stock", params={"branch": 6102}, timeout=10).json()
        assert {(r["product"], r.get("product_variance")): r["quantity"] for r in rows}[(kopp["uid"], None)] == 11
        forged = requests.post(f"{receiver}/hooks/kasse/erp", timeout=10, json={"key_name": "number", "key": "KOPP-1"},
                               headers={"Rackbeat-Webhook-Token": "0" * 32,
                                        "Rackbeat-Webhook-Event": "product.stock_changed"})
        assert forged.status_code == 401
        assert isinstance(tick(), SkipReason)

        # "Rackbeat: nye produkter opprettet i Rackbeat umiddelbart overført til Shopbox"
        assert isinstance(tick("products_to_pos"), SkipReason)
        rb(rackbeat_sandbox, "POST", "/products", {"number": "FAT-1", "name": "Fat", "group": 1, "sales_price": 79.2})
        rackbeat_sandbox.sandbox.outbox.flush()
        assert rackbeat_sandbox.sandbox.outbox.idle(10)
        assert isinstance(tick("products_to_pos"), RunRequest)
        assert run(defs, "kasse_products_to_pos", instance).success
        token = requests.post(f"{shopbox_empty.url}/api/v3/authenticate/credentials", timeout=10, json={
            "username": SHOPBOX_USERNAME, "password": SHOPBOX_PASSWORD}).json()["accessToken"]
        shop = requests.get(f"{shopbox_empty.url}/api/v3/products", timeout=10, params={
            "accessToken": token, "client": SHOPBOX_CLIENT}).json()["data"]
        assert [p["selling_price"] for p in shop if p["sku_code"] == "FAT-1"] == [9900]  # 79.20 + 25 %
        gone = len(hooks)
        assert unsubscribe(file, "kasse") == [f"kasse.erp: {gone} webhook subscriptions removed"]
        assert rb(rackbeat_sandbox, "GET", "/webhooks")["webhooks"] == []
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_manual_resend_of_one_till_sale_by_its_id_never_books_it_twice(
        tmp_path, rackbeat_sandbox, shopbox_empty, state_url, monkeypatch, capsys):
    """Seed 003, "Manuell sync av ordre fra Shopbox til Rackbeat … kan skape duplikater": ours looks the
    order up by its reference first — sent twice by the id the till shows, and after the flow's own run,
    it is one order in Rackbeat."""
    import shutil
    from pathlib import Path

    from integrations_dagster.cli import main

    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(Path(__file__).parents[1] / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    box = f"{shopbox_empty.url}/__sandbox__/shopbox"
    rb(rackbeat_sandbox, "POST", "/products", {"number": "KOPP-1", "name": "Kopp", "group": 1, "sales_price": 119.2})
    kopp = requests.post(f"{box}/products", timeout=10, json={"name": "Kopp", "sku_code": "KOPP-1",
                                                              "selling_price": 14900, "tax": 1}).json()
    sale = requests.post(f"{box}/sale", timeout=10, json={"cash_register": BRANCH_REGISTER[6101], "lines": [
        {"product": kopp["uid"], "quantity": 2}]}).json()
    path = tmp_path / "integrations.yaml"
    path.write_text(textwrap.dedent(YAML.format(shopbox=shopbox_empty.url, rackbeat=rackbeat_sandbox.url)))

    def booked() -> list[dict]:
        return [o for o in rb(rackbeat_sandbox, "GET", "/orders", limit=200)["orders"]
                if o["their_reference"] == f"pos:{sale['uid']}"]

    for _ in range(2):
        assert main(["resend", "--config", str(path), "kasse", "sales", str(sale["uid"])]) == 0
        assert len(booked()) == 1
    assert Decimal(str(booked()[0]["total_total"])) == Decimal(2 * 14900) / 100
    assert run(build_definitions(config.load(path)), "kasse_sales").success
    assert len(booked()) == 1
    capsys.readouterr()
    assert main(["resend", "--config", str(path), "kasse", "sales", "999999"]) == 0
    assert "Shopbox has no basket 999999" in capsys.readouterr().out


def test_a_place_without_a_mapping_goes_to_the_main_one_on_either_side(tmp_path, rackbeat_sandbox, shopbox_empty,
                                                                         state_url):
    """Seed 003: "Hovedlager i Rackbeat / i Shopbox … brukes som en standardlokasjon": a till whose branch has
    no Rackbeat location books on main_location; a Rackbeat location with no branch counts for main_branch."""
    box = f"{shopbox_empty.url}/__sandbox__/shopbox"
    rb(rackbeat_sandbox, "POST", "/products", {"number": "KOPP-1", "name": "Kopp", "group": 1, "sales_price": 119.2})
    kopp = requests.post(f"{box}/products", timeout=10, json={"name": "Kopp", "sku_code": "KOPP-1",
                                                              "selling_price": 14900, "tax": 1}).json()
    requests.post(f"{box}/sale", timeout=10, json={"cash_register": BRANCH_REGISTER[6102], "lines": [
        {"product": kopp["uid"], "quantity": 1}]}).raise_for_status()
    for location, count in ((1, 30), (2, 8)):
        requests.post(f"{rackbeat_sandbox.url}/__sandbox__/rackbeat/stock", timeout=10, json={
            "item": "KOPP-1", "location": location, "quantity": count}).raise_for_status()
    path = tmp_path / "integrations.yaml"
    path.write_text(textwrap.dedent(YAML.format(shopbox=shopbox_empty.url, rackbeat=rackbeat_sandbox.url))
                    .replace('locations: {"6101": "1", "6102": "2"}, main_location: "1"',
                             'locations: {"6101": "1"}, main_location: "2"')   # 6102 unmapped → location 2
                    .replace('options: {branches: {"1": "6101", "2": "6102"}}',
                             'options: {branches: {"1": "6101"}, main_branch: "6102"}'))  # location 2 → 6102
    defs = build_definitions(config.load(path))
    assert run(defs, "kasse_sales").success
    [order] = [o for o in rb(rackbeat_sandbox, "GET", "/orders", limit=200)["orders"]
               if o["their_reference"].startswith("pos:")]
    full = rb(rackbeat_sandbox, "GET", f"/orders/{order['number']}")["order"]
    assert {line["location"]["number"] for line in full["lines"]} == {2}
    assert run(defs, "kasse_stock").success
    rows = requests.get(f"{box}/stock", params={"branch": 6102}, timeout=10).json()
    assert {(r["product"], r.get("product_variance")): r["quantity"] for r in rows}[(kopp["uid"], None)] == 8 - 1
