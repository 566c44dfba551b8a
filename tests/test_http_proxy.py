"""The HTTP client reads the environment's proxy settings once, when it is built (``requests`` read
them on every request: a third of a parallel read's CPU), and still honours them: through the proxy
that ``HTTP_PROXY`` names, straight to a host that ``NO_PROXY`` lists. Over real HTTP: the "proxy"
is a local server that records each request line as it arrives."""

from __future__ import annotations

import json

import pytest

from conftest import QuietHandler, serving
from integrations_dagster.connectors.http import HttpClient


@pytest.fixture
def recorder():
    seen: list[str] = []

    class Handler(QuietHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            seen.append(self.requestline)
            body = json.dumps({"ok": True}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with serving(Handler) as url:
        yield url, seen


def _clear_proxy_env(monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy",
                 "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_requests_go_through_the_proxy_the_environment_names(recorder, monkeypatch):
    proxy, seen = recorder
    _clear_proxy_env(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", proxy)
    client = HttpClient(base_url="http://shop.example.invalid/wp-json/wc/v3")
    assert client.get("/products", page=2) == {"ok": True}
    assert seen == ["GET http://shop.example.invalid/wp-json/wc/v3/products?page=2 HTTP/1.1"]  # absolute: a proxy's


def test_a_host_listed_in_no_proxy_is_reached_directly(recorder, monkeypatch):
    server, seen = recorder
    _clear_proxy_env(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens: a request sent there fails
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    client = HttpClient(base_url=f"{server}/api")
    assert client.get("/x") == {"ok": True}
    assert seen == ["GET /api/x HTTP/1.1"]  # origin form: straight to the host


def test_the_settings_are_read_when_the_client_is_built_not_on_each_request(recorder, monkeypatch):
    server, seen = recorder
    _clear_proxy_env(monkeypatch)
    client = HttpClient(base_url=f"{server}/api")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # set later: a client built before never looks
    assert client.get("/y") == {"ok": True} and seen == ["GET /api/y HTTP/1.1"]
