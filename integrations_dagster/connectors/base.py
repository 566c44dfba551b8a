"""The contract between the engine and a system: what a connector fills in.

A connector is a Dagster ``ConfigurableResource`` (one per connection: base URL, credentials as
``EnvVar``) that plays these roles, OCA-connector style:

* **adapter** — HTTP CRUD on the vendor's API (built on :mod:`integrations_dagster.connectors.http`);
* **reader** — :meth:`ConnectorResource.read` yields the vendor's raw records of one entity for a
  :class:`Window` (incremental from a cursor, or a date range, or everything);
* **mapper** — :meth:`ConnectorResource.to_canonical` maps one raw record to a canonical record, or
  raises :class:`~integrations_dagster.model.RecordError` with a reason a person understands; what it
  leaves out of a record it still maps (a variation without SKU) goes to :class:`MapNotes`;
* **settings** — :meth:`ConnectorResource.prepare` reads, once per run, what the system itself says
  about how to read it (a shop's currency, whether its prices include VAT, its tax rates), so that
  the YAML only overrides — and a YAML value that contradicts the system is an error;
* **exporter** — :meth:`ConnectorResource.write` applies :class:`Change` s to the system and yields
  one :class:`Outcome` per change *as it lands*, so the engine can record each in the id map before
  the next; creates look the record up first (by SKU / external reference) so a re-run never
  duplicates;
* **binder** — the engine's id map, handed to the exporter as :class:`Binder`;
* **webhooks** — :meth:`ConnectorResource.webhook_hint` verifies a delivery's signature and names
  the entities it hints changed (the receiver stores the hint; a run still reads the source).

A flow **owns** named fields of the target's records (``owns`` in the YAML, from the fields the
target declares in :attr:`ConnectorResource.ownable`): an exporter linking or updating a record the
target already had writes only those, and never touches the rest (accounts, units, stock flags).

The engine only ever calls these methods; it never names a system.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Callable, ClassVar, Iterator, Literal, Mapping, Protocol
from urllib.parse import urlsplit

from dagster import ConfigurableResource

from integrations_dagster.connectors.http import MASK, ApiError, TransientError
from integrations_dagster.model import CanonicalRecord

Entity = Literal["products", "orders", "stock"]
Action = Literal["create", "update", "delete"]


@dataclass(frozen=True)
class Window:
    """What to read: records modified in ``[since, until)`` (UTC, either end open when None).

    ``since is None and until is None`` is a full read; only a full read lets the diff call a
    record missing from the source "deleted".
    """

    since: datetime | None = None
    until: datetime | None = None

    @property
    def full(self) -> bool:
        return self.since is None and self.until is None


@dataclass(frozen=True)
class Watermark:
    """Where a change sensor stands; its cursor (``encode``), never a list of ids.

    ``at`` is the newest change time seen. A system whose change times are coarse (Fortnox:
    minutes, and no time on an article) adds a ``fingerprint`` of what changed from ``at`` on, so a
    tick that finds the same changes again asks for no run. ``new`` says whether this watermark
    marks changes the previous one had not seen (a run is due); it is not part of the cursor.
    """

    at: datetime
    fingerprint: str = ""
    new: bool = True

    def encode(self) -> str:
        iso = self.at.astimezone(UTC).isoformat()
        return f"{iso}|{self.fingerprint}" if self.fingerprint else iso

    @classmethod
    def decode(cls, cursor: str | None) -> "Watermark | None":
        if not cursor:
            return None
        iso, _, fingerprint = cursor.partition("|")
        return cls(datetime.fromisoformat(iso), fingerprint)


@dataclass(frozen=True)
class Batch:
    """One batch of a change feed the system wants acknowledged (a batch/acknowledge protocol: the
    system repeats an unacknowledged batch until told it was taken). ``receipt`` names it to
    :meth:`ConnectorResource.acknowledge`; None: nothing to acknowledge (the feed was empty)."""

    records: list[dict]
    receipt: str | None = None


@dataclass(frozen=True)
class Change:
    """One record the target must take: created, updated or deleted."""

    action: Action
    key: str
    record: CanonicalRecord | None  # None for a delete
    previous: CanonicalRecord | None = None  # what the target last accepted (from the snapshot)
    target_id: str | None = None  # the target's id from the id map, when known


class MapNotes:
    """The parts a mapper left out of records it still maps (a variation without SKU), each with its
    key and reason: the normalize op writes them to the sync log as failed, the record goes on."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []  # (key, reason)

    def refuse(self, key: str, reason: str) -> None:
        self.items.append((key, reason))

    def take(self) -> list[tuple[str, str]]:
        items, self.items = self.items, []
        return items


