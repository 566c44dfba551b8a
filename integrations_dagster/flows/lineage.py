"""Where an order came from and where it went: the chain of one order through the hub's plugs.

An order keeps its canonical key from the system that took it (``<connection>:<its id>``): the
marketplace's order ``market:9001`` is ``market:9001`` in the hub and when the shop makes its order 456
of it. The shop's own order flows read that order again as ``shop:456`` and send it to the ERP. So the
chain is read hop by hop: where the key landed, then where ``<connection>:<id>`` of each landing went —
marketplace order → shop order → ERP document.

Where an order landed is kept in the id map under :data:`ENTITY` (:func:`remember`, by every orders
flow's push): the ``orders`` binding of a shop's order moves to ``shop:456`` once the shop's own flows
read it (the source is the authority on its ids), so it cannot also keep ``market:9001``.
"""

from __future__ import annotations

from dataclasses import dataclass

from integrations_dagster.state import DuplicateBinding, StateStore

MAX_HOPS = 6
ENTITY = "order_lineage"  # id-map entity: a target's id of an order, under the key the order arrived with


def remember(store: StateStore, connection: str, key: str, external_id: str) -> None:
    """``connection`` holds the order ``key`` as ``external_id`` (an orders flow landed it there)."""
    try:
        store.binder(connection).bind(ENTITY, key, external_id)
    except DuplicateBinding:  # another key landed on the same order: the first one stays its origin
        pass


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
        rows = [row for row in store.bound_under(frontier) if row[2] != "customers"]
        landed = {(k, c) for k, c, e, _ in rows if e == ENTITY}
        named = {(k, c, x): e for k, c, e, x in rows if e != ENTITY}  # what it is there: an order, an invoice
        found = [Hop(k, c, named.get((k, c, x), "orders") if e == ENTITY else e, x) for k, c, e, x in rows
                 if e == ENTITY or (k, c) not in landed]  # where it landed; other bindings where none says
        frontier = []
        for hop in found:
            if hop.key == f"{hop.connection}:{hop.external_id}":
                continue  # a source's own id of its order (``shop:456`` is 456 in the shop)
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
    latter (the order export that made 456 kept ``tradera:9001`` for it)."""
    seen = {key}
    for _ in range(MAX_HOPS):
        connection, _, own_id = key.partition(":")
        binder = store.binder(connection)
        earlier = (binder.key_for(ENTITY, own_id) or binder.key_for("orders", own_id)) if own_id else None
        if not earlier or earlier in seen:
            return key
        seen.add(earlier)
        key = earlier
    return key


def describe(store: StateStore, key: str) -> str:
    """One line a person reads, from where the order was first taken:
    ``tradera:9001 (from tradera) → hub order tradera:9001 → shop order 456 → erp order 12``."""
    key = root(store, key)
    origin, hops = lineage(store, key)
    steps = [f"{h.connection} {h.entity[:-1] if h.entity.endswith('s') else h.entity} {h.external_id}" for h in hops]
    return " → ".join([f"{key} (from {origin})", *steps]) if steps else f"{key} (from {origin}): not landed anywhere yet"
