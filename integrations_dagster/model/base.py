"""Base of all canonical records: a stable key and a content hash."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from functools import cache
from typing import Any, ClassVar

import pydantic_core
from pydantic import BaseModel, ConfigDict


class RecordError(ValueError):
    """A source record that cannot be mapped; the message is shown to a person in the sync log."""


_SHARED_FIELD_SETS: dict[frozenset[str], set[str]] = {}


class Value(BaseModel):
    """An immutable, strictly shaped piece of the canonical model.

    Pydantic gives every instance a set of the field names it was given (about 700 bytes); a run
    holds hundreds of thousands of records and variants, so instances with the same names share one
    set — a third of a record's memory. (A copy made with ``model_copy`` gets its own set.)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    def model_post_init(self, context: Any, /) -> None:
        given = self.__pydantic_fields_set__
        key = frozenset(given)
        shared = _SHARED_FIELD_SETS.get(key)
        if shared is None:
            shared = _SHARED_FIELD_SETS.setdefault(key, set(given))
        object.__setattr__(self, "__pydantic_fields_set__", shared)


class CanonicalRecord(Value):
    """A record in the hub's own shape.

    ``volatile_fields`` are left out of the hash: they change without the record changing for a
    target (source timestamps, source ids).
    """

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

    def part_source_ids(self) -> dict[str, str]:
        """The source's ids of the record's parts by their own keys (a product's variants by SKU),
        so that a target can find a part by the source's id (an order line names the shop's
        variation id). Empty when the record has no parts."""
        return {}

    def content_hash(self) -> str:
        """SHA-256 of the record's JSON (pydantic's serializer: fields in declared order, so the same
        content always gives the same text; dict fields keep the source's order), after the tag of
        the scheme that made it (:meth:`hash_scheme`)."""
        blob = self.__pydantic_serializer__.to_json(self, exclude=_excluded(type(self)))
        return _scheme_tag(type(self)) + hashlib.sha256(blob).hexdigest()[:32]

    @classmethod
    def hash_scheme(cls) -> str:
        """A short tag of how this record type is hashed: its schema, its volatile fields and the
        serializer's version. Two hashes with the current tag differ only when the content does; a
        stored hash with another tag (a field added since, with its default) may stand for the same
        content, so only such hashes are worth comparing record by record (``compute_diff``)."""
        return _scheme_tag(cls)


@cache
def _excluded(record_type: type[CanonicalRecord]) -> set[str]:
    """``volatile_fields`` as a set: pydantic-core takes a set on its fast path (a frozenset costs a
    fifth more per record, measured)."""
    return set(record_type.volatile_fields)


@cache
def _scheme_tag(record_type: type[CanonicalRecord]) -> str:
    shape = json.dumps([record_type.model_json_schema(), sorted(record_type.volatile_fields),
                        pydantic_core.__version__], sort_keys=True, default=str)
    return "h" + hashlib.sha256(shape.encode()).hexdigest()[:6] + ":"


def parse_instant(value: str | None) -> datetime | None:
    """An ISO 8601 instant as an aware UTC datetime (naive means UTC); None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
