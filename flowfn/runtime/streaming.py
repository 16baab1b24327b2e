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

With a tumbling window the event also carries the window, the ``state`` the window's previous
invocation returned and ``isFinalInvokeForWindow``; the batch hands them over (``window``,
``state``, ``is_final``) and the response returns ``state`` beside ``batchItemFailures`` (Lambda
counts a response without it as a failed invocation). A state that is not a JSON object, or is
larger than Lambda's 1 MB, fails the invocation with :class:`WindowStateError` rather than
being cut short or lost.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from flowfn.errors import EventError, FlowfnError
from flowfn.function import Handler
from flowfn.runtime import log, shape
from flowfn.runtime.invoke import call
from flowfn.runtime.stack import exception_keys

__all__ = ["StreamBatch", "StreamRecord", "StreamRecordFailed", "Window", "WindowStateError",
           "process_stream"]

#: The largest window state Lambda carries (1 MB per shard), as JSON bytes.
MAX_STATE_BYTES = 1_048_576


class Window(NamedTuple):
    """A tumbling window: when it starts and ends (UTC)."""

    start: datetime
    end: datetime


class WindowStateError(FlowfnError, ValueError):
    """A tumbling window's state that Lambda cannot carry to the next invocation."""

    def __init__(self, handler: str, problem: str, fix: str) -> None:
        super().__init__(f"handler {handler!r}: batch.state {problem}, so the window's next invocation "
                         f"could not get it back; the invocation fails. Fix: {fix}")


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
    shard delivered again (or return Lambda's own ``{"batchItemFailures": [{"itemIdentifier":
    record.sequence_number}]}``, read by Lambda's rules: an identifier that names no record of the
    batch fails all of it); raising fails the invocation, and Lambda retries the whole batch
    (halving it first with ``bisect_on_error``). With ``model=`` on the trigger, ``models`` holds
    each record's validated model, in order.

    With ``tumbling_window_s=`` on the trigger, ``window`` is the batch's :class:`Window` (None
    without one), ``state`` the dict the window's previous invocation left (``{}`` at its first):
    change it, or assign a new dict, and the window's next invocation gets it. The window's last
    invocation, made when it ends (usually with no records), has ``is_final``; the state is
    dropped after it. A per-key sum, written out once per window::

        @on_kinesis(clicks, batch=True, tumbling_window_s=60)
        def per_minute(batch: KinesisBatch) -> None:
            for record in batch:
                key = record.partition_key
                batch.state[key] = batch.state.get(key, 0) + 1
            if batch.is_final:
                save_totals(batch.window.start, batch.state)

    The state travels as JSON (keys come back as strings; no ``Decimal``) and holds up to 1 MB.
    A record you ``fail`` is delivered again with the state returned beside the report, so add
    to it only the records you do not fail; when the invocation raises, the retry gets the state
    the failed invocation got.
    """

    __slots__ = ("_failed", "is_final", "models", "raw", "records", "state", "terminated_early", "window")

    def __init__(self, records: tuple[Any, ...], raw: Mapping[str, Any],
                 models: tuple[Any, ...] | None) -> None:
        self.records = records
        self.models = models
        self.raw = raw
        self._failed: dict[str, None] = {}
        #: The tumbling window of the batch (None when the mapping has none).
        self.window: Window | None = None
        #: The window's state so far; what the batch holds here when the handler returns goes on.
        self.state: dict[str, Any] = {}
        #: The window's last invocation: it has ended, and its state is dropped after this one.
        self.is_final = False
        #: Lambda ended the window before its time (its state grew past 1 MB).
        self.terminated_early = False

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


def _report(name: str, kind: str, record: Any, reason: str, exc: BaseException | None, trace: bool) -> None:
    keys: dict[str, Any] = {"sequence_number": record.sequence_number, "reason": reason}
    message = (f"handler {name!r}: {kind} record {record.sequence_number} failed: {reason}; it and the "
               "records after it in its shard are retried")
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
        windowed = bool(getattr(trigger, "tumbling_window_s", 0))
        state = _window_state(kind, event) if windowed else {}
        models: list[Any] = []
        for record in records:
            if model is not None:
                try:
                    models.append(_validate(model, record))
                except Exception as exc:
                    _fail(handler.name, trigger, kind, records, record, _mismatch(model, exc), exc,
                          not isinstance(exc, ValueError))
                    return _with_state(_response(record), windowed, state, handler.name)
        batch = batch_class(records, event, tuple(models) if model is not None else None)
        if windowed:
            _open_window(kind, event, batch, state)
        result = call(handler, batch, context)  # raising fails the invocation: a function error to Lambda
        marked = set(batch.failed)
        answered = _answered(handler.name, kind, records, result)
        for index, record in enumerate(records):
            if index == answered or record.sequence_number in marked:
                if index != answered:
                    _report(handler.name, kind, record, "reported failed by the batch handler", None, False)
                return _with_state(_response(record), windowed, batch.state, handler.name)
        return _with_state(_response(None), windowed, batch.state, handler.name)
    for record in records:
        try:
            item = record if model is None else _validate(model, record)
        except Exception as exc:
            _fail(handler.name, trigger, kind, records, record, _mismatch(model, exc), exc,
                  not isinstance(exc, ValueError))
            failed = record
            break
        try:
            call(handler, item, context)
        except Exception as exc:
            _fail(handler.name, trigger, kind, records, record, f"handler raised {type(exc).__name__}", exc,
                  True)
            failed = record
            break
    return _response(failed)


def _fail(name: str, trigger: Any, kind: str, records: tuple[Any, ...], record: Any, reason: str,
          exc: Exception, trace: bool) -> None:
    """A record failed: log it for the partial response, or, when it is the first of a batch of
    more than one under ``bisect_on_error``, fail the invocation so that Lambda halves the batch."""
    if trigger.bisect_on_error and len(records) > 1 and record is records[0]:
        raise StreamRecordFailed(kind, record.sequence_number, len(records),
                                 f"{reason}: {exc}" if str(exc) else reason) from exc
    _report(name, kind, record, reason, exc, trace)


def _mismatch(model: Any, exc: Exception) -> str:
    """Why a record failed ``model``: its name and the first fields pydantic found wrong."""
    reason = f"record does not match {model.__name__}"
    errors = getattr(exc, "errors", None)
    try:
        found = errors() if callable(errors) else None
    except Exception:  # not pydantic's: its text is logged beside the reason
        found = None
    if not found:
        return f"{reason} ({exc})" if str(exc) else reason
    parts = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}".lstrip(": ")
             for e in found[:3]]
    more = f"; {len(found) - 3} more" if len(found) > 3 else ""
    return f"{reason} ({'; '.join(parts)}{more})"


def _answered(name: str, kind: str, records: tuple[Any, ...], result: Any) -> int | None:
    """Where the retry starts by what a ``batch=True`` handler returned, read as Lambda reads a
    function's ``{"batchItemFailures": [{"itemIdentifier": ...}]}``: None for success (no such
    key, or an empty or null list), else the position of the lowest record reported. What Lambda
    cannot take (an identifier empty, null or not in the batch, a list that is not one, an entry
    that is not an object) fails the whole batch: position 0, logged naming the handler."""
    if type(result) is not dict or not records:
        return None
    failures = result.get("batchItemFailures")
    if failures is None or failures == []:
        return None
    positions = {r.sequence_number: i for i, r in enumerate(records)}
    problem = None
    found: list[int] = []
    if not isinstance(failures, list):
        problem = f"batchItemFailures is a {type(failures).__name__}, not a list"
    else:
        for at, entry in enumerate(failures):
            ident = entry.get("itemIdentifier") if isinstance(entry, dict) else None
            if not isinstance(entry, dict):
                problem = f"batchItemFailures[{at}] is a {type(entry).__name__}, not an object"
            elif isinstance(ident, str) and ident in positions:
                found.append(positions[ident])
                continue
            elif "itemIdentifier" not in entry:
                problem = f"batchItemFailures[{at}] has no itemIdentifier"
            elif ident is None or ident == "":
                problem = f"batchItemFailures[{at}].itemIdentifier is {ident!r}"
            else:
                problem = (f"batchItemFailures[{at}].itemIdentifier {ident!r} is not the sequence number "
                           "of a record of this batch")
            break
    if problem is None:
        return min(found)
    log.current().error(
        f"handler {name!r}: {problem}, so Lambda fails the whole batch: it is retried from its first "
        f"{kind} record. Fix: return {{'batchItemFailures': [{{'itemIdentifier': record.sequence_number}}]}} "
        "naming records of the batch, or call batch.fail(record)",
        sequence_number=records[0].sequence_number, reason=problem)
    return 0


def _window_state(kind: str, event: Mapping[str, Any]) -> dict[str, Any]:
    state = event.get("state")
    if state is None:
        return {}
    if not isinstance(state, dict):
        raise EventError(kind, "state", f"must be an object, got {type(state).__name__}")
    return dict(state)  # the handler's to change; the event keeps what came in


def _open_window(kind: str, event: Mapping[str, Any], batch: StreamBatch, state: dict[str, Any]) -> None:
    """Hand the event's tumbling-window fields to the batch (an event without them: no window)."""
    batch.state = state
    window = event.get("window")
    if window is None:
        return
    times = shape.mapping(kind, "window", window)
    batch.window = Window(_time(kind, "start", times), _time(kind, "end", times))
    batch.is_final = event.get("isFinalInvokeForWindow") is True
    batch.terminated_early = event.get("isWindowTerminatedEarly") is True


