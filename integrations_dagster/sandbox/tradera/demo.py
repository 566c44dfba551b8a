"""Demo data of the Tradera sandbox: an active Tradera shop, ready for a connector's first listing.

What every sandbox has (shop.DEFAULT_SETTINGS, also the empty one): the seller (shop.SELLER_PROFILE, user id
from the credentials), ``maxActiveItems`` 10 000, payment options 4 (bank transfer) and 4096 (Swish) enabled —
16384 (Swish/Kort/PayPal) not, as Klarna needs Tradera's activation [seed l. 115-118]. The demo adds the
shop's texts and, in app.py, the default quota (100 calls per sliding 24 h, guesses.QUOTA_*). No items and
no orders: a buyer's purchase is ``POST /__sandbox__/tradera/buy`` (control.py).
"""

from __future__ import annotations

from integrations_dagster.sandbox.tradera.shop import Shop

SHOP_TEXTS = {
    "companyInformation": "Sandlådan Handel AB, org.nr 556000-0000, Göteborg",
    "contactInformation": "butik@example.se, 031-123456",
    "purchaseTerms": "Fri retur inom 14 dagar. Varor skickas inom 2 arbetsdagar efter betalning.",
}


def load(shop: Shop) -> None:
    shop.update_shop(SHOP_TEXTS)
