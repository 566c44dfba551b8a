"""Shopbox as the target of products: created, or updated field by field, never duplicated.

Rackbeat creates and updates Shopbox products "SKU number, name, sales price, description (also on
variations)" [partner: Rackbeat ht-09001]; this writer does the same with the evidenced write
``POST /products/create-or-update`` (``uid`` null creates, a uid updates; the answer is the product with
its ``product_variances``) [3p: PHP plugin ``createProduct``].

* **Found by SKU, never duplicated.** The shop's catalogue is listed once per run
  (``GET /products?expand=product_variances``) into a SKU index kept in ``ctx.memo`` (:func:`catalogue`,
  the stock writer's index too) and kept current with every answer. A product's ``sku_code`` or a
  variation's own ``sku_code`` finds it [3p: Dart model, PHP plugin]. A canonical *simple* product whose
  SKU is a variation (an ERP article per size) updates that variation only: its price and barcode, sent
  as ``variants: [{uid, variance_value, …}]`` with its current values, so Shopbox matches it
  (``guesses.VARIANT_MATCH``).
* **Modes** as the other writers: ``update`` creates nothing (a SKU the shop lacks is ignored), ``create``
  links what it finds and writes nothing to it (as Rackbeat's and Fortnox's writers do).
* **Compare before write.** Only the owned fields (``owns``; default :data:`OWNABLE`) whose value differs
  from the shop's are sent; when none does, nothing is (``unchanged``). A create-or-update bumps the
  product's ``tstamp`` [sandbox], and the flow reading Shopbox back keeps products by ``tstamp``: an
  unneeded write would come back as a change, and a both-ways sync would never settle.
* **Money**: ``selling_price`` is integer øre *including* VAT [3p: PHP plugin writes round(net × (100 +
  vat %))]: a net price becomes round_half_up(net × (100 + rate)), a gross one gross × 100 (a fraction of
  an øre is refused). The rate is the price's own, else the product's; the product's ``tax`` is the shop's
  tax of that percentage, from ``GET /taxes`` (the sandbox's GUESSED path; the ``tax0`` objects are [3p:
  Dart model]) or, where that path answers 404, from the ``tax0`` of the products listed.
* **Category = tag** [3p: PHP plugin maps categories to tags]: the first category, renamed through the
  ``tags`` option, else ``default_tag``; set on a new product, and on one the shop has only when the flow
  names ``categories`` in ``owns`` (an ERP's product group is no till menu: by default the till's own
  tags stay); looked up with ``GET /tags?names[]=`` and created with
  ``POST /tags {name}`` when missing, as the plugin does [3p: PHP plugin ``getTags``/``createTag``].
* **Structured products** (seed 003 "strukturvarer"): a product with ``components`` is written with
  Shopbox's components, each found by SKU (a component the shop lacks fails the record until it is
  there); selling it draws its components' stock. No payload is public: the field is the sandbox's guess.
* **Variations**: each option is a variance type, ``POST /variance-type/create-or-update {name, variants:
  [{name}]}`` answering its values' uids [3p: PHP plugin ``createVariantType``]; the product is created
  with ``inventory_on_variants: 1`` and one variant per SKU. Each variation's uid is bound to its SKU
  (Rackbeat keeps "Shopbox variasjons ID" beside the product's uid [partner: seed 003]).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterable, Iterator

from integrations_dagster.connectors.base import Change, Outcome, WriteContext, one_by_one
from integrations_dagster.connectors.conflicts import settle
from integrations_dagster.connectors.http import ApiError
from integrations_dagster.connectors.shopbox.adapter import Adapter
from integrations_dagster.model.money import Price
from integrations_dagster.model.product import Product, Variant

OWNABLE = ("name", "price", "ean", "categories", "description")
SAVE = "/products/create-or-update"
COMPONENTS = "components"  # GUESS of the sandbox (guesses.COMPONENTS_FIELD): a structured product's lines
CATALOGUE_MEMO, TAXES_MEMO, TAGS_MEMO = "shopbox.catalogue", "shopbox.taxes", "shopbox.tags"


class Refused(Exception):
    """A record this writer cannot put in Shopbox; the reason goes to the sync log."""


class Catalogue:
    """The shop's products by SKU: ``skus`` maps a sellable SKU (a product without variations, or a
    variation) to (product uid, variation uid or None); ``parents`` the ``sku_code`` of a product with
    variations (never stocked itself) to its uid."""

    def __init__(self, rows: Iterable[dict]) -> None:
        self.products: dict[int, dict] = {}
        self.skus: dict[str, tuple[int, int | None]] = {}
        self.parents: dict[str, int] = {}
        for raw in rows:
            self.put(raw)

    def put(self, raw: dict) -> None:
        """Index a product as the shop answered it (a later answer replaces the earlier one)."""
        uid = int(raw["uid"])
        old = self.products.get(uid)
        for sku in _skus(old) if old else ():
            if self.skus.get(sku, (None,))[0] == uid:
                del self.skus[sku]
            if self.parents.get(sku) == uid:
                del self.parents[sku]
        self.products[uid] = raw
        variances = raw.get("product_variances") or []
        if raw.get("sku_code"):
            if variances:
                self.parents[str(raw["sku_code"])] = uid
            else:
                self.skus[str(raw["sku_code"])] = (uid, None)
        for var in variances:
            if var.get("sku_code"):
                self.skus[str(var["sku_code"])] = (uid, int(var["uid"]))

    def find(self, sku: str) -> tuple[dict, dict | None] | None:
        """(the product, the variation or None) holding ``sku``."""
        if sku in self.skus:
            uid, var_uid = self.skus[sku]
            raw = self.products[uid]
            return raw, next((v for v in raw.get("product_variances") or [] if int(v["uid"]) == var_uid), None)
        if sku in self.parents:
            return self.products[self.parents[sku]], None
        return None


def _skus(raw: dict) -> list[str]:
    return [str(r["sku_code"]) for r in [raw, *(raw.get("product_variances") or [])] if r.get("sku_code")]


def catalogue(adapter: Adapter, memo: dict[str, Any]) -> Catalogue:
    """The shop's catalogue, listed once per run (one pass: the list has no SKU filter [3p])."""
    if CATALOGUE_MEMO not in memo:
        memo[CATALOGUE_MEMO] = Catalogue(adapter.pages("/products", expand="product_variances"))
    return memo[CATALOGUE_MEMO]


