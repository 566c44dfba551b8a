"""Canonical model: money parsing, VAT conversion, stable hashes, sellable units."""

from decimal import Decimal

import pytest
from pydantic import ValidationError

from integrations_dagster.model import Money, Price, Product, StockLevel, Variant, to_decimal


def price(amount, vat="25", incl=True):
    return Price(amount=Money(amount=amount, currency="SEK"), vat_rate=vat, includes_vat=incl)


@pytest.mark.parametrize("bad", ["abc", "", None, "NaN", "inf", "1.23456", True])
def test_to_decimal_refuses_what_is_not_a_price(bad):
    with pytest.raises(ValueError):
        to_decimal(bad)


def test_to_decimal_accepts_vendor_formats():
    assert to_decimal("219.00") == Decimal("219.00")
    assert to_decimal(219) == Decimal(219)
    assert to_decimal("62.6793") == Decimal("62.6793")  # BigCommerce v2: 4 decimals


def test_minor_units_round_trip():
    m = Money.from_minor(21950, "sek")
    assert m.amount == Decimal("219.50") and m.currency == "SEK" and m.minor() == 21950


def test_vat_conversion_both_ways():
    assert price("125.00").as_(includes_vat=False) == Decimal("100.00")
    assert price("100.00", incl=False).as_(includes_vat=True) == Decimal("125.00")
    assert price("112.00", vat="12").as_(includes_vat=False) == Decimal("100.00")


def test_hash_ignores_volatile_fields_and_sees_real_changes():
    a = Product(source_id="1", sku="A", name="Mug", price=price("10.00"), modified_at="2026-01-01T00:00:00Z")
    b = a.model_copy(update={"modified_at": "2026-02-01T00:00:00Z"})
    c = a.model_copy(update={"price": price("11.00")})
    assert a.content_hash() == b.content_hash() != c.content_hash()


def test_variable_product_sells_its_variants():
    p = Product(source_id="9", sku="TEE", kind="variable", name="Tee", price=price("199.00"), vat_rate="25",
                variants=(Variant(sku="TEE-S", source_id="9/10", options={"Size": "S"}),
                          Variant(sku="TEE-M", source_id="9/11", options={"Size": "M"}, price=price("209.00"))))
    units = p.sellable_units()
    assert [u.sku for u in units] == ["TEE-S", "TEE-M"]
    assert units[0].name == "Tee S" and units[0].price.amount.amount == Decimal("199.00")
    assert units[1].price.amount.amount == Decimal("209.00") and units[1].parent_key == "TEE"


def test_stock_refuses_nan():
    with pytest.raises(ValidationError):
        StockLevel(sku="A", quantity=Decimal("NaN"))


def test_values_share_their_set_of_given_fields_and_copies_do_not_touch_it():
    a, b = Variant(sku="A", source_id="1"), Variant(sku="B", source_id="2")
    assert a.model_fields_set is b.model_fields_set == {"sku", "source_id"}
    named = a.model_copy(update={"name": "Named"})
    assert named.model_fields_set == {"sku", "source_id", "name"} and a.model_fields_set == {"sku", "source_id"}
