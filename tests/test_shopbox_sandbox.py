"""The Shopbox sandbox over real HTTP: login and the token in the query string, 401 without or with a
wrong/expired token (and the token never in an error body), products with variations (create, read,
update, delete), tags, branches and registers, baskets newest first with their paging, the page=1 quirk,
a till sale that lowers its branch's stock, idempotent API baskets and cancelling, the inventory hook.

Expected values come from the data each test sends and from its own arithmetic (øre, VAT 25 %), or from
the evidence in docs/research/shopbox.md (query-string auth, 401, ``data``/``meta.pagination``, the
page=1 → 500 observation, integer amounts). Where a test leans on a sandbox choice (a GUESS in
``integrations_dagster/sandbox/shopbox/guesses.py``), it says so.
"""

from __future__ import annotations

import json
import math
import re
import time
from urllib.parse import parse_qs, urlsplit

import requests

from conftest import SHOPBOX_CLIENT, SHOPBOX_PASSWORD, SHOPBOX_USERNAME, QuietHandler, serving
from hookkit import client_fixture

API = "/api/v3"
T = 10  # request timeout, seconds


def login(url: str, **body) -> requests.Response:
    payload = body or {"username": SHOPBOX_USERNAME, "password": SHOPBOX_PASSWORD}
    return requests.post(f"{url}{API}/authenticate/credentials", json=payload, timeout=T)


