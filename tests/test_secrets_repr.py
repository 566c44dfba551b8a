"""No object that holds a credential shows it: not the connectors' resources, their HTTP clients, the
OAuth token chain, nor anything a failure carries — the exception, its chain, its formatted traceback
and the locals of every frame (what ``pytest --showlocals`` or an error tracker prints).

Each test makes a real operation fail inside a connector over real HTTP against a sandbox (5xx on
every request, a POST that times out, wrong credentials, a token endpoint that fails), then looks for
every fake secret of tests/conftest.py verbatim, base64 (at each of the three alignments, so inside a
longer encoding such as HTTP Basic's ``base64(key:secret)`` too; standard and URL-safe alphabets) and
URL-encoded (``quote``/``quote_plus``)."""

from __future__ import annotations

import base64
import traceback
from decimal import Decimal
from urllib.parse import quote, quote_plus

import pytest
import requests

from conftest import (
    BIGCOMMERCE_CREDENTIALS, BIGCOMMERCE_STORE_HASH, BIGCOMMERCE_TOKEN, FORTNOX_CLIENT_ID, FORTNOX_CLIENT_SECRET,
    FORTNOX_REFRESH, FORTNOX_TOKEN, WOO_KEY, WOO_SECRET, ZETTLE_API_KEY, ZETTLE_CLIENT_ID, ZETTLE_CREDENTIALS,
)
from flowkit import MemoryBinder
from integrations_dagster.connectors.base import Change, Window, WriteContext
from integrations_dagster.connectors.fortnox import FortnoxResource
from integrations_dagster.connectors.http import ApiError, RetryPolicy, TransientError
from integrations_dagster.connectors.woocommerce import WooCommerceResource
from integrations_dagster.model import StockLevel

SECRETS = {"WOO_KEY": WOO_KEY, "WOO_SECRET": WOO_SECRET, "FORTNOX_TOKEN": FORTNOX_TOKEN,
           "FORTNOX_CLIENT_SECRET": FORTNOX_CLIENT_SECRET, "FORTNOX_REFRESH": FORTNOX_REFRESH,
           "ZETTLE_API_KEY": ZETTLE_API_KEY, "BIGCOMMERCE_TOKEN": BIGCOMMERCE_TOKEN}
# How HTTP Basic auth sends a pair: base64("user:password").
PAIRS = {"WOO_KEY:WOO_SECRET": f"{WOO_KEY}:{WOO_SECRET}",
         "FORTNOX_CLIENT_ID:FORTNOX_CLIENT_SECRET": f"{FORTNOX_CLIENT_ID}:{FORTNOX_CLIENT_SECRET}"}


