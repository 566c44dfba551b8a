"""Where an order came from and where it went: the chain of one order through the hub's plugs.

An order keeps its canonical key from the system that took it (``<connection>:<its id>``): the
marketplace's order ``market:9001`` is ``market:9001`` in the hub and in the shop's id map, which bound
it to the shop's order 456. The shop's own order flows read that order again as ``shop:456`` and bind
it to the ERP's document. So the chain is the id map read hop by hop: the key's bindings, then for each
``(connection, id)`` the bindings of the key ``<connection>:<id>`` — marketplace order → shop order → ERP
document, with no table of its own to keep in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from integrations_dagster.state import StateStore

MAX_HOPS = 6


@dataclass(frozen=True)
class Hop:
    key: str  # the order's key in the flows that carried it here
    connection: str  # where it landed
    entity: str  # what it is there (orders, invoices)
    external_id: str  # its id there


def lineage(store: StateStore, key: str) -> tuple[str, list[Hop]]:
    """The origin connection of the order ``key`` and every place it landed, in the order they follow."""
    origin = key.split(":", 1)[0]
    hops: list[Hop] = []
    seen, frontier = {key}, [key]
    for _ in range(MAX_HOPS):
        found = [Hop(k, c, e, x) for k, c, e, x in store.bound_under(frontier) if e != "customers"]
        frontier = []
        for hop in found:
            if hop.connection == origin and hop.key == key:
                continue  # the origin's own id of the order (its source binding)
            hops.append(hop)
            follow = f"{hop.connection}:{hop.external_id}"
            if follow not in seen and hop.external_id != hop.key:
                seen.add(follow)
                frontier.append(follow)
        if not frontier:
            break
    return origin, hops


def root(store: StateStore, key: str) -> str:
    """The key the order had where it was first taken: ``shop:456`` made from ``tradera:9001`` is the
    latter (the shop's id map binds ``tradera:9001`` to 456)."""
    seen = {key}
    for _ in range(MAX_HOPS):
        connection, _, own_id = key.partition(":")
        earlier = store.binder(connection).key_for("orders", own_id) if own_id else None
        if not earlier or earlier in seen:
            return key
        seen.add(earlier)
        key = earlier
    return key


def describe(store: StateStore, key: str) -> str:
    """One line a person reads, from where the order was first taken:
    ``tradera:9001 (from tradera) → hub order 9001 → shop order 456 → erp order 12``."""
    key = root(store, key)
    origin, hops = lineage(store, key)
    steps = [f"{h.connection} {h.entity[:-1] if h.entity.endswith('s') else h.entity} {h.external_id}" for h in hops]
    return " → ".join([f"{key} (from {origin})", *steps]) if steps else f"{key} (from {origin}): not landed anywhere yet"
