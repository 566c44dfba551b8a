"""``GET /orders?search=`` in the WooCommerce sandbox, over real HTTP, as WooCommerce (HPOS) searches:
a case-insensitive substring of the billing/shipping address index (the address's fields joined with
spaces, e-mail and phone included), of any item's name or of the transaction id, or the order's id;
AND-ed with the list's other filters, and counted in ``X-WP-Total``. See ``Sales.search_orders``.

A connector looks up the order it may have created before a crash by the buyer's e-mail: these tests
post their own orders and expect what they posted back.
"""

from __future__ import annotations

import pytest
import requests

from conftest import WOO_KEY, WOO_SECRET

API = "/wp-json/wc/v3"


class Shop:
    def __init__(self, running) -> None:
        self.url = running.url + API

    def call(self, method: str, path: str, body=None, **params) -> requests.Response:
        resp = requests.request(method, self.url + path, json=body, params=params or None,
                                auth=(WOO_KEY, WOO_SECRET), timeout=10)
        assert resp.status_code < 300, resp.text
        return resp

    def product(self, name: str, sku: str) -> int:
        return self.call("POST", "/products", {"name": name, "sku": sku, "regular_price": "100"}).json()["id"]

    def order(self, billing: dict, product_id: int, **extra) -> int:
        body = {"billing": {"country": "SE", **billing}, "line_items": [{"product_id": product_id}], **extra}
        return self.call("POST", "/orders", body).json()["id"]

    def search(self, term: str, **params) -> tuple[list[int], requests.Response]:
        resp = self.call("GET", "/orders", search=term, **params)
        return [o["id"] for o in resp.json()], resp


@pytest.fixture
def shop(woo_empty) -> Shop:
    return Shop(woo_empty)


@pytest.fixture
def orders(shop) -> dict[str, int]:
    """Three buyers' orders; the second one paid."""
    sock = shop.product("Ullstrumpa Blå", "SOCK-1")
    mug = shop.product("Kaffemugg", "MUG-1")
    return {
        "anna": shop.order({"first_name": "Anna", "last_name": "Lindqvist", "email": "anna.lindqvist@example.se",
                            "city": "Umeå"}, sock),
        "bo": shop.order({"first_name": "Bo", "last_name": "Ek", "email": "bo@example.se"}, mug, set_paid=True),
        "cecilia": shop.order({"first_name": "Cecilia", "last_name": "Holm", "email": "cecilia@example.org"}, mug),
    }


def test_the_full_email_finds_the_buyers_order(shop, orders):
    found, resp = shop.search("anna.lindqvist@example.se")
    assert found == [orders["anna"]]
    assert resp.json()[0]["billing"]["email"] == "anna.lindqvist@example.se"


def test_part_of_the_last_name_finds_it_in_any_case(shop, orders):
    assert shop.search("LINDQ")[0] == [orders["anna"]]
    assert shop.search("lindq")[0] == [orders["anna"]]


def test_the_index_joins_the_address_fields_with_spaces(shop, orders):
    assert shop.search("anna lindqvist")[0] == [orders["anna"]]  # first_name, space, last_name


def test_a_line_items_name_finds_the_orders_holding_it(shop, orders):
    assert shop.search("strumpa")[0] == [orders["anna"]]
    assert sorted(shop.search("kaffemugg")[0]) == sorted([orders["bo"], orders["cecilia"]])


def test_the_order_id_finds_the_order(shop, orders):
    assert shop.search(str(orders["bo"]))[0] == [orders["bo"]]


def test_a_search_matching_nothing_answers_an_empty_list(shop, orders):
    found, resp = shop.search("nobody@nowhere.example")
    assert resp.json() == []
    assert (resp.headers["X-WP-Total"], resp.headers["X-WP-TotalPages"]) == ("0", "0")


def test_search_and_status_both_apply(shop, orders):
    assert sorted(shop.search("@example.se")[0]) == sorted([orders["anna"], orders["bo"]])
    assert shop.search("@example.se", status="processing")[0] == [orders["bo"]]
    assert shop.search("@example.se", status="pending")[0] == [orders["anna"]]
    assert shop.search("cecilia", status="processing")[0] == []


def test_a_trashed_order_is_found_only_in_the_trash(shop, orders):
    shop.call("DELETE", f"/orders/{orders['cecilia']}")
    assert shop.search("cecilia")[0] == []
    assert shop.search("cecilia", status="trash")[0] == [orders["cecilia"]]


def test_the_results_and_x_wp_total_agree(shop, orders):
    found, resp = shop.search("example")
    assert sorted(found) == sorted(orders.values())
    assert resp.headers["X-WP-Total"] == str(len(found)) == "3"
    first, resp = shop.search("example", per_page=2)
    assert (len(first), resp.headers["X-WP-Total"], resp.headers["X-WP-TotalPages"]) == (2, "3", "2")
    second, _ = shop.search("example", per_page=2, page=2)
    assert sorted(first + second) == sorted(orders.values())


def test_an_empty_search_lists_every_order(shop, orders):
    found, resp = shop.search("  ")
    assert sorted(found) == sorted(orders.values()) and resp.headers["X-WP-Total"] == "3"
