"""Products between Rackbeat and Shopbox (seed 003, "Løpende synkronisering av produkter"), as Dagster jobs
built from the YAML, over real HTTP between the two sandboxes: from Shopbox every two hours, from Rackbeat
at once, both ways without ping-pong and with a stated conflict rule; categories to product groups with a
default group; the till's ids in Rackbeat's two custom fields.

Expected values come from the products written here and the test's own arithmetic (øre incl. 25 % VAT ↔
Rackbeat's net price), never from the connectors."""

from __future__ import annotations

import textwrap
from decimal import Decimal

import pytest
import requests

from conftest import RACKBEAT_API_KEY, SHOPBOX_CLIENT, SHOPBOX_PASSWORD, SHOPBOX_USERNAME
from flowkit import run
from integrations_dagster import config
from integrations_dagster.build import build_definitions
from integrations_dagster.state import StateStore
from test_rackbeat_shopbox import AUTH, CONNECTIONS, rb

UID_FIELD, VARIATION_FIELD = 1, 2  # the demo account's two custom item fields (ids generated: 1, 2)
YAML = CONNECTIONS + """
      products_to_erp:
        entity: products
        source: pos
        target: erp
        op_retries: 0
        triggers: {{schedule: 2h, sensor: false}}
        options: {{groups: {{Kaffe: "1"}}, default_group: "3", uid_field: {uid}, variation_field: {variation}}}
"""
BOTH_WAYS = """
      products_to_pos:
        entity: products
        source: erp
        target: pos
        op_retries: 0
        conflict_winner: {winner}
"""


def sb(sandbox, method: str, path: str, body: dict | None = None, **params) -> dict:
    """The shop's own API, with a login of the test's own."""
    token = requests.post(f"{sandbox.url}/api/v3/authenticate/credentials", timeout=10,
                          json={"username": SHOPBOX_USERNAME, "password": SHOPBOX_PASSWORD}).json()["accessToken"]
    resp = requests.request(method, f"{sandbox.url}/api/v3{path}", json=body, timeout=10,
                            params={"accessToken": token, "client": SHOPBOX_CLIENT, **params})
    assert resp.status_code < 300, resp.text
    return resp.json()


def fields(sandbox, number: str) -> dict[int, str | None]:
    rows = rb(sandbox, "GET", f"/products/{requests.utils.quote(number, safe='')}/fields")["field_values"]
    return {row["field"]["id"]: row["value"] for row in rows}


def defs_for(tmp_path, rackbeat, shopbox, extra: str = ""):
    path = tmp_path / "integrations.yaml"
    path.write_text(textwrap.dedent(YAML.format(shopbox=shopbox.url, rackbeat=rackbeat.url, uid=UID_FIELD,
                                                variation=VARIATION_FIELD)) + extra)
    return build_definitions(config.load(path))


@pytest.fixture
def shop(rackbeat_sandbox, shopbox_empty):
    """The till's catalogue: coffee in tag "Kaffe" (mapped to group 1), a T-shirt in sizes in tag "Klær"
    (no mapping: the default group, 3, made here)."""
    rb(rackbeat_sandbox, "POST", "/product-groups", {"number": 3, "name": "Shopbox diverse", "has_inventory": True})
    kaffe = sb(shopbox_empty, "POST", "/tags", {"name": "Kaffe"})["uid"]
    klaer = sb(shopbox_empty, "POST", "/tags", {"name": "Klær"})["uid"]
    size = sb(shopbox_empty, "POST", "/variance-type/create-or-update",
              {"name": "Størrelse", "variants": [{"name": "S"}, {"name": "M"}]})
    values = {v["name"]: v["uid"] for v in size["variants"]}
    coffee = sb(shopbox_empty, "POST", "/products/create-or-update", {
        "uid": None, "name": "Kaffe mørk 500 g", "sku_code": "KAFFE-M", "selling_price": 8990, "code": "7040000000109",
        "tag": kaffe, "tax": 1})
    shirt = sb(shopbox_empty, "POST", "/products/create-or-update", {
        "uid": None, "name": "T-skjorte", "selling_price": 24900, "tag": klaer, "tax": 1, "inventory_on_variants": 1,
        "variants": [{"uid": 0, "variance_value": [values[s]], "sku_code": f"TS-{s}", "selling_price": 24900}
                     for s in ("S", "M")]})
    return {"coffee": coffee, "shirt": shirt}


