"""SNS: the handler gets each record as an ``SnsRecord`` (or, with ``model=``, the validated message).

Lambda invokes an SNS function asynchronously with one record: an exception fails the
invocation, and Lambda retries it twice, then hands the event to the failure destination.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flowfn.errors import EventError
from flowfn.function import Handler
from flowfn.runtime import shape
from flowfn.runtime.invoke import Runner, call, each_event
from flowfn.runtime.shape import as_dict
from flowfn.runtime.shape import event_time as _event_time

__all__ = ["SnsRecord", "prepare_sns", "run_sns"]


class SnsRecord:
    """One SNS message, as Lambda receives it (Powertools' names).

    ``message``: the message text. ``json()``: it parsed as JSON. ``subject``: the subject or None.
    ``message_attributes``: name -> ``{"Type": ..., "Value": ...}``. ``topic_arn``, ``message_id``,
    ``timestamp`` (UTC). ``raw``: the record exactly as Lambda received it.
    """

    __slots__ = ("_sns", "raw")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = as_dict(raw)
        self._sns = shape.mapping("sns", "Sns", self.raw.get("Sns"))
        shape.text("sns", "Sns.Message", self._sns.get("Message"))
        shape.mapping("sns", "Sns.MessageAttributes", self._sns.get("MessageAttributes") or {})

    def __repr__(self) -> str:
        return (f"SnsRecord(message_id={self.message_id!r}, topic_arn={self.topic_arn!r}, "
                f"message={self.message!r})")

    @property
    def message(self) -> str:
        """The message text."""
        return shape.text("sns", "Sns.Message", self._sns.get("Message"))

    def json(self) -> Any:
        """The message parsed as JSON; EventError when it is not JSON."""
        try:
            return json.loads(self.message)
        except ValueError as exc:
            raise EventError("sns", "Sns.Message", f"is not JSON ({exc})") from None

    @property
    def subject(self) -> str | None:
        """The subject the publisher gave, or None."""
        value = self._sns.get("Subject")
        return None if value is None else shape.text("sns", "Sns.Subject", value)

    @property
    def message_attributes(self) -> dict[str, dict[str, str]]:
        """The message attributes: name -> {"Type": "String" | "Number" | "Binary" ..., "Value": ...}."""
        return {k: dict(v) for k, v in (self._sns.get("MessageAttributes") or {}).items()}

    @property
    def topic_arn(self) -> str:
        """The ARN of the topic the message was published to."""
        return shape.text("sns", "Sns.TopicArn", self._sns.get("TopicArn"))

    @property
    def message_id(self) -> str:
        """The id SNS gave the message."""
        return shape.text("sns", "Sns.MessageId", self._sns.get("MessageId"))

    @property
    def timestamp(self) -> datetime | None:
        """When the message was published (UTC)."""
        return _event_time("sns", "Sns.Timestamp", self._sns.get("Timestamp"))


def run_sns(handler: Handler, event: Mapping[str, Any], context: object) -> Any:
    """The SNS adapter: each record (SNS sends one) to the handler; an exception fails the invocation."""
    model = getattr(handler.trigger, "model", None)
    built = shape.each_record(shape.records("sns", event), SnsRecord)
    results = []
    for record in built:
        item: Any = record
        if model is not None:
            try:
                item = model.model_validate_json(record.message)
            except ValueError as exc:
                raise EventError("sns", "Sns.Message", f"does not match {model.__name__}: {exc}") from None
        results.append(call(handler, item, context))
    return results[0] if len(results) == 1 else results


def prepare_sns(handler: Handler) -> Runner:
    """The sns adapter: what runs each event of ``handler``."""
    return each_event(run_sns, handler)