def vat_rate(price: Price, product: Product) -> Decimal:
    """The price's own rate when it states one, else the product's."""
    if "vat_rate" in price.model_fields_set:
        return price.vat_rate
    if product.vat_rate is not None:
        return product.vat_rate
    raise Refused("no VAT rate: Shopbox prices include VAT, and neither the price nor the product states its rate")


def ore(price: Price, rate: Decimal) -> int:
    """Shopbox's ``selling_price``: whole øre including VAT."""
    if not price.includes_vat:
        return int((price.amount.amount * (100 + rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    value = price.amount.amount * 100
    if value != value.to_integral_value():
        raise Refused(f"price {price.amount.amount} including VAT is not a whole number of øre")
    return int(value)


def _same(held: Any, wanted: Any) -> bool:
    return held == wanted or (held is not None and wanted is not None and str(held) == str(wanted))


class ProductWriter:
    def __init__(self, adapter: Adapter, ctx: WriteContext) -> None:
        self.adapter, self.ctx = adapter, ctx
        self.owned = frozenset(f for f in OWNABLE if ctx.owned(f))
        if ctx.owns is None:  # the tag of a product the till has is the till's menu: moved only when owned by name
            self.owned -= {"categories"}
        self.mode = str(ctx.options.get("mode") or "both")
        self.tag_names = {str(k): str(v) for k, v in (ctx.options.get("tags") or {}).items()}
        self.default_tag = ctx.options.get("default_tag")
        self.currency = str(ctx.options.get("currency") or "DKK")
        self.winner = ctx.options.get("conflict_winner")  # None: one way, the source wins

    def write(self, changes: list[Change]) -> Iterator[Outcome]:
        """Structured products last: their components, in the same batch, are in the shop by then."""
        def structured(change: Change) -> bool:
            return isinstance(change.record, Product) and bool(change.record.components)

        ordered = sorted(changes, key=structured)  # (stable: the rest keep their order)
        yield from one_by_one(ordered, self._one, "Shopbox refused it")

    def _one(self, change: Change) -> Outcome:
        product = change.record
        if not isinstance(product, Product):
            return Outcome(change.key, ok=True, action="skipped", error="products are not deleted in Shopbox")
        try:
            return self._write(change, product)
        except Refused as exc:
            return Outcome(change.key, ok=False, action="failed", error=str(exc))

    def _write(self, change: Change, product: Product) -> Outcome:
        if product.kind == "simple" and not product.sku:
            raise Refused("a simple product without SKU cannot be found again in Shopbox")
        cat = catalogue(self.adapter, self.ctx.memo)
        held = self._held(cat, product)
        if held is None:
            if self.mode == "update":
                return Outcome(change.key, ok=True, action="ignored", error=(
                    f"{product.key} is not in Shopbox, and this flow (mode update) creates nothing"))
            return self._create(cat, change.key, product)
        raw, variance = held
        bound = change.target_id or self.ctx.binder.external_id("products", change.key)
        action = "updated" if bound else "linked"
        if self.mode == "create":  # links what it finds, writes nothing to it
            return Outcome(change.key, ok=True, action="unchanged", target_id=str((variance or raw)["uid"]),
                           bindings=_bindings(product, raw))
        if variance is not None:
            return self._variance(cat, change, product, raw, variance, action)
        wanted = self._fields(product, self.owned)
        if product.components:  # a structured product's make-up is its source's: written whenever it differs
            wanted[COMPONENTS] = self._components(cat, product)
        body, conflicts = self._settle({k: _held_value(raw, k) for k in wanted}, wanted,
                                       lambda previous: self._fields(previous, self.owned - {"categories"}), change)
        entries, warnings = self._variant_entries(product, raw) if product.kind == "variable" else ([], [])
        warnings = [*conflicts, *warnings]
        if entries:
            body["variants"] = entries
        if not body:
            return Outcome(change.key, ok=True, action="unchanged", target_id=str(raw["uid"]),
                           bindings=_bindings(product, raw), warnings=tuple(warnings))
        answer = self._save({"uid": raw["uid"], **body}, cat)
        return Outcome(change.key, ok=True, action=action, target_id=str(answer["uid"]),
                       bindings=_bindings(product, answer), warnings=tuple(warnings))

    @staticmethod
    def _held(cat: Catalogue, product: Product) -> tuple[dict, dict | None] | None:
        if product.kind == "simple":
            return cat.find(str(product.sku))
        for sku in filter(None, [product.sku, *(v.sku for v in product.variants)]):
            if (hit := cat.find(sku)) is not None:
                return hit[0], None
        return None

    def _create(self, cat: Catalogue, key: str, product: Product) -> Outcome:
        """Every ownable field, whatever the flow owns: the product is new. (Prices first: a refused price
        leaves no tag or variance type behind.)"""
        fields = [self._variant_fields(product, v, OWNABLE) for v in product.variants]
        body: dict[str, Any] = {"uid": None, **self._fields(product, OWNABLE)}
        if product.sku:
            body["sku_code"] = product.sku
        if product.components:
            body[COMPONENTS] = self._components(cat, product)
        if product.kind == "variable":
            values = self._value_uids(product, product.variants)
            body["inventory_on_variants"] = 1
            body["variants"] = [{"uid": 0, "variance_value": values[v.sku], "sku_code": v.sku, **f}
                                for v, f in zip(product.variants, fields)]
        answer = self._save(body, cat)
        return Outcome(key, ok=True, action="created", target_id=str(answer["uid"]),
                       bindings=_bindings(product, answer))

    @staticmethod
    def _components(cat: Catalogue, product: Product) -> list[dict[str, Any]]:
        """A structured product's lines as Shopbox's components (GUESS: ``sandbox/shopbox/guesses``
        COMPONENTS_FIELD — no payload is public): each component must be in the shop already."""
        out = []
        for part in product.components:
            held = cat.find(part.sku)
            if held is None:
                raise Refused(f"component {part.sku} of structured product {product.key} is not in Shopbox yet "
                              "(it is sent again with the next run, once its products are there)")
            raw, variance = held
            quantity = int(part.quantity) if part.quantity == part.quantity.to_integral_value() else float(part.quantity)
            out.append({"product": int(raw["uid"]), "product_variance": int(variance["uid"]) if variance else None,
                        "quantity": quantity})
        return out

    def _variance(self, cat: Catalogue, change: Change, product: Product, raw: dict, variance: dict,
                  action: str) -> Outcome:
        """A simple canonical product that is one variation in Shopbox: its price and barcode only."""
        key = change.key
        wanted, warnings = {}, []
        if "price" in self.owned and product.price is not None:
            wanted["selling_price"], tax = self._money(product.price, product)
            if not _same(_held_value(raw, "tax"), tax):
                warnings.append(f"Shopbox keeps VAT on the product {raw['uid']} (tax {_held_value(raw, 'tax')}), "
                                f"not at the rate {vat_rate(product.price, product)} % the price was computed with")
        if "ean" in self.owned and product.ean:
            wanted["barcode"] = product.ean
        diff, conflicts = self._settle({k: variance.get(k) for k in wanted}, wanted, lambda previous: {
            "selling_price": self._money(previous.price, previous)[0]} if previous.price is not None else {}, change)
        warnings += conflicts
        if not diff:
            return Outcome(key, ok=True, action="unchanged", target_id=str(variance["uid"]), warnings=tuple(warnings))
        entry = {"uid": variance["uid"], "variance_value": _value_refs(variance), "sku_code": variance["sku_code"],
                 **diff}
        self._save({"uid": raw["uid"], "variants": [entry]}, cat)
        return Outcome(key, ok=True, action=action, target_id=str(variance["uid"]), warnings=tuple(warnings))

    def _settle(self, current: dict[str, Any], wanted: dict[str, Any], last_of: Any,
                change: Change) -> tuple[dict[str, Any], list[str]]:
        """The fields to write, and the conflicts as warnings (``connectors.conflicts``): only a flow carried
        both ways compares with what it last wrote (``last_of(previous record)``)."""
        last = last_of(change.previous) if self.winner and isinstance(change.previous, Product) else None
        current = {k: (v if not _same(v, wanted.get(k)) else wanted.get(k)) for k, v in current.items()}
        body, conflicts = settle(current, wanted, last, target_wins=self.winner == "target")
        return body, [c.describe(change.key, "Shopbox") for c in conflicts]

    def _variant_entries(self, product: Product, raw: dict) -> tuple[list[dict], list[str]]:
        """The variations of a variable product that differ from the shop's, and the new ones."""
        held = {str(v["sku_code"]): v for v in raw.get("product_variances") or [] if v.get("sku_code")}
        new = [v for v in product.variants if v.sku not in held]
        if new and self.mode == "update":
            return self._changed_variances(product, held), [
                f"variant {v.sku} is not in Shopbox, and this flow (mode update) creates nothing" for v in new]
        changed = self._changed_variances(product, held)
        fields = [self._variant_fields(product, v, OWNABLE) for v in new]
        values = self._value_uids(product, new) if new else {}
        return [{"uid": 0, "variance_value": values[v.sku], "sku_code": v.sku, **f}
                for v, f in zip(new, fields)] + changed, []

    def _changed_variances(self, product: Product, held: dict[str, dict]) -> list[dict]:
        entries = []
        for v in product.variants:
            if (have := held.get(v.sku)) is None:
                continue
            diff = {k: x for k, x in self._variant_fields(product, v, self.owned).items() if not _same(have.get(k), x)}
            if diff:
                entries.append({"uid": have["uid"], "variance_value": _value_refs(have), "sku_code": v.sku, **diff})
        return entries

    def _fields(self, product: Product, names: Iterable[str]) -> dict[str, Any]:
        """The product-level fields ``names`` as Shopbox holds them."""
        out: dict[str, Any] = {}
        if "name" in names:
            out["name"] = product.name
        if "description" in names and product.description is not None:
            out["description"] = product.description
        price = product.price or next((v.price for v in product.variants if v.price is not None), None)
        if "price" in names and price is not None:
            out["selling_price"], out["tax"] = self._money(price, product)
        if "ean" in names and product.ean:
            out["code"] = product.ean
        if "categories" in names and (tag := self._tag(product)) is not None:
            out["tag"] = tag
        return out

    def _variant_fields(self, product: Product, variant: Variant, names: Iterable[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        price = variant.price or product.price
        if "price" in names and price is not None:
            out["selling_price"] = self._money(price, product)[0]
        if "ean" in names and variant.ean:
            out["barcode"] = variant.ean
        return out

    def _money(self, price: Price, product: Product) -> tuple[int, int]:
        """(selling_price in øre incl. VAT, the uid of the shop's tax at the price's rate)."""
        if price.amount.currency != self.currency:
            raise Refused(f"{product.key}: its price is in {price.amount.currency}, the shop's currency is {self.currency} "
                          "(the connection's currency option): prices are not converted")
        rate = vat_rate(price, product)
        tax = self._taxes().get(rate)
        if tax is None:
            raise Refused(f"no Shopbox tax has the VAT rate {rate.normalize():f} %")
        return ore(price, rate), tax

    def _taxes(self) -> dict[Decimal, int]:
        """The shop's enabled taxes by percentage, read once per run."""
        if TAXES_MEMO not in self.ctx.memo:
            try:
                rows = list(self.adapter.pages("/taxes"))
            except ApiError as exc:
                if exc.status != 404:
                    raise
                rows = [p["tax0"] for p in catalogue(self.adapter, self.ctx.memo).products.values() if p.get("tax0")]
            taxes: dict[Decimal, int] = {}
            for t in rows:
                if t.get("percentage") is not None and t.get("enabled", 1):
                    taxes.setdefault(Decimal(str(t["percentage"])), int(t["uid"]))
            self.ctx.memo[TAXES_MEMO] = taxes
        return self.ctx.memo[TAXES_MEMO]

    def _tag(self, product: Product) -> int | None:
        """The uid of the product's tag (created when the shop has none of that name), or None."""
        first = product.categories[0] if product.categories else None
        name = self.tag_names.get(first, first) if first else self.default_tag
        if not name:
            return None
        tags = self.ctx.memo.setdefault(TAGS_MEMO, {})
        key = str(name).strip().casefold()
        if key not in tags:
            found = next((t for t in self.adapter.pages("/tags", **{"names[]": str(name)})
                          if str(t.get("name")).strip().casefold() == key), None)
            if found is None:
                found = self.adapter.http.request("POST", "/tags", json={"name": str(name).strip()}).json()
            tags[key] = int(found["uid"])
        return tags[key]

    def _value_uids(self, product: Product, variants: Iterable[Variant]) -> dict[str, list[int]]:
        """Each variant's variance-value uids (one per option, in the product's option order): each option
        is a variance type, created or completed with the values these variants need."""
        variants = list(variants)
        names = product.option_names or tuple(dict.fromkeys(k for v in variants for k in v.options))
        uids: dict[str, dict[str, int]] = {}
        for name in names:
            wanted = list(dict.fromkeys(v.options[name] for v in variants if v.options.get(name)))
            if not wanted:
                continue
            answer = self.adapter.http.request("POST", "/variance-type/create-or-update", json={
                "name": name, "variants": [{"name": value} for value in wanted]}).json()
            uids[name] = {str(v["name"]).casefold(): int(v["uid"]) for v in answer.get("variants") or []}
        out = {}
        for v in variants:
            refs = [uids[n].get(v.options[n].casefold()) for n in names if v.options.get(n)]
            if not refs or None in refs:
                raise Refused(f"variant {v.sku}: Shopbox has no variance values for its options {v.options}")
            out[v.sku] = refs
        return out

    def _save(self, body: dict, cat: Catalogue) -> dict:
        answer = self.adapter.http.request("POST", SAVE, json=body).json()
        cat.put(answer)
        return answer


def _held_value(raw: dict, name: str) -> Any:
    if name == "tax":
        return raw.get("tax") or (raw.get("tax0") or {}).get("uid")
    return raw.get(name)


def _value_refs(variance: dict) -> list[int]:
    refs = [v.get("uid") for v in variance.get("variance_values") or []]
    if not refs or None in refs:
        raise Refused(f"Shopbox's variation {variance.get('uid')} names no variance values to update it by")
    return [int(r) for r in refs]


def _bindings(product: Product, raw: dict) -> dict[str, tuple[str, str | None]]:
    """Each variant SKU's variation uid, under its product's uid."""
    if product.kind != "variable":
        return {}
    skus = {v.sku for v in product.variants}
    return {str(v["sku_code"]): (str(v["uid"]), str(raw["uid"])) for v in raw.get("product_variances") or []
            if v.get("sku_code") in skus}
