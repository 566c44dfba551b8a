"""Plugins (seed 002: "plugin som tex mappar ihop fält som inte är standard"): a flow's ``field_map`` and
``transforms`` — ready-made ones and the user's own function — over real HTTP, WooCommerce → Fortnox.
Expected values are the demo shop's prices and this file's arithmetic: price list A holds prices
without VAT, so a shop price P incl. 25 % VAT is P / 1.25 there."""

from __future__ import annotations

import textwrap
from decimal import Decimal

import pytest

from flowkit import definitions, fx, fx_all, run, stats, woo_get, woo_put
from integrations_dagster import config
from integrations_dagster.build import build_definitions

PUSH_RULES = '''
import itertools

_sent = itertools.count(1)


def stamp(record):
    """A rule of the moment: each article name the ERP gets is numbered as it is sent."""
    if record.sku == "TOTE-ECO":
        raise ValueError("no totes today")
    return record.model_copy(update={"name": f"{record.name} #{next(_sent)}"})


def hold_hats(record):
    return None if record.sku == "BEANIE-WOOL" else record
'''

USER_RULES = '''
def shout(record):
    if record.sku == "TOTE-ECO":
        raise ValueError("totes are not sold through the ERP")
    return record.model_copy(update={"name": record.name.upper()})
'''


def _shaped(tmp_path, woo: str, fortnox: str, rules: str):
    definitions(tmp_path, woo, fortnox)  # writes tmp_path/integrations.yaml
    path = tmp_path / "integrations.yaml"
    text = path.read_text()
    assert text.count("op_retry_delay_s: 0.1}") == 1  # the products flow's line
    path.write_text(text.replace("op_retry_delay_s: 0.1}", f"op_retry_delay_s: 0.1, {rules}}}"))
    return build_definitions(config.load(path))


def test_field_map_and_ready_made_and_own_transforms_shape_what_lands(tmp_path, woo_sandbox, fortnox_empty, store,
                                                                     monkeypatch):
    woo, fx_url = woo_sandbox.url, fortnox_empty.url
    (tmp_path / "shoprules.py").write_text(textwrap.dedent(USER_RULES))
    monkeypatch.syspath_prepend(str(tmp_path))
    beanie = next(p for p in woo_get(woo, "/products") if p["sku"] == "BEANIE-WOOL")
    woo_put(woo, f"/products/{beanie['id']}", {"meta_data": [{"key": "_custom_ean", "value": "4006381333931"}]})
    defs = _shaped(tmp_path, woo, fx_url, (
        "field_map: {ean: meta_data._custom_ean}, transforms: ["
        "{use: skip_if, field: name, matches: '^Presentkort'}, "
        "{use: fail_if, field: price, below: 100, reason: too cheap for the ERP}, "
        "{use: price_markup, percent: 10}, {use: round_prices, step: 1}, {use: 'shoprules:shout'}]"))
    result = run(defs, "demo_products")
    assert result.success
    articles = {a["ArticleNumber"]: a for a in fx_all(fx_url, "articles", "Articles")}
    assert "GIFTCARD-500" not in articles  # skipped: neither synced nor failed
    assert "COFFEE-DARK-500" not in articles and "TOTE-ECO" not in articles
    mug = fx(fx_url, "GET", "/articles/MUG-FIKA")["Article"]
    assert mug["Description"] == "MUGG FIKA"
    price = Decimal(str(fx(fx_url, "GET", "/prices/A/MUG-FIKA")["Price"]["Price"]))
    assert price == (Decimal("149.00") * Decimal("1.10")).quantize(Decimal(1)) / Decimal("1.25")  # 164 / 1.25
    assert fx(fx_url, "GET", "/articles/BEANIE-WOOL")["Article"]["EAN"] == "4006381333931"
    failed = store.log(flow="demo.products").query("outcome == 'failed'")
    reasons = dict(zip(failed["record_key"], failed["error"]))
    assert reasons["COFFEE-DARK-500"] == "transform fail_if: too cheap for the ERP"
    assert reasons["TOTE-ECO"] == "transform shoprules:shout failed: ValueError: totes are not sold through the ERP"
    assert "GIFTCARD-500" not in reasons
    assert result.output_for_node("demo_products_normalize").failed == 2
    before = fx_all(fx_url, "articles", "Articles")
    assert run(defs, "demo_products").success  # shaped records diff as they landed: nothing again
    assert fx_all(fx_url, "articles", "Articles") == before


@pytest.mark.parametrize("rules, message", [
    ("transforms: [{use: price_markupp, percent: 5}]",
     "flows.products.transforms[0].use: 'price_markupp' is no ready-made transform; did you mean 'price_markup'?"),
    ("transforms: [{use: 'no_such_package.rules:fix'}]",
     "flows.products.transforms[0].use: cannot import 'no_such_package.rules'"),
])
def test_a_transform_that_cannot_be_found_is_named_when_the_file_is_read(tmp_path, rules, message):
    with pytest.raises(config.ConfigError) as err:
        _shaped(tmp_path, "http://127.0.0.1:1", "http://127.0.0.1:2", rules)
    assert message in str(err.value)


def test_a_push_stage_transform_shapes_what_is_written_never_what_is_compared(tmp_path, woo_sandbox, fortnox_empty,
                                                                             store, monkeypatch):
    """``stage: push``: the ERP gets each name numbered as it is sent, the snapshot keeps the shop's name —
    so a second run writes nothing though the rule would number it anew; a record the rule fails is
    failed at the push with its reason and the rest land; one it leaves out is not written."""
    woo, fx_url = woo_sandbox.url, fortnox_empty.url
    (tmp_path / "pushrules.py").write_text(textwrap.dedent(PUSH_RULES))
    monkeypatch.syspath_prepend(str(tmp_path))
    defs = _shaped(tmp_path, woo, fx_url, "transforms: [{use: 'pushrules:stamp', stage: push}, "
                                          "{use: 'pushrules:hold_hats', stage: push}]")
    shop = {p["sku"]: p for p in woo_get(woo, "/products") if p.get("sku")}
    assert run(defs, "demo_products").success
    articles = {a["ArticleNumber"]: a for a in fx_all(fx_url, "articles", "Articles")}
    mug = articles["MUG-FIKA"]["Description"]
    assert mug.startswith(shop["MUG-FIKA"]["name"] + " #") and mug != shop["MUG-FIKA"]["name"]
    assert "TOTE-ECO" not in articles and "BEANIE-WOOL" not in articles
    failed = store.log(flow="demo.products").query("outcome == 'failed'")
    assert dict(zip(failed["record_key"], failed["stage"])) == {"TOTE-ECO": "push"}
    assert failed["error"].tolist() == ["transform pushrules:stamp failed: ValueError: no totes today"]
    writes = stats(fx_url)["writes"]
    assert run(defs, "demo_products").success
    assert stats(fx_url)["writes"] == writes, "what was compared is the shop's record: nothing changed"
    assert fx(fx_url, "GET", "/articles/MUG-FIKA")["Article"]["Description"] == mug
