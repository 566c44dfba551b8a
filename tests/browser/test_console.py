"""The Dagster UI as the console: what a data engineer sees in the running demo (issue 10's "Done when").

Each test opens a page of the demo's UI (started by ``conftest.demo`` as `make demo` runs it) in
headless Debian Chromium, checks what a person would look for there, by visible text, and saves the
screenshot the README shows (``docs/img/``). Screenshots are taken after the checks passed, so a
picture in the README always shows what the test saw working.

Running order matters once: the bad record is injected by a module fixture that only the last tests
use, so the pictures of the first ones show the demo without a failure.
"""

from __future__ import annotations

import re

import pytest
import requests

from integrations_dagster.state import StateStore

from .conftest import DEMO_JOBS, Demo, screenshot, wait_for


def expect(target):
    """Playwright's auto-waiting assertion, imported late: without playwright the ``browser``
    fixture says why (a skip outside CI, a failure in CI) instead of an import error."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


pytestmark = pytest.mark.browser

# Each flow's target data as a Dagster asset: [integration, target connection, entity].
TARGET_ASSETS = {"demo_products": "demo/erp/products", "demo_orders": "demo/erp/orders",
                 "demo_stock": "demo/shop/stock"}
RECORD_TABLE_COLUMNS = ("key", "action")  # of the run's "records" table (key, ids, action, changes, reason)

# A product the demo's products flow cannot send to Fortnox: an article's EAN holds at most 30
# characters [spec: Fortnox OpenAPI, Article.EAN maxLength 30], while WooCommerce takes a longer
# GTIN of digits (the sandbox's rule: integrations_dagster/sandbox/woocommerce/catalog.py).
BAD_SKU = "DEMO-BAD-EAN"
BAD_EAN = "7" * 35
BAD_RECORD_TIMEOUT_S = 90  # the products sensor ticks every 30 s, its run takes ~10 s


def woo_products(demo: Demo) -> list[dict]:
    """The shop's products as its REST API lists them (the demo has fewer than a page of them)."""
    answer = requests.get(f"{demo.woo.url}/wp-json/wc/v3/products", params={"per_page": 100},
                          auth=demo.woo_auth, timeout=10)
    answer.raise_for_status()
    return answer.json()


def wait_until_loaded(page) -> None:
    """Dagster's pages fetch after the first paint: wait until the network is quiet."""
    page.wait_for_load_state("networkidle")


def first_sync(demo: Demo, job: str) -> dict:
    """The oldest successful run of ``job``: the demo's first sync, with every record created."""
    return demo.successful_runs(job)[-1]


def open_run(page, run: dict) -> None:
    """Go to the run by clicking its id on the Runs page, as a person would."""
    page.goto("/runs")
    # The link's accessible name starts with its status icon's name: match the short id at its end.
    page.get_by_role("link", name=re.compile(re.escape(run["runId"][:8]) + "$")).click()
    expect(page).to_have_url(re.compile(f"/runs/{run['runId']}"))
    wait_until_loaded(page)


def asset_link(page, key: str):
    """An asset's link as the UI writes its key, "demo / erp / products" (any spacing)."""
    # "\/", not "/": Playwright hands the pattern to the browser as a JavaScript /regex/ literal.
    return page.get_by_role("link", name=re.compile(r"\s*\/\s*".join(map(re.escape, key.split("/"))) + "$"))


def test_runs_page_lists_the_demo_runs(page, demo):
    page.goto("/runs")
    wait_until_loaded(page)
    for job in DEMO_JOBS:
        expect(page.get_by_role("link", name=job, exact=True).first).to_be_visible()
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()
    screenshot(page, "runs")


def test_run_page_of_a_products_sync(page, demo):
    run = first_sync(demo, "demo_products")
    open_run(page, run)
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()
    expect(page.get_by_role("link", name="demo_products", exact=True).first).to_be_visible()
    # The push step's own line in the event log (the log is long: scroll it into view).
    finished = page.get_by_text('Finished execution of step "demo_products_push"')
    finished.scroll_into_view_if_needed()
    expect(finished).to_be_visible()
    screenshot(page, "run")


