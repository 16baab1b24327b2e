"""Typed views of the SQS messages Lambda delivers (those of S3 and schedules live in their kinds'
modules, ``runtime/s3.py`` and ``runtime/schedule.py``, and are found here too).

Each class is built from the raw event dict and keeps it in ``raw``. Field names follow the ones
Lambda users know from Powertools (``message_id``, ``json_body`` ...). Nothing here imports
Powertools or pydantic: these classes are on a cold start.

Building one is on every event's path, so ``from_raw`` indexes the dicts Lambda delivers directly
and leaves derived values (times, sizes) to be worked out on first access. Other shapes take a
slower path (:mod:`flowfn.runtime.shape`): missing fields get defaults, and a field of the wrong
shape is an EventError naming the trigger kind and the field, when it is built or first read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flowfn.errors import EventError
from flowfn.runtime.shape import UNSET, Value, as_dict, each_record, mapping, parse_time, text, whole_number

if TYPE_CHECKING:
    from flowfn.runtime.s3 import S3Event, S3Record, decode_s3_key
    from flowfn.runtime.schedule import ScheduledEvent

__all__ = [
    "S3Event",
    "S3Record",
    "ScheduledEvent",
    "SqsBatch",
    "SqsRecord",
    "decode_s3_key",
    "parse_time",
]


_new = object.__new__


_NO_JSON = object()


class SqsRecord(Value):
    """One SQS message as Lambda delivers it.

    ``receipt_handle`` deletes the message (Lambda deletes acknowledged messages itself). ``body``:
    the body as sent. ``attributes``: system attributes (``ApproximateReceiveCount``,
    ``SentTimestamp``, ``MessageGroupId`` ...). ``message_attributes``: those the sender attached,
    name -> ``{"stringValue" | "binaryValue", "dataType"}``. ``queue_arn``: the queue's ARN.
    """

    # _source: the mapping receipt_handle, attributes, message_attributes and queue_arn are read from
    # (the record itself, checked to have them, unless built from keywords or another shape).
    __slots__ = ("_json", "_sent", "_source", "body", "message_id", "raw")
    _fields = ("message_id", "body", "attributes", "message_attributes", "queue_arn")

    def __init__(self, *, message_id: str, body: str, receipt_handle: str = "",
                 attributes: dict[str, str] | None = None,
                 message_attributes: dict[str, Any] | None = None, queue_arn: str = "",
                 raw: dict[str, Any] | None = None) -> None:
        self.message_id = message_id
        self.body = body
        self._source: Mapping[str, Any] = {
            "receiptHandle": receipt_handle, "eventSourceARN": queue_arn,
            "attributes": attributes if attributes is not None else {},
            "messageAttributes": message_attributes if message_attributes is not None else {},
        }
        self.raw = raw if raw is not None else {}
        self._json: Any = _NO_JSON
        self._sent: datetime | None = UNSET

    @classmethod
    def from_raw(cls, record: Mapping[str, Any]) -> SqsRecord:
        """Build from one entry of an SQS event's ``Records`` (kept, not copied, as ``raw``)."""
        try:
            message_id = record["messageId"]
            body = record["body"]
            attributes = record["attributes"]
            message_attributes = record["messageAttributes"]
        except (KeyError, TypeError):
            return cls._from_other(record)
        if (type(record) is not dict or type(attributes) is not dict or type(message_attributes) is not dict
                or type(message_id) is not str or type(body) is not str):
            return cls._from_other(record)
        self = _new(cls)
        self.message_id = message_id
        self.body = body
        self.raw = self._source = record
        self._json = _NO_JSON
        self._sent = UNSET
        return self

    @classmethod
    def each(cls, records: Sequence[Any]) -> tuple[SqsRecord, ...]:
        """``from_raw`` of each of an event's ``Records``; an EventError names a malformed one."""
        built = []
        new = _new
        for record in records:  # from_raw, written out: a call per record costs a sixth more
            try:
                message_id = record["messageId"]
                body = record["body"]
                attributes = record["attributes"]
                message_attributes = record["messageAttributes"]
            except (KeyError, TypeError):
                break
            if (type(record) is not dict or type(attributes) is not dict
                    or type(message_attributes) is not dict or type(message_id) is not str
                    or type(body) is not str):
                break
            self = new(cls)
            self.message_id = message_id
            self.body = body
            self.raw = self._source = record
            self._json = _NO_JSON
            self._sent = UNSET
            built.append(self)
        else:
            return tuple(built)
        return tuple(each_record(records, cls.from_raw))  # one of another shape: built one by one

    @classmethod
    def _from_other(cls, record: Mapping[str, Any]) -> SqsRecord:
        # Fields missing or of other scalar types than Lambda sends: empty defaults, and strings made
        # of them. A list or object in the wrong place is an EventError naming the field.
        get = mapping("sqs", "", record).get
        self = _new(cls)
        self.message_id = text("sqs", "messageId", get("messageId"))
        self.body = text("sqs", "body", get("body"))
        self.raw = as_dict(record)
        self._source = {
            "receiptHandle": text("sqs", "receiptHandle", get("receiptHandle")),
            "eventSourceARN": text("sqs", "eventSourceARN", get("eventSourceARN")),
            "attributes": dict(mapping("sqs", "attributes", get("attributes"))),
            "messageAttributes": dict(mapping("sqs", "messageAttributes", get("messageAttributes"))),
        }
        self._json = _NO_JSON
        self._sent = UNSET
        return self

    @property
    def receipt_handle(self) -> str:
        """The handle that deletes this message."""
        return text("sqs", "receiptHandle", self._source.get("receiptHandle"))

    @property
    def attributes(self) -> dict[str, str]:
        """System attributes: ``ApproximateReceiveCount``, ``SentTimestamp``, ``MessageGroupId`` ..."""
        attributes: dict[str, str] = self._source["attributes"]
        return attributes

    @property
    def message_attributes(self) -> dict[str, Any]:
        """The attributes the sender attached."""
        attributes: dict[str, Any] = self._source["messageAttributes"]
        return attributes

    @property
    def queue_arn(self) -> str:
        """The queue's ARN."""
        return text("sqs", "eventSourceARN", self._source.get("eventSourceARN"))

    @property
    def json_body(self) -> Any:
        """The body parsed as JSON (parsed once); ValueError when it is not JSON."""
        if self._json is _NO_JSON:
            try:
                value = json.loads(self.body)
            except ValueError as exc:
                raise ValueError(
                    f"SQS message {self.message_id} has a body that is not JSON: {exc}"
                ) from None
            self._json = value
        return self._json

    @property
    def receive_count(self) -> int:
        """How many times SQS has handed this message out, this time included."""
        count = self._source["attributes"].get("ApproximateReceiveCount")
        if type(count) is str and count.isdecimal():
            return int(count)
        number = whole_number("sqs", "attributes.ApproximateReceiveCount", count)
        return 1 if number is None else number

    @property
    def sent_timestamp(self) -> datetime | None:
        """When the message was sent (UTC); worked out on first access."""
        value = self._sent
        if value is UNSET:
            sent = self.attributes.get("SentTimestamp") or None
            millis = whole_number("sqs", "attributes.SentTimestamp", sent)
            try:
                value = self._sent = datetime.fromtimestamp(millis / 1000, UTC) if millis else None
            except (OverflowError, OSError, ValueError):
                raise EventError("sqs", "attributes.SentTimestamp", f"is no time, got {millis}") from None
        return value

    @property
    def message_group_id(self) -> str | None:
        """The FIFO message group, or None for a standard queue."""
        group = self._source["attributes"].get("MessageGroupId")
        if group is None or type(group) is str:
            return group or None
        return text("sqs", "attributes.MessageGroupId", group) or None

    @property
    def message_deduplication_id(self) -> str | None:
        """The FIFO deduplication id, or None."""
        dedup = self.attributes.get("MessageDeduplicationId")
        return text("sqs", "attributes.MessageDeduplicationId", dedup) or None


