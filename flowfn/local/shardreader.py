"""A stream's shards as a mapping reads them: the records read (:class:`Raw`), the reader of one
stream (:class:`ShardReader`), and the shards as the stream is resharded (:class:`Lineage`).

Splitting or merging shards (``UpdateShardCount``) closes the parents, which keep their records,
and opens children that take the records put from then on. Lambda reads each parent to its end
before any of its children, so a partition key's records stay in order, and it finds the
children as they appear. :class:`Lineage` lists the stream's shards (at most every
``every_s`` unless asked now), says which ones are new, and holds a shard's children back until
the shard is read to its end. :func:`failed_from` reads an invocation's outcome by Lambda's rules:
where the batch's retry starts.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from flowfn.local.invoker import Invocation

__all__ = ["MAX_EVENT_BYTES", "Lineage", "Raw", "ShardInfo", "ShardReader", "event_size", "failed_from",
           "iterator_expired", "shard_info", "stamp_ms", "within_payload"]

#: Lambda's payload limit for a synchronous invocation (6 MB): a batch's event stays within it.
MAX_EVENT_BYTES = 6 * 1024 * 1024


class ShardInfo(NamedTuple):
    """One shard of a stream, as the emulator lists it."""

    id: str
    #: The shards it was split or merged from (none for a shard the stream was created with).
    parents: tuple[str, ...]
    #: It was split or merged: it takes no more records, and ends with what it holds.
    closed: bool


@dataclass(slots=True)
class Raw:
    """One record read from a shard."""

    #: The emulator's sequence number (what iterators take).
    raw_seq: str
    #: The sequence number in AWS's form, as the handler sees it.
    seq: str
    #: When the record arrived (Unix seconds).
    arrival: float
    #: Its partition key (Kinesis) or item key (DynamoDB), for parallelization's groups.
    key: str
    #: The record as Lambda delivers it.
    event: dict[str, Any]
    #: What filter patterns are matched against (None: worked out when a filter asks).
    doc: dict[str, Any] | None
    #: The record's size in the event, as JSON bytes (0: not measured yet; see :func:`event_size`).
    size: int = 0


def event_size(record: Raw) -> int:
    """How many bytes ``record`` takes in a batch's event (measured once)."""
    if not record.size:
        record.size = len(json.dumps(record.event, separators=(",", ":")).encode()) + 1  # and a comma
    return record.size


def within_payload(batch: list[Raw]) -> list[Raw]:
    """The batch's leading records whose event fits Lambda's 6 MB payload (one at least), as
    Lambda cuts a batch short of ``batch_size`` rather than invoke with more."""
    total = 64  # {"Records":[...]}
    for index, record in enumerate(batch):
        total += event_size(record)
        if total > MAX_EVENT_BYTES and index:
            return batch[:index]
    return batch


class ShardReader(Protocol):
    """One stream's records, read through the emulator's API."""

    kind: str
    source_arn: str

    def shards(self) -> list[ShardInfo]:
        """Every shard of the stream, closed ones included."""

    def iterator(self, shard: str, after: str | None, position: str, timestamp: float | None) -> str: ...

    def read(self, iterator: str, limit: int) -> tuple[list[Raw], str, str | None]:
        """Records from ``iterator`` on (some read may be dropped as not AWS's), the next iterator,
        and the emulator's sequence number of the last record read (None: nothing to read)."""

    def batch_event(self, records: list[dict[str, Any]]) -> dict[str, Any]: ...

    def doc(self, record: Raw) -> dict[str, Any]:
        """What filter patterns are matched against for ``record``."""

    def batch_info(self) -> str: ...

    def arrival_stamp(self, seconds: float) -> str:
        """A record's arrival time as the on-failure metadata writes it (Kinesis: to the
        millisecond; DynamoDB Streams: to the second, as its records are stamped)."""


def iterator_expired(exc: Exception) -> bool:
    """Whether ``exc`` is the emulator saying a shard iterator has expired."""
    response = getattr(exc, "response", None)
    return isinstance(response, dict) and response.get("Error", {}).get("Code") == "ExpiredIteratorException"


def stamp_ms(seconds: float) -> str:
    """``2019-11-14T00:38:04.835Z``: a Unix time in UTC, to the millisecond."""
    text = datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def shard_info(shard: dict[str, Any]) -> ShardInfo:
    """A shard as ``ListShards`` (Kinesis) or ``DescribeStream`` (DynamoDB Streams) answers it."""
    parents = tuple(p for p in (shard.get("ParentShardId"), shard.get("AdjacentParentShardId")) if p)
    closed = "EndingSequenceNumber" in shard.get("SequenceNumberRange", {})
    return ShardInfo(shard["ShardId"], parents, closed)


class Lineage:
    """One stream's shards as last listed, and which of them have been read to their end."""

    def __init__(self, list_shards: Callable[[], list[ShardInfo]], every_s: float = 1.0) -> None:
        self._list = list_shards
        self.every_s = every_s
        self._lock = threading.Lock()
        self._known: dict[str, ShardInfo] = {}
        self._ended: dict[str, threading.Event] = {}
        self._listed = float("-inf")

    def refresh(self, now: bool = False) -> list[ShardInfo]:
        """List the stream's shards (unless they were listed less than ``every_s`` ago and not
        ``now``); the ones not seen before, in the emulator's order (parents first)."""
        with self._lock:
            if not now and time.monotonic() - self._listed < self.every_s:
                return []
            self._listed = time.monotonic()
        shards = self._list()
        with self._lock:
            new = [s for s in shards if s.id not in self._known]
            for shard in shards:
                self._known[shard.id] = shard
                self._ended.setdefault(shard.id, threading.Event())
        return new

    def closed(self, shard: str) -> bool:
        """Whether the shard was closed when the stream was last listed."""
        with self._lock:
            known = self._known.get(shard)
        return known is not None and known.closed

    def end(self, shard: str) -> None:
        """The shard is closed and read to its end: its children may be read."""
        with self._lock:
            ended = self._ended.setdefault(shard, threading.Event())
        ended.set()

    def wait_for_parents(self, shard: str, stop: threading.Event) -> bool:
        """Wait until every parent of ``shard`` the stream still lists is read to its end; False
        when ``stop`` is set first."""
        with self._lock:
            known = self._known.get(shard)
            waits = [self._ended[p] for p in (known.parents if known else ()) if p in self._ended]
        for ended in waits:
            while not ended.wait(0.05):
                if stop.is_set():
                    return False
        return True


def failed_from(record: Invocation, group: list[Raw], windowed: bool = False) -> int | None:
    """Where the group's retry starts: None when it all succeeded (Lambda's rules: an error fails
    the whole batch; the lowest reported sequence number is the checkpoint; an empty or unknown
    identifier fails the whole batch; in a tumbling window, so does a response without ``state``)."""
    if record.outcome in ("error", "timeout", "throttled"):
        return 0
    result = record.result
    if windowed and not (isinstance(result, dict) and isinstance(result.get("state"), dict)):
        return 0
    if not isinstance(result, dict):
        return None
    failures = result.get("batchItemFailures") or []
    if not failures:
        return None
    positions = {r.seq: i for i, r in enumerate(group)}
    found = []
    for failure in failures:
        ident = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not ident or ident not in positions:
            return 0
        found.append(positions[ident])
    return min(found)
