"""The command line: connection tests (F1) say clearly whether the credentials work; ``log`` reads the
sync log the runs wrote (filtered, as table, JSON or CSV) and never creates a store; ``make demo``
leaves its session in a private env file."""

import csv
import io
import json
import os
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import MetaData, Table, create_engine, inspect, update

from flowkit import definitions
from integrations_dagster.cli import main
from integrations_dagster.state import FlowRef, StateStore
from integrations_dagster.state.tables import sync_log


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


def test_connect_checks_the_till_and_the_store(tmp_path, zettle_empty, bigcommerce_empty, monkeypatch, capsys):
    """Seed 004: "Connect both accounts"; connect says what each system answered, or what is wrong."""
    from zettlekit import integrations_file

    integrations_file(tmp_path, zettle_empty.url, bigcommerce_empty.url)
    config = str(tmp_path / "integrations.yaml")
    assert main(["connect", "--config", config, "pos", "till"]) == 0
    assert main(["connect", "--config", config, "pos", "shop"]) == 0
    out = capsys.readouterr().out
    assert "pos.till: OK" in out and "Zettle" in out and "pos.shop: OK" in out and "currency SEK" in out
    monkeypatch.setenv("ZETTLE_API_KEY", "a-revoked-key")
    assert main(["connect", "--config", config, "pos", "till"]) == 2
    err = capsys.readouterr().err
    assert "refused the grant" in err and "a-revoked-key" not in err and "Traceback" not in err
    monkeypatch.setenv("BIGCOMMERCE_ACCESS_TOKEN", "not-the-token")
    assert main(["connect", "--config", config, "pos", "shop"]) == 2
    err = capsys.readouterr().err
    assert "401" in err and "not-the-token" not in err and "Traceback" not in err


def test_connect_names_a_missing_environment_variable(tmp_path, woo_sandbox, fortnox_empty, monkeypatch, capsys):
    definitions(tmp_path, woo_sandbox.url, fortnox_empty.url)
    monkeypatch.delenv("WOO_CONSUMER_SECRET")
    assert main(["connect", "--config", str(tmp_path / "integrations.yaml"), "demo", "shop"]) == 2
    assert "WOO_CONSUMER_SECRET" in capsys.readouterr().err


# -- log: the sync log as the runs wrote it, never an empty new store ----------------------------


REPO = Path(__file__).resolve().parents[1]
PRODUCTS = FlowRef("demo.products", "shop", "erp", "products")


def _write_log(store: StateStore) -> None:
    """Three runs' rows: r1 fails order 1001 and updates TEE-S's price, r2 fails order 1002."""
    store.record_failed("r1", "demo.orders", key="order-1001", stage="push", action="create",
                        error="HTTP 400: article TEE-XL not found (code 2000428)", source_id="1001")
    store.record_landed("r1", PRODUCTS, key="TEE-S", action="update", outcome="updated", record_hash="h1",
                        payload={"sku": "TEE-S"}, target_id="TEE-S", source_id="9/10", changed="price",
                        changes={"price": ["199.00", "209.00"]})
    store.record_failed("r2", "demo.orders", key="order-1002", stage="normalize", action="create",
                        error="order has no billing email and no customer account", source_id="1002")


def _set_times(store: StateStore, times: dict[str, datetime]) -> None:
    with store.engine.begin() as conn:
        for key, at in times.items():
            conn.execute(update(sync_log).where(sync_log.c.record_key == key).values(at=at))


