"""SQS event-source mappings: the trigger spec and its validation."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from flowfn.errors import ConfigError
from flowfn.resources import Queue, Resource
from flowfn.triggers.base import Invocation, Trigger, first_annotation

MAX_BATCH_STANDARD = 10_000
MAX_BATCH_FIFO = 10
MAX_BATCHING_WINDOW_S = 300


class SqsTrigger(Trigger):
    """Run the handler on messages from ``queue``, with partial batch failure reporting.

    Lambda receives up to ``batch_size`` messages at once, waiting up to ``batching_window_s``
    to fill a batch. By default the handler gets one record at a time and a record whose handler
    raises is retried alone; with ``batch=True`` it gets the whole batch. With ``model=`` (a
    pydantic model) each body is parsed and validated, and a body that fails is reported failed.
    ``max_concurrency`` caps how many concurrent invocations the queue drives (2-1000).
    """

    kind: ClassVar[str] = "sqs"
    invocation: ClassVar[Invocation] = "poll"
    passes: ClassVar[tuple[str, ...]] = ("record", "context")
    queue: Queue
    batch_size: int = 10
    batching_window_s: int = 0
    batch: bool = False
    model: type[Any] | None = None
    max_concurrency: int | None = None

    def resources(self) -> tuple[Resource, ...]:
        return (self.queue,)

    def touches(self) -> list[tuple[Resource, str]]:
        found: list[tuple[Resource, str]] = [(self.queue, "consume (trigger)")]
        if self.queue.dlq is not None:
            found.append((self.queue.dlq, "receives failures"))
        return found

    def describe(self) -> str:
        window = f", window {self.batching_window_s}s" if self.batching_window_s else ""
        return f"sqs {self.queue.logical_name} (batch {self.batch_size}{window})"

    def conflict(self, other: Trigger) -> str | None:
        if isinstance(other, SqsTrigger) and other.queue.logical_name == self.queue.logical_name:
            return (
                f"both consume queue {self.queue.logical_name!r}; Lambda would split its messages "
                "between them at random"
            )
        return None

    def arguments(self) -> tuple[tuple[str, ...], str]:
        if self.batch:
            return ("batch", "context"), ("with batch=True an SQS trigger calls it once per batch with "
                                          "(batch, context)")
        return self.passes, ("an SQS trigger calls it once per message with (record, context), unless "
                             "batch=True (then once per batch with (batch, context))")

    def check_handler(self, fn: Callable[..., Any], subject: str) -> None:
        found = first_annotation(fn)
        if found is None:
            return
        name, annotation = found
        if annotation == "SqsBatch" and not self.batch:
            raise ConfigError(
                subject, "fn",
                f"its parameter {name!r} is annotated SqsBatch, but without batch=True the handler is "
                "called once per message",
                f"take ({name}: SqsRecord, context), or pass batch=True to get the whole SqsBatch",
            )
        if annotation == "SqsRecord" and self.model is not None and not self.batch:
            raise ConfigError(
                subject, "fn",
                f"its parameter {name!r} is annotated SqsRecord, but with model={self.model.__name__} "
                f"the handler is called with each validated {self.model.__name__}",
                f"take ({name}: {self.model.__name__}, context), or drop model= to get SqsRecord",
            )
        if annotation == "SqsRecord" and self.batch:
            raise ConfigError(
                subject, "fn",
                f"its parameter {name!r} is annotated SqsRecord, but with batch=True the handler is "
                "called once per batch with an SqsBatch",
                f"take ({name}: SqsBatch, context) and loop over it, or drop batch=True",
            )

    def check(self, subject: str, settings: Any) -> None:
        vt = self.queue.visibility_timeout_s
        if vt is not None and vt < settings.timeout_s:
            raise ConfigError(
                subject, "timeout_s",
                f"the function may run {settings.timeout_s}s but queue "
                f"{self.queue.logical_name!r} hides a received message for only {vt}s "
                "(visibility_timeout_s); AWS refuses such a mapping, since a message could be "
                "handled twice at once",
                f"raise the queue's visibility_timeout_s to at least {settings.timeout_s} (AWS "
                f"advises {min(6 * settings.timeout_s, 43_200)}), or leave it unset for flowfn to "
                "derive",
            )


def make_sqs_trigger(
    queue: Queue, batch_size: int, batching_window_s: int, batch: bool, model: type[Any] | None,
    max_concurrency: int | None, subject: str,
) -> SqsTrigger:
    if not isinstance(queue, Queue):
        raise ConfigError(subject, "queue", f"{queue!r} is not a Queue",
                          "declare it with Queue('name') and pass that object")
    limit = MAX_BATCH_FIFO if queue.fifo else MAX_BATCH_STANDARD
    kind = "a FIFO" if queue.fifo else "a standard"
    for argument, value, low, high in (("batch_size", batch_size, 1, limit),
                                       ("batching_window_s", batching_window_s, 0, MAX_BATCHING_WINDOW_S),
                                       ("max_concurrency", max_concurrency, 2, 1000)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError(subject, argument, f"{value!r} is not a whole number",
                              f"pass an int in {low}-{high}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= limit:
        raise ConfigError(subject, "batch_size", f"{batch_size!r} is outside 1-{limit}, the range "
                          f"Lambda accepts for {kind} queue", f"choose 1-{limit}")
    if (
        isinstance(batching_window_s, bool) or not isinstance(batching_window_s, int)
        or not 0 <= batching_window_s <= MAX_BATCHING_WINDOW_S
    ):
        raise ConfigError(subject, "batching_window_s", f"{batching_window_s!r} is outside 0-300 "
                          "seconds", "choose 0-300")
    if queue.fifo and batching_window_s:
        raise ConfigError(subject, "batching_window_s", "Lambda has no batching window for FIFO "
                          "queues", "drop batching_window_s")
    if batch_size > 10 and batching_window_s < 1:
        raise ConfigError(subject, "batching_window_s", f"batch_size={batch_size} needs a batching "
                          "window; Lambda requires one of at least 1 second above 10 messages",
                          "set batching_window_s=1 or more")
    if not isinstance(batch, bool):
        raise ConfigError(subject, "batch", f"{batch!r} is not True or False",
                          "pass batch=True for the whole batch, or leave it out for one message at a time")
    if model is not None and not (isinstance(model, type) and hasattr(model, "model_validate")):
        raise ConfigError(subject, "model", f"{model!r} is not a pydantic model class",
                          "pass a subclass of pydantic.BaseModel")
    if max_concurrency is not None and (
        isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int)
        or not 2 <= max_concurrency <= 1000
    ):
        raise ConfigError(subject, "max_concurrency", f"{max_concurrency!r} is outside 2-1000, "
                          "Lambda's range for SQS maximum concurrency", "choose 2-1000")
    return SqsTrigger(queue=queue, batch_size=batch_size, batching_window_s=batching_window_s,
                      batch=batch, model=model, max_concurrency=max_concurrency)


# -- AWS-exact events: what an SQS event-source mapping sends Lambda -----------------------------

#: Message system attributes Lambda copies into a record's ``attributes``, in its order.
_RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount", "SentTimestamp", "SequenceNumber", "MessageGroupId", "SenderId",
    "MessageDeduplicationId", "ApproximateFirstReceiveTimestamp", "AWSTraceHeader",
)


def _attribute_value(value: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        raw = value["BinaryValue"]
        out["binaryValue"] = base64.b64encode(raw).decode() if isinstance(raw, bytes | bytearray) else raw
    out["stringListValues"] = list(value.get("StringListValues", []))
    out["binaryListValues"] = [
        base64.b64encode(v).decode() if isinstance(v, bytes | bytearray) else v
        for v in value.get("BinaryListValues", [])
    ]
    out["dataType"] = value["DataType"]
    return out


def sqs_record(message: Mapping[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """One Lambda SQS record from a message as ``ReceiveMessage`` returns it (boto3's shape).

    Receive with ``AttributeNames=["All"]`` and ``MessageAttributeNames=["All"]`` so the
    record carries every attribute Lambda passes.
    """
    import hashlib  # here, not at the top: OpenSSL costs a Lambda cold start milliseconds

    attributes = message.get("Attributes", {})
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": {k: attributes[k] for k in _RECORD_ATTRIBUTES if k in attributes},
        "messageAttributes": {
            name: _attribute_value(value) for name, value in message.get("MessageAttributes", {}).items()
        },
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record["md5OfBody"] = message.get("MD5OfBody") or hashlib.md5(
        record["body"].encode(), usedforsecurity=False
    ).hexdigest()
    record["eventSource"] = "aws:sqs"
    record["eventSourceARN"] = queue_arn
    record["awsRegion"] = region
    return record


def sqs_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The SQS event Lambda receives: ``{"Records": [...]}``."""
    return {"Records": records}


def _raw_bytes(value: Any) -> bytes:
    return base64.b64decode(value) if isinstance(value, str) else bytes(value)


def message_attributes_md5(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """``MD5OfMessageAttributes`` as SQS computes it, for attributes in ``SendMessage``'s shape.

    SQS's documented digest: for each attribute in name order, the name, the data type, a
    transport byte (1 string, 2 binary, 3 string list, 4 binary list) and the value(s), each
    string or byte value preceded by its length as 4 big-endian bytes.
    """
    import hashlib

    digest = hashlib.md5(usedforsecurity=False)

    def field(data: bytes) -> None:
        digest.update(len(data).to_bytes(4, "big"))
        digest.update(data)

    for name in sorted(attributes):
        value = attributes[name]
        field(name.encode())
        field(str(value["DataType"]).encode())
        if "StringValue" in value:
            digest.update(b"\x01")
            field(str(value["StringValue"]).encode())
        elif "BinaryValue" in value:
            digest.update(b"\x02")
            field(_raw_bytes(value["BinaryValue"]))
        elif value.get("StringListValues"):
            digest.update(b"\x03")
            for item in value["StringListValues"]:
                field(str(item).encode())
        elif value.get("BinaryListValues"):
            digest.update(b"\x04")
            for item in value["BinaryListValues"]:
                field(_raw_bytes(item))
    return digest.hexdigest()


def sample_message(
    body: str, *, message_id: str, sent_ms: int, receive_count: int = 1,
    attributes: Mapping[str, str] | None = None, group_id: str | None = None, position: int = 0,
) -> dict[str, Any]:
    """A message in ``ReceiveMessage``'s shape, for building sample events without a queue.

    ``attributes`` become String message attributes. With ``group_id`` (a FIFO queue) the message
    gets SQS's 20-digit sequence number, from the send time and ``position`` in the batch, so
    messages sent later (or later in one batch) get greater numbers.
    """
    import hashlib

    system = {
        "ApproximateReceiveCount": str(receive_count),
        "SentTimestamp": str(sent_ms),
        "SenderId": "AIDAFLOWFNLOCALSENDER",
        "ApproximateFirstReceiveTimestamp": str(sent_ms + 1),
    }
    if group_id is not None:
        system["MessageGroupId"] = group_id
        system["MessageDeduplicationId"] = hashlib.sha256(body.encode()).hexdigest()
        system["SequenceNumber"] = f"{sent_ms * 10_000_000 + position:020d}"
    message: dict[str, Any] = {
        "MessageId": message_id,
        "ReceiptHandle": base64.b64encode(f"{message_id}#{sent_ms}".encode()).decode(),
        "MD5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "Body": body,
        "Attributes": system,
    }
    if attributes:
        message["MessageAttributes"] = {
            k: {"StringValue": v, "DataType": "String"} for k, v in attributes.items()
        }
        message["MD5OfMessageAttributes"] = message_attributes_md5(message["MessageAttributes"])
    return message
