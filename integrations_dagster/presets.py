"""Presets: the three flow sets of a webshop ⇄ ERP integration, by which system controls what.

Seed 002 (Sharespine's WooCommerce ⇄ Specter sheet) sells three "huvudflöden":

1. ``ecom`` — "WooCommerce styr": orders with customers shop → ERP; products shop → ERP.
2. ``erp`` — "Specter styr": orders shop → ERP; products, prices (and price lists) and stock ERP →
   shop; order status ERP → shop ("Valbart": optional, so off until ``order_status: {enabled: true}``).
3. ``combo`` — "WooCommerce styr artiklar, Specter styr lager och pris": products shop → ERP; prices,
   stock and order status ERP → shop; orders shop → ERP.

``preset: combo`` on an integration expands here, when the file is read, into ordinary flows — so
the Dagster UI, ``validate`` and every run see the flows themselves. The integration's ``roles``
name its shop and ERP connections (default: connections called ``shop`` and ``erp``). Its own
``flows:`` override the preset's flow by flow, key by key (dicts merge, lists and values replace):
``orders: {options: {document: invoice}}`` changes one option, ``stock: {enabled: false}`` drops a
flow, a flow name the preset lacks adds a flow.

**The controlling system owns its fields.** Where products and prices come from different sides
(``erp``, ``combo``), the products flow owns every field its target lets a flow own except prices,
and the prices flow (a products flow too) owns only the prices and creates nothing (``mode: update``):
in ``combo`` the products flow never writes a price into the ERP, and the prices flow never touches
a name in the shop, nor makes a product the shop does not sell.

**One reader per change feed.** Where the ERP gives products only as a feed of batches (Specter:
each batch goes to one reader, acknowledged once), ``erp``'s products and prices flows — same source,
same target — are one products flow owning every field: two readers of one feed would each miss the
batches the other acknowledged.
"""

from __future__ import annotations

import copy
from typing import Any

PRESETS = ("ecom", "erp", "combo")
PRICE_FIELDS = ("price", "sale_price")  # the canonical names a connector's ``ownable`` gives prices
ROLES = ("shop", "erp")

# flow name -> the flow, with roles in place of connection names; owns: "all_but_prices" | "prices"
_TABLE: dict[str, dict[str, dict[str, Any]]] = {
    "ecom": {
        "products": {"entity": "products", "source": "shop", "target": "erp"},
        "orders": {"entity": "orders", "source": "shop", "target": "erp", "mode": "create", "after": ["products"]},
    },
    "erp": {
        "products": {"entity": "products", "source": "erp", "target": "shop", "owns": "all_but_prices"},
        "prices": {"entity": "products", "source": "erp", "target": "shop", "owns": "prices", "mode": "update",
                   "after": ["products"]},
        "stock": {"entity": "stock", "source": "erp", "target": "shop", "after": ["products"]},
        "orders": {"entity": "orders", "source": "shop", "target": "erp", "mode": "create"},
        "order_status": {"entity": "order_status", "source": "erp", "target": "shop", "enabled": False},
    },
    "combo": {
        "products": {"entity": "products", "source": "shop", "target": "erp", "owns": "all_but_prices"},
        "prices": {"entity": "products", "source": "erp", "target": "shop", "owns": "prices", "mode": "update",
                   "after": ["products"]},
        "stock": {"entity": "stock", "source": "erp", "target": "shop", "after": ["products"]},
        "orders": {"entity": "orders", "source": "shop", "target": "erp", "mode": "create", "after": ["products"]},
        "order_status": {"entity": "order_status", "source": "erp", "target": "shop", "enabled": False},
    },
}


class PresetError(ValueError):
    """A preset that cannot be expanded; the message names the field."""


def expand(data: dict[str, Any]) -> dict[str, Any]:
    """An integration's YAML mapping with its ``preset`` expanded into ``flows`` (unchanged without one)."""
    if not isinstance(data, dict) or data.get("preset") is None:
        return data
    preset = data["preset"]
    if preset not in PRESETS:
        raise PresetError(f"preset: {preset!r} is not one of {', '.join(PRESETS)}")
    connections = data.get("connections") or {}
    roles = {**{r: r for r in ROLES}, **(data.get("roles") or {})}
    for role in ROLES:
        if roles[role] not in connections:
            raise PresetError(f"roles.{role}: preset {preset} needs the {role}'s connection; no connection named "
                              f"{roles[role]!r} (set roles: {{shop: <connection>, erp: <connection>}})")
    table = copy.deepcopy(_TABLE[preset])
    if preset == "erp" and _is_feed(connections[roles["erp"]], "products"):
        del table["prices"], table["products"]["owns"]  # one reader of the feed, owning prices too
    flows = {name: _resolve(flow, roles, connections) for name, flow in table.items()}
    for name, override in (data.get("flows") or {}).items():
        flows[name] = _merge(flows[name], override) if name in flows and isinstance(override, dict) else override
    return {**data, "flows": flows}


def _resolve(flow: dict[str, Any], roles: dict[str, str], connections: dict[str, Any]) -> dict[str, Any]:
    flow["source"], flow["target"] = roles[flow["source"]], roles[flow["target"]]
    if "owns" in flow:
        ownable = _ownable(connections[flow["target"]], flow["entity"])
        if flow["owns"] == "prices":
            flow["owns"] = [f for f in ownable if f in PRICE_FIELDS]
        else:
            flow["owns"] = [f for f in ownable if f not in PRICE_FIELDS]
        if not ownable:  # a target that cannot take the entity: the build says so, naming the flow
            del flow["owns"]
    return flow


def _ownable(connection: Any, entity: str) -> tuple[str, ...]:
    from integrations_dagster.connectors import SYSTEMS, resource_class

    system = connection.get("system") if isinstance(connection, dict) else None
    if system not in SYSTEMS:
        return ()
    return tuple(resource_class(system).ownable.get(entity, ()))


def _is_feed(connection: Any, entity: str) -> bool:
    from integrations_dagster.connectors import SYSTEMS, resource_class

    system = connection.get("system") if isinstance(connection, dict) else None
    return system in SYSTEMS and entity in resource_class(system).batched


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out
