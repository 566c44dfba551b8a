"""Fortnox's OAuth2 as it is today, over real HTTP: the sandbox's token endpoint answers as recorded
(recordings/authentication/*.yml); the connector refreshes before expiry and on 401, keeps the
rotated refresh token in the state store, and two processes refreshing at once do not lock each
other out (Fortnox: a refresh token works once)."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from conftest import FORTNOX_CLIENT_ID, FORTNOX_CLIENT_SECRET, FORTNOX_REFRESH
from integrations_dagster.connectors.fortnox import FortnoxResource
from integrations_dagster.connectors.oauth import ReauthorizationNeeded, RotatingToken
from integrations_dagster.state import StateStore

CLIENT = (FORTNOX_CLIENT_ID, FORTNOX_CLIENT_SECRET)


def token_requests(sb) -> int:
    return requests.get(f"{sb.url}/__sandbox__/stats", timeout=10).json()["requests"].get("POST /oauth-v1/token", 0)


def knobs(sb, **values) -> None:
    requests.post(f"{sb.url}/__sandbox__/knobs", json=values, timeout=10).raise_for_status()


def grant(sb, refresh: str, auth=CLIENT) -> requests.Response:
    return requests.post(f"{sb.url}/oauth-v1/token", auth=auth, timeout=10,
                         data={"grant_type": "refresh_token", "refresh_token": refresh})


def connector(sb, **extra) -> FortnoxResource:
    return FortnoxResource(base_url=sb.url, auth_url=f"{sb.url}/oauth-v1", client_id=FORTNOX_CLIENT_ID,
                           client_secret=FORTNOX_CLIENT_SECRET, refresh_token=FORTNOX_REFRESH, rate_limit=0, **extra)


def test_the_token_endpoint_answers_as_recorded(fortnox_empty):
    sb = fortnox_empty
    first = grant(sb, FORTNOX_REFRESH)
    body = first.json()  # authentication/valid_request.yml
    assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
    assert list(body) == ["access_token", "expires_in", "token_type", "scope", "refresh_token"]
    assert (body["expires_in"], body["token_type"]) == (3600, "bearer") and body["refresh_token"] != FORTNOX_REFRESH
    api = requests.get(f"{sb.url}/3/companyinformation", headers={"Authorization": f"Bearer {body['access_token']}"},
                       timeout=10)
    assert api.status_code == 200
    used = grant(sb, FORTNOX_REFRESH)  # authentication/invalid_refresh_token.yml: once used, it is gone
    assert (used.status_code, used.headers["content-type"]) == (400, "text/html; charset=UTF-8")
    assert used.json() == {"error": "invalid_grant", "error_description": "Invalid refresh token"}
    wrong = grant(sb, body["refresh_token"], auth=(FORTNOX_CLIENT_ID, "wrong"))  # invalid_authorization.yml
    assert (wrong.status_code, wrong.headers["content-type"]) == (401, "text/plain;charset=UTF-8")
    assert wrong.json() == {"error": "invalid_client", "error_description": "The client credentials are invalid"}
    knobs(sb, token_ttl_s=0.5)
    short = grant(sb, body["refresh_token"]).json()
    assert short["expires_in"] == 0
    time.sleep(0.6)
    expired = requests.get(f"{sb.url}/3/customers", headers={"Authorization": f"Bearer {short['access_token']}"},
                           timeout=10)
    assert (expired.status_code, expired.json()) == (401, {"message": "unauthorized"})  # expired_token.yml


def test_the_first_token_pair_comes_from_an_authorization_code(fortnox_empty):
    sb = fortnox_empty
    approved = requests.get(f"{sb.url}/oauth-v1/auth", allow_redirects=False, timeout=10, params={
        "client_id": FORTNOX_CLIENT_ID, "redirect_uri": "http://127.0.0.1:9/callback", "scope": "article",
        "state": "xyz", "access_type": "offline", "response_type": "code"})
    location = approved.headers["location"]
    assert location.startswith("http://127.0.0.1:9/callback?code=") and location.endswith("&state=xyz")
    code = location.split("code=")[1].split("&")[0]
    tokens = requests.post(f"{sb.url}/oauth-v1/token", auth=CLIENT, timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": "http://127.0.0.1:9/callback"})
    assert tokens.status_code == 200 and tokens.json()["refresh_token"]
    again = requests.post(f"{sb.url}/oauth-v1/token", auth=CLIENT, timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": "http://127.0.0.1:9/callback"})
    assert again.status_code == 400


def test_the_connector_refreshes_before_expiry_and_on_401_and_keeps_the_rotated_token(fortnox_empty, store):
    sb = fortnox_empty
    knobs(sb, token_ttl_s=2)
    first = connector(sb)
    assert first.test_connection().startswith("Fortnox:")
    assert token_requests(sb) == 1
    chain = first.tokens()
    held = store.token(chain.key)
    assert held["refresh_token"] not in (None, FORTNOX_REFRESH), "the rotated token is kept in the state store"
    assert FORTNOX_REFRESH not in chain.key and held["access_token"] not in chain.key
    # Another process (a new connector) uses the stored token: the first refresh token is used up.
    second = connector(sb)
    second.test_connection()
    assert token_requests(sb) == 1
    assert grant(sb, FORTNOX_REFRESH).status_code == 400  # (a token request too: 2 so far)
    time.sleep(1.6)  # within a quarter of its lifetime of expiry: refreshed before the API refuses it
    second.test_connection()
    assert token_requests(sb) == 3
    # A token the API no longer takes (revoked, or a clock that lies) is refreshed on the 401 and the
    # request sent again.
    store.save_token(chain.key, {**store.token(chain.key), "access_token": "revoked", "refresh_at": time.time() + 99})
    third = connector(sb)
    assert third.test_connection().startswith("Fortnox:")
    assert token_requests(sb) == 4


def test_a_refused_refresh_token_says_to_authorize_again(fortnox_empty, store):
    sb = fortnox_empty
    assert grant(sb, FORTNOX_REFRESH).status_code == 200  # someone else used the first token
    with pytest.raises(ReauthorizationNeeded) as refused:
        connector(sb).test_connection()
    assert "invalid_grant: Invalid refresh token" in str(refused.value)
    assert "authorize the integration again" in str(refused.value) and FORTNOX_REFRESH not in str(refused.value)


def test_processes_refreshing_at_once_do_not_lock_each_other_out(fortnox_empty, state_url):
    """Eight workers, each with its own connection to the state store, ask for a token at the same
    instant, twice (the second time after expiry): one refresh each time, every worker served. Without
    the store's lock the slower ones present a refresh token the first one used up, and are refused."""
    sb = fortnox_empty
    knobs(sb, token_ttl_s=1.2)
    stores = [StateStore(state_url) for _ in range(8)]
    chains = [RotatingToken(f"{sb.url}/oauth-v1/token", FORTNOX_CLIENT_ID, FORTNOX_CLIENT_SECRET, FORTNOX_REFRESH, s)
              for s in stores]
    for round_ in (1, 2):
        barrier, got, errors = threading.Barrier(len(chains)), [], []

        def ask(chain: RotatingToken) -> None:
            barrier.wait()
            try:
                got.append(chain.current())
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=ask, args=(c,)) for c in chains]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors, errors
        assert len(set(got)) == 1 and len(got) == len(chains)
        assert token_requests(sb) == round_
        api = requests.get(f"{sb.url}/3/companyinformation", headers={"Authorization": f"Bearer {got[0]}"}, timeout=10)
        assert api.status_code == 200
        time.sleep(1.0)  # past the refresh point of a 1.2 s token
    for s in stores:
        s.dispose()


def test_flows_run_on_oauth_and_no_token_reaches_a_log(tmp_path, woo_sandbox, fortnox_empty, store):
    from dagster import DagsterInstance

    from flowkit import definitions, run

    defs = definitions(tmp_path, woo_sandbox.url, fortnox_empty.url, oauth=True)
    instance = DagsterInstance.ephemeral()
    for job in ("demo_products", "demo_orders", "demo_stock", "demo_check_connections"):
        assert run(defs, job, instance=instance).success
    key = RotatingToken(f"{fortnox_empty.url}/oauth-v1/token", FORTNOX_CLIENT_ID, FORTNOX_CLIENT_SECRET,
                        FORTNOX_REFRESH, store).key
    held = store.token(key)
    secrets = (FORTNOX_CLIENT_SECRET, FORTNOX_REFRESH, held["access_token"], held["refresh_token"])
    text = repr(store.log().to_dict())
    for record in instance.get_run_records():
        text += repr(record.dagster_run.run_config) + repr(record.dagster_run.tags)
        text += "".join(repr(entry) for entry in instance.all_logs(record.dagster_run.run_id))
    assert len(text) > 1000 and not [s for s in secrets if s in text]
