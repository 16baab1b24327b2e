"""Schedules: the handler gets a ``ScheduledEvent``; an exception fails the invocation (retried)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowfn.function import Handler
from flowfn.runtime.events import _UNSET, ScheduledEvent
from flowfn.runtime.invoke import SETTLED, Runner, caller, not_an_event, settle

__all__ = ["prepare_schedule"]

_scheduled = ScheduledEvent.from_raw
_new = object.__new__


def prepare_schedule(handler: Handler) -> Runner:
    """The schedule adapter: what runs each event of ``handler``."""
    fn = caller(handler)

    def run(event: Mapping[str, Any], context: object) -> Any:
        if type(event) is dict:  # ScheduledEvent.from_raw, written out: the call would cost a fifth
            built = _new(ScheduledEvent)
            built._time = _UNSET
            built.raw = built._source = event
        else:
            not_an_event("schedule", event)
            built = _scheduled(event)
        result = fn(built, context)
        return result if type(result) in SETTLED else settle(result)
    return run