def test_shopbox_products_reach_rackbeat_in_their_groups_with_the_tills_ids_every_two_hours(
        tmp_path, rackbeat_sandbox, shopbox_empty, shop, state_url):
    defs = defs_for(tmp_path, rackbeat_sandbox, shopbox_empty)
    [schedule] = [s for s in defs.schedules if s.name == "kasse_products_to_erp_schedule"]
    assert schedule.cron_schedule == "0 */2 * * *"  # "Overføringen … skjer hver andre time"
    assert run(defs, "kasse_products_to_erp").success

    coffee = rb(rackbeat_sandbox, "GET", "/products/KAFFE-M")["product"]
    assert coffee["name"] == "Kaffe mørk 500 g" and coffee["barcode"] == "7040000000109"
    assert Decimal(str(coffee["sales_price"])) == Decimal("89.90") / Decimal("1.25")  # 71.92 net of 25 %
    assert coffee["group"]["number"] == 1  # Kaffe → group 1
    assert fields(rackbeat_sandbox, "KAFFE-M") == {UID_FIELD: str(shop["coffee"]["uid"]), VARIATION_FIELD: None}
    variances = {v["sku_code"]: v["uid"] for v in shop["shirt"]["product_variances"]}
    for sku in ("TS-S", "TS-M"):
        shirt = rb(rackbeat_sandbox, "GET", f"/products/{sku}")["product"]
        assert shirt["group"]["number"] == 3  # Klær has no mapping: the default group
        assert Decimal(str(shirt["sales_price"])) == Decimal("249.00") / Decimal("1.25")
        assert fields(rackbeat_sandbox, sku) == {UID_FIELD: str(shop["shirt"]["uid"]),
                                                 VARIATION_FIELD: str(variances[sku])}

    # Both sides already agree on a change (someone typed it in both): the write finds nothing to write.
    sb(shopbox_empty, "POST", "/products/create-or-update", {"uid": shop["coffee"]["uid"], "name": "Kaffe mørk 0,5 kg"})
    rb(rackbeat_sandbox, "PUT", "/products/KAFFE-M", {"name": "Kaffe mørk 0,5 kg"})
    assert run(defs, "kasse_products_to_erp").success
    log = StateStore(state_url).log(flow="kasse.products_to_erp", key="KAFFE-M")
    assert list(log["outcome"])[-1] == "unchanged", log.to_dict("records")


def test_a_category_without_group_and_no_default_fails_only_that_product(
        tmp_path, rackbeat_sandbox, shopbox_empty, shop, state_url):
    path = tmp_path / "integrations.yaml"
    defs_for(tmp_path, rackbeat_sandbox, shopbox_empty)
    path.write_text(path.read_text().replace(', default_group: "3"', ""))
    defs = build_definitions(config.load(path))
    assert run(defs, "kasse_products_to_erp").success
    assert rb(rackbeat_sandbox, "GET", "/products/KAFFE-M")["product"]["group"]["number"] == 1
    assert requests.get(f"{rackbeat_sandbox.url}/api/products/TS-S", headers=AUTH, timeout=10).status_code == 404
    failed = StateStore(state_url).unresolved_failures("kasse.products_to_erp")
    assert [e for e in failed["error"] if "'Klær'" in e and "default_group" in e], failed.to_dict("records")


SALES = """
      sales:
        entity: orders
        source: pos
        target: erp
        mode: create
        options: {customer_number: "1", locations: {"6101": "1", "6102": "2"}, main_location: "1"}
"""


