"""Every command in the README works when pasted (issue 10, "Work with it").

The commands are read out of README.md (``readmekit``: its ```sh blocks, and inline commands in
backticks) and run as a person runs them: ``bash -c`` in the repository, in a second terminal beside
``make demo``. The demo's setting is made here as ``scripts/demo.sh`` makes it — both sandboxes with
demo data and random session credentials, a ``DAGSTER_HOME`` holding the repository's
``dagster.yaml``, no ``INTEGRATIONS_STATE_URL`` (so the state store is
``$DAGSTER_HOME/integrations_state.db``), and the session written by ``scripts/demo_env.sh`` — then
the README's ``source .demo.env`` line is run and the environment it leaves is the terminal every
later command runs in.

What differs from a real second terminal, and why (``substitutions``, applied to the README's text):

* the sandboxes listen on free ports, not 8701/8702 (a running demo or another test may hold those),
  so the terminal has ``WOO_BASE_URL``, ``FORTNOX_BASE_URL`` and ``FORTNOX_AUTH_URL`` pointing at them
  — the demo YAML's defaults are those variables' stand-ins;
* ``.demo.env`` is the test's own file in tmp, and ``$PWD/.dagster_home`` the test's tmp instance: the
  test never reads or writes a running demo's files in the repository;
* ``my.yaml`` (the reader's own file, a placeholder) is a copy of the demo YAML.

Commands run in ``RUNS`` order, not the README's: the first products sync (the README's manual
``dagster job execute``) comes first so the rest find data, as they would beside a running demo, and
before the dry run the test raises a product's price in the shop (``raise_a_price``), as a person
asking "what would the sync do?" has changed something (right after a sync a dry run has nothing to
show); the README's re-send then sends that product, and Fortnox's price is checked by arithmetic.
Every README command is either run and checked or named in ``SKIPPED`` with a reason; a new command
fails ``test_every_readme_command_is_run_or_skipped_on_purpose`` until it is one or the other.
``README_UNDER_TEST`` points the test at another copy of the README (to see it go red on a broken
command without touching the real one).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Callable

import pytest
import requests
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from integrations_dagster.cli import CREDENTIAL_ENV
from integrations_dagster.sandbox.base import Knobs
from integrations_dagster.sandbox.runner import RunningSandbox, start_in_thread

from readmekit import Command, commands

REPO = Path(__file__).resolve().parents[1]
README = Path(os.environ.get("README_UNDER_TEST") or REPO / "README.md")
DEMO_SCRIPT = REPO / "scripts" / "demo.sh"
DEMO_YAML = REPO / "integrations_dagster" / "demo" / "demo.yaml"
# What the test's own environment may hold that a person's fresh terminal would not.
PROJECT_VARIABLES = re.compile(r"^(WOO_|FORTNOX_|INTEGRATIONS_|DAGSTER_|ALERT_|TEST_SLACK)")
COMMAND_TIMEOUT_S = 120
# Before the dry run the person raises a product's price in the shop, so the dry run has a change to
# show (right after a sync it has none); the README's re-send then sends that product.
EDITED_SKU, PRICE_RISE = "BEANIE-WOOL", Decimal("50.00")
# The demo shop's VAT rate per tax class (integrations_dagster/demo/demo.yaml `tax_rates`).
VAT_BY_TAX_CLASS = {"": Decimal(25), "reduced-rate": Decimal(12), "zero-rate": Decimal(0)}

# pattern on the README's command -> why it is not run here
SKIPPED: dict[str, str] = {
    r"^make demo$": "starts the demo and runs until Ctrl-C; this test makes its setting as scripts/demo.sh does",
    r"^make test$": "the whole test suite, this test included",
    r"^make bench$": "the benchmarks: about 20 minutes",
    r"^(make bench QUICK=1|make bench-quick|python -m bench\.run --quick)$":
        "the benchmarks at smaller sizes: a few minutes, not a test (nothing asserts a timing)",
    r"^make mutate$": "the mutation check: about 15 minutes",
    r"^\.venv/bin/dagster dev$": "the long-running webserver and daemon `make demo` starts",
    r"^\.venv/bin/python -m pytest -m reliability$": "the reliability suites, part of `make test`",
    r"^\.venv/bin/python -m pytest -q tests/browser$": "the browser test, part of `make test` (this would start a second demo)",
    r"^make browser$": "installs Debian's chromium with apt-get: part of `make test`",
    r"^curl .*https://apps\.fortnox\.se/": "needs a real Fortnox app and a one-time authorization code",
    r"^integrations-dagster receiver$": "the long-running webhook receiver `make demo` starts; "
                                        "tests/test_webhook_receiver.py serves it",
    r"^integrations-dagster disconnect pos --products (keep|delete)$": "would stop the demo's pos integration; "
        "tests/test_zettle_bigcommerce_lifecycle.py runs both",
    r"^integrations-dagster initial-sync butik products --dry-run$": "names the WooCommerce ⇄ Specter example "
        "integration, not the demo's; tests/test_woocommerce_specter.py runs initial-sync both ways",
    r"^integrations-dagster connect pos$": "connects the integration disconnected above again; "
                                           "tests/test_zettle_bigcommerce_lifecycle.py runs it",
    r"^integrations-dagster subscribe pos$": "`make demo` runs it against the Zettle sandbox on its fixed port; "
                                             "tests/test_zettle_bigcommerce_realtime.py runs it",
    r"^integrations-dagster connect kasse$": "this terminal has no Rackbeat and Shopbox sandboxes; "
        "tests/test_rackbeat_shopbox_products.py runs connect against them",
    r"^integrations-dagster initial-sync kasse (products_to_erp|stock_to_erp)$": "`make demo` runs it; "
        "tests/test_rackbeat_shopbox_products.py runs both, and --dry-run, --skip and the lock",
    r"^integrations-dagster resend kasse sales \d+$": "tests/test_rackbeat_shopbox.py re-sends a till sale twice",
    r"^integrations-dagster lineage tradera:\d+$": "names an order a Tradera buyer made; tests/test_hub_tradera.py "
        "checks an order's lineage in the run's record table and from its shop key",
}


@dataclass(repr=False)  # its environment holds the session's secrets: never in a failure message
class Terminal:
    """The second terminal: its environment after ``source .demo.env``, and peeks at the sandboxes."""

    home: Path
    env: dict[str, str]
    woo: RunningSandbox
    fortnox: RunningSandbox
    woo_auth: tuple[str, str]
    fortnox_peek_token: str
    secrets: list[str]
    tmp: Path
    outputs: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Terminal(home={self.home})"

    def run(self, line: str) -> subprocess.CompletedProcess:
        done = subprocess.run(["bash", "-c", line], cwd=REPO, env=self.env, capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT_S)
        self.outputs.append(done.stdout + done.stderr)
        return done

    def woo_products(self, **params) -> list[dict]:
        resp = requests.get(f"{self.woo.url}/wp-json/wc/v3/products", params={"per_page": 100, **params},
                            auth=self.woo_auth, timeout=10)
        resp.raise_for_status()
        return resp.json()

    def woo_product(self, sku: str) -> dict:
        found = self.woo_products(sku=sku)
        assert len(found) == 1, f"the demo shop has {len(found)} products with SKU {sku}"
        return found[0]

    def fortnox_get(self, path: str, **params) -> dict:
        resp = requests.get(f"{self.fortnox.url}/3{path}", params=params or None, timeout=10,
                            headers={"Authorization": f"Bearer {self.fortnox_peek_token}"})
        resp.raise_for_status()
        return resp.json()

    def articles(self) -> dict[str, dict]:
        """Fortnox's articles by number, read with a token of the test's own (no refresh consumed)."""
        out, page = {}, 1
        while True:
            body = self.fortnox_get("/articles", page=page, limit=500)
            out |= {a["ArticleNumber"]: a for a in body["Articles"]}
            if page >= int(body["MetaInformation"]["@TotalPages"]):
                return out
            page += 1

    def fortnox_writes(self) -> dict[str, int]:
        """Fortnox API writes so far per route (the OAuth token endpoint left out: a refresh is no data)."""
        counts = requests.get(f"{self.fortnox.url}/__sandbox__/stats", timeout=10).json()["requests"]
        return {route: n for route, n in counts.items()
                if not route.startswith(("GET", "HEAD")) and "oauth" not in route}

    def instance(self) -> DagsterInstance:
        return DagsterInstance.from_config(str(self.home))


# -- the substitutions (see the module docstring) --------------------------------------------------


def substitutions(t: Terminal) -> list[tuple[str, str]]:
    return [
        (r"(?<![\w/.])\.demo\.env\b", str(t.tmp / ".demo.env")),
        (r"\$PWD/\.dagster_home\b", str(t.home)),
        (r"(?<![\w/.])my\.yaml\b", str(t.tmp / "my.yaml")),
    ]


def as_run_here(t: Terminal, text: str) -> str:
    for pattern, replacement in substitutions(t):
        text = re.sub(pattern, replacement, text)
    return text


# -- what each command must do beyond exit 0 ---------------------------------------------------------


def check_source(t: Terminal, command: str, done) -> None:
    """The sourced file gives the terminal this session's DAGSTER_HOME and every session credential."""
    for name in ("DAGSTER_HOME", *SESSION_CREDENTIALS):
        assert t.env.get(name), f"`{command}` left {name} unset"
    assert t.env["DAGSTER_HOME"] == str(t.home)


