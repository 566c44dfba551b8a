"""The integrations YAML: the demo validates; bad files get errors naming file and field; ``validate``
knows each system's settings and options (did you mean...) and reports unset environment variables."""

import re
import textwrap
from pathlib import Path

import pytest

from flowkit import definitions
from integrations_dagster import config, config_check
from integrations_dagster.cli import main
from integrations_dagster.connectors import SYSTEMS, resource_class
from integrations_dagster.connectors.options import options_model

GOOD = """
integrations:
  - name: shop1
    start_date: 2026-01-01
    connections:
      shop: {system: woocommerce, base_url: "http://127.0.0.1:1", credentials: {consumer_key: {env: K}, consumer_secret: {env: S}}}
      erp: {system: fortnox, base_url: "http://127.0.0.1:2", credentials: {access_token: {env: T}}}
    flows:
      orders: {entity: orders, source: shop, target: erp, triggers: {schedule: 2h}}
"""


def write(tmp_path, text):
    path = tmp_path / "integrations.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_demo_file_validates():
    file = config.load(config.DEFAULT_CONFIG)
    assert [i.name for i in file.integrations] == ["demo", "pos", "butik", "kasse", "market"]
    assert set(file.integrations[0].flows) == {"products", "orders", "stock"}
    assert set(file.integrations[1].flows) == {"products", "stock", "stock_back"}
    butik = file.integrations[2].flows  # preset combo, order status turned on
    assert set(butik) == {"products", "prices", "stock", "orders", "order_status"}
    assert all(flow.enabled for flow in butik.values())


def test_schedule_presets_and_cron(tmp_path):
    flow = config.load(write(tmp_path, GOOD)).integrations[0].flows["orders"]
    assert flow.triggers.cron() == "0 */2 * * *"


@pytest.mark.parametrize("change, expected", [
    ("system: fortnox", "unknown system"),
    ("credentials: {access_token: {env: T}}", "credentials"),
    ("target: erp", "no connection named"),
    ("schedule: 2h", "neither one of"),
    ("separate_stock", "flows.orders: Value error, separate_stock is for stock flows"),
    ("scope", "flows.orders.scope: Input should be 'all' or 'assigned'"),
])
def test_errors_name_file_and_field(tmp_path, change, expected):
    bad = {
        "system: fortnox": GOOD.replace("system: fortnox", "system: fortknox"),
        "credentials: {access_token: {env: T}}": GOOD.replace("{access_token: {env: T}}", "{access_token: hunter2}"),
        "target: erp": GOOD.replace("target: erp", "target: erpp"),
        "schedule: 2h": GOOD.replace("schedule: 2h", "schedule: every now and then"),
        "separate_stock": GOOD.replace("target: erp,", "target: erp, separate_stock: {MUG-1: 5},"),
        "scope": GOOD.replace("target: erp,", "target: erp, scope: mine,"),
    }[change]
    path = write(tmp_path, bad)
    with pytest.raises(config.ConfigError) as err:
        config.load(path)
    assert str(path) in str(err.value) and expected in str(err.value)
    assert "hunter2" not in str(err.value)


