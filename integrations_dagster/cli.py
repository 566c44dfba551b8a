"""The ``integrations-dagster`` command: sandboxes, config validation, connection tests, sync log.

    integrations-dagster sandbox all                  # the demo sandboxes on 8701-8708
    integrations-dagster sandbox fortnox --port 9000 --rate-limit 25 --rate-window 5
    integrations-dagster receiver [--port 8710]       # webhooks in: POST /hooks/<integration>/<connection>
    integrations-dagster subscribe pos                # the systems of an integration send webhooks to it
    integrations-dagster validate [--config FILE]
    integrations-dagster connect demo shop            # F1: do the credentials work?
    integrations-dagster connect market tradera --login   # a system's own login first (Tradera's token login)
    integrations-dagster lineage tradera:9001         # an order's way: marketplace → hub → shop → ERP
    integrations-dagster log [--run ID] [--flow demo.orders] [--key KEY] [--failed] [--since 2h]
                             [--limit N] [--format table|json|csv]
    integrations-dagster dry-run demo products        # what would change, field by field; no write
    integrations-dagster resend demo orders 1234      # one order again (never a duplicate)
    integrations-dagster retry-failed demo products   # every record that failed and has not landed

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

DEFAULT_PORTS = {"woocommerce": 8701, "fortnox": 8702, "zettle": 8703, "bigcommerce": 8704, "specter": 8705,
                 "rackbeat": 8707, "shopbox": 8708, "tradera": 8709}
# ``sandbox all``: (system, port, data file) — a second WooCommerce shop for the demo's WooCommerce ⇄
# Specter integration, so that two ERPs never count one shop's stock.
DEMO_SANDBOXES = [*((system, port, system) for system, port in DEFAULT_PORTS.items()),
                  ("woocommerce", 8706, "woocommerce-butik")]
CREDENTIAL_ENV = {
    "woocommerce": {"consumer_key": "WOO_CONSUMER_KEY", "consumer_secret": "WOO_CONSUMER_SECRET"},
    "fortnox": {"client_id": "FORTNOX_CLIENT_ID", "client_secret": "FORTNOX_CLIENT_SECRET",
                "refresh_token": "FORTNOX_REFRESH_TOKEN", "access_token": "FORTNOX_ACCESS_TOKEN"},
    "zettle": {"client_id": "ZETTLE_CLIENT_ID", "api_key": "ZETTLE_API_KEY"},
    "bigcommerce": {"store_hash": "BIGCOMMERCE_STORE_HASH", "access_token": "BIGCOMMERCE_ACCESS_TOKEN",
                    "client_secret": "BIGCOMMERCE_WEBHOOK_SECRET"},  # the app's secret signs its webhooks
    "specter": {"sbm_id": "SPECTER_SBM_ID", "api_user_id": "SPECTER_API_USER_ID", "user_key": "SPECTER_USER_KEY",
                "integration_key": "SPECTER_INTEGRATION_KEY"},  # no integration key: an API v1 account
    "rackbeat": {"api_key": "RACKBEAT_API_KEY"},
    "shopbox": {"username": "SHOPBOX_USERNAME", "password": "SHOPBOX_PASSWORD", "client": "SHOPBOX_CLIENT"},
    "tradera": {"app_id": "TRADERA_APP_ID", "app_key": "TRADERA_APP_KEY", "public_key": "TRADERA_PUBLIC_KEY",
                "user_id": "TRADERA_USER_ID", "user_token": "TRADERA_USER_TOKEN"},
}
SANDBOX_CREDENTIALS = {  # the complete sets a sandbox can start with
    "woocommerce": (("consumer_key", "consumer_secret"),),
    "fortnox": (("client_id", "client_secret", "refresh_token"), ("access_token",)),
    "zettle": (("client_id", "api_key"),),
    "bigcommerce": (("store_hash", "access_token"),),
    "specter": (("sbm_id", "api_user_id", "user_key", "integration_key"), ("sbm_id", "api_user_id", "user_key")),
    "rackbeat": (("api_key",),),
    "shopbox": (("username", "password", "client"),),
    "tradera": (("app_id", "app_key", "public_key", "user_id", "user_token"),),
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

    rc = sub.add_parser("receiver", help="serve the webhook receiver (POST /hooks/<integration>/<connection>)")
    rc.add_argument("--host", default="127.0.0.1", help="bind address (loopback by default)")
    rc.add_argument("--port", type=int, default=8710)
    rc.add_argument("--dagster-url", default=os.environ.get("DAGSTER_WEBSERVER_URL", "http://127.0.0.1:3000"),
                    help="the Dagster webserver asked for a flow's run as soon as a webhook arrives ('' : leave it to "
                         "the webhook sensors)")
    rc.add_argument("--runs", choices=("here", "dagster"), default="here",
                    help="here: run a hinted flow at once in this warm process (recorded in Dagster's instance; "
                         "pairs and flows waiting for `after:` go to Dagster); dagster: ask the webserver for each run")
    rc.add_argument("--config", help="integrations YAML (default: INTEGRATIONS_CONFIG or the demo)")

    su = sub.add_parser("subscribe", help="subscribe the webhook receiver to an integration's systems")
    su.add_argument("integration")
    su.add_argument("--receiver-url", default="http://127.0.0.1:8710",
                    help="where the systems reach the receiver (a public URL in production)")
    su.add_argument("--config", help="integrations YAML (default: INTEGRATIONS_CONFIG or the demo)")

    for name, help_ in (("validate", "check an integrations file"),
                        ("connect", "test an integration's connections (all, or one); connects a disconnected one again")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--config", help="integrations YAML (default: INTEGRATIONS_CONFIG or the demo)")
        if name == "connect":
            p.add_argument("integration")
            p.add_argument("connection", nargs="?", help="just this one (a test only: it connects nothing again)")
            p.add_argument("--login", action="store_true",
                           help="first walk through the system's own login (Tradera's token login) for the connection")

    dc = sub.add_parser("disconnect", help="stop an integration's flows, keeping or deleting what they created "
                                           "in the targets; its fixed choices are forgotten")
    dc.add_argument("integration")
    dc.add_argument("--products", choices=("keep", "delete"), required=True,
                    help="keep: the target's products stay and stop syncing; delete: products the flows created "
                         "or linked there are deleted")
    dc.add_argument("--config", help="integrations YAML (default: INTEGRATIONS_CONFIG or the demo)")

    ln = sub.add_parser("lineage", help="where orders came from and where they went (marketplace → shop → ERP)")
    ln.add_argument("keys", nargs="+", help="order keys as the sync log shows them (market:9001)")

    lg = sub.add_parser("log", help="show the sync log (oldest first)")
    lg.add_argument("--run", help="one run's rows (its Dagster run id)")
    lg.add_argument("--flow", help="one flow's rows, e.g. demo.orders")
    lg.add_argument("--key", help="one record's rows (SKU, order key)")
    lg.add_argument("--failed", action="store_true", help="failed records only")
    lg.add_argument("--since", help="rows from then on: 2026-11-01, 2026-11-01T08:00 (UTC unless a zone "
                                    "is given), or 30m, 2h, 1d ago")
    lg.add_argument("--limit", type=int, default=50, help="the last N rows (0: all; default 50)")
    lg.add_argument("--format", choices=("table", "json", "csv"), default="table")

    for name, help_ in (("resend", "re-send records of a flow by key (SKU, order number); never a duplicate"),
                        ("retry-failed", "re-send every record of a flow that failed and has not landed since"),
                        ("dry-run", "what a flow's run would create or update, field by field; writes nothing")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("integration")
        p.add_argument("flow")
        if name == "resend":
            p.add_argument("keys", nargs="+", metavar="KEY")
        if name == "dry-run":
            p.add_argument("--full", action="store_true", help="against everything, not just since the cursor")
        p.add_argument("--config", help="integrations YAML (default: INTEGRATIONS_CONFIG or the demo)")
        p.add_argument("--format", choices=("table", "json"), default="table")

    ini = sub.add_parser("initial-sync", help="a flow's initial sync, once (matching by SKU); --dry-run says "
                                              "what it would create and match first")
    ini.add_argument("integration")
    ini.add_argument("flow")
    ini.add_argument("--dry-run", action="store_true", help="say what it would do, write nothing")
    ini.add_argument("--force", action="store_true", help="run it again though it ran before")
    ini.add_argument("--skip", action="store_true", help=(
        "choose not to sync at all (seed 003: 'do not sync'): recorded like a run, so the choice is made once"))
    ini.add_argument("--config", help="integrations YAML (default: INTEGRATIONS_CONFIG or the demo)")
    ini.add_argument("--format", choices=("table", "json"), default="table")

    args = parser.parse_args(argv)
    defaulted = _same_state_as_dagster()
    try:
        return {"sandbox": _sandbox, "receiver": _receiver, "subscribe": _subscribe, "validate": _validate, "connect": _connect, "disconnect": _disconnect, "log": _log, "lineage": _lineage, "resend": _act,
                "retry-failed": _act, "dry-run": _act, "initial-sync": _act}[args.command](args)
    except Exception as exc:  # a person reads this: one line, no traceback
        from integrations_dagster.config import ConfigError
        from integrations_dagster.connectors.http import ApiError
        from integrations_dagster.synclog import LogError

        if isinstance(exc, (ConfigError, ApiError, OSError, LogError, NotImplementedError)):
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

    wanted = DEMO_SANDBOXES if args.system == "all" else [(args.system, args.port or DEFAULT_PORTS[args.system],
                                                            args.system)]
    Path(args.data_dir).mkdir(parents=True, exist_ok=True)
    running = []
    for system, port, data_name in wanted:
        credentials = {field: os.environ[env] for field, env in CREDENTIAL_ENV[system].items() if os.environ.get(env)}
        complete = [fields for fields in SANDBOX_CREDENTIALS[system] if all(f in credentials for f in fields)]
        if not complete:
            names = " or ".join(", ".join(CREDENTIAL_ENV[system][f] for f in fields)
                                for fields in SANDBOX_CREDENTIALS[system])
            print(f"error: set {names} (the {system} sandbox accepts those credentials)", file=sys.stderr)
            return 2
        knobs = Knobs(latency_ms=args.latency_ms, rate_limit=args.rate_limit, rate_window_s=args.rate_window,
                      fault_rate=args.fault_rate)
        db = str(Path(args.data_dir) / f"{data_name}.db")
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


def _receiver(args) -> int:
    """The webhook receiver in the foreground, storing hints in the state store the runs use."""
    import uvicorn

    from integrations_dagster import config
    from integrations_dagster.receiver import build_app
    from integrations_dagster.state.resource import open_store

    from integrations_dagster.launch import Launcher, WarmRunner

    file = config.load(args.config)
    launcher = Launcher(args.dagster_url) if args.dagster_url else None
    app = build_app(file, open_store(), WarmRunner(file, fallback=launcher) if args.runs == "here" else launcher)
    print(f"webhook receiver on http://{args.host}:{args.port}/hooks/<integration>/<connection>", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False, lifespan="off")
    return 0


def _subscribe(args) -> int:
    """Each connection read by a webhook-triggered flow gets a subscription to the receiver."""
    from integrations_dagster import config
    from integrations_dagster.receiver import subscribe
    from integrations_dagster.state.resource import open_store

    for line in subscribe(config.load(args.config), open_store(), args.integration, args.receiver_url):
        print(f"subscribed {line}")
    return 0


def _validate(args) -> int:
    """The schema, then each system's settings and options (errors: exit 2), then the build as it
    would be once every named environment variable is set; unset ones are warnings (exit 0)."""
    from integrations_dagster import config, config_check
    from integrations_dagster.build import build_definitions

    path = args.config or config.config_path()
    file = config.load(path)
    findings = config_check.check(file)
    for finding in findings:
        print(finding.line(path), file=sys.stderr)
    if any(f.level == "error" for f in findings):
        return 2
    try:
        build_definitions(config_check.as_if_set(file))
    except config.ConfigError as exc:
        raise config.ConfigError(f"{path}: {exc}") from None
    for integration in file.integrations:
        flows = ", ".join(f"{n} ({f.entity}: {f.source} → {f.target})" for n, f in integration.flows.items())
        print(f"{integration.name}: {len(integration.connections)} connections; flows {flows}")
    return 0


def _lineage(args) -> int:
    """Each order's chain through the hub's plugs, from the id map (``flows.lineage``)."""
    from integrations_dagster.flows.lineage import describe
    from integrations_dagster.state.resource import open_store

    store = open_store()
    for key in args.keys:
        print(describe(store, key))
    return 0


def _connect(args) -> int:
    """Test each connection of the integration (or the one named); with all of them answering, an
    integration that was disconnected is connected again: its flows start over with a first sync."""
    from integrations_dagster import config
    from integrations_dagster.build import connection_resource
    from integrations_dagster.flows import lifecycle
    from integrations_dagster.state.resource import open_store

    file = config.load(args.config)
    integration = next((i for i in file.integrations if i.name == args.integration), None)
    names = [args.connection] if args.connection else list(integration.connections) if integration else []
    if getattr(args, "login", False) and not args.connection:
        print("error: --login names the connection to log in: connect <integration> <connection> --login",
              file=sys.stderr)
        return 2
    if integration is None or any(n not in integration.connections for n in names):
        where = f"{args.integration}.{args.connection}" if args.connection else args.integration
        print(f"error: no {'connection' if args.connection else 'integration'} {where} in "
              f"{args.config or config.config_path()}", file=sys.stderr)
        return 2
    unready: list[str] = []
    for name in names:
        resource = connection_resource(name, integration.connections[name])
        missing = [getattr(resource, f).env_var_name for f in resource.secret_fields
                   if hasattr(getattr(resource, f), "env_var_name") and not os.environ.get(getattr(resource, f).env_var_name)]
        if missing:
            print(f"error: set {', '.join(missing)} first", file=sys.stderr)
            return 2
        with resource.process_config_and_initialize_cm() as live:
            if getattr(args, "login", False):
                print(f"{args.integration}.{name}: {live.login(input, print)}")
            print(f"{args.integration}.{name}: OK — {live.test_connection()}")
            missing = live.prerequisites(connection_uses(integration, name))
        for problem in missing:
            print(f"{args.integration}.{name}: missing — {problem}", file=sys.stderr)
        if missing:
            unready.append(name)
    if unready:
        print(f"error: {', '.join(unready)} not ready for the flows: create what is missing, then connect again",
              file=sys.stderr)
        return 1
    if not args.connection and lifecycle.reconnect(open_store(), args.integration):
        print(f"{args.integration}: connected again; its flows begin with a first sync (products already in a "
              "target are linked by SKU, not created twice)")
        if any(f.enabled and f.triggers.webhook for f in integration.flows.values()):
            print(f"webhooks: `integrations-dagster subscribe {args.integration}` subscribes the receiver again")
    return 0


def connection_uses(integration, connection: str) -> list:
    """Each enabled flow's use of ``connection``, with the options that side reads (for ``prerequisites``)."""
    from integrations_dagster.build import integration_specs
    from integrations_dagster.connectors.base import Use
    from integrations_dagster.flows.pipeline import connection_options

    return [Use(spec.name, spec.entity, side, connection_options(spec, side))
            for spec in integration_specs(integration) for side in ("source", "target")
            if getattr(spec, side) == connection]


