"""The state store as a Dagster resource (one engine per URL per process)."""

from __future__ import annotations

from functools import lru_cache

from dagster import ConfigurableResource

from integrations_dagster.state.store import StateStore, default_url


@lru_cache(maxsize=8)
def _store(url: str) -> StateStore:
    return StateStore(url)


def open_store(url: str = "") -> StateStore:
    """This process's state store at ``url`` (default: ``INTEGRATIONS_STATE_URL`` or the SQLite file),
    the same one the ``state`` resource gives the ops (connectors keep rotating credentials there)."""
    return _store(url or default_url())


class StateStoreResource(ConfigurableResource):
    """``url``: a SQLAlchemy URL; empty means ``INTEGRATIONS_STATE_URL`` or a SQLite file."""

    url: str = ""

    def store(self) -> StateStore:
        return _store(self.url or default_url())
