"""Schedules: the handler gets a ``ScheduledEvent``; an exception fails the invocation (retried)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowfn.function import Handler
from flowfn.runtime.events import ScheduledEvent
from flowfn.runtime.invoke import call

__all__ = ["run_schedule"]


def run_schedule(handler: Handler, event: Mapping[str, Any], context: object) -> Any:
    return call(handler, ScheduledEvent.from_raw(event), context)
