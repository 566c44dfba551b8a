"""What a user would write by hand: fetch everything from WooCommerce, then one request per record
to Fortnox — PUT the article (POST when it is not there yet) and PUT its price (POST when missing) —
on every run, whether or not anything changed. No state, no diff, no rate limiter.

``python -m bench.naive WOO_URL FORTNOX_URL`` (credentials from WOO_CONSUMER_KEY,
WOO_CONSUMER_SECRET, FORTNOX_ACCESS_TOKEN).
"""

from __future__ import annotations

import os
import sys
from decimal import Decimal

import requests


def fetch_all(session: requests.Session, woo: str, path: str) -> list[dict]:
    out, page = [], 1
    while True:
        resp = session.get(f"{woo}/wp-json/wc/v3{path}", params={"per_page": 100, "page": page}, timeout=30)
        resp.raise_for_status()
        out += resp.json()
        if page >= int(resp.headers.get("X-WP-TotalPages", 1)):
            return out
        page += 1


def sellable(woo_session: requests.Session, woo: str) -> list[dict]:
    units = []
    for product in fetch_all(woo_session, woo, "/products"):
        if product["type"] == "variable":
            for var in fetch_all(woo_session, woo, f"/products/{product['id']}/variations"):
                size = " ".join(a["option"] for a in var.get("attributes", []))
                units.append({"sku": var["sku"], "name": f"{product['name']} {size}".strip(),
                              "price": var["regular_price"]})
        elif product.get("sku"):
            units.append({"sku": product["sku"], "name": product["name"], "price": product["regular_price"]})
    return units


def push(fx_session: requests.Session, fx: str, units: list[dict]) -> int:
    sent = 0
    for unit in units:
        article = {"Description": unit["name"][:200], "Type": "STOCK", "StockGoods": True}
        resp = fx_session.put(f"{fx}/3/articles/{unit['sku']}", json={"Article": article}, timeout=30)
        sent += 1
        if resp.status_code == 404:
            fx_session.post(f"{fx}/3/articles", json={"Article": {"ArticleNumber": unit["sku"], **article}},
                            timeout=30).raise_for_status()
            sent += 1
        if not unit["price"]:
            continue
        price = float((Decimal(unit["price"]) / Decimal("1.25")).quantize(Decimal("0.01")))
        resp = fx_session.put(f"{fx}/3/prices/A/{unit['sku']}/0", json={"Price": {"Price": price}}, timeout=30)
        sent += 1
        if resp.status_code == 404:
            fx_session.post(f"{fx}/3/prices", json={"Price": {"ArticleNumber": unit["sku"], "PriceList": "A",
                                                              "FromQuantity": 0, "Price": price}},
                            timeout=30).raise_for_status()
            sent += 1
    return sent


def main(woo: str, fx: str) -> int:
    woo_session = requests.Session()
    woo_session.auth = (os.environ["WOO_CONSUMER_KEY"], os.environ["WOO_CONSUMER_SECRET"])
    fx_session = requests.Session()
    fx_session.headers["Authorization"] = f"Bearer {os.environ['FORTNOX_ACCESS_TOKEN']}"
    return push(fx_session, fx, sellable(woo_session, woo))


if __name__ == "__main__":
    print(main(sys.argv[1], sys.argv[2]), "requests to Fortnox")