def check_job_execute(t: Terminal, command: str, done) -> None:
    """The run lands in the instance the UI shows and writes the shop's products to Fortnox."""
    job = re.search(r"-j (\S+)", command).group(1)
    with t.instance() as instance:
        runs = instance.get_runs(RunsFilter(job_name=job))
    assert [r.status for r in runs] == [DagsterRunStatus.SUCCESS], f"runs of {job} in $DAGSTER_HOME: {runs}"
    if job.endswith("_products"):
        simple = {p["sku"] for p in t.woo_products(type="simple", status="publish") if p["sku"]}
        assert simple <= set(t.articles()), f"articles missing after {job}: {simple - set(t.articles())}"


def check_log(t: Terminal, command: str, done) -> None:
    """The demo fails no record unless on purpose: a `--failed` query finds none and says so."""
    if "--failed" in command:
        assert "no rows in" in done.stdout and "match" in done.stdout, done.stdout


def raise_a_price(t: Terminal, command: str) -> None:
    """What a person does in the shop's admin before asking what the sync would do."""
    product = t.woo_product(EDITED_SKU)
    new = Decimal(product["regular_price"]) + PRICE_RISE
    resp = requests.put(f"{t.woo.url}/wp-json/wc/v3/products/{product['id']}", json={"regular_price": str(new)},
                        auth=t.woo_auth, timeout=10)
    resp.raise_for_status()


