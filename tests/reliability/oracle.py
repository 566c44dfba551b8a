"""What Fortnox must hold, worked out from the shop's raw JSON with arithmetic written here.

The reliability suites compare the target with these expectations. Nothing here imports the
package under test (no mapping, no model, no writer): an oracle that computed its expectation with
the code it checks would agree with that code's mistakes. The rules are the integration's contract
as a bookkeeper states it:

* every SKU of the shop is one Fortnox article: a simple product's SKU, each variation's own SKU;
  a record the sync refuses must be in the sync log with a reason — in these suites, whose shops
  hold only valid products, any refusal is itself a difference;
* the article's Description is the name as plain text (a variation: its product's name and its
  options' values), Active when the product (and the variation) is published, Weight in grams =
  kg × 1000, VAT = the rate of its tax class in the shop's own /taxes;
* price list A holds the price without VAT: regular price ÷ (1 + rate), rounded to öre, half up;
* each order in a synced status is one document whose rows bill each SKU's quantity for the line's
  amount, whose shipping rows bill the shop's ``shipping_total`` with its ``shipping_tax``, whose
  total less Fortnox's whole-krona ``RoundOff`` is the shop's ``total`` with VAT ``total_tax``, and
  whose customer is the buyer (e-mail).
"""

from __future__ import annotations

import html
import re
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal

import requests

from conftest import FORTNOX_TOKEN
from flowkit import fx, fx_all, woo_get

CENT = Decimal("0.01")
TAG = re.compile(r"<[^>]*>")


def cents(value) -> Decimal:
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


def without_vat(gross: Decimal, rate: Decimal) -> Decimal:
    """A price with VAT at ``rate`` % as the price without: gross ÷ (1 + rate), to the öre, half up."""
    return cents(gross / (1 + rate / 100))


def plain(name: str) -> str:
    """A shop name as the text a bookkeeper reads: no tags, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(TAG.sub(" ", name or "")).split())


def tax_rates(woo: str) -> dict[str, Decimal]:
    """The shop's rates by product tax class ('' is the standard class), from its own /taxes."""
    rates = {}
    for rate in woo_get(woo, "/taxes"):
        cls = "" if rate["class"] == "standard" else rate["class"]
        rates.setdefault(cls, Decimal(rate["rate"]))
    return rates


def shop_units(woo: str) -> dict[str, dict]:
    """SKU -> the article Fortnox must hold, from the raw products and variations of the shop."""
    rates = tax_rates(woo)
    units: dict[str, dict] = {}
    for product in woo_get(woo, "/products"):
        if product["type"] == "simple":
            items = [(product, product["name"], product["status"] == "publish", product["tax_class"])]
        elif product["type"] == "variable":
            items = []
            for var in woo_get(woo, f"/products/{product['id']}/variations"):
                if var["sku"] and var["sku"] != product["sku"]:  # a SKU of its own, not its parent's
                    name = " ".join([product["name"], *(a["option"] for a in var["attributes"])])
                    cls = product["tax_class"] if var["tax_class"] in ("parent", None) else var["tax_class"]
                    items.append((var, name, product["status"] == "publish" and var["status"] == "publish", cls))
        else:
            continue
        for raw, name, active, cls in items:
            rate = rates[cls]
            unit = {"Description": plain(name)[:200], "Active": active, "VAT": rate, "product": product["id"],
                    "source": f"product {product['id']}" + (f" variation {raw['id']}" if raw is not product else "")}
            if raw.get("weight"):
                unit["Weight"] = (Decimal(raw["weight"]) * 1000).quantize(Decimal(1), ROUND_HALF_UP)
            if raw.get("regular_price"):
                unit["price"] = without_vat(Decimal(raw["regular_price"]), rate)
            units[raw["sku"]] = unit
    return units


def refusals(log) -> dict[str, str]:
    """record key -> reason of every record the sync log says was refused or failed (a DataFrame)."""
    if log is None or log.empty:
        return {}
    bad = log[log["outcome"].isin(["failed", "refused"])]
    return {str(k): str(e) for k, e in zip(bad["record_key"], bad["error"])}


def article_problems(fortnox: str, units: dict[str, dict], log=None) -> list[str]:
    """Every difference between the shop's SKUs and Fortnox's articles and price list A."""
    problems = []
    numbers = {a["ArticleNumber"] for a in fx_all(fortnox, "articles", "Articles")}
    refused = refusals(log)
    for sku, want in units.items():
        if sku not in numbers:
            # The sync log names a record by its SKU, a product without one by its id ("product 12",
            # "parent:12"), or says which it refused in the reason.
            keys = {sku, f"product {want['product']}", f"parent:{want['product']}"}
            why = next((r for k, r in refused.items() if k in keys or sku in r or want["source"] in r), None)
            problems.append(f"{sku} ({want['source']}): " + (f"refused: {why}" if why else "lost (missing in "
                                                                                            "Fortnox, no reason logged)"))
            continue
        got = fx(fortnox, "GET", f"/articles/{sku}")["Article"]
        for name in ("Description", "Active", "VAT", "Weight"):
            if name not in want:
                continue
            have = got.get(name)
            same = (Decimal(str(have)) == want[name]) if isinstance(want[name], Decimal) and have is not None \
                else have == want[name]
            if not same:
                problems.append(f"{sku}.{name}: shop gives {want[name]!r}, Fortnox has {have!r}")
        if "price" in want:
            have = _price_a(fortnox, sku)
            if have != want["price"]:
                problems.append(f"{sku}.price A: shop gives {want['price']} without VAT, Fortnox has {have}")
    return problems


