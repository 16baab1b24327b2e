"""Typed views of the S3, SQS and EventBridge events Lambda delivers.

Each class is built from the raw event dict and keeps it in ``raw``. Field names follow the ones
Lambda users know from Powertools (``bucket_name``, ``object_key``, ``json_body`` ...). Nothing here
imports Powertools or pydantic: these classes are on every cold start.

Building one is on every event's path, so ``from_raw`` indexes the dicts Lambda delivers directly
and leaves derived values (times, sizes) to be worked out on first access. Other shapes take a
slower path (:mod:`flowfn.runtime.shape`): missing fields get defaults, and a field of the wrong
shape is an EventError naming the trigger kind and the field, when it is built or first read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from flowfn.errors import EventError
from flowfn.runtime.shape import as_dict, each_record, mapping, parse_time, records, text, whole_number
from flowfn.runtime.shape import event_time as _event_time

__all__ = [
    "S3Event",
    "S3Record",
    "ScheduledEvent",
    "SqsBatch",
    "SqsRecord",
    "decode_s3_key",
    "parse_time",
]


def decode_s3_key(key: str) -> str:
    """An object key as S3 stores it, from the URL-encoded form S3 puts in notifications.

    S3 writes spaces as ``+`` and percent-encodes other special characters (``+`` itself becomes
    ``%2B``); slashes stay as they are (some emulators send ``%2F``, which decodes the same).
    """
    return unquote_plus(key)


_fromisoformat = datetime.fromisoformat
#: Marks a derived value not worked out yet.
_UNSET: Any = object()
_new = object.__new__


class _Value:
    """Slotted value object: keyword construction, repr and equality over its fields (not ``raw``).

    Plain classes rather than dataclasses: they are built on every cold start, and a dataclass
    costs several times as long to define.
    """

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({inner})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self._fields)

    __hash__ = None  # type: ignore[assignment]


class S3Record(_Value):
    """One S3 notification record: which object changed, and how.

    ``bucket_name``: the bucket's physical name. ``object_key``: the key, decoded (``my photo.jpg``,
    not ``my+photo.jpg``). ``size``: bytes, None for removals (S3 sends none). ``etag``: the
    object's ETag or None. ``event_name``: the event type without ``s3:``, e.g.
    ``ObjectCreated:Put``. ``event_time``: when it happened (UTC). ``version_id``: the version in
    a versioned bucket, else None. ``raw``: the record exactly as Lambda received it.
    """

    # _object: the record's s3.object mapping, which size, etag and version_id are read from.
    __slots__ = ("_event_time", "_object", "bucket_name", "event_name", "object_key", "raw")
    _fields = ("bucket_name", "object_key", "size", "etag", "event_name", "event_time", "version_id")

    def __init__(self, *, bucket_name: str, object_key: str, size: int | None = None,
                 etag: str | None = None, event_name: str = "ObjectCreated:Put",
                 event_time: datetime | None = None, version_id: str | None = None,
                 raw: dict[str, Any] | None = None) -> None:
        self.bucket_name = bucket_name
        self.object_key = object_key
        self.event_name = event_name
        self.raw = raw if raw is not None else {}
        self._object: Mapping[str, Any] = {"size": size, "eTag": etag, "versionId": version_id}
        self._event_time: datetime | None = event_time

    @classmethod
    def from_raw(cls, record: Mapping[str, Any]) -> S3Record:
        """Build from one entry of an S3 event's ``Records`` (kept, not copied, as ``raw``)."""
        try:
            s3 = record["s3"]
            obj = s3["object"]  # (IntelligentTiering events say get_object: the slower path reads it)
            bucket_name = s3["bucket"]["name"]
            object_key = obj["key"]
            event_name = record["eventName"]
        except (KeyError, TypeError):
            return cls._from_other(record)
        if (type(record) is not dict or type(object_key) is not str or type(bucket_name) is not str
                or type(event_name) is not str or type(obj) is not dict):
            return cls._from_other(record)
        if "%" in object_key or "+" in object_key:  # else decoding changes nothing
            object_key = unquote_plus(object_key)
        self = _new(cls)
        self.bucket_name = bucket_name
        self.object_key = object_key
        self.event_name = event_name
        self.raw = record
        self._object = obj
        self._event_time = _UNSET
        return self

    @classmethod
    def _from_other(cls, record: Mapping[str, Any]) -> S3Record:
        # Fields missing or of other scalar types than Lambda sends: defaults, and strings made of
        # them. A list or object in the wrong place is an EventError naming the field.
        record = mapping("s3", "", record)
        s3 = mapping("s3", "s3", record.get("s3"))
        obj = mapping("s3", "s3.object", s3.get("object") or s3.get("get_object"))
        self = _new(cls)
        bucket = mapping("s3", "s3.bucket", s3.get("bucket"))
        self.bucket_name = text("s3", "s3.bucket.name", bucket.get("name"))
        self.object_key = decode_s3_key(text("s3", "s3.object.key", obj.get("key")))
        self.event_name = text("s3", "eventName", record.get("eventName"))
        self.raw = as_dict(record)
        self._object = obj
        self._event_time = _UNSET
        return self

    @property
    def size(self) -> int | None:
        """The object's size in bytes; None for removals."""
        return whole_number("s3", "s3.object.size", self._object.get("size"))

    @property
    def etag(self) -> str | None:
        """The object's ETag, or None."""
        return text("s3", "s3.object.eTag", self._object.get("eTag")) or None

    @property
    def version_id(self) -> str | None:
        """The object version in a versioned bucket, else None."""
        return text("s3", "s3.object.versionId", self._object.get("versionId")) or None

    @property
    def event_time(self) -> datetime | None:
        """When the event happened (UTC); parsed on first access."""
        value: datetime | None = self._event_time
        if value is _UNSET:
            value = self._event_time = _event_time("s3", "eventTime", self.raw.get("eventTime"))
        return value

    @property
    def created(self) -> bool:
        """True for ``ObjectCreated:*`` events."""
        return self.event_name.startswith("ObjectCreated:")

    @property
    def removed(self) -> bool:
        """True for ``ObjectRemoved:*`` events."""
        return self.event_name.startswith("ObjectRemoved:")


class S3Event(_Value):
    """A whole S3 notification event, as a ``batch=True`` S3 handler receives it."""

    __slots__ = ("raw", "records")
    _fields = ("records",)

    def __init__(self, records: tuple[S3Record, ...], raw: dict[str, Any] | None = None) -> None:
        self.records = records
        self.raw = raw if raw is not None else {}

    @classmethod
    def from_raw(cls, event: Mapping[str, Any]) -> S3Event:
        """Build from the event dict Lambda passes."""
        raw = records("s3", event)
        return cls(records=tuple(each_record(raw, S3Record.from_raw)), raw=as_dict(event))

    def __iter__(self) -> Iterator[S3Record]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)


_NO_JSON = object()


class SqsRecord(_Value):
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
        self._sent: datetime | None = _UNSET

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
        self._sent = _UNSET
        return self

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
        self._sent = _UNSET
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
        if value is _UNSET:
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


class ScheduledEvent(_Value):
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
        self._time = _UNSET
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
        if value is _UNSET:
            text = self._source.get("time")
            try:  # as EventBridge writes it, 2019-09-03T19:37:27Z: an aware time at once
                value = _fromisoformat(text)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                value = None
            if value is None or value.tzinfo is None:
                value = _event_time("schedule", "time", text)
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
