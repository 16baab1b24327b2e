"""Schedules: the handler gets a ``ScheduledEvent``; an exception fails the invocation (retried)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flowfn.errors import EventError
from flowfn.function import Handler
from flowfn.runtime.invoke import SETTLED, Runner, caller, not_an_event, settle
from flowfn.runtime.shape import UNSET, Value, as_dict, text
from flowfn.runtime.shape import event_time as _event_time

__all__ = ["ScheduledEvent", "prepare_schedule"]

_new = object.__new__
_fromisoformat = datetime.fromisoformat


class ScheduledEvent(Value):
    """An EventBridge scheduled event: which rule fired, and when.

    ``time``: the scheduled time of this fire (UTC). ``rule_arn``: the ARN of the rule (or
    schedule) that fired, "" when the event names none. A field of the wrong shape is an
    EventError naming it when it is read.
    """

    # _source: the mapping id, region, account and rule_arn are read from (``raw`` itself, unless
    # built with keywords); _time: the parsed time, once worked out.
    __slots__ = ("_source", "_time", "raw")
    _fields = ("id", "time", "rule_arn", "region", "account")

    def __init__(self, *, id: str = "", time: datetime | None = None, rule_arn: str = "",
                 region: str = "", account: str = "", raw: dict[str, Any] | None = None) -> None:
        self._source: Mapping[str, Any] = {"id": id, "region": region, "account": account,
                                           "resources": [rule_arn] if rule_arn else []}
        self._time: datetime | None = time
        self.raw = raw if raw is not None else {}

    @classmethod
    def from_raw(cls, event: Mapping[str, Any]) -> ScheduledEvent:
        """Build from the event dict Lambda passes (kept, not copied, as ``raw``).

        Nothing is read yet: each field is read, and checked, when first asked for (a scheduled
        event is small, and most handlers read one field of it or none).
        """
        self = _new(cls)
        self._time = UNSET
        self.raw = self._source = event if type(event) is dict else as_dict(event)
        return self

    @property
    def id(self) -> str:
        """The event's id."""
        return text("schedule", "id", self._source.get("id"))

    @property
    def time(self) -> datetime | None:
        """The scheduled time of this fire (UTC); parsed on first access."""
        value: datetime | None = self._time
        if value is UNSET:
            try:  # as EventBridge writes it, 2019-09-03T19:37:27Z: an aware time at once
                value = _fromisoformat(self._source["time"])
                if value.tzinfo is None:
                    raise ValueError
            except (KeyError, TypeError, ValueError):  # else as parse_time reads it, or an EventError
                value = _event_time("schedule", "time", self._source.get("time"))
            self._time = value
        return value

    @property
    def rule_arn(self) -> str:
        """The ARN of the rule or schedule that fired, "" when the event names none."""
        resources = self._source.get("resources")
        if resources is None:
            return ""
        if not isinstance(resources, (list, tuple)):
            raise EventError("schedule", "resources", f"must be a list, got {type(resources).__name__}")
        return text("schedule", "resources[0]", resources[0]) if resources else ""

    @property
    def region(self) -> str:
        """The region the rule is in."""
        return text("schedule", "region", self._source.get("region"))

    @property
    def account(self) -> str:
        """The account the rule belongs to."""
        return text("schedule", "account", self._source.get("account"))


_scheduled = ScheduledEvent.from_raw


def prepare_schedule(handler: Handler) -> Runner:
    """The schedule adapter: what runs each event of ``handler``."""
    fn = caller(handler)

    def run(event: Mapping[str, Any], context: object) -> Any:
        if type(event) is dict:  # ScheduledEvent.from_raw, written out: the call would cost a fifth
            built = _new(ScheduledEvent)
            built._time = UNSET
            built.raw = built._source = event
        else:
            not_an_event("schedule", event)
            built = _scheduled(event)
        result = fn(built, context)
        return result if type(result) in SETTLED else settle(result)
    return run