def check_dry_run(t: Terminal, command: str, done) -> None:
    """The raised price shows as an update of that product, and nothing is written (see ``_run_one``)."""
    out = done.stdout
    assert re.search(rf"^\s*{re.escape(EDITED_SKU)} .*would update.*price", out, re.M), out
    assert re.search(r"run \S+: done", out), out


def check_resend(t: Terminal, command: str, done) -> None:
    """The key is a SKU the demo shop sells; it is sent again (updated or unchanged), never created twice."""
    _integration, flow, *keys = command.split(" resend ", 1)[1].split()
    assert flow == "products", f"{command}: this check knows product SKUs only"
    for key in keys:
        assert t.woo_products(sku=key), f"{command}: the demo shop has no product with SKU {key}"
        assert re.search(rf"^\s*{re.escape(key)} ", done.stdout, re.M), done.stdout
        product = t.woo_product(key)  # Fortnox's price list A holds the shop's price without its VAT
        rate = VAT_BY_TAX_CLASS[product["tax_class"]]
        net = (Decimal(product["price"]) / (1 + rate / 100)).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert Decimal(str(t.fortnox_get(f"/prices/A/{key}")["Price"]["Price"])) == net, key
    assert re.search(r"run \S+: done", done.stdout), done.stdout
    assert "created" not in done.stdout, f"a re-send created a second article: {done.stdout}"


def check_retry_failed(t: Terminal, command: str, done) -> None:
    assert re.search(r"run \S+: done", done.stdout), done.stdout