def _disconnect(args) -> int:
    """Mark the integration disconnected (its runs read and write nothing), delete what its product
    flows landed when asked (a run of each, recorded like any run), then forget its flows' state."""
    from integrations_dagster import config
    from integrations_dagster.actions import run_flow
    from integrations_dagster.build import integration_specs
    from integrations_dagster.flows import lifecycle
    from integrations_dagster.receiver import unsubscribe
    from integrations_dagster.state.resource import open_store

    file = config.load(args.config)
    integration = next((i for i in file.integrations if i.name == args.integration), None)
    if integration is None:
        print(f"error: no integration {args.integration} in {args.config or config.config_path()}", file=sys.stderr)
        return 2
    specs = integration_specs(integration)
    store = open_store()
    lifecycle.mark_disconnected(store, integration.name, args.products)
    for line in unsubscribe(file, integration.name):
        print(line)
    if args.products == "delete":
        for spec in (s for s in specs if s.entity == "products"):
            result = run_flow(integration.name, spec.name, withdraw_all=True, config=args.config)
            deleted = result.summary.get("deleted", 0)
            print(f"{spec.state_name}: {deleted} products deleted in {spec.target} (run {result.run_id})")
            if not result.success:
                print(f"error: {result.error}; the integration stays disconnected and nothing is forgotten: run "
                      f"disconnect again to delete the rest", file=sys.stderr)
                return 1
    lifecycle.forget(store, specs)
    kept = "kept in the targets, no longer synced" if args.products == "keep" else "deleted in the targets"
    print(f"{integration.name}: disconnected; products {kept}; its fixed choices are forgotten. "
          f"`integrations-dagster connect {integration.name}` connects it again")
    return 0


