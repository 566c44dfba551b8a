"""How the ops hold many records at once without paying Python's cyclic garbage collector for it.

A run of 100 000 products builds about a million small objects (records, variants, prices, parsed
dicts). The cyclic collector runs every few hundred allocations and, as the younger objects survive
into older generations, re-scans them again and again; measured on ``make bench``'s engine case, it
was a fifth to a half of the normalize and diff ops' CPU. Canonical records and parsed JSON are
trees, without reference cycles, so reference counting frees them; the collector has nothing to
find while an op builds them. :func:`collector_paused` holds it off for such a stretch and lets it
run once afterwards over whatever a stretch did leave behind.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection inside the block (nested blocks are fine); the caller's setting after it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
