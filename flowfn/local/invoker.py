"""Invoking a handler as Lambda would: context object, environment, timeout, concurrency.

Each invocation runs in a thread of its own, in a fresh ``contextvars`` context whose environment
layer holds exactly the function's variables (see :mod:`flowfn.local.environ`), and calls
``flowfn.runtime.dispatch``: the code a deployed function runs. A function that outlives its
timeout is reported ``timeout`` and abandoned (Python cannot kill a thread; flowfn raises an
exception in it, which stops it at its next Python instruction). Reserved concurrency is a
semaphore per function: asynchronous sources wait for a slot, synchronous ones are throttled.

No failure is quiet. An exception that fails the invocation (S3, schedule) is logged as one ERROR
line with its traceback, as Lambda logs it, and a timeout with the stack it was stopped in; an
HTTP answer of 500 or more fails the invocation (the response still goes to the client); and the
record of the attempt after which an event is given up (retries spent, a message's last receive
before its DLQ) says where the event went.
"""

from __future__ import annotations

import contextvars
import ctypes
import secrets
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flowfn.app import App
from flowfn.function import Handler
from flowfn.local import environ
from flowfn.local.invocation import (
    FailedResponse,
    FunctionTimedOut,
    GivenUp,
    Invocation,
    LocalContext,
    Outcome,
)
from flowfn.local.provision import Bindings

if TYPE_CHECKING:
    from flowfn.permissions import Guard

__all__ = ["FailedResponse", "GivenUp", "Invocation", "Invoker", "LocalContext", "Outcome",
           "function_environment"]