def check_validate(t: Terminal, command: str, done) -> None:
    """The demo YAML is valid and, in the sourced terminal, no variable it names is unset."""
    assert re.search(r"^demo: 2 connections; flows products .*orders .*stock", done.stdout, re.M), done.stdout
    assert "not set" not in done.stderr and "error" not in done.stderr, done.stderr


def check_connect(t: Terminal, command: str, done) -> None:
    connection = command.split()[-1]
    assert f"demo.{connection}: OK" in done.stdout, done.stdout


def check_backfill(t: Terminal, command: str, done) -> None:
    """One backfill in the instance the UI shows, a run per day asked for, queued for the daemon."""
    job = re.search(r"-j (\S+)", command).group(1)
    first, last = (date.fromisoformat(re.search(rf"--{flag} (\S+)", command).group(1)) for flag in ("from", "to"))
    days = [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]
    with t.instance() as instance:
        backfills = instance.get_backfills()
        assert len(backfills) == 1, backfills
        assert list(backfills[0].partition_names) == days
        runs = instance.get_runs(RunsFilter(job_name=job, tags={"dagster/backfill": backfills[0].backfill_id}))
    assert sorted(r.tags["dagster/partition"] for r in runs) == days
    assert {r.status for r in runs} == {DagsterRunStatus.QUEUED}  # no daemon here to start them


def check_help(t: Terminal, command: str, done) -> None:
    assert done.stdout.startswith("usage:"), done.stdout


@dataclass(frozen=True)
class Run:
    pattern: str
    check: Callable
    before: Callable | None = None  # what the person does first, if anything


# In this order: the products sync before the commands that expect data.
RUNS = [
    Run(r"^source \.demo\.env$", check_source),
    Run(r"^\.venv/bin/dagster job execute ", check_job_execute),
    Run(r"^\.venv/bin/integrations-dagster log\b", check_log),
    Run(r"^\.venv/bin/integrations-dagster dry-run demo products$", check_dry_run, before=raise_a_price),
    Run(r"^\.venv/bin/integrations-dagster resend ", check_resend),
    Run(r"^\.venv/bin/integrations-dagster retry-failed ", check_retry_failed),
    Run(r"^\.venv/bin/integrations-dagster validate\b", check_validate),
    Run(r"^\.venv/bin/integrations-dagster connect demo \w+$", check_connect),
    Run(r"^(\w+=\S+ )*\.venv/bin/dagster job backfill ", check_backfill),
    Run(r"^\.venv/bin/python -m bench\.run --help$", check_help),
]


def _session_credentials() -> dict[str, str]:
    """The credentials ``make demo`` makes and puts in ``.demo.env`` (its ``generate NAME PREFIX``
    lines in scripts/demo.sh): a random value per name, as the script makes them."""
    made = re.findall(r"^generate (\w+) (\S*)", DEMO_SCRIPT.read_text(), re.M)
    assert made, f"{DEMO_SCRIPT}: no `generate NAME PREFIX` lines: the test cannot tell what .demo.env holds"
    return {name: prefix.strip("\"'") + secrets.token_hex(16) for name, prefix in made}


SESSION_CREDENTIALS = tuple(_session_credentials())


def _matches(command: Command) -> list[str]:
    return [r.pattern for r in RUNS if re.search(r.pattern, command.text)] + \
           [p for p in SKIPPED if re.search(p, command.text)]


def test_every_readme_command_is_run_or_skipped_on_purpose():
    found = commands(README)
    assert any(c.text == "source .demo.env" for c in found), "the README no longer says `source .demo.env`"
    unknown = [f"  [{c.section}, {c.where}] {c.text}" for c in found if len(_matches(c)) != 1]
    assert not unknown, ("README commands neither run by this test nor in SKIPPED with a reason "
                         "(or matched by more than one entry):\n" + "\n".join(unknown))