def _base64_cores(value: str) -> set[str]:
    """The base64 characters that depend on ``value`` alone, for each of the 3 byte alignments it can
    have inside a longer encoded string (standard and URL-safe alphabets)."""
    raw = value.encode()
    cores = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode()
        core = encoded[-(-8 * shift // 6):(8 * (shift + len(raw))) // 6]
        cores |= {core, core.translate(str.maketrans("+/", "-_"))}
    return cores


def forms() -> dict[str, str]:
    """Every form a secret may take in text: form -> its name ("WOO_KEY base64", ...)."""
    found: dict[str, str] = {}
    for name, value in {**SECRETS, **PAIRS}.items():
        if name in SECRETS:  # the first name of a form wins: these secrets URL-encode as themselves
            found.setdefault(value, f"{name} verbatim")
            found.setdefault(quote(value, safe=""), f"{name} url-encoded")
            found.setdefault(quote_plus(value), f"{name} url-encoded (plus)")
        found.setdefault(base64.b64encode(value.encode()).decode(), f"{name} base64")
        for core in _base64_cores(value):
            found.setdefault(core, f"{name} base64 (inside a longer encoding)")
    assert all(len(form) >= 16 for form in found)  # none is short enough to match by chance
    return found


def _safe_repr(value) -> str:
    try:
        return repr(value)
    except Exception as exc:  # a repr that fails says nothing
        return f"<repr failed: {type(exc).__name__}>"


def _chain(exc: BaseException) -> list[BaseException]:
    seen, todo, out = set(), [exc], []
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        out.append(e)
        todo += [e.__cause__, e.__context__]
    return out


class Scan:
    """Text a failure exposes, labelled by where it comes from."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, str]] = []
        self.frames = 0
        self.exceptions = 0

    def add(self, where: str, text: str) -> None:
        self.parts.append((where, text))

    def failure(self, exc: BaseException) -> None:
        self.add("format_exception", "".join(traceback.format_exception(exc)))
        self.add("format with locals", "".join(traceback.TracebackException.from_exception(
            exc, capture_locals=True).format()))
        for e in _chain(exc):
            self.exceptions += 1
            label = type(e).__name__
            self.add(f"str({label})", str(e))
            self.add(f"repr({label})", repr(e))
            for attr, value in vars(e).items():
                self.add(f"{label}.{attr}", _safe_repr(value))
            tb = e.__traceback__
            while tb is not None:
                self.frames += 1
                code = tb.tb_frame.f_code
                for name, value in tb.tb_frame.f_locals.items():
                    self.add(f"local {name!r} of {code.co_name} ({code.co_filename.rsplit('/', 1)[-1]}:"
                             f"{tb.tb_lineno}) in the traceback of {label}", _safe_repr(value))
                tb = tb.tb_next

    def objects(self, **objects) -> None:
        for where, obj in objects.items():
            self.add(f"repr({where})", _safe_repr(obj))
            self.add(f"str({where})", str(obj))

    @property
    def characters(self) -> int:
        return sum(len(text) for _, text in self.parts)

    def findings(self) -> list[str]:
        out = []
        for form, name in forms().items():
            for where, text in self.parts:
                if form in text:
                    at = text.index(form)
                    out.append(f"{name} in {where}: …{text[max(at - 60, 0):at + len(form) + 20]}…")
        return out


def fail(operation) -> BaseException:
    """Run ``operation`` and return what it raised (it must raise)."""
    try:
        operation()
    except Exception as exc:  # noqa: BLE001 - the point is to look at it
        return exc
    pytest.fail("the operation did not fail")


def knobs(running, **values) -> None:
    requests.post(f"{running.url}/__sandbox__/knobs", json=values, timeout=10).raise_for_status()


def requests_seen(running) -> int:
    return requests.get(f"{running.url}/__sandbox__/stats", timeout=10).json()["total"]


def assert_nothing_exposed(scan: Scan, min_frames: int, min_characters: int) -> None:
    found = scan.findings()
    assert not found, f"{len(found)} exposures:\n" + "\n".join(found[:25])
    assert scan.frames >= min_frames, scan.frames  # the scan saw the failure's path, not a stub
    assert scan.characters >= min_characters, scan.characters


def woo(running, **extra) -> WooCommerceResource:
    return WooCommerceResource(**{"base_url": running.url, "consumer_key": WOO_KEY, "consumer_secret": WOO_SECRET,
                                  "timeout": 5, "max_attempts": 2, **extra})


def test_the_forms_looked_for_are_found_where_they_are():
    """The scan itself: it finds a Basic-auth header, a secret inside a longer base64 text, a
    URL-encoded query string and a verbatim tuple."""
    basic = requests.auth._basic_auth_str(WOO_KEY, WOO_SECRET)
    for text, name in [(basic, "WOO_KEY:WOO_SECRET base64"),
                       (base64.b64encode(f"x{FORTNOX_REFRESH}yz".encode()).decode(), "FORTNOX_REFRESH base64"),
                       (base64.b64encode(f"xy{FORTNOX_TOKEN}".encode()).decode(), "FORTNOX_TOKEN base64"),
                       (f"?consumer_secret={quote_plus(WOO_SECRET)}", "WOO_SECRET"),
                       (repr((WOO_KEY, "x")), "WOO_KEY verbatim")]:
        scan = Scan()
        scan.add("sample", text)
        assert any(f.startswith(name) for f in scan.findings()), (text, scan.findings())


def test_resources_clients_and_token_chain_show_no_credential(fortnox_sandbox, state_url):
    shop = WooCommerceResource(base_url="https://shop.example", consumer_key=WOO_KEY, consumer_secret=WOO_SECRET)
    fx = FortnoxResource(base_url=fortnox_sandbox.url, auth_url=f"{fortnox_sandbox.url}/oauth-v1",
                         client_id=FORTNOX_CLIENT_ID, client_secret=FORTNOX_CLIENT_SECRET,
                         refresh_token=FORTNOX_REFRESH, access_token=FORTNOX_TOKEN, rate_limit=0)
    assert fx.test_connection().startswith("Fortnox")  # a token was got: the chain holds live ones now
    token = fx.tokens()
    scan = Scan()
    scan.objects(woo=shop, woo_http=shop.http, woo_auth=shop.http.auth, woo_headers=shop.http.session.headers,
                 fortnox=fx, fortnox_http=fx.http(), fortnox_auth=fx.http().auth, token=token,
                 token_current=token.current, renew_on_401=fx.http().on_unauthorized)
    found = scan.findings()
    assert not found, f"{len(found)} exposures:\n" + "\n".join(found[:25])
    live = token.current()
    assert not any(live in text for _, text in scan.parts)  # the rotated access token does not show either
    shown = dict(scan.parts)["repr(woo)"]
    assert "consumer_key=" in shown and "https://shop.example" in shown  # masked, not dropped
    assert "base_url=" in dict(scan.parts)["repr(woo_http)"]


def test_woocommerce_5xx_on_every_request(woo_sandbox):
    shop = woo(woo_sandbox)
    knobs(woo_sandbox, fault_rate=1.0)
    exc = fail(lambda: list(shop.read("products", Window(), {})))
    assert isinstance(exc, TransientError) and exc.status >= 500
    assert requests_seen(woo_sandbox) >= 2  # it went over HTTP, and was retried
    scan = Scan()
    scan.failure(exc)
    scan.objects(resource=shop, client=shop.http)
    assert_nothing_exposed(scan, min_frames=5, min_characters=7_000)


def test_woocommerce_post_that_times_out(woo_sandbox):
    """A POST whose answer never comes (the batch write), then the look-up that fails too: the
    errors raised from inside ``requests``' exception handling must not carry its frames (whose
    locals hold the auth pair and the ``Authorization`` header)."""
    shop = woo(woo_sandbox, timeout=0.3)
    knobs(woo_sandbox, timeout_rate=1.0, timeout_hold_s=1.0)
    change = Change("update", "SKU-1", StockLevel(sku="SKU-1", quantity=Decimal(3)))
    binder = MemoryBinder({"SKU-1": "1"})
    exc = fail(lambda: list(shop.write("stock", [change], WriteContext(binder, binder))))
    assert isinstance(exc, TransientError) and "timed out" in str(exc)
    scan = Scan()
    scan.failure(exc)
    scan.objects(resource=shop, client=shop.http)
    assert_nothing_exposed(scan, min_frames=9, min_characters=12_000)
    assert not any(isinstance(e, requests.RequestException) for e in _chain(exc))  # nor their frames


def test_woocommerce_wrong_secret(woo_sandbox):
    """The vendor refuses the secret (which contains the right one: a leak of it would show)."""
    shop = woo(woo_sandbox, consumer_secret=WOO_SECRET + "_wrong")
    exc = fail(shop.test_connection)
    assert isinstance(exc, ApiError) and exc.status == 401
    scan = Scan()
    scan.failure(exc)
    scan.objects(resource=shop, client=shop.http)
    assert_nothing_exposed(scan, min_frames=4, min_characters=4_000)


def test_fortnox_bearer_token_5xx_on_every_request(fortnox_sandbox):
    fx = FortnoxResource(base_url=fortnox_sandbox.url, access_token=FORTNOX_TOKEN, rate_limit=0, max_attempts=2)
    knobs(fortnox_sandbox, fault_rate=1.0)
    exc = fail(lambda: list(fx.read("stock", Window(), {})))
    assert isinstance(exc, TransientError) and exc.status >= 500
    scan = Scan()
    scan.failure(exc)
    scan.objects(resource=fx, client=fx.http())
    assert_nothing_exposed(scan, min_frames=5, min_characters=6_000)


def test_fortnox_token_endpoint_fails_while_a_request_is_prepared(fortnox_sandbox, state_url):
    """OAuth2: the token endpoint answers 5xx while the first request is being signed, so the
    failure passes through the token chain (client secret, refresh token) and ``requests``' frames."""
    fx = FortnoxResource(base_url=fortnox_sandbox.url, auth_url=f"{fortnox_sandbox.url}/oauth-v1",
                         client_id=FORTNOX_CLIENT_ID, client_secret=FORTNOX_CLIENT_SECRET,
                         refresh_token=FORTNOX_REFRESH, rate_limit=0, max_attempts=2)
    fx.tokens().retry = RetryPolicy(attempts=2, base_delay=0.01)
    knobs(fortnox_sandbox, fault_rate=1.0)
    exc = fail(lambda: list(fx.read("stock", Window(), {})))
    assert isinstance(exc, TransientError) and "oauth-v1/token" in str(exc)
    scan = Scan()
    scan.failure(exc)
    scan.objects(resource=fx, client=fx.http(), token=fx.tokens())
    assert_nothing_exposed(scan, min_frames=12, min_characters=15_000)


def test_fortnox_token_refused_after_the_chain_rotated(fortnox_sandbox, state_url):
    """A chain that rotated (the store holds live tokens), then the API refuses the access token and
    the token endpoint fails (5xx): what the failure carries names neither the first nor the
    rotated tokens."""
    fx = FortnoxResource(base_url=fortnox_sandbox.url, auth_url=f"{fortnox_sandbox.url}/oauth-v1",
                         client_id=FORTNOX_CLIENT_ID, client_secret=FORTNOX_CLIENT_SECRET,
                         refresh_token=FORTNOX_REFRESH, rate_limit=0, max_attempts=2)
    fx.test_connection()
    token = fx.tokens()
    held = token.store.token(token.key)
    live = [held["access_token"], held["refresh_token"]]
    token.retry = RetryPolicy(attempts=2, base_delay=0.01)
    knobs(fortnox_sandbox, fault_rate=1.0)
    exc = fail(token.refused)
    assert isinstance(exc, TransientError)
    scan = Scan()
    scan.failure(exc)
    scan.objects(resource=fx, client=fx.http(), token=token)
    assert_nothing_exposed(scan, min_frames=3, min_characters=4_000)
    rotated = [f"rotated token in {where}" for where, text in scan.parts for t in live if t in text]
    assert not rotated, rotated


def test_zettle_and_bigcommerce_resources_and_their_failures_show_no_credential():
    """The API key (a JWT used as an assertion), the access token it buys, and BigCommerce's
    ``X-Auth-Token`` stay out of reprs and of the errors a failing store raises."""
    from integrations_dagster.connectors.bigcommerce.client import BigCommerceResource
    from integrations_dagster.connectors.zettle.client import ZettleResource
    from integrations_dagster.sandbox.runner import start_in_thread

    zettle = start_in_thread("zettle", credentials=ZETTLE_CREDENTIALS, demo=True)
    bigcommerce = start_in_thread("bigcommerce", credentials=BIGCOMMERCE_CREDENTIALS, demo=True)
    try:
        till = ZettleResource(base_url=f"{zettle.url}/{{service}}", auth_url=f"{zettle.url}/oauth",
                              client_id=ZETTLE_CLIENT_ID, api_key=ZETTLE_API_KEY, max_attempts=2)
        shop = BigCommerceResource(base_url=bigcommerce.url, store_hash=BIGCOMMERCE_STORE_HASH,
                                   access_token=BIGCOMMERCE_TOKEN, max_attempts=2)
        assert till.test_connection().startswith("Zettle") and shop.test_connection().startswith("BigCommerce")
        live = till.token().current()
        scan = Scan()
        scan.objects(till=till, till_http=till.service("products"), till_auth=till.service("products").auth,
                     token=till.token(), shop=shop, shop_http=shop.http)
        knobs(bigcommerce, fault_rate=1.0)
        scan.failure(fail(lambda: shop.http.get("/v3/catalog/products")))
        knobs(zettle, fault_rate=1.0)
        scan.failure(fail(lambda: list(till.read("products", Window(), {}))))
        assert_nothing_exposed(scan, min_frames=5, min_characters=5_000)
        assert not any(live in text for _, text in scan.parts)
    finally:
        zettle.stop()
        bigcommerce.stop()
