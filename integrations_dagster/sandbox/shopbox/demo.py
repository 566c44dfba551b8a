"""Demo data of the Shopbox sandbox: a small Danish coffee shop (DKK, prices in øre incl. 25 % VAT).

The organisation (two branches, Nørrebro 6101 and Aarhus C 6102, with one register each, 7101 and 7102)
is in :mod:`.org` and exists in the empty shop too. Here: three tags (categories), a plain product in each
of two tags, a T-shirt with size variances whose stock is kept per variance (``inventory_on_variants``), a
gift box made of coffee + mug (a GUESSED composite, guesses.COMPONENTS_FIELD), the stock counted at each
branch, and three till sales rung up through the same code as ``POST /__sandbox__/shopbox/sale``, so the
stock below is what is left after them:

* Espresso 500 g — Nørrebro 30 − 2 − 1 (gift box) = 27, Aarhus 12;
* Krus stentøj — Nørrebro 10 − 1 (gift box) = 9, Aarhus 4 − 1 = 3;
* T-shirt logo — Nørrebro S 5 − 1 = 4, M 8 − 1 = 7, L 0; Aarhus S 2, M 3, L 1.

Receipts (newest first in ``/baskets``): #3 Nørrebro gift box + T-shirt S with 20,00 kr. off; #2 Aarhus a mug;
#1 Nørrebro two espresso bags + a T-shirt M.
"""

from __future__ import annotations

from datetime import datetime

from integrations_dagster.sandbox.shopbox.baskets import Ledger
from integrations_dagster.sandbox.shopbox.wire import COPENHAGEN, atomic

NORREBRO, AARHUS = 6101, 6102
TILL = {NORREBRO: 7101, AARHUS: 7102}
TAGS = ["Kaffe", "Tilbehør", "Tøj"]
# (key, name, tag, sku_code, barcode, selling_price øre, stock_price øre, {branch: quantity})
PLAIN = [
    ("espresso", "Kaffebønner Espresso 500 g", "Kaffe", "KAFFE-ESP-500", "5701234000011", 8900, 4000,
     {NORREBRO: 30, AARHUS: 12}),
    ("krus", "Krus stentøj", "Tilbehør", "KRUS-STEN", "5701234000028", 14900, 6000, {NORREBRO: 10, AARHUS: 4}),
]
SIZES = ["S", "M", "L"]
TSHIRT_STOCK = {NORREBRO: {"S": 5, "M": 8, "L": 0}, AARHUS: {"S": 2, "M": 3, "L": 1}}
# (when, branch, payment type, [(product key, size or None, quantity, discount øre)])
SALES = [
    (datetime(2025, 11, 3, 10, 15, tzinfo=COPENHAGEN), NORREBRO, 2, [("espresso", None, 2, 0), ("tshirt", "M", 1, 0)]),
    (datetime(2025, 11, 3, 14, 40, tzinfo=COPENHAGEN), AARHUS, 3, [("krus", None, 1, 0)]),
    (datetime(2025, 11, 4, 11, 5, tzinfo=COPENHAGEN), NORREBRO, 1, [("giftbox", None, 1, 0), ("tshirt", "S", 1, 2000)]),
]


def load(ledger: Ledger) -> None:
    cat, stock = ledger.cat, ledger.stock
    with atomic(cat.store):
        tags = {name: cat.create_tag({"name": name})["uid"] for name in TAGS}
        uids: dict[str, dict] = {}
        for key, name, tag, sku, barcode, price, cost, counts in PLAIN:
            product, _ = cat.save({"name": name, "tag": tags[tag], "sku_code": sku, "code": barcode,
                                   "selling_price": price, "stock_price": cost,
                                   "description": f"{name} — demo"})
            uids[key] = product
            for branch, amount in counts.items():
                stock.set(branch, product["uid"], None, amount, "counted")
        size_type = cat.variance_type({"name": "Størrelse", "slug": "storrelse",
                                       "variants": [{"name": s, "slug": s.lower()} for s in SIZES]})
        value_uid = {v["name"]: v["uid"] for v in size_type["variants"]}
        tshirt, _ = cat.save({"name": "T-shirt logo", "tag": tags["Tøj"], "sku_code": "TSHIRT-LOGO",
                              "selling_price": 19900, "stock_price": 7000, "inventory_on_variants": 1,
                              "variants": [{"uid": 0, "variance_value": [value_uid[s]], "sku_code": f"TSHIRT-LOGO-{s}",
                                            "barcode": f"570123400010{i}", "selling_price": 19900}
                                           for i, s in enumerate(SIZES)]})
        uids["tshirt"] = tshirt
        size_variance = {v["variance_values"][0]["name"]: v["uid"] for v in tshirt["product_variances"]}
        for branch, counts in TSHIRT_STOCK.items():
            for size, amount in counts.items():
                stock.set(branch, tshirt["uid"], size_variance[size], amount, "counted")
        giftbox, _ = cat.save({"name": "Gaveæske kaffe + krus", "tag": tags["Kaffe"], "sku_code": "GAVE-KAFFE-KRUS",
                               "selling_price": 21900, "stock_price": 10000,
                               "components": [{"product": uids["espresso"]["uid"], "quantity": 1},
                                              {"product": uids["krus"]["uid"], "quantity": 1}]})
        uids["giftbox"] = giftbox
        for moment, branch, payment, lines in SALES:
            ledger.create({"cash_register": TILL[branch], "staff": 8101, "type": payment,
                           "creation_time": int(moment.timestamp()),
                           "basket_items": [{"product": uids[key]["uid"], "quantity": qty, "discount": discount,
                                             "product_variance": size_variance[size] if size else None}
                                            for key, size, qty, discount in lines]}, source="till")
