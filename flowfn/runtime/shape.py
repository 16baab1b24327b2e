"""Reading fields of the events Lambda delivers, with one clear error for a field of the wrong shape.

A missing field (or null) takes its default and a number where text belongs is read as text, as
before; a list or an object where text belongs, or anything but an object or a list where one
belongs, is an :class:`~flowfn.errors.EventError` naming the trigger kind and the field. These
helpers run on the slower paths only: events of the shape Lambda delivers never reach them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from flowfn.errors import EventError

__all__ = ["each_record", "mapping", "records", "text", "whole_number"]

_SCALARS = (str, int, float, bool)
T = TypeVar("T")


def _got(value: Any) -> str:
    return f"got {type(value).__name__}"


def mapping(kind: str, path: str, value: Any) -> Mapping[str, Any]:
    """``value`` when it is an object, {} when it is missing; else EventError."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return value
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
    """The event's ``Records`` list (empty when missing); EventError when it is not a list."""
    value = event.get("Records")
    if type(value) is list or isinstance(value, (list, tuple)):
        return value
    if value is None:
        return ()
    raise EventError(kind, "Records", f"must be a list, {_got(value)}")


def each_record(raw: Sequence[Any], build: Callable[[Any], T]) -> list[T]:
    """``build(record)`` for each record, an EventError naming the record's index when one is malformed."""
    built: list[T] = []
    for index, record in enumerate(raw):
        try:
            built.append(build(record))
        except EventError as exc:
            raise exc.at(f"Records[{index}]") from None
    return built