def _price_a(fortnox: str, sku: str) -> Decimal | None:
    """The article's price in price list A, or None when Fortnox has none (404)."""
    resp = requests.get(f"{fortnox}/3/prices/A/{sku}", headers={"Authorization": f"Bearer {FORTNOX_TOKEN}"}, timeout=10)
    if resp.status_code == 404:
        return None
    resp.raise_for_status()
    return Decimal(str(resp.json()["Price"]["Price"]))


# -- orders ------------------------------------------------------------------------------------------

def _row_amounts(row: dict, included: bool) -> tuple[Decimal, Decimal]:
    """(amount without VAT, VAT) of one Fortnox row, as Fortnox totals it: price × delivered quantity."""
    amount = cents(Decimal(str(row.get("Price") or 0)) * Decimal(str(row.get("DeliveredQuantity") or 0)))
    rate = Decimal(str(row.get("VAT") or 0))
    if included:
        vat = cents(amount * rate / (100 + rate))
        return amount - vat, vat
    return amount, cents(amount * rate / 100)


def document_problems(woo_order: dict, doc: dict, customer: dict | None) -> list[str]:
    """A Fortnox order or invoice against the WooCommerce order it books."""
    ref = f"shop:{woo_order['id']}"
    included = bool(doc.get("VATIncluded"))
    rows = doc.get("OrderRows") or doc.get("InvoiceRows") or []
    problems = []
    charged = Decimal(str(doc["Total"])) - Decimal(str(doc["RoundOff"]))
    if charged != Decimal(woo_order["total"]):
        problems.append(f"{ref}: Fortnox total {charged} (less RoundOff) != shop total {woo_order['total']}")
    if Decimal(str(doc["TotalVAT"])) != Decimal(woo_order["total_tax"]):
        problems.append(f"{ref}: Fortnox VAT {doc['TotalVAT']} != shop total_tax {woo_order['total_tax']}")
    want_qty: Counter = Counter()
    want_amount: Counter = Counter()
    for li in woo_order["line_items"]:
        want_qty[li["sku"]] += Decimal(str(li["quantity"]))
        want_amount[li["sku"]] += Decimal(li["total"]) + (Decimal(li["total_tax"]) if included else 0)
    got_qty: Counter = Counter()
    got_amount: Counter = Counter()
    for r in rows:
        if r.get("ArticleNumber"):
            got_qty[r["ArticleNumber"]] += Decimal(str(r.get("DeliveredQuantity")))
            got_amount[r["ArticleNumber"]] += cents(Decimal(str(r["Price"])) * Decimal(str(r["DeliveredQuantity"])))
    if dict(want_qty) != dict(got_qty):
        problems.append(f"{ref}: quantities {dict(got_qty)} != shop {dict(want_qty)}")
    if {k: cents(v) for k, v in want_amount.items()} != {k: cents(v) for k, v in got_amount.items()}:
        problems.append(f"{ref}: row amounts {dict(got_amount)} != shop lines {dict(want_amount)}")
    titles = {s["method_title"] for s in woo_order.get("shipping_lines") or []}
    net = vat = Decimal(0)
    for r in rows:
        if not r.get("ArticleNumber") and r.get("Description") in titles:
            n, v = _row_amounts(r, included)
            net, vat = net + n, vat + v
    if (net, vat) != (Decimal(woo_order["shipping_total"]), Decimal(woo_order["shipping_tax"])):
        problems.append(f"{ref}: shipping rows {net} + VAT {vat} != shop shipping {woo_order['shipping_total']} "
                        f"+ VAT {woo_order['shipping_tax']}")
    email = (woo_order.get("billing") or {}).get("email", "").lower()
    if email and (customer is None or (customer.get("Email") or "").lower() != email):
        problems.append(f"{ref}: customer {customer and customer.get('Email')!r} is not the buyer {email!r}")
    return problems


def duplicates(values) -> dict:
    return {k: n for k, n in Counter(values).items() if n > 1}


def order_problems(woo: str, fortnox: str, resource: str, statuses: tuple[str, ...]) -> tuple[list[str], int]:
    """Every shop order in ``statuses`` is exactly one Fortnox document that books it; (problems, dupes)."""
    wrapper = "Orders" if resource == "orders" else "Invoices"
    docs = fx_all(fortnox, resource, wrapper)
    dupes = duplicates(d.get("ExternalInvoiceReference1") for d in docs)
    problems = [f"{ref}: {n} documents" for ref, n in dupes.items()]
    by_ref = {d.get("ExternalInvoiceReference1"): d for d in docs}
    customers: dict[str, dict] = {}
    for order in woo_get(woo, "/orders"):
        if order["status"] not in statuses:
            continue
        ref = f"shop:{order['id']}"
        if ref not in by_ref:
            problems.append(f"{ref}: missing in Fortnox {resource}")
            continue
        doc = fx(fortnox, "GET", f"/{resource}/{by_ref[ref]['DocumentNumber']}")[wrapper[:-1]]
        number = doc.get("CustomerNumber")
        if number and number not in customers:
            customers[number] = fx(fortnox, "GET", f"/customers/{number}")["Customer"]
        problems += document_problems(order, doc, customers.get(number))
    return problems, sum(n - 1 for n in dupes.values())
