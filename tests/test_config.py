"""The integrations YAML: the demo validates; bad files get errors naming file and field."""

import textwrap

import pytest

from integrations_dagster import config
from integrations_dagster.cli import main

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
    assert [i.name for i in file.integrations] == ["demo"]
    assert set(file.integrations[0].flows) == {"products", "orders", "stock"}


def test_schedule_presets_and_cron(tmp_path):
    flow = config.load(write(tmp_path, GOOD)).integrations[0].flows["orders"]
    assert flow.triggers.cron() == "0 */2 * * *"


@pytest.mark.parametrize("change, expected", [
    ("system: fortnox", "unknown system"),
    ("credentials: {access_token: {env: T}}", "credentials"),
    ("target: erp", "no connection named"),
    ("schedule: 2h", "neither one of"),
])
def test_errors_name_file_and_field(tmp_path, change, expected):
    bad = {
        "system: fortnox": GOOD.replace("system: fortnox", "system: fortknox"),
        "credentials: {access_token: {env: T}}": GOOD.replace("{access_token: {env: T}}", "{access_token: hunter2}"),
        "target: erp": GOOD.replace("target: erp", "target: erpp"),
        "schedule: 2h": GOOD.replace("schedule: 2h", "schedule: every now and then"),
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