class Shopbox:
    """A minimal client as a connector would write it: token and client in the query string, and one new
    login when a call answers 401."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.token = self._login()
        self.logins = 1

    def _login(self) -> str:
        resp = login(self.url)
        assert resp.status_code == 200, resp.text
        return resp.json()["accessToken"]

    def call(self, method: str, path: str, params: dict | None = None, **kwargs) -> requests.Response:
        for attempt in (1, 2):
            query = {"accessToken": self.token, "client": SHOPBOX_CLIENT, **(params or {})}
            resp = requests.request(method, f"{self.url}{API}{path}", params=query, timeout=T, **kwargs)
            if resp.status_code != 401 or attempt == 2:
                return resp
            self.token, self.logins = self._login(), self.logins + 1
        raise AssertionError("unreachable")

    def get(self, path: str, **params) -> requests.Response:
        return self.call("GET", path, params)

    def ok(self, method: str, path: str, status: int = 200, params: dict | None = None, **kwargs):
        resp = self.call(method, path, params, **kwargs)
        assert resp.status_code == status, (resp.status_code, resp.text)
        return resp.json() if resp.content else None

    def control(self, path: str, body: dict, status: int = 200) -> dict:
        resp = requests.post(f"{self.url}/__sandbox__/shopbox{path}", json=body, timeout=T)
        assert resp.status_code == status, resp.text
        return resp.json()

    def stock(self, branch: int) -> dict[tuple[int, int | None], float]:
        rows = self.ok("GET", "/product-inventories", params={"branch": branch, "num_per_page": -1})["data"]
        return {(row["product"], row["product_variance"]): row["quantity"] for row in rows}


empty = client_fixture(Shopbox, "shopbox_empty")
demo = client_fixture(Shopbox, "shopbox_sandbox")


def make_catalogue(sb: Shopbox) -> dict:
    """A tag, a plain product and a product with two size variances, made through the API."""
    tag = sb.ok("POST", "/tags", 201, json={"name": "Drikkevarer"})
    sizes = sb.ok("POST", "/variance-type/create-or-update",
                  json={"name": "Størrelse", "slug": "size", "variants": [{"name": "Lille", "slug": "s"},
                                                                         {"name": "Stor", "slug": "l"}]})
    values = {v["name"]: v["uid"] for v in sizes["variants"]}
    plain = sb.ok("POST", "/products/create-or-update",
                  json={"uid": None, "name": "Cold brew 1 l", "tag": tag["uid"], "sku_code": "CB-1L",
                        "selling_price": 12500, "stock_price": 5000})
    cup = sb.ok("POST", "/products/create-or-update",
                json={"uid": None, "name": "Kop", "tag": tag["uid"], "sku_code": "KOP", "selling_price": 4500,
                      "inventory_on_variants": 1,
                      "variants": [{"uid": 0, "variance_value": [values["Lille"]], "sku_code": "KOP-S",
                                    "selling_price": 4500, "integration_number": 71},
                                   {"uid": 0, "variance_value": [values["Stor"]], "sku_code": "KOP-L",
                                    "selling_price": 5500, "integration_number": 72}]})
    by_size = {v["sku_code"]: v["uid"] for v in cup["product_variances"]}
    return {"tag": tag, "values": values, "plain": plain, "cup": cup, "small": by_size["KOP-S"],
            "large": by_size["KOP-L"]}


def register_of(sb: Shopbox) -> dict[int, int]:
    """branch uid -> the uid of a register in it, read from the API."""
    registers = sb.ok("GET", "/cash-registers")["data"]
    return {r["branch"]: r["uid"] for r in registers}


# --- authentication -------------------------------------------------------------------------------
def test_login_returns_an_access_token_and_a_wrong_password_is_refused(shopbox_empty):
    resp = login(shopbox_empty.url)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert re.fullmatch(r"[0-9a-f]{32}", body["accessToken"])  # the form of the tokens seen [3p]
    assert isinstance(body["account"]["uid"], int)  # the KDS app checks account.uid [3p]

    wrong = login(shopbox_empty.url, username=SHOPBOX_USERNAME, password="not-the-password")
    assert wrong.status_code >= 400 and "accessToken" not in wrong.text
    assert "not-the-password" not in wrong.text and SHOPBOX_PASSWORD not in wrong.text
    # GUESS (guesses.ACCEPT_EMAIL_FIELD): one script sends "email" instead of "username".
    assert login(shopbox_empty.url, email=SHOPBOX_USERNAME, password=SHOPBOX_PASSWORD).status_code == 200


def test_no_token_or_a_wrong_one_is_401_and_no_error_body_holds_a_token(shopbox_empty):
    url = shopbox_empty.url
    token = login(url).json()["accessToken"]
    wrong = "0123456789abcdef0123456789abcdef"
    bodies = []
    resp = requests.get(f"{url}{API}/products", params={"client": SHOPBOX_CLIENT}, timeout=T)
    assert resp.status_code == 401
    bodies.append(resp.text)
    resp = requests.get(f"{url}{API}/products", params={"accessToken": wrong, "client": SHOPBOX_CLIENT}, timeout=T)
    assert resp.status_code == 401
    bodies.append(resp.text)
    assert requests.get(f"{url}{API}/products", params={"accessToken": token, "client": SHOPBOX_CLIENT},
                        timeout=T).status_code == 200
    # Other refusals with a good token: no client / another shop (GUESS 400 / 403), an unknown product
    # (404), a bad body (422), and the page=1 quirk (500).
    for params, path, status in (({}, "/products", 400), ({"client": "999999"}, "/products", 403),
                                 ({"client": SHOPBOX_CLIENT}, "/products/123", 404),
                                 ({"client": SHOPBOX_CLIENT, "page": "1"}, "/baskets", 500)):
        resp = requests.get(f"{url}{API}{path}", params={"accessToken": token, **params}, timeout=T)
        assert resp.status_code == status, (path, resp.text)
        bodies.append(resp.text)
    resp = requests.post(f"{url}{API}/products/create-or-update", json={"name": "x", "selling_price": 12.5},
                         params={"accessToken": token, "client": SHOPBOX_CLIENT}, timeout=T)
    assert resp.status_code == 422  # a fraction of an øre
    bodies.append(resp.text)
    # The rate limit (a generic knob; 429 + Retry-After is a GUESS) answers without the token too.
    assert requests.post(f"{url}/__sandbox__/knobs", json={"rate_limit": 1, "rate_window_s": 30}, timeout=T).ok
    try:
        statuses = []
        for _ in range(2):
            resp = requests.get(f"{url}{API}/tags", params={"accessToken": token, "client": SHOPBOX_CLIENT}, timeout=T)
            statuses.append(resp.status_code)
        assert statuses == [200, 429] and int(resp.headers["Retry-After"]) >= 1
        bodies.append(resp.text)
    finally:
        requests.post(f"{url}/__sandbox__/knobs", json={"rate_limit": 0}, timeout=T)
    for body in bodies:
        assert token not in body and wrong not in body and "accessToken" not in body


def test_an_expired_token_is_401_and_a_client_logs_in_again(shopbox_empty):
    sb = Shopbox(shopbox_empty.url)
    old = sb.token
    expired = requests.post(f"{sb.url}/__sandbox__/shopbox/tokens/expire", timeout=T).json()["expired"]
    assert expired >= 1
    resp = requests.get(f"{sb.url}{API}/tags", params={"accessToken": old, "client": SHOPBOX_CLIENT}, timeout=T)
    assert resp.status_code == 401 and old not in resp.text
    assert sb.ok("GET", "/tags")["data"] == [] and sb.logins == 2 and sb.token != old
    # A short lifetime (the knob; the vendor's lifetime is a GUESS) expires by itself.
    requests.post(f"{sb.url}/__sandbox__/knobs", json={"token_ttl_s": 0.3}, timeout=T)
    short = login(sb.url).json()["accessToken"]
    time.sleep(0.4)
    resp = requests.get(f"{sb.url}{API}/tags", params={"accessToken": short, "client": SHOPBOX_CLIENT}, timeout=T)
    assert resp.status_code == 401


# --- catalogue ------------------------------------------------------------------------------------
def test_product_round_trip_with_variations(empty):
    sb = empty
    made = make_catalogue(sb)
    cup = made["cup"]
    assert isinstance(cup["uid"], int)
    assert len({cup["uid"], made["small"], made["large"]}) == 3  # variations have ids of their own
    got = sb.ok("GET", f"/products/{cup['uid']}")
    assert got["name"] == "Kop" and got["selling_price"] == 4500 and got["tag"] == made["tag"]["uid"]
    assert got["tag0"]["name"] == "Drikkevarer"
    assert {v["uid"]: v["selling_price"] for v in got["product_variances"]} == {made["small"]: 4500,
                                                                                   made["large"]: 5500}
    assert {v["uid"]: [x["name"] for x in v["variance_values"]] for v in got["product_variances"]} == {
        made["small"]: ["Lille"], made["large"]: ["Stor"]}

    # The plugin re-sends every variant with uid 0 on each export; the variances must stay the same ones
    # (GUESS guesses.VARIANT_MATCH) while their prices change.
    again = sb.ok("POST", "/products/create-or-update",
                  json={"uid": cup["uid"], "name": "Kop keramik", "selling_price": 4900,
                        "variants": [{"uid": 0, "variance_value": [made["values"]["Lille"]], "selling_price": 4900},
                                     {"uid": 0, "variance_value": [made["values"]["Stor"]], "selling_price": 5900}]})
    assert again["uid"] == cup["uid"] and again["name"] == "Kop keramik"
    assert {v["uid"]: v["selling_price"] for v in again["product_variances"]} == {made["small"]: 4900,
                                                                                     made["large"]: 5900}
    # REST forms (GUESS guesses.SERVE_REST_PRODUCT_WRITES): create, update, delete.
    created = sb.ok("POST", "/products", 201, json={"name": "Sirup", "selling_price": 3000, "sku_code": "SIR"})
    updated = sb.ok("PUT", f"/products/{created['uid']}", json={"selling_price": 3500, "description": "Vanilje"})
    assert (updated["name"], updated["selling_price"], updated["description"]) == ("Sirup", 3500, "Vanilje")
    listed = sb.ok("GET", "/products", params={"per-page": -1})["data"]
    assert {p["uid"] for p in listed} == {made["plain"]["uid"], cup["uid"], created["uid"]}
    assert sb.call("DELETE", f"/products/{created['uid']}").status_code == 204
    assert sb.get(f"/products/{created['uid']}").status_code == 404
    assert created["uid"] not in {p["uid"] for p in sb.ok("GET", "/products")["data"]}
    # Money is integer øre: a fraction of an øre is refused, and so is an unknown tag.
    assert sb.call("PUT", f"/products/{cup['uid']}", json={"selling_price": 49.5}).status_code == 422
    assert sb.call("PUT", f"/products/{cup['uid']}", json={"tag": 1}).status_code == 422


def test_tags_are_the_categories_of_products(empty):
    sb = empty
    made = make_catalogue(sb)
    other = sb.ok("POST", "/tags", 201, json={"name": "Bønner"})
    tags = sb.ok("GET", "/tags")["data"]
    assert {t["name"] for t in tags} == {"Drikkevarer", "Bønner"}
    only = sb.ok("GET", "/tags", params={"names[]": "Bønner"})["data"]
    assert [t["uid"] for t in only] == [other["uid"]]
    # GUESS (guesses.TAG_NAME_UNIQUE): a taken name is refused.
    assert sb.call("POST", "/tags", json={"name": "drikkevarer"}).status_code == 422
    register = next(iter(register_of(sb).values()))
    items = sb.ok("GET", f"/tags/{made['tag']['uid']}/products",
                  params={"cashRegister": register, "per-page": -1})["data"]
    assert {i["product"] for i in items} == {made["plain"]["uid"], made["cup"]["uid"]}
    assert all(i["product0"]["uid"] == i["product"] for i in items)
    assert sb.ok("GET", f"/tags/{other['uid']}/products")["data"] == []


def test_branches_and_their_cash_registers(demo):
    sb = demo
    branches = sb.ok("GET", "/branches")["data"]
    assert len(branches) == 2
    registers = sb.ok("GET", "/cash-registers")["data"]
    assert {r["branch"] for r in registers} == {b["uid"] for b in branches}  # a register each
    for branch in branches:
        detail = sb.ok("GET", f"/branches/{branch['uid']}")
        assert [r["uid"] for r in detail["cash_registers"]] == [r["uid"] for r in registers
                                                                if r["branch"] == branch["uid"]]
    one = sb.ok("GET", f"/cash-registers/{registers[0]['uid']}")
    assert one["branch"] == registers[0]["branch"] and "filter_uid" in one
    assert sb.get("/branches/1").status_code == 404


# --- baskets ------------------------------------------------------------------------------------------
def test_baskets_come_newest_first_with_pagination_meta(demo):
    sb = demo
    registers = register_of(sb)
    product = sb.ok("GET", "/products")["data"][0]
    for branch in sorted(registers) * 2:  # four more sales, alternating branches
        sb.control("/sale", {"cash_register": registers[branch], "lines": [{"product": product["uid"], "quantity": 1}]},
                   201)
    first = sb.ok("GET", "/baskets", params={"per-page": 2})
    meta = first["meta"]["pagination"]
    total = meta["total"]
    assert total >= 4 and meta["per_page"] == 2 and meta["current_page"] == 1
    assert meta["total_pages"] == math.ceil(total / 2) and len(first["data"]) == 2
    assert "page=2" in meta["links"]["next"]
    seen, page = [], first
    while True:
        seen += [b["uid"] for b in page["data"]]
        nxt = page["meta"]["pagination"]["links"].get("next")
        if not nxt:
            break
        query = {k: v[0] for k, v in parse_qs(urlsplit(nxt).query).items() if k not in ("accessToken", "client")}
        page = sb.ok("GET", "/baskets", params=query)
    assert len(seen) == total == len(set(seen))
    assert seen == sorted(seen, reverse=True)  # newest first: uids only go down
    newest = sb.ok("GET", f"/baskets/{seen[0]}")
    assert newest["uid"] == seen[0] and newest["canceled"] == 0 and isinstance(newest["crdate"], int)


def test_page_one_answers_500_while_no_page_works(demo):
    sb = demo
    quirk = sb.get("/baskets", page=1)
    assert quirk.status_code == 500  # as a third-party script observed [3p]
    plain = sb.get("/baskets", **{"per-page": 1})
    assert plain.status_code == 200
    links = plain.json()["meta"]["pagination"]["links"]
    # Links to page 1 leave `page` out (GUESS guesses.LINKS_OMIT_PAGE_ONE), so following them is safe.
    assert all(parse_qs(urlsplit(link).query).get("page") != ["1"] for link in links.values())
    assert sb.get("/baskets", page=2, **{"per-page": 1}).status_code == 200


def test_a_sale_lowers_the_stock_of_its_branch_and_shows_as_a_basket(empty):
    sb = empty
    made = make_catalogue(sb)
    registers = register_of(sb)
    here, there = sorted(registers)
    plain, cup, large = made["plain"]["uid"], made["cup"]["uid"], made["large"]
    for branch, count in ((here, 20), (there, 7)):
        sb.control("/stock", {"branch": branch, "product": plain, "quantity": count})
        sb.control("/stock", {"branch": branch, "product": cup, "product_variance": large, "quantity": count})
    before_here, before_there = sb.stock(here), sb.stock(there)

    lines = [{"product": plain, "quantity": 3},
             {"product": cup, "product_variance": large, "quantity": 2, "discount": 500}]
    basket = sb.control("/sale", {"cash_register": registers[here], "lines": lines}, 201)

    after_here, after_there = sb.stock(here), sb.stock(there)
    assert after_here[(plain, None)] == before_here[(plain, None)] - 3 == 17
    assert after_here[(cup, large)] == before_here[(cup, large)] - 2 == 18
    assert after_there == before_there  # the other branch is untouched
    assert sb.ok("GET", f"/products/{plain}")["quantity"] == 17 + 7  # GUESS: quantity sums the branches

    newest = sb.ok("GET", "/baskets")["data"][0]
    assert newest["uid"] == basket["uid"] and newest["cash_register"] == registers[here]
    assert newest["branch"] == here and isinstance(newest["crdate"], int)
    items = newest["basket_items"]  # GUESS guesses.LINES_KEY
    assert [(i["product"], i["product_variance"], i["quantity"]) for i in items] == [(plain, None, 3), (cup, large, 2)]
    for item in items:
        for name in ("selling_price", "discount", "total", "vat_amount"):
            assert isinstance(item[name], int), (name, item[name])
    # The test's own arithmetic: unit prices as created above (øre incl. VAT), 5,00 kr. off the cups.
    expected = 3 * 12500 + (2 * 5500 - 500)
    assert sum(i["total"] for i in items) == newest["total"] == expected == 48000
    # GUESS (guesses.VAT_FIELDS): VAT 25 % included; net = round(gross × 100 / 125).
    assert newest["vat_amount"] == sum(t - round(t * 100 / 125) for t in (37500, 10500)) == 9600


def test_api_baskets_are_idempotent_by_order_hash_and_cancel_restores_stock(empty):
    sb = empty
    made = make_catalogue(sb)
    registers = register_of(sb)
    branch = min(registers)
    plain = made["plain"]["uid"]
    sb.control("/stock", {"branch": branch, "product": plain, "quantity": 10})
    body = {"order_hash": f"{registers[branch]}-order-1001", "external_id": "order-1001",
            "cash_register": registers[branch],
            "creation_time": 1762160400, "type": 4,
            "basket_items": [{"product": plain, "quantity": 4, "selling_price": 11000.0, "tax": None, "discount": 0.0},
                             {"product": None, "quantity": 1, "selling_price": 4900, "name": "Shipping"}]}
    first = sb.ok("POST", "/baskets", 201, json=body)
    assert first["total"] == 4 * 11000 + 4900 and first["crdate"] == 1762160400
    again = sb.ok("POST", "/baskets", 200, json=body)  # GUESS guesses.ORDER_HASH_DEDUP
    assert again["uid"] == first["uid"] and sb.stock(branch)[(plain, None)] == 6
    canceled = sb.ok("PUT", f"/baskets/{first['uid']}/cancel", json={"woocommerce": 1})
    assert canceled["canceled"] == 1 and sb.stock(branch)[(plain, None)] == 10  # GUESS: stock comes back
    assert sb.ok("GET", f"/baskets/{first['uid']}")["canceled"] == 1


def test_a_till_sale_calls_the_inventory_hook(empty):
    sb = empty
    made = make_catalogue(sb)
    got: list[tuple[dict, object]] = []

    class Receiver(QuietHandler):
        def do_POST(self):  # noqa: N802
            query = parse_qs(urlsplit(self.path).query)
            got.append((query, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(200)
            self.end_headers()

    with serving(Receiver) as url:
        hook = f"{url}/?shopbox_hook_id=abc123"
        assert sb.control("/hooks", {"inventory_url": hook})["inventory_url"] == hook
        register = register_of(sb)[min(register_of(sb))]
        sb.control("/sale", {"cash_register": register, "lines": [
            {"product": made["cup"]["uid"], "product_variance": made["small"], "quantity": 2}]}, 201)
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.02)
    assert got, "the hook was not called"
    query, body = got[0]
    assert query["shopbox_hook_id"] == ["abc123"] and query["action"] == ["updateInventory"]
    # The array the plugin reads [3p]: product_id (the Shopbox uid), quantity sold, variance_id (the
    # variance's integration_number), variance_values (GUESS: value slugs).
    assert body == [{"product_id": made["cup"]["uid"], "quantity": 2, "variance_values": ["s"], "variance_id": 71}]