@dataclass(frozen=True)
class Outcome:
    """What happened to one change at the target."""

    key: str
    ok: bool
    # created | updated | linked (found existing and bound) | deleted | skipped | failed | ignored (the
    # target has no place for it — stock of an article the shop does not sell —: logged with the
    # reason in ``error``, never a failure, and not remembered as landed, so it goes out once it has one) |
    # deferred (the target's call quota has no room for it now, ``connectors.quota``: ``error`` says until
    # when; the run's cursor stays, so the next run takes it again — nothing lost, nothing failed)
    action: str
    target_id: str | None = None
    error: str | None = None
    # Extra ids that landed with this record, for the id map: canonical key -> (target id, parent id)
    # e.g. the article number of each variant SKU of a product, or the customer number of an order.
    bindings: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    binding_entity: str | None = None  # entity of ``bindings`` when not the flow's own (e.g. customers)
    target_entity: str | None = None  # id-map entity of ``target_id`` when not the flow's own (invoices)
    warnings: tuple[str, ...] = ()  # it landed, with these reservations (a row without article...)
    # A counted quantity the write changed at the target (stock), for the flow that reads this target
    # back (``flows.pairs``): ``moved`` by a relative write, or set to ``level`` by an absolute one.
    moved: Decimal | None = None
    level: Decimal | None = None


class Binder(Protocol):
    """The id map as seen by one connection: canonical key <-> this system's id."""

    def external_id(self, entity: str, key: str) -> str | None: ...

    def key_for(self, entity: str, external_id: str) -> str | None: ...

    def bind(self, entity: str, key: str, external_id: str, parent_id: str | None = None) -> None: ...

    def all(self, entity: str) -> dict[str, str]: ...


@dataclass(frozen=True)
class WebhookHint:
    """What one verified webhook delivery hints changed: the vendor's event name and the entities
    whose flows should run (the run reads the source; the delivery carries no data we trust)."""

    topic: str
    entities: frozenset[str]


@dataclass(frozen=True)
class Drift:
    """One field where the target no longer holds what the source says it should (a reconciliation
    finding): someone edited the target by hand, or a write went wrong."""

    key: str  # the record's canonical key (a SKU, an order key)
    field: str  # what differs, as a person reads it: "price list A", "Total", "stock", "record"
    expected: str | None  # what the target should hold, from the source's record
    actual: str | None  # what the target holds (None: the record is not there at all)


@dataclass
class WriteContext:
    """What an exporter gets besides the changes."""

    binder: Binder  # id map of the *target* connection
    source_binder: Binder  # id map of the *source* connection (e.g. SKU -> source id)
    options: dict[str, Any] = field(default_factory=dict)  # the flow's options from the YAML
    log: Callable[[str], None] = print
    # The fields of the target's records this flow owns (None: all the target declares ownable).
    owns: frozenset[str] | None = None
    # What the target last accepted for other keys of this flow (the snapshot): key -> record.
    accepted: Callable[[list[str]], dict[str, CanonicalRecord]] = lambda keys: {}
    # What a writer learned in this run for its next batch (one push op, several ``write`` calls):
    # a store's SKU index, a category's id. Gone with the run.
    memo: dict[str, Any] = field(default_factory=dict)
    # The flow's unsettled changes to counts (``connectors.deltas.Journal``); None outside a run.
    journal: Any = None
    # The name of the connection the records come from (a hub keeps where each of its records came from).
    source: str = ""

    def owned(self, name: str) -> bool:
        return self.owns is None or name in self.owns


def one_by_one(changes: list[Change], write_one: Callable[[Change], Outcome], refused: str) -> Iterator[Outcome]:
    """Each change written on its own: the vendor refusing one fails that record (``refused``: the
    vendor's message follows), a transient error fails the run (the records are read again)."""
    for change in changes:
        try:
            yield write_one(change)
        except TransientError:
            raise
        except ApiError as exc:
            yield Outcome(change.key, ok=False, action="failed", error=f"{refused}: {exc.message}")


def to_receiver_path(destination: str | None, path: str) -> bool:
    """Whether a subscription's ``destination`` URL is the receiver's ``path``."""
    return bool(destination) and urlsplit(destination).path.rstrip("/") == path.rstrip("/")


@dataclass(frozen=True)
class Use:
    """One flow's use of a connection, for :meth:`ConnectorResource.prerequisites`: the flow's name, its
    entity, whether the connection is its ``source`` or ``target``, and the options that side reads."""

    flow: str
    entity: str
    role: Literal["source", "target"]
    options: dict[str, Any]


