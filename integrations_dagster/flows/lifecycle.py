"""An integration's life in the state store: choices fixed once made, disconnect, connect again.

Some options are a decision taken when the integration is set up, not a setting to flip: seed 004
asks once whether prices are synced, and "Enda sättet att ändra den här inställningen är att koppla
från integrationen och ansluta den igen" (the only way to change it is to disconnect and connect
again). A connector marks such an option ``fixed`` (``connectors.options.option``); the first push
records its value, and a later run whose YAML says otherwise fails before writing, saying how to
change it.

Disconnecting (``integrations-dagster disconnect``) stops every flow of the integration — a run
started anyway reads and writes nothing — optionally deletes in the targets what the flows created
there (a run of each flow with ``withdraw_all``: the same push, claims and sync log as any run), then
forgets the flows' snapshots, cursors and id map and the fixed choices. Connecting again
(``integrations-dagster connect <integration>``, every connection checked) starts the flows over
with a first sync, which links what the target still has instead of creating it twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dagster import Failure

from integrations_dagster.connectors.options import fixed_names, options_model
from integrations_dagster.flows.spec import FlowSpec
from integrations_dagster.state import StateStore


def disconnected_key(integration: str) -> str:
    return f"disconnected:{integration}"


def choices_key(integration: str, connection: str) -> str:
    return f"choices:{integration}.{connection}"


def disconnected_since(store: StateStore, integration: str) -> str | None:
    """When the integration was disconnected (ISO time), or None while it is connected."""
    marker = store.token(disconnected_key(integration))
    return marker.get("at") if marker else None


def settle_choices(spec: FlowSpec, store: StateStore, target_cls: type, options: dict[str, Any]) -> None:
    """Record the target's fixed options at the flow's first push; fail (no retry) when the YAML now
    says otherwise. ``options``: the target's options as the flow reads them."""
    model = options_model(target_cls)
    names = fixed_names(model, spec.entity) if model else []
    if not names:
        return
    now = {n: options.get(n, model.model_fields[n].default) for n in names}
    key = choices_key(spec.integration, spec.target)
    held = store.token(key) or {}
    chosen = held.get("options", {})
    changed = {n: (chosen[n], v) for n, v in now.items() if n in chosen and chosen[n] != v}
    if changed:
        what = "; ".join(f"{n} was {old!r} when it was set up ({held.get('at', '?')}), the file now says {new!r}"
                         for n, (old, new) in sorted(changed.items()))
        raise Failure(f"{spec.state_name}: connection {spec.target}: {what}. This choice is fixed once made: to change "
                      f"it, run `integrations-dagster disconnect {spec.integration} --products keep` (or delete) and "
                      f"`integrations-dagster connect {spec.integration}`", allow_retries=False)
    missing = {n: v for n, v in now.items() if n not in chosen}
    if missing:
        store.save_token(key, {"options": {**chosen, **missing}, "at": held.get("at") or _now()})


def mark_disconnected(store: StateStore, integration: str, products: str) -> None:
    store.save_token(disconnected_key(integration), {"at": _now(), "products": products})


def forget(store: StateStore, specs: list[FlowSpec]) -> None:
    """Drop what the flows remember of their targets (snapshots, cursors, id map) and the fixed
    choices: a flow started after connecting again begins with a first sync."""
    for spec in specs:
        store.forget_flow(spec.ref)
        store.delete_token(choices_key(spec.integration, spec.target))


def reconnect(store: StateStore, integration: str) -> bool:
    """Clear the disconnected mark; whether there was one."""
    if store.token(disconnected_key(integration)) is None:
        return False
    store.delete_token(disconnected_key(integration))
    return True


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
