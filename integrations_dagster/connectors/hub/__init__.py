"""The hub: the engine's own store of canonical records, a system like the others (``system: hub``)."""