class ConnectorResource(ConfigurableResource):
    """Base of every connector. Subclasses declare their credential fields (``EnvVar`` in YAML)."""

    system: ClassVar[str]
    reads: ClassVar[frozenset[str]] = frozenset()  # entities it can be the source of
    writes: ClassVar[frozenset[str]] = frozenset()  # entities it can be the target of
    secret_fields: ClassVar[tuple[str, ...]] = ()  # field names that hold credentials
    # Entities read from a change feed of batches the system wants acknowledged (``read_batch``).
    batched: ClassVar[frozenset[str]] = frozenset()
    verifies: ClassVar[frozenset[str]] = frozenset()  # entities :meth:`verify` can compare (the drift check)
    # The complete sets of credentials a connection may give (one of them); default: all secret fields.
    credential_sets: ClassVar[tuple[tuple[str, ...], ...]] = ()
    # entity -> the fields of this system's records a flow into it may own (see ``owns`` in the YAML)
    ownable: ClassVar[dict[str, tuple[str, ...]]] = {}
    # entity written -> the entities of this system such a write changes too (a booked order holds stock):
    # the flows reading those are told at once, as a webhook would tell them (``pipeline.hint_what_moved``)
    moves: ClassVar[dict[str, frozenset[str]]] = {}
    options_model: ClassVar[str] = ""  # "module:Class" of the YAML options it reads (connectors/options.py)
    # A daily call quota (Tradera: 100 per application): the setting that holds it, and about how many calls
    # one run of a flow costs ("source:orders", "target:products"), for ``validate``'s arithmetic.
    quota_setting: ClassVar[str | None] = None
    calls_per_run: ClassVar[dict[str, int]] = {}
    # Credentials only the webhook receiver uses (a webhook signing secret): never given to runs.
    receiver_fields: ClassVar[tuple[str, ...]] = ("webhook_secret",)

    base_url: str
    max_attempts: int = 6  # per request, for transient errors (see connectors.http)

    def __repr_args__(self) -> Any:
        """What pydantic's ``repr``/``str`` show: the fields, with each of ``secret_fields`` masked
        (None stays None, so a repr still says which credentials a connection has)."""
        for name, value in super().__repr_args__():
            yield name, (MASK if value is not None and name in self.secret_fields else value)

    @abstractmethod
    def test_connection(self) -> str:
        """Call the system with the credentials; return a one-line description, or raise ApiError."""

    def login(self, ask: Callable[[str], str], say: Callable[[str], None]) -> str:
        """The system's own login for a connection whose credentials a person must grant (Tradera's token
        login: a page the seller allows access on, then the token): ``say`` tells the person what to do,
        ``ask`` reads an answer; what it gets is kept in the state store, never in a file. Returns one
        line saying what was connected. ``connect … --login`` calls it. Default: no such login."""
        raise NotImplementedError(f"{self.system} has no login of its own: its credentials come by environment "
                                  "variable")

    def prerequisites(self, uses: list[Use]) -> list[str]:
        """What the account must hold before these flows can run (a product group, a location per till,
        a custom field the options name), each missing thing as a sentence saying what to create or set;
        empty when all is there. Read-only; ``connect`` prints them. Default: nothing to check."""
        return []

    @abstractmethod
    def read(self, entity: str, window: Window, options: dict[str, Any]) -> Iterator[dict]:
        """Yield raw vendor records of ``entity`` modified in ``window`` (paging handled inside)."""

    def read_batch(self, entity: str, options: dict[str, Any]) -> Batch:
        """For an entity in :attr:`batched`: the records of the feed's pending batch (the same one
        again until it is acknowledged), else of a new one."""
        raise NotImplementedError(f"{self.system} reads {entity} by window, not by batch")

    def acknowledge(self, entity: str, receipt: str) -> None:
        """Tell the system the batch ``receipt`` was taken: the engine calls it once the run's push
        has recorded every record of the batch (landed, or failed in the sync log), never before. An
        acknowledgement lost on the way costs a re-read of the batch, whose records then diff as
        unchanged; so it is neither lost nor repeated."""
        raise NotImplementedError(f"{self.system} takes no acknowledgement")

    def read_keys(self, entity: str, keys: list[str], options: dict[str, Any]) -> tuple[list[dict], dict[str, str]]:
        """The raw records of ``entity`` that hold ``keys``, and why each key no record holds was not
        found (key -> a sentence for the sync log: "no product with SKU 'X' in the shop").

        What re-sending named records and retrying a flow's failed records read instead of a window.
        The records come in the shape :meth:`read` yields (the flow maps them with
        :meth:`to_canonical` as any other), each once however many keys name it. ``keys`` are the
        canonical keys the sync log shows; a connector may accept what people type as well (an order
        number as the shop shows it) and says so in its docstring. ``options`` are those of
        :meth:`prepare`. A key this returns neither a record nor a reason for is one a returned
        record holds under another spelling (a variation's SKU answering its product).

        A system that cannot look records up by key says so for every key (the default).
        """
        return [], {key: f"{self.system} cannot look {entity} up by key; run the flow over a window or in full"
                    for key in keys}

    def verify(self, entity: str, records: list[CanonicalRecord], ctx: WriteContext) -> Iterator[Drift]:
        """Reconciliation, read-only: compare what this system holds with ``records`` — what it should
        hold, as the source has them now and as this flow last wrote them — for the fields the flow
        owns (``ctx.owns``); yield a :class:`Drift` per field that differs, and one with field
        ``"record"`` and ``actual`` None for a record that is not there. Never writes. Read in
        bulk where the system can (a list page of 500 is one request, a record by id is one each).

        A system that cannot be verified raises ``NotImplementedError`` (the default); the drift
        check then says so instead of passing.
        """
        raise NotImplementedError(f"{self.system} cannot verify {entity} yet")

    def webhook_hint(self, headers: Mapping[str, str], body: bytes) -> WebhookHint | None:
        """Verify one webhook delivery this system sent and say what it hints changed; None for a
        delivery that hints at nothing (a ping, an event no flow reads). Raise
        :class:`~integrations_dagster.connectors.signatures.WebhookRefused` when its signature does
        not verify (the receiver answers 401 and stores nothing). Default: the system sends none."""
        from integrations_dagster.connectors.signatures import WebhookRefused

        raise WebhookRefused(f"{self.system} sends no webhooks this connector understands")

    def subscribe_webhooks(self, destination: str, entities: set[str]) -> str | None:
        """Subscribe ``destination`` (the receiver's URL for this connection) to this system's change
        events for ``entities``, replacing an earlier subscription of the same destination; return
        the secret deliveries will be signed with when the system makes or takes one (None: the
        connection's configured ``webhook_secret`` signs them). Default: the system sends none."""
        raise NotImplementedError(f"{self.system} sends no webhooks this connector can subscribe to")

    def unsubscribe_webhooks(self, path: str) -> int:
        """Delete this system's subscriptions whose destination URL has ``path`` (the receiver's
        ``/hooks/<integration>/<connection>``, on whatever host it was subscribed); how many."""
        return 0

    def latest_change(self, entity: str, since: Watermark | None) -> Watermark | None:
        """Cheap check for sensors: a watermark past ``since`` (``new`` when a run is due), or None
        when nothing changed. A request or two at most; the sensor keeps the watermark as its cursor.
        """
        return None

    def prepare(self, entity: str, options: dict[str, Any]) -> dict[str, Any]:
        """The options to read ``entity`` with: what the system says about itself (currency, VAT
        rates...) under the YAML's options. Called once per run before reading; raise
        ``ConfigError`` naming the option when the YAML contradicts the system."""
        return options

    @abstractmethod
    def to_canonical(self, entity: str, raw: dict, options: dict[str, Any],
                     notes: MapNotes | None = None) -> CanonicalRecord:
        """Map one raw record; raise RecordError with a readable reason when it cannot be. Parts
        left out go to ``notes``."""

    def raw_key(self, entity: str, raw: dict) -> str:
        """How to name a raw record in the sync log when it cannot be mapped."""
        return str(raw.get("id", "?"))

    def raw_id(self, entity: str, raw: dict) -> str | None:
        """The source's id of a raw record (what its canonical record's ``source_id`` will be), so that
        a failure logged before the record had a key is resolved when the record lands under one."""
        value = raw.get("id")
        return None if value is None else str(value)

    def plan(self, entity: str, changes: list[Change], ctx: WriteContext) -> dict[str, tuple[str, str]]:
        """A dry run's look at the target, read-only: key -> (what a write would do, why), for the
        changes whose fate the diff cannot tell — a create that would *link* a record the target
        already has (``("link", "the store has SKU X")``). Keys left out go as the diff says.
        Default: no look."""
        return {}

    @abstractmethod
    def write(self, entity: str, changes: list[Change], ctx: WriteContext) -> Iterator[Outcome]:
        """Apply changes; yield one Outcome per change as soon as the target has accepted it."""
