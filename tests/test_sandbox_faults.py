"""The sandboxes' fault schedule over real HTTP: which request meets which fault depends on the seed,
the request and how often it was sent, never on thread interleaving; ``fault_streak_max`` bounds
how many tries of one request in a row can fail; another seed gives another schedule."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import FORTNOX_TOKEN, WOO_KEY, WOO_SECRET
from integrations_dagster.sandbox.woocommerce.demo import load_catalogue

API = "/wp-json/wc/v3"
TRIES = 8  # occurrences of each request key per run
# Every kind of fault at once; timeouts held briefly so the test stays quick.
MIXED = {"fault_rate": 0.25, "throttle_rate": 0.1, "timeout_rate": 0.1, "timeout_hold_s": 0.01,
         "reset_rate": 0.1, "fault_after_write_rate": 0.3}
WOO_KEYS = [("GET", "/products", {"page": p, "per_page": 2}) for p in (1, 2, 3)] + \
           [("GET", f"/products/{i}", {}) for i in (1, 2)] + \
           [("PUT", f"/products/{i}", {}) for i in (3, 4)]


def knobs(url: str, **values) -> None:
    requests.post(f"{url}/__sandbox__/knobs", json=values, timeout=5).raise_for_status()


def woo_send(url: str, method: str, path: str, params: dict, query_auth: bool) -> int | str:
    """One request; its status, or "reset" when the sandbox dropped the connection."""
    if query_auth:  # credentials and a fresh OAuth-style nonce in the query: not part of the request's key
        params = {"oauth_nonce": random.getrandbits(32), **dict(reversed(params.items())),
                  "consumer_key": WOO_KEY, "consumer_secret": WOO_SECRET}
    auth = None if query_auth else (WOO_KEY, WOO_SECRET)
    body = {"regular_price": "10.00"} if method == "PUT" else None
    try:
        return requests.request(method, f"{url}{API}{path}", params=params, json=body, auth=auth, timeout=5).status_code
    except requests.ConnectionError:
        return "reset"


def woo_run(url: str, *, workers: int, shuffle: int | None, query_auth: bool) -> tuple[dict, dict]:
    """Send every key TRIES times, each key's tries in order (as a retrying client does), keys spread
    over ``workers`` threads; return the statuses per key and the sandbox's fault counts."""
    requests.post(f"{url}/__sandbox__/stats/clear", timeout=5)
    keys = list(WOO_KEYS)
    if shuffle is not None:
        random.Random(shuffle).shuffle(keys)

    def tries(key):
        return f"{key[0]} {key[1]} {key[2]}", [woo_send(url, *key, query_auth) for _ in range(TRIES)]

    with ThreadPoolExecutor(max_workers=workers) as pool:
        got = dict(pool.map(tries, keys))
    return got, requests.get(f"{url}/__sandbox__/stats", timeout=5).json()["faults"]


def test_the_same_requests_meet_the_same_faults_whatever_the_interleaving(woo_empty):
    load_catalogue(woo_empty.sandbox, 4, 0)
    url = woo_empty.url
    knobs(url, **MIXED, seed=11)
    first, first_faults = woo_run(url, workers=1, shuffle=None, query_auth=False)
    knobs(url, seed=11)  # setting the seed restarts the schedule
    second, second_faults = woo_run(url, workers=len(WOO_KEYS), shuffle=3, query_auth=True)
    assert second == first
    assert second_faults == first_faults
    seen = {s for statuses in first.values() for s in statuses}
    assert 200 in seen and "reset" in seen and 429 in seen and seen & {500, 502, 503} and 504 in seen, seen
    assert first_faults.get("error_after_write") and sum(first_faults.values()) > 10, first_faults


def test_every_third_try_passes_when_streaks_are_capped_at_two(fortnox_empty):
    url = fortnox_empty.url
    knobs(url, fault_rate=1.0, fault_streak_max=2, seed=5)
    for path in ("/3/articles", "/3/customers", "/3/pricelists"):
        statuses = [requests.get(f"{url}{path}", headers={"Authorization": f"Bearer {FORTNOX_TOKEN}"},
                                 timeout=5).status_code for _ in range(9)]
        assert [s == 200 for s in statuses] == [False, False, True] * 3, (path, statuses)
        assert all(s in (500, 502, 503) for s in statuses if s != 200)


def test_another_seed_gives_another_schedule(woo_empty):
    load_catalogue(woo_empty.sandbox, 4, 0)
    url = woo_empty.url
    runs = {}
    for seed in (7, 8, 7):
        knobs(url, fault_rate=0.5, seed=seed)
        runs.setdefault(seed, []).append(woo_run(url, workers=4, shuffle=seed, query_auth=False)[0])
    assert runs[7][0] == runs[7][1]
    assert runs[7][0] != runs[8][0]
