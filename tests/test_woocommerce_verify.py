"""Reconciliation of stock in the shop (``WooCommerceResource.verify``) over real HTTP between the sandboxes.

The demo's products flow makes the shop's SKUs Fortnox articles, its stock flow writes Fortnox's
levels back to the shop; then the shop holds what Fortnox says, and every edit made by hand in the
shop afterwards is found, with the expected value read from Fortnox over HTTP and the actual value
the test PUT. The levels are built as the drift check builds them: the Fortnox connector reads and
maps its articles, and only the levels the state store says the shop holds as they are are checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import pytest
import requests

from conftest import WOO_KEY, WOO_SECRET
from flowkit import definitions, fx, run, stats, woo_get, woo_post, woo_put
from integrations_dagster import config
from integrations_dagster.build import flow_spec
from integrations_dagster.connectors.base import Drift, Window, WriteContext
from integrations_dagster.flows.pipeline import connection_options
from integrations_dagster.model import StockLevel
from integrations_dagster.sandbox.woocommerce.demo import load_catalogue

BENCH_PRODUCTS = 150  # simple products added to the demo shop, so that bulk reading shows


@dataclass
class Synced:
    """The demo after its products and stock flows: definitions, sandbox URLs, state store."""

    defs: object
    woo: str
    fortnox: str
    store: object
    yaml: Path

    def levels(self, extra_skus: tuple[str, ...] = ()) -> tuple[list[StockLevel], WriteContext]:
        """Fortnox's levels the shop should hold as they are (snapshot hash = the level's hash, as
        the drift check selects them), plus the levels of ``extra_skus`` however the state stands;
        and the context the drift check gives verify (the shop's id map, the flow's options)."""
        integration = config.load(self.yaml).integrations[0]
        spec = flow_spec(integration, "stock", integration.flows["stock"])
        erp = self.defs.resources["demo__erp"].process_config_and_initialize()
        options = erp.prepare("stock", connection_options(spec, "source"))
        records = [erp.to_canonical("stock", raw, options) for raw in erp.read("stock", Window(), options)]
        hashes = self.store.snapshot_hashes(spec.state_name, [r.key for r in records])
        chosen = [r for r in records if hashes.get(r.key) == r.content_hash() or r.sku in extra_skus]
        ctx = WriteContext(binder=self.store.binder(spec.target), source_binder=self.store.binder(spec.source),
                           options=connection_options(spec, "target"), owns=spec.owns)
        return chosen, ctx

    def verify(self, extra_skus: tuple[str, ...] = ()) -> tuple[list[Drift], dict]:
        """The drifts, and the requests verify made to the shop (reads and writes)."""
        records, ctx = self.levels(extra_skus)
        shop = self.defs.resources["demo__shop"].process_config_and_initialize()
        before = stats(self.woo)
        drifts = list(shop.verify("stock", records, ctx))
        after = stats(self.woo)
        return drifts, {k: after[k] - before[k] for k in ("reads", "writes")}


@pytest.fixture
def synced(tmp_path, woo_sandbox, fortnox_empty, state_url, store) -> Iterator[Synced]:
    load_catalogue(woo_sandbox.sandbox, BENCH_PRODUCTS, 0)
    defs = definitions(tmp_path, woo_sandbox.url, fortnox_empty.url)
    assert run(defs, "demo_products").success
    assert run(defs, "demo_stock").success
    yield Synced(defs, woo_sandbox.url, fortnox_empty.url, store, tmp_path / "integrations.yaml")


def fortnox_quantity(url: str, sku: str) -> Decimal:
    """What Fortnox holds for ``sku`` (a whole number in the demo: the writer sets whole numbers)."""
    article = fx(url, "GET", f"/articles/{requests.utils.quote(sku, safe='')}")["Article"]
    quantity = Decimal(str(article["QuantityInStock"]))
    assert quantity == quantity.to_integral_value()
    return quantity


def text(quantity: Decimal | int) -> str:
    return str(int(quantity))


def item(url: str, sku: str) -> dict:
    """The product or variation holding ``sku`` (the SKU filter finds variations too)."""
    [found] = woo_get(url, "/products", sku=sku)
    return found


def item_path(found: dict) -> str:
    return f"/products/{found['parent_id']}/variations/{found['id']}" if found.get("parent_id") \
        else f"/products/{found['id']}"


def test_no_drift_after_the_sync_then_exactly_the_stock_edited_by_hand(synced):
    records, _ = synced.levels()
    demo_skus = 6 + 3 + 4 + 3 + 4 + 2 + 3  # the demo's simple products and variations (sandbox demo.py)
    assert len(records) == demo_skus + BENCH_PRODUCTS  # every level landed and is in sync
    drifts, made = synced.verify()
    assert drifts == []
    # Bulk: the simple products and the 6 variable parents in 100s (2 requests), one variation list
    # per parent (6) - not one request per SKU.
    assert made == {"reads": 2 + 6, "writes": 0}

    mug, shirt = item(synced.woo, "MUG-FIKA"), item(synced.woo, "TS-BASIC-M")
    assert shirt["type"] == "variation"
    mug_erp, shirt_erp = fortnox_quantity(synced.fortnox, "MUG-FIKA"), fortnox_quantity(synced.fortnox, "TS-BASIC-M")
    woo_put(synced.woo, item_path(mug), {"stock_quantity": int(mug_erp) + 5})
    woo_put(synced.woo, item_path(shirt), {"stock_quantity": int(shirt_erp) + 3})

    drifts, made = synced.verify()
    assert sorted(drifts, key=lambda d: d.key) == [
        Drift("MUG-FIKA", "stock", text(mug_erp), text(mug_erp + 5)),
        Drift("TS-BASIC-M", "stock", text(shirt_erp), text(shirt_erp + 3)),
    ]
    assert made["writes"] == 0


def test_a_product_gone_stock_no_longer_managed_and_skus_the_id_map_does_not_know(synced):
    coffee, jeans = item(synced.woo, "COFFEE-DARK-500"), item(synced.woo, "JEANS-SLIM-32")
    scarf = item(synced.woo, "SCARF-CHECK-RÖD")["parent_id"]  # a variable product: its 2 variations go with it
    for path in (item_path(coffee), f"/products/{scarf}"):
        resp = requests.delete(f"{synced.woo}/wp-json/wc/v3{path}", auth=(WOO_KEY, WOO_SECRET), timeout=10)
        assert resp.status_code == 200 and resp.json()["status"] == "trash"
    woo_put(synced.woo, item_path(jeans), {"manage_stock": False})
    # A product made in the shop after the sync and an article only Fortnox has: no id map entry,
    # so verify looks their SKUs up in the shop (the drift check would call them pending; verify
    # answers for any level it is given).
    woo_post(synced.woo, "/products", {"name": "Lampa", "type": "simple", "sku": "LAMP-NEW", "regular_price": "300.00",
                                       "manage_stock": True, "stock_quantity": 2})
    for sku, quantity in (("LAMP-NEW", 3), ("GHOST-1", 4)):
        fx(synced.fortnox, "POST", "/articles", {"Article": {"ArticleNumber": sku, "Description": sku,
                                                             "QuantityInStock": quantity}})

    drifts, made = synced.verify(extra_skus=("LAMP-NEW", "GHOST-1"))
    assert sorted(drifts, key=lambda d: d.key) == [
        Drift("COFFEE-DARK-500", "record", text(fortnox_quantity(synced.fortnox, "COFFEE-DARK-500")), None),
        Drift("GHOST-1", "record", "4", None),
        Drift("JEANS-SLIM-32", "stock", text(fortnox_quantity(synced.fortnox, "JEANS-SLIM-32")), "not managed"),
        Drift("LAMP-NEW", "stock", "3", "2"),
        Drift("SCARF-CHECK-BLÅ", "record", text(fortnox_quantity(synced.fortnox, "SCARF-CHECK-BLÅ")), None),
        Drift("SCARF-CHECK-RÖD", "record", text(fortnox_quantity(synced.fortnox, "SCARF-CHECK-RÖD")), None),
    ]
    assert made["writes"] == 0


def test_variations_sharing_their_parents_stock_are_checked_against_the_pool(synced):
    """T-shirt Basic's stock moves to the product (its variations show ``manage_stock: "parent"``);
    a stock run then writes the pool: the sum of the three sizes in Fortnox."""
    shirt = item(synced.woo, "TS-BASIC-S")
    parent = shirt["parent_id"]
    sizes = ("TS-BASIC-S", "TS-BASIC-M", "TS-BASIC-L")
    woo_put(synced.woo, f"/products/{parent}", {"manage_stock": True, "stock_quantity": 0})
    for sku in sizes:
        woo_put(synced.woo, item_path(item(synced.woo, sku)), {"manage_stock": False})
    assert {v["manage_stock"] for v in woo_get(synced.woo, f"/products/{parent}/variations")} == {"parent"}
    fx(synced.fortnox, "PUT", "/articles/TS-BASIC-M", {"Article": {"QuantityInStock": 11}})
    assert run(synced.defs, "demo_stock").success

    pool = sum(fortnox_quantity(synced.fortnox, sku) for sku in sizes)
    assert woo_get(synced.woo, f"/products/{parent}")["stock_quantity"] == pool  # the writer's pool
    drifts, _ = synced.verify()
    assert drifts == []

    woo_put(synced.woo, f"/products/{parent}", {"stock_quantity": int(pool) - 4})
    drifts, made = synced.verify()
    field = f"stock (pool of product {parent})"
    assert sorted(drifts, key=lambda d: d.key) == sorted(
        (Drift(sku, field, text(pool), text(pool - 4)) for sku in sizes), key=lambda d: d.key)
    assert made["writes"] == 0


def test_only_stock_can_be_verified(synced):
    shop = synced.defs.resources["demo__shop"].process_config_and_initialize()
    _, ctx = synced.levels()
    with pytest.raises(NotImplementedError, match="products"):
        list(shop.verify("products", [], ctx))
