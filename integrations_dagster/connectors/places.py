"""Where a count or a sale lands in the target: the flow's map of the source's locations (a till's branch →
an ERP location, a location → a branch), else the target's main one — seed 003: "Hovedlager … brukes som
en standardlokasjon i tilfelle av at vi ikke kan finne lokasjonen". A writer asks :class:`Places` once
per run and fails a record only when neither names a place, saying which option to set."""

from __future__ import annotations

from typing import Any


class Places:
    def __init__(self, options: dict[str, Any], mapping: str, main: str, target: str) -> None:
        self.map = {str(k): str(v) for k, v in (options.get(mapping) or {}).items()}
        given = options.get(main)
        self.main = None if given in (None, "") else str(given)
        self.names = (mapping, main, target)

    def of(self, location: str | None) -> str | None:
        return self.map.get(location or "") or self.main

    def missing(self, location: str | None) -> str:
        mapping, main, target = self.names
        return (f"location {location!r} has no {target}: map it in the flow's {mapping} option or set {main}")
