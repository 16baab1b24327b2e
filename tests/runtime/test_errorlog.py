"""The ERROR line of a failed SQS message: written directly, the same bytes Powertools writes."""

from __future__ import annotations

import datetime
import enum
import itertools
import json
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from flowfn import App, Queue, ScheduledEvent, SqsRecord
from flowfn.runtime import dispatch, errorlog, log
from flowfn.runtime.log import current
from flowfn.runtime.stack import exception_keys, format_exception

_names = itertools.count()


class Ctx:
    def __init__(self, request_id: Any) -> None:
        self.aws_request_id = request_id


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no")


class Level(enum.IntEnum):
    HIGH = 3


def _raised(fn: Callable[[], Any]) -> BaseException:
    try:
        fn()
    except Exception as exc:  # whatever it raised is the point
        return exc
    raise AssertionError("expected an exception")


def _chained() -> None:
    try:
        try:
            {}["missing"]
        except KeyError as exc:
            raise ValueError("wrapped «ü»") from exc
    except ValueError:
        error = RuntimeError("while handling\n\"quoted\" \\ back")
        error.add_note("a note ✓")
        raise error  # noqa: B904 - implicitly chained: "during handling of the above"


def _sqs_fields(exc: BaseException | None = None, **more: Any) -> dict[str, Any]:
    return {"message_id": "m-1", "reason": "handler raised", "receive_count": 2, **more,
            "error": "text", **(exception_keys(exc) if exc is not None else {})}


def _unprintable() -> None:
    raise Unprintable()


def _odd_notes() -> None:
    error = ValueError("odd notes")
    error.__notes__ = "not a list"  # type: ignore[attr-defined]
    raise error


#: (id, message, fields, what raised the exception the line carries (or None), request id or None
#: for no invocation, whether the line is laid out)
CASES: list[tuple[str, str, Callable[[], dict[str, Any]], Callable[[], Any] | None, Any, bool]] = [
    ("sqs-failure", "SQS message m-1 failed: handler raised ValueError; it is reported for retry",
     _sqs_fields, lambda: int("x"), "r-1", True),
    ("chained-with-notes", "SQS message m-1 failed", lambda: _sqs_fields(message_group_id="g"), _chained,
     "r-1", True),
    ("unprintable", "SQS message m-1 failed", _sqs_fields, _unprintable, "r-1", True),
    ("notes-not-a-list", "SQS message m-1 failed", _sqs_fields, _odd_notes, "r-1", True),
    ("exception-keys-in-fields", "SQS message m-1 failed", lambda: _sqs_fields(_raised(_chained)), None,
     "r-1", True),
    ("exception-keys-twice", "SQS message m-1 failed", lambda: _sqs_fields(_raised(_chained)), _chained,
     "r-1", False),
    ("non-ascii-and-controls", "SQS message «m-1» failed: ü \u2028 \x00\x1f 🚀 \"q\" \\",
     lambda: {"message_id": "«m»", "error": "\x7f\ud7ff\ue000 tab\t", "receive_count": 1},
     lambda: _throw(KeyError("«ü»\n\u2028\x00")), "r-ü", True),
    ("percent-signs", "SQS message %s failed: 100%", lambda: {"a%sb": "%d %%", "%(name)s": "%s"},
     lambda: _throw(ValueError("%s %d")), "%s", True),
    ("json-message", '{"a": [1, 2.5, null], "b": "ü"}', lambda: {"message_id": "m"}, None, "r-1", True),
    ("json-null-message", "null", lambda: {"message_id": "m"}, None, "r-1", True),
    ("not-quite-json", "[m-1] failed", lambda: {"message_id": "m"}, None, "r-1", True),
    ("other-values", "SQS message m failed", lambda: {
        "yes": True, "no": False, "float": 1.5, "nan": float("nan"), "big": 10**30,
        "list": [1, "ü", None], "nested": {"k": [True]}, "when": datetime.datetime(2026, 11, 30, 1, 2, 3),
        "rank": Level.HIGH, "text_subclass": enum.StrEnum("S", {"A": "a"}).A}, None, "r-1", True),
    ("a-value-left-out", "SQS message m failed", lambda: {"message_id": "m", "none": None, "after": 1},
     None, "r-1", False),
    ("no-invocation", "SQS message m failed", lambda: {"message_id": "m"}, None, None, True),
    ("request-id-missing", "SQS message m failed", lambda: {"message_id": "m"}, None, "", True),
    ("request-id-not-text", "SQS message m failed", lambda: {"message_id": "m"}, None, 12345, True),
    ("own-key-shares-the-loggers", "SQS message m failed", lambda: {"function": "its own", "service": 1},
     None, "r-1", False),
]


def _throw(exc: BaseException) -> None:
    raise exc


def _lambda_root(monkeypatch: pytest.MonkeyPatch) -> None:
    # The root logger as in Lambda (pytest's capture handlers, added when the test starts, left
    # out), and the clock stopped.
    monkeypatch.setattr(logging.root, "handlers", [])
    monkeypatch.setattr(time, "time", lambda: 1_764_000_000.0425)


