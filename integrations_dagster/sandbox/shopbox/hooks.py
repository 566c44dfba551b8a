"""Shopbox's inventory hook: after a till sale, Shopbox calls a URL the shop gave it with what was sold.

Evidence [3p: PHP plugin ``ShopBoxHooks``, ``InventoryImporter``, ``ShopBox::load``, ``Admin::settings``]:
the web shop shows ``<site>/?shopbox_hook_id=<md5(api token)>`` to be given to Shopbox; Shopbox calls it
with ``action=updateInventory`` and a JSON array ``[{"product_id", "quantity", "variance_values",
"variance_id"}]``; the receiver subtracts ``quantity`` from the product whose stored Shopbox id is
``product_id`` — or from the variation named by ``variance_id`` (a WooCommerce variation id, i.e. the
variance's ``integration_number``), else the one whose attribute values equal ``variance_values``.
The receiver authenticates the call by the ``shopbox_hook_id`` it made itself; Shopbox adds nothing.

GUESSES (guesses.INVENTORY_HOOK, HOOK_ON_API_BASKETS, HOOK_RETRY_DELAYS_S): registration happens in the
back office (here ``POST /__sandbox__/shopbox/hooks``), the call is a POST with ``action=updateInventory``
added to the URL's query, one array per basket, values are the value slugs, no retries, and baskets created
through the API are not echoed. No other push (orders, products) is known; connectors poll ``/baskets``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from integrations_dagster.sandbox.shopbox import guesses
from integrations_dagster.sandbox.webhooks import Delivery, Outbox


def with_action(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "action"]
    query.append(("action", "updateInventory"))
    return urlunsplit(parts._replace(query=urlencode(query)))


class InventoryHook:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.url: str | None = None

    def restore(self) -> None:
        """A reset forgets the registered URL (it is back-office configuration of the shop)."""
        self.url = None

    def register(self, url: str | None) -> None:
        if url is not None and not urlsplit(url).scheme.startswith("http"):
            raise ValueError("the hook URL must be http(s)")
        self.url = url or None

    def sold(self, basket: dict[str, Any], lines: list[dict[str, Any]]) -> None:
        """Send the sold quantities of one basket (``lines``: product, variance and quantity of each line)."""
        if not guesses.INVENTORY_HOOK or not self.url:
            return
        items = [{"product_id": line["product"], "quantity": line["quantity"],
                  "variance_values": line["variance_values"], "variance_id": line["variance_id"]}
                 for line in lines if line["product"] is not None]
        if not items:
            return
        self.outbox.send(Delivery(url=with_action(self.url), body=json.dumps(items).encode(),
                                  headers={"Content-Type": "application/json"},
                                  event=f"updateInventory basket {basket['uid']}",
                                  retry_delays_s=guesses.HOOK_RETRY_DELAYS_S))
