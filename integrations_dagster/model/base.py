"""Base of all canonical records: a stable key and a content hash."""

from __future__ import annotations

import hashlib
import json
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

    def content_hash(self) -> str:
        payload = self.model_dump(mode="json", exclude=set(self.volatile_fields))
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]
