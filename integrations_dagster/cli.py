"""The ``integrations-dagster`` command: sandboxes, config validation, connection tests, sync log.

    integrations-dagster sandbox all                  # both demo sandboxes on 8701/8702
    integrations-dagster sandbox fortnox --port 9000 --rate-limit 25 --rate-window 5
    integrations-dagster validate [--config FILE]
    integrations-dagster connect demo shop            # F1: do the credentials work?
    integrations-dagster log --run RUN_ID | --flow demo.orders [--key KEY]

Sandbox credentials come from the same environment variables the demo integration names, so the
sandbox and the connectors agree without a secret ever being written down.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

DEFAULT_PORTS = {"woocommerce": 8701, "fortnox": 8702}
CREDENTIAL_ENV = {
    "woocommerce": {"consumer_key": "WOO_CONSUMER_KEY", "consumer_secret": "WOO_CONSUMER_SECRET"},
    "fortnox": {"client_id": "FORTNOX_CLIENT_ID", "client_secret": "FORTNOX_CLIENT_SECRET",
                "refresh_token": "FORTNOX_REFRESH_TOKEN", "access_token": "FORTNOX_ACCESS_TOKEN"},
}
SANDBOX_CREDENTIALS = {  # the complete sets a sandbox can start with
    "woocommerce": (("consumer_key", "consumer_secret"),),
    "fortnox": (("client_id", "client_secret", "refresh_token"), ("access_token",)),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="integrations-dagster", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    sb = sub.add_parser("sandbox", help="serve vendor emulators on loopback")
    sb.add_argument("system", choices=[*DEFAULT_PORTS, "all"])
    sb.add_argument("--host", default="127.0.0.1", help="bind address (loopback by default)")
    sb.add_argument("--port", type=int, help="port (single system only)")
    sb.add_argument("--data-dir", default=".sandbox", help="folder for the sandboxes' SQLite files")
    sb.add_argument("--no-demo", action="store_true", help="start empty instead of with demo data")
    sb.add_argument("--latency-ms", type=float, default=0.0)
    sb.add_argument("--rate-limit", type=int, default=0, help="requests per window (0 = none)")
    sb.add_argument("--rate-window", type=float, default=1.0, help="window in seconds")
    sb.add_argument("--fault-rate", type=float, default=0.0, help="share of requests answered 5xx")

    for name, help_ in (("validate", "check an integrations file"), ("connect", "test a connection")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--config", help="integrations YAML (default: INTEGRATIONS_CONFIG or the demo)")
        if name == "connect":
            p.add_argument("integration")
            p.add_argument("connection")

    lg = sub.add_parser("log", help="show the sync log")
    lg.add_argument("--run")
    lg.add_argument("--flow")
    lg.add_argument("--key")
    lg.add_argument("--limit", type=int, default=50)

    args = parser.parse_args(argv)
    defaulted = _same_state_as_dagster()
    try:
        return {"sandbox": _sandbox, "validate": _validate, "connect": _connect, "log": _log}[args.command](args)
    except Exception as exc:  # a person reads this: one line, no traceback
        from integrations_dagster.config import ConfigError
        from integrations_dagster.connectors.http import ApiError

        if isinstance(exc, (ConfigError, ApiError, OSError)):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        raise
    finally:
        if defaulted:
            os.environ.pop("DAGSTER_HOME", None)


def _same_state_as_dagster() -> bool:
    """Read and write the state store Dagster's runs use: without ``INTEGRATIONS_STATE_URL`` or
    ``DAGSTER_HOME`` that is ``make demo``'s ``.dagster_home``. (A command that refreshed a rotating
    token into another store would use up the token the runs hold.) True when it set the default."""
    if os.environ.get("INTEGRATIONS_STATE_URL") or os.environ.get("DAGSTER_HOME"):
        return False
    os.environ["DAGSTER_HOME"] = str(Path(".dagster_home").resolve())
    return True


def _sandbox(args) -> int:
    from integrations_dagster.sandbox.base import Knobs
    from integrations_dagster.sandbox.runner import start_in_thread

    systems = list(DEFAULT_PORTS) if args.system == "all" else [args.system]
    Path(args.data_dir).mkdir(parents=True, exist_ok=True)
    running = []
    for system in systems:
        credentials = {field: os.environ[env] for field, env in CREDENTIAL_ENV[system].items() if os.environ.get(env)}
        complete = [fields for fields in SANDBOX_CREDENTIALS[system] if all(f in credentials for f in fields)]
        if not complete:
            names = " or ".join(", ".join(CREDENTIAL_ENV[system][f] for f in fields)
                                for fields in SANDBOX_CREDENTIALS[system])
            print(f"error: set {names} (the {system} sandbox accepts those credentials)", file=sys.stderr)
            return 2
        knobs = Knobs(latency_ms=args.latency_ms, rate_limit=args.rate_limit, rate_window_s=args.rate_window,
                      fault_rate=args.fault_rate)
        port = args.port if args.port and len(systems) == 1 else DEFAULT_PORTS[system]
        db = str(Path(args.data_dir) / f"{system}.db")
        for suffix in ("", "-wal", "-shm"):
            Path(db + suffix).unlink(missing_ok=True)  # each start is a fresh demo
        sandbox = start_in_thread(system, credentials=credentials, knobs=knobs, db_path=db,
                                  demo=not args.no_demo, host=args.host, port=port)
        running.append(sandbox)
        print(f"{system} sandbox on {sandbox.url} (data {db})", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    for sandbox in running:
        sandbox.stop()
    return 0


def _validate(args) -> int:
    from integrations_dagster import config
    from integrations_dagster.build import build_definitions

    file = config.load(args.config)
    build_definitions(file)
    for integration in file.integrations:
        flows = ", ".join(f"{n} ({f.entity}: {f.source} → {f.target})" for n, f in integration.flows.items())
        print(f"{integration.name}: {len(integration.connections)} connections; flows {flows}")
    return 0


def _connect(args) -> int:
    from integrations_dagster import config
    from integrations_dagster.build import connection_resource

    file = config.load(args.config)
    integration = next((i for i in file.integrations if i.name == args.integration), None)
    if integration is None or args.connection not in integration.connections:
        print(f"error: no connection {args.integration}.{args.connection} in {args.config or config.config_path()}",
              file=sys.stderr)
        return 2
    resource = connection_resource(args.connection, integration.connections[args.connection])
    missing = [getattr(resource, f).env_var_name for f in resource.secret_fields
               if hasattr(getattr(resource, f), "env_var_name") and not os.environ.get(getattr(resource, f).env_var_name)]
    if missing:
        print(f"error: set {', '.join(missing)} first", file=sys.stderr)
        return 2
    with resource.process_config_and_initialize_cm() as live:
        print(f"{args.integration}.{args.connection}: OK — {live.test_connection()}")
    return 0


def _log(args) -> int:
    import pandas as pd

    from integrations_dagster.state import StateStore

    store = StateStore()
    frame = store.log(run_id=args.run, flow=args.flow, key=args.key)
    with pd.option_context("display.max_colwidth", 80, "display.width", 200):
        where = store.engine.url.render_as_string(hide_password=True)
        print(frame.tail(args.limit).to_string(index=False) if len(frame) else f"no rows in {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
