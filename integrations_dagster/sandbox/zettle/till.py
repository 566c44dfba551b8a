"""What a person does at the till, as control routes (test instruments) under ``/__sandbox__/zettle``.

* ``POST /__sandbox__/zettle/sale`` ``{"lines": [{"productUuid", "variantUuid", "quantity"}], "refund": false,
  "refundsPurchaseUUID1"?, "timestamp"?}`` records a purchase and, for tracked products, the stock
  movement the POS makes: STORE→SOLD for a sale, SOLD→STORE for a refund ("automatically decreases the
  stock when a purchase is made" [doc: …/concepts/how-inventories-work]; a refund line carries
  ``fromLocationUuid``/``toLocationUuid`` [doc: purchase.adoc §example2]).
* ``GET /__sandbox__/zettle/ledger[?productUuid=]`` every stock movement (balances are their sums).
* ``POST /__sandbox__/zettle/inventory-limit`` ``{"per_second", "burst"}`` changes the inventory rate
  limit (0 = off); a reset restores the vendor default.

The purchase's arithmetic follows the vendor examples [derived: purchase.adoc §example2]: ``unitPrice``
is the variant's gross price (prices include VAT [seed 004; digest §6.1]); ``quantity`` is a string,
negative on a refund with a positive ``unitPrice``; ``rowTaxableAmount`` = line gross / (1 + rate)
rounded half up (10000 @ 12 % → 8929); ``amount`` = Σ quantity × unitPrice; ``vatAmount`` = amount −
Σ rowTaxableAmount (20000 → 2142); ``groupedVatAmounts`` holds the **gross** per rate, as in the example.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations_dagster.sandbox.zettle import guesses
from integrations_dagster.sandbox.zettle.events import Publisher, purchase_payload
from integrations_dagster.sandbox.zettle.inventory import TokenBucket
from integrations_dagster.sandbox.zettle.products import Catalog
from integrations_dagster.sandbox.zettle.purchases import Ledger, public
from integrations_dagster.sandbox.zettle.stock import Stock
from integrations_dagster.sandbox.zettle.wire import (COUNTRY, CURRENCY, Refusal, atomic, epoch_ms, handler,
                                                      invalid, json_body, now, parse_time, short_id, stamp,
                                                      uuid1_at)

PREFIX = "/__sandbox__/zettle"


def _vat_number(rate: Decimal) -> int | float:
    """Purchase ``vatPercentage`` is a number (``12``, ``16.0``) [doc: purchase.adoc]."""
    return int(rate) if rate == rate.to_integral_value() else float(rate)


class Till:
    def __init__(self, cat: Catalog, stock: Stock, ledger: Ledger, events: Publisher | None = None) -> None:
        self.cat, self.stock, self.ledger = cat, stock, ledger
        self.events = events  # PurchaseCreated, sent after the commit (events.py)

    def sell(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("lines"), list) or not body["lines"]:
            raise invalid("lines must be a non-empty list")
        refund = bool(body.get("refund", False))
        moment = parse_time(body["timestamp"]) if body.get("timestamp") else now()
        with atomic(self.ledger.store):
            number = self.ledger.count() + 1
            lines = [self._line(i, line, refund) for i, line in enumerate(body["lines"])]
            purchase_uuid = uuid1_at(moment, number, node=0x0242AC130003)
            amount = sum(line["_gross"] for line in lines)
            grouped: dict[str, int] = defaultdict(int)
            for line in lines:
                grouped[f"{float(line['vatPercentage']):.1f}"] += line["_gross"]
            purchase = {
                "source": "POS", "purchaseUUID": short_id(purchase_uuid), "purchaseUUID1": purchase_uuid,
                "amount": amount, "vatAmount": amount - sum(line["rowTaxableAmount"] for line in lines),
                "country": COUNTRY, "currency": CURRENCY, "timestamp": stamp(moment), "created": stamp(moment),
                "purchaseNumber": number, "globalPurchaseNumber": number,
                "userDisplayName": guesses.TILL_USER_DISPLAY_NAME,
                "products": [{k: v for k, v in line.items() if not k.startswith("_")} for line in lines],
                "discounts": [],
                "payments": [{"uuid": uuid1_at(moment, number, node=0x0242AC130004), "amount": amount,
                              "type": guesses.TILL_PAYMENT_TYPE, "attributes": {}}],
                "receiptCopyAllowed": True, "references": {"checkoutUUID": uuid1_at(moment, number, node=0x0242AC130005)},
                "refunded": False, "refund": refund, "groupedVatAmounts": dict(grouped),
                "_epochMs": epoch_ms(moment),
            }
            if refund and body.get("refundsPurchaseUUID1"):
                self._mark_refunded(purchase, body["refundsPurchaseUUID1"])
            self._move_stock(lines, refund, moment)  # InventoryBalanceChanged via the stock's events
            self.ledger.add(purchase)
            if self.events is not None:  # "purchase finalised, receipt created" [doc: api-reference §Supported events]
                self.events.emit("PurchaseCreated", purchase_payload(public(purchase), purchase["_epochMs"]))
        return public(purchase)

    def _line(self, i: int, line: Any, refund: bool) -> dict[str, Any]:
        where = f"lines[{i}]"
        if not isinstance(line, dict):
            raise invalid(f"{where} must be an object")
        product = self.cat.require(str(line.get("productUuid")))
        variant = next((v for v in product["variants"] if v["uuid"] == line.get("variantUuid")), None)
        quantity = line.get("quantity", 1)
        if variant is None or not variant.get("price") or not isinstance(quantity, int) or quantity <= 0:
            raise invalid(f"{where}: unknown variant, variant without price, or quantity not a positive integer")
        signed = -quantity if refund else quantity
        unit_price = variant["price"]["amount"]
        rate = Decimal(str(variant.get("vatPercentage") or product.get("vatPercentage") or "0"))
        gross = unit_price * signed
        taxable = int((Decimal(gross) * 100 / (100 + rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        out = {"id": str(i), "quantity": str(signed), "productUuid": product["uuid"], "variantUuid": variant["uuid"],
               "vatPercentage": _vat_number(rate), "unitPrice": unit_price, "rowTaxableAmount": taxable,
               "name": product["name"], "variantName": variant.get("name") or "", "description": "",
               "sku": variant.get("sku"), "barcode": variant.get("barcode"), "type": "PRODUCT",
               "libraryProduct": True, "_gross": gross, "_quantity": quantity}
        if self.stock.tracked(product["uuid"]):
            store, sold = self.stock.default("STORE"), self.stock.default("SOLD")
            out["fromLocationUuid"], out["toLocationUuid"] = (sold, store) if refund else (store, sold)
        return out

    def _move_stock(self, lines: list[dict], refund: bool, moment) -> None:
        moves = [{"productUuid": line["productUuid"], "variantUuid": line["variantUuid"],
                  "change": line["_quantity"], "from": line["fromLocationUuid"], "to": line["toLocationUuid"]}
                 for line in lines if "fromLocationUuid" in line]
        if moves:
            variants = {p["uuid"]: {v["uuid"] for v in p["variants"]} for p in self.cat.all()}
            self.stock.move(moves, variants, moment=moment)

    def _mark_refunded(self, purchase: dict[str, Any], original_uuid: str) -> None:
        original = self.ledger.get(original_uuid)
        if original is None:
            raise Refusal(404, f"Purchase {original_uuid} not found", guesses.NOT_FOUND_ERROR_TYPE)
        purchase["refundsPurchaseUUID"] = original["purchaseUUID"]
        purchase["refundsPurchaseUUID1"] = original["purchaseUUID1"]
        original["refunded"] = True  # the original changes after the fact [doc: purchase.adoc §example2]
        original.setdefault("refundedByPurchaseUUIDs", []).append(purchase["purchaseUUID"])
        original.setdefault("refundedByPurchaseUUIDs1", []).append(purchase["purchaseUUID1"])
        self.ledger.put(original)


def routes(till: Till, bucket: TokenBucket) -> list[Route]:
    @handler
    async def sale(request: Request) -> Response:
        return JSONResponse(till.sell(await json_body(request)), status_code=201)

    async def ledger(request: Request) -> Response:
        return JSONResponse(till.stock.ledger(request.query_params.get("productUuid")))

    async def inventory_limit(request: Request) -> Response:
        body = await request.json()
        bucket.rate = float(body.get("per_second", bucket.rate))
        bucket.burst = int(body.get("burst", bucket.burst))
        bucket.clear()
        return JSONResponse({"per_second": bucket.rate, "burst": bucket.burst})

    return [Route(f"{PREFIX}/sale", sale, methods=["POST"]),
            Route(f"{PREFIX}/ledger", ledger, methods=["GET"]),
            Route(f"{PREFIX}/inventory-limit", inventory_limit, methods=["POST"])]
