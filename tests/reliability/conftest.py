"""Reliability suites: figures recorded by the tests, written to docs/ at the end of the session."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import pytest

from reliability.relkit import BACKEND

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def _doc_module():
    spec = importlib.util.spec_from_file_location("reliability_doc", ROOT / "scripts" / "reliability_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RECORDED: dict[str, dict] = {}  # figures[suite][name] = value, of this session
RUN = {"reliability tests": 0, "passed": 0, "partial": [], "started": time.monotonic()}


@pytest.fixture(scope="session")
def figures():
    """``figures[suite][name] = value``: written to docs/ at the end of the session, and only when the
    session ran every reliability test and each passed (see :func:`pytest_sessionfinish`)."""
    return RECORDED


def _is_reliability(item) -> bool:
    return Path(str(item.fspath)).parent == HERE


def _later(item) -> bool:
    from conftest import in_a_pass_without_the_longest

    return bool(item.get_closest_marker("pg_pass")) and in_a_pass_without_the_longest()


def pytest_deselected(items):
    if any(_is_reliability(i) for i in items):
        RUN["partial"].append("some reliability tests were deselected (-k, -m, --deselect, --lf)")


def pytest_collection_finish(session):
    files = {Path(str(i.fspath)).name for i in session.items if _is_reliability(i)}
    missing = sorted(p.name for p in HERE.glob("test_*.py") if p.name not in files)
    if files and missing:
        RUN["partial"].append(f"not collected: {', '.join(missing)}")
    # (the longest suites run in the PostgreSQL pass only: the SQLite pass is complete without them)
    RUN["reliability tests"] = sum(_is_reliability(i) and not _later(i) for i in session.items)


def pytest_runtest_logreport(report):
    if report.when == "call" and report.passed and Path(report.fspath).parent.name == HERE.name:
        RUN["passed"] += 1


def pytest_sessionfinish(session, exitstatus):
    """Figures with provenance: from a complete, passing run only; a failing or partial run writes
    nothing (the last complete run's figures stay, with their own stamp)."""
    if not RECORDED or exitstatus != 0 or RUN["partial"] or RUN["passed"] != RUN["reliability tests"]:
        if RECORDED:
            why = RUN["partial"] or [f"exit status {exitstatus}, {RUN['passed']} of "
                                     f"{RUN['reliability tests']} reliability tests passed"]
            sys.stderr.write(f"\nreliability figures NOT written: {'; '.join(why)}\n"
                             f"{json.dumps(RECORDED, indent=1, default=str)}\n")
        return
    doc = _doc_module()
    try:
        existing = json.loads(doc.FIGURES.read_text())
    except (FileNotFoundError, ValueError):
        existing = {}
    provenance = {**doc.stamp(time.monotonic() - RUN["started"]), "reliability tests passed": RUN["passed"],
                  "CI": bool(os.environ.get("CI"))}
    existing[BACKEND] = {"provenance": provenance, **RECORDED}  # this backend's figures, whole
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
