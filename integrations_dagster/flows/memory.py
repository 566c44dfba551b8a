"""How the ops hold many records at once without paying Python's cyclic garbage collector for it.

A run of 100 000 products builds about a million small objects (records, variants, prices, parsed
dicts). The cyclic collector runs every few hundred allocations and, as the younger objects survive
into older generations, re-scans them again and again; measured on ``make bench``'s engine case, it
was a fifth to a half of the normalize and diff ops' CPU. Canonical records and parsed JSON are
trees, without reference cycles, so reference counting frees them; the collector has nothing to
find while an op builds them. :func:`collector_paused` holds it off for such a stretch.

After the stretch, every object it built sits in the youngest generation, so the first collection
would traverse them all (a million objects: a third of a second, measured in the engine case) and
then, as they survive, the older generations' collections again. The objects are meant to live
(the op's output), so the stretch ends by moving everything tracked into the oldest generation at
once (``gc.freeze`` then ``gc.unfreeze``: two list splices, no traversal), where only a full
collection looks at them, and Python defers that until its own heuristic says the old generation
has grown by a quarter. A cycle left behind is collected then: later, never lost.
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
            gc.freeze()  # everything into the permanent generation...
            gc.unfreeze()  # ...and back into the oldest one, untraversed
            gc.enable()
