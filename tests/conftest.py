"""Shared fixtures: sandboxes on free loopback ports with distinctive fake credentials."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from integrations_dagster.sandbox.base import Knobs
from integrations_dagster.sandbox.runner import start_in_thread

# The vendors' contracts live in ../shared beside the repository (a copy sits beside CI's clone too).
API_SPECS = Path(os.environ.get("INTEGRATIONS_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "api-specs"

# Distinctive fake secrets: the secrets test greps for them everywhere they must not be.
WOO_KEY = "ck_test_5ecr3t_k3y_do_not_leak_0001"
WOO_SECRET = "cs_test_5ecr3t_s3cret_do_not_leak_0002"
FORTNOX_TOKEN = "fx_test_5ecr3t_t0ken_do_not_leak_0003"
FORTNOX_CLIENT_ID = "fx_test_client_id_0004"
FORTNOX_CLIENT_SECRET = "fx_test_5ecr3t_client_do_not_leak_0005"
FORTNOX_REFRESH = "fx_test_5ecr3t_refresh_do_not_leak_0006"
ZETTLE_CLIENT_ID = "zt_test_client_id_0007"
ZETTLE_API_KEY = "zt_test_5ecr3t_api_key_do_not_leak_0008"
BIGCOMMERCE_STORE_HASH = "teststore1"
BIGCOMMERCE_TOKEN = "bc_test_5ecr3t_t0ken_do_not_leak_0009"
BIGCOMMERCE_CLIENT_SECRET = "bc_test_5ecr3t_client_do_not_leak_0012"

WOO_CREDENTIALS = {"consumer_key": WOO_KEY, "consumer_secret": WOO_SECRET}
FORTNOX_CREDENTIALS = {"access_token": FORTNOX_TOKEN, "client_id": FORTNOX_CLIENT_ID,
                       "client_secret": FORTNOX_CLIENT_SECRET, "refresh_token": FORTNOX_REFRESH}
SPECTER_SBM_ID = "4711"
SPECTER_API_USER_ID = "12"
SPECTER_USER_KEY = "sp_test_5ecr3t_user_key_do_not_leak_0013"
SPECTER_INTEGRATION_KEY = "sp_test_5ecr3t_integration_key_do_not_leak_0014"
SPECTER_CREDENTIALS = {"sbm_id": SPECTER_SBM_ID, "api_user_id": SPECTER_API_USER_ID, "user_key": SPECTER_USER_KEY,
                       "integration_key": SPECTER_INTEGRATION_KEY}
RACKBEAT_API_KEY = "rb_test_5ecr3t_api_key_do_not_leak_0015"
RACKBEAT_CREDENTIALS = {"api_key": RACKBEAT_API_KEY}
SHOPBOX_USERNAME = "kasse@example.no"
SHOPBOX_PASSWORD = "sb_test_5ecr3t_password_do_not_leak_0016"
SHOPBOX_CLIENT = "1701"  # the shop id every call names (``client=``)
SHOPBOX_CREDENTIALS = {"username": SHOPBOX_USERNAME, "password": SHOPBOX_PASSWORD, "client": SHOPBOX_CLIENT}
ZETTLE_CREDENTIALS = {"client_id": ZETTLE_CLIENT_ID, "api_key": ZETTLE_API_KEY}
BIGCOMMERCE_CREDENTIALS = {"store_hash": BIGCOMMERCE_STORE_HASH, "access_token": BIGCOMMERCE_TOKEN}
TRADERA_APP_ID = "4711"
TRADERA_APP_KEY = "5ec7e700-a99c-4e70-8000-000000000017"  # GUIDs [doc: plugin README], fake
TRADERA_PUBLIC_KEY = "2f0d9c44-8b1a-4c6e-9f3d-5a7b1e2c0d18"
TRADERA_USER_ID = "90210"
TRADERA_USER_TOKEN = "5ec7e700-70ce-4e70-8000-000000000019"
TRADERA_CREDENTIALS = {"app_id": TRADERA_APP_ID, "app_key": TRADERA_APP_KEY, "public_key": TRADERA_PUBLIC_KEY,
                       "user_id": TRADERA_USER_ID, "user_token": TRADERA_USER_TOKEN}


@contextmanager
def running(system: str, credentials: dict[str, str], seed: int, demo: bool) -> Iterator:
    """A sandbox on a free loopback port for the length of a test (``.url``, ``.sandbox``)."""
    sandbox = start_in_thread(system, credentials=credentials, knobs=Knobs(seed=seed), demo=demo)
    try:
        yield sandbox
    finally:
        sandbox.stop(wait=False)


@pytest.fixture
def woo_sandbox():
    """A WooCommerce sandbox with demo data; yields the RunningSandbox (``.url``, ``.sandbox``)."""
    with running("woocommerce", WOO_CREDENTIALS, 1, demo=True) as sandbox:
        yield sandbox


@pytest.fixture
def woo_empty():
    with running("woocommerce", WOO_CREDENTIALS, 1, demo=False) as sandbox:
        yield sandbox


@pytest.fixture
def fortnox_sandbox():
    """A Fortnox sandbox with demo data (price list "A", a few articles and customers)."""
    with running("fortnox", FORTNOX_CREDENTIALS, 2, demo=True) as sandbox:
        yield sandbox


@pytest.fixture
def fortnox_empty():
    with running("fortnox", FORTNOX_CREDENTIALS, 2, demo=False) as sandbox:
        yield sandbox


@pytest.fixture
def zettle_empty():
    """A Zettle sandbox with no products (an organization's library before the test fills it)."""
    with running("zettle", ZETTLE_CREDENTIALS, 3, demo=False) as sandbox:
        yield sandbox


@pytest.fixture
def bigcommerce_empty():
    """A BigCommerce sandbox with an empty catalog."""
    with running("bigcommerce", BIGCOMMERCE_CREDENTIALS, 4, demo=False) as sandbox:
        yield sandbox


@pytest.fixture
def specter_empty():
    """A Specter sandbox with an empty account (no articles, customers or orders)."""
    with running("specter", SPECTER_CREDENTIALS, 5, demo=False) as sandbox:
        yield sandbox


@pytest.fixture
def rackbeat_empty():
    """A Rackbeat sandbox with an empty account (no products, groups, locations or fields)."""
    with running("rackbeat", RACKBEAT_CREDENTIALS, 6, demo=False) as sandbox:
        yield sandbox


@pytest.fixture
def rackbeat_sandbox():
    """A Rackbeat sandbox with its demo account."""
    with running("rackbeat", RACKBEAT_CREDENTIALS, 6, demo=True) as sandbox:
        yield sandbox


@pytest.fixture
def shopbox_empty():
    """A Shopbox sandbox with an empty shop (no products, tags or baskets)."""
    with running("shopbox", SHOPBOX_CREDENTIALS, 7, demo=False) as sandbox:
        yield sandbox


@pytest.fixture
def shopbox_sandbox():
    """A Shopbox sandbox with its demo shop."""
    with running("shopbox", SHOPBOX_CREDENTIALS, 7, demo=True) as sandbox:
        yield sandbox


@pytest.fixture
def tradera_empty():
    """A Tradera sandbox with an active shop and no items (quota off unless a test sets it)."""
    with running("tradera", TRADERA_CREDENTIALS, 8, demo=False) as sandbox:
        yield sandbox


@pytest.fixture
def tradera_sandbox():
    """A Tradera sandbox with its demo shop (quota on: 100 calls per sliding 24 h)."""
    with running("tradera", TRADERA_CREDENTIALS, 8, demo=True) as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def _collect_garbage():
    """SQLite connections a test's runs leave to the garbage collector are collected after each test:
    collected later, inside pytest's ``ast.parse`` of a module imported at the session's end, their
    pool's "Cannot operate on a closed database" made CPython 3.11 fail that parse (SystemError: AST
    constructor recursion depth mismatch) and the session exit 1 with every test passed."""
    import gc

    yield
    gc.collect()


@pytest.fixture(autouse=True)
def _fake_secret_env(monkeypatch):
    monkeypatch.setenv("WOO_CONSUMER_KEY", WOO_KEY)
    monkeypatch.setenv("WOO_CONSUMER_SECRET", WOO_SECRET)
    monkeypatch.setenv("FORTNOX_ACCESS_TOKEN", FORTNOX_TOKEN)
    monkeypatch.setenv("FORTNOX_CLIENT_ID", FORTNOX_CLIENT_ID)
    monkeypatch.setenv("FORTNOX_CLIENT_SECRET", FORTNOX_CLIENT_SECRET)
    monkeypatch.setenv("FORTNOX_REFRESH_TOKEN", FORTNOX_REFRESH)
    monkeypatch.setenv("ZETTLE_CLIENT_ID", ZETTLE_CLIENT_ID)
    monkeypatch.setenv("ZETTLE_API_KEY", ZETTLE_API_KEY)
    monkeypatch.setenv("BIGCOMMERCE_ACCESS_TOKEN", BIGCOMMERCE_TOKEN)
    monkeypatch.setenv("BIGCOMMERCE_WEBHOOK_SECRET", BIGCOMMERCE_CLIENT_SECRET)
    monkeypatch.setenv("SPECTER_SBM_ID", SPECTER_SBM_ID)
    monkeypatch.setenv("SPECTER_API_USER_ID", SPECTER_API_USER_ID)
    monkeypatch.setenv("SPECTER_USER_KEY", SPECTER_USER_KEY)
    monkeypatch.setenv("SPECTER_INTEGRATION_KEY", SPECTER_INTEGRATION_KEY)
    monkeypatch.setenv("RACKBEAT_API_KEY", RACKBEAT_API_KEY)
    monkeypatch.setenv("SHOPBOX_USERNAME", SHOPBOX_USERNAME)
    monkeypatch.setenv("SHOPBOX_PASSWORD", SHOPBOX_PASSWORD)
    monkeypatch.setenv("SHOPBOX_CLIENT", SHOPBOX_CLIENT)
    monkeypatch.setenv("TRADERA_APP_KEY", TRADERA_APP_KEY)
    monkeypatch.setenv("TRADERA_USER_TOKEN", TRADERA_USER_TOKEN)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def in_a_pass_without_the_longest() -> bool:
    """The SQLite pass of ``make test`` in CI, where a PostgreSQL pass follows: the suites marked
    ``pg_pass`` (the longest) run there only, to keep ``make test`` within its time."""
    return in_ci() and not os.environ.get("INTEGRATIONS_TEST_PG_URL")


STORE_FIXTURES = {"state_url", "store", "_pg_database"}


def pytest_collection_modifyitems(config, items):
    if os.environ.get("INTEGRATIONS_TEST_PG_URL"):
        _only_what_the_store_changes(config, items)
    if not in_a_pass_without_the_longest():
        return
    later = pytest.mark.skip(reason="one of the longest suites: it runs in the PostgreSQL pass of make test")
    for item in items:
        if item.get_closest_marker("pg_pass"):
            item.add_marker(later)


def _only_what_the_store_changes(config, items) -> None:
    """The PostgreSQL pass runs the tests that reach the state store through its fixtures (and the
    reliability suites, whose figures are per backend): a test that never touches it runs the same on
    either backend, and the SQLite pass ran it already. Deselected, with a line saying how many."""
    kept, same = [], []
    for item in items:
        here = Path(str(item.fspath)).parent.name
        if STORE_FIXTURES & set(getattr(item, "fixturenames", ())) or here == "reliability" \
                or item.get_closest_marker("postgres"):
            kept.append(item)
        else:
            same.append(item)
    if same:
        config.hook.pytest_deselected(items=same)
        items[:] = kept
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"PostgreSQL pass: {len(same)} tests that never touch the state store are left "
                                "to the SQLite pass")


