"""S3 notifications: each record reaches the handler as an ``S3Record`` (or the whole ``S3Event``).

Lambda invokes an S3 function asynchronously: an exception fails the invocation, and Lambda
retries it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from flowfn.errors import EventError
from flowfn.function import Handler
from flowfn.runtime import shape
from flowfn.runtime.events import _UNSET, S3Event, S3Record
from flowfn.runtime.invoke import SETTLED, Runner, caller, not_an_event, settle
from flowfn.triggers.s3 import S3Trigger

__all__ = ["prepare_s3"]

_s3_record = S3Record.from_raw
_new = object.__new__


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
            if "%" in object_key or "+" in object_key:  # else decoding changes nothing
                object_key = unquote_plus(object_key)
            built = _new(S3Record)
            built.bucket_name = bucket_name
            built.object_key = object_key
            built.event_name = event_name
            built.raw = record
            built._object = obj
            built._event_time = _UNSET
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
