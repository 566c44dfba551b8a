"""The shop's organisation — shop (client), branches, cash registers, staff, payment types, tax rates —
and its read-only routes. The same in the empty and in the demo shop: a Shopbox shop always has them.

Evidence [3p]: ``GET /clients`` [Flutter ``getClientsURL``]; ``GET /branches`` (``client=``), ``GET
/branches/{uid}`` with ``cash_registers`` [PHP plugin ``getBranches``, ``getBranchDetails()->cash_registers``];
``GET /cash-registers`` [sales-sync script ``probe_endpoints``], ``GET /cash-registers/{uid}`` with
``filter_uid`` [PHP plugin ``getCashRegisterDetails()->filter_uid``]; ``GET /staff`` [sales-sync script];
``GET /payment-types`` (``per-page=-1``) [PHP plugin]; the tax object ``tax0`` {uid, name, enabled,
percentage, client, code, …} [3p: Dart model]. Ids are integers (client 5661, branch 6095 in the KDS app).
Each register belongs to one branch, and the branch is where its sales draw stock [partner: Rackbeat maps
"one location per cash system" to a Rackbeat location]. Every other field is a GUESS
(guesses.BRANCH_LIST_HAS_REGISTERS, CURRENCY). The ids and names below are the sandbox's own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from integrations_dagster.sandbox.rest import lookup
from integrations_dagster.sandbox.shopbox import guesses
from integrations_dagster.sandbox.shopbox.wire import BASE, COPENHAGEN, handler, not_found, paged, stamps

OPENED = int(datetime(2024, 1, 15, 9, 0, tzinfo=COPENHAGEN).timestamp())
SHOP_NAME = "Kaffe & Kage ApS"
# (uid, name, address, zip, city, register uid, register name, menu filter uid)
BRANCHES = [
    (6101, "Nørrebro", "Nørrebrogade 12", "2200", "København N", 7101, "Kasse Nørrebro", 7201),
    (6102, "Aarhus C", "Søndergade 5", "8000", "Aarhus C", 7102, "Kasse Aarhus", 7202),
]
STAFF = [(8101, "Mette Jensen"), (8102, "Jonas Holm")]
PAYMENT_TYPES = [(1, "Kontant"), (2, "Dankort"), (3, "MobilePay"), (4, "Webshop")]


class Org:
    def __init__(self, client: int) -> None:
        self.client = client
        self.branches = {uid: {"uid": uid, "name": name, "client": client, "address": address, "zip": zip_code,
                               "city": city, "country": "DK", **stamps(OPENED, OPENED)}
                         for uid, name, address, zip_code, city, *_ in BRANCHES}
        self.registers = {reg: {"uid": reg, "name": reg_name, "branch": uid, "client": client, "filter_uid": menu,
                                "is_active": 1, **stamps(OPENED, OPENED)}
                          for uid, _, _, _, _, reg, reg_name, menu in BRANCHES}
        self.staff = {uid: {"uid": uid, "name": name, "client": client, **stamps(OPENED, OPENED)}
                      for uid, name in STAFF}
        self.payment_types = {uid: {"uid": uid, "name": name, "client": client} for uid, name in PAYMENT_TYPES}
        self.taxes = {uid: {"uid": uid, "name": name, "enabled": 1, "percentage": pct, "client": client,
                            "standard_tax_codes": None, "code": None, **stamps(OPENED, OPENED)}
                      for uid, name, pct in guesses.TAXES}

    def shop(self) -> dict[str, Any]:
        return {"uid": self.client, "name": SHOP_NAME, "currency": guesses.CURRENCY, "country": "DK",
                **stamps(OPENED, OPENED)}

    def branch_detail(self, uid: int) -> dict[str, Any] | None:
        branch = self.branches.get(uid)
        if branch is None:
            return None
        return {**branch, "cash_registers": [r for r in self.registers.values() if r["branch"] == uid]}

    def routes(self) -> list[Route]:
        @handler
        async def clients(request: Request) -> Response:
            return paged(request, [self.shop()])

        @handler
        async def branches(request: Request) -> Response:
            rows = [self.branch_detail(uid) if guesses.BRANCH_LIST_HAS_REGISTERS else b
                    for uid, b in self.branches.items()]
            return paged(request, rows)

        branch = handler(lookup(self.branch_detail, "uid", lambda: not_found("Branch")))

        @handler
        async def registers(request: Request) -> Response:
            wanted = request.query_params.get("branch")  # GUESS: a branch filter
            rows = [r for r in self.registers.values() if wanted in (None, "") or str(r["branch"]) == wanted]
            return paged(request, rows)

        register = handler(lookup(self.registers.get, "uid", lambda: not_found("Cash register")))

        @handler
        async def staff(request: Request) -> Response:
            return paged(request, self.staff.values())

        @handler
        async def payment_types(request: Request) -> Response:
            return paged(request, self.payment_types.values())

        @handler
        async def taxes(request: Request) -> Response:
            return paged(request, self.taxes.values())  # GUESS: the path (tax0 objects are [3p])

        return [
            Route(f"{BASE}/clients", clients, methods=["GET"]),
            Route(f"{BASE}/branches", branches, methods=["GET"]),
            Route(f"{BASE}/branches/{{uid:int}}", branch, methods=["GET"]),
            Route(f"{BASE}/cash-registers", registers, methods=["GET"]),
            Route(f"{BASE}/cash-registers/{{uid:int}}", register, methods=["GET"]),
            Route(f"{BASE}/staff", staff, methods=["GET"]),
            Route(f"{BASE}/payment-types", payment_types, methods=["GET"]),
            Route(f"{BASE}/taxes", taxes, methods=["GET"]),
        ]
