"""Base of all canonical records: a stable key and a content hash."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class RecordError(ValueError):
    """A source record that cannot be mapped; the message is shown to a person in the sync log."""


class CanonicalRecord(BaseModel):
    """A record in the hub's own shape.

    ``volatile_fields`` are left out of the hash: they change without the record changing for a
    target (source timestamps, source ids).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    volatile_fields: ClassVar[frozenset[str]] = frozenset()

    @property
    def key(self) -> str:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def freshness(self) -> datetime | None:
        """The record's freshness token (the source's time of this version), or None.

        When set, the engine never lets an older version overwrite a newer one the target already
        accepted (a late or replayed delivery): see ``flows.pipeline.compute_diff``.
        """
        return None

    def content_hash(self) -> str:
        payload = self.model_dump(mode="json", exclude=set(self.volatile_fields))
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]


def parse_instant(value: str | None) -> datetime | None:
    """An ISO 8601 instant as an aware UTC datetime (naive means UTC); None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
