"""Deterministic demo shop (SEK, prices incl. VAT) and a fast bulk catalogue for benchmarks.

``load_demo`` builds 12 products (6 simple, 6 variable with 2–4 variations), 5 customers and 8
orders through the same code paths as the API, then stamps fixed dates so runs are repeatable.
``load_catalogue(sandbox, n_products, variations_per_product)`` writes a large catalogue in one
transaction, bypassing request handling.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from itertools import product as combinations

from integrations_dagster.sandbox.base import Sandbox
from integrations_dagster.sandbox.woocommerce.catalog import (
    PRODUCT_DEFAULTS, PRODUCTS, SITE_URL, VARIATION_DEFAULTS, VARIATIONS, Catalog, derive,
)
from integrations_dagster.sandbox.woocommerce.clock import dated
from integrations_dagster.sandbox.woocommerce.sales import CUSTOMERS, ORDERS, Sales
from integrations_dagster.sandbox.woocommerce.setup import ShopSetup

BASE = datetime(2024, 3, 1, 9, 0, 0)  # GMT

# name, sku, price, sale, categories, weight, stock, tax_class, extra
SIMPLE = [
    ("Mugg Fika", "MUG-FIKA", "149.00", "", [12], "0.40", 25, "", {}),
    ("Poster Skärgård 50x70", "POSTER-SKARGARD", "299.00", "249.00", [15], "0.30", 10, "", {}),
    ("Tygkasse Ekologisk", "TOTE-ECO", "129.00", "", [12], "0.15", 0, "", {}),
    ("Kaffe Mörkrost 500 g", "COFFEE-DARK-500", "89.00", "", [12], "0.50", 60, "", {}),
    ("Mössa Ull", "BEANIE-WOOL", "249.00", "", [12], "0.10", 40, "", {}),
    ("Presentkort 500 kr", "GIFTCARD-500", "500.00", "", [12], "", None, "", {"virtual": True}),
]
# name, sku prefix, price, categories, weight, attributes {name: options}, status
VARIABLE = [
    ("T-shirt Basic", "TS-BASIC", "199.00", [9, 14], "0.20", {"Size": ["S", "M", "L"]}, "publish"),
    ("Hoodie Classic", "HOODIE-CL", "549.00", [9, 10], "0.60", {"Size": ["M", "L"], "Color": ["Grå", "Svart"]},
     "publish"),
    ("Jeans Slim", "JEANS-SLIM", "699.00", [9], "0.70", {"Midja": ["30", "32", "34"]}, "publish"),
    ("Sneakers Låg", "SNEAK-LOW", "899.00", [9], "0.90", {"Size": ["41", "42", "43", "44"]}, "publish"),
    ("Halsduk Rutig", "SCARF-CHECK", "299.00", [12], "0.25", {"Color": ["Röd", "Blå"]}, "publish"),
    ("Regnjacka", "RAINCOAT", "1199.00", [9], "0.80", {"Size": ["S", "M", "L"]}, "draft"),
]
GLOBAL_IDS = {"Color": 6, "Size": 7}
CUSTOMER_ROWS = [
    ("Anna", "Andersson", "", "Storgatan 1", "111 22", "Stockholm"),
    ("Björn", "Berg", "Berg AB", "Kungsgatan 5", "411 19", "Göteborg"),
    ("Cecilia", "Carlsson", "", "Södra Förstadsgatan 3", "211 43", "Malmö"),
    ("David", "Dahl", "", "Drottninggatan 9", "753 10", "Uppsala"),
    ("Eva", "Ek", "Ek & Co HB", "Ågatan 12", "582 22", "Linköping"),
]
# status, customer index (None = guest), [(sku, qty)]
ORDER_ROWS = [
    ("processing", 0, [("TS-BASIC-M", 2), ("MUG-FIKA", 1)]),
    ("completed", 1, [("HOODIE-CL-L-SVART", 1)]),
    ("pending", 2, [("COFFEE-DARK-500", 3), ("BEANIE-WOOL", 1)]),
    ("on-hold", 3, [("SNEAK-LOW-42", 1)]),
    ("processing", None, [("POSTER-SKARGARD", 1), ("TOTE-ECO", 2)]),
    ("completed", 4, [("JEANS-SLIM-32", 1), ("SCARF-CHECK-RÖD", 1)]),
    ("processing", 0, [("GIFTCARD-500", 1)]),
    ("completed", 2, [("TS-BASIC-S", 1), ("TS-BASIC-L", 1), ("HOODIE-CL-M-GRÅ", 1)]),
]


def ean13(rng: random.Random) -> str:
    digits = "735" + "".join(str(rng.randrange(10)) for _ in range(9))
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return digits + str(check)


def load_demo(sandbox: Sandbox) -> None:
    store = sandbox.store
    catalog = Catalog(store)  # type: ignore[arg-type]
    sales = Sales(store, catalog, ShopSetup(store))  # type: ignore[arg-type]
    rng = random.Random(42)
    with store.transaction():
        for n, (name, sku, price, sale, cats, weight, stock, tax, extra) in enumerate(SIMPLE):
            doc = catalog.create_product({
                "name": name, "type": "simple", "sku": sku, "regular_price": price, "sale_price": sale,
                "categories": [{"id": c} for c in cats], "weight": weight, "tax_class": tax,
                "manage_stock": stock is not None, **({"stock_quantity": stock} if stock is not None else {}),
                "global_unique_id": ean13(rng), "description": f"<p>{name}.</p>",
                "images": [{"src": f"{SITE_URL}/wp-content/uploads/2024/03/{sku.lower()}.jpg"}], **extra,
            })
            _restamp(store, PRODUCTS, doc, BASE + timedelta(days=n), BASE + timedelta(days=n, hours=3))
        parents = [catalog.create_product({  # all parents first: products keep ids 1-12, variations follow
            "name": name, "type": "variable", "status": status, "categories": [{"id": c} for c in cats],
            "weight": weight, "description": f"<p>{name}.</p>",
            "images": [{"src": f"{SITE_URL}/wp-content/uploads/2024/03/{prefix.lower()}.jpg"}],
            "attributes": [{"id": GLOBAL_IDS.get(a, 0), "name": a, "position": i, "visible": True,
                            "variation": True, "options": opts} for i, (a, opts) in enumerate(attrs.items())],
        }) for name, prefix, price, cats, weight, attrs, status in VARIABLE]
        for n, (parent, (name, prefix, price, cats, weight, attrs, status)) in enumerate(zip(parents, VARIABLE),
                                                                                      start=len(SIMPLE)):
            for k, choice in enumerate(combinations(*attrs.values())):
                catalog.create_variation(parent["id"], {
                    "sku": "-".join([prefix, *(c.upper() for c in choice)]), "regular_price": price,
                    "sale_price": "449.00" if prefix == "HOODIE-CL" and k == 0 else "",
                    "manage_stock": True, "stock_quantity": (k * 7 + n) % 20, "global_unique_id": ean13(rng),
                    "attributes": [{"id": GLOBAL_IDS.get(a, 0), "name": a, "option": c}
                                   for a, c in zip(attrs, choice)],
                })
            created = BASE + timedelta(days=n)
            for child in store.find(VARIATIONS, parent=parent["id"]):
                _restamp(store, VARIATIONS, child, created, created + timedelta(hours=2))
            _restamp(store, PRODUCTS, store.get(PRODUCTS, parent["id"]), created, created + timedelta(hours=3))
        customers = []
        for n, (first, last, company, street, postcode, city) in enumerate(CUSTOMER_ROWS):
            email = f"{first.lower().replace('ö', 'o')}.{last.lower()}@example.se"
            address = {"first_name": first, "last_name": last, "company": company, "address_1": street,
                       "postcode": postcode, "city": city, "country": "SE"}
            doc = sales.create_customer({
                "email": email, "first_name": first, "last_name": last,
                "billing": {**address, "email": email, "phone": f"+46 70 123 45 {n:02d}"}, "shipping": address,
            })
            _restamp(store, CUSTOMERS, doc, BASE + timedelta(days=20 + n), BASE + timedelta(days=20 + n))
            customers.append(doc)
        for n, (status, who, lines) in enumerate(ORDER_ROWS):
            customer = customers[who] if who is not None else None
            billing = dict(customer["billing"]) if customer else {
                "first_name": "Gustav", "last_name": "Gäst", "address_1": "Vägen 2", "postcode": "903 26",
                "city": "Umeå", "country": "SE", "email": "gustav.gast@example.se", "phone": "+46 70 555 00 00"}
            doc = sales.create_order({
                "status": status, "customer_id": customer["id"] if customer else 0, "billing": billing,
                "shipping": {k: v for k, v in billing.items() if k not in ("email", "phone")},
                "payment_method": "klarna", "payment_method_title": "Klarna",
                "line_items": [{"sku": sku, "quantity": qty} for sku, qty in lines],
                "shipping_lines": [{"method_id": "flat_rate", "method_title": "PostNord", "total": "39.20"}],
            })
            created = BASE + timedelta(days=30 + n, hours=n)
            _restamp(store, ORDERS, doc, created, created + timedelta(hours=1 + n % 3))


def _restamp(store, collection: str, doc: dict, created: datetime, modified: datetime) -> None:
    """Give a demo record fixed dates (paid/completed dates follow the creation date)."""
    doc.update({**dated("date_created", created), **dated("date_modified", modified)})
    for field in ("date_paid", "date_completed"):
        if doc.get(field):
            doc.update(dated(field, modified))
    key = {PRODUCTS: doc.get("sku"), VARIATIONS: doc.get("sku"), ORDERS: doc.get("number"),
           CUSTOMERS: doc.get("email")}[collection] or None
    store.put(collection, doc["id"], doc, key=key, parent=doc["parent_id"] if collection == VARIATIONS else None,
              modified=doc["date_modified_gmt"])


def load_catalogue(sandbox: Sandbox, n_products: int, variations_per_product: int) -> None:
    """Add ``n_products`` products (variable with ``variations_per_product`` variations, or simple
    when 0), SKUs ``BENCH-00001`` / ``BENCH-00001-2``, in one transaction."""
    store = sandbox.store
    sizes = [f"S{j}" for j in range(1, variations_per_product + 1)]
    with store.transaction():
        start = store.count(PRODUCTS, key=None)
        for i in range(start + 1, start + n_products + 1):
            when = BASE + timedelta(minutes=i)
            stamps = {**dated("date_created", when), **dated("date_modified", when)}
            sku = f"BENCH-{i:05d}"
            variable = variations_per_product > 0
            doc = {**PRODUCT_DEFAULTS, **stamps, "name": f"Bench product {i}", "slug": f"bench-product-{i}",
                   "type": "variable" if variable else "simple", "sku": "" if variable else sku,
                   "regular_price": "" if variable else "100.00", "manage_stock": not variable,
                   "stock_quantity": None if variable else i % 50,
                   "attributes": [{"id": 7, "name": "Size", "position": 0, "visible": True, "variation": True,
                                   "options": sizes}] if variable else []}
            derive(doc)
            pid = store.insert(PRODUCTS, doc, key=doc["sku"] or None, modified=doc["date_modified_gmt"])
            children = []
            for j, size in enumerate(sizes, start=1):
                child = {**VARIATION_DEFAULTS, **stamps, "parent_id": pid, "sku": f"{sku}-{j}",
                         "regular_price": "100.00", "manage_stock": True, "stock_quantity": (i + j) % 50,
                         "attributes": [{"id": 7, "name": "Size", "option": size}]}
                derive(child)
                children.append(store.insert(VARIATIONS, child, key=child["sku"], parent=pid,
                                             modified=child["date_modified_gmt"]))
            doc.update(id=pid, permalink=f"{SITE_URL}/product/{doc['slug']}/", variations=children,
                       price="100.00" if variable else doc["price"], purchasable=True)
            store.put(PRODUCTS, pid, doc, key=doc["sku"] or None, modified=doc["date_modified_gmt"])
