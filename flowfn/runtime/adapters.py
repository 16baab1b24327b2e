"""One invocation, exactly as Lambda runs it: adapt the event, call the handler, shape the result.

Each trigger kind has one adapter in a typed table; the function's trigger, never the event's
shape, chooses it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flowfn.function import Handler
from flowfn.runtime import log
from flowfn.runtime.events import S3Event, S3Record, ScheduledEvent, SqsRecord
from flowfn.runtime.http import HTTPError, Request, render, render_error, validation_error
from flowfn.runtime.sqs import process_batch
from flowfn.triggers.base import Trigger
from flowfn.triggers.http import HttpTrigger
from flowfn.triggers.s3 import S3Trigger
from flowfn.triggers.schedule import ScheduleTrigger
from flowfn.triggers.sqs import SqsTrigger

__all__ = ["ADAPTERS", "dispatch"]

Adapter = Callable[[Handler, Mapping[str, Any], object], Any]

_warm: set[str] = set()


def _call(handler: Handler, first: Any, context: object) -> Any:
    result = handler.fn(*(first, context)[:handler.arity])
    if _awaitable(result):  # an ``async def`` handler: run it to completion, as Lambda has no loop
        import asyncio

        return asyncio.run(result)
    return result


def _awaitable(value: Any) -> bool:
    return hasattr(value, "__await__") and hasattr(value, "send")


def _run_s3(handler: Handler, event: Mapping[str, Any], context: object) -> Any:
    trigger = handler.trigger
    assert isinstance(trigger, S3Trigger)
    if trigger.batch:
        return _call(handler, S3Event.from_raw(event), context)
    results = [_call(handler, S3Record.from_raw(raw), context) for raw in event.get("Records") or ()]
    if not results:
        log.current().info("S3 event without records: nothing to do", event_keys=sorted(event))
        return None
    return results[0] if len(results) == 1 else results


def _report_sqs(record: SqsRecord, reason: str, exc: BaseException | None, trace: bool) -> None:
    keys: dict[str, Any] = {"message_id": record.message_id, "reason": reason,
                            "receive_count": record.receive_count}
    if record.message_group_id is not None:
        keys["message_group_id"] = record.message_group_id
    if exc is not None:
        keys["error"] = str(exc)
    message = f"SQS message {record.message_id} failed: {reason}; it is reported for retry"
    log.current().error(message, exc_info=exc if trace else None, **keys)


def _run_sqs(handler: Handler, event: Mapping[str, Any], context: object) -> Any:
    trigger = handler.trigger
    assert isinstance(trigger, SqsTrigger)
    return process_batch(trigger, lambda item: _call(handler, item, context), event, _report_sqs)


def _run_schedule(handler: Handler, event: Mapping[str, Any], context: object) -> Any:
    return _call(handler, ScheduledEvent.from_raw(event), context)


def _run_http(handler: Handler, event: Mapping[str, Any], context: object) -> Any:
    request_id = _request_id(context) or str((event.get("requestContext") or {}).get("requestId", ""))
    try:
        request = Request.from_raw(event)
        return render(_call(handler, request, context))
    except Exception as exc:
        if not validation_error(exc) and not isinstance(exc, HTTPError):
            log.current().exception(f"handler {handler.name!r} raised {type(exc).__name__}; "
                                    "answering 500")
        try:
            return render_error(exc, request_id)
        except (TypeError, ValueError) as bad:  # an HTTPError whose details are not JSON
            log.current().exception(f"cannot encode the error response: {bad}")
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
    if not isinstance(event, Mapping):
        raise TypeError(f"handler {handler.name!r}: the event is {type(event).__name__}, not a dict")
    cold = handler.name not in _warm
    _warm.add(handler.name)
    token = log.begin(log.Invocation(
        function=handler.name, trigger=handler.trigger.kind, request_id=_request_id(context),
        level=handler.settings.log_level, cold_start=cold,
    ))
    try:
        return adapter(handler, event, context)
    finally:
        log.end(token)