def function_environment(app: App, handler: Handler, bindings: Bindings) -> dict[str, str]:
    """The environment of ``handler``'s function: Lambda's variables, flowfn's, the user's."""
    settings = handler.settings
    target = bindings.target
    origin = app.origin
    env = {
        **target.environment(),
        "AWS_LAMBDA_FUNCTION_NAME": settings.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(settings.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{settings.name}",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "_HANDLER": "flowfn.runtime.handler",
        "FLOWFN_APP": origin.target if origin else "",
        "FLOWFN_FUNCTION": settings.name,
        "FLOWFN_LOG_LEVEL": settings.log_level,
        **bindings.resource_env(handler),
        **settings.env,
    }
    if origin:
        env["LAMBDA_TASK_ROOT"] = origin.root
    return env


@dataclass
class _Slots:
    limit: int | None
    used: int = 0


@dataclass
class _State:
    inflight: int = 0
    generation: int = 0
    records: list[Invocation] = field(default_factory=list)


class Invoker:
    """Runs invocations of an app's handlers and keeps a record of each."""

    def __init__(self, app: App, bindings: Bindings,
                 listeners: list[Callable[[Invocation], None]] | None = None, *,
                 keep_records: bool = True) -> None:
        self.app = app
        self.bindings = bindings
        self.listeners = list(listeners or [])
        #: Whether :attr:`records` keeps every finished invocation (else it stays empty).
        self.keep_records = keep_records
        #: SQS messages whose last invocation failed: message id -> (queue ARN, receipt handle).
        self._unsettled: dict[str, tuple[str, str]] = {}
        self._cond = threading.Condition()
        self._state = _State()
        self._slots: dict[str, _Slots] = {}
        self._abandoned: list[threading.Thread] = []
        #: Seconds before each retry of a failed asynchronous (S3, schedule) invocation.
        self.async_retry_delays: tuple[float, ...] = (60.0, 120.0)
        #: Failed asynchronous events whose retry was not due yet when the run stopped:
        #: (function, event, attempts made).
        self.unretried: list[tuple[str, str, int]] = []
        #: Holds each invocation's AWS calls to its function's policy (None: unchecked).
        self.guard: Guard | None = None

    # -- concurrency ----------------------------------------------------------------------------

    def _slot(self, handler: Handler) -> _Slots:
        found = self._slots.get(handler.name)
        if found is None:
            found = self._slots[handler.name] = _Slots(handler.settings.reserved_concurrency)
        return found

    def try_acquire(self, handler: Handler) -> bool:
        """Take a concurrency slot of ``handler``'s function without waiting."""
        with self._cond:
            slot = self._slot(handler)
            if slot.limit is not None and slot.used >= slot.limit:
                return False
            slot.used += 1
            return True

    def acquire(self, handler: Handler, stop: threading.Event | None = None) -> bool:
        """Wait for a slot; False when ``stop`` is set first or the function may never run."""
        with self._cond:
            slot = self._slot(handler)
            while slot.limit is not None and slot.used >= slot.limit:
                if slot.limit == 0 or (stop is not None and stop.is_set()):
                    return False
                self._cond.wait(0.1)
            slot.used += 1
            return True

    def release(self, handler: Handler) -> None:
        """Give back a slot taken with :meth:`acquire` or :meth:`try_acquire`."""
        with self._cond:
            self._slot(handler).used -= 1
            self._cond.notify_all()

    def _begin(self) -> None:
        with self._cond:
            self._state.inflight += 1
            self._state.generation += 1

    def _end(self) -> None:
        with self._cond:
            self._state.inflight -= 1
            self._state.generation += 1
            self._cond.notify_all()

    def activity(self) -> tuple[int, int]:
        """(invocations running or handed over, a counter bumped whenever one starts or ends)."""
        with self._cond:
            return self._state.inflight, self._state.generation

    @property
    def inflight(self) -> int:
        """Invocations running now, or submitted and about to run."""
        return self.activity()[0]

    def wait_change(self, timeout: float) -> None:
        """Block until an invocation ends, :meth:`nudge` is called or ``timeout`` passes."""
        with self._cond:
            self._cond.wait(timeout)

    def nudge(self) -> None:
        """Wake those in :meth:`wait_change` now: a source has read all there is to read, so a
        drain may be over."""
        with self._cond:
            self._cond.notify_all()

    @property
    def records(self) -> list[Invocation]:
        """Every finished invocation, in the order they ended."""
        with self._cond:
            return list(self._state.records)

    def unsettled(self) -> dict[str, tuple[str, str]]:
        """The SQS messages whose last invocation failed (so a stop may find them in flight):
        message id -> (queue ARN, receipt handle)."""
        with self._cond:
            return dict(self._unsettled)

    def clear_records(self) -> None:
        with self._cond:
            self._state.records.clear()

    # -- invoking ---------------------------------------------------------------------------------

    def invoke(self, handler: Handler, event: dict[str, Any], *, source: str,
               trigger: str | None = None, slot_held: bool = False, wait: bool = True,
               final: Mapping[str, GivenUp] | None = None, hold: bool = False) -> Invocation:
        """Run one invocation and return its record.

        The caller either holds a slot (``slot_held``), or one is taken here: waiting for it when
        ``wait``, else recording a ``throttled`` invocation when none is free. ``final``: the SQS
        messages of the event that are on their last receive (by message id), and where each goes
        when it fails now; the record lists those that did fail. ``hold``: the record is not
        published yet; the caller passes it to :meth:`publish` once it knows what was given up.
        """
        kind = trigger or handler.trigger.kind
        if not slot_held:
            taken = self.acquire(handler) if wait else self.try_acquire(handler)
            if not taken:
                record = self._throttled(handler, event, source, kind)
                self._finish(record)
                return record
        self._begin()
        try:
            try:
                record = self._run(handler, event, source, kind)
            finally:
                self.release(handler)
            if final:
                gone = tuple(final[i] for i in record.failed_ids if i in final)
                record = replace(record, given_up=gone) if gone else record
            if not hold:
                self._finish(record)
            return record
        finally:
            self._end()

    def submit(self, handler: Handler, event: dict[str, Any], *, source: str,
               stop: threading.Event | None = None) -> bool:
        """Invoke asynchronously (as S3 and EventBridge do), after waiting for a slot.

        Returns False when the function cannot run (reserved concurrency 0, or ``stop`` set).
        """
        if not self.acquire(handler, stop):
            self.drop(handler, event, source)
            return False
        self._begin()
        thread = threading.Thread(target=self._async, args=(handler, event, source, stop),
                                  name=f"flowfn-async-{handler.name}", daemon=True)
        thread.start()
        return True

    def invoke_async(self, handler: Handler, event: dict[str, Any], *, source: str) -> list[Invocation]:
        """Invoke as an asynchronous source does, retries included, in this thread (flowfn.testing's
        clock fires schedules so); returns the record of each attempt."""
        if not self.acquire(handler):
            return [self.drop(handler, event, source)]
        self._begin()
        return self._attempts(handler, event, source, None)

    def _async(self, handler: Handler, event: dict[str, Any], source: str,
               stop: threading.Event | None) -> None:
        self._attempts(handler, event, source, stop)

    def _attempts(self, handler: Handler, event: dict[str, Any], source: str,
                  stop: threading.Event | None) -> list[Invocation]:
        # Called holding a slot, counted by _begin. Lambda retries a failed asynchronous
        # invocation twice, after about one and two minutes; then the event is given up. It
        # retries only what its kind has it invoke asynchronously.
        records: list[Invocation] = []
        retries = self.async_retry_delays if handler.trigger.invocation == "async" else ()
        if handler.settings.retries is not None:
            retries = retries[:handler.settings.retries]
        delays = (0.0, *retries)
        try:
            for attempt, delay in enumerate(delays):
                label = source if attempt == 0 else f"{source} (retry {attempt})"
                if attempt:
                    if stop is None:
                        time.sleep(delay)
                    stopped = stop is not None and stop.wait(delay)
                    if stopped or not self.acquire(handler, stop):
                        with self._cond:  # stopping: the retry is dropped, and said so
                            self.unretried.append((handler.name, source, attempt))
                        return records
                try:
                    record = self._run(handler, event, label, handler.trigger.kind)
                finally:
                    self.release(handler)
                if record.outcome != "ok" and attempt == len(delays) - 1:
                    spent = "retries spent" if attempt else "not retried"
                    record = replace(record, given_up=(
                        GivenUp(source, attempt + 1, self._send_failed(handler, event, record, attempt + 1),
                                spent),))
                self._finish(record)
                records.append(record)
                if record.outcome == "ok":
                    return records
            return records
        finally:
            self._end()

    def _send_failed(self, handler: Handler, event: dict[str, Any], record: Invocation, attempts: int) -> str:
        """Hand a given-up asynchronous event to the function's ``on_failure`` queue, as Lambda sends
        an invocation record to its failure destination; returns where it went."""
        queue = handler.settings.on_failure
        if queue is None:
            return "dropped"
        import json

        url = self.bindings.queue_urls[queue.logical_name]
        body = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "requestContext": {
                "requestId": record.request_id,
                "functionArn": f"arn:aws:lambda:{self.bindings.target.region}:{self.bindings.target.account}:"
                               f"function:{handler.settings.name}:$LATEST",
                "condition": "RetriesExhausted", "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                                "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": record.error_text()},
        }
        sqs = self.bindings.target.client("sqs")
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body, default=str))
        return queue.logical_name

    def drop(self, handler: Handler, event: dict[str, Any], source: str) -> Invocation:
        """Record an asynchronous event the function cannot take (reserved concurrency 0, or the
        run stopping while it waited) as throttled and given up; returns the record."""
        record = self._throttled(handler, event, source, handler.trigger.kind)
        reason = ("reserved concurrency is 0" if handler.settings.reserved_concurrency == 0
                  else "stopping")
        record = replace(record, given_up=(GivenUp(source, 0, "dropped", reason),))
        self._finish(record)
        return record

    def expire(self, handler: Handler, event: dict[str, Any], source: str, given: GivenUp) -> Invocation:
        """Record stream records given up without an invocation (older than ``max_record_age_s``):
        an ``expired`` record saying where they went; returns it."""
        record = Invocation(handler.name, handler.trigger.kind, source, event, None, None, "expired", "",
                            datetime.now(UTC), 0.0, (given,))
        self._finish(record)
        return record

    @staticmethod
    def _throttled(handler: Handler, event: dict[str, Any], source: str, kind: str) -> Invocation:
        error = RuntimeError(f"function {handler.name!r} is throttled: its reserved concurrency "
                             f"({handler.settings.reserved_concurrency}) is in use")
        return Invocation(handler.name, kind, source, event, None, error, "throttled", "",
                          datetime.now(UTC), 0.0)

    def publish(self, record: Invocation) -> None:
        """Record an invocation run with ``hold`` (and tell the listeners)."""
        self._finish(record)

    def _finish(self, record: Invocation) -> None:
        with self._cond:
            if self.keep_records:
                self._state.records.append(record)
            if record.trigger == "sqs":
                self._settle(record)
            self._cond.notify_all()
        for listener in self.listeners:
            listener(record)

    def _settle(self, record: Invocation) -> None:
        """Note which of an SQS invocation's messages it failed (the caller holds ``_cond``)."""
        failed = set(record.failed_ids)
        for item in record.event.get("Records", ()):
            message = item.get("messageId")
            if message in failed:
                self._unsettled[message] = (item.get("eventSourceARN", ""), item.get("receiptHandle", ""))
            else:
                self._unsettled.pop(message, None)

    def _run(self, handler: Handler, event: dict[str, Any], source: str, kind: str) -> Invocation:
        from flowfn.runtime import dispatch

        settings = handler.settings
        target = self.bindings.target
        request_id = str(uuid.uuid4())
        started = datetime.now(UTC)
        begin = time.monotonic()
        context = LocalContext(
            function_name=settings.name,
            memory_limit_in_mb=settings.memory_mb,
            invoked_function_arn=f"arn:aws:lambda:{target.region}:{target.account}:function:{settings.name}",
            aws_request_id=request_id,
            log_group_name=f"/aws/lambda/{settings.name}",
            log_stream_name=f"{started:%Y/%m/%d}/[$LATEST]{secrets.token_hex(16)}",
            deadline=begin + settings.timeout_s,
        )
        env = function_environment(self.app, handler, self.bindings)
        outcome: dict[str, Any] = {}
        done = threading.Event()

        guard = self.guard

        def body() -> None:
            with environ.layer(env), guard.scope(handler) if guard is not None else nullcontext():
                try:
                    outcome["result"] = dispatch(handler, event, context)
                except FunctionTimedOut:
                    pass
                except BaseException as exc:  # the function failed, as Lambda reports it
                    outcome["error"] = exc
                    _log_failure(handler, context, exc)
                finally:
                    done.set()

        thread = threading.Thread(target=contextvars.Context().run, args=(body,),
                                  name=f"flowfn-{settings.name}", daemon=True)
        thread.start()
        finished = done.wait(settings.timeout_s)
        duration = (time.monotonic() - begin) * 1000
        if not finished:
            stack = _stack_of(thread)
            _interrupt(thread)
            with self._cond:
                self._abandoned.append(thread)
            error: BaseException | None = TimeoutError(
                f"Task timed out after {settings.timeout_s:.2f} seconds")
            _log_error(handler, context, f"{error} (where the handler was under 'exception')",
                       {"exception": stack, "exception_name": "TimeoutError"})
            return Invocation(settings.name, kind, source, event, None, error, "timeout", request_id,
                              started, duration)
        error = outcome.get("error")
        result = outcome.get("result")
        status: Outcome = "error" if error is not None else "ok"
        if error is None and isinstance(result, dict):
            if result.get("batchItemFailures"):
                status = "partial"
            elif handler.trigger.invocation == "sync" and _status(result) >= 500:
                # The caller (API Gateway) gets the answer; the invocation failed all the same.
                status, error = "error", FailedResponse(f"HTTP {_status(result)}")
        return Invocation(settings.name, kind, source, event, result, error, status, request_id,
                          started, duration)

    def join_abandoned(self, timeout: float) -> list[str]:
        """Wait up to ``timeout`` for timed-out handlers to stop; names of those still running."""
        deadline = time.monotonic() + timeout
        with self._cond:
            threads = list(self._abandoned)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._cond:
            self._abandoned = [t for t in self._abandoned if t.is_alive()]
            return [t.name for t in self._abandoned]


