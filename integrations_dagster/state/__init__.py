"""The engine's own memory: snapshots, id map, cursors and the per-record sync log."""

from integrations_dagster.state.store import DuplicateBinding, FlowRef, StateStore, TableBinder, default_url

__all__ = ["DuplicateBinding", "FlowRef", "StateStore", "TableBinder", "default_url"]
