"""Reliability suites: figures recorded by the tests, written to docs/ at the end of the session."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

from reliability.relkit import BACKEND

ROOT = Path(__file__).resolve().parents[2]


def _doc_module():
    spec = importlib.util.spec_from_file_location("reliability_doc", ROOT / "scripts" / "reliability_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def figures():
    """``figures[suite][name] = value``; merged into docs/reliability-figures.json under this backend."""
    recorded: dict[str, dict] = {}
    yield recorded
    if not recorded:
        return
    doc = _doc_module()
    try:
        existing = json.loads(doc.FIGURES.read_text())
    except (FileNotFoundError, ValueError):
        existing = {}
    mine = existing.setdefault(BACKEND, {})
    for suite, values in recorded.items():
        mine.setdefault(suite, {}).update(values)
    doc.write(existing)


@pytest.fixture(scope="session")
def zygote(dagster_home):
    """A pre-warmed interpreter that forks the processes a test kills (see crashkit)."""
    from reliability.crashkit import Zygote

    z = Zygote.start()
    if BACKEND == "postgresql":
        z.warm(dagster_home)
    yield z
    z.close()


@pytest.fixture(scope="session")
def dagster_home(tmp_path_factory):
    """DAGSTER_HOME of the reliability suites: the repository's dagster.yaml, and in the PostgreSQL
    pass Dagster's own storage (runs, events, schedules) on a fresh PostgreSQL database."""
    from reliability.crashkit import write_dagster_home

    home = tmp_path_factory.mktemp("dagster_home")
    url = os.environ.get("INTEGRATIONS_TEST_PG_URL")
    if not url:
        yield write_dagster_home(home, None)
        return
    from sqlalchemy import create_engine, text

    from integrations_dagster.state.store import normalize_url

    name = f"idg_dagster_{os.getpid()}"
    admin = create_engine(normalize_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield write_dagster_home(home, normalize_url(url).rsplit("/", 1)[0] + f"/{name}")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(scope="session")
def dagster_instance(dagster_home):
    """Dagster's instance for in-process runs: on PostgreSQL in the PostgreSQL pass, else in memory."""
    from dagster import DagsterInstance

    if BACKEND != "postgresql":
        yield DagsterInstance.ephemeral()
        return
    from reliability.crashkit import instance_for

    instance = instance_for(str(dagster_home))
    yield instance
    instance.dispose()


@pytest.fixture
def alert_env(monkeypatch):
    """The alert webhook the reliability integrations file names (nothing listens: alerts are not tested here)."""
    monkeypatch.setenv("RELIABILITY_ALERT_URL", "http://127.0.0.1:9/alert")
