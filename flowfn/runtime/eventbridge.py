"""EventBridge rules: the handler gets an ``EventBridgeEvent`` (its ``detail`` validated by ``model=``).

Lambda invokes a rule's function asynchronously: an exception fails the invocation, and Lambda
retries it twice, then hands the event to the failure destination.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flowfn.errors import EventError
from flowfn.function import Handler
from flowfn.runtime import shape
from flowfn.runtime.invoke import Runner, call, each_event
from flowfn.runtime.shape import as_dict
from flowfn.runtime.shape import event_time as _event_time

__all__ = ["EventBridgeEvent", "prepare_eventbridge", "run_eventbridge"]


class EventBridgeEvent:
    """An event a rule matched (Powertools' names).

    ``source``, ``detail_type``, ``detail`` (a dict, or the ``model=`` instance), ``time`` (UTC),
    ``resources``, ``account``, ``region``, ``id``. ``raw``: the event exactly as Lambda received it.
    """

    __slots__ = ("detail", "raw")

    def __init__(self, raw: Mapping[str, Any], detail: Any = None) -> None:
        self.raw = as_dict(raw)
        for key in ("id", "source", "detail-type", "account", "region"):
            shape.text("eventbridge", key, self.raw.get(key))
        self.detail = self.raw.get("detail") if detail is None else detail

    def __repr__(self) -> str:
        return (f"EventBridgeEvent(source={self.source!r}, detail_type={self.detail_type!r}, "
                f"detail={self.detail!r})")

    @property
    def id(self) -> str:
        """The event's id."""
        return shape.text("eventbridge", "id", self.raw.get("id"))

    @property
    def source(self) -> str:
        """Who sent the event (``com.example.orders``, ``aws.s3`` ...)."""
        return shape.text("eventbridge", "source", self.raw.get("source"))

    @property
    def detail_type(self) -> str:
        """The event's type (``detail-type``)."""
        return shape.text("eventbridge", "detail-type", self.raw.get("detail-type"))

    @property
    def time(self) -> datetime | None:
        """When the event happened (UTC)."""
        return _event_time("eventbridge", "time", self.raw.get("time"))

    @property
    def resources(self) -> list[str]:
        """The ARNs the event is about."""
        value = self.raw.get("resources") or []
        if not isinstance(value, list):
            raise EventError("eventbridge", "resources", f"must be a list, got {type(value).__name__}")
        return [shape.text("eventbridge", "resources[]", v) for v in value]

    @property
    def account(self) -> str:
        """The account the event was put in."""
        return shape.text("eventbridge", "account", self.raw.get("account"))

    @property
    def region(self) -> str:
        """The region the event was put in."""
        return shape.text("eventbridge", "region", self.raw.get("region"))


def run_eventbridge(handler: Handler, event: Mapping[str, Any], context: object) -> Any:
    """The EventBridge adapter: the event to the handler, its detail validated by ``model=`` first."""
    model = getattr(handler.trigger, "model", None)
    detail = None
    if model is not None:
        try:
            detail = model.model_validate(event.get("detail"))
        except ValueError as exc:
            raise EventError("eventbridge", "detail", f"does not match {model.__name__}: {exc}") from None
    return call(handler, EventBridgeEvent(event, detail), context)


def prepare_eventbridge(handler: Handler) -> Runner:
    """The eventbridge adapter: what runs each event of ``handler``."""
    return each_event(run_eventbridge, handler)
