"""The seller's shop as the sandbox stores it: settings, the row-version counter, shop items, and ids.

Collections in the :class:`DocumentStore`: ``seller`` (one document: the sandbox settings and the row-version
counter), ``items`` (every shop item ever reserved, with its internal ``state``), ``requests`` (queued
writes, :mod:`.queue`), ``orders`` and ``transactions`` (:mod:`.orders`).

Item states: ``pending`` (created through the API, not yet processed: it does not exist for reads),
``active``, ``failed`` (a create that failed: the id never becomes an item, guesses.FAILED_CREATE_GONE),
``removed`` (deleted: gone for reads, guesses.REMOVED_IS_GONE). Public ids are the store's row ids plus a
base per kind (guesses.ITEM_ID_BASE ...), so ids of different kinds never coincide.
"""

from __future__ import annotations

from typing import Any

from integrations_dagster.sandbox.base import DocumentStore
from integrations_dagster.sandbox.tradera import guesses
from integrations_dagster.sandbox.tradera.wire import Clock

# Sandbox settings (``POST /__sandbox__/tradera/settings``) and their defaults.
DEFAULT_SETTINGS: dict[str, Any] = {
    "queue_delay_s": guesses.QUEUE_DELAY_S,
    "max_active_items": 10_000,
    "max_inventory_items": 100_000,
    # Swish 4096 and bank transfer 4 (vendor example ids [doc: plugin tradera-publish]); 16384
    # Swish/Kort/PayPal needs Tradera's activation, like Klarna in [seed l. 115-118]: not enabled.
    "payment_option_ids": [4, 4096],
    "accept_url": guesses.DEFAULT_ACCEPT_URL,
    "reject_url": guesses.DEFAULT_REJECT_URL,
}
# The seller as orders show it (SellerOrderUser [spec #/components/schemas/SellerOrderUser]) — sandbox data.
SELLER_PROFILE = {"alias": "sandlada_butik", "firstName": "Sandra", "lastName": "Säljare",
                  "addressLine1": "Butiksgatan 5", "addressLine2": None, "zipCode": "41101", "city": "Göteborg",
                  "countryName": guesses.COUNTRY_NAME, "email": "butik@example.se", "phone": "031-123456"}
SHOP_TEXTS = ("companyInformation", "contactInformation", "purchaseTerms", "temporaryClosedMessage",
              "bannerColor", "logoImageUrl")


class Shop:
    def __init__(self, store: DocumentStore, clock: Clock, user_id: str) -> None:
        self.store, self.clock = store, clock
        self.user_id = int(user_id) if str(user_id).isdigit() else 0

    # --- seller document ---------------------------------------------------------------------------
    def load_base(self) -> None:
        """What an empty sandbox has: an active shop with default settings, no items."""
        self.store.insert("seller", {"settings": dict(DEFAULT_SETTINGS),
                                     "profile": {"userId": self.user_id, **SELLER_PROFILE},
                                     "rowVersion": guesses.ROWVERSION_START,
                                     "shop": {"isTemporaryClosed": False, "showAuctionView": False,
                                              "showGalleryMode": True, **{k: None for k in SHOP_TEXTS}}})

    def _seller(self) -> dict:
        doc = self.store.get("seller", 1)
        if doc is None:
            self.load_base()
            doc = self.store.get("seller", 1)
        return doc

    def settings(self) -> dict[str, Any]:
        return dict(self._seller()["settings"])

    def update_settings(self, values: dict[str, Any]) -> dict[str, Any]:
        with self.store.lock:
            doc = self._seller()
            for name, value in values.items():
                if name not in DEFAULT_SETTINGS:
                    raise ValueError(f"unknown setting {name!r}; known: {', '.join(DEFAULT_SETTINGS)}")
                kind = type(DEFAULT_SETTINGS[name])
                if kind is list:
                    value = [int(v) for v in value]
                elif kind is float:
                    value = float(value)
                else:
                    value = kind(value)
                doc["settings"][name] = value
            self.store.put("seller", 1, doc)
            return dict(doc["settings"])

    def profile(self) -> dict[str, Any]:
        return dict(self._seller()["profile"])

    def shop_texts(self) -> dict[str, Any]:
        return dict(self._seller()["shop"])

    def update_shop(self, values: dict[str, Any]) -> None:
        with self.store.lock:
            doc = self._seller()
            doc["shop"].update(values)
            self.store.put("seller", 1, doc)

    def next_row_version(self) -> int:
        with self.store.lock:
            doc = self._seller()
            doc["rowVersion"] += 1
            self.store.put("seller", 1, doc)
            return doc["rowVersion"]

    # --- items ---------------------------------------------------------------------------------------
    def reserve_item(self, kind: str) -> dict:
        """A new item id, reserved at once (the create answer holds it [doc: v3 op=AddShopItem])."""
        row = self.store.insert("items", {"state": "pending", "kind": kind}, key="pending")
        doc = {**self.store.get("items", row), "itemId": row + guesses.ITEM_ID_BASE}
        self.store.put("items", row, doc, key="pending")
        return doc

    def item(self, item_id: Any, *states: str) -> dict | None:
        """The item with this public id, if it is in one of ``states`` (any state when none given)."""
        try:
            row = int(item_id) - guesses.ITEM_ID_BASE
        except (TypeError, ValueError):
            return None
        doc = self.store.get("items", row) if row > 0 else None
        if doc is None or (states and doc["state"] not in states):
            return None
        return doc

    def save_item(self, doc: dict, *, bump: bool = True) -> dict:
        if bump:
            doc["rowVersion"] = self.next_row_version()
        self.store.put("items", doc["itemId"] - guesses.ITEM_ID_BASE, doc, key=doc["state"],
                       parent=doc.get("rowVersion"))
        return doc

    def items(self, *states: str) -> list[dict]:
        if not states:
            return self.store.find("items")
        return [doc for state in states for doc in self.store.find("items", key=state)]

    def active_count(self) -> int:
        return self.store.count("items", key="active")

    def no_such_item(self, item_id: Any) -> str:
        return guesses.NO_SUCH_SHOP_ITEM.format(item_id=item_id, user_id=self.user_id)
