"""S3 notifications: each record reaches the handler as an ``S3Record`` (or the whole ``S3Event``).

Lambda invokes an S3 function asynchronously: an exception fails the invocation, and Lambda
retries it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowfn.errors import EventError
from flowfn.function import Handler
from flowfn.runtime import log, shape
from flowfn.runtime.events import S3Event, S3Record
from flowfn.runtime.invoke import call
from flowfn.triggers.s3 import S3Trigger

__all__ = ["run_s3"]

_s3_record = S3Record.from_raw


def run_s3(handler: Handler, event: Mapping[str, Any], context: object) -> Any:
    trigger: S3Trigger = handler.trigger  # type: ignore[assignment]  # ADAPTERS chose by its kind
    if trigger.batch:
        return call(handler, S3Event.from_raw(event), context)
    records = event.get("Records")
    if type(records) is list and len(records) == 1 and type(records[0]) is dict:
        # How S3 notifies: one record per event.
        try:
            record = _s3_record(records[0])
        except EventError as exc:
            raise exc.at("Records[0]") from None
        return call(handler, record, context)
    built = shape.each_record(shape.records("s3", event), _s3_record)  # all checked before any runs
    results = [call(handler, record, context) for record in built]
    if not results:
        log.current().info("S3 event without records: nothing to do", event_keys=sorted(event))
        return None
    return results[0] if len(results) == 1 else results
