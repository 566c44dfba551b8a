"""The browser test's harness: the real demo (`make demo`) on free ports, and Debian's Chromium.

Why real: the issue's promise is that a data engineer sees what synced and what failed *in the
Dagster UI*. Only the webserver + daemon that `make demo` starts, with its sensors launching runs,
shows that; so the session starts both sandboxes in this process, `dagster dev` as a subprocess
on a temporary ``DAGSTER_HOME``, and waits until the sensors have synced every demo flow once.

The browser is Debian's ``chromium`` (``make browser`` installs it); Playwright never downloads one.
Outside CI a missing Chromium or Playwright skips with the reason; in CI it fails.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests

from integrations_dagster.sandbox.base import Knobs
from integrations_dagster.sandbox.runner import RunningSandbox, start_in_thread

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / "docs" / "img"
VIEWPORT = {"width": 1400, "height": 900}
DEMO_JOBS = ("demo_products", "demo_orders", "demo_stock", "pos_products", "pos_stock", "pos_stock_back",
             "butik_products", "butik_prices", "butik_stock", "butik_orders")
# The daemon ticks the demo's sensors every 15-30 s and orders and stock wait for the first products
# sync (`after:`): a first successful run of all five takes one to two minutes on a 2-core machine.
FIRST_SYNC_TIMEOUT_S = 240
WEBSERVER_TIMEOUT_S = 60
# The probe that proved Debian's Chromium headless here used these flags: without the
# background-networking ones Chromium keeps dialling Google's hosts on a closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCATIONS_QUERY = """
query Locations { workspaceOrError {
  __typename
  ... on Workspace { locationEntries { name loadStatus
    locationOrLoadError { __typename ... on PythonError { message } } } }
  ... on PythonError { message }
} }"""
RUNS_QUERY = """
query Runs { runsOrError(limit: 200) {
  __typename
  ... on Runs { results { runId jobName status startTime tags { key value } } }
  ... on PythonError { message }
} }"""


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    """Skip outside CI; in CI the browser test must run, so a missing piece fails it."""
    if in_ci():
        pytest.fail(f"{reason} (CI must run the browser test: `make test` runs `make browser` first)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], Any], *, timeout: float, what: Callable[[], str], every: float = 2.0) -> Any:
    """Poll ``condition`` until it returns something truthy; on timeout fail with ``what()``,
    which says what was seen (runs and their statuses, the log's tail), not just "timed out"."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"after {timeout:.0f} s: {what()}", pytrace=False)
        time.sleep(every)


@dataclass
class Demo:
    """The running demo: where its UI, sandboxes, Dagster home and state store are."""

    ui: str
    home: Path
    woo: RunningSandbox
    woo_auth: tuple[str, str]
    fortnox: RunningSandbox
    process: subprocess.Popen
    log: Path

    @property
    def state_url(self) -> str:
        """The state store `make demo`'s runs use: the SQLite file beside Dagster's home."""
        return f"sqlite:///{self.home / 'integrations_state.db'}"

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        answer = requests.post(f"{self.ui}/graphql", json={"query": query, "variables": variables or {}},
                               timeout=30)
        answer.raise_for_status()
        body = answer.json()
        if body.get("errors"):
            raise AssertionError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def code_loaded(self) -> bool:
        """True once the code location loaded; a load error fails at once, with Dagster's message."""
        answer = self.graphql(LOCATIONS_QUERY)["workspaceOrError"]
        if answer["__typename"] != "Workspace":
            pytest.fail(f"the Dagster workspace did not load: {answer.get('message')}", pytrace=False)
        entries = answer["locationEntries"]
        for entry in entries:
            loaded = entry["locationOrLoadError"] or {}
            if loaded.get("__typename") == "PythonError":
                pytest.fail(f"code location {entry['name']} did not load:\n{loaded['message']}", pytrace=False)
        return bool(entries) and all(e["loadStatus"] == "LOADED" and e["locationOrLoadError"] for e in entries)

    def runs(self) -> list[dict]:
        """Every run of the instance, newest first: runId, jobName, status, startTime, tags."""
        answer = self.graphql(RUNS_QUERY)["runsOrError"]
        if answer["__typename"] != "Runs":
            raise AssertionError(f"runsOrError: {answer}")
        return answer["results"]

    def successful_runs(self, job: str) -> list[dict]:
        return [r for r in self.runs() if r["jobName"] == job and r["status"] == "SUCCESS"]

    def describe_runs(self) -> str:
        try:
            runs = self.runs()
        except Exception as exc:  # the webserver itself may be what is wrong
            return f"(runs unreadable: {exc})"
        listed = "\n".join(f"  {r['jobName']} {r['runId'][:8]} {r['status']}" for r in reversed(runs))
        return f"runs so far:\n{listed or '  none'}\n{self.log_tail()}"

    def log_tail(self, lines: int = 25) -> str:
        text = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "dagster dev log (last lines):\n" + "\n".join(text[-lines:])

    def answers(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"dagster dev exited with {self.process.returncode}\n{self.log_tail()}", pytrace=False)
        try:
            return requests.get(f"{self.ui}/server_info", timeout=5).ok
        except requests.RequestException:
            return False


def _start_dagster(home: Path, env: dict[str, str], port: int) -> tuple[subprocess.Popen, Path]:
    """`dagster dev` as `make demo` runs it, in a process group of its own (webserver, daemon and
    the run workers they spawn all stop with it)."""
    log = home / "dagster-dev.log"
    dagster = Path(sys.executable).parent / "dagster"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(dagster), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    return process, log


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the whole group (dagster dev stops its children on it), SIGKILL what is left."""
    for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
        try:  # the leader is gone; a straggler of its group may not be
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Iterator[Demo]:
    """The demo as `make demo` runs it, on free ports, after every demo flow synced once."""
    if os.environ.get("INTEGRATIONS_TEST_PG_URL"):
        pytest.skip("runs once, in `make test`'s SQLite pass: the demo keeps its state in SQLite beside "
                    "its Dagster home, so the PostgreSQL pass would show the same UI")
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    # Fresh random sandbox credentials per session, as scripts/demo.sh makes them.
    woo_auth = ("ck_" + secrets.token_hex(16), "cs_" + secrets.token_hex(16))
    fortnox_oauth = {"client_id": secrets.token_hex(16), "client_secret": secrets.token_hex(16),
                     "refresh_token": secrets.token_hex(16)}
    woo = start_in_thread("woocommerce", knobs=Knobs(),
                          credentials={"consumer_key": woo_auth[0], "consumer_secret": woo_auth[1]})
    fortnox = start_in_thread("fortnox", knobs=Knobs(), credentials=fortnox_oauth)
    zettle_auth = {"client_id": secrets.token_hex(16), "api_key": secrets.token_hex(16)}
    bigcommerce_auth = {"store_hash": "demostore", "access_token": secrets.token_hex(16)}
    zettle = start_in_thread("zettle", knobs=Knobs(), credentials=zettle_auth)
    bigcommerce = start_in_thread("bigcommerce", knobs=Knobs(), credentials=bigcommerce_auth)
    # butik: a second shop and a Specter account (API v2 keys), as `sandbox all` starts them
    butik_shop = start_in_thread("woocommerce", knobs=Knobs(),
                                 credentials={"consumer_key": woo_auth[0], "consumer_secret": woo_auth[1]})
    specter_auth = {"sbm_id": "4711", "api_user_id": "1", "user_key": secrets.token_hex(16),
                    "integration_key": secrets.token_hex(16)}
    specter = start_in_thread("specter", knobs=Knobs(), credentials=specter_auth)
    # kasse: Rackbeat and Shopbox (seed 003); its flows wait for the initial sync demo.sh runs
    rackbeat_auth = {"api_key": secrets.token_hex(16)}
    shopbox_auth = {"username": "kasse@example.no", "password": secrets.token_hex(16), "client": "1701"}
    rackbeat = start_in_thread("rackbeat", knobs=Knobs(), credentials=rackbeat_auth)
    shopbox = start_in_thread("shopbox", knobs=Knobs(), credentials=shopbox_auth)
    # market: the hub and a Tradera shop (seed 000); its product export and order import run on schedules
    tradera_auth = {"app_id": "4711", "app_key": secrets.token_hex(16), "public_key": secrets.token_hex(16),
                    "user_id": "90210", "user_token": secrets.token_hex(16)}
    tradera = start_in_thread("tradera", knobs=Knobs(), credentials=tradera_auth)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTEGRATIONS_", "DAGSTER_"))}
    env.update({
        "DAGSTER_HOME": str(home),
        "INTEGRATIONS_CONFIG": str(REPO / "integrations_dagster" / "demo" / "demo.yaml"),
        "WOO_BASE_URL": woo.url, "FORTNOX_BASE_URL": fortnox.url, "FORTNOX_AUTH_URL": f"{fortnox.url}/oauth-v1",
        "WOO_CONSUMER_KEY": woo_auth[0], "WOO_CONSUMER_SECRET": woo_auth[1],
        "FORTNOX_CLIENT_ID": fortnox_oauth["client_id"], "FORTNOX_CLIENT_SECRET": fortnox_oauth["client_secret"],
        "FORTNOX_REFRESH_TOKEN": fortnox_oauth["refresh_token"],
        "ZETTLE_BASE_URL": f"{zettle.url}/{{service}}", "ZETTLE_AUTH_URL": f"{zettle.url}/oauth",
        "ZETTLE_CLIENT_ID": zettle_auth["client_id"], "ZETTLE_API_KEY": zettle_auth["api_key"],
        "BIGCOMMERCE_BASE_URL": bigcommerce.url, "BIGCOMMERCE_STORE_HASH": bigcommerce_auth["store_hash"],
        "BIGCOMMERCE_ACCESS_TOKEN": bigcommerce_auth["access_token"],
        "BUTIK_WOO_BASE_URL": butik_shop.url, "SPECTER_BASE_URL": specter.url,
        "SPECTER_SBM_ID": specter_auth["sbm_id"], "SPECTER_API_USER_ID": specter_auth["api_user_id"],
        "SPECTER_USER_KEY": specter_auth["user_key"], "SPECTER_INTEGRATION_KEY": specter_auth["integration_key"],
        "RACKBEAT_BASE_URL": f"{rackbeat.url}/api", "RACKBEAT_API_KEY": rackbeat_auth["api_key"],
        "SHOPBOX_BASE_URL": f"{shopbox.url}/api/v3", "SHOPBOX_USERNAME": shopbox_auth["username"],
        "SHOPBOX_PASSWORD": shopbox_auth["password"], "SHOPBOX_CLIENT": shopbox_auth["client"],
        "TRADERA_BASE_URL": tradera.url, "TRADERA_APP_ID": tradera_auth["app_id"],
        "TRADERA_APP_KEY": tradera_auth["app_key"], "TRADERA_PUBLIC_KEY": tradera_auth["public_key"],
        "TRADERA_USER_ID": tradera_auth["user_id"], "TRADERA_USER_TOKEN": tradera_auth["user_token"],
    })
    for name in ("FORTNOX_ACCESS_TOKEN", "ALERT_SLACK_WEBHOOK"):
        env.pop(name, None)
    port = free_port()
    process, log = _start_dagster(home, env, port)
    running = Demo(ui=f"http://127.0.0.1:{port}", home=home, woo=woo, woo_auth=woo_auth, fortnox=fortnox,
                   process=process, log=log)
    try:
        wait_for(running.answers, timeout=WEBSERVER_TIMEOUT_S, every=1,
                 what=lambda: f"the Dagster webserver did not answer at {running.ui}\n{running.log_tail()}")
        wait_for(running.code_loaded, timeout=WEBSERVER_TIMEOUT_S, every=1,
                 what=lambda: f"the code location did not load\n{running.log_tail()}")
        # The "Join the Dagster community" dialog opens on loopback UIs until this is set: it would
        # cover every screenshot.
        running.graphql("mutation SetNuxSeen { setNuxSeen }")
        wait_for(lambda: all(running.successful_runs(job) for job in DEMO_JOBS), timeout=FIRST_SYNC_TIMEOUT_S,
                 what=lambda: f"the demo's sensors did not sync {', '.join(DEMO_JOBS)} successfully; "
                              f"{running.describe_runs()}")
        yield running
    finally:
        _stop(process)
        for sandbox in (woo, fortnox, zettle, bigcommerce, butik_shop, specter, rackbeat, shopbox, tradera):
            sandbox.stop()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (never a browser of Playwright's own)."""
    if not CHROMIUM.exists():
        unavailable(f"Debian's chromium is not installed at {CHROMIUM}: `make browser` installs it")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed: `make install` installs the test extras")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so ``page`` can tell it failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(request, browser, demo, tmp_path):
    """A fresh tab on the demo's UI at 1400×900, so screenshots stay small and alike. When the test
    failed, what the tab showed is saved beside the test's temporary files (never in docs/img)."""
    context = browser.new_context(viewport=VIEWPORT, base_url=demo.ui)
    context.set_default_timeout(20_000)
    tab = context.new_page()
    yield tab
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        shown = tmp_path / "failed.png"
        tab.screenshot(path=str(shown))
        print(f"the page when {request.node.name} failed ({tab.url}): {shown}")
    context.close()


def screenshot(page, name: str) -> Path:
    """Save ``docs/img/<name>.png`` (the README shows it): the viewport only, to keep it small."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
