"""Helpers the sandbox tests over real HTTP share: a webhook destination that records what a sandbox POSTs
(:class:`Receiver`, served by :func:`receiving`), and a fixture that wraps a running sandbox in a test's own
client (:func:`client_fixture`)."""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import pytest
from conftest import QuietHandler, serving


class Receiver:
    """A webhook destination: records every POST as (lower-cased headers, body), the body as ``parse`` makes
    it of the raw bytes (kept raw by default); answers the queued ``statuses`` first, then 200."""

    def __init__(self, parse: Callable[[bytes], Any] = bytes) -> None:
        self.got: list[tuple[dict, Any]] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self):  # noqa: N802
                body = parse(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver.lock:
                    receiver.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.handler = Handler

    def bodies(self) -> list:
        """The bodies, kept raw, read as JSON."""
        return [json.loads(body) for _, body in self.got]

    def wait(self, n: int, timeout: float = 5.0) -> list[tuple[dict, Any]]:
        """The first ``n`` (or more) deliveries, once they have come; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.got) >= n:
                    return list(self.got)
            time.sleep(0.01)
        raise AssertionError(f"expected {n} deliveries, got {len(self.got)}: {self.got}")


@contextmanager
def receiving(path: str, parse: Callable[[bytes], Any] = bytes) -> Iterator[Receiver]:
    """A :class:`Receiver` served on a free local port; its ``url`` is the server's base URL + ``path``."""
    rec = Receiver(parse)
    with serving(rec.handler) as url:
        rec.url = url + path
        yield rec


def client_fixture(client: Callable[[str], Any], sandbox: str):
    """A fixture that answers ``client(url)`` over the running sandbox of the fixture named ``sandbox``."""
    @pytest.fixture
    def fixture(request):
        return client(request.getfixturevalue(sandbox).url)
    return fixture
