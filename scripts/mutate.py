"""Break the code on purpose, one named mutation at a time, and require the named suites to go red.

    .venv/bin/python scripts/mutate.py            # every mutation (make mutate)
    .venv/bin/python scripts/mutate.py --only no-claims --only zeroed-weights

First every named suite runs on an unmutated copy and must be green. Then each mutation replaces one exact piece of code (it must occur exactly once, so a refactor that moves
it fails loudly here instead of mutating nothing) in a scratch copy of the repository, then runs the
suites named for it against that copy. A suite that stays green while its mechanism is broken is no
evidence; the table (mutation → suite → red/green) goes to ``docs/reliability-mutations.json`` with
its provenance, and ``scripts/reliability_doc.py`` renders it into docs/reliability.md.

"red" means pytest reported failing tests (exit 1): an import error or a crash of the copy (other
exit codes) is counted as "error", never as a catch.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import reliability_doc  # scripts/, beside this file

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "reliability-mutations.json"
FORTNOX = "integrations_dagster/connectors/fortnox/client.py"


@dataclass(frozen=True)
class Mutation:
    name: str
    why: str  # what the mutation breaks, in a bookkeeper's or an operator's words
    path: str
    find: str
    replace: str
    suites: tuple[str, ...]  # pytest node ids (files or tests), each must go red


MUTATIONS = (
    Mutation("no-lookup-after-lost-create", "a create whose answer was lost is sent again without looking first",
             FORTNOX, "                found = lookup()\n", "                found = None\n",
             # (not the crash suite: a killed run never retries in-process; its re-run looks first anyway)
             ("tests/reliability/test_faults.py::test_flows_converge_under_faults",
              "tests/test_fortnox_connector.py::test_faults_after_writes_never_duplicate_orders")),
    Mutation("no-document-lookup", "an order or invoice is created without asking Fortnox for its reference first",
             FORTNOX, "            found = self._find_document(collection, key)\n", "            found = None\n",
             ("tests/reliability/test_crash.py::test_sigkill_at_each_entitys_creates_then_rerun_converges",
              "tests/test_flows_e2e.py::test_orders_land_with_customers_once")),
    Mutation("no-article-lookup", "an article is created without looking for its number in Fortnox first",
             FORTNOX, "            found = index.find(unit.sku)\n", "            found = None\n",
             ("tests/test_flows_e2e.py::test_crash_after_write_before_state_rerun_creates_no_duplicate",
              "tests/reliability/test_crash.py::test_sigkill_at_each_entitys_creates_then_rerun_converges")),
    Mutation("no-claims", "two runs on one target write the same records without claiming them",
             "integrations_dagster/flows/pipeline.py",
             "        held = self.store.claim(self.spec.target, self.spec.entity, [c.key for c in changes], self.owner)\n",
             "        held = {c.key for c in changes}\n",
             ("tests/reliability/test_racing.py::test_racing_runs_on_one_target_make_no_duplicates",)),
    Mutation("no-stale-guard", "an older stock level read late overwrites a newer one",
             "integrations_dagster/flows/pipeline.py",
             "        if fresh is not None and known is not None and fresh < known:\n", "        if False:\n",
             ("tests/reliability/test_events.py",)),
    Mutation("price-list-vat-convention", "list prices written with VAT into a price list without VAT",
             "integrations_dagster/connectors/fortnox/mapping.py",
             "    return unit.price.as_(includes_vat) if unit.price else None\n",
             "    return unit.price.as_(not includes_vat) if unit.price else None\n",
             ("tests/reliability/test_faults.py::test_flows_converge_under_faults",
              "tests/reliability/test_crash.py::test_sigkill_at_each_entitys_creates_then_rerun_converges")),
    Mutation("row-vat-convention", "document rows priced in the other VAT convention than the document's",
             "integrations_dagster/connectors/fortnox/documents.py",
             "    amount = line.gross if included else line.net\n", "    amount = line.net if included else line.gross\n",
             ("tests/reliability/test_books.py",
              "tests/reliability/test_crash.py::test_sigkill_at_each_entitys_creates_then_rerun_converges")),
    Mutation("zeroed-weights", "every article's weight written as 0 g",
             "integrations_dagster/connectors/fortnox/mapping.py",
             '        payload["Weight"] = int((unit.weight * 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))\n',
             '        payload["Weight"] = 0\n',
             ("tests/reliability/test_faults.py::test_flows_converge_under_faults",
              "tests/reliability/test_crash.py::test_sigkill_at_each_entitys_creates_then_rerun_converges")),
    Mutation("reject-variable-products", "every variable product refused (with a reason in the sync log)",
             "integrations_dagster/connectors/woocommerce/mapping.py",
             '    if kind not in ("simple", "variable"):\n', '    if kind not in ("simple",):\n',
             ("tests/reliability/test_faults.py::test_flows_converge_under_faults",
              "tests/reliability/test_crash.py::test_sigkill_at_each_entitys_creates_then_rerun_converges")),
    Mutation("dropped-shipping-vat", "shipping booked without the VAT the shop charged on it",
             "integrations_dagster/connectors/woocommerce/orders.py",
             '    charged = sorted(rates.charged(raw.get("taxes"), label), reverse=True)\n', "    charged = []\n",
             ("tests/reliability/test_books.py",
              "tests/reliability/test_crash.py::test_sigkill_at_each_entitys_creates_then_rerun_converges")),
)


def scratch_copy(dest: Path) -> None:
    """The repository's tracked and new files (what a commit would hold), without venv and state."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    for rel in files:
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def apply(m: Mutation, tree: Path) -> None:
    path = tree / m.path
    text = path.read_text()
    if text.count(m.find) != 1:
        raise SystemExit(f"mutation {m.name}: {m.path} holds its code {text.count(m.find)} times (not once): "
                         "update the mutation to the code as it is now")
    path.write_text(text.replace(m.find, m.replace))


