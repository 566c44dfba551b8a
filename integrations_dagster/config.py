"""The integrations YAML: its schema (pydantic) and loading with errors that name file and field.

A file declares integrations; each has connections (system, base URL, credentials named by
environment variable) and flows (entity, source → target, triggers, options). Secrets are never
in the file: a credential is ``{env: NAME}`` and reaches the connector as a Dagster ``EnvVar``.
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from integrations_dagster import presets
from integrations_dagster.connectors import SYSTEMS

DEFAULT_CONFIG = Path(__file__).parent / "demo" / "demo.yaml"
NAME = r"^[a-z][a-z0-9_]*$"
SCHEDULE_PRESETS = {"15min": "*/15 * * * *", "30min": "*/30 * * * *", "1h": "0 * * * *",
                    "2h": "0 */2 * * *", "daily": "0 3 * * *"}


# A connection's ``triggers`` as the triggers of its flows: realtime is the change sensor (a webhook where the
# flow asks for one) with a half-hourly schedule behind it; manual is no schedule, sensor, reconcile or drift
# check — runs only from the UI or the command line.
CONNECTION_TRIGGERS: dict[str, dict[str, Any]] = {
    "realtime": {"schedule": "30min", "sensor": True},
    "15min": {"schedule": "15min", "sensor": False},
    "30min": {"schedule": "30min", "sensor": False},
    "manual": {"schedule": None, "sensor": False, "reconcile": None, "drift_check": None},
}


def _connection_triggers(data: Any) -> Any:
    """Each flow without ``triggers`` of its own takes those its source connection names, else its target's."""
    if not isinstance(data, dict) or not isinstance(data.get("flows"), dict):
        return data
    connections = data.get("connections") if isinstance(data.get("connections"), dict) else {}
    named = {name: c.get("triggers") for name, c in connections.items() if isinstance(c, dict)}
    flows = {}
    for name, flow in data["flows"].items():
        if isinstance(flow, dict) and "triggers" not in flow:
            chosen = named.get(flow.get("source")) or named.get(flow.get("target"))
            if chosen in CONNECTION_TRIGGERS:
                flow = {**flow, "triggers": dict(CONNECTION_TRIGGERS[chosen])}
        flows[name] = flow
    return {**data, "flows": flows}


def runs_per_day(cron: str | None) -> int:
    """How many times a 5-field cron fires in a day (its minute and hour fields; a daily view)."""
    if not cron:
        return 0
    minute, hour = cron.split()[:2]
    return len(_cron_values(minute, 60)) * len(_cron_values(hour, 24))


def _cron_values(field: str, size: int) -> set[int]:
    values: set[int] = set()
    for part in field.split(","):
        base, _, step = part.partition("/")
        if base == "*":
            low, high = 0, size - 1
        elif "-" in base:
            low, high = (int(x) for x in base.split("-", 1))
        else:
            low = high = int(base)
            if step:
                high = size - 1
        values |= set(range(low, high + 1, int(step) if step else 1))
    return values


class ConfigError(ValueError):
    """A bad integrations file; the message names the file and the field."""


def did_you_mean(name: Any, choices: Any) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices`` to a misspelt ``name``, else the
    choices themselves (a person fixing a typo should not have to look the names up)."""
    choices = sorted(str(c) for c in choices)
    close = difflib.get_close_matches(str(name), choices, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; known: {', '.join(choices)}" if choices else ""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EnvRef(Strict):
    """A value taken from the environment at run time: ``{env: NAME}`` (optionally a default)."""

    env: str = Field(pattern=r"^[A-Z_][A-Z0-9_]*$")
    default: str | None = None

    def resolve(self) -> str | None:
        return os.environ.get(self.env, self.default)


def resolve_setting(where: str, value: Any) -> Any:
    """A connection setting, or ``{env: NAME, default: ...}`` read from the environment (for values
    that differ by deployment but are no secret, such as a sandbox's token URL)."""
    if isinstance(value, dict) and "env" in value:
        try:
            ref = EnvRef.model_validate(value)
        except ValidationError as exc:
            raise ConfigError(f"{where}: {exc.errors()[0]['msg']}") from None
        resolved = ref.resolve()
        if resolved is None:
            raise ConfigError(f"{where}: environment variable {ref.env} is not set")
        return resolved
    return value


class Connection(Strict):
    system: str
    description: str = ""
    base_url: str | EnvRef = ""  # empty: the connector's own default (the vendor's API; the hub's none)
    credentials: dict[str, EnvRef] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)  # non-secret connector fields
    options: dict[str, Any] = Field(default_factory=dict)  # mapping options (VAT rates, currency...)
    # The seed's connection triggers (seed 000 step 8: "Realtidstriggers", a 15 or 30 minute schedule, or by
    # hand): the triggers of every flow from it (else to it) that names none of its own (CONNECTION_TRIGGERS).
    triggers: Literal["realtime", "15min", "30min", "manual"] | None = None

    @field_validator("system")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in SYSTEMS:
            raise ValueError(f"unknown system {v!r}; known: {', '.join(sorted(SYSTEMS))}")
        return v

    @field_validator("credentials", mode="before")
    @classmethod
    def _no_literal_secrets(cls, v: Any) -> Any:
        for name, value in (v or {}).items():
            if not isinstance(value, dict):
                raise ValueError(f"credential {name!r} must name an environment variable as "
                                 f"{{env: NAME}}; secrets are never written in the file")
        return v

    def resolved_base_url(self) -> str:
        url = self.base_url.resolve() if isinstance(self.base_url, EnvRef) else self.base_url
        if not url and isinstance(self.base_url, EnvRef):
            raise ConfigError(f"base_url: environment variable {self.base_url.env} is not set")  # type: ignore[union-attr]
        return url