def _json(capsys, *args) -> list[dict]:
    assert main(["log", "--format", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_log_without_a_state_store_names_the_path_and_creates_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("INTEGRATIONS_STATE_URL", raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["log"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(tmp_path / ".dagster_home" / "integrations_state.db") in err
    assert "make demo" in err and "DAGSTER_HOME" in err and "INTEGRATIONS_STATE_URL" in err
    assert "Traceback" not in err and list(tmp_path.iterdir()) == []  # no folder, no database

    elsewhere = tmp_path / "instance"
    monkeypatch.setenv("DAGSTER_HOME", str(elsewhere))
    assert main(["log", "--failed"]) == 2
    assert str(elsewhere / "integrations_state.db") in capsys.readouterr().err
    assert not elsewhere.exists()

    empty = tmp_path / "empty.db"
    empty.touch()  # a file, but not a state store: no sync_log table in it
    monkeypatch.setenv("INTEGRATIONS_STATE_URL", f"sqlite:///{empty}")
    assert main(["log"]) == 2
    assert "no sync_log table" in capsys.readouterr().err and empty.stat().st_size == 0


def test_log_on_a_store_without_a_sync_log_says_so(state_url, capsys):
    """SQLite or PostgreSQL (``make test`` runs both): a database without the table is no state store."""
    engine = create_engine(state_url)
    sync_log.drop(engine, checkfirst=True)
    assert main(["log"]) == 2
    err = capsys.readouterr().err
    assert "no sync_log table" in err and "INTEGRATIONS_STATE_URL" in err and "Traceback" not in err
    assert not inspect(engine).has_table("sync_log")  # and it is still not there
    engine.dispose()


def test_log_filters_by_run_flow_key_and_outcome(store, capsys):
    _write_log(store)
    failed = _json(capsys, "--failed")
    assert [(r["record_key"], r["outcome"], r["source_id"]) for r in failed] == [
        ("order-1001", "failed", "1001"), ("order-1002", "failed", "1002")]
    assert failed[0]["error"] == "HTTP 400: article TEE-XL not found (code 2000428)"
    assert [r["record_key"] for r in _json(capsys, "--run", "r2")] == ["order-1002"]
    assert [r["record_key"] for r in _json(capsys, "--flow", "demo.products")] == ["TEE-S"]
    assert [r["run_id"] for r in _json(capsys, "--key", "order-1001")] == ["r1"]
    assert [r["record_key"] for r in _json(capsys, "--flow", "demo.orders", "--run", "r1")] == ["order-1001"]
    assert [r["record_key"] for r in _json(capsys, "--limit", "1")] == ["order-1002"]  # the newest
    assert len(_json(capsys, "--limit", "0")) == 3
    assert _json(capsys, "--key", "no-such-record") == []


def test_log_json_nests_changes_and_csv_has_a_header(store, capsys):
    _write_log(store)
    (update_row,) = _json(capsys, "--key", "TEE-S")
    assert update_row["changed"] == "price" and update_row["changes"] == {"price": ["199.00", "209.00"]}
    assert main(["log", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["record_key"] for r in rows] == ["order-1001", "TEE-S", "order-1002"]
    assert {"run_id", "flow", "record_key", "stage", "action", "outcome", "error", "source_id", "target_id",
            "changed", "at"} <= set(rows[0])
    assert rows[2]["stage"] == "normalize" and rows[0]["target_id"] == ""


def test_log_since_takes_iso_and_relative_times_and_prints_the_zone(store, capsys):
    _write_log(store)
    recent = datetime.now(UTC) - timedelta(minutes=10)
    _set_times(store, {"order-1001": datetime(2025, 1, 1, 9, 0, tzinfo=UTC),
                       "TEE-S": datetime(2025, 1, 2, 9, 0, tzinfo=UTC), "order-1002": recent})
    assert [r["record_key"] for r in _json(capsys, "--since", "2025-01-02")] == ["TEE-S", "order-1002"]
    # naive is UTC; 10:00+01:00 is 09:00 UTC, and the bound is inclusive
    assert [r["record_key"] for r in _json(capsys, "--since", "2025-01-01T09:30")] == ["TEE-S", "order-1002"]
    assert len(_json(capsys, "--since", "2025-01-01T10:00+01:00")) == 3
    assert [r["record_key"] for r in _json(capsys, "--since", "30m")] == ["order-1002"]
    assert [r["record_key"] for r in _json(capsys, "--since", "2d", "--failed")] == ["order-1002"]
    rows = _json(capsys, "--since", "2025-01-01")
    assert rows[0]["at"] == "2025-01-01T09:00:00+00:00"
    assert datetime.fromisoformat(rows[2]["at"]) == recent

    assert main(["log", "--since", "2025-01-02"]) == 0  # the table: to the second, with the zone
    out = capsys.readouterr().out
    assert "2025-01-02T09:00:00+00:00" in out and "order-1001" not in out

    for bad in ("yesterday", "2025-13-01", "5 minutes"):
        assert main(["log", "--since", bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: --since {bad!r}") and err.count("\n") == 1 and "Traceback" not in err


def test_log_reads_an_older_store_without_the_changes_column(tmp_path, monkeypatch, capsys):
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    old = Table("sync_log", MetaData(), *(c.copy() for c in sync_log.columns if c.name != "changes"))
    old.create(engine)
    with engine.begin() as conn:
        conn.execute(old.insert().values(run_id="r0", flow="demo.stock", record_key="MUG", stage="push",
                                         action="update", outcome="failed", error="HTTP 503",
                                         at=datetime(2025, 3, 1, 12, 0, tzinfo=UTC)))
    engine.dispose()
    monkeypatch.setenv("INTEGRATIONS_STATE_URL", f"sqlite:///{tmp_path / 'old.db'}")
    (row,) = _json(capsys, "--failed")
    assert row["record_key"] == "MUG" and "changes" not in row and row["at"] == "2025-03-01T12:00:00+00:00"


# -- make demo's env file ---------------------------------------------------------------------------

def test_demo_env_file_is_private_sourceable_and_git_ignored(tmp_path):
    secret = "cs_demo_5ecr3t with 'quotes' and $dollars"
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"), "WOO_CONSUMER_SECRET": secret}
    stale = tmp_path / ".demo.env"
    stale.write_text("old")
    stale.chmod(0o644)  # a file left readable by others must not stay so
    done = subprocess.run(["bash", "-c", f"umask 022; exec bash {REPO / 'scripts' / 'demo_env.sh'} .demo.env "
                           "DAGSTER_HOME WOO_CONSUMER_SECRET"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=True)
    assert secret not in done.stdout + done.stderr
    assert stat.S_IMODE(stale.stat().st_mode) == 0o600
    sourced = subprocess.run(["bash", "-c", 'source .demo.env && printf "%s\\n%s" "$DAGSTER_HOME" '
                              '"$WOO_CONSUMER_SECRET"'], cwd=tmp_path, env={"PATH": os.environ["PATH"]},
                             capture_output=True, text=True, check=True)
    assert sourced.stdout == f"{tmp_path / 'home'}\n{secret}"
    ignored = subprocess.run(["git", "check-ignore", "-q", ".demo.env"], cwd=REPO)
    assert ignored.returncode == 0
    demo = (REPO / "scripts" / "demo.sh").read_text()
    assert "scripts/demo_env.sh .demo.env" in demo and "source .demo.env" in demo


def test_demo_env_file_refuses_an_unset_variable(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NOT_SET_ANYWHERE"}
    done = subprocess.run(["bash", str(REPO / "scripts" / "demo_env.sh"), "e.env", "NOT_SET_ANYWHERE"],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 2 and "NOT_SET_ANYWHERE is not set" in done.stderr
    assert not (tmp_path / "e.env").exists()
