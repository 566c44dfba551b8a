"""The shop's clock: WooCommerce dates come in twins, site time (``date_x``) and GMT (``date_x_gmt``).

The site timezone is ``SITE_TIMEZONE`` (env ``WOO_SANDBOX_TIMEZONE``, default Europe/Stockholm).
Dates are ``YYYY-MM-DDTHH:MM:SS`` without offset, to the second, as WordPress stores them.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

SITE_TIMEZONE = os.environ.get("WOO_SANDBOX_TIMEZONE", "Europe/Stockholm")
FMT = "%Y-%m-%dT%H:%M:%S"


def site_zone() -> ZoneInfo:
    return ZoneInfo(SITE_TIMEZONE)


def now_gmt() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0, tzinfo=None)


def stamp(gmt: datetime) -> tuple[str, str]:
    """(site time, GMT) strings of a naive UTC datetime."""
    local = gmt.replace(tzinfo=timezone.utc).astimezone(site_zone())
    return local.strftime(FMT), gmt.strftime(FMT)


def dated(prefix: str, gmt: datetime | None) -> dict[str, str | None]:
    """``{"date_modified": ..., "date_modified_gmt": ...}`` for one instant (or both None)."""
    if gmt is None:
        return {prefix: None, f"{prefix}_gmt": None}
    local, utc = stamp(gmt)
    return {prefix: local, f"{prefix}_gmt": utc}


def parse_wall_clock(value: str) -> datetime:
    """An ISO 8601 parameter as WordPress's date query uses it: the wall-clock part, offset ignored."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace(" ", "T"))
    return parsed.replace(tzinfo=None, microsecond=0)


def site_to_gmt(wall: datetime) -> datetime:
    return wall.replace(tzinfo=site_zone()).astimezone(timezone.utc).replace(tzinfo=None)