def run_suite(tree: Path, suite: str, log: Path) -> tuple[str, float]:
    """Run one suite against the mutated copy: ("red" | "green" | "error", seconds)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1",
           "INTEGRATIONS_SHARED": os.environ.get("INTEGRATIONS_SHARED", str(ROOT.parent / "shared"))}
    started = time.monotonic()
    with log.open("w") as out:
        code = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:logging", "-p", "no:cacheprovider",
                               suite], cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT).returncode
    return {0: "green", 1: "red"}.get(code, "error"), time.monotonic() - started


def first_failure(log: Path) -> str:
    """The suite's own words for why it went red (pytest's first ``E`` line), so the table shows that
    it failed for the mutation's reason and not for another."""
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("E "):
            text = " ".join(line[1:].split())
            return text if len(text) <= 160 else text[:157] + "..."
    return ""


def imports_the_copy(tree: Path) -> bool:
    """The copy's package is what the tests import (not the editable install of the repository)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, "-c", "import integrations_dagster; print(integrations_dagster.__file__)"],
                         cwd=tree, env=env, capture_output=True, text=True).stdout.strip()
    return out.startswith(str(tree))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", help="run only this mutation (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copies and logs")
    args = parser.parse_args()
    chosen = [m for m in MUTATIONS if not args.only or m.name in args.only]
    if args.only and len(chosen) != len(args.only):
        raise SystemExit(f"unknown mutation; known: {', '.join(m.name for m in MUTATIONS)}")
    started = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="mutate-"))
    rows = []
    # First the suites on the unmutated copy: each must be green, or a red below proves nothing.
    control = base / "unmutated"
    scratch_copy(control)
    for suite in sorted({s for m in chosen for s in m.suites}):
        verdict, seconds = run_suite(control, suite, base / f"unmutated--{Path(suite.split('::')[0]).stem}.log")
        print(f"{'(unmutated)':32} {suite:90} {verdict:5} {seconds:5.0f} s", flush=True)
        if verdict != "green":
            print(f"the unmutated copy is not green on {suite}: see {base}")
            return 2
    for m in chosen:
        tree = base / m.name
        scratch_copy(tree)
        apply(m, tree)
        if not imports_the_copy(tree):
            raise SystemExit("the scratch copy's package is not the one imported: check the editable install")
        for suite in m.suites:
            log = base / f"{m.name}--{Path(suite.split('::')[0]).stem}.log"
            verdict, seconds = run_suite(tree, suite, log)
            rows.append({"mutation": m.name, "breaks": m.why, "suite": suite, "verdict": verdict,
                         "seconds": round(seconds), "first failure": first_failure(log)})
            print(f"{m.name:32} {suite:90} {verdict:5} {seconds:5.0f} s", flush=True)
    survived = [r for r in rows if r["verdict"] != "red"]
    if not args.only:  # the table is of the whole list only
        stamp = reliability_doc.stamp(time.monotonic() - started)
        OUT.write_text(json.dumps({"provenance": stamp, "mutations": rows}, indent=2) + "\n")
        reliability_doc.write(json.loads(reliability_doc.FIGURES.read_text()))
    if args.keep or survived:
        print(f"scratch copies and logs: {base}")
    else:
        shutil.rmtree(base, ignore_errors=True)
    if survived:
        print(f"{len(survived)} suite(s) stayed green (or errored) under a mutation: "
              + ", ".join(f"{r['mutation']} / {r['suite']}: {r['verdict']}" for r in survived))
        return 1
    print(f"all {len(rows)} suite runs red under their mutations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