def _status(response: dict[str, Any]) -> int:
    try:
        return int(response.get("statusCode", 200))
    except (TypeError, ValueError):
        return 200


def _log_failure(handler: Handler, context: LocalContext, exc: BaseException) -> None:
    """One ERROR line with the traceback, as Lambda logs an exception a handler lets out."""
    from flowfn.runtime.stack import exception_keys

    _log_error(handler, context, f"handler {handler.name!r} raised {type(exc).__name__}; the invocation "
               "failed (traceback under 'exception')", exception_keys(exc))


def _log_error(handler: Handler, context: LocalContext, message: str, keys: dict[str, Any]) -> None:
    """An ERROR line in the invocation's log (its function, request id and trigger)."""
    from flowfn.runtime import log

    token = log.invocation_var.set((handler, context, False))
    try:
        log.current().error(message, **keys)
    finally:
        log.invocation_var.reset(token)


def _stack_of(thread: threading.Thread) -> str:
    """Where ``thread`` is now, as a traceback reads (most recent call last)."""
    frame = sys._current_frames().get(thread.ident or -1)
    if frame is None:
        return ""
    return "Stack (most recent call last):\n" + "".join(traceback.format_stack(frame)).rstrip("\n")


def _interrupt(thread: threading.Thread) -> None:
    """Raise FunctionTimedOut in ``thread`` at its next Python instruction."""
    if thread.ident is None or not thread.is_alive():
        return
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident),
                                               ctypes.py_object(FunctionTimedOut))
