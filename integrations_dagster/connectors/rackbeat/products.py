"""Rackbeat's products both ways: the reader and mapper (Rackbeat → a till) and the exporter (a till →
Rackbeat), each writing only what differs.

**Reading** (seed 003, "Løpende synkronisering … Rackbeat: nye produkter … umiddelbart overført"; with
``structured_products`` the lots too — "Opprett strukturvarer fra Rackbeat i Shopbox" — each a product
whose ``components`` are its lines [doc: portal intro "Lots: Bills of Materials"]):
``GET /products`` with ``updated_at_from`` for a window [doc: portal filtering] — Rackbeat's times are
the account's local time without a zone (``guesses.TIMEZONE`` of the sandbox: Europe/Copenhagen, a
guess kept in :data:`ZONE` only). A product is a simple canonical product keyed by its ``number``; one
with a variation group is a variable product whose variants are its product variations with a SKU of
their own (``GET /products/{n}/variations`` [spec: swagger ProductVariation]; a variation without SKU
cannot be sold elsewhere and is left out, logged). The price is ``sales_price`` **excluding VAT** at
the rate of the product's group (``group.vat_domestic``: VAT lives on the group, in four zones [doc:
help centre ht-00064]); the group's name is the product's category. A barred product is inactive.

**Writing** (seed 003, "Shopbox: nye produkter opprettet i Shopbox bli overført til Rackbeat"): one
Rackbeat product per sellable unit (a till's variation is a product of its own, numbered by its SKU;
the "Shopbox UID" and "Shopbox variasjons ID" custom fields keep where it came from — the id map
Rackbeat's users see [doc: seed 003]), except a SKU Rackbeat holds as one variation of a product of its
own (a product Rackbeat sent to the till with its sizes), which stays that variation. A new product goes into the product group its category maps to
(``groups``), else ``default_group`` ("Standard Shopbox-gruppe" [doc: seed 003]); a number over 25
characters is refused before Rackbeat does [doc: help centre how-to-create-a-product]. The price is
written net of VAT with 4 decimals (so the till's gross price comes back to the øre; Rackbeat takes up
to 6 on a line price [spec: swagger]).

**Compare before write.** The writer reads the product (and its custom fields) and writes only the
owned fields that differ, with ``suppress_webhooks=true``; when nothing differs it writes nothing
(``unchanged``). So a product carried both ways settles: the other side's echo of our own write finds
nothing to do, and nothing bounces (Rackbeat's ``updated_at`` moves on every PUT that changes a value).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Iterator
from zoneinfo import ZoneInfo

from integrations_dagster.connectors.base import Change, MapNotes, Outcome, Window, WriteContext, one_by_one
from integrations_dagster.connectors.conflicts import settle
from integrations_dagster.connectors.rackbeat.adapter import Adapter, item_path
from integrations_dagster.connectors.rackbeat.items import ItemIndex
from integrations_dagster.model import Money, Price, Product, Variant
from integrations_dagster.model.base import RecordError
from integrations_dagster.model.product import Component, SellableUnit

ZONE = ZoneInfo("Europe/Copenhagen")  # GUESS: the account's zone (timestamps carry none)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
NET_PLACES = 4  # decimals of a net price written: the till's gross price comes back to the øre
NUMBER_MAX = 25
OWNABLE = ("name", "price", "ean", "categories", "description")


def local(moment: datetime) -> str:
    """A UTC instant as Rackbeat's filter takes it: the account's local time, to the second."""
    return moment.astimezone(ZONE).strftime(TIME_FORMAT)


def instant(stamp: Any) -> str | None:
    """Rackbeat's local ``updated_at`` as ISO 8601 UTC."""
    if not stamp:
        return None
    return datetime.strptime(str(stamp), TIME_FORMAT).replace(tzinfo=ZONE).astimezone(UTC).isoformat()


# -- reader / mapper ---------------------------------------------------------------------------------
def read(adapter: Adapter, window: Window, lots: bool = False) -> Iterator[dict]:
    """The products changed in ``window``, each with its variations when it has a variation group; and
    the lots (structured products) too when ``lots``."""
    params = {}
    if window.since is not None:
        params["updated_at_from"] = local(window.since)
    if window.until is not None:
        params["updated_at_to"] = local(window.until)
    for product in adapter.pages("/products", "products", **params):
        yield _with_parts(adapter, product)
    if lots:
        for lot in adapter.pages("/lots", "lots", **params):
            yield _with_parts(adapter, lot)


def _with_parts(adapter: Adapter, raw: dict) -> dict:
    """A lot with its lines as SKUs, a product with a variation group with its variations; else as it is."""
    if raw.get("type") == "lot":
        return {**raw, "_components": list(_components(adapter, raw))}
    if raw.get("variation_id"):
        path = item_path("products", raw["number"]) + "/variations"
        return {**raw, "_variations": list(adapter.pages(path, "product_variations"))}
    return raw


