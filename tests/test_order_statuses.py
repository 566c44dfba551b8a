"""Which shop statuses send an order (seed 002: "Det går att välja bland de orderstatusar som finns
konfigurerade i WooCommerce"): any status the shop has, a plugin's custom one too; a status the shop
does not have is a configuration error naming the option and what the shop has."""

from __future__ import annotations

import requests
from dagster import DagsterInstance

from flowkit import definitions, fx_all, run, woo_get, woo_put
from integrations_dagster import config
from integrations_dagster.build import build_definitions


def _with_statuses(tmp_path, woo: str, fortnox: str, statuses: str):
    definitions(tmp_path, woo, fortnox)  # writes tmp_path/integrations.yaml
    path = tmp_path / "integrations.yaml"
    path.write_text(path.read_text().replace("statuses: [processing, completed]", f"statuses: [{statuses}]"))
    return build_definitions(config.load(path))


def test_orders_in_a_custom_status_are_sent_and_no_others(tmp_path, woo_sandbox, fortnox_empty, state_url):
    woo, fx = woo_sandbox.url, fortnox_empty.url
    requests.post(f"{woo}/__sandbox__/woocommerce/order-statuses", json={"slug": "packed", "name": "Packad"},
                  timeout=10).raise_for_status()  # what an order-status plugin registers
    first, second = woo_get(woo, "/orders", status="processing")[:2]
    woo_put(woo, f"/orders/{first['id']}", {"status": "packed"})
    defs = _with_statuses(tmp_path, woo, fx, "packed")
    instance = DagsterInstance.ephemeral()
    assert run(defs, "demo_products", instance).success
    assert run(defs, "demo_orders", instance).success
    assert {d["ExternalInvoiceReference1"] for d in fx_all(fx, "orders", "Orders")} == {f"shop:{first['id']}"}
    assert second["id"] != first["id"]


def test_a_status_the_shop_lacks_is_named_with_the_ones_it_has(tmp_path, woo_sandbox, fortnox_empty, state_url):
    defs = _with_statuses(tmp_path, woo_sandbox.url, fortnox_empty.url, "packd")
    result = run(defs, "demo_orders", DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.user_failure_data.description
    assert "options.statuses: 'packd' is not a status of the shop shop" in failure
    assert "processing" in failure and "on-hold" in failure
