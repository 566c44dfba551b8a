"""Seed 004's setup decisions over real HTTP: the price choice is fixed once made ("Enda sättet att
ändra den här inställningen är att koppla från integrationen och ansluta den igen"), and disconnecting
keeps or deletes the products in BigCommerce ("Du kan välja att ta bort eller behålla
Zettle-produkter från BigCommerce"). Expected prices are the öre the test gives Zettle."""

from __future__ import annotations

import shutil
from pathlib import Path

from dagster import DagsterInstance, SkipReason, build_sensor_context

from flowkit import run
from integrations_dagster.build import build_definitions
from integrations_dagster.cli import main
from zettlekit import BigCommerce, Zettle, definitions, integrations_file


def _product(bc: BigCommerce, sku: str) -> dict:
    [variant] = bc.by_sku(sku)
    return bc.product(variant["product_id"])


def _instance_home(tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(Path(__file__).parents[1] / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))


def test_the_price_choice_is_fixed_until_disconnected_and_connected_again(tmp_path, zettle_empty, bigcommerce_empty,
                                                                          state_url, monkeypatch, capsys):
    zt, bc = Zettle(zettle_empty.url), BigCommerce(bigcommerce_empty.url)
    mug = zt.create("Mugg", [{"sku": "MUG-1", "amount": 14900}])
    defs = definitions(tmp_path, zettle_empty.url, bigcommerce_empty.url)  # sync_prices: true (the default)
    instance = DagsterInstance.ephemeral()
    assert run(defs, "pos_products", instance).success
    assert _product(bc, "MUG-1")["price"] == 149.0
    unpriced = build_definitions(integrations_file(tmp_path, zettle_empty.url, bigcommerce_empty.url,
                                                   flow_options={"sync_prices": "false"}))
    zt.update(mug, {"name": "Mugg stor"})
    result = run(unpriced, "pos_products", instance, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.user_failure_data.description
    assert "sync_prices was True" in failure and "fixed once made" in failure and "disconnect pos" in failure
    assert _product(bc, "MUG-1")["name"] == "Mugg"  # nothing written
    config = str(tmp_path / "integrations.yaml")  # (now the one with sync_prices: false)
    assert main(["disconnect", "--config", config, "pos", "--products", "keep"]) == 0
    assert "disconnected" in capsys.readouterr().out
    assert run(unpriced, "pos_products", instance).success  # a run of a disconnected integration: nothing
    assert _product(bc, "MUG-1")["name"] == "Mugg"
    sensor = unpriced.get_sensor_def("pos_products_sensor")
    with build_sensor_context(instance=instance, resources={"pos__till": unpriced.resources["pos__till"]},
                              definitions=unpriced) as ctx:
        skipped = sensor(ctx)
    assert isinstance(skipped, SkipReason) and "pos was disconnected" in skipped.skip_message
    assert main(["connect", "--config", config, "pos"]) == 0
    assert "connected again" in capsys.readouterr().out
    zt.create("Kopp", [{"sku": "CUP-1", "amount": 9900}])
    assert run(unpriced, "pos_products", instance).success
    held = _product(bc, "MUG-1")  # linked by SKU again, not created twice; its price is the store's now
    assert held["name"] == "Mugg stor" and held["price"] == 149.0
    assert _product(bc, "CUP-1")["price"] == 0.0  # "Då sätts dina priser till 0 i BigCommerce"
    assert len(bc.products()) == 2


def test_disconnect_deleting_removes_the_products_the_integration_put_in_the_store(
        tmp_path, zettle_empty, bigcommerce_empty, state_url, monkeypatch, capsys):
    zt, bc = Zettle(zettle_empty.url), BigCommerce(bigcommerce_empty.url)
    own = bc.call("POST", "/v3/catalog/products", {  # the merchant's own, never synced from Zettle
        "name": "Presentkort", "type": "physical", "weight": 0, "price": 500, "sku": "GIFT-1"})["data"]["id"]
    zt.create("Mugg", [{"sku": "MUG-1", "amount": 14900}])
    zt.create("Skjorta", [{"sku": "SH-S", "amount": 29900, "options": {"Storlek": "S"}},
                          {"sku": "SH-M", "amount": 29900, "options": {"Storlek": "M"}}], options=["Storlek"])
    _instance_home(tmp_path, monkeypatch)
    defs = definitions(tmp_path, zettle_empty.url, bigcommerce_empty.url)
    config = str(tmp_path / "integrations.yaml")
    monkeypatch.setenv("INTEGRATIONS_CONFIG", config)
    assert run(defs, "pos_products", DagsterInstance.get()).success
    assert len(bc.products()) == 3
    assert main(["disconnect", "--config", config, "pos", "--products", "delete"]) == 0
    out = capsys.readouterr().out
    assert "pos.products: 2 products deleted in shop" in out
    assert [p["id"] for p in bc.products()] == [own]
    assert run(defs, "pos_products", DagsterInstance.get()).success  # still disconnected: nothing comes back
    assert [p["id"] for p in bc.products()] == [own]