class Trigger(Strict):
    schedule: str | None = None  # 15min | 30min | 2h | a cron expression
    sensor: bool = True
    # One tick is one cheap request to the source (Fortnox: two at a minute boundary); at 2 s that is
    # up to a tenth of Fortnox's 25 requests / 5 s, so the default stays at 30 s.
    sensor_interval_s: int = Field(default=30, ge=2, le=3600)
    # Webhook deliveries the receiver stored for the flow's source start a run within a second or so
    # (a sensor ticking every second over the state store; the source is never asked).
    webhook: bool = False
    overlap_minutes: int = Field(default=10, ge=0)  # re-read this much before the cursor
    reconcile: str | None = "daily"  # a full read on this schedule catches missed edits
    # The drift check (reconciliation, read-only) on this schedule: where the target no longer holds
    # what the source says. Orders are compared over the last drift_window_days days.
    drift_check: str | None = "1h"
    drift_window_days: int = Field(default=7, ge=1, le=366)

    @field_validator("schedule", "reconcile", "drift_check")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is None or v in SCHEDULE_PRESETS:
            return v
        if len(v.split()) != 5:
            raise ValueError(f"{v!r} is neither one of {', '.join(SCHEDULE_PRESETS)} nor a 5-field cron")
        return v

    def cron(self, which: str = "schedule") -> str | None:
        v = getattr(self, which)
        return SCHEDULE_PRESETS.get(v, v) if v else None


