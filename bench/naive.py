"""What a user would write by hand: fetch everything from WooCommerce, then one request per record
to Fortnox — PUT the article (POST when it is not there yet) and PUT its price (POST when missing) —
on every run, whether or not anything changed. No state, no diff, no rate limiter.

``workers`` is the script's only knob, so that the bench can compare it with our flow at the same
concurrency (bench/cases/cycle.py):

* ``workers=1`` (the default): one request at a time, as a first script would be written;
* ``workers=8``: the variation lists read 8 at a time and the Fortnox writes of 8 units at a time,
  with a ``ThreadPoolExecutor`` — what a user who found the script slow could add. Each thread has
  its own ``requests.Session``: requests does not promise that one may be shared between threads.

``python -m bench.naive WOO_URL FORTNOX_URL [WORKERS]`` (credentials from WOO_CONSUMER_KEY,
WOO_CONSUMER_SECRET, FORTNOX_ACCESS_TOKEN).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import requests


class Sessions(threading.local):
    """One WooCommerce and one Fortnox session per thread (each thread runs ``__init__`` on first use).

    [doc] https://github.com/psf/requests/issues/2766 (Session's threading contract is undocumented,
    so a session per thread); [doc] https://requests.readthedocs.io/en/latest/user/advanced/#session-objects
    (a session keeps its connection alive between requests).
    """

    def __init__(self) -> None:
        self.woo = requests.Session()
        self.woo.auth = (os.environ["WOO_CONSUMER_KEY"], os.environ["WOO_CONSUMER_SECRET"])
        self.fx = requests.Session()
        self.fx.headers["Authorization"] = f"Bearer {os.environ['FORTNOX_ACCESS_TOKEN']}"


def each(workers: int, fn: Callable, items: Iterable) -> list:
    """``fn`` over ``items``: in turn, or ``workers`` at a time in a thread pool.

    [doc] https://docs.python.org/3/library/concurrent.futures.html#threadpoolexecutor-example
    (``Executor.map`` keeps the order of ``items``).
    """
    if workers <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def fetch_all(session: requests.Session, woo: str, path: str) -> list[dict]:
    out, page = [], 1
    while True:
        resp = session.get(f"{woo}/wp-json/wc/v3{path}", params={"per_page": 100, "page": page}, timeout=30)
        resp.raise_for_status()
        out += resp.json()
        if page >= int(resp.headers.get("X-WP-TotalPages", 1)):
            return out
        page += 1


def sellable(sessions: Sessions, woo: str, workers: int = 1) -> list[dict]:
    products = fetch_all(sessions.woo, woo, "/products")
    variable = [p for p in products if p["type"] == "variable"]
    lists = each(workers, lambda p: fetch_all(sessions.woo, woo, f"/products/{p['id']}/variations"), variable)
    variations = {p["id"]: found for p, found in zip(variable, lists)}
    units = []
    for product in products:
        if product["type"] == "variable":
            for var in variations[product["id"]]:
                size = " ".join(a["option"] for a in var.get("attributes", []))
                units.append({"sku": var["sku"], "name": f"{product['name']} {size}".strip(),
                              "price": var["regular_price"]})
        elif product.get("sku"):
            units.append({"sku": product["sku"], "name": product["name"], "price": product["regular_price"]})
    return units


def push_one(fx_session: requests.Session, fx: str, unit: dict) -> int:
    sent = 0
    article = {"Description": unit["name"][:200], "Type": "STOCK", "StockGoods": True}
    resp = fx_session.put(f"{fx}/3/articles/{unit['sku']}", json={"Article": article}, timeout=30)
    sent += 1
    if resp.status_code == 404:
        fx_session.post(f"{fx}/3/articles", json={"Article": {"ArticleNumber": unit["sku"], **article}},
                        timeout=30).raise_for_status()
        sent += 1
    if not unit["price"]:
        return sent
    price = float((Decimal(unit["price"]) / Decimal("1.25")).quantize(Decimal("0.01")))
    resp = fx_session.put(f"{fx}/3/prices/A/{unit['sku']}/0", json={"Price": {"Price": price}}, timeout=30)
    sent += 1
    if resp.status_code == 404:
        fx_session.post(f"{fx}/3/prices", json={"Price": {"ArticleNumber": unit["sku"], "PriceList": "A",
                                                          "FromQuantity": 0, "Price": price}},
                        timeout=30).raise_for_status()
        sent += 1
    return sent


def push(sessions: Sessions, fx: str, units: list[dict], workers: int = 1) -> int:
    return sum(each(workers, lambda unit: push_one(sessions.fx, fx, unit), units))


def main(woo: str, fx: str, workers: int = 1) -> int:
    sessions = Sessions()
    return push(sessions, fx, sellable(sessions, woo, workers), workers)


if __name__ == "__main__":
    print(main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1), "requests to Fortnox")
