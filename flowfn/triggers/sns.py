"""SNS subscriptions: one publish to a topic reaches every subscribed function whose filter
policy matches. Lambda invokes the function asynchronously with one record per message."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from flowfn.errors import ConfigError
from flowfn.resources import Resource, Topic
from flowfn.triggers.base import Invocation, Trigger, first_annotation
from flowfn.triggers.patterns import check_filter_policy

FilterScope = Literal["attributes", "body"]


class SnsTrigger(Trigger):
    """Run the handler on each message published to ``topic`` that its filter policy lets through.

    ``filter_policy`` (a dict, as SNS writes it) matches the message attributes, or with
    ``filter_scope="body"`` the JSON message itself. The handler takes ``(record, context)`` with
    an ``SnsRecord``, or with ``model=`` (a pydantic model) the message validated into it.
    """

    kind: ClassVar[str] = "sns"
    invocation: ClassVar[Invocation] = "async"
    passes: ClassVar[tuple[str, ...]] = ("record", "context")
    topic: Topic
    #: The filter policy as sorted JSON ("" for none).
    filter_policy: str = ""
    filter_scope: FilterScope = "attributes"
    model: type[Any] | None = None

    @property
    def policy(self) -> dict[str, Any] | None:
        """The filter policy as a dict, or None."""
        return json.loads(self.filter_policy) if self.filter_policy else None

    def resources(self) -> tuple[Resource, ...]:
        return (self.topic,)

    def describe(self) -> str:
        where = f" filter {self.filter_scope} {self.filter_policy}" if self.filter_policy else ""
        return f"sns {self.topic.logical_name}{where}"

    def touches(self) -> list[tuple[Resource, str]]:
        return [(self.topic, "subscribed (trigger)")]

    def check_handler(self, fn: Callable[..., Any], subject: str) -> None:
        found = first_annotation(fn)
        if found is not None and found[1] == "SnsRecord" and self.model is not None:
            raise ConfigError(
                subject, "fn",
                f"its parameter {found[0]!r} is annotated SnsRecord, but with model={self.model.__name__} "
                f"the handler is called with each validated {self.model.__name__}",
                f"take ({found[0]}: {self.model.__name__}, context), or drop model= to get SnsRecord",
            )


def make_sns_trigger(topic: Topic, filter_policy: Mapping[str, Any] | None, filter_scope: str,
                     model: type[Any] | None, subject: str) -> SnsTrigger:
    if not isinstance(topic, Topic):
        raise ConfigError(subject, "topic", f"{topic!r} is not a Topic",
                          "declare the topic with Topic('name') and pass that object")
    if topic.fifo:
        raise ConfigError(
            subject, "topic",
            f"{topic!r} is a FIFO topic, and SNS delivers FIFO topics to SQS queues only, never to Lambda",
            "subscribe the function to a standard topic, or have a FIFO queue subscribed to the topic "
            "and trigger the function with @on_sqs on that queue",
        )
    if filter_scope not in ("attributes", "body"):
        raise ConfigError(subject, "filter_scope", f"{filter_scope!r} is not a filter scope",
                          'pass "attributes" (message attributes) or "body" (the JSON message)')
    text = "" if filter_policy is None else check_filter_policy(filter_policy, filter_scope, subject)
    if model is not None and not (isinstance(model, type) and hasattr(model, "model_validate_json")):
        raise ConfigError(subject, "model", f"{model!r} is not a pydantic model class",
                          "pass a pydantic BaseModel subclass, or leave model out")
    return SnsTrigger(topic=topic, filter_policy=text, filter_scope=filter_scope,  # type: ignore[arg-type]
                      model=model)


# -- AWS-exact events: what SNS sends Lambda --------------------------------------------------


def sns_timestamp(when: datetime) -> str:
    """SNS's timestamp format: milliseconds and Z."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def sns_record(*, topic_arn: str, subscription_arn: str, message_id: str, message: str,
               subject: str | None, timestamp: str, attributes: Mapping[str, Mapping[str, str]],
               region: str, signature: str) -> dict[str, Any]:
    """One record of the event SNS invokes a subscribed function with."""
    host = f"https://sns.{region}.amazonaws.com"
    return {
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "EventSource": "aws:sns",
        "Sns": {
            "SignatureVersion": "1",
            "Timestamp": timestamp,
            "Signature": signature,
            "SigningCertUrl": f"{host}/SimpleNotificationService-0000000000000000000000.pem",
            "MessageId": message_id,
            "Message": message,
            "MessageAttributes": {k: {"Type": v["Type"], "Value": v["Value"]} for k, v in attributes.items()},
            "Type": "Notification",
            "UnsubscribeUrl": f"{host}/?Action=Unsubscribe&SubscriptionArn={subscription_arn}",
            "TopicArn": topic_arn,
            "Subject": subject,
        },
    }


def sns_event(record: dict[str, Any]) -> dict[str, Any]:
    """The event: SNS sends Lambda one record per invocation."""
    return {"Records": [record]}