def test_connect_says_what_rackbeat_lacks_before_the_flows_can_run(tmp_path, rackbeat_empty, rackbeat_sandbox,
                                                                     shopbox_empty, capsys):
    """Seed 003, "Gjør deg klar": a product group with stock, a location per till, the two custom fields."""
    from integrations_dagster.cli import main

    defs_for(tmp_path, rackbeat_empty, shopbox_empty, SALES)
    config_file = str(tmp_path / "integrations.yaml")
    assert main(["connect", "--config", config_file, "kasse", "erp"]) == 1
    err = capsys.readouterr().err
    assert "a product group with stock" in err
    assert "default_group names product group 3" in err and "groups.Kaffe names product group 1" in err
    assert 'create a custom item field "Shopbox UID felt ID"' not in err  # the options name ids: say they are wrong
    assert "uid_field is 1, but Rackbeat has no custom item field with that id" in err
    assert "locations.6101 names location 1" in err and "locations.6102 names location 2" in err

    # The demo account has group 1 with stock, locations 1 and 2 and both fields (ids 1, 2); group 3 is made here.
    defs_for(tmp_path, rackbeat_sandbox, shopbox_empty, SALES)
    assert main(["connect", "--config", config_file, "kasse", "erp"]) == 1
    assert capsys.readouterr().err.count("missing —") == 1  # only the default group
    rb(rackbeat_sandbox, "POST", "/product-groups", {"number": 3, "name": "Shopbox diverse", "has_inventory": True})
    assert main(["connect", "--config", config_file, "kasse", "erp"]) == 0
    assert "kasse.erp: OK" in capsys.readouterr().out


