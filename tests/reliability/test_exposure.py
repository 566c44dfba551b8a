"""Suite 5 — secrets and exposure: distinctive fake secrets never appear in run logs, run config, tags,
op metadata, the sync log or the sandboxes' request logs — verbatim, base64 (HTTP Basic's
``base64(key:secret)`` too, at any alignment inside a longer encoding) or URL-encoded; sandboxes bind
to loopback; wrong credentials fail the runs, with the vendor's own 401 body."""

from __future__ import annotations

import inspect

import pytest
import requests

from conftest import FORTNOX_TOKEN, WOO_KEY, WOO_SECRET
from flowkit import run
from integrations_dagster.sandbox import runner
from reliability.relkit import FLOWS, definitions
from test_secrets_repr import forms

pytestmark = pytest.mark.reliability
SECRETS = (WOO_KEY, WOO_SECRET, FORTNOX_TOKEN)
# Each secret's forms: verbatim, base64 and URL-encoded, of every fake secret and Basic-auth pair.
FORMS = forms()


def test_no_secret_anywhere(tmp_path, woo_sandbox, fortnox_empty, store, figures, monkeypatch, dagster_instance):
    sandbox_log: list[str] = []
    woo_sandbox.sandbox.log = sandbox_log.append
    fortnox_empty.sandbox.log = sandbox_log.append
    defs = definitions(tmp_path, woo_sandbox.url, fortnox_empty.url)
    instance = dagster_instance  # Dagster's storage on PostgreSQL in the PostgreSQL pass (all its runs are scanned)
    jobs = [f"demo_{f}" for f in FLOWS] + ["demo_check_connections"]
    for name in jobs:
        assert run(defs, name, instance=instance).success
    # Wrong credentials: the runs fail, and their errors must not echo what was sent either.
    monkeypatch.setenv("FORTNOX_ACCESS_TOKEN", FORTNOX_TOKEN + "_wrong")
    monkeypatch.setenv("WOO_CONSUMER_SECRET", WOO_SECRET + "_wrong")
    refused = {}
    for name in ("demo_products", "demo_check_connections"):
        result = run(defs, name, instance=instance, raise_on_error=False)
        refused[name] = [e.step_failure_data.error.to_string() for e in result.get_step_failure_events()]
        assert not result.success, f"{name} ran with wrong credentials"
        assert any("401" in m for m in refused[name]), refused[name]  # failed for the credentials
    text = []
    for record in instance.get_run_records():
        text += [repr(record.dagster_run.run_config), repr(record.dagster_run.tags)]
        text += [repr(e) for e in instance.all_logs(record.dagster_run.run_id)]  # includes op metadata
    text.append(store.log().to_csv())
    text += sandbox_log
    blob = "\n".join(text)
    assert all(s in FORMS for s in SECRETS)
    found: dict[str, int] = {}
    for form, name in FORMS.items():
        if form in blob:
            found[name] = found.get(name, 0) + blob.count(form)
    figures["exposure"] = {"runs scanned": len(instance.get_run_records()), "characters scanned": len(blob),
                           "sandbox log lines": len(sandbox_log), "secret occurrences": sum(found.values()),
                           "secret forms scanned": len(FORMS), "wrong-credential runs failed": len(refused)}
    assert len(blob) > 10_000 and sandbox_log
    assert not found, found


def test_sandboxes_bind_to_loopback_and_answer_401_like_the_vendor(woo_sandbox, fortnox_sandbox):
    assert inspect.signature(runner.start_in_thread).parameters["host"].default == "127.0.0.1"
    assert woo_sandbox.host == fortnox_sandbox.host == "127.0.0.1"
    woo = requests.get(f"{woo_sandbox.url}/wp-json/wc/v3/products", auth=(WOO_KEY, "wrong"), timeout=10)
    assert woo.status_code == 401
    assert woo.json()["code"] == "woocommerce_rest_authentication_error" and woo.json()["data"]["status"] == 401
    fx = requests.get(f"{fortnox_sandbox.url}/3/articles", headers={"Authorization": "Bearer wrong"}, timeout=10)
    assert fx.status_code == 401
    assert fx.json() == {"message": "unauthorized"}  # fortnox/recordings/authentication/expired_token.yml
