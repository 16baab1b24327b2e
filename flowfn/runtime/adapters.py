"""One invocation, exactly as Lambda runs it: adapt the event, call the handler, shape the result.

Each trigger kind has one adapter in a typed table; the function's trigger, never the event's
shape, chooses it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flowfn.errors import EventError
from flowfn.function import Handler
from flowfn.runtime import log, shape
from flowfn.runtime.events import S3Event, S3Record, ScheduledEvent, SqsRecord
from flowfn.runtime.http import HTTPError, Request, render, render_error, request_id_of, validation_error
from flowfn.runtime.invoke import call
from flowfn.runtime.sqs import process_batch
from flowfn.runtime.stack import exception_keys
from flowfn.triggers.base import Trigger
from flowfn.triggers.http import HttpTrigger
from flowfn.triggers.s3 import S3Trigger
from flowfn.triggers.schedule import ScheduleTrigger
from flowfn.triggers.sqs import SqsTrigger

__all__ = ["ADAPTERS", "dispatch"]

Adapter = Callable[[Handler, Mapping[str, Any], object], Any]

_s3_record = S3Record.from_raw


def _run_s3(handler: Handler, event: Mapping[str, Any], context: object) -> Any:
    trigger: S3Trigger = handler.trigger  # type: ignore[assignment]  # ADAPTERS chose by its type
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


def _report_sqs(record: SqsRecord, reason: str, exc: BaseException | None, trace: bool) -> None:
    keys: dict[str, Any] = {"message_id": record.message_id, "reason": reason,
                            "receive_count": record.receive_count}
    if record.message_group_id is not None:
        keys["message_group_id"] = record.message_group_id
    message = f"SQS message {record.message_id} failed: {reason}; it is reported for retry"
    if exc is not None:
        keys["error"] = str(exc)
        if trace:
            keys.update(exception_keys(exc))
            message += " (traceback under 'exception')"
    log.current().error(message, **keys)


def _run_sqs(handler: Handler, event: Mapping[str, Any], context: object) -> Any:
    return process_batch(handler, event, context, _report_sqs)


def _run_schedule(handler: Handler, event: Mapping[str, Any], context: object) -> Any:
    return call(handler, ScheduledEvent.from_raw(event), context)


def _run_http(handler: Handler, event: Mapping[str, Any], context: object) -> Any:
    try:
        request = Request.from_raw(event)  # a malformed event raises EventError: no request to answer
    except HTTPError as exc:  # a body that cannot be read: 400
        return render_error(exc, _request_id(context) or request_id_of(event))
    request_id = _request_id(context) or request.request_id
    try:
        return render(call(handler, request, context))
    except Exception as exc:
        if not validation_error(exc) and not isinstance(exc, HTTPError):
            log.current().error(f"handler {handler.name!r} raised {type(exc).__name__}; answering 500 "
                                "(traceback under 'exception')", **exception_keys(exc))
        try:
            return render_error(exc, request_id)
        except (TypeError, ValueError) as bad:  # an HTTPError whose details are not JSON
            log.current().error(f"cannot encode the error response: {bad} (traceback under 'exception')",
                                **exception_keys(bad))
            return render_error(RuntimeError(), request_id)


#: How each trigger kind runs: a new kind adds one entry.
ADAPTERS: dict[type[Trigger], Adapter] = {
    S3Trigger: _run_s3,
    SqsTrigger: _run_sqs,
    ScheduleTrigger: _run_schedule,
    HttpTrigger: _run_http,
}


def _request_id(context: object) -> str:
    return str(getattr(context, "aws_request_id", "") or "")


_set, _reset = log.invocation_var.set, log.invocation_var.reset
_warm = log.warm


def dispatch(handler: Handler, event: dict[str, Any], context: object) -> Any:
    """Run one invocation of ``handler`` as Lambda would, and return what Lambda returns.

    SQS: ``{"batchItemFailures": [...]}``. HTTP: an HTTP API payload 2.0 response (handler errors
    become 4xx/5xx responses). S3 and schedule: the handler's return value (a list, one per
    record, for an S3 event of several records); their exceptions propagate, failing the
    invocation so Lambda retries it.
    """
    adapter = ADAPTERS.get(type(handler.trigger))
    if adapter is None:
        raise TypeError(
            f"handler {handler.name!r}: flowfn's runtime cannot run a {type(handler.trigger).__name__}; "
            f"it runs {', '.join(t.__name__ for t in ADAPTERS)}"
        )
    if type(event) is not dict and not isinstance(event, Mapping):
        raise EventError(handler.trigger.kind, "", f"must be an object (a dict), got {type(event).__name__}")
    # What this invocation's log lines carry; their keys are worked out only when one is written.
    name = handler.settings.name
    cold = name not in _warm
    if cold:
        _warm.add(name)
    token = _set((handler, context, cold))
    try:
        return adapter(handler, event, context)
    finally:
        _reset(token)
