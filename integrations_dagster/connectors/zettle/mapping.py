"""Pure mapping of Zettle Product Library records to canonical products (no HTTP here).

Evidence (digest: ``docs/research/zettle.md`` §2.3): every product has at least one variant and the
variant carries SKU, barcode and price; money is ``{"amount": <integer minor units>, "currencyId"}``
[doc: product-library.adoc §Create product]; ``vatPercentage`` is a *string* ("25", "12.5") on the
product and on each variant [doc: pusher-api_concept_event-payloads.md]; prices always include VAT
("I Zettle anges priserna alltid inklusive moms" [doc: seed 004]). Webshop data sits under
``online`` (description, shipping weight, images) [3p: nopSolutions Product.cs]; ``updated`` is
``yyyy-MM-ddTHH:mm:ss.SSS+0000`` [doc: event-payloads].

Channel assignment ("Tilldela till kanaler" in the product library [doc: seed 004]) has no public
API field. GUESS, kept here only: it is the product's ``online.status`` (a field the event payloads
show, value ``HIDDEN`` [doc: event-payloads]); ``HIDDEN`` = not assigned to the webshop channel, any
other status assigned, no status = the source does not say (new products follow the channel, as the
seed says they do once the integration is set up).

A product with one variant and no option definitions is a simple product (the POS's default: the
variant is the product); anything else is variable, keyed ``parent:<product uuid>`` because Zettle
has no product-level SKU. A variant without a SKU cannot be matched or counted anywhere else: it is
left out and reported (:class:`MapNotes`), the rest of the product goes on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from integrations_dagster.connectors.base import MapNotes
from integrations_dagster.model import RecordError, to_decimal
from integrations_dagster.model.money import Money, Price
from integrations_dagster.model.product import Product, Variant

UNASSIGNED_STATUS = "HIDDEN"  # GUESS (see the module docstring): online.status of an unassigned product
DEFAULT_VAT = Decimal("25")  # only when neither the product nor the variant states a rate (never seen)


def zettle_time(value: str | None) -> str | None:
    """``2021-04-19T13:15:37.904+0000`` as ISO 8601 UTC (None stays None)."""
    if not value:
        return None
    try:
        moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        moment = datetime.fromisoformat(value)
    return moment.astimezone(UTC).isoformat()


def _price(money: dict | None, vat: Decimal, what: str) -> Price | None:
    """A Zettle money object as a VAT-inclusive price; None for an open price (set at the till)."""
    if not money or money.get("amount") is None:
        return None
    minor = money["amount"]
    if type(minor) is not int:
        raise RecordError(f"{what}: price amount {minor!r} is not an integer number of minor units")
    return Price(amount=Money.from_minor(minor, money.get("currencyId") or "SEK"), vat_rate=vat, includes_vat=True)


def _vat(raw: dict, fallback: Decimal, what: str) -> Decimal:
    value = raw.get("vatPercentage")
    if value in (None, ""):
        return fallback
    try:
        return to_decimal(value, f"{what}: vatPercentage")
    except ValueError as exc:
        raise RecordError(str(exc)) from None


def _weight_kg(online: dict) -> Decimal | None:
    shipping = online.get("shipping") or {}
    grams = shipping.get("weightInGrams")
    if grams is not None:
        return to_decimal(grams, "online.shipping.weightInGrams") / 1000
    weight = shipping.get("weight") or {}
    if weight.get("weight") is not None:
        factor = {"kg": Decimal(1), "g": Decimal("0.001")}.get(str(weight.get("unit", "kg")).lower())
        if factor is not None:
            return to_decimal(weight["weight"], "online.shipping.weight") * factor
    return None


def _images(raw: dict, online: dict) -> tuple[str, ...]:
    shown = (online.get("presentation") or {})
    urls = [(raw.get("presentation") or {}).get("imageUrl"), shown.get("displayImageUrl"),
            *(shown.get("additionalImageUrls") or [])]
    return tuple(dict.fromkeys(u for u in urls if u))


def _channel_assigned(online: dict) -> bool | None:
    status = online.get("status")
    return None if status in (None, "") else status != UNASSIGNED_STATUS


def product(raw: dict, notes: MapNotes | None = None) -> Product:
    """One Zettle product as a canonical product; RecordError when it cannot be one."""
    uuid, name = raw.get("uuid"), (raw.get("name") or "").strip()
    what = f"product {name or uuid!r}"
    if not uuid:
        raise RecordError(f"{what} has no uuid")
    if not name:
        raise RecordError(f"product {uuid} has no name")
    variants = raw.get("variants") or []
    if not variants:
        raise RecordError(f"{what} has no variants (Zettle sells variants; at least one is required)")
    vat = _vat(raw, DEFAULT_VAT, what)
    if raw.get("taxExempt"):
        vat = Decimal(0)
    online = raw.get("online") or {}
    common: dict[str, Any] = dict(
        source_id=uuid, name=name, description=online.get("description") or raw.get("description"),
        vat_rate=vat, weight=_weight_kg(online), images=_images(raw, online),
        modified_at=zettle_time(raw.get("updated")), channel_assigned=_channel_assigned(online),
    )
    definitions = ((raw.get("variantOptionDefinitions") or {}).get("definitions")) or []
    if len(variants) == 1 and not definitions:
        v = variants[0]
        sku = (v.get("sku") or "").strip()
        if not sku:
            raise RecordError(f"{what} has no SKU: give its variant a SKU in Zettle")
        return Product(sku=sku, kind="simple", ean=v.get("barcode") or None,
                       price=_price(v.get("price"), _vat(v, vat, what), what), **common)
    kept = []
    for v in variants:
        label = f"{name} / {v.get('name') or v.get('uuid')}"
        sku = (v.get("sku") or "").strip()
        if not sku:
            if notes is not None:
                notes.refuse(f"variant:{v.get('uuid')}", f"variant {label!r} has no SKU: left out")
            continue
        kept.append(Variant(
            sku=sku, source_id=str(v.get("uuid")), name=v.get("name") or None, ean=v.get("barcode") or None,
            options={o["name"]: o["value"] for o in v.get("options") or [] if o.get("name")},
            price=_price(v.get("price"), _vat(v, vat, label), label),
        ))
    if not kept:
        raise RecordError(f"{what}: none of its variants has a SKU")
    return Product(kind="variable", option_names=tuple(d.get("name") for d in definitions if d.get("name")),
                   variants=tuple(kept), **common)
