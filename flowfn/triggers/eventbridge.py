"""EventBridge rules: events put on a bus reach every function whose rule's pattern they match.
Lambda invokes the function asynchronously with the event itself."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from flowfn.errors import ConfigError
from flowfn.resources import EventBus, Resource
from flowfn.triggers.base import Invocation, Trigger
from flowfn.triggers.patterns import check_event_pattern


class EventBridgeTrigger(Trigger):
    """Run the handler on each event on ``bus`` that matches ``pattern`` (an EventBridge event pattern).

    The handler takes ``(event, context)`` with an ``EventBridgeEvent``; with ``model=`` (a
    pydantic model) the event's ``detail`` is validated into it first.
    """

    kind: ClassVar[str] = "eventbridge"
    invocation: ClassVar[Invocation] = "async"
    passes: ClassVar[tuple[str, ...]] = ("event", "context")
    #: The event pattern as sorted JSON.
    pattern: str
    bus: EventBus
    model: type[Any] | None = None

    @property
    def pattern_dict(self) -> dict[str, Any]:
        """The event pattern as a dict."""
        result: dict[str, Any] = json.loads(self.pattern)
        return result

    def resources(self) -> tuple[Resource, ...]:
        return (self.bus,)

    def describe(self) -> str:
        return f"eventbridge {self.bus.logical_name} {self.pattern}"

    def touches(self) -> list[tuple[Resource, str]]:
        return [(self.bus, "rule (trigger)")]

    def check_handler(self, fn: Callable[..., Any], subject: str) -> None:
        """Nothing beyond the arity: the handler always gets the event."""


def make_eventbridge_trigger(pattern: Mapping[str, Any], bus: EventBus | None, model: type[Any] | None,
                             subject: str) -> EventBridgeTrigger:
    bus = EventBus() if bus is None else bus
    if not isinstance(bus, EventBus):
        raise ConfigError(subject, "bus", f"{bus!r} is not an EventBus",
                          "declare the bus with EventBus('name') (or leave bus out for the default bus)")
    text = check_event_pattern(pattern, subject)
    if model is not None and not (isinstance(model, type) and hasattr(model, "model_validate")):
        raise ConfigError(subject, "model", f"{model!r} is not a pydantic model class",
                          "pass a pydantic BaseModel subclass, or leave model out")
    return EventBridgeTrigger(pattern=text, bus=bus, model=model)


# -- AWS-exact events: what EventBridge sends Lambda ------------------------------------------


def eventbridge_event(*, event_id: str, source: str, detail_type: str, detail: Any, time: datetime,
                      region: str, account: str, resources: Sequence[str]) -> dict[str, Any]:
    """The event a rule delivers to its target, as EventBridge writes it."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": list(resources),
        "detail": detail,
    }
