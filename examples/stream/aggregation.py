"""The stream example's data: the event model and per-key, per-minute aggregates. Pure, no AWS.

An :class:`Aggregate` covers one key and one minute (of the events' own timestamps) and lists the
ids of the events it counts. Merging a batch adds only events whose ids it does not hold yet, so
an event delivered twice (SQS delivers at least once, a producer may resend) is counted once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

#: SQS refuses messages (body and attributes) above 256 KiB, and batches above that in total.
MAX_MESSAGE_BYTES = 256 * 1024
#: The largest event body forwarded: a message's limit less room for its ``source`` attribute.
MAX_BODY_BYTES = MAX_MESSAGE_BYTES - 1024


class Event(BaseModel):
    """One measurement: ``{"id": "e-17", "key": "sensor-1", "ts": "2024-05-01T13:05:07Z", "value": 2.5}``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    #: Unique per event; a resent event keeps its id.
    id: str = Field(min_length=1, max_length=128)
    #: What the event is about; aggregates are per key. Letters, digits, ``.``, ``_``, ``-``.
    key: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    #: When it happened, with a time zone.
    ts: AwareDatetime
    value: float = Field(allow_inf_nan=False)

    @property
    def minute(self) -> datetime:
        """The UTC minute the event falls in."""
        return self.ts.astimezone(UTC).replace(second=0, microsecond=0)


def object_key(key: str, minute: datetime) -> str:
    """Where the aggregate of ``key`` for ``minute`` lives: ``sensor-1/2024-05-01/13-05.json``."""
    return f"{key}/{minute:%Y-%m-%d}/{minute:%H-%M}.json"


def group(events: Iterable[Event]) -> dict[tuple[str, datetime], list[Event]]:
    """Events by (key, minute), in arrival order."""
    groups: dict[tuple[str, datetime], list[Event]] = {}
    for event in events:
        groups.setdefault((event.key, event.minute), []).append(event)
    return groups


@dataclass(frozen=True)
class Aggregate:
    """Count, sum, minimum and maximum of one key's values in one minute, and the ids counted."""

    key: str
    minute: datetime
    count: int
    sum: float
    min: float
    max: float
    event_ids: frozenset[str]

    @classmethod
    def empty(cls, key: str, minute: datetime) -> Aggregate:
        return cls(key, minute, 0, 0.0, math.inf, -math.inf, frozenset())

    def merge(self, events: Iterable[Event]) -> Aggregate | None:
        """This aggregate with ``events`` added, skipping ids it holds; None when nothing is new."""
        fresh: dict[str, float] = {}
        for event in events:
            if (event.key, event.minute) != (self.key, self.minute):
                raise ValueError(f"event {event.id} ({event.key} at {event.minute:%H:%M}) does not belong "
                                 f"in the aggregate of {self.key} at {self.minute:%H:%M}")
            if event.id not in self.event_ids:
                fresh.setdefault(event.id, event.value)
        if not fresh:
            return None
        values = list(fresh.values())
        return Aggregate(
            key=self.key, minute=self.minute, count=self.count + len(values),
            sum=math.fsum([self.sum, *values]), min=min(self.min, *values), max=max(self.max, *values),
            event_ids=self.event_ids | fresh.keys(),
        )

    def to_json(self) -> bytes:
        """The stored document (ids sorted, so equal aggregates give equal bytes)."""
        doc = {
            "key": self.key, "minute": self.minute.strftime("%Y-%m-%dT%H:%M:%SZ"), "count": self.count,
            "sum": self.sum, "min": self.min, "max": self.max,
            "mean": self.sum / self.count if self.count else None,
            "event_ids": sorted(self.event_ids),
        }
        return json.dumps(doc, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> Aggregate:
        """Read a stored document back."""
        doc: dict[str, Any] = json.loads(data)
        ids = frozenset(doc["event_ids"])
        if len(ids) != doc["count"]:
            raise ValueError(f"aggregate {doc['key']} {doc['minute']} counts {doc['count']} events "
                             f"but lists {len(ids)} ids")
        return cls(
            key=doc["key"], minute=datetime.fromisoformat(doc["minute"]), count=doc["count"],
            sum=doc["sum"], min=doc["min"], max=doc["max"], event_ids=ids,
        )


def split_lines(text: str) -> list[tuple[int, str]]:
    """The non-blank lines of a JSON-lines text, with their 1-based line numbers."""
    return [(number, line.strip()) for number, line in enumerate(text.splitlines(), 1) if line.strip()]


def split_body(text: str) -> list[str]:
    """Message bodies from an HTTP POST: a JSON array (one per item), else JSON lines.

    Items are forwarded as they are; the queue's consumer validates them, so a bad one ends in the
    dead-letter queue like a bad line of a file. Raises ValueError when a body that starts with
    ``[`` is not a JSON array.
    """
    stripped = text.strip()
    if stripped.startswith("["):
        items = json.loads(stripped)
        if not isinstance(items, list):
            raise ValueError("the body is not a JSON array")
        return [json.dumps(item, separators=(",", ":")) for item in items]
    return [line for _, line in split_lines(text)]