def test_cli_validate_prints_one_line_error_not_a_traceback(tmp_path, capsys):
    path = write(tmp_path, "integrations: [ {name: 1")
    assert main(["validate", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(path) in err and "Traceback" not in err


# -- validate: each system's settings and options, YAML and date errors, unset variables ----------

CONNECTORS = Path(config.__file__).parent / "connectors"


def validate(capsys, path, *more) -> tuple[int, str, str]:
    code = main(["validate", "--config", str(path), *more])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.mark.parametrize("old, new, where, message", [
    ("credentials: {access_token: {env: T}}", "credentials: {access_token: {env: T}}, settings: {price_lst: B}",
     "integrations[shop1].connections.erp.settings.price_lst", "unknown setting of fortnox; did you mean 'price_list'?"),
    ("credentials: {access_token: {env: T}}", "credentials: {access_token: {env: T}}, settings: {rate_limit: lots}",
     "integrations[shop1].connections.erp.settings.rate_limit", "'lots': Input should be a valid integer"),
    ("credentials: {access_token: {env: T}}", "credentials: {acces_token: {env: T}}",
     "integrations[shop1].connections.erp.credentials.acces_token", "did you mean 'access_token'?"),
    ("credentials: {access_token: {env: T}}", "credentials: {}, settings: {access_token: {env: T}}",
     "integrations[shop1].connections.erp.settings.access_token", "a credential: give it under credentials"),
    ("consumer_secret: {env: S}}", "consumer_secret: {env: S}}, options: {prices_include_taxes: true}",
     "integrations[shop1].connections.shop.options.prices_include_taxes", "did you mean 'prices_include_tax'?"),
    ("consumer_secret: {env: S}}", "consumer_secret: {env: S}}, options: {missing_sku: invent}",
     "integrations[shop1].connections.shop.options.missing_sku", "'invent': Input should be 'refuse' or 'generate'"),
    ("triggers: {schedule: 2h}", "triggers: {schedule: 2h}, options: {documnet: invoice}",
     "integrations[shop1].flows.orders.options.documnet", "did you mean 'document'?"),
    ("triggers: {schedule: 2h}", "triggers: {schedule: 2h}, options: {document: receipt}",
     "integrations[shop1].flows.orders.options.document", "'receipt': Input should be 'order' or 'invoice'"),
    ("triggers: {schedule: 2h}", "triggers: {schedule: 2h}, options: {vat_included: 'false'}",
     "integrations[shop1].flows.orders.options.vat_included", "Input should be a valid boolean"),
    # (a status the shop lacks is named when the run asks the shop; here only a name no shop can have)
    ("triggers: {schedule: 2h}", "triggers: {schedule: 2h}, options: {statuses: [processing, 'Skickad nu']}",
     "integrations[shop1].flows.orders.options.statuses.1", "'Skickad nu': String should match pattern"),
    ("triggers: {schedule: 2h}", "triggers: {schedule: 2h}, options: {price_list_includes_vat: true}",
     "integrations[shop1].flows.orders.options.price_list_includes_vat",
     "fortnox reads it only as the source of products or target of products"),
    ("triggers: {schedule: 2h}", "triggers: {schedule: 2h}, options: {mode: update}",
     "integrations[shop1].flows.orders.options.mode", "set by the engine"),
    ("triggers: {schedule: 2h}", "trigers: {schedule: 2h}",
     "integrations[shop1].flows.orders.trigers", "unknown field; did you mean 'triggers'?"),
    ("target: erp", "target: erpp", "integrations[shop1]", "no connection named 'erpp'; did you mean 'erp'?"),
])
def test_validate_says_did_you_mean_naming_file_and_yaml_path(tmp_path, capsys, monkeypatch, old, new, where,
                                                              message):
    monkeypatch.setenv("K", "k"), monkeypatch.setenv("S", "s"), monkeypatch.setenv("T", "t")
    assert GOOD.count(old) == 1
    path = write(tmp_path, GOOD.replace(old, new))
    code, out, err = validate(capsys, path)
    assert code == 2 and out == ""
    line = next(line for line in err.splitlines() if where in line)
    assert line.startswith("error: ") and str(path) in line and message in line


def test_validate_accepts_every_option_each_system_reads(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("K", "k"), monkeypatch.setenv("S", "s"), monkeypatch.setenv("T", "t")
    text = GOOD.replace("consumer_secret: {env: S}}", "consumer_secret: {env: S}}, options: {currency: SEK, "
                        "prices_include_tax: true, tax_rates: {'': 25, reduced-rate: '12.0'}, missing_sku: generate, "
                        "generated_sku_prefix: 'W-'}, settings: {read_concurrency: 4}")
    text = text.replace("{access_token: {env: T}}", "{access_token: {env: T}}, settings: {price_list: B, "
                        "rate_limit: {env: FX_RATE, default: '20'}}, options: {price_list_includes_vat: false}")
    text = text.replace("triggers: {schedule: 2h}", "triggers: {schedule: 2h}, options: {document: invoice, "
                        "vat_included: false, lines_without_article: refuse, statuses: [completed]}}\n"
                        "      stock: {entity: stock, source: erp, target: shop, options: {location: main}")
    code, out, err = validate(capsys, write(tmp_path, text))
    assert (code, err) == (0, "") and "shop1: 2 connections" in out


def test_validate_reports_unset_environment_variables_as_warnings(tmp_path, capsys, monkeypatch):
    for name in ("K", "S", "T", "SHOP_URL", "FX_AUTH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("S", "s")
    text = GOOD.replace('base_url: "http://127.0.0.1:1"', "base_url: {env: SHOP_URL}")
    text = text.replace("{access_token: {env: T}}", "{access_token: {env: T}}, settings: {auth_url: {env: FX_AUTH}}")
    path = write(tmp_path, text)
    code, out, err = validate(capsys, path)
    assert code == 0 and "shop1: 2 connections" in out
    warnings = sorted(err.splitlines())
    assert warnings == sorted(f"warning: {path}: integrations[shop1].connections.{where}: environment variable "
                              f"{name} is not set" for where, name in (
                                  ("shop.base_url", "SHOP_URL"), ("shop.credentials.consumer_key", "K"),
                                  ("erp.credentials.access_token", "T"), ("erp.settings.auth_url", "FX_AUTH")))


def test_yaml_syntax_error_names_file_and_line(tmp_path, capsys):
    lines = GOOD.splitlines()
    broken = next(i for i, line in enumerate(lines) if "orders: {" in line)
    lines[broken] = lines[broken].replace("{entity: orders,", "{entity: orders")  # a comma short
    path = write(tmp_path, "\n".join(lines))
    code, _, err = validate(capsys, path)
    assert code == 2 and err.startswith(f"error: {path}, line {broken + 1}, column ") and "not valid YAML" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("start_date, expected", [
    ("2026-02-30", "line 4, column 17: not valid YAML: '2026-02-30' is not a date (day is out of range for month)"),
    ("2026-13-01", "line 4, column 17: not valid YAML: '2026-13-01' is not a date (month must be in 1..12)"),
    ("next monday", "integrations[shop1].start_date: Input should be a valid date"),
    ("01/02/2026", "(got '01/02/2026'; write a date as YYYY-MM-DD)"),
])
def test_a_bad_start_date_is_a_message(tmp_path, capsys, start_date, expected):
    path = write(tmp_path, GOOD.replace("start_date: 2026-01-01", f"start_date: {start_date}"))
    with pytest.raises(config.ConfigError) as err:
        config.load(path)
    assert str(path) in str(err.value) and expected in str(err.value)
    code, _, out_err = validate(capsys, path)
    assert code == 2 and out_err.startswith("error: ") and expected in out_err


def test_the_demo_and_the_test_files_validate_without_a_finding(tmp_path, capsys):
    """The env of the test session (conftest) sets every credential the demo names."""
    code, out, err = validate(capsys, config.DEFAULT_CONFIG)
    assert (code, err) == (0, "") and out.startswith("demo: 2 connections")
    definitions(tmp_path, "http://127.0.0.1:1", "http://127.0.0.1:2", shop_options={"missing_sku": "generate"})
    assert config_check.check(config.load(tmp_path / "integrations.yaml")) == []


def test_every_option_a_connector_reads_is_declared():
    """The names read in the connectors' code (``options.get("x")``, ``options["x"]``) are the ones
    ``validate`` accepts: an option added to the code without its declaration fails here."""
    # Computed by a connector's prepare(), never from the YAML: WooCommerce's from /taxes; a leading
    # underscore marks the others (Shopbox's _branches)
    derived = {"tax_rate_by_id"}
    for system in SYSTEMS:
        cls = resource_class(system)
        package = CONNECTORS / cls.__module__.split(".")[-2]
        read = set()
        for source in package.glob("*.py"):
            text = source.read_text()
            read |= set(re.findall(r"options(?:\.get\(|\[)[\"'](\w+)[\"']", text))
            for pair in re.findall(r"Places\([^,]+,\s*\"(\w+)\",\s*\"(\w+)\"", text):  # connectors.places
                read |= set(pair)
        if not cls.options_model:  # a connector that reads no option declares none
            assert read == set(), f"{system} reads options {sorted(read)} it does not declare"
            continue
        declared = set(options_model(cls).model_fields)
        assert read, system
        own = {name for name in read if name.startswith("_")}
        assert read - declared - set(config_check.ENGINE_SET) - derived - own == set(), system
        assert declared - read == set(), f"{system} declares options it never reads"


MARKET = """
integrations:
  - name: market
    start_date: 2026-11-01
    connections:
      shop: {system: woocommerce, base_url: "http://shop.invalid", triggers: 15min,
             credentials: {consumer_key: {env: K}, consumer_secret: {env: S}}}
      hub: {system: hub}
      tradera: {system: tradera, triggers: manual, credentials: {app_key: {env: A}}, settings: {app_id: "1"}}
    flows:
      products_in: {entity: products, source: shop, target: hub}
      products_out: {entity: products, source: hub, target: tradera, options: {category: 1}}
      orders_in: {entity: orders, source: tradera, target: hub, triggers: {schedule: 15min, sensor: false}}
"""


def test_a_connection_names_the_triggers_of_its_flows_as_the_seed_does(tmp_path):
    flows = config.load(write(tmp_path, MARKET)).integrations[0].flows
    assert (flows["products_in"].triggers.schedule, flows["products_in"].triggers.sensor) == ("15min", False)
    manual = flows["products_out"].triggers  # from the target's: the hub names none
    assert (manual.schedule, manual.sensor, manual.reconcile, manual.drift_check) == (None, False, None, None)
    assert flows["orders_in"].triggers.schedule == "15min"  # a flow's own triggers win


def test_validate_warns_when_a_connections_schedules_need_more_calls_than_its_quota(tmp_path):
    from integrations_dagster.config_check import check

    found = [f for f in check(config.load(write(tmp_path, MARKET))) if f.where.endswith("connections.tradera")]
    # orders_in: 96 scheduled reads + 1 reconcile read + 24 hourly drift checks (the hub verifies orders)
    assert len(found) == 1 and "121 calls a day" in found[0].message and "quota of 100" in found[0].message
