"""Specter Business Management connector: ERP target of products and orders, source of stock and products.

Specter's web-shop API is two classic-ASP pages keyed by MD5 recipes (:mod:`.adapter`); writes land
through :mod:`.exporter` and :mod:`.mapper`; stock and article changes come from change feeds read by
batch and acknowledged once the run has recorded them (:mod:`.feeds`; the engine calls
:meth:`SpecterResource.read_batch` in fetch and :meth:`SpecterResource.acknowledge` after the push).
Evidence: ``docs/research/specter.md`` ([doc] vendor change log, [partner] manuals, [3p] integrator
code); the sandbox (``integrations_dagster/sandbox/specter``) behaves like the vendor, its guesses in
``guesses.py``.

Credentials [doc: help centre "SBMid och MD5-nycklar"; partner: core-suite, Vendre]: ``sbm_id`` (the
account, an integer), ``api_user_id`` (required with API v1, optional with v2) and ``user_key``; an
``integration_key`` ("Nyckel2") switches to API v2 keys — required for multishop (``webshop_id``).

The feeds cannot be read by window or by key: ``read`` and ``read_keys`` say so (a full reconcile of a
feed is Specter's ``clearArticleBatch``, which flags every article again; not done from here).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar, Iterator
from zoneinfo import ZoneInfo

from pydantic import PrivateAttr

from integrations_dagster.connectors.base import (
    Batch, Change, ConnectorResource, MapNotes, Outcome, Watermark, Window, WriteContext,
)
from integrations_dagster.connectors.specter import feeds, mapper
from integrations_dagster.connectors.specter.adapter import Adapter, Keys, Refused, failure
from integrations_dagster.connectors.specter.exporter import ArticleExporter, OrderExporter
from integrations_dagster.model import CanonicalRecord

STOCKHOLM = ZoneInfo("Europe/Stockholm")


class SpecterResource(ConnectorResource):
    """One Specter account (``sbm_id``) reached with an API user's keys."""

    system: ClassVar[str] = "specter"
    reads: ClassVar[frozenset[str]] = frozenset({"stock", "products", "order_status"})
    writes: ClassVar[frozenset[str]] = frozenset({"products", "orders"})
    batched: ClassVar[frozenset[str]] = frozenset({"stock", "products", "order_status"})
    secret_fields: ClassVar[tuple[str, ...]] = ("sbm_id", "api_user_id", "user_key", "integration_key")
    credential_sets: ClassVar[tuple[tuple[str, ...], ...]] = (("sbm_id", "api_user_id", "user_key"),
                                                              ("sbm_id", "user_key", "integration_key"))
    ownable: ClassVar[dict[str, tuple[str, ...]]] = {"products": mapper.OWNABLE}
    options_model: ClassVar[str] = "integrations_dagster.connectors.specter.options:SpecterOptions"

    base_url: str = "https://api.specter.se"
    sbm_id: str | None = None
    api_user_id: str | None = None
    user_key: str | None = None
    integration_key: str | None = None  # API v2 ("Nyckel2"); required for multishop
    # The account's VAT rates (Sweden's; the PrestaShop module maps 25/12/6, and 0 for freight).
    vat_rates: list[float] = [25, 12, 6, 0]
    rows_per_submit: int = 100  # article rows per newArticleSubmit [3p: PrestaShop sends ≤ 100]
    timeout: float = 30

    _adapter: Adapter | None = PrivateAttr(default=None)

    # -- adapter -------------------------------------------------------------------------------
    def adapter(self) -> Adapter:
        if self._adapter is None:
            if not self.sbm_id or not self.user_key:
                raise failure("the Specter connection needs sbm_id and user_key (and api_user_id, or an "
                              "integration_key) among its credentials")
            self._adapter = Adapter(self.base_url, Keys(self.sbm_id, self.user_key, self.integration_key),
                                    self.api_user_id, timeout=self.timeout, attempts=self.max_attempts)
        return self._adapter

    def company_vat_rates(self) -> tuple[Decimal, ...]:
        return tuple(Decimal(str(r)) for r in self.vat_rates)

    def test_connection(self) -> str:
        """``checkAccountSettings`` with today's date as key subject [3p: PrestaShop md5(userKey . sbmId .
        date); doc: change log "checkaccountsettings"], without callback URLs: it registers nothing."""
        adapter = self.adapter()
        today = datetime.now(STOCKHOLM).date().isoformat()
        try:
            answer = adapter.get("checkAccountSettings", today, date=today, useXML="1")
        except Refused as exc:
            raise Refused("checkAccountSettings", exc.code,
                          f"{exc.message} — check sbm_id, api_user_id, user_key"
                          + (" and integration_key" if adapter.version == 2 else "")) from None
        company = answer.field(2) or "account"
        return f"Specter: {company} (sbmId {answer.field(1) or '?'}, API v{adapter.version})"

    # -- reader --------------------------------------------------------------------------------
    def read(self, entity: str, window: Window, options: dict[str, Any]) -> Iterator[dict]:
        raise NotImplementedError(f"Specter gives {entity} only as change batches (read_batch), never by window "
                                  "(nor everything at once): a drift check or a windowed read cannot read it")

    def read_batch(self, entity: str, options: dict[str, Any]) -> Batch:
        """One batch of the entity's change feed: the pending one (a run that failed before acknowledging
        left it), else a new one; its ``receipt`` is the batchNo (None for an empty answer: nothing is
        pending then). More waiting than one batch holds comes with the next run (see :mod:`.feeds`)."""
        if entity not in self.batched:
            raise ValueError(f"Specter is not a source of {entity!r}")
        got = feeds.read_batch(self.adapter(), entity, all_sites=bool(options.get("all_stock_sites", False)))
        return Batch(records=got.rows, receipt=got.batch_no if got.rows or got.pending else None)

    def acknowledge(self, entity: str, receipt: str) -> None:
        feeds.acknowledge(self.adapter(), entity, receipt)

    def latest_change(self, entity: str, since: Watermark | None) -> Watermark | None:
        """One feed read: a batch with rows (new, or pending since a run failed) is a change whose
        fingerprint is its batchNo; an empty feed is none. The batch it opens is the one the run reads
        (through the 99 its own new batchNo meets)."""
        if entity not in self.batched:
            return None
        got = feeds.read_batch(self.adapter(), entity)
        if not got.rows and not got.pending:
            return None
        at = datetime.now(UTC).replace(microsecond=0)
        return Watermark(at, got.batch_no, new=since is None or since.fingerprint != got.batch_no)

    def to_canonical(self, entity: str, raw: dict, options: dict[str, Any],
                     notes: MapNotes | None = None) -> CanonicalRecord:
        if entity == "stock":
            return mapper.stock_level(raw)
        if entity == "products":
            return mapper.product(raw, options)
        if entity == "order_status":
            return mapper.order_progress(raw)
        raise ValueError(f"Specter is not a source of {entity!r}")

    def raw_key(self, entity: str, raw: dict) -> str:
        if entity == "order_status":
            return str(raw.get("externalOrderNo") or f"order {raw.get('orderNo') or '?'}")
        return str(raw.get("articleNo") or "?")

    def raw_id(self, entity: str, raw: dict) -> str | None:
        if entity == "order_status":
            return str(raw["orderNo"]) if raw.get("orderNo") else None
        return str(raw["articleNo"]) if raw.get("articleNo") else None

    # -- exporter ------------------------------------------------------------------------------
    def write(self, entity: str, changes: list[Change], ctx: WriteContext) -> Iterator[Outcome]:
        if entity == "products":
            exporter = ArticleExporter(self.adapter(), ctx, self.rows_per_submit, self.company_vat_rates())
            yield from exporter.write(changes)
        elif entity == "orders":
            yield from OrderExporter(self.adapter(), ctx, self.company_vat_rates()).write(changes)
        else:
            raise ValueError(f"Specter is not a target of {entity!r}")
