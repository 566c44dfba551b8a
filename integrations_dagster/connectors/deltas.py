"""Sending changes to counts (stock) exactly once, where the vendor takes them only as changes.

A relative stock adjustment or a stock movement is not idempotent: sent twice, it counts twice. A
write whose answer is lost (a 5xx after the write, a dropped connection) may have been applied or
not, and the next run must not send it again if it was. So the counts are read just before the
write; when its answer is lost they are read again: a count that moved by exactly the change says
the payload applied (a payload is one transaction: all of it or none [BigCommerce: spec
inventory.v3.yml, one transaction id per payload; Zettle: doc …/update-inventory-balance, one 204]),
and the write counts as landed; otherwise the error goes up and the run fails with nothing to undo.

A sale at the very moment of the failure can blur the reading (the count moved by another amount);
then the write counts as not applied and the next run sends the change again — the rarer of the
two errors, and one a count on either side corrects.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Callable, Mapping

from integrations_dagster.connectors.http import TransientError


def apply_once(send: Callable[[], None], read: Callable[[], Mapping[str, Decimal]],
               changes: Mapping[str, Decimal]) -> None:
    """``send()`` the payload carrying ``changes`` (key -> amount); ``read()`` gives the counts by key."""
    before = read()
    try:
        send()
    except TransientError:
        after = read()
        if any(d and k in before and k in after and after[k] - before[k] == d for k, d in changes.items()):
            return  # it applied; only its answer was lost
        raise