def _log(args) -> int:
    """Rows of the sync log, read without ever creating a state store (see :mod:`.synclog`)."""
    from integrations_dagster import synclog

    since = synclog.parse_since(args.since) if args.since else None
    if args.limit < 0:
        raise synclog.LogError(f"--limit {args.limit}: give a number of rows, 0 for all")
    query = synclog.Query(run_id=args.run, flow=args.flow, key=args.key, failed=args.failed, since=since,
                          limit=args.limit)
    result = synclog.read(query)
    synclog.write(result, args.format, sys.stdout)
    if not result.rows:  # a note, not data: on stdout only where no program reads it
        print(f"no rows in {result.where}" + (" match" if query.filtered else ""),
              file=sys.stdout if args.format == "table" else sys.stderr)
    elif result.total > len(result.rows):
        print(f"(the last {len(result.rows)} of {result.total} rows; --limit 0 shows all)", file=sys.stderr)
    return 0


def _act(args) -> int:
    """resend / retry-failed / dry-run: the flow's job, run here with that config (see :mod:`.actions`)."""
    import json

    import pandas as pd

    from integrations_dagster.actions import initial_sync, run_flow

    if args.command == "initial-sync" and args.skip:
        from integrations_dagster.actions import skip_initial_sync

        skip_initial_sync(args.integration, args.flow, force=args.force, config=args.config)
        print(f"{args.integration}.{args.flow}: the initial sync is set to 'do not sync'; it cannot be run later "
              "without --force")
        return 0
    if args.command == "initial-sync":
        result = initial_sync(args.integration, args.flow, dry_run=args.dry_run, force=args.force, config=args.config)
    else:
        result = run_flow(args.integration, args.flow, keys=getattr(args, "keys", None),
                          retry_failed=args.command == "retry-failed", dry_run=args.command == "dry-run",
                          full=getattr(args, "full", False), config=args.config)
    if args.format == "json":
        print(json.dumps({"run_id": result.run_id, "success": result.success, "error": result.error,
                          "summary": result.summary, "records": result.rows}, indent=2))
    else:
        if result.rows:
            with pd.option_context("display.max_colwidth", 80, "display.width", 220):
                print(pd.DataFrame(result.rows).fillna("").to_string(index=False))
        elif result.success:
            print({"dry-run": "nothing would change since the last sync (--full compares everything)",
                   "resend": "nothing to re-send", "retry-failed": "no record is waiting on a failure",
                   "initial-sync": "nothing to create or match: the target has it all"}[args.command])
        counts = ", ".join(f"{k} {v}" for k, v in result.summary.items() if v)
        print(f"run {result.run_id}: {'done' if result.success else 'FAILED'}"
              + (f" ({counts})" if counts else "") + (f": {result.error}" if result.error else ""))
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
