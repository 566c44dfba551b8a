"""Run processes that a test may SIGKILL: forked from a pre-warmed "zygote" interpreter.

Importing Dagster costs seconds, so one helper interpreter imports everything once and then forks
one child per run on request; a child starts in milliseconds. The zygote is single-threaded and
never opens a database or an HTTP connection itself, so its children inherit none (forking the
test process itself would copy the sandboxes' threads and the test's open connections).

The test process keeps the sandboxes (fixtures): they survive every kill.

    zygote = Zygote.start()
    pid = zygote.fork("reliability.crashkit:run_jobs", {...})   # the child runs that function
    os.kill(pid, signal.SIGKILL)
    zygote.wait(pid)                                              # reaped: the pid is gone for good
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

PRELOADED: dict[tuple[str, str], Any] = {}  # in the zygote: what children inherit ready-made
TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
REPO_DAGSTER_YAML = ROOT / "dagster.yaml"


class Zygote:
    """A pre-warmed interpreter that forks children on request (JSON lines over a pipe)."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.children: set[int] = set()

    @classmethod
    def start(cls) -> "Zygote":
        code = f"import sys; sys.path[:0] = [{str(TESTS)!r}]; from reliability.crashkit import _zygote_main; _zygote_main()"
        proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True, bufsize=1, cwd=ROOT)
        z = cls(proc)
        assert z._read()["ready"]
        return z

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the zygote died (exit {self.proc.poll()})")
        return json.loads(line)

    def _ask(self, message: dict) -> dict:
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def fork(self, func: str, args: dict[str, Any], *, env: dict[str, str] | None = None,
             log: str | None = None) -> int:
        """Fork a child that calls ``func`` (``module:function``) with ``args``; return its pid."""
        pid = self._ask({"op": "fork", "func": func, "args": args, "env": env or {}, "log": log})["pid"]
        self.children.add(pid)
        return pid

    def warm(self, dagster_home: str | None) -> None:
        """Create (and drop) an instance on ``dagster_home`` once, so that a child's takes milliseconds."""
        if dagster_home:
            self._ask({"op": "warm", "home": str(dagster_home)})

    def preload(self, config: str, dagster_home: str | None, env: dict[str, str]) -> None:
        """Build the definitions of ``config`` and the instance on ``dagster_home`` in the zygote, so
        that every child inherits them ready (neither holds a connection until a child uses it)."""
        reply = self._ask({"op": "preload", "config": str(config), "home": dagster_home, "env": env})
        assert reply == {"threads": 1, "sockets": 0}, reply  # nothing a child could share with another

    def wait(self, pid: int) -> dict:
        """Reap the child: ``{"code": exit code or None, "signal": signal number or None}``."""
        reply = self._ask({"op": "wait", "pid": pid})
        self.children.discard(pid)
        return reply

    def kill(self, pid: int) -> dict:
        os.kill(pid, signal.SIGKILL)
        return self.wait(pid)

    def close(self) -> None:
        for pid in list(self.children):  # only the children this zygote forked, by their id
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.wait(pid)
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def _zygote_main() -> None:
    # Pre-warm: everything a child needs, imported once.
    import dagster  # noqa: F401
    import pandas  # noqa: F401
    import requests  # noqa: F401

    import integrations_dagster.build  # noqa: F401
    import integrations_dagster.state  # noqa: F401
    from dagster_postgres import PostgresRunStorage  # noqa: F401

    out = sys.stdout
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        msg = json.loads(line)
        if msg["op"] == "fork":
            pid = os.fork()
            if pid == 0:
                _child(msg)  # never returns
            reply = {"pid": pid}
        elif msg["op"] == "warm":  # load what an instance on this home loads lazily; keep no connection
            instance_for(msg["home"]).dispose()
            reply = {"warm": True}
        elif msg["op"] == "preload":
            import threading

            from integrations_dagster import config
            from integrations_dagster.build import build_definitions

            os.environ.update(msg["env"])
            PRELOADED["defs", msg["config"]] = build_definitions(config.load(msg["config"]))
            if msg["home"]:
                PRELOADED["instance", msg["home"]] = instance_for(msg["home"])
            reply = {"threads": threading.active_count(), "sockets": _open_sockets()}
        elif msg["op"] == "wait":
            _, status = os.waitpid(msg["pid"], 0)
            reply = {"code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                     "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None}
        else:
            reply = {"error": f"unknown op {msg['op']!r}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


def _open_sockets() -> int:
    fds = "/proc/self/fd"
    if not os.path.isdir(fds):
        return 0
    count = 0
    for fd in os.listdir(fds):
        try:
            count += os.readlink(f"{fds}/{fd}").startswith("socket:")
        except OSError:
            pass
    return count


def _child(msg: dict) -> None:
    code = 1
    try:
        os.setpgid(0, 0)  # its own process group: a kill never reaches the zygote
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        log = os.open(msg["log"] or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        sys.stdout = os.fdopen(1, "w", buffering=1)
        sys.stderr = os.fdopen(2, "w", buffering=1)
        os.environ.update(msg["env"])
        module, name = msg["func"].split(":")
        getattr(importlib.import_module(module), name)(msg["args"])
        code = 0
    except BaseException:  # noqa: BLE001 - report, then leave without running the zygote's code
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


CHILD_ENV = ("WOO_CONSUMER_KEY", "WOO_CONSUMER_SECRET", "FORTNOX_ACCESS_TOKEN", "INTEGRATIONS_STATE_URL",
             "RELIABILITY_ALERT_URL")


def child_env() -> dict[str, str]:
    """The test's environment a child needs (credentials, state store URL, alert hook)."""
    return {k: os.environ[k] for k in CHILD_ENV if k in os.environ}


def child_home(dagster_home) -> str | None:
    """Children put their runs where the test's instance does: PostgreSQL, or (SQLite pass) memory."""
    return str(dagster_home) if os.environ.get("INTEGRATIONS_TEST_PG_URL") else None


def forget_state(url: str) -> None:
    """Empty every table of the state store (a fresh start for the next round)."""
    from integrations_dagster.state import StateStore
    from integrations_dagster.state.tables import metadata

    store = StateStore(url)
    with store.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    store.dispose()


def reset_sandbox(url: str, demo: bool = False) -> None:
    import requests

    requests.post(f"{url}/__sandbox__/reset", params={"demo": str(demo).lower()}, timeout=10).raise_for_status()


# -- Dagster instances -----------------------------------------------------------------------------

def write_dagster_home(home: Path, pg_url: str | None) -> Path:
    """A DAGSTER_HOME with the repository's dagster.yaml (queued runs, one run per target at a time),
    and Dagster's storage on PostgreSQL when ``pg_url`` is given (else SQLite files in ``home``)."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_DAGSTER_YAML, home / "dagster.yaml")
    if pg_url:
        with open(home / "dagster.yaml", "a") as f:
            f.write(f"\nstorage:\n  postgres:\n    postgres_url: \"{pg_url}\"\n")
    return home


def instance_for(home: str | None):
    """Dagster's instance of a run: on ``home`` (persistent), or ephemeral (in memory).

    On PostgreSQL the storages keep a small connection pool (as dagster-webserver does) instead of
    one new connection per event, which triples the speed of a run; the storage is the same.
    """
    from dagster import DagsterInstance

    if not home:
        return DagsterInstance.ephemeral()
    instance = DagsterInstance.from_config(str(home))
    if type(instance.run_storage).__module__.startswith("dagster_postgres"):
        instance.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=4)
    return instance


def fail_dead_runs(instance, reason: str) -> int:
    """Mark the runs left STARTED by killed processes as failed, as an operator would; return how many.

    A SIGKILLed run never reports its end, and the default run launcher cannot check a run worker's
    health: left alone it counts as running for ever (the change sensor skips its flow, and the run
    queue holds its target). Only call this when no run of the instance is really running.
    """
    from dagster import RunsFilter
    from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES

    records = instance.get_run_records(filters=RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES))
    for record in records:
        instance.report_run_failed(record.dagster_run, reason)
    return len(records)


# -- what a child runs ------------------------------------------------------------------------------

def run_jobs(args: dict) -> None:
    """Run flow jobs one after the other (as a scheduler would), optionally stopping at a probe.

    ``probe``: ``{"answers": M, "route": "POST /3/orders", "marker": path}`` — after the M-th
    successful answer to a request on ``route``, at the next state-store write (the writer binding
    the new id, or the engine recording the landed record), *before* it is written, create
    ``marker`` and wait to be killed: the target has the record and has answered, the store does not
    know yet.
    """
    from integrations_dagster import config
    from integrations_dagster.build import build_definitions

    if args.get("go"):  # racing children start together
        deadline = time.monotonic() + 30
        while not os.path.exists(args["go"]) and time.monotonic() < deadline:
            time.sleep(0.002)
    if args.get("probe"):
        _install_probe(args["probe"])
    defs = PRELOADED.get(("defs", args["config"])) or build_definitions(config.load(args["config"]))
    home = args.get("dagster_home")
    instance = PRELOADED.get(("instance", home)) or instance_for(home)
    failed, pushed = [], {}
    for name in args["jobs"]:
        result = defs.get_job_def(name).execute_in_process(instance=instance, raise_on_error=False,
                                                           tags=args.get("tags"))
        if not result.success:
            failed.append(name)
        for event in result.all_events:  # the push op's tally: created, linked, landed by another run...
            if event.event_type_value == "STEP_OUTPUT" and (event.step_key or "").endswith("_push"):
                for k, v in event.step_output_data.metadata.items():
                    if isinstance(v.value, int):
                        pushed[k] = pushed.get(k, 0) + v.value
    if args.get("done"):
        Path(args["done"]).write_text(json.dumps({"failed": failed, "pushed": pushed}))


def _install_probe(probe: dict) -> None:
    import requests
    from urllib.parse import urlsplit

    from integrations_dagster.state.store import StateStore, TableBinder

    method, route = probe["route"].split(" ", 1)
    seen = {"answers": 0}
    send = requests.Session.request

    def counted(self, *a, **kw):  # positional or by keyword: requests.post passes method= and url=
        resp = send(self, *a, **kw)
        verb = kw.get("method", a[0] if a else "")
        url = kw.get("url", a[1] if len(a) > 1 else (a[0] if "method" in kw and a else ""))
        if str(verb).upper() == method and urlsplit(str(url)).path.endswith(route) and resp.status_code < 300:
            seen["answers"] += 1
        return resp

    def stop_here() -> None:
        if seen["answers"] >= probe["answers"]:
            Path(probe["marker"]).write_text(str(os.getpid()))
            time.sleep(120)  # the test kills us here

    def wrap(cls, name):
        original = getattr(cls, name)

        def probed(self, *a, **kw):
            stop_here()
            return original(self, *a, **kw)

        setattr(cls, name, probed)

    requests.Session.request = counted
    wrap(StateStore, "record_landed")
    wrap(TableBinder, "bind")


def state_churn(args: dict) -> None:
    """Write state as fast as possible until killed: records landed one transaction each (snapshot,
    two id-map rows, three bindings and a sync-log row), and every ``batch_every`` records a batch of
    ``batch_rows`` failures in one transaction. With ``hold_open``, first write a large transaction
    and wait inside it (never committed)."""
    from integrations_dagster.state import FlowRef, StateStore
    from integrations_dagster.state.store import now
    from integrations_dagster.state.tables import sync_log

    store = StateStore(args["url"])
    flow = FlowRef("crash.churn", "shop", "erp", "products")
    if args.get("hold_open"):
        with store.engine.begin() as conn:
            conn.execute(sync_log.insert(), [
                {"run_id": "open-transaction", "flow": "crash.churn", "record_key": f"open-{i}", "stage": "push",
                 "action": "create", "outcome": "created", "error": "e" * 200, "at": now()}
                for i in range(args["batch_rows"])])
            Path(args["marker"]).write_text("open")
            time.sleep(120)  # killed here, inside the transaction
    start = args["start"]
    i = start
    commits = 0
    while True:
        key = f"K{i}"
        store.record_landed(
            f"churn-{i}", flow, key=key, action="create", outcome="created", record_hash=f"{i:064d}",
            payload={"sku": key, "name": "x" * 200, "i": i}, target_id=f"T{i}", source_id=f"S{i}",
            bindings={f"{key}-{v}": (f"T{i}-{v}", f"T{i}") for v in range(3)})
        commits += 1
        _progress(args["marker"], commits)
        if (i - start) % args["batch_every"] == args["batch_every"] - 1:
            store.record_failures(f"batch-{i}", "crash.churn",
                                  [(f"bad-{i}-{j}", "reason " * 20) for j in range(args["batch_rows"])],
                                  stage="normalize", action="map")
            commits += 1
            _progress(args["marker"], commits)
        i += 1


def _progress(marker: str, commits: int) -> None:
    """How many transactions the churn has committed (replaced whole: a reader never sees half a number)."""
    tmp = f"{marker}.tmp"
    Path(tmp).write_text(str(commits))
    os.replace(tmp, marker)


def kill_at(zygote, pid: int, reached, done: Path, log: Path, tag: str, *, timeout_s: float = 40,
            after=None) -> bool:
    """Watch a forked child until ``reached()`` (its kill point) and SIGKILL it there; whether it was
    killed. A child that finished first must have run every job cleanly. ``after()`` runs once the
    child is gone (a knob to release a held answer)."""
    deadline = time.monotonic() + timeout_s
    hit = False
    while time.monotonic() < deadline and not done.exists():
        if reached():
            hit = True
            break
        time.sleep(0.003)
    if hit:
        os.kill(pid, signal.SIGKILL)
    exit_state = zygote.wait(pid)
    if after is not None:
        after()
    if not hit:
        tail = log.read_text()[-3000:] if log.exists() else ""
        assert done.exists(), f"child {tag} neither reached its kill point nor finished: {exit_state}\n{tail}"
        failed = json.loads(done.read_text())["failed"]
        assert not failed, f"child {tag}: runs failed: {failed}\n{tail}"
    else:
        assert exit_state["signal"] == signal.SIGKILL, exit_state
    return hit


def served(url: str, route: str) -> int:
    """How many requests ``route`` ("METHOD path") the sandbox has answered since its reset."""
    from flowkit import stats

    return stats(url)["requests"].get(route, 0)


def held(url: str) -> int:
    """How many writes the sandbox applied and holds the answer of (``hold_write``)."""
    from flowkit import stats

    return stats(url)["faults"].get("held_after_write", 0)


def kill_once(zygote, tmp_path: Path, cfg, url: str, route: str, kind: str, n: int, jobs: list[str], home,
              tag: str, env: dict[str, str], *, timeout_s: float = 40) -> bool:
    """Fork a child that runs ``jobs``; SIGKILL it at its ``n``-th write ``route`` to the sandbox at ``url``,
    where ``kind`` says: ``sent`` (the sandbox answered it), ``applied`` (applied, its answer held) or
    ``answered`` (the child has the answer, before it records it). True when it was killed, False when it
    finished first."""
    from reliability.relkit import knobs

    done, marker, log = tmp_path / f"{tag}.done", tmp_path / f"{tag}.marker", tmp_path / f"{tag}.log"
    args = {"config": str(cfg), "jobs": jobs, "dagster_home": child_home(home), "done": str(done)}
    before, held_before = served(url, route), held(url)
    if kind == "applied":
        knobs(url, hold_write=n, hold_route=route)
    elif kind == "answered":
        args["probe"] = {"answers": n, "route": route, "marker": str(marker)}
    pid = zygote.fork("reliability.crashkit:run_jobs", args, env=env, log=str(log))

    def reached() -> bool:
        if kind == "answered":
            return marker.exists()
        if kind == "applied":
            return held(url) > held_before
        return served(url, route) >= before + n

    return kill_at(zygote, pid, reached, done, log, tag, timeout_s=timeout_s,
                   after=(lambda: knobs(url, hold_write=0, hold_route="")) if kind == "applied" else None)