def _invocation(request_id: Any) -> Any:
    app = App("t")
    name = f"jobs-{next(_names)}"

    @app.on_schedule("rate(1 hour)", name=name)
    def jobs(event: ScheduledEvent) -> None:
        """Not run: the test writes lines in its invocation's context."""

    return None if request_id is None else (app.handler(name), Ctx(request_id), True)


def _both_ways(capsys: pytest.CaptureFixture[str], message: str, fields: dict[str, Any],
               exc: BaseException | None = None) -> tuple[str, str]:
    # The line written directly, then through logging and Powertools' formatter (a filter added to
    # the handler sends it that way), from the same line of code.
    def write() -> None:
        errorlog.error(message, fields, sys._getframe(), exc)

    found = current()
    assert errorlog._fast_handler(found) is not None
    write()
    found.registered_handler.addFilter(_passthrough)
    try:
        assert errorlog._fast_handler(found) is None
        write()
    finally:
        found.registered_handler.removeFilter(_passthrough)
    direct, powertools = capsys.readouterr().out.split("\n")[:-1]  # (not splitlines: U+2028 is in a line)
    return direct, powertools


def _passthrough(record: Any) -> bool:
    return True


def test_lines_read_the_trace_id_from_os_environ_even_when_it_was_replaced(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    _lambda_root(monkeypatch)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-aaaa;Sampled=1")
    token = log.invocation_var.set(_invocation("r-1"))
    try:
        written = [_both_ways(capsys, "SQS message m failed", {"message_id": "m"})]
        monkeypatch.setattr(os, "environ", {**os.environ, "_X_AMZN_TRACE_ID": "Root=1-bbbb"})
        written.append(_both_ways(capsys, "SQS message m failed", {"message_id": "m"}))
        monkeypatch.setattr(os, "environ", {})
        written.append(_both_ways(capsys, "SQS message m failed", {"message_id": "m"}))
    finally:
        log.invocation_var.reset(token)
    assert [direct == powertools for direct, powertools in written] == [True, True, True]
    assert [json.loads(direct).get("xray_trace_id") for direct, _ in written] == ["1-aaaa", "1-bbbb", None]


@pytest.mark.parametrize(("message", "fields", "raises", "request_id", "laid_out"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_lines_are_the_bytes_powertools_writes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, message: str,
    fields: Callable[[], dict[str, Any]], raises: Callable[[], Any] | None, request_id: Any, laid_out: bool,
) -> None:
    _lambda_root(monkeypatch)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
    given, exc = fields(), None if raises is None else _raised(raises)
    invocation = _invocation(request_id)
    token = log.invocation_var.set(invocation)
    try:
        formatter = current().registered_handler.formatter
        laid = errorlog._laid_out(formatter, message, given, exc, invocation, "here:1") is not None
        assert laid is laid_out
        direct, powertools = _both_ways(capsys, message, given, exc)
    finally:
        log.invocation_var.reset(token)
    assert direct == powertools
    line = json.loads(direct)
    assert line["level"] == "ERROR" and line["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    if exc is not None:
        assert line["exception"] == format_exception(exc) and line["exception_name"] == type(exc).__name__


def test_lines_follow_keys_appended_to_the_logger_and_removed_again(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _lambda_root(monkeypatch)
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    fields, exc = _sqs_fields(), _raised(_chained)
    token = log.invocation_var.set(_invocation("r-2"))
    found = current()
    formatter = found.registered_handler.formatter
    steps: list[tuple[Callable[[], None], bool]] = [
        (lambda: None, True),
        (lambda: found.append_keys(tenant="acme %s «ü»", order=None), True),
        (lambda: found.append_keys(order=7), False),  # not text: the line is put together key by key
        (lambda: found.remove_keys(["order"]), True),
        (lambda: found.thread_safe_append_keys(zone="eu"), False),
        (lambda: found.thread_safe_remove_keys(["zone"]), True),
        (lambda: (found.remove_keys(["function"]), found.append_keys(function=None)), False),  # moved last
        (lambda: found.remove_keys(["tenant", "function"]), False),  # function gone
        (lambda: found.append_keys(location="%(module)s"), False),  # a template of the user's
    ]
    try:
        for change, laid_out in steps:
            change()
            laid = errorlog._laid_out(formatter, "failed", fields, exc, log.running(), "here:1") is not None
            assert laid is laid_out
            direct, powertools = _both_ways(capsys, "failed", fields, exc)
            assert direct == powertools
    finally:  # the logger is this test's own; the thread-safe keys are every logger's
        found.thread_safe_clear_keys()
        log.invocation_var.reset(token)


def test_a_message_whose_exception_cannot_be_printed_is_still_reported(
    capsys: pytest.CaptureFixture[str]
) -> None:
    app = App("t")

    @app.on_sqs(Queue("jobs"), name="unprintable")
    def unprintable(record: SqsRecord) -> None:
        if record.body == "bad":
            raise Unprintable()

    event = {"Records": [{"messageId": m, "body": m, "attributes": {}, "messageAttributes": {}}
                         for m in ("bad", "good")]}
    assert dispatch(app.handler("unprintable"), event, None) == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert line["error"] == "<exception str() failed>"
    assert line["exception"].endswith(f"{__name__}.Unprintable: <exception str() failed>")


def test_an_unwritable_line_goes_to_logging_error_handling(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging.root, "handlers", [])
    circular: list[Any] = []
    circular.append(circular)
    token = log.invocation_var.set(_invocation("r-3"))
    try:
        errorlog.error("SQS message m failed", {"message_id": "m", "bad": circular}, sys._getframe())
    finally:
        log.invocation_var.reset(token)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--- Logging error ---" in captured.err and "SQS message m failed" in captured.err


def test_frames_of_freed_code_are_forgotten() -> None:
    import gc

    from flowfn.runtime import stack

    namespace: dict[str, Any] = {}
    exec(compile("def fail():\n    raise ValueError('once')\n", "<generated>", "exec"), namespace)
    code_id = id(namespace["fail"].__code__)
    assert stack.format_exception(_raised(namespace["fail"])).endswith("ValueError: once")
    assert code_id in stack._frames
    namespace.clear()
    gc.collect()
    assert code_id not in stack._frames


def test_a_frame_seen_before_shows_the_line_it_is_at_now() -> None:
    from flowfn.runtime.stack import format_exception

    def fail(where: int) -> None:
        if where == 1:
            raise ValueError("first")
        raise KeyError("second")

    first = format_exception(_raised(lambda: fail(1)))
    second = format_exception(_raised(lambda: fail(2)))
    assert 'raise ValueError("first")' in first and 'raise KeyError("second")' in second
    assert 'raise ValueError("first")' not in second



def test_a_failed_message_is_written_at_the_level_its_function_has_now(
    capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"levels-{next(_names)}"
    event = {"Records": [{"messageId": "m", "body": "b", "attributes": {}, "messageAttributes": {}}]}
    written = []
    for level in ("INFO", "CRITICAL", "ERROR", "CRITICAL"):  # one function name, its level changed
        app = App("t")

        @app.on_sqs(Queue("jobs"), name=name, log_level=level)
        def failing(record: SqsRecord) -> None:
            raise ValueError("no")

        assert dispatch(app.handler(name), event, None) == {"batchItemFailures": [{"itemIdentifier": "m"}]}
        written.append(len(capsys.readouterr().out.splitlines()))
    assert written == [1, 0, 1, 0]


@pytest.mark.parametrize("now", [1_764_000_000.0004, 1_764_000_000.9996, 1_764_000_001.5, 0.25, -1.5])
def test_the_time_is_written_as_powertools_writes_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, now: float
) -> None:
    monkeypatch.setattr(logging.root, "handlers", [])
    token = log.invocation_var.set(_invocation("r-1"))
    try:
        for _ in range(2):  # the second line of a second reuses what the first worked out
            monkeypatch.setattr(time, "time", lambda: now)
            direct, powertools = _both_ways(capsys, "SQS message m failed", {"message_id": "m"})
            assert direct == powertools
    finally:
        log.invocation_var.reset(token)


def test_concurrent_batches_report_failures_with_their_own_request_ids(
    capsys: pytest.CaptureFixture[str]
) -> None:
    import threading

    app = App("t")
    name = f"parallel-{next(_names)}"
    barrier = threading.Barrier(2, timeout=10)

    @app.on_sqs(Queue("jobs"), name=name)
    def work(record: SqsRecord) -> None:
        if record.body == "wait":
            barrier.wait()  # both batches are inside at once
        raise ValueError(f"bad {record.body}")

    def batch(request_id: str) -> None:
        event = {"Records": [{"messageId": f"{request_id}-{body}", "body": body, "attributes": {},
                              "messageAttributes": {}} for body in ("wait", "after")]}
        dispatch(app.handler(name), event, Ctx(request_id))

    threads = [threading.Thread(target=batch, args=(f"r-{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    by_request: dict[str, list[str]] = {}
    for line in (json.loads(text) for text in capsys.readouterr().out.splitlines()):
        assert line["message_id"].startswith(line["request_id"])
        assert line["exception"].endswith(f"ValueError: bad {line['message_id'].split('-')[-1]}")
        by_request.setdefault(line["request_id"], []).append(line["message_id"])
    assert by_request == {"r-0": ["r-0-wait", "r-0-after"], "r-1": ["r-1-wait", "r-1-after"]}


def test_an_async_handlers_failure_is_reported_with_its_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    app = App("t")
    name = f"async-{next(_names)}"

    @app.on_sqs(Queue("jobs"), name=name)
    async def work(record: SqsRecord) -> None:
        raise KeyError(record.body)

    event = {"Records": [{"messageId": "m", "body": "b", "attributes": {}, "messageAttributes": {}}]}
    assert dispatch(app.handler(name), event, Ctx("r")) == {"batchItemFailures": [{"itemIdentifier": "m"}]}
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert (line["request_id"], line["exception_name"], line["error"]) == ("r", "KeyError", "'b'")
    assert line["exception"].endswith("raise KeyError(record.body)\nKeyError: 'b'")
