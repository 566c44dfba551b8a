"""Exporter: products as Specter articles, orders (with their customers) as Specter orders.

Role: decide what to send for each change, send it through the adapter, and say what happened
(:class:`Outcome`), one per change. What the fields are is :mod:`.mapper`'s business.

**Articles** (``newArticleSubmit``, up to ``rows_per_submit`` rows a call [3p: PrestaShop sends ≤ 100]):

* one article per sellable unit (a variable product's variations each become one);
* a unit the id map knows is *updated* with ``forceArticleUpdate=1`` [3p: PrestaShop always sends it],
  sending only the fields the flow owns (``owns``): a field left out of the row is left as Specter has it
  (the sandbox keeps an omitted field; an empty text clears it) — so a flow owning everything but
  ``price`` never sends ``priceExclVAT_N``. A unit whose owned fields are what Specter last accepted is
  not sent at all (only the shop's stock moved, say);
* a unit the id map does not know is *created* with ``forceArticleUpdate=0`` — owned fields, its name
  (a new article needs one) and its initial stock — which Specter refuses for an article it already has
  (sandbox guess). There is no article lookup in the API, so that refusal is how an existing article is
  found: the unit is then sent again with ``forceArticleUpdate=1`` and the owned fields only, and is
  *linked*. Nothing of the ERP's own is overwritten, and a lost answer costs one more request;
* a submit is all or nothing (sandbox guess: one bad row refuses it): a refused submit of several rows
  is halved until the refused row is alone, so one bad record fails alone and the rest land. Article
  numbers Specter refuses [partner: Abicart] are caught before sending, with the reason.

**Orders** (``newCustomerSubmit``, then ``newOrderSubmit``):

* the customer: the id map's, else ``newCustomerSubmit``, which answers the id of the customer with the
  same e-mail address (or org number) or of a new one [3p: PrestaShop SpecterCustomerHandler; partner:
  Abicart matching]; ``forceCustomerUpdate=1`` only with the option ``update_customers``;
* ``externalOrderNo`` is the canonical order key; rows exclude VAT with their VAT percent; shipping,
  fees and discounts are rows of their own (a discount per VAT rate, negative) [3p: PrestaShop
  buildOrderData], on the articles the options name or as free-text rows (an empty article number:
  sandbox guess after PrestaShop's possibly empty freight article); an "Öresutjämning" row at 0 %
  makes Specter's total — Σ price × quantity × (1 + VAT) rounded once (sandbox guess) — the shop's total
  to the öre; ``webshopId`` (multishop, API v2 [partner: Vendre]) from the option ``webshop_id``;
* **idempotent**: Specter refuses a second order with the same ``externalOrderNo`` unless told to ignore
  the control [3p: PrestaShop SPECTER_IGNORE, never sent here; the refusal itself is the sandbox's
  guess]. So a lost answer is answered by sending again, and a refusal that quotes our external order
  number means the order is there: it is bound to the order number the message names. There is no other
  way to find an order by its external number (the orders feed reports status changes only).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterator

from integrations_dagster.connectors.base import Change, Outcome, WriteContext
from integrations_dagster.connectors.http import ApiError, TransientError
from integrations_dagster.connectors.specter import mapper
from integrations_dagster.connectors.specter.adapter import Adapter, Answer, Refused, number, unexpected
from integrations_dagster.model import Order, OrderLine, Product
from integrations_dagster.model.text import shown


def _rates_text(rates: tuple[Decimal, ...]) -> str:
    return ", ".join(mapper.vat_text(r) for r in rates)


@dataclass(eq=False)
class _Unit:
    sku: str
    article_no: str
    parent_key: str | None
    fields: dict[str, str]  # what the first attempt sends
    link: dict[str, str] | None = None  # creating: what a link sends (the article exists already)
    action: str = ""
    error: str | None = None


@dataclass
class _Plan:
    change: Change
    units: list[_Unit] = field(default_factory=list)
    skipped: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # sku -> (article, parent)
    warnings: list[str] = field(default_factory=list)


class ArticleExporter:
    def __init__(self, adapter: Adapter, ctx: WriteContext, rows_per_submit: int,
                 vat_rates: tuple[Decimal, ...]) -> None:
        self.adapter, self.ctx, self.rows, self.vat_rates = adapter, ctx, max(1, rows_per_submit), vat_rates

    def write(self, changes: list[Change]) -> Iterator[Outcome]:
        chunk: list[_Plan] = []
        for change in changes:
            plan = self._plan(change)
            if isinstance(plan, Outcome):
                yield plan
                continue
            chunk.append(plan)
            if sum(len(p.units) for p in chunk) >= self.rows:
                yield from self._land(chunk)
                chunk = []
        yield from self._land(chunk)

    # -- what to send ----------------------------------------------------------------------------
    def _plan(self, change: Change) -> _Plan | Outcome:
        product = change.record
        if not isinstance(product, Product):
            return Outcome(change.key, ok=True, action="skipped", error="articles are not deleted in Specter")
        previous = ({u.sku: u for u in change.previous.sellable_units()} if isinstance(change.previous, Product)
                    else {})
        plan = _Plan(change)
        owns = self.ctx.owns
        for unit in product.sellable_units():
            try:
                if problem := mapper.article_number_problem(unit.sku):
                    raise ValueError(problem)
                fields, notes = mapper.article_fields(unit)
                bound = self.ctx.binder.external_id("products", unit.sku)
                send = mapper.owned(fields, owns, creating=not bound)
                self._check_vat(unit.sku, send)
            except ValueError as exc:
                return Outcome(change.key, ok=False, action="failed", error=str(exc))
            except ArithmeticError:  # a price past Decimal's precision (1e400): that record alone fails
                return Outcome(change.key, ok=False, action="failed",
                               error=f"SKU {unit.sku}: its price is not a number Specter can hold")
            plan.warnings += notes
            if bound:
                before = _owned_fields(previous.get(unit.sku), owns)
                if before is not None and before == send:
                    plan.skipped[unit.sku] = (bound, unit.parent_key)
                    continue
                plan.units.append(_Unit(unit.sku, bound, unit.parent_key, send))
            else:
                new = {k: v for k, v in send.items() if v != ""}  # (an empty text clears; nothing to clear yet)
                plan.units.append(_Unit(unit.sku, unit.sku, unit.parent_key, {**new, **mapper.initial_stock(unit)},
                                        link=mapper.owned(fields, owns)))
        if not plan.units:
            return self._outcome(plan)
        return plan

    def _check_vat(self, sku: str, fields: dict[str, str]) -> None:
        if "vatPercent" in fields and Decimal(fields["vatPercent"]) not in self.vat_rates:
            raise ValueError(f"SKU {shown(sku)}: VAT {fields['vatPercent']} % is not one of Specter's VAT rates "
                             f"({_rates_text(self.vat_rates)} %)")

    # -- sending ---------------------------------------------------------------------------------
    def _land(self, plans: list[_Plan]) -> Iterator[Outcome]:
        if not plans:
            return
        units = [u for p in plans for u in p.units]
        updates = [u for u in units if u.link is None]
        creates = [u for u in units if u.link is not None]
        for start in range(0, len(updates), self.rows):
            self._submit(updates[start:start + self.rows], force=True, action="updated")
        for start in range(0, len(creates), self.rows):
            self._submit(creates[start:start + self.rows], force=False, action="created")
        for unit in creates:
            if unit.error is not None:
                self._link(unit)
        for plan in plans:
            yield self._outcome(plan)

    def _submit(self, units: list[_Unit], *, force: bool, action: str) -> None:
        """Send ``units`` in one submit; a refused submit of several rows is halved until the refused
        row is alone (the submit is atomic)."""
        form = {"forceArticleUpdate": "1" if force else "0",
                **mapper.article_rows([(u.article_no, u.fields) for u in units])}
        try:
            answer = self.adapter.post_again("newArticleSubmit", units[0].article_no, form)
        except TransientError:
            raise  # not the records' fault: the run gives up and they are read again
        except Refused as exc:
            if len(units) > 1:
                half = len(units) // 2
                self._submit(units[:half], force=force, action=action)
                self._submit(units[half:], force=force, action=action)
                return
            units[0].error = exc.message
            return
        if answer.field(0) != "1":
            raise unexpected("newArticleSubmit", answer)
        for unit in units:
            unit.action, unit.error = action, None

    def _link(self, unit: _Unit) -> None:
        """A create Specter refused: the article may exist (there is no lookup). Sent again as an
        update of the owned fields only; accepted, it is linked."""
        refused = unit.error
        assert unit.link is not None
        form = {"forceArticleUpdate": "1", **mapper.article_rows([(unit.article_no, unit.link)])}
        try:
            self.adapter.post_again("newArticleSubmit", unit.article_no, form)
        except TransientError:
            raise
        except Refused as exc:
            unit.error = refused if exc.message == refused else f"{refused}; sent as an update: {exc.message}"
            return
        unit.action, unit.error = "linked", None

    def _outcome(self, plan: _Plan) -> Outcome:
        change = plan.change
        bindings = dict(plan.skipped)
        bindings.update({u.sku: (u.article_no, u.parent_key) for u in plan.units if u.error is None})
        failed = next((u for u in plan.units if u.error is not None), None)
        if failed is not None:
            return Outcome(change.key, ok=False, action="failed", error=f"SKU {shown(failed.sku)}: {failed.error}",
                           bindings=bindings)
        actions = [u.action for u in plan.units]
        action = next((a for a in ("created", "updated", "linked") if a in actions), "skipped")
        product = change.record
        target = bindings.get(product.sku or "", (None, None))[0] if isinstance(product, Product) \
            and product.kind == "simple" else None
        return Outcome(change.key, ok=True, action=action, target_id=target, bindings=bindings,
                       warnings=tuple(plan.warnings))


def _owned_fields(unit, owns: frozenset[str] | None) -> dict[str, str] | None:
    """The owned row fields of what Specter last accepted (None: unknown, send)."""
    if unit is None:
        return None
    try:
        return mapper.owned(mapper.article_fields(unit)[0], owns)
    except ValueError:
        return None


# -- orders ------------------------------------------------------------------------------------------

class OrderExporter:
    def __init__(self, adapter: Adapter, ctx: WriteContext, vat_rates: tuple[Decimal, ...]) -> None:
        self.adapter, self.ctx, self.vat_rates = adapter, ctx, vat_rates
        options = ctx.options
        self.webshop = options.get("webshop_id")
        self.stock_site = options.get("stock_site_id")
        self.shipping_article = str(options.get("shipping_article") or "").strip()
        self.discount_article = str(options.get("discount_article") or "").strip()
        self.refuse_unmatched = options.get("lines_without_article", "row") == "refuse"
        self.update_customers = bool(options.get("update_customers", False))

    def write(self, changes: list[Change]) -> Iterator[Outcome]:
        for change in changes:
            if not isinstance(change.record, Order):
                yield Outcome(change.key, ok=True, action="skipped", error="orders are not deleted in Specter")
                continue
            yield self._order(change.record)

    def _order(self, order: Order) -> Outcome:
        key = order.key
        known = self.ctx.binder.external_id("orders", key)
        if known:
            return Outcome(key, ok=True, action="skipped", target_id=known)
        warnings: list[str] = []
        try:
            if self.webshop is not None and self.adapter.version != 2:
                raise ValueError(f"webshop_id {self.webshop} (multishop) needs Specter's API v2: give the connection "
                                 "its integration_key")
            customer_id = self._customer(order, warnings)
            rows = self._rows(order, warnings)
            form = mapper.order_form(order, customer_id, rows)
            if self.stock_site is not None:
                form["stocksiteid"] = str(self.stock_site)
            query = {"webshopId": str(self.webshop)} if self.webshop is not None else {}
            answer, action, refusal = self._submit(customer_id, form, query, key)
            if refusal is not None:  # the order is there already
                there = _existing_order(refusal, key)
                if not there:
                    warnings.append(f"Specter has the order but did not name its number ({refusal.message})")
                elif action == "linked":
                    warnings.append(f"already in Specter as order {there}")
                return Outcome(key, ok=True, action=action, target_id=there or None,
                               bindings={order.customer.key: (customer_id, None)}, binding_entity="customers",
                               warnings=tuple(warnings))
            assert answer is not None
            order_no = answer.field(1).strip()
            if answer.field(0) != "1" or not order_no:
                raise unexpected("newOrderSubmit", answer)
        except TransientError:
            raise  # not the order's fault: the run gives up and the order is read again
        except (ApiError, ValueError) as exc:
            return Outcome(key, ok=False, action="failed", error=str(exc))
        if differs := _total_differs(answer.field(2), order):
            warnings.append(differs)
        return Outcome(key, ok=True, action="created", target_id=order_no,
                       bindings={order.customer.key: (customer_id, None)}, binding_entity="customers",
                       warnings=tuple(warnings))

    def _submit(self, customer_id: str, form: dict[str, str], query: dict[str, str],
                key: str) -> tuple[Answer | None, str, Refused | None]:
        """``newOrderSubmit``, sent again while its answer is lost. A refusal quoting our external order
        number says the order is there: ours from an earlier attempt of this call ("created"), or from
        before ("linked"). Returns (answer, action, that refusal)."""
        lost = False
        for attempt in range(self.adapter.retry.attempts):
            try:
                return self.adapter.post("newOrderSubmit", customer_id, form, **query), "created", None
            except TransientError:
                if attempt + 1 >= self.adapter.retry.attempts:
                    raise
                lost = True
                time.sleep(self.adapter.retry.delay(attempt, None))
            except Refused as exc:
                if _existing_order(exc, key) is False:
                    raise
                return None, "created" if lost else "linked", exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _customer(self, order: Order, warnings: list[str]) -> str:
        customer = order.customer
        bound = self.ctx.binder.external_id("customers", customer.key)
        if bound:
            return bound
        form, subject, notes = mapper.customer_form(customer, order)
        warnings += notes
        query = {"forceCustomerUpdate": "1"} if self.update_customers else {}
        answer = self.adapter.post_again("newCustomerSubmit", subject, form, **query)
        customer_id = answer.field(1).strip()
        if answer.field(0) != "1" or not customer_id:
            raise unexpected("newCustomerSubmit", answer)
        self.ctx.binder.bind("customers", customer.key, customer_id)
        return customer_id

    def _rows(self, order: Order, warnings: list[str]) -> list[mapper.Row]:
        rows: list[mapper.Row] = []
        discounts: dict[Decimal, Decimal] = {}
        for n, line in enumerate(order.lines, start=1):
            if line.kind == "rounding":
                continue  # the balancing row carries it
            if line.vat_rate not in self.vat_rates:
                raise ValueError(f"line {n} {shown(line.name)} was charged {mapper.vat_text(line.vat_rate)} % VAT, "
                                 f"which is not one of Specter's VAT rates ({_rates_text(self.vat_rates)} %)")
            name = mapper.row_name(line.name, line.kind)
            if line.kind == "item":
                article = self._article(line)
                if article is None:
                    why = f"line {n} {shown(name)}: " + (f"SKU {shown(line.sku)} cannot be a Specter article number"
                                                        if line.sku else "it has no SKU")
                    if self.refuse_unmatched:
                        raise ValueError(why + " (lines_without_article: refuse)")
                    warnings.append(why + "; sent as a free-text row")
                rows += mapper.amount_rows(article or "", name, line.net + line.discount, line.quantity, line.vat_rate)
                if line.discount:
                    discounts[line.vat_rate] = discounts.get(line.vat_rate, Decimal(0)) + line.discount
            elif line.kind == "shipping":
                rows += mapper.amount_rows(self.shipping_article, name, line.net, line.quantity, line.vat_rate)
            else:  # a fee
                rows += mapper.amount_rows("", name, line.net, line.quantity, line.vat_rate)
        for rate, amount in sorted(discounts.items(), reverse=True):
            label = mapper.DISCOUNT_NAME + (f" {mapper.vat_text(rate)} %" if len(discounts) > 1 else "")
            rows += mapper.amount_rows(self.discount_article, label, -amount, Decimal(1), rate)
        return mapper.balanced(rows, order)

    def _article(self, line: OrderLine) -> str | None:
        """The Specter article of an order line: by the shop's id of what was sold (the products flow bound
        it), else by its SKU in the id map, else the SKU itself when it can be an article number (Specter
        refuses the order, naming the row, when it has no such article)."""
        if line.source_product_id:
            key = self.ctx.source_binder.key_for("products", line.source_product_id)
            bound = self.ctx.binder.external_id("products", key) if key else None
            if bound:
                return bound
        if not line.sku:
            return None
        return self.ctx.binder.external_id("products", line.sku) or \
            (None if mapper.article_number_problem(line.sku) else line.sku)


def _existing_order(exc: Refused, external_no: str) -> str | None | bool:
    """The order number a refusal of a duplicate ``externalOrderNo`` names; None when it names none;
    False when the refusal is not about our external order number."""
    if external_no not in exc.quoted():
        return False
    rest = exc.message.replace(f"'{external_no}'", " ")
    found = re.findall(r"\d+", rest)
    return found[-1] if found else None


def _total_differs(answered: str, order: Order) -> str | None:
    """Specter's answer names the order's total incl. VAT (sandbox guess); a difference is a warning."""
    try:
        total = number(answered, "total")
    except ValueError:
        return None
    if total == order.total.amount:
        return None
    return f"Specter totals the order {total}, the shop charged {order.total.amount}: check the order in Specter"