def _components(adapter: Adapter, lot: dict) -> Iterator[dict]:
    """A lot's lines as (SKU, quantity): a product's number, or its variation's own SKU [spec: swagger
    LotLine ``product_id``, ``product_variation_id``]."""
    for line in lot.get("lines") or []:
        number = (line.get("item") or {}).get("number") or line.get("product_id")
        sku = str(number)
        if line.get("product_variation_id"):
            path = item_path("products", number) + f"/variations/{line['product_variation_id']}"
            sku = str((adapter.get(path).get("product_variation") or {}).get("sku") or "")
        yield {"sku": sku, "quantity": str(line.get("quantity")), "item": number}


def read_keys(adapter: Adapter, keys: list[str], lots: bool = False) -> tuple[list[dict], dict[str, str]]:
    found, missing = [], {}
    for key in dict.fromkeys(keys):
        item = adapter.find(item_path("products", key), "product")
        if item is None and lots:
            item = adapter.find(item_path("lots", key), "lot")
        if item is None:
            missing[key] = f"no product numbered {key!r} in Rackbeat"
            continue
        found.append(_with_parts(adapter, item))
    return found, missing


def to_product(raw: dict, currency: str, notes: MapNotes | None) -> Product:
    group = raw.get("group") or {}
    rate = Decimal(str(group.get("vat_domestic") if group.get("vat_domestic") is not None else 25))
    if raw.get("sales_price") is None:
        raise RecordError(f"product {raw.get('number')} has no sales_price")
    price = Price(amount=Money(amount=Decimal(str(raw["sales_price"])), currency=currency), vat_rate=rate,
                  includes_vat=False)
    common = dict(source_id=str(raw["number"]), name=str(raw.get("name") or ""),
                  description=raw.get("description") or None, price=price, vat_rate=rate,
                  active=not raw.get("is_barred"), modified_at=instant(raw.get("updated_at")),
                  categories=tuple(filter(None, [group.get("name")])))
    if raw.get("type") == "lot":
        missing = [c["item"] for c in raw.get("_components") or [] if not c["sku"]]
        if missing:
            raise RecordError(f"lot {raw['number']}: a variation of {', '.join(map(str, missing))} in it has no SKU")
        parts = tuple(Component(sku=c["sku"], quantity=Decimal(c["quantity"])) for c in raw.get("_components") or [])
        return Product(sku=str(raw["number"]), kind="simple", ean=raw.get("barcode") or None, components=parts,
                       **common)
    if not raw.get("variation_id"):
        return Product(sku=str(raw["number"]), kind="simple", ean=raw.get("barcode") or None, **common)
    variants = []
    for var in raw.get("_variations") or []:
        if not var.get("sku"):
            if notes is not None:
                notes.refuse(f"{raw['number']} / {var.get('name')}",
                             f"variation {var.get('name')!r} of {raw['number']} has no SKU: nothing else can sell it")
            continue
        options = {str(o.get("variation_type")): str(o.get("name")) for o in var.get("variation_options") or []}
        variants.append(Variant(sku=str(var["sku"]), source_id=str(var["id"]), options=options,
                                ean=var.get("barcode") or None))
    return Product(sku=str(raw["number"]), kind="variable", variants=tuple(variants),
                   option_names=tuple(dict.fromkeys(k for v in variants for k in v.options)), **common)


