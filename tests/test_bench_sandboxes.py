"""`make bench` ends when it is done (issue 11): a bench case's sandbox processes are gone after
``stop()``, even when the bench process ignores SIGTERM (its children inherit that through exec)."""

from __future__ import annotations

import signal

import pytest
import requests

from bench.common import start_sandbox


@pytest.mark.parametrize("parent_sigterm", [signal.SIG_DFL, signal.SIG_IGN])
def test_a_bench_sandbox_is_gone_after_stop(parent_sigterm):
    before = signal.signal(signal.SIGTERM, parent_sigterm)
    try:
        sandbox = start_sandbox("fortnox", latency_ms=0)
    finally:
        signal.signal(signal.SIGTERM, before)
    assert requests.get(f"{sandbox.url}/__sandbox__/stats", timeout=10).ok
    sandbox.stop()
    assert not sandbox.process.is_alive()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{sandbox.url}/__sandbox__/stats", timeout=5)
