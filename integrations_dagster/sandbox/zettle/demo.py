"""Demo data of the Zettle sandbox: a small Swedish shop (SEK, VAT 25 % and 12 %), with stock and sales.

Products and variants get deterministic UUID v1s (clients create them with v1 by convention
[3p: vilkasgroup `uuid.uuid1()`; nop `GenerateTimeBasedGuid`]). Prices are gross öre [doc; digest §6.1].
Real-data quirks kept on purpose: the Grå variant of "Mössa Ull" has no barcode, and the single
variant of "Tygkasse" has no SKU (``sku: null``, as in the GET fixture [3p: LauLamanApps getProduct.json]).
Single-variant products carry no option definitions and an unnamed variant (a demo choice).

Stock is built only from movements (restock SUPPLIER→STORE, then the sales through the till), so every
balance equals the sum of its movements. Final STORE balances:
Kaffe 39, Mugg 17, T-shirt S 5 / M 6 / L 0, Mössa Svart 6 / Grå 3; Tygkasse and Halsduk untracked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from integrations_dagster.sandbox.base import Sandbox
from integrations_dagster.sandbox.zettle.products import Catalog
from integrations_dagster.sandbox.zettle.purchases import Ledger
from integrations_dagster.sandbox.zettle.stock import Stock
from integrations_dagster.sandbox.zettle.till import Till
from integrations_dagster.sandbox.zettle.wire import CURRENCY, atomic, uuid1_at

CREATED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
NODE = 0x0242AC120002
# (name, VAT, price öre, option name or None, [(option value, sku, barcode, restock)], tracked)
PRODUCTS = [
    ("Kaffe Mellanrost 500 g", "12", 8900, None, [(None, "KAFFE-MR-500", "7350012340017", 40)], True),
    ("Mugg Stengods", "25", 14900, None, [(None, "MUGG-STEN-01", "7350012340024", 18)], True),
    ("T-shirt Ekologisk bomull", "25", 24900, "Storlek",
     [("S", "TSHIRT-EKO-S", "7350012340031", 5), ("M", "TSHIRT-EKO-M", "7350012340048", 8),
      ("L", "TSHIRT-EKO-L", "7350012340055", 0)], True),
    ("Mössa Ull", "25", 19900, "Färg",
     [("Svart", "MOSSA-ULL-SVART", "7350012340062", 6), ("Grå", "MOSSA-ULL-GRA", None, 3)], True),
    ("Tygkasse", "25", 7900, None, [(None, None, "7350012340079", 0)], False),
    ("Halsduk Merino", "25", 34900, "Färg",
     [("Röd", "HALSDUK-MER-ROD", "7350012340086", 0), ("Blå", "HALSDUK-MER-BLA", "7350012340093", 0),
      ("Grön", "HALSDUK-MER-GRON", "7350012340109", 0), ("Svart", "HALSDUK-MER-SVART", "7350012340116", 0)],
     False),
]
# (timestamp, [(product index, variant index, quantity)])
SALES = [
    (datetime(2025, 11, 2, 10, 15, tzinfo=UTC), [(0, 0, 1), (2, 1, 2)]),
    (datetime(2025, 11, 3, 14, 40, 12, 345000, tzinfo=UTC), [(1, 0, 1)]),
]


def product_uuid(index: int) -> str:
    return uuid1_at(CREATED + timedelta(hours=index), index * 100, NODE)


def variant_uuid(index: int, variant: int) -> str:
    return uuid1_at(CREATED + timedelta(hours=index), index * 100 + variant + 1, NODE)


def _product(index: int) -> dict:
    name, vat, price, option, variants, _ = PRODUCTS[index]
    body = {"uuid": product_uuid(index), "name": name, "description": None, "vatPercentage": vat, "variants": []}
    for j, (value, sku, barcode, _restock) in enumerate(variants):
        variant = {"uuid": variant_uuid(index, j), "sku": sku, "barcode": barcode,
                   "price": {"amount": price, "currencyId": CURRENCY}, "costPrice": None, "vatPercentage": vat}
        if option:
            variant["name"] = value
            variant["options"] = [{"name": option, "value": value}]
        body["variants"].append(variant)
    if option:
        body["variantOptionDefinitions"] = {
            "definitions": [{"name": option, "properties": [{"value": v[0]} for v in variants]}]}
    return body


def load(sb: Sandbox) -> None:
    cat, stock, ledger = Catalog(sb.store), Stock(sb.store), Ledger(sb.store)
    with atomic(sb.store):
        for i in range(len(PRODUCTS)):
            cat.create(_product(i), moment=CREATED + timedelta(hours=i))
        stock.ensure_defaults(CREATED)
        variants = {p["uuid"]: {v["uuid"] for v in p["variants"]} for p in cat.all()}
        restock_at = CREATED + timedelta(days=1)
        for i, (_, _, _, _, rows, tracked) in enumerate(PRODUCTS):
            if not tracked:
                continue
            stock.set_tracking([product_uuid(i)], True)
            moves = [{"productUuid": product_uuid(i), "variantUuid": variant_uuid(i, j), "change": restock,
                      "from": stock.default("SUPPLIER"), "to": stock.default("STORE")}
                     for j, (*_, restock) in enumerate(rows) if restock]
            if moves:
                stock.move(moves, variants, moment=restock_at)
        till = Till(cat, stock, ledger)
        for moment, lines in SALES:
            till.sell({"timestamp": moment.isoformat(), "lines": [
                {"productUuid": product_uuid(p), "variantUuid": variant_uuid(p, v), "quantity": q}
                for p, v, q in lines]})