def _second_terminal(tmp_path: Path, woo: RunningSandbox, fortnox: RunningSandbox, credentials: dict[str, str],
                     peek_token: str) -> Terminal:
    """scripts/demo.sh's setting, then the environment a terminal has after the README's source line."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    shutil.copy(DEMO_YAML, tmp_path / "my.yaml")
    fresh = {k: v for k, v in os.environ.items() if not PROJECT_VARIABLES.match(k)}
    # Stand-ins for the demo's fixed ports (see the module docstring); no secret among them.
    fresh |= {"WOO_BASE_URL": woo.url, "FORTNOX_BASE_URL": fortnox.url, "FORTNOX_AUTH_URL": f"{fortnox.url}/oauth-v1"}
    demo = fresh | credentials | {"DAGSTER_HOME": str(home)}
    subprocess.run([str(REPO / "scripts" / "demo_env.sh"), str(tmp_path / ".demo.env"), "DAGSTER_HOME",
                    *SESSION_CREDENTIALS], cwd=REPO, env=demo, check=True)
    woo_auth = tuple(credentials[CREDENTIAL_ENV["woocommerce"][f]] for f in ("consumer_key", "consumer_secret"))
    t = Terminal(home, fresh, woo, fortnox, woo_auth, peek_token, [*credentials.values(), peek_token], tmp_path)
    source = next((c.text for c in commands(README) if re.search(RUNS[0].pattern, c.text)), None)
    assert source, f"{README} has no `source .demo.env` line: the second terminal would have no session"
    done = subprocess.run(["bash", "-c", f"set -e\n{as_run_here(t, source)}\nenv -0"], cwd=REPO, env=fresh,
                          capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
    assert done.returncode == 0, f"`{source}` failed: {done.stderr}"  # the environment dump: never printed
    t.env = dict(item.split("=", 1) for item in done.stdout.split("\0") if "=" in item)
    return t


def test_the_readme_commands_work_when_pasted_in_a_second_terminal(tmp_path):
    if os.environ.get("INTEGRATIONS_TEST_PG_URL"):
        pytest.skip("runs once, in `make test`'s SQLite pass: the commands use the demo's own SQLite state "
                    "store beside its Dagster home, so the PostgreSQL pass would run the same")
    credentials = _session_credentials()
    # Each sandbox takes the session's credentials as `integrations-dagster sandbox all` does (from
    # the variables cli.CREDENTIAL_ENV names); Fortnox's also a bearer token of the test's own for
    # its peeks, which the demo YAML never names.
    peek = secrets.token_hex(16)
    given = {system: {f: credentials[env] for f, env in fields.items() if env in credentials}
             for system, fields in CREDENTIAL_ENV.items()}
    woo = start_in_thread("woocommerce", knobs=Knobs(seed=1), credentials=given["woocommerce"])
    fortnox = start_in_thread("fortnox", knobs=Knobs(seed=2), credentials=given["fortnox"] | {"access_token": peek})
    try:
        t = _second_terminal(tmp_path, woo, fortnox, credentials, peek)
        found = commands(README)
        problems: list[str] = []
        for entry in RUNS:
            for command in (c for c in found if re.search(entry.pattern, c.text)):
                problems += _run_one(t, entry, command)
        assert not problems, "README commands that do not work when pasted:\n\n" + "\n\n".join(problems)
        assert not any(s in out for s in t.secrets for out in t.outputs), "a command printed a session secret"
    finally:
        woo.stop()
        fortnox.stop()


def _run_one(t: Terminal, entry: Run, command: Command) -> list[str]:
    line = as_run_here(t, command.text)
    if entry.before:
        entry.before(t, command.text)
    before = t.fortnox_writes() if entry.check is check_dry_run else None
    done = t.run(line)
    where = f"[{command.section}] {command.text}" + (f"\n  (run as: {line})" if line != command.text else "")
    if done.returncode != 0 or "Traceback" in done.stdout + done.stderr:
        return [f"{where}\n  exit {done.returncode}\n  stdout: {done.stdout[-2000:]}\n  stderr: {done.stderr[-3000:]}"]
    if "integrations-dagster " in command.text and ("Warning:" in done.stderr or " - DEBUG - " in done.stderr):
        return [f"{where}\n  not quiet: {done.stderr[-1500:]}"]  # a person reads this output
    try:
        entry.check(t, command.text, done)
        if before is not None:
            assert t.fortnox_writes() == before, "a dry run wrote to Fortnox"
    except AssertionError as exc:
        return [f"{where}\n  {exc}"]
    return []
