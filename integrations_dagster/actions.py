"""Acting on a flow from the command line: re-send records, retry the failed ones, dry-run.

The same flow job the launchpad starts, with the same typed run config (``keys``, ``retry_failed``,
``dry_run`` of the fetch op), run in this process against the Dagster instance of ``DAGSTER_HOME``
— so the run, its record table and its asset events show in the UI beside the daemon's runs, and
the state store is the one they share. Re-sending never duplicates: a record the target has is
updated or named, never created again (the same claims and lookups as any run).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from integrations_dagster.config import ConfigError

PUSH_TABLE = "records"


@dataclass
class ActionResult:
    run_id: str
    success: bool
    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    error: str | None = None


def run_flow(integration: str, flow: str, *, keys: list[str] | None = None, retry_failed: bool = False,
             dry_run: bool = False, full: bool = False, withdraw_all: bool = False,
             config: str | None = None) -> ActionResult:
    """Run one flow's job now with the given fetch config; its record table and counts."""
    from integrations_dagster.build import load_definitions

    defs = load_definitions(config)
    job_name = f"{integration}_{flow}"
    try:
        job = defs.get_job_def(job_name)
    except Exception:  # noqa: BLE001 - Dagster's own error names no alternative
        flows = sorted({j.tags["integrations/flow"] for j in defs.resolve_all_job_defs()
                        if j.tags.get("integrations/flow")})
        raise ConfigError(f"no flow {integration}.{flow} (flows: {', '.join(flows) or 'none'})") from None
    fetch: dict[str, Any] = {"keys": list(keys or []), "retry_failed": retry_failed, "dry_run": dry_run, "full": full,
                             "withdraw_all": withdraw_all}
    result = job.execute_in_process(
        instance=_instance(), raise_on_error=False,
        run_config={"ops": {f"{job_name}_fetch": {"config": fetch}},
                    "loggers": {"console": {"config": {"log_level": "WARNING"}}}},  # the table is the output
        tags={"integrations/trigger": "cli"})
    rows, summary = _push_report(result, job_name)
    error = None
    if not result.success:
        failure = result.get_run_failure_event()
        steps = [e for e in result.all_events if e.is_step_failure]
        data = steps[-1].step_failure_data if steps else None
        error = ((data.user_failure_data.description if data and data.user_failure_data else None)
                 or (data.error.message.strip() if data and data.error else None)
                 or (failure.message if failure else "the run failed"))
    return ActionResult(result.run_id, result.success, rows, summary, error)


def initial_sync(integration: str, flow: str, *, dry_run: bool = False, force: bool = False,
                 config: str | None = None) -> ActionResult:
    """The initial sync of a flow (seed 002: "Initial produktsynkronisering", either direction): a full
    run, matching by SKU, done once. A dry run first says what it would create, match or leave alone;
    the real one is recorded in the state store, and a second one needs ``force``."""
    from integrations_dagster.state.resource import open_store

    store, key = open_store(), _initial_key(integration, flow)
    done = store.token(key)
    if done and not dry_run and not force:
        raise ConfigError(_done_once(integration, flow, done))
    result = run_flow(integration, flow, dry_run=dry_run, full=True, config=config)
    if result.success and not dry_run:
        store.save_token(key, {"at": _now(), "run_id": result.run_id, "forced": bool(done)})
    return result


def skip_initial_sync(integration: str, flow: str, *, force: bool = False, config: str | None = None) -> None:
    """Seed 003: "do not sync" is a choice of the initial sync too, and as final: recorded like a run, so a
    later initial sync needs ``force``. The flow must exist (a typo would otherwise lock nothing)."""
    from integrations_dagster.build import load_definitions
    from integrations_dagster.state.resource import open_store

    jobs = {j.name for j in load_definitions(config).resolve_all_job_defs()}
    if f"{integration}_{flow}" not in jobs:
        raise ConfigError(f"no flow {integration}.{flow}")
    store, key = open_store(), _initial_key(integration, flow)
    done = store.token(key)
    if done and not force:
        raise ConfigError(_done_once(integration, flow, done))
    store.save_token(key, {"at": _now(), "run_id": None, "skipped": True, "forced": bool(done)})


def _initial_key(integration: str, flow: str) -> str:
    return f"initial:{integration}.{flow}"


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")


def _done_once(integration: str, flow: str, done: dict) -> str:
    what = "was set to 'do not sync'" if done.get("skipped") else f"ran (run {done.get('run_id')})"
    return (f"the initial sync of {integration}.{flow} {what} at {done.get('at')}; it is done once: --force runs "
            "it again")


def _instance():
    from dagster import DagsterInstance

    home = os.environ.get("DAGSTER_HOME")
    if not home or not Path(home, "dagster.yaml").is_file():
        raise ConfigError(f"no Dagster instance at {home or '(DAGSTER_HOME unset)'}: run this where `make demo` "
                          "runs, `source .demo.env` there, or set DAGSTER_HOME to the instance's folder")
    return DagsterInstance.get()


def _push_report(result, job_name: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    for event in result.all_events:
        if event.event_type_value == "STEP_OUTPUT" and event.step_key == f"{job_name}_push":
            metadata = event.event_specific_data.metadata
            rows = [dict(r.data) for r in metadata[PUSH_TABLE].records] if PUSH_TABLE in metadata else []
            summary = {k: v.value for k, v in metadata.items() if isinstance(getattr(v, "value", None), int)}
            return rows, summary
    return [], {}