def test_catalog_shows_each_flows_target_asset(page, demo):
    page.goto("/assets")
    wait_until_loaded(page)
    for key in TARGET_ASSETS.values():
        expect(asset_link(page, key).first).to_be_visible()
    screenshot(page, "catalog")


def test_asset_page_shows_the_last_sync_counts(page, demo):
    page.goto(f"/assets/{TARGET_ASSETS['demo_products']}")
    wait_until_loaded(page)
    for name in ("created", "updated", "failed", "unchanged", re.compile("^last.successful.sync$")):
        expect(page.get_by_role("cell", name=name, exact=not isinstance(name, re.Pattern)).first).to_be_visible()
    screenshot(page, "asset")


def test_run_page_shows_the_record_table(page, demo):
    """The first sync's push reports one row per record it created: every simple product's SKU of
    the shop is a row (variable products are keyed by their parent)."""
    skus = [p["sku"] for p in woo_products(demo) if p["type"] == "simple" and p["sku"] != BAD_SKU]
    assert skus, "the demo shop has no simple products"
    open_run(page, first_sync(demo, "demo_products"))
    page.get_by_placeholder(re.compile("^Filter")).fill("type:ASSET_MATERIALIZATION")
    page.get_by_role("button", name=re.compile("View full message")).first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("records", exact=True)).to_be_visible()
    for column in RECORD_TABLE_COLUMNS:
        expect(dialog.get_by_role("columnheader", name=column, exact=True)).to_be_visible()
    for sku in skus:  # a row's name is its cells' text: key first, then action
        expect(dialog.get_by_role("row", name=re.compile("^" + re.escape(sku) + r"\s+create\s"))).to_be_visible()
    screenshot(page, "records")


@pytest.fixture(scope="module")
def bad_record(demo) -> dict:
    """Add the bad product through the WooCommerce REST API, wait for the products sensor's run to
    fail it in the sync log and finish; the sync log's row of it."""
    answer = requests.post(f"{demo.woo.url}/wp-json/wc/v3/products", auth=demo.woo_auth, timeout=10, json={
        "name": "Gift card with a too long EAN", "type": "simple", "sku": BAD_SKU, "regular_price": "100.00",
        "global_unique_id": BAD_EAN, "status": "publish"})
    assert answer.status_code == 201, f"WooCommerce sandbox refused the product: {answer.status_code} {answer.text}"
    store = StateStore(demo.state_url)

    def failed_rows():
        log = store.log(flow="demo.products")
        return log[(log.record_key == BAD_SKU) & (log.outcome == "failed")].to_dict("records")

    def describe() -> str:
        rows = store.log(flow="demo.products", key=BAD_SKU)
        return f"no failed sync-log row of {BAD_SKU} (its rows: {rows.to_dict('records')}); {demo.describe_runs()}"

    try:
        row = wait_for(failed_rows, timeout=BAD_RECORD_TIMEOUT_S, what=describe)[-1]
        finished = lambda: any(r["runId"] == row["run_id"] and r["status"] in ("SUCCESS", "FAILURE")
                               for r in demo.runs())
        wait_for(finished, timeout=60, what=lambda: f"run {row['run_id']} did not finish; {demo.describe_runs()}")
    finally:
        store.dispose()
    return row


def test_injected_bad_record_fails_in_the_sync_log(bad_record):
    assert bad_record["outcome"] == "failed"
    assert "EAN" in (bad_record["error"] or ""), bad_record


def test_failed_records_check_is_shown_failed(page, demo, bad_record):
    page.goto(f"/assets/{TARGET_ASSETS['demo_products']}?view=checks")
    wait_until_loaded(page)
    # The asset's checks are listed by name (failed_records among others): open it, then its last
    # evaluation shows Failed with the first failed record's reason.
    page.get_by_text("failed_records", exact=True).first.click()
    expect(page).to_have_url(re.compile("failed_records"))
    expect(page.get_by_text("Failed", exact=True).first).to_be_visible()
    expect(page.get_by_text(re.compile(re.escape(BAD_SKU) + ".*EAN")).first).to_be_visible()
    screenshot(page, "check")