def test_the_initial_sync_is_chosen_once_do_not_sync_included(tmp_path, rackbeat_sandbox, shopbox_empty, shop,
                                                              state_url, monkeypatch, capsys):
    """Seed 003, "Initial Sync kan kun gjennomføres én gang … selv om man velger 'do not sync'": a dry run
    says what would come over, the run brings the till's products to Rackbeat matched by number, and
    after that — or after choosing not to sync — only an explicit --force runs it again."""
    import shutil
    from pathlib import Path

    from integrations_dagster.cli import main

    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(Path(__file__).parents[1] / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    defs_for(tmp_path, rackbeat_sandbox, shopbox_empty)
    config_file = str(tmp_path / "integrations.yaml")
    rb(rackbeat_sandbox, "POST", "/products", {"number": "TS-M", "name": "T-skjorte M (Rackbeat)", "group": 1,
                                               "sales_price": 199.2})  # already there: matched, not made twice

    assert main(["initial-sync", "--config", config_file, "kasse", "products_to_erp", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "KAFFE-M" in out and "would create" in out
    assert requests.get(f"{rackbeat_sandbox.url}/api/products/KAFFE-M", headers=AUTH, timeout=10).status_code == 404
    assert main(["initial-sync", "--config", config_file, "kasse", "products_to_erp"]) == 0
    numbers = [p["number"] for p in rb(rackbeat_sandbox, "GET", "/products", limit=200)["products"]]
    assert {"KAFFE-M", "TS-S", "TS-M"} <= set(numbers) and numbers.count("TS-M") == 1
    capsys.readouterr()
    assert main(["initial-sync", "--config", config_file, "kasse", "products_to_erp"]) == 2
    assert "it is done once: --force runs it again" in capsys.readouterr().err

    # "do not sync", chosen at setup, is as final
    extra = BOTH_WAYS.format(winner="erp")
    defs_for(tmp_path, rackbeat_sandbox, shopbox_empty, extra)
    assert main(["initial-sync", "--config", config_file, "kasse", "products_to_pos", "--skip"]) == 0
    assert "'do not sync'" in capsys.readouterr().out
    assert main(["initial-sync", "--config", config_file, "kasse", "products_to_pos"]) == 2
    assert "was set to 'do not sync'" in capsys.readouterr().err
    assert main(["initial-sync", "--config", config_file, "kasse", "no_such_flow", "--skip"]) == 2


def writes(state_url, run_result) -> list[tuple[str, str]]:
    """(key, outcome) of the run's records that wrote something to the target."""
    log = StateStore(state_url).log(run_id=run_result.run_id)
    return [(k, o) for k, o in zip(log["record_key"], log["outcome"]) if o in ("created", "updated")]


def test_both_ways_settles_without_ping_pong_and_a_conflict_goes_to_the_stated_winner(
        tmp_path, rackbeat_sandbox, shopbox_empty, shop, state_url):
    """Seed 003, "Begge veier": new and changed products go both ways; our own writes never come back as
    changes; a product both sides changed since the last sync takes the winner's value (here Rackbeat's),
    on both sides, whichever flow runs first, and the sync log says so."""
    defs = defs_for(tmp_path, rackbeat_sandbox, shopbox_empty, BOTH_WAYS.format(winner="erp"))
    to_pos, to_erp = "kasse_products_to_pos", "kasse_products_to_erp"
    assert run(defs, to_pos).success
    assert run(defs, to_erp).success
    shop_skus = {}
    for raw in sb(shopbox_empty, "GET", "/products", expand="product_variances", **{"per-page": 100})["data"]:
        shop_skus[raw["sku_code"]] = raw
        for var in raw.get("product_variances") or []:
            shop_skus[var["sku_code"]] = var
    # Rackbeat's products in the till, at their net price plus 25 % in øre: 89.00 → 111.25
    assert shop_skus["KAFFE-500"]["selling_price"] == 11125 and shop_skus["KOPP HVIT/30"]["selling_price"] == 7400
    assert {"TSKJORTE-S", "TSKJORTE-M", "TSKJORTE-L"} <= set(shop_skus)
    # the till's products in Rackbeat, and Rackbeat's own ones given the till's ids
    assert rb(rackbeat_sandbox, "GET", "/products/KAFFE-M")["product"]["name"] == "Kaffe mørk 500 g"
    assert fields(rackbeat_sandbox, "KAFFE-500")[UID_FIELD] == str(shop_skus["KAFFE-500"]["uid"])
    numbers = [p["number"] for p in rb(rackbeat_sandbox, "GET", "/products", limit=200)["products"]]
    assert "TSKJORTE-S" not in numbers  # Rackbeat's own sizes came back as sizes, not as products of their own

    for _ in range(2):  # settled: each flow reads the other's writes and finds nothing to write back
        for job in (to_pos, to_erp):
            result = run(defs, job, run_config={"ops": {f"{job}_fetch": {"config": {"full": True}}}})
            assert result.success and writes(state_url, result) == [], (job, writes(state_url, result))

    coffee = shop_skus["KAFFE-500"]["uid"]
    rb(rackbeat_sandbox, "PUT", "/products/KAFFE-500", {"name": "Kaffe (Rackbeat)"})
    sb(shopbox_empty, "POST", "/products/create-or-update", {"uid": coffee, "name": "Kaffe (kassa)"})
    sb(shopbox_empty, "POST", "/products/create-or-update", {"uid": shop["coffee"]["uid"], "selling_price": 9490})
    first = run(defs, to_erp)  # Shopbox → Rackbeat first: it meets the conflict and keeps Rackbeat's name
    assert first.success
    assert rb(rackbeat_sandbox, "GET", "/products/KAFFE-500")["product"]["name"] == "Kaffe (Rackbeat)"
    assert Decimal(str(rb(rackbeat_sandbox, "GET", "/products/KAFFE-M")["product"]["sales_price"])) == \
        Decimal("94.90") / Decimal("1.25")  # no conflict there: the till's new price lands
    log = StateStore(state_url).log(run_id=first.run_id)
    said = " ".join(str(e) for e in log["error"] if e)  # a warning is logged with its text
    assert "conflict on KAFFE-500 name" in said and "Kaffe (Rackbeat)" in said, log.to_dict("records")
    assert run(defs, to_pos).success  # Rackbeat → Shopbox: the winner's name is written over the till's
    assert sb(shopbox_empty, "GET", f"/products/{coffee}")["name"] == "Kaffe (Rackbeat)"
    for job in (to_erp, to_pos, to_erp):
        result = run(defs, job, run_config={"ops": {f"{job}_fetch": {"config": {"full": True}}}})
        assert result.success and writes(state_url, result) == [], (job, writes(state_url, result))
    assert rb(rackbeat_sandbox, "GET", "/products/KAFFE-500")["product"]["name"] == "Kaffe (Rackbeat)"


def test_a_pair_without_a_stated_winner_is_warned_and_two_winners_are_refused(tmp_path, rackbeat_empty,
                                                                              shopbox_empty):
    from integrations_dagster import config_check

    both = BOTH_WAYS.format(winner="erp").replace("        conflict_winner: erp\n", "")
    defs_for(tmp_path, rackbeat_empty, shopbox_empty, both)
    found = config_check.check(config.load(tmp_path / "integrations.yaml"))
    assert [f for f in found if f.level == "warning" and "set conflict_winner (pos or erp)" in f.message], found
    path = tmp_path / "integrations.yaml"
    path.write_text(path.read_text().replace("        triggers: {schedule: 2h, sensor: false}\n",
                                             "        triggers: {schedule: 2h, sensor: false}\n"
                                             "        conflict_winner: pos\n") + "        conflict_winner: erp\n")
    with pytest.raises(config.ConfigError, match="name different conflict_winners"):
        config.load(path)
    path.write_text(path.read_text().replace("conflict_winner: pos", "conflict_winner: shop"))
    with pytest.raises(config.ConfigError, match="conflict_winner: 'shop' is neither"):
        config.load(path)


STOCK_ONCE = """
      stock_to_erp:
        entity: stock
        source: pos
        target: erp
        once: true
        options: {locations: {"6101": "1", "6102": "2"}, main_location: "1"}
      stock:
        entity: stock
        source: erp
        target: pos
        options: {branches: {"1": "6101", "2": "6102"}}
"""


def test_the_initial_sync_brings_the_tills_counts_to_their_locations_once(
        tmp_path, rackbeat_sandbox, shopbox_empty, shop, state_url, monkeypatch, capsys):
    """Seed 003: the initial sync takes "varene og lagerbeholdningen" from Shopbox to Rackbeat: each
    branch's count lands on the Rackbeat location its till maps to. The one-time flow has no trigger and
    is no pair of the everyday stock flow, which goes on carrying Rackbeat's counts to the tills."""
    import shutil
    from pathlib import Path

    from integrations_dagster.cli import main

    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(Path(__file__).parents[1] / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    box = f"{shopbox_empty.url}/__sandbox__/shopbox"
    shirt_s = next(v["uid"] for v in shop["shirt"]["product_variances"] if v["sku_code"] == "TS-S")
    counts = [(6101, shop["coffee"]["uid"], None, 30), (6102, shop["coffee"]["uid"], None, 5),
              (6101, shop["shirt"]["uid"], shirt_s, 4)]
    for branch, product, variance, quantity in counts:
        requests.post(f"{box}/stock", timeout=10, json={"branch": branch, "product": product,
                                                        "product_variance": variance, "quantity": quantity})
    defs = defs_for(tmp_path, rackbeat_sandbox, shopbox_empty, STOCK_ONCE)
    assert not [s for s in defs.schedules if "stock_to_erp" in s.name]
    assert not [s for s in defs.sensors if "stock_to_erp" in s.name]
    config_file = str(tmp_path / "integrations.yaml")
    assert main(["initial-sync", "--config", config_file, "kasse", "products_to_erp"]) == 0
    assert main(["initial-sync", "--config", config_file, "kasse", "stock_to_erp"]) == 0

    def on_hand(number: str) -> dict[int, int]:
        rows = rb(rackbeat_sandbox, "GET", f"/products/{number}/locations")["product_locations"]
        return {row["number"]: row["stock_quantity"] for row in rows if row["stock_quantity"]}

    assert on_hand("KAFFE-M") == {1: 30, 2: 5}  # branch 6101 → location 1, 6102 → 2
    assert on_hand("TS-S") == {1: 4}
    assert StateStore(state_url).unresolved_failures("kasse.stock_to_erp").empty  # a count per location
    capsys.readouterr()
    assert main(["initial-sync", "--config", config_file, "kasse", "stock_to_erp"]) == 2  # once
    assert run(defs, "kasse_stock").success  # the everyday flow: Rackbeat's counts to the tills, unpaired
    rows = requests.get(f"{box}/stock", params={"branch": 6102}, timeout=10).json()
    assert {(r["product"], r.get("product_variance")): r["quantity"] for r in rows}[(shop["coffee"]["uid"], None)] == 5


def test_structured_products_reach_the_till_made_of_their_components_when_the_option_is_on(
        tmp_path, rackbeat_sandbox, shopbox_empty, state_url):
    """Seed 003, "Opprett strukturvarer fra Rackbeat i Shopbox": the demo account's lot GAVEESKE (one
    KAFFE-500 and two KOPP HVIT/30, 199.00 net) becomes a till product made of the two, at 199.00 + 25 %."""
    only_to_pos = CONNECTIONS + BOTH_WAYS.format(winner="erp")

    def shop_products() -> dict[str, dict]:
        rows = sb(shopbox_empty, "GET", "/products", **{"per-page": 100})["data"]
        return {p["sku_code"]: p for p in rows if p.get("sku_code")}

    from integrations_dagster.connectors.base import Window
    from integrations_dagster.connectors.rackbeat.client import RackbeatResource

    erp = RackbeatResource(base_url=f"{rackbeat_sandbox.url}/api", api_key=RACKBEAT_API_KEY)
    assert "GAVEESKE" not in {raw["number"] for raw in erp.read("products", Window(), {})}  # option off: no lots
    path = tmp_path / "integrations.yaml"
    path.write_text(textwrap.dedent(only_to_pos.format(shopbox=shopbox_empty.url, rackbeat=rackbeat_sandbox.url))
                    + "        options: {structured_products: true}\n")
    # one run: the lot sorts before its parts ("GAVEESKE" < "KAFFE-500"), and is written after them all the same
    assert run(build_definitions(config.load(path)), "kasse_products_to_pos").success
    held = shop_products()
    box = held["GAVEESKE"]
    assert box["selling_price"] == 24875  # 199.00 × 1.25 in øre
    assert sorted((c["product"], c["quantity"]) for c in box["components"]) == sorted(
        [(held["KAFFE-500"]["uid"], 1), (held["KOPP HVIT/30"]["uid"], 2)])

    # Both ways, the lot comes back from the till as the lot it is (not a second item with its number)
    path.write_text(path.read_text() + "      products_to_erp:\n        entity: products\n        source: pos\n"
                    "        target: erp\n        options: {default_group: \"1\"}\n")
    both = build_definitions(config.load(path))
    assert run(both, "kasse_products_to_erp").success
    assert StateStore(state_url).unresolved_failures("kasse.products_to_erp").empty
    sb(shopbox_empty, "POST", "/products/create-or-update", {"uid": box["uid"], "name": "Gaveeske (kassa)"})
    assert run(both, "kasse_products_to_erp").success
    assert rb(rackbeat_sandbox, "GET", "/lots/GAVEESKE")["lot"]["name"] == "Gaveeske (kassa)"


def test_a_price_in_another_currency_is_refused_not_converted(tmp_path, rackbeat_sandbox, shopbox_empty, shop,
                                                              state_url):
    """F6: "Prices sync only between systems with the same currency, unless a conversion is set"."""
    path = tmp_path / "integrations.yaml"
    defs_for(tmp_path, rackbeat_sandbox, shopbox_empty)
    path.write_text(path.read_text().replace("options: {currency: DKK}  # the till's currency",
                                             "options: {currency: NOK}  # not the till's currency"))
    assert run(build_definitions(config.load(path)), "kasse_products_to_erp").success
    failed = StateStore(state_url).unresolved_failures("kasse.products_to_erp")
    assert len(failed) == 2 and all("in DKK, the Rackbeat account's currency is NOK" in e for e in failed["error"])
    assert requests.get(f"{rackbeat_sandbox.url}/api/products/KAFFE-M", headers=AUTH, timeout=10).status_code == 404
