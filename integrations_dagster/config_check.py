"""What ``integrations-dagster validate`` checks beyond the file's schema: each system's own names.

The schema (:mod:`integrations_dagster.config`) cannot know a connection's ``settings:``,
``credentials:`` and ``options:`` — they differ by system, and a misspelt one is silently ignored
at run time (``price_lst: B`` leaves the price list at ``A``). So each is checked against what its
connector declares: settings against the resource class's non-secret fields, options against the
connector's options model (:mod:`integrations_dagster.connectors.options`), a flow's options against
what its source and target read for its entity and what the engine reads itself. A name nobody
reads gets "did you mean". Environment variables the file names but the environment lacks are
warnings: the file is right, the shell it runs in is not (yet).

``load()`` does none of this, so definitions still load for files written before these checks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, StringConstraints, TypeAdapter, ValidationError

from integrations_dagster import config as cfg
from integrations_dagster.connectors import resource_class
from integrations_dagster.connectors.options import ConnectorOptions, names_for, option, options_model

# Option names the engine puts in every options dict itself (``flows.pipeline._options``).
ENGINE_SET = {"connection": "the connection's name", "mode": "the flow's mode",
              "extra_raw_fields": "the raw fields the flow's field_map reads",
              "conflict_winner": "the flow's conflict_winner, as source or target"}
UNSET_URL = "http://unset.invalid"  # a base URL whose variable is unset, for the structural check only


class OrderFlowOptions(ConnectorOptions):
    """Flow options the engine reads itself for orders (``flows.pipeline._filter_statuses``)."""

    statuses: list[Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]+$")]] | None = option(
        reads=("orders",), writes=("orders",), description=(
            "only orders in these states move (default: processing, completed): the source's own status "
            "names, a shop's custom ones too"))


ENGINE_FLOW_OPTIONS: dict[str, type[ConnectorOptions]] = {"orders": OrderFlowOptions}


@dataclass(frozen=True)
class Finding:
    level: Literal["error", "warning"]
    where: str  # the YAML path, e.g. integrations[demo].connections.erp.settings.price_list
    message: str

    def line(self, file: Any, level: bool = True) -> str:
        return f"{self.level + ': ' if level else ''}{file}: {self.where}: {self.message}"


def check(file: cfg.IntegrationsFile) -> list[Finding]:
    """Every unknown or ill-typed setting, credential and option of ``file``, and every environment
    variable it names that is not set."""
    found: list[Finding] = []
    for integration in file.integrations:
        at = f"integrations[{integration.name}]"
        for name, conn in integration.connections.items():
            found += _connection(f"{at}.connections.{name}", conn)
        for name, flow in integration.flows.items():
            found += _flow(f"{at}.flows.{name}", flow, integration)
        found += _both_ways(at, integration)
        found += _quota(at, integration)
    return found + unset_environment(file)


def _both_ways(at: str, integration: cfg.Integration) -> list[Finding]:
    """A pair whose flows may write the same field, with no conflict_winner: each flow's source wins
    (the later run's edit stands), and a conflict goes unnoticed (``connectors.conflicts``)."""
    return [Finding("warning", f"{at}.flows.{a}", (
        f"flows {a} and {b} carry {one.entity} both ways and may write the same fields: set conflict_winner "
        f"({one.source} or {one.target}) so that an edit made on both sides is settled by a stated rule"))
        for (a, one), (b, two) in cfg.both_ways(integration.flows)
        if one.conflict_winner is None and two.conflict_winner is None and cfg.overlap(one, two)]


def _quota(at: str, integration: cfg.Integration) -> list[Finding]:
    """A connection with a daily call quota (Tradera: 100) whose flows' schedules would need more calls
    than it allows: a warning with the arithmetic, before a day of runs finds it out."""
    found = []
    for name, conn in integration.connections.items():
        cls = resource_class(conn.system)
        if not cls.quota_setting:
            continue
        quota = conn.settings.get(cls.quota_setting, cls.model_fields[cls.quota_setting].default)
        if not isinstance(quota, int):
            continue
        uses = []
        for flow_name, flow in integration.flows.items():
            role = "source" if flow.source == name else "target" if flow.target == name else None
            if role is None or not flow.enabled or flow.once:
                continue
            per_run = cls.calls_per_run.get(f"{role}:{flow.entity}", 1)
            runs = cfg.runs_per_day(flow.triggers.cron()) if flow.triggers.schedule else 0
            if role == "source":
                runs += 1 if flow.triggers.reconcile else 0  # the daily full read
                if flow.triggers.drift_check and flow.entity in resource_class(
                        integration.connections[flow.target].system).verifies:
                    runs += cfg.runs_per_day(flow.triggers.cron("drift_check"))  # each check reads the source
            if runs:
                uses.append((flow_name, runs, per_run))
            if role == "target" and flow.triggers.drift_check and flow.entity in cls.verifies:
                uses.append((f"{flow_name}'s drift check", cfg.runs_per_day(flow.triggers.cron("drift_check")),
                             cls.calls_per_run.get(f"verify:{flow.entity}", 1)))
        need = sum(runs * per_run for _, runs, per_run in uses)
        if need > quota:
            parts = ", ".join(f"{f} {runs} runs × ~{per_run}" for f, runs, per_run in uses)
            found.append(Finding("warning", f"{at}.connections.{name}", (
                f"its flows need about {need} calls a day ({parts}), more than {conn.system}'s quota of {quota}: "
                f"schedule them less often, switch off drift checks and reconcile reads of it, or ask "
                f"{conn.system} for a higher quota ({cls.quota_setting})")))
    return found


def settings_fields(resource_cls: type) -> dict[str, Any]:
    """The connection settings of a system: its resource's fields but the credentials and base URL."""
    return {name: field for name, field in resource_cls.model_fields.items()
            if name not in resource_cls.secret_fields and name != "base_url"}


def _connection(at: str, conn: cfg.Connection) -> list[Finding]:
    cls = resource_class(conn.system)
    found: list[Finding] = []
    fields = settings_fields(cls)
    for key, value in conn.settings.items():
        where = f"{at}.settings.{key}"
        if key in cls.secret_fields:
            found.append(Finding("error", where, "a credential: give it under credentials as {env: NAME}, "
                                                 "never in the file"))
        elif key == "base_url":
            found.append(Finding("error", where, "base_url goes beside settings, not among them"))
        elif key not in fields:
            found.append(Finding("error", where, f"unknown setting of {conn.system}" + cfg.did_you_mean(key, fields)))
        else:
            found += _setting_value(where, value, fields[key].annotation)
    # a credential is a secret field, or a field of a credential set (Shopbox's shop id, given with the login)
    known = set(cls.secret_fields) | {name for names in cls.credential_sets for name in names}
    for key in conn.credentials:
        if key not in known:
            found.append(Finding("error", f"{at}.credentials.{key}", f"unknown credential of {conn.system}"
                                 + cfg.did_you_mean(key, known)))
    model = options_model(cls)
    if model is not None:
        found += _options(f"{at}.options", conn.options, {model: set(model.model_fields)},
                          lambda key: f"unknown option of {conn.system}" + cfg.did_you_mean(key, model.model_fields))
    return found


def _setting_value(where: str, value: Any, annotation: Any) -> list[Finding]:
    if isinstance(value, dict) and "env" in value:
        try:
            ref = cfg.EnvRef.model_validate(value)
        except ValidationError as exc:
            return [Finding("error", where, _first(exc))]
        value = ref.resolve()
        if value is None:
            return []  # reported by unset_environment
    try:
        TypeAdapter(annotation).validate_python(value)
    except ValidationError as exc:
        return [Finding("error", where, f"{value!r}: {_first(exc)}")]
    return []


def _flow(at: str, flow: cfg.Flow, integration: cfg.Integration) -> list[Finding]:
    found: list[Finding] = []
    source = resource_class(integration.connections[flow.source].system)
    target = resource_class(integration.connections[flow.target].system)
    ownable = target.ownable.get(flow.entity, ())
    for name in flow.owns or ():
        if name not in ownable:
            found.append(Finding("error", f"{at}.owns", f"{name!r}: {target.system} has no such field a flow of "
                                 f"{flow.entity} can own" + cfg.did_you_mean(name, ownable)))
    readers: dict[type[ConnectorOptions], set[str]] = {}
    elsewhere: dict[str, str] = {}  # option -> who reads it, for other entities or the other side
    for cls, role in ((source, "source"), (target, "target")):
        model = options_model(cls)
        if model is None:
            continue
        readers[model] = readers.get(model, set()) | names_for(model, flow.entity, role)  # one system both sides
        for name in model.model_fields:
            elsewhere.setdefault(name, f"{cls.system} reads it only as the {_roles_of(model, name)}")
    if flow.entity in ENGINE_FLOW_OPTIONS:
        model = ENGINE_FLOW_OPTIONS[flow.entity]
        readers[model] = set(model.model_fields)
    if not any(options_model(c) for c in (source, target)):
        return found  # neither side declares its options: nothing to hold the names against
    known = set().union(*readers.values())

    def unknown(key: str) -> str:
        if key in elsewhere:
            return f"not read by a flow of {flow.entity} from {source.system} to {target.system} ({elsewhere[key]})"
        return f"unknown option of a flow of {flow.entity}" + cfg.did_you_mean(key, known)

    return found + _options(f"{at}.options", flow.options, readers, unknown)


def _roles_of(model: type[ConnectorOptions], name: str) -> str:
    extra = model.model_fields[name].json_schema_extra or {}
    roles = [f"source of {', '.join(extra['reads'])}" if extra.get("reads") else "",  # type: ignore[index, union-attr]
             f"target of {', '.join(extra['writes'])}" if extra.get("writes") else ""]  # type: ignore[index, union-attr]
    return " or ".join(r for r in roles if r) or "nothing"


def _options(at: str, options: dict[str, Any], readers: dict[type[BaseModel], set[str]],
             unknown: Any) -> list[Finding]:
    """Each key of ``options`` must be read by one of ``readers`` (model -> the names it reads here),
    and its value be what every model reading it accepts."""
    found: list[Finding] = []
    for key in options:
        if key in ENGINE_SET:
            found.append(Finding("error", f"{at}.{key}", f"set by the engine ({ENGINE_SET[key]}); remove it"))
        elif not any(key in names for names in readers.values()):
            found.append(Finding("error", f"{at}.{key}", unknown(key)))
    for model, names in readers.items():
        given = {k: v for k, v in options.items() if k in names}
        try:
            model.model_validate(given)
        except ValidationError as exc:
            for error in exc.errors():
                loc = ".".join(str(p) for p in error["loc"])
                found.append(Finding("error", f"{at}.{loc}", f"{error['input']!r}: {error['msg']}"))
    return _first_per_place(found)


def unset_environment(file: cfg.IntegrationsFile) -> list[Finding]:
    """A warning per ``{env: NAME}`` without default whose variable is not set (or empty)."""
    found: list[Finding] = []

    def walk(where: str, node: Any) -> None:
        if isinstance(node, dict) and "env" in node and set(node) <= {"env", "default"}:  # a raw setting
            try:
                node = cfg.EnvRef.model_validate(node)
            except ValidationError:
                return  # reported by the settings check
        if isinstance(node, cfg.EnvRef):
            if node.default is None and not os.environ.get(node.env):
                found.append(Finding("warning", where, f"environment variable {node.env} is not set"))
        elif isinstance(node, BaseModel):
            for name in type(node).model_fields:
                walk(f"{where}.{name}", getattr(node, name))
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(f"{where}.{key}", value)
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                walk(f"{where}[{i}]", value)

    for integration in file.integrations:
        for name in type(integration).model_fields:
            walk(f"integrations[{integration.name}].{name}", getattr(integration, name))
    return found


def as_if_set(file: cfg.IntegrationsFile) -> cfg.IntegrationsFile:
    """``file`` with each unset base URL a placeholder and each unset setting left out (its default):
    what the build would make of it once the environment is complete, for ``validate`` to try."""
    integrations = []
    for integration in file.integrations:
        connections = {}
        for name, conn in integration.connections.items():
            update: dict[str, Any] = {"settings": {k: v for k, v in conn.settings.items() if not _unset(v)}}
            if isinstance(conn.base_url, cfg.EnvRef) and not conn.base_url.resolve():
                update["base_url"] = UNSET_URL
            connections[name] = conn.model_copy(update=update)
        integrations.append(integration.model_copy(update={"connections": connections}))
    return file.model_copy(update={"integrations": integrations})


def _unset(value: Any) -> bool:
    if not (isinstance(value, dict) and "env" in value):
        return False
    try:
        return cfg.EnvRef.model_validate(value).resolve() is None
    except ValidationError:
        return False


def _first(exc: ValidationError) -> str:
    return exc.errors()[0]["msg"]


def _first_per_place(found: list[Finding]) -> list[Finding]:
    """One finding per YAML path (two models reading one option may both refuse its value)."""
    return list({f.where: f for f in reversed(found)}.values())[::-1]
