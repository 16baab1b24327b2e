"""S3 notifications: each record reaches the handler as an ``S3Record`` (or the whole ``S3Event``).

The typed views are built from the raw event dict and keep it in ``raw``; field names follow the
ones Lambda users know from Powertools (``bucket_name``, ``object_key``).

Lambda invokes an S3 function asynchronously: an exception fails the invocation, and Lambda
retries it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus

from flowfn.errors import EventError
from flowfn.function import Handler
from flowfn.runtime import shape
from flowfn.runtime.invoke import SETTLED, Runner, caller, not_an_event, settle
from flowfn.runtime.shape import UNSET, Value, as_dict, each_record, mapping, records, text, whole_number
from flowfn.runtime.shape import event_time as _event_time
from flowfn.triggers.s3 import S3Trigger

__all__ = ["S3Event", "S3Record", "decode_s3_key", "prepare_s3"]

_new = object.__new__


def decode_s3_key(key: str) -> str:
    """An object key as S3 stores it, from the URL-encoded form S3 puts in notifications.

    S3 writes spaces as ``+`` and percent-encodes other special characters (``+`` itself becomes
    ``%2B``); slashes stay as they are (some emulators send ``%2F``, which decodes the same).
    """
    if "%" in key:
        return unquote_plus(key)
    return key.replace("+", " ") if "+" in key else key  # what unquote_plus gives without a %


class S3Record(Value):
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
        if "%" in object_key:  # decode_s3_key, written out
            object_key = unquote_plus(object_key)
        elif "+" in object_key:
            object_key = object_key.replace("+", " ")
        self = _new(cls)
        self.bucket_name = bucket_name
        self.object_key = object_key
        self.event_name = event_name
        self.raw = record
        self._object = obj
        self._event_time = UNSET
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
        self._event_time = UNSET
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
        if value is UNSET:
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


class S3Event(Value):
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


_s3_record = S3Record.from_raw


def prepare_s3(handler: Handler) -> Runner:
    """The S3 adapter: what runs each event of ``handler``."""
    trigger: S3Trigger = handler.trigger  # type: ignore[assignment]  # ADAPTERS chose by its kind
    fn = caller(handler)
    if trigger.batch:
        def run_batch(event: Mapping[str, Any], context: object) -> Any:
            if type(event) is not dict:
                not_an_event("s3", event)
            result = fn(S3Event.from_raw(event), context)
            return result if type(result) in SETTLED else settle(result)
        return run_batch

    def run(event: Mapping[str, Any], context: object) -> Any:
        try:
            records = event["Records"]
        except KeyError:
            records = None
        except TypeError:
            not_an_event("s3", event)
            raise
        if type(records) is not list:
            return _each(fn, event, context)
        try:
            (record,) = records  # how S3 notifies: one record per event
        except ValueError:
            return _each(fn, event, context)
        # S3Record.from_raw for a record as S3 sends it, written out here: the call would be a
        # tenth of what the event costs.
        try:
            s3 = record["s3"]
            obj = s3["object"]
            object_key = obj["key"]
            bucket_name = s3["bucket"]["name"]
            event_name = record["eventName"]
            fast = (type(record) is dict and type(object_key) is str and type(bucket_name) is str
                    and type(event_name) is str)
        except (KeyError, TypeError):
            fast = False
        if fast:
            if "%" in object_key:  # decode_s3_key, written out
                object_key = unquote_plus(object_key)
            elif "+" in object_key:
                object_key = object_key.replace("+", " ")
            built = _new(S3Record)
            built.bucket_name = bucket_name
            built.object_key = object_key
            built.event_name = event_name
            built.raw = record
            built._object = obj
            built._event_time = UNSET
        else:
            try:
                built = _s3_record(record)
            except EventError as exc:
                raise exc.at("Records[0]") from None
        result = fn(built, context)
        return result if type(result) in SETTLED else settle(result)
    return run


def _each(fn: Any, event: Mapping[str, Any], context: object) -> Any:
    built = shape.each_record(shape.records("s3", event), _s3_record)  # all checked before any runs
    results = [settle(fn(record, context)) for record in built]
    if not results:
        from flowfn.runtime import log

        log.current().info("S3 event without records: nothing to do", event_keys=sorted(event))
        return None
    return results[0] if len(results) == 1 else results
