"""Source fingerprints: which fetched records need no mapping because the target already has them.

Mapping a record is a pure function of three things: the record's text as the source sent it, the
options it is mapped under (``prepare``'s settled options: currency, VAT setup...) and the code
that maps it (the source's connector and the canonical model). When all three are as they were
for the version the target accepted, the mapping would give that version again. So the push stores,
with each record it lands, a fingerprint of the three (``snapshots.source_print``), and normalize
skips every fetched text whose fingerprint it finds there: the record is unchanged, with the key
and hash the snapshot holds. On a reconcile where little changed this is most of normalize's work
(the profile of ``make bench``'s engine case: mapping to pydantic records and hashing them cost
four times parsing the text; a fingerprint costs a fraction of parsing it).

Not skipped: records read by key (a re-send goes out even when unchanged) and records with a
freshness token (an unchanged record seen later moves its token forward: ``compute_diff``). The
code's part is the source files themselves, so any change to a connector or the model maps
everything once more.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from functools import cache
from pathlib import Path
from typing import Any

import pydantic_core

from integrations_dagster import model

PRINT_BYTES = 16


def mapping_salt(source: object, entity: str, options: dict[str, Any]) -> str:
    """What, besides the text, decides a record's mapping: code, entity and options."""
    settled = json.dumps(options, sort_keys=True, default=str)
    return hashlib.sha256(f"{_code_print(type(source))}|{entity}|{settled}".encode()).hexdigest()


def source_print(salt: str, text: str) -> str:
    """SHA-256 of the salt and the text, cut to ``PRINT_BYTES``: from a hasher already fed the salt
    (copying it costs less than feeding 32 bytes again; a print per fetched record is on the hot path)."""
    digest = _seeded(salt).copy()
    digest.update(text.encode())
    return digest.hexdigest()[:2 * PRINT_BYTES]


@cache
def _seeded(salt: str) -> "hashlib._Hash":
    return hashlib.sha256(bytes.fromhex(salt))


@cache
def _code_print(source_type: type) -> str:
    """The source connector's package and the canonical model, as their source files read now."""
    folders = {Path(inspect.getfile(source_type)).parent, Path(inspect.getfile(model)).parent}
    digest = hashlib.sha256(pydantic_core.__version__.encode())
    for file in sorted(f for folder in folders for f in folder.glob("*.py")):
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()
