"""The command line: connection tests (F1) say clearly whether the credentials work."""

from flowkit import definitions
from integrations_dagster.cli import main


def test_connect_says_ok_with_good_credentials_and_why_not_with_bad(tmp_path, woo_sandbox, fortnox_empty,
                                                                    monkeypatch, capsys):
    definitions(tmp_path, woo_sandbox.url, fortnox_empty.url)  # writes tmp_path/integrations.yaml
    config = str(tmp_path / "integrations.yaml")
    assert main(["connect", "--config", config, "demo", "shop"]) == 0
    assert main(["connect", "--config", config, "demo", "erp"]) == 0
    out = capsys.readouterr().out
    assert "demo.shop: OK" in out and "demo.erp: OK" in out
    monkeypatch.setenv("FORTNOX_ACCESS_TOKEN", "not-the-token")
    assert main(["connect", "--config", config, "demo", "erp"]) == 2
    err = capsys.readouterr().err
    assert "401" in err and "not-the-token" not in err and "Traceback" not in err


def test_connect_names_a_missing_environment_variable(tmp_path, woo_sandbox, fortnox_empty, monkeypatch, capsys):
    definitions(tmp_path, woo_sandbox.url, fortnox_empty.url)
    monkeypatch.delenv("WOO_CONSUMER_SECRET")
    assert main(["connect", "--config", str(tmp_path / "integrations.yaml"), "demo", "shop"]) == 2
    assert "WOO_CONSUMER_SECRET" in capsys.readouterr().err