class SqsBatch:
    """A batch of SQS messages, as a ``batch=True`` SQS handler receives it.

    Acknowledge the batch by returning. Report single messages as failed with :meth:`fail` (they
    return to the queue and are retried; the others are deleted); raising fails the whole batch.
    With ``model=`` on the trigger, ``models`` holds the validated body of each record in
    ``records`` (messages that fail validation are already reported and left out).
    """

    __slots__ = ("_failed", "models", "raw", "records")

    def __init__(self, records: tuple[SqsRecord, ...], raw: Mapping[str, Any],
                 models: tuple[Any, ...] | None = None) -> None:
        self.records = records
        self.models = models
        self.raw = as_dict(raw)
        self._failed: dict[str, None] = {}

    def __repr__(self) -> str:
        return f"SqsBatch({len(self.records)} records, {len(self._failed)} failed)"

    def __iter__(self) -> Iterator[SqsRecord]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def fail(self, record: SqsRecord | str) -> None:
        """Report one message (a record or its message id) failed: it is retried later."""
        message_id = record.message_id if isinstance(record, SqsRecord) else str(record)
        known = {r.message_id for r in self.records}
        if message_id not in known:
            raise ValueError(f"message {message_id!r} is not in this batch; pass one of batch.records")
        self._failed[message_id] = None

    @property
    def failed(self) -> tuple[str, ...]:
        """Message ids reported failed so far, in the order they were reported."""
        return tuple(self._failed)


#: The views of the other kinds, where they live (imported when first asked for from here): a
#: function compiles the views of its own kind only.
_ELSEWHERE = {"S3Event": "s3", "S3Record": "s3", "decode_s3_key": "s3", "ScheduledEvent": "schedule"}
_UNSET = UNSET
_Value = Value


def __getattr__(name: str) -> Any:
    module = _ELSEWHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'flowfn.runtime.events' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"flowfn.runtime.{module}"), name)
    globals()[name] = value
    return value
