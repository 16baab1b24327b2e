"""SQS batches with partial failure reporting (Lambda's ``ReportBatchItemFailures``).

A message whose handler raises, or whose body fails the model, is reported in
``batchItemFailures`` and comes back later; the rest are acknowledged. In a FIFO queue a failure
also reports every later message of the same message group, unprocessed, so the group keeps its
order; other groups go on. Every failure is logged with its message id and reason.

This is flowfn's own loop rather than Powertools' batch utility: importing that utility costs about
100 ms on a cold start, more than the whole runtime may take, for a loop this size.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

from flowfn.function import Handler
from flowfn.runtime import shape
from flowfn.runtime.events import SqsBatch, SqsRecord
from flowfn.runtime.invoke import SETTLED, Runner, call, caller, not_an_event, settle
from flowfn.triggers.sqs import SqsTrigger

__all__ = ["prepare_sqs", "process_batch", "run_sqs"]

#: Logs one failed message: (record, reason, exception or None, whether to log its traceback).
Report = Callable[[SqsRecord, str, BaseException | None, bool], None]


def _is_fifo(trigger: SqsTrigger, records: tuple[SqsRecord, ...]) -> bool:
    if trigger.queue.fifo:
        return True
    if not records:
        return False
    arn = records[0]._source.get("eventSourceARN")  # its queue_arn, read directly when it is text
    return (arn if type(arn) is str else records[0].queue_arn).endswith(".fifo")


class _Failures:
    """Failed message ids in batch order, and the FIFO groups that stopped."""

    def __init__(self, fifo: bool, report: Report) -> None:
        self.fifo = fifo
        self.report = report
        self.ids: dict[str, None] = {}
        self.stopped: dict[str, str] = {}  # group -> message id that stopped it

    def blocked(self, record: SqsRecord) -> bool:
        """True (and reported) when an earlier message of the record's FIFO group failed."""
        group = record.message_group_id
        if group is None or group not in self.stopped:
            return False
        self.ids[record.message_id] = None
        self.report(record, f"held back: message {self.stopped[group]} of FIFO group {group!r} "
                    "failed before it", None, False)
        return True

    def fail(self, record: SqsRecord, reason: str, exc: BaseException | None, trace: bool = True) -> None:
        self.ids[record.message_id] = None
        if self.fifo:
            group = record.message_group_id
            if group is not None:
                self.stopped.setdefault(group, record.message_id)
        self.report(record, reason, exc, trace and exc is not None)

    def response(self) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": i} for i in self.ids]}


#: What _validate returns for a body that failed the model (already reported).
_INVALID: Any = object()


def _validate(model: Any, record: SqsRecord, failures: _Failures) -> Any:
    try:
        return model.model_validate_json(record.body)
    except Exception as exc:  # ValidationError, or whatever a validator raised
        failures.fail(record, f"body does not match {model.__name__}", exc,
                      trace=not isinstance(exc, ValueError))
        return _INVALID


def process_batch(
    handler: Handler, event: Mapping[str, Any], context: object, report: Report
) -> dict[str, Any]:
    """Run ``handler`` (an SQS trigger's) over an SQS event and return Lambda's partial batch response."""
    return _process(handler, caller(handler), event, context, report)


def _process(handler: Handler, fn: Callable[[Any, object], Any], event: Mapping[str, Any], context: object,
             report: Report) -> dict[str, Any]:
    trigger: SqsTrigger = handler.trigger  # type: ignore[assignment]  # an SQS handler's
    records = SqsRecord.each(shape.records("sqs", event))
    failures = _Failures(_is_fifo(trigger, records), report)
    model = trigger.model
    if trigger.batch:
        _run_batch(handler, model, event, context, records, failures)
        return failures.response()
    stopped = failures.stopped
    if model is None:  # the loop below without a model's checks, the common case
        for record in records:
            if stopped and failures.blocked(record):
                continue
            try:
                result = fn(record, context)
                if type(result) not in SETTLED:
                    settle(result)
            except Exception as exc:
                failures.fail(record, f"handler raised {type(exc).__name__}", exc)
        return failures.response()
    for record in records:
        if stopped and failures.blocked(record):
            continue
        item = _validate(model, record, failures)
        if item is _INVALID:
            continue
        try:
            result = fn(item, context)
            if type(result) not in SETTLED:
                settle(result)
        except Exception as exc:
            failures.fail(record, f"handler raised {type(exc).__name__}", exc)
    return failures.response()


def _run_batch(
    handler: Handler,
    model: Any,
    event: Mapping[str, Any],
    context: object,
    records: tuple[SqsRecord, ...],
    failures: _Failures,
) -> None:
    accepted: list[SqsRecord] = []
    models: list[Any] = []
    for record in records:
        if failures.blocked(record):
            continue
        if model is not None:
            parsed = _validate(model, record, failures)
            if parsed is _INVALID:
                continue
            models.append(parsed)
        accepted.append(record)
    if not accepted:
        return
    batch = SqsBatch(tuple(accepted), event, tuple(models) if model is not None else None)
    try:
        call(handler, batch, context)
    except Exception as exc:
        reason = f"batch handler raised {type(exc).__name__}"
        failures.fail(accepted[0], reason, exc)
        for record in accepted[1:]:
            failures.fail(record, f"{reason} (logged with message {accepted[0].message_id})", None)
        return
    marked = set(batch.failed)
    for record in accepted:
        if failures.blocked(record):
            continue
        if record.message_id in marked:
            failures.fail(record, "reported failed by the batch handler", None)


def _report_sqs(record: SqsRecord, reason: str, exc: BaseException | None, trace: bool) -> None:
    message_id = record.message_id
    keys: dict[str, Any] = {"message_id": message_id, "reason": reason, "receive_count": record.receive_count}
    group = record.message_group_id
    if group is not None:
        keys["message_group_id"] = group
    errorlog = _errorlog[0] if _errorlog else _load_errorlog()
    if exc is None:
        trace = False
    else:
        keys["error"] = errorlog.exception_text(exc)
    errorlog.error(f"SQS message {message_id} failed: {reason}; it is reported for retry"
                   f"{_TRACED if trace else ''}", keys, sys._getframe(), exc if trace else None)


_TRACED = " (traceback under 'exception')"


_errorlog: list[Any] = []


def _load_errorlog() -> Any:
    # On a batch's first failure, not on every cold start.
    from flowfn.runtime import errorlog

    _errorlog[:] = [errorlog]
    return errorlog


def run_sqs(handler: Handler, event: Mapping[str, Any], context: object) -> Any:
    """The SQS adapter: the batch, with each failed message logged and reported for retry."""
    return process_batch(handler, event, context, _report_sqs)


def prepare_sqs(handler: Handler) -> Runner:
    """The sqs adapter: what runs each event of ``handler``."""
    fn = caller(handler)

    def run(event: Mapping[str, Any], context: object) -> Any:
        if type(event) is not dict:
            not_an_event("sqs", event)
        return _process(handler, fn, event, context, _report_sqs)
    return run