@pytest.fixture(scope="session")
def _pg_database():
    """A fresh PostgreSQL database for this session when INTEGRATIONS_TEST_PG_URL is set."""
    url = os.environ.get("INTEGRATIONS_TEST_PG_URL")
    if not url:
        yield None
        return
    from sqlalchemy import create_engine, text

    name = f"idg_test_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield url.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def state_url(tmp_path, _pg_database, monkeypatch):
    """The state store URL of one test: a fresh SQLite file, or emptied tables on PostgreSQL."""
    from integrations_dagster.state.resource import _store
    from integrations_dagster.state.tables import metadata

    if _pg_database:
        from sqlalchemy import create_engine

        from integrations_dagster.connectors.hub.tables import metadata as hub_metadata

        engine = create_engine(_pg_database)
        for tables in (metadata, hub_metadata):  # the hub keeps its records in the state store's database
            tables.drop_all(engine)
            tables.create_all(engine)
        engine.dispose()
        url = _pg_database
    else:
        url = f"sqlite:///{tmp_path / 'state.db'}"
    monkeypatch.setenv("INTEGRATIONS_STATE_URL", url)
    _store.cache_clear()
    yield url
    _store.cache_clear()


@pytest.fixture
def store(state_url):
    from integrations_dagster.state import StateStore

    s = StateStore(state_url)
    yield s
    s.dispose()


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler of a test's local HTTP endpoint (no access log on stderr)."""

    def log_message(self, *args):
        pass


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free local port from a thread; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture
def webhook_receiver():
    """A local HTTP endpoint that records JSON POSTs; yields (url, list of bodies)."""
    import json

    got: list[dict] = []

    class Hook(QuietHandler):
        def do_POST(self):  # noqa: N802
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

    with serving(Hook) as url:
        yield f"{url}/hook", got
