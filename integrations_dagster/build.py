"""Builds Dagster definitions from an integrations file (``definitions.py`` calls this at load).

Per integration: one resource per connection (credentials as ``EnvVar``), a connection-check job
(F1), and per flow a job, its daily-partitioned backfill sibling from ``start_date``, its
schedules and its change sensor, and the assets it reads and writes with their checks (failed
records; drift, where the target can verify, on a schedule of its own); the alert sensors serve all.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import warnings

from dagster import BetaWarning, DailyPartitionsDefinition, Definitions, EnvVar

from integrations_dagster import config as cfg
from integrations_dagster.connectors import resource_class
from integrations_dagster.connectors.base import ConnectorResource
from integrations_dagster.flows.checks import connection_check_job
from integrations_dagster.flows.pairs import find_reverse
from integrations_dagster.flows.pipeline import FlowSpec, build_flow_job, resource_key
from integrations_dagster.flows.shaping import Shaper
from integrations_dagster.flows.alerts import alert_sensors
from integrations_dagster.flows.assets import integration_assets, name_checks
from integrations_dagster.flows.reconcile import can_verify, drift_check, drift_schedule
from integrations_dagster.flows.triggers import change_sensor, flow_schedules, webhook_sensor
from integrations_dagster.state.resource import StateStoreResource


# Dagster's run-status sensors pass their own ``owners`` to a beta parameter; every process that
# loads the definitions (each run's, each daemon tick's, each CLI command's) would print it.
warnings.filterwarnings("ignore", message=r"Parameter `owners` of initializer `SensorDefinition.__init__`",
                        category=BetaWarning)


def connection_resource(name: str, conn: cfg.Connection, *, resolved: bool = False) -> ConnectorResource:
    """The connector resource of one connection; secrets stay ``EnvVar`` (names, not values), or
    with ``resolved`` are read from the environment now (a process outside Dagster's runs: the
    webhook receiver), an unset one left out."""
    cls = resource_class(conn.system)
    fields = {k: cfg.resolve_setting(f"connections.{name}.settings.{k}", v) for k, v in conn.settings.items()}
    url = conn.resolved_base_url()
    if url:
        fields["base_url"] = url
    elif cls.model_fields["base_url"].is_required():
        raise cfg.ConfigError(f"connections.{name}.base_url: {conn.system} needs the URL of its API")
    for field, ref in conn.credentials.items():
        if field not in cls.model_fields:
            raise cfg.ConfigError(f"connections.{name}.credentials.{field}: {conn.system} has no such "
                                  f"credential (it takes {', '.join(cls.secret_fields)})")
        if not resolved:
            if field not in cls.receiver_fields:  # (runs never need the receiver's secrets)
                fields[field] = EnvVar(ref.env)
        elif os.environ.get(ref.env):
            fields[field] = os.environ[ref.env]
    sets = cls.credential_sets or (cls.secret_fields,)
    if not any(all(f in fields for f in needed) for needed in sets):
        given = [f for f in cls.secret_fields if f in fields]
        options = " or ".join(", ".join(needed) for needed in sets)
        raise cfg.ConfigError(f"connections.{name}.credentials: {conn.system} needs {options}"
                              + (f" (given: {', '.join(given)})" if given else ""))
    return cls(**fields)


def integration_specs(integration: cfg.Integration) -> list[FlowSpec]:
    """The FlowSpecs of an integration's enabled flows, in the YAML's order, pairs joined."""
    enabled = [(name, flow) for name, flow in integration.flows.items() if flow.enabled]
    specs = name_checks([flow_spec(integration, name, flow) for name, flow in enabled])
    one_reader_per_feed(specs)
    reverse = find_reverse(specs)
    by_name = {s.state_name: s for s in specs}
    return [replace(s, reverse=reverse.get(s.state_name), splits=dict(s.separate_stock),
                    separate_stock={**(by_name[reverse[s.state_name]].separate_stock if s.state_name in reverse else {}),
                                    **s.separate_stock})
            for s in specs]


def one_reader_per_feed(specs: list[FlowSpec]) -> None:
    """A change feed (``ConnectorResource.batched``) gives each batch to one reader and forgets it once
    acknowledged: a second flow on it would miss every batch the first took. Refused, naming both."""
    readers: dict[tuple[str, str], str] = {}
    for spec in specs:
        if spec.batched:
            first = readers.setdefault((spec.source, spec.entity), spec.name)
            if first != spec.name:
                raise cfg.ConfigError(
                    f"flows.{spec.name}.source: {spec.source}'s {spec.entity} is a change feed, and flow {first} "
                    f"reads it already; a feed gives each batch to one reader, so a second flow would miss what "
                    f"the first acknowledged: one flow per feed")


def build_definitions(file: cfg.IntegrationsFile) -> Definitions:
    jobs, schedules, sensors, resources = [], [], [], {"state": StateStoreResource()}
    assets, checks = [], []
    for integration in file.integrations:
        for name, conn in integration.connections.items():
            resources[resource_key(integration.name, name)] = connection_resource(name, conn)
        jobs.append(connection_check_job(integration.name, list(integration.connections)))
        partitions = DailyPartitionsDefinition(start_date=integration.start_date.isoformat())
        enabled = [(name, flow) for name, flow in integration.flows.items() if flow.enabled]
        specs = integration_specs(integration)
        flows = [(spec, flow) for spec, (_, flow) in zip(specs, enabled)]
        for spec, flow in flows:
            job = build_flow_job(spec)
            jobs += [job, build_flow_job(spec, partitions=partitions)]
            if flow.once:  # run by `initial-sync` only
                continue
            schedules += flow_schedules(spec, flow, job)
            if flow.triggers.sensor:
                sensors.append(change_sensor(spec, flow, job))
            if flow.triggers.webhook:
                sensors.append(webhook_sensor(spec, job))
            if can_verify(integration.connections[flow.target].system, flow.entity) and not spec.batched:
                drift = drift_check(spec, flow.triggers)
                checks.append(drift)
                if schedule := drift_schedule(spec, flow.triggers, drift):
                    schedules.append(schedule)
                    jobs.append(schedule.job)
        asset_specs, integration_checks = integration_assets(integration, flows)
        assets += asset_specs
        checks += integration_checks
    sensors += alert_sensors({i.name: i.alerts for i in file.integrations})
    return Definitions(assets=assets, asset_checks=checks, jobs=jobs, schedules=schedules, sensors=sensors,
                       resources=resources)


def flow_spec(integration: cfg.Integration, flow_name: str, flow: cfg.Flow) -> FlowSpec:
    source, target = integration.connections[flow.source], integration.connections[flow.target]
    for conn_name, conn, role, entities in ((flow.source, source, "source", "reads"),
                                            (flow.target, target, "target", "writes")):
        if flow.entity not in getattr(resource_class(conn.system), entities):
            raise cfg.ConfigError(f"flows.{flow_name}.{role}: {conn.system} ({conn_name}) cannot be the "
                                  f"{role} of {flow.entity} yet")
    ownable = resource_class(target.system).ownable.get(flow.entity, ())
    unknown = sorted(set(flow.owns or ()) - set(ownable))
    if unknown:
        raise cfg.ConfigError(f"flows.{flow_name}.owns: {target.system} has no field {', '.join(map(repr, unknown))} "
                              f"a flow of {flow.entity} can own (it has {', '.join(ownable) or 'none'})")
    Shaper(flow.field_map, [(t.use, t.params()) for t in flow.transforms], f"flows.{flow_name}")  # names a bad one
    return FlowSpec(
        integration=integration.name, name=flow_name, entity=flow.entity, source=flow.source,
        target=flow.target, mode=flow.mode, deletes=flow.deletes, scope=flow.scope,
        batched=flow.entity in resource_class(source.system).batched, owns=frozenset(flow.owns) if flow.owns is not None else None,
        batch_size=flow.batch_size, op_retries=flow.op_retries,
        op_retry_delay_s=flow.op_retry_delay_s, max_runtime_s=round(flow.max_runtime_hours * 3600),
        overlap=timedelta(minutes=flow.triggers.overlap_minutes),
        after=tuple(f"{integration.name}.{other}" for other in flow.after),
        source_options=dict(source.options), target_options=dict(target.options),
        flow_options=dict(flow.options), separate_stock=dict(flow.separate_stock), field_map=dict(flow.field_map),
        transforms=tuple((t.use, t.params()) for t in flow.transforms if t.stage == "normalize"),
        push_transforms=tuple((t.use, t.params()) for t in flow.transforms if t.stage == "push"),
        warn_at=flow.failed_records.warn_at,
        error_at=flow.failed_records.error_at, conflict_winner=_side(integration.winner(flow_name), flow),
        once=flow.once)


def _side(winner: str | None, flow: cfg.Flow) -> str | None:
    return None if winner is None else ("source" if winner == flow.source else "target")


def load_definitions(path: str | Path | None = None) -> Definitions:
    """The definitions of an integrations file; a setting or option no connector knows (a typo that
    would silently change what lands) stops the load with every such line, as ``validate`` prints it."""
    from integrations_dagster import config_check

    file = cfg.load(path)
    errors = [f for f in config_check.check(file) if f.level == "error"]
    if errors:
        raise cfg.ConfigError("; ".join(f.line(path or cfg.config_path(), level=False) for f in errors))
    try:
        return build_definitions(file)
    except cfg.ConfigError as exc:
        raise cfg.ConfigError(f"{path or cfg.config_path()}: {exc}") from None