# -- exporter ----------------------------------------------------------------------------------------
class ProductWriter:
    """One run's writes of products into Rackbeat (see the module docstring)."""

    def __init__(self, adapter: Adapter, ctx: WriteContext) -> None:
        self.adapter, self.ctx = adapter, ctx
        options = ctx.options
        self.groups = {str(k): str(v) for k, v in (options.get("groups") or {}).items()}
        self.default_group = options.get("default_group")
        named = {"uid_field": options.get("uid_field"), "variation_field": options.get("variation_field")}
        self.fields = {name: field_id for name, field_id in named.items() if field_id not in (None, "")}
        self.mode = options.get("mode", "both")
        self.currency = str(options.get("currency") or "NOK")
        self.winner = options.get("conflict_winner")  # None: one way, the source wins

    def write(self, changes: list[Change]) -> Iterator[Outcome]:
        yield from one_by_one(changes, self.one, "Rackbeat refused it")

    def one(self, change: Change) -> Outcome:
        product = change.record
        if not isinstance(product, Product):
            return Outcome(change.key, ok=True, action="skipped", error="products are not deleted in Rackbeat")
        before = {u.sku: u for u in change.previous.sellable_units()} if isinstance(change.previous, Product) else {}
        actions, bindings, warnings = [], {}, []
        for unit in product.sellable_units():
            try:
                action = self._unit(unit, product, before.get(unit.sku), warnings)
            except RecordError as exc:
                return Outcome(change.key, ok=False, action="failed", error=f"SKU {unit.sku!r}: {exc}",
                               bindings=bindings)
            if action != "ignored":
                bindings[unit.sku] = (unit.sku, unit.parent_key)
            actions.append(action)
        action = next((a for a in ("created", "updated", "unchanged", "kept") if a in actions), "ignored")
        if action == "ignored":
            return Outcome(change.key, ok=True, action="ignored",
                           error="mode update: Rackbeat has none of its numbers, so nothing was created")
        return Outcome(change.key, ok=True, action=action, target_id=product.sku if product.kind == "simple" else None,
                       bindings=bindings, warnings=tuple(warnings))

    def _unit(self, unit: SellableUnit, product: Product, before: SellableUnit | None, warnings: list[str]) -> str:
        if len(unit.sku) > NUMBER_MAX:
            raise RecordError(f"is {len(unit.sku)} characters; a Rackbeat number holds at most {NUMBER_MAX}")
        # /items finds products and lots alike [doc: portal intro]: a lot that went to the till comes back a lot
        held = self.adapter.find(item_path("items", unit.sku), "item")
        path = item_path("lots" if (held or {}).get("type") == "lot" else "products", unit.sku)
        if held is None and (found := ItemIndex.of_run(self.adapter, self.ctx.memo).find(unit.sku)) is not None:
            return self._variation(*found, unit)
        wanted = self._wanted(unit, product)
        if held is None:
            if self.mode == "update":
                return "ignored"
            group = self._group(product)
            body = {"number": unit.sku, "group": int(group), **{k: v for k, v in wanted.items() if v is not None}}
            body.setdefault("name", unit.name)
            body.setdefault("sales_price", "0")
            self.adapter.write("POST", "/products", body)
            self._write_fields(path, unit, product, None)
            return "created"
        if self.mode == "create":
            self._write_fields(path, unit, product, held)
            return "unchanged"
        current = {"name": held.get("name"), "sales_price": _dec(held.get("sales_price")),
                   "barcode": held.get("barcode") or None, "description": held.get("description") or None}
        wanted_cmp = {k: (_dec(v) if k == "sales_price" else v) for k, v in wanted.items()}
        # what this flow last wrote: only a flow carried both ways can meet a conflict (``conflicts``)
        last = self._wanted(before, product) if before is not None and self.winner else None
        last_cmp = {k: (_dec(v) if k == "sales_price" else v) for k, v in last.items()} if last else None
        body, conflicts = settle(current, wanted_cmp, last_cmp, target_wins=self.winner == "target")
        warnings.extend(c.describe(unit.sku, "Rackbeat") for c in conflicts)
        body = {k: wanted[k] for k in body}
        if body:
            self.adapter.write("PUT", path, body)
        fields_changed = self._write_fields(path, unit, product, held)
        if body or fields_changed:
            return "updated"
        return "kept" if conflicts else "unchanged"

    def _variation(self, number: str, variation_id: int | None, unit: SellableUnit) -> str:
        """A SKU that is one variation of a Rackbeat product (its own ``sku`` [doc: help centre ht-00066]):
        never a product of its own. A variation has no name or price apart from its product's, and no
        custom fields (they are the item's): only its barcode is written, when it differs."""
        if variation_id is None or self.mode == "create" or not self.ctx.owned("ean") or not unit.ean:
            return "unchanged"
        path = item_path("products", number) + f"/variations/{variation_id}"
        held = self.adapter.get(path).get("product_variation") or {}
        if (held.get("barcode") or None) == unit.ean:
            return "unchanged"
        self.adapter.write("PUT", path, {"barcode": unit.ean})
        return "updated"

    def _wanted(self, unit: SellableUnit, product: Product) -> dict[str, Any]:
        """The owned fields as Rackbeat writes them."""
        out: dict[str, Any] = {}
        if self.ctx.owned("name"):
            out["name"] = unit.name
        if self.ctx.owned("price"):
            if unit.price is not None and unit.price.amount.currency != self.currency:
                raise RecordError(f"its price is in {unit.price.amount.currency}, the Rackbeat account's currency is "
                                  f"{self.currency} (the connection's currency option): prices are not converted")
            if unit.price is not None:
                out["sales_price"] = str(unit.price.as_(includes_vat=False, places=NET_PLACES))
        if self.ctx.owned("ean"):
            out["barcode"] = unit.ean
        if self.ctx.owned("description"):
            out["description"] = unit.description
        return out

    def _group(self, product: Product) -> str:
        for category in product.categories:
            if category in self.groups:
                return self.groups[category]
        if self.default_group in (None, ""):
            named = f"category {product.categories[0]!r} has no product group in groups" if product.categories \
                else "it has no category"
            raise RecordError(f"{named} and no default_group is set: a Rackbeat product needs a group")
        return str(self.default_group)

    def _write_fields(self, path: str, unit: SellableUnit, product: Product, held: dict | None) -> bool:
        """The till's ids into the two custom fields (when the flow names them); True when any changed."""
        if not self.fields:
            return False
        wanted = {"uid_field": product.source_id, "variation_field": unit.source_id if unit.parent_key else ""}
        current = {}
        if held is not None:
            for row in self.adapter.get(path + "/fields").get("field_values") or []:
                current[str((row.get("field") or {}).get("id"))] = row.get("value")
        entries = [{"id": int(fid), "value": wanted[name]} for name, fid in self.fields.items()
                   if (current.get(str(fid)) or "") != (wanted[name] or "")]
        if entries:
            self.adapter.write("PUT", path + "/fields", {"custom_fields": entries})
        return bool(entries)


def _dec(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value)).normalize()

