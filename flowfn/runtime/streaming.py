"""Stream batches (Kinesis, DynamoDB Streams) with Lambda's partial batch response.

Lambda checkpoints a shard at the lowest sequence number reported failed: that record and every
record after it are delivered again, as a batch of their own. So the loop stops at the first
record that fails (running later ones would only run them twice) and reports it; a ``batch=True``
handler reports records with ``batch.fail`` (the lowest counts). A ``batch=True`` handler that
raises fails the invocation: Lambda sees a function error, and retries the whole batch (halved
first with ``bisect_on_error``).

Lambda halves a batch (``BisectBatchOnFunctionError``) only on a function error, never on a
partial response. After a partial failure the retry starts at the failed record, so a record that
always fails is then the first of its batch, and reporting it again would only retry the same
batch until ``max_retries`` gives it up with every record after it, unhandled. So with
``bisect_on_error``, a per-record handler (or model) failing the FIRST record of a batch of more
than one fails the invocation instead (:class:`StreamRecordFailed`, chained to the error): Lambda
halves the batch down to that record alone, and only it reaches the on-failure queue. Any other
failing record is reported in the partial response. The retry after that report counts against
``max_retries``: with ``max_retries=0`` the batch from the failed record on is given up at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from flowfn.errors import FlowfnError
from flowfn.function import Handler
from flowfn.runtime import log, shape
from flowfn.runtime.invoke import call
from flowfn.runtime.stack import exception_keys

__all__ = ["StreamBatch", "StreamRecord", "StreamRecordFailed", "process_stream"]


class StreamRecordFailed(FlowfnError, RuntimeError):
    """The first record of a batch failed under ``bisect_on_error``: the invocation fails (its
    cause is the handler's or the model's error) so that Lambda halves the batch."""

    def __init__(self, kind: str, sequence_number: str, size: int, reason: str) -> None:
        self.kind = kind
        self.sequence_number = sequence_number
        super().__init__(
            f"{kind} record {sequence_number}, the first of a batch of {size}, failed: {reason}. The "
            "invocation fails so that Lambda halves the batch (bisect_on_error) until the record is "
            "alone; after max_retries only it goes to the on-failure queue. Fix: the cause (the error "
            "above) in the handler, or the record's data"
        )


class StreamRecord(Protocol):
    """What the loop reads of a record."""

    @property
    def sequence_number(self) -> str: ...

    def model_input(self) -> tuple[str, Any]: ...


class StreamBatch:
    """A batch of stream records, as a ``batch=True`` handler receives it.

    Return to acknowledge it; :meth:`fail` a record to have it and every later record of the
    shard delivered again; raising fails the invocation, and Lambda retries the whole batch
    (halving it first with ``bisect_on_error``). With ``model=`` on the trigger, ``models`` holds
    each record's validated model, in order.
    """

    __slots__ = ("_failed", "models", "raw", "records")

    def __init__(self, records: tuple[Any, ...], raw: Mapping[str, Any],
                 models: tuple[Any, ...] | None) -> None:
        self.records = records
        self.models = models
        self.raw = raw
        self._failed: dict[str, None] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.records)} records, {len(self._failed)} failed)"

    def __iter__(self) -> Iterator[Any]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def fail(self, record: Any) -> None:
        """Report a record (or its sequence number) failed: it and the later ones are retried."""
        number = record if isinstance(record, str) else record.sequence_number
        if number not in {r.sequence_number for r in self.records}:
            raise ValueError(f"record {number!r} is not in this batch; pass one of batch.records")
        self._failed[number] = None

    @property
    def failed(self) -> tuple[str, ...]:
        """Sequence numbers reported failed so far."""
        return tuple(self._failed)


def _report(kind: str, record: Any, reason: str, exc: BaseException | None, trace: bool) -> None:
    keys: dict[str, Any] = {"sequence_number": record.sequence_number, "reason": reason}
    message = (f"{kind} record {record.sequence_number} failed: {reason}; it and the records after it "
               "in its shard are retried")
    if exc is not None:
        keys["error"] = str(exc)
        if trace:
            keys.update(exception_keys(exc))
            message += " (traceback under 'exception')"
    log.current().error(message, **keys)


def _validate(model: Any, record: Any) -> Any:
    how, value = record.model_input()
    return model.model_validate_json(value) if how == "json" else model.model_validate(value)


def process_stream(
    handler: Handler, event: Mapping[str, Any], context: object, kind: str,
    build: Callable[[Any], Any], batch_class: type[StreamBatch],
) -> dict[str, Any]:
    """Run a stream handler over ``event``; return ``{"batchItemFailures": [...]}`` (at most one: the
    lowest failed record, from which Lambda retries). A ``batch=True`` handler's exception
    propagates, and so does :class:`StreamRecordFailed` (see the module's docstring): the
    invocation fails."""
    trigger: Any = handler.trigger
    records = tuple(shape.each_record(shape.records(kind, event), build))
    model = trigger.model
    failed: Any = None
    if trigger.batch:
        models: list[Any] = []
        for record in records:
            if model is not None:
                try:
                    models.append(_validate(model, record))
                except Exception as exc:
                    _fail(trigger, kind, records, record, f"record does not match {model.__name__}", exc,
                          not isinstance(exc, ValueError))
                    return _response(record)
        batch = batch_class(records, event, tuple(models) if model is not None else None)
        call(handler, batch, context)  # raising fails the invocation: a function error to Lambda
        marked = set(batch.failed)
        for record in records:
            if record.sequence_number in marked:
                _report(kind, record, "reported failed by the batch handler", None, False)
                return _response(record)
        return _response(None)
    for record in records:
        try:
            item = record if model is None else _validate(model, record)
        except Exception as exc:
            _fail(trigger, kind, records, record, f"record does not match {model.__name__}", exc,
                  not isinstance(exc, ValueError))
            failed = record
            break
        try:
            call(handler, item, context)
        except Exception as exc:
            _fail(trigger, kind, records, record, f"handler raised {type(exc).__name__}", exc, True)
            failed = record
            break
    return _response(failed)


def _fail(trigger: Any, kind: str, records: tuple[Any, ...], record: Any, reason: str, exc: Exception,
          trace: bool) -> None:
    """A record failed: log it for the partial response, or, when it is the first of a batch of
    more than one under ``bisect_on_error``, fail the invocation so that Lambda halves the batch."""
    if trigger.bisect_on_error and len(records) > 1 and record is records[0]:
        raise StreamRecordFailed(kind, record.sequence_number, len(records),
                                 f"{reason}: {exc}" if str(exc) else reason) from exc
    _report(kind, record, reason, exc, trace)


def _response(failed: Any) -> dict[str, Any]:
    if failed is None:
        return {"batchItemFailures": []}
    return {"batchItemFailures": [{"itemIdentifier": failed.sequence_number}]}