class RecordChecks(Strict):
    """When a run's failed records turn the flow's ``failed_records`` asset check (and its alert) red:
    a warning from ``warn_at`` failed records, an error from ``error_at``."""

    warn_at: int = Field(default=1, ge=1)
    error_at: int = Field(default=10, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> "RecordChecks":
        if self.error_at < self.warn_at:
            raise ValueError(f"error_at ({self.error_at}) must not be below warn_at ({self.warn_at})")
        return self


class TransformStep(BaseModel):
    """One transform of a flow: ``use`` names it (a ready-made one or ``package.module:function``),
    the other keys are its parameters (``flows.shaping``)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    use: str = Field(min_length=1)
    # ``normalize`` (the default): before the diff, so what it changes is what is compared and kept;
    # ``push``: on the changes only, as they are written — the target gets the shaped record, the
    # snapshot keeps the source's, so a rule that depends on the moment never makes a change by itself.
    stage: Literal["normalize", "push"] = "normalize"

    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Flow(Strict):
    entity: Literal["products", "orders", "stock", "order_status"]
    source: str
    target: str
    enabled: bool = True
    mode: Literal["create", "update", "both"] = "both"
    # Delete in the target what the source no longer has (seen by a full read: the schedule's full
    # reconcile, a full run). Off by default: an ERP keeps articles a shop stopped selling.
    deletes: bool = False
    # Which source records the flow carries: ``all``, or only those the source assigns to the
    # target's sales channel (``assigned``: a record unassigned at the source is deleted in the
    # target, as a POS's "assign to channels" does; a source that does not say counts as assigned).
    scope: Literal["all", "assigned"] = "all"
    # The target fields this flow writes; the rest of a target record is left as it is (default:
    # every field the target lets a flow own; see `ownable` of its connector).
    owns: list[str] | None = None
    batch_size: int = Field(default=500, ge=1, le=100_000)
    op_retries: int = Field(default=2, ge=0, le=10)  # Dagster re-runs a failed op this many times
    op_retry_delay_s: float = Field(default=2.0, ge=0)
    # A run still going after this is taken for dead (a killed worker leaves its run STARTED):
    # Dagster's run monitoring fails it, the failure alert goes out and its target is free again.
    # Mind a first full sync into a rate-limited target: Fortnox takes ~1 h per 9 000 requests.
    max_runtime_hours: float = Field(default=12, gt=0, le=168)
    # Flows of this integration whose first sync must have finished before this flow's sensor and
    # schedules start it (orders after products: an order's lines then find their articles).
    after: list[str] = Field(default_factory=list)
    # Stock only: SKUs whose target keeps a stock of its own, with the share it gets ("Separat lager för
    # BigCommerce … Ange hur du vill fördela lagren" [seed 004]). The first run after a SKU is listed
    # sets the target to its share and moves that share out of the source's stock; from then on neither
    # this flow nor its reverse syncs the SKU. Unlisted again, the target's count follows the source's.
    separate_stock: dict[str, int] = Field(default_factory=dict)
    # Canonical field -> a path in the raw source record it is taken from instead (``flows.shaping``).
    field_map: dict[str, str] = Field(default_factory=dict)
    transforms: list[TransformStep] = Field(default_factory=list)  # applied in order, at their stage
    triggers: Trigger = Field(default_factory=Trigger)
    failed_records: RecordChecks = Field(default_factory=RecordChecks)
    options: dict[str, Any] = Field(default_factory=dict)
    # Products (or any entity but stock) carried both ways: the connection whose change wins when both
    # sides changed the same field since the last sync (``connectors.conflicts``). One connection for
    # both flows of the pair; set on either.
    conflict_winner: str | None = None
    # A one-time flow (seed 003: the initial sync of the tills' stock into the ERP): it runs only by
    # `integrations-dagster initial-sync`, has no sensor, schedule or drift check, and pairs with no flow.
    once: bool = False


    @model_validator(mode="after")
    def _separate_stock(self) -> "Flow":
        if self.separate_stock and self.entity != "stock":
            raise ValueError("separate_stock is for stock flows")
        for sku, share in self.separate_stock.items():
            if share < 0:
                raise ValueError(f"separate_stock.{sku}: the share must not be negative (got {share})")
        return self


def both_ways(flows: dict[str, Flow]) -> list[tuple[tuple[str, Flow], tuple[str, Flow]]]:
    """The enabled pairs of flows that carry one entity (not stock: counted, ``flows.pairs``) between the
    same two connections, one each way."""
    live = [(n, f) for n, f in flows.items() if f.enabled and f.entity != "stock" and not f.once]
    return [((a, one), (b, two)) for i, (a, one) in enumerate(live) for b, two in live[i + 1:]
            if one.entity == two.entity and (one.source, one.target) == (two.target, two.source)]


def overlap(one: Flow, two: Flow) -> bool:
    """Whether two flows of a pair may write the same field (``owns`` unset: every field it may own) —
    a preset's products one way and prices the other never meet, so they need no conflict rule."""
    return one.owns is None or two.owns is None or bool(set(one.owns) & set(two.owns))


class Alerts(Strict):
    slack_webhook: EnvRef | None = None
    email_to: list[str] = Field(default_factory=list)
    email_from: str = "integrations@localhost"
    smtp_host: str | EnvRef | None = None
    smtp_port: int = 25
    webhook: EnvRef | None = None
    # Where the Dagster UI is, for the run link in an alert (default: DAGSTER_UI_URL, else the demo's).
    ui_url: str | EnvRef = EnvRef(env="DAGSTER_UI_URL", default="http://127.0.0.1:3000")

    def resolved_ui_url(self) -> str:
        url = self.ui_url.resolve() if isinstance(self.ui_url, EnvRef) else self.ui_url
        return (url or "http://127.0.0.1:3000").rstrip("/")


class Integration(Strict):
    name: str = Field(pattern=NAME)
    description: str = ""
    start_date: date
    # A webshop ⇄ ERP flow set by which side controls what (``presets``): expanded into ``flows`` when
    # the file is read; ``flows:`` then overrides the preset's flows key by key.
    preset: Literal["ecom", "erp", "combo"] | None = None
    roles: dict[str, str] = Field(default_factory=dict)  # shop / erp -> connection name (preset only)
    connections: dict[str, Connection]
    flows: dict[str, Flow]
    alerts: Alerts = Field(default_factory=Alerts)

    @model_validator(mode="before")
    @classmethod
    def _expand_preset(cls, data: Any) -> Any:
        try:
            return _connection_triggers(presets.expand(data))
        except presets.PresetError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _flows_name_connections(self) -> "Integration":
        for name, flow in self.flows.items():
            if not re.match(NAME, name):
                raise ValueError(f"flow name {name!r} must match {NAME}")
            for side in ("source", "target"):
                conn = getattr(flow, side)
                if conn not in self.connections:
                    raise ValueError(f"flows.{name}.{side}: no connection named {conn!r}"
                                     + did_you_mean(conn, self.connections))
            if flow.source == flow.target:
                raise ValueError(f"flows.{name}: source and target are the same connection")
            for other in flow.after:
                if other not in self.flows or other == name:
                    raise ValueError(f"flows.{name}.after: no other flow named {other!r}"
                                     + did_you_mean(other, set(self.flows) - {name}))
            if flow.conflict_winner is not None and flow.conflict_winner not in (flow.source, flow.target):
                raise ValueError(f"flows.{name}.conflict_winner: {flow.conflict_winner!r} is neither the flow's "
                                 f"source ({flow.source}) nor its target ({flow.target})")
        for (a, one), (b, two) in both_ways(self.flows):
            winners = {w for w in (one.conflict_winner, two.conflict_winner) if w is not None}
            if len(winners) > 1:
                raise ValueError(f"flows.{a} and flows.{b} carry {one.entity} both ways and name different "
                                 f"conflict_winners ({', '.join(sorted(winners))}): name one connection")
        return self

    def winner(self, flow_name: str) -> str | None:
        """The conflict winner of a flow that has a reverse (its own, else its pair's); None: no pair."""
        for (a, one), (b, two) in both_ways(self.flows):
            if flow_name in (a, b):
                return one.conflict_winner or two.conflict_winner
        return None


class IntegrationsFile(Strict):
    integrations: list[Integration]

    @model_validator(mode="after")
    def _unique(self) -> "IntegrationsFile":
        names = [i.name for i in self.integrations]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"integration names must be unique: {', '.join(sorted(dupes))}")
        return self


