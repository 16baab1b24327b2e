"""Reading fields of the events Lambda delivers, with one clear error for a field of the wrong shape.

A missing field (or null) takes its default (but ``Records``, without which an event is another
kind's) and a number where text belongs is read as text, as before; a list or an object where text
belongs, or anything but an object or a list where one belongs, is an
:class:`~flowfn.errors.EventError` naming the trigger kind and the field. These helpers run on the
slower paths only: events of the shape Lambda delivers never reach them. The times and mappings
every kind's views read (``parse_time``, ``as_dict``) live here too, so that a kind's runtime
imports what it reads and nothing of the other kinds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from flowfn.errors import EventError

__all__ = ["UNSET", "Value", "as_dict", "each_record", "event_time", "mapping", "parse_time", "records",
           "text", "whole_number"]

_SCALARS = (str, int, float, bool)
T = TypeVar("T")


def _got(value: Any) -> str:
    return f"got {type(value).__name__}"


def mapping(kind: str, path: str, value: Any) -> Mapping[str, Any]:
    """``value`` when it is an object, {} when it is missing; else EventError."""
    if type(value) is dict or isinstance(value, Mapping):  # a dict, as events are: no ABC check
        return value
    if value is None:
        return {}
    raise EventError(kind, path, f"must be an object, {_got(value)}")


def text(kind: str, path: str, value: Any) -> str:
    """``value`` as text ("" when missing, numbers written out); EventError for lists and objects."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, _SCALARS):
        return str(value)
    raise EventError(kind, path, f"must be a string, {_got(value)}")


def whole_number(kind: str, path: str, value: Any) -> int | None:
    """``value`` as an int (None when missing); EventError when it is not a whole number."""
    if value is None:
        return None
    if type(value) is int:
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value)
    raise EventError(kind, path, f"must be a whole number, got {value!r}"[:200])


def records(kind: str, event: Mapping[str, Any]) -> Sequence[Any]:
    """The event's ``Records`` list; EventError when it is not a list, or missing: every event of a
    kind with records has them (an empty list at most), so an event without is another kind's. The
    one exception, S3's ``s3:TestEvent`` when a bucket's notifications are set up, has none."""
    value = event.get("Records")
    if type(value) is list or isinstance(value, (list, tuple)):
        return value
    if value is None:
        if kind == "s3" and event.get("Event") == "s3:TestEvent":
            return ()
        keys = ", ".join(sorted(map(str, event))[:6]) or "none"
        raise EventError(kind, "Records", f"is missing (the event's keys: {keys})")
    raise EventError(kind, "Records", f"must be a list, {_got(value)}")


def each_record(raw: Sequence[Any], build: Callable[[Any], T]) -> list[T]:
    """``build(record)`` for each record, an EventError naming the record's index when one is malformed."""
    try:
        return [build(record) for record in raw]
    except EventError:
        pass  # built again one by one below, to name the malformed record (building has no side effects)
    built: list[T] = []
    for index, record in enumerate(raw):
        try:
            built.append(build(record))
        except EventError as exc:
            raise exc.at(f"Records[{index}]") from None
    return built


def parse_time(text: str | None) -> datetime | None:
    """An ISO-8601 timestamp as AWS writes it (``2019-09-03T19:37:27.192Z``), timezone-aware."""
    if not text:
        return None
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def event_time(kind: str, path: str, value: Any) -> datetime | None:
    """``parse_time``, with an EventError naming the field for a value that is not such a time."""
    try:
        return parse_time(value)
    except (TypeError, ValueError):
        raise EventError(kind, path, f"must be an ISO-8601 time, got {value!r}"[:200]) from None


def as_dict(value: Mapping[str, Any]) -> dict[str, Any]:
    """The event itself when it is a dict (``raw`` is what Lambda delivered, not a copy)."""
    return value if isinstance(value, dict) else dict(value)


#: Marks a derived value of a view not worked out yet.
UNSET: Any = object()


class Value:
    """Slotted value object: keyword construction, repr and equality over its fields (not ``raw``).

    Plain classes rather than dataclasses: they are built on every cold start, and a dataclass
    costs several times as long to define.
    """

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({inner})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self._fields)

    __hash__ = None  # type: ignore[assignment]
