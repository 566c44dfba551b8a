"""The options a connector reads from the YAML, declared so that ``validate`` can check them.

A connector reads its options from one merged dict: its connection's ``options:`` under the flow's
``options:`` (``flows.pipeline._options``). A name nobody reads is silently ignored at run time — so
a typo (``vat_inlcuded``) quietly changes what lands in the target. Each connector therefore
declares every option it reads as a field of a :class:`ConnectorOptions` model (its ``options.py``,
named by the resource class's ``options_model``), with the entities for which it reads it as a
source (``reads``) and as a target (``writes``). ``validate`` then accepts in a connection's
``options:`` every option of its connector, and in a flow's ``options:`` those of its source that
the source reads for the flow's entity and those of its target that the target writes it with.
"""

from __future__ import annotations

import importlib
from typing import Any, Iterable

from pydantic import BaseModel, ConfigDict, Field


class ConnectorOptions(BaseModel):
    """Base of a connector's options model: every field optional, with the default the code uses."""

    model_config = ConfigDict(extra="forbid")


def option(default: Any = None, *, reads: Iterable[str] = (), writes: Iterable[str] = (),
           description: str = "", fixed: bool = False) -> Any:
    """A field of a :class:`ConnectorOptions`: read when the connector is the source of one of
    ``reads`` or the target of one of ``writes``. ``fixed``: a choice made once, at the first sync into
    the connection; changing it means disconnecting and connecting again (``flows.lifecycle``)."""
    return Field(default, description=description,
                 json_schema_extra={"reads": sorted(reads), "writes": sorted(writes), "fixed": fixed})


def options_model(resource_cls: type) -> type[ConnectorOptions] | None:
    """The options model a resource class names in ``options_model`` (``"module:Class"``), if any."""
    ref = getattr(resource_cls, "options_model", None)
    if not ref:
        return None
    if isinstance(ref, type):
        return ref
    module, _, name = str(ref).partition(":")
    return getattr(importlib.import_module(module), name)


def fixed_names(model: type[ConnectorOptions], entity: str) -> list[str]:
    """The options of ``model`` fixed once made that its connector writes ``entity`` with."""
    return sorted(n for n in names_for(model, entity, "target")
                  if (model.model_fields[n].json_schema_extra or {}).get("fixed"))  # type: ignore[union-attr]


def names_for(model: type[ConnectorOptions], entity: str, role: str) -> set[str]:
    """The options of ``model`` read when its connector is ``role`` ("source" or "target") of ``entity``."""
    key = "reads" if role == "source" else "writes"
    return {name for name, field in model.model_fields.items()
            if entity in ((field.json_schema_extra or {}).get(key) or ())}  # type: ignore[union-attr]