def config_path() -> Path:
    return Path(os.environ.get("INTEGRATIONS_CONFIG") or DEFAULT_CONFIG)


def load(path: str | Path | None = None) -> IntegrationsFile:
    """Read and validate an integrations file; raise ConfigError naming file and field."""
    path = Path(path) if path else config_path()
    try:
        data = yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - a SafeLoader
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found (set INTEGRATIONS_CONFIG)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(_yaml_error(path, exc)) from None
    try:
        return IntegrationsFile.model_validate(data)
    except ValidationError as exc:
        errors = [e for e in exc.errors() if not _other_branch_fits(e, exc.errors())]
        raise ConfigError(f"{path}: " + "; ".join(_describe(e, data) for e in errors)) from None


def _other_branch_fits(error: dict, errors: list[dict]) -> bool:
    """Whether ``error`` says a value is not of one type of a union (``base_url: str | EnvRef``)
    while another type took it and found a problem inside: only that problem is worth reading."""
    loc = error["loc"]
    if not loc or not error["type"].endswith("_type"):
        return False
    branch = len(loc) - 1
    return any(len(o["loc"]) > branch + 1 and o["loc"][:branch] == loc[:branch] and o["loc"][branch] != loc[branch]
               for o in errors)


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, but a date that does not exist (``2026-02-30``) is a YAML error with its
    line, not a bare ``ValueError`` out of the date constructor."""

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a date ({exc}); write it as YYYY-MM-DD",
                node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def _yaml_error(path: Path, exc: yaml.YAMLError) -> str:
    """``file, line L, column C: not valid YAML: what`` (the parser's own text repeats the input)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
    return f"{where}: not valid YAML: {problem}" + (f" ({context})" if context else "")


def _describe(error: dict, data: Any) -> str:
    if not error["loc"]:
        return f"the file must be a mapping with a list of integrations ({error['msg']})"
    parts, node = [], data
    for loc in error["loc"]:
        if isinstance(loc, int) and isinstance(node, list) and loc < len(node):
            node = node[loc]
            name = node.get("name") if isinstance(node, dict) else None
            parts.append(f"[{name or loc}]")
            continue
        if isinstance(node, dict):
            node = node.get(loc)
        parts.append(f".{loc}" if parts else str(loc))
    where = "".join(parts).replace(".[", "[")
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        fields = _fields_at(error["loc"][:-1])
        message = "unknown field" + (did_you_mean(error["loc"][-1], fields) if fields else "")
    elif error["type"].startswith(("date_", "datetime_")):
        message += f" (got {error['input']!r}; write a date as YYYY-MM-DD)"
    return f"{where}: {message}"


def _fields_at(loc: tuple) -> list[str]:
    """The field names of the model at ``loc`` of an :class:`IntegrationsFile` (empty if unknown):
    what a misspelt key there could have meant."""
    node: Any = IntegrationsFile
    for part in loc:
        if isinstance(node, type) and issubclass(node, BaseModel):
            if part not in node.model_fields:
                return []
            node = node.model_fields[part].annotation
            continue
        args = typing.get_args(node)
        if typing.get_origin(node) in (typing.Union, types.UnionType):  # pydantic names the member
            node = next((a for a in args if getattr(a, "__name__", None) == part), None)
        elif typing.get_origin(node) in (list, dict) and args:  # an index or key: the item type
            node = args[-1]
        else:
            return []
    if isinstance(node, type) and issubclass(node, BaseModel):
        return list(node.model_fields)
    return []