def _time(kind: str, key: str, window: Mapping[str, Any]) -> datetime:
    try:
        found = shape.parse_time(shape.text(kind, f"window.{key}", window.get(key)))
    except ValueError:
        found = None
    if found is None:
        raise EventError(kind, f"window.{key}", f"must be an ISO-8601 time, got {window.get(key)!r}")
    return found


def _with_state(response: dict[str, Any], windowed: bool, state: Any, handler: str) -> dict[str, Any]:
    """The response of a windowed mapping carries the state on (Lambda's TimeWindowEventResponse)."""
    if not windowed:
        return response
    if not isinstance(state, dict):
        raise WindowStateError(handler, f"is a {type(state).__name__}, not a dict",
                               "keep batch.state a dict (assign batch.state = {...} or change it in place)")
    try:
        size = len(json.dumps(state, allow_nan=False, separators=(",", ":")).encode())
    except (TypeError, ValueError) as exc:
        raise WindowStateError(handler, f"is not JSON ({exc})", "keep only strings, numbers, booleans, "
                               "None, lists and dicts in it (convert a DynamoDB Decimal with int() or "
                               "float(), a datetime with .isoformat())") from None
    if size > MAX_STATE_BYTES:
        raise WindowStateError(handler, f"is {size:,} bytes as JSON, past Lambda's 1 MB "
                               f"({MAX_STATE_BYTES:,} bytes) per shard",
                               "keep a smaller aggregate (counts or sums per key, not the records), or "
                               "a shorter tumbling_window_s")
    return {"state": state, **response}


def _response(failed: Any) -> dict[str, Any]:
    if failed is None:
        return {"batchItemFailures": []}
    return {"batchItemFailures": [{"itemIdentifier": failed.sequence_number}]}
