"""The sync log for a person: ``integrations-dagster log`` reads it, filtered, as a table, JSON or CSV.

It only ever reads. Opening :class:`~integrations_dagster.state.StateStore` would create an empty
store wherever the environment happens to point (and answer "no rows"), which hides the real
mistake: this shell does not see the store the Dagster runs write. So the store is opened here
without DDL, and a store that is not there is an error saying where it looked and how to point at
the right one.

Times are UTC and printed with their zone (``2026-11-01T08:00:00+00:00``); SQLite hands them back
without one, PostgreSQL with the session's.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import MetaData, Table, create_engine, func, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from integrations_dagster.state.store import default_url

AGO = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
HOW_TO_POINT = ("run this in the folder where `make demo` runs (its DAGSTER_HOME is ./.dagster_home), "
                "`source .demo.env` from there, or set DAGSTER_HOME to the Dagster instance's folder or "
                "INTEGRATIONS_STATE_URL to the state store's URL")


class LogError(Exception):
    """What the person asked for cannot be read; the message says why in one line."""


@dataclass(frozen=True)
class Query:
    run_id: str | None = None
    flow: str | None = None
    key: str | None = None
    failed: bool = False
    since: datetime | None = None  # aware
    limit: int = 50  # the last N rows; 0: all

    @property
    def filtered(self) -> bool:
        return bool(self.run_id or self.flow or self.key or self.failed or self.since)


@dataclass
class Rows:
    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0  # rows matching the filters, before the limit
    where: str = ""  # the store, password hidden


def state_url() -> str:
    """The store's URL as the runs name it, without making its folder."""
    return default_url(create=False)


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``30m`` / ``2h`` / ``1d`` / ``1w`` ago, or an ISO date or date-time (UTC unless it names a zone)."""
    ago = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", text)
    if ago:
        return (now or datetime.now(UTC)) - timedelta(**{AGO[ago.group(2)]: int(ago.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise LogError(f"--since {text!r}: give an ISO date or date-time (2026-11-01, 2026-11-01T08:00; UTC "
                       "unless it names a zone, as in 2026-11-01T08:00+01:00) or a time ago (30m, 2h, 1d)") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def open_existing(url: str) -> Engine:
    """An engine on the store at ``url`` if it has a sync log; never creates a file or a table."""
    where = _where(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1].split("?", 1)[0]
        if not path or path == ":memory:" or not Path(path).is_file():
            raise LogError(f"no state store at {Path(path).resolve() if path else url}: {HOW_TO_POINT}")
    try:
        engine = create_engine(url)  # no WAL pragma, no create_all: reading changes nothing
    except (SQLAlchemyError, ImportError) as exc:
        raise LogError(f"cannot open the state store {where}: {exc}") from None
    try:
        present = inspect(engine).has_table("sync_log")
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise LogError(f"cannot open the state store {where}: {reason}") from None
    if not present:
        engine.dispose()
        raise LogError(f"no sync log in the state store {where} (no sync_log table): {HOW_TO_POINT}")
    return engine


def read(query: Query, url: str | None = None) -> Rows:
    """The last ``query.limit`` rows matching ``query``, oldest first, with the store's own columns
    (a newer store's extra ones, such as ``changes``, included)."""
    url = url or state_url()
    engine = open_existing(url)
    try:
        table = Table("sync_log", MetaData(), autoload_with=engine)
        where = [c for c in (
            table.c.run_id == query.run_id if query.run_id else None,
            table.c.flow == query.flow if query.flow else None,
            table.c.record_key == query.key if query.key else None,
            table.c.outcome == "failed" if query.failed else None,
            table.c.at >= _for(engine, query.since) if query.since else None,
        ) if c is not None]
        newest_first = select(table).where(*where).order_by(table.c.id.desc())
        if query.limit:
            newest_first = newest_first.limit(query.limit)
        with engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
            rows = [_plain(dict(r)) for r in conn.execute(newest_first).mappings()]
    finally:
        engine.dispose()
    return Rows([c.name for c in table.columns], rows[::-1], total, _where(url))


def write(result: Rows, fmt: str, out: TextIO) -> None:
    """``json``: a list of objects; ``csv``: a header and a line per row; ``table``: for reading
    (times to the second, long texts cut at 80 characters)."""
    if fmt == "json":
        json.dump([{k: _json_value(k, v) for k, v in row.items()} for row in result.rows], out, indent=2,
                  ensure_ascii=False, default=str)
        out.write("\n")
    elif fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=result.columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: _text(v) for k, v in row.items()} for row in result.rows)
    elif result.rows:
        import pandas as pd

        frame = pd.DataFrame([{k: "" if v is None else _text(v, "seconds") for k, v in row.items()}
                              for row in result.rows],
                             columns=result.columns)
        with pd.option_context("display.max_colwidth", 80, "display.width", 250):
            out.write(frame.to_string(index=False) + "\n")


def _for(engine: Engine, moment: datetime) -> datetime:
    """SQLite keeps UTC wall-clock text without a zone: compare with the same."""
    utc = moment.astimezone(UTC)
    return utc.replace(tzinfo=None) if engine.dialect.name == "sqlite" else utc


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """Times as aware UTC datetimes (SQLite gives them naive, PostgreSQL in the session's zone)."""
    for column, value in row.items():
        if isinstance(value, datetime):
            row[column] = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return row


def _text(value: Any, timespec: str = "auto") -> Any:
    return value.isoformat(timespec=timespec) if isinstance(value, datetime) else value


def _json_value(column: str, value: Any) -> Any:
    """``changes`` is JSON text in the store: nested in JSON output rather than quoted twice."""
    if isinstance(value, datetime):
        return value.isoformat()
    if column == "changes" and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _where(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL: create_engine will say what is wrong
        return url.split("@")[-1]
