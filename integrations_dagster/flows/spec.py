"""What a flow's ops, assets and triggers need to know about it, from the YAML (built by ``build``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from integrations_dagster.state import FlowRef


@dataclass(frozen=True)
class FlowSpec:
    """Everything a flow's ops need to know, from the YAML."""

    integration: str
    name: str  # flow name in the YAML: products, orders, stock...
    entity: str
    source: str  # connection names
    target: str
    mode: str = "both"
    deletes: bool = False  # records gone from the source (a full read) are deleted in the target
    # The source gives the entity only as a change feed of batches (``ConnectorResource.batched``): no
    # read is ever the whole set, so none says a record is gone, and there is nothing to reconcile by.
    batched: bool = False
    scope: str = "all"  # "assigned": only records the source assigns to the target's channel
    # The flow of the same entity between the same two connections the other way (``flows.pairs``).
    reverse: str | None = None
    owns: frozenset[str] | None = None  # target fields this flow writes (None: all it may own)
    # Carried both ways (not stock): whose change wins a conflict, "source" or "target" of this flow
    # (``connectors.conflicts``); None: a one-way flow, whose source always wins.
    conflict_winner: str | None = None
    once: bool = False  # run only by ``initial-sync``: no triggers, no pair
    batch_size: int = 500
    op_retries: int = 2
    op_retry_delay_s: float = 2.0
    max_runtime_s: int = 12 * 3600
    overlap: timedelta = timedelta(minutes=10)
    after: tuple[str, ...] = ()  # state names of flows whose first sync must come first
    # SKU -> the share the target keeps apart: ``splits`` those this flow lists in the YAML (it makes
    # the split), ``separate_stock`` those of the pair (neither flow carries them: ``flows.separate``).
    separate_stock: dict[str, int] = field(default_factory=dict)
    splits: dict[str, int] = field(default_factory=dict)
    field_map: dict[str, str] = field(default_factory=dict)  # ``flows.shaping``
    transforms: tuple[tuple[str, dict[str, Any]], ...] = ()  # stage normalize
    push_transforms: tuple[tuple[str, dict[str, Any]], ...] = ()  # stage push: on the changes as written
    source_options: dict[str, Any] = field(default_factory=dict)
    target_options: dict[str, Any] = field(default_factory=dict)
    flow_options: dict[str, Any] = field(default_factory=dict)
    # The flow's ``failed_records`` asset check: its name, and from how many records that failed and
    # have not landed since it warns / errs (``failed_records:`` in the YAML).
    check_name: str = "failed_records"
    warn_at: int = 1
    error_at: int = 10

    @property
    def job_name(self) -> str:
        return f"{self.integration}_{self.name}"

    @property
    def state_name(self) -> str:
        return f"{self.integration}.{self.name}"

    @property
    def ref(self) -> FlowRef:
        return FlowRef(self.state_name, self.source, self.target, self.entity)

    @property
    def source_key(self) -> str:
        return resource_key(self.integration, self.source)

    @property
    def target_key(self) -> str:
        return resource_key(self.integration, self.target)


def resource_key(integration: str, connection: str) -> str:
    return f"{integration}__{connection}"
