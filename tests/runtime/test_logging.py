"""Structured JSON logs: function, request id, trigger and cold start on every line; level per function."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowfn import App, ScheduledEvent
from flowfn.runtime import dispatch, logger
from flowfn.runtime.log import _message_json, current

_names = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_names)}-{id(object())}"


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


class Ctx:
    def __init__(self, request_id: str) -> None:
        self.aws_request_id = request_id


def test_lines_carry_function_request_id_trigger_and_cold_start(
    capsys: pytest.CaptureFixture[str], reference: Any
) -> None:
    app = App("t")
    name = unique("tick")

    @app.on_schedule("rate(1 hour)", name=name)
    def tick(event: ScheduledEvent) -> None:
        logger.info("tick", rule=event.rule_arn)

    handler = app.handler(name)
    dispatch(handler, reference("scheduledEvent.json"), Ctx("r-1"))
    dispatch(handler, reference("scheduledEvent.json"), Ctx("r-2"))
    first, second = lines(capsys)
    assert first["message"] == "tick" and first["level"] == "INFO"
    assert first["rule"] == "arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule"
    assert (first["function"], first["service"], first["trigger"]) == (name, name, "schedule")
    assert (first["request_id"], first["cold_start"]) == ("r-1", True)
    assert (second["request_id"], second["cold_start"]) == ("r-2", False)
    assert first["location"].startswith("tick:")
    assert "timestamp" in first


@pytest.mark.parametrize(
    ("level", "expected"),
    [("DEBUG", ["DEBUG", "INFO", "WARNING"]), ("INFO", ["INFO", "WARNING"]), ("WARNING", ["WARNING"])],
)
def test_level_is_per_function(capsys: pytest.CaptureFixture[str], level: str, expected: list[str]) -> None:
    app = App("t")
    name = unique("lvl")

    @app.on_schedule("rate(1 hour)", name=name, log_level=level)
    def job() -> None:
        logger.debug("d")
        logger.info("i")
        logger.warning("w")

    dispatch(app.handler(name), {}, None)
    assert [entry["level"] for entry in lines(capsys)] == expected


def test_two_functions_keep_their_own_levels(capsys: pytest.CaptureFixture[str]) -> None:
    app = App("t")
    quiet, chatty = unique("quiet"), unique("chatty")
    app.on_schedule("rate(1 hour)", name=quiet, log_level="ERROR")(lambda: logger.info("q"))
    app.on_schedule("rate(2 hours)", name=chatty, log_level="DEBUG")(lambda: logger.debug("c"))
    dispatch(app.handler(quiet), {}, None)
    dispatch(app.handler(chatty), {}, None)
    dispatch(app.handler(quiet), {}, None)
    assert [(e["function"], e["message"]) for e in lines(capsys)] == [(chatty, "c")]


def test_keys_leave_when_the_invocation_ends(capsys: pytest.CaptureFixture[str]) -> None:
    app = App("t")
    name = unique("k")
    app.on_schedule("rate(1 hour)", name=name)(lambda: logger.info("inside"))
    dispatch(app.handler(name), {}, Ctx("r-9"))
    current().info("outside")
    inside, outside = lines(capsys)
    assert inside["request_id"] == "r-9"
    assert outside["service"] == "flowfn" and "request_id" not in outside and "function" not in outside


def test_concurrent_invocations_keep_their_own_request_ids(capsys: pytest.CaptureFixture[str]) -> None:
    app = App("t")
    name = unique("par")
    barrier = threading.Barrier(2, timeout=10)

    @app.on_schedule("rate(1 hour)", name=name)
    def job() -> None:
        logger.info("before")
        barrier.wait()  # both invocations are inside at once
        logger.info("after")

    threads = [threading.Thread(target=dispatch, args=(app.handler(name), {}, Ctx(f"r-{i}")))
               for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    by_request: dict[str, list[str]] = {}
    for entry in lines(capsys):
        by_request.setdefault(entry["request_id"], []).append(entry["message"])
    assert by_request == {"r-0": ["before", "after"], "r-1": ["before", "after"]}


def test_logger_repr_names_the_function() -> None:
    assert repr(logger) == "<flowfn logger of flowfn>"


def test_invocation_keys_come_before_the_lines_own_which_win(capsys: pytest.CaptureFixture[str]) -> None:
    app = App("t")
    name = unique("order")

    @app.on_schedule("rate(1 hour)", name=name)
    def job() -> None:
        logger.info("mine", width=640, function="chosen")
        current().info("through Powertools itself")

    dispatch(app.handler(name), {}, Ctx("r-3"))
    mine, direct = lines(capsys)
    assert list(mine) == ["level", "location", "message", "timestamp", "service", "function", "request_id",
                          "trigger", "cold_start", "width"]
    assert (mine["function"], mine["width"]) == ("chosen", 640)
    assert (direct["function"], direct["request_id"]) == (name, "r-3")


@pytest.mark.parametrize(
    ("message", "logged"),
    [('{"a": 1}', {"a": 1}), (" [1, 2]", [1, 2]), ("123", 123), ("-1.5", -1.5), ("true", True),
     ('"quoted"', "quoted"), ("null", "null"), ("plain text", "plain text"), ("nope", "nope"), ("", ""),
     ("{not json", "{not json")],
)
def test_messages_that_are_json_are_logged_as_values(capsys: pytest.CaptureFixture[str], message: str,
                                                     logged: Any) -> None:
    app = App("t")
    name = unique("json")
    app.on_schedule("rate(1 hour)", name=name)(lambda: logger.info(message))
    dispatch(app.handler(name), {}, None)
    (line,) = lines(capsys)
    assert line.get("message", "null") == logged  # Powertools drops a null message


@given(st.text(max_size=12) | st.sampled_from(["1", "[]", "{}", '"x"', "false", " 7", "\n{}", "NaN", "Infinity",
                                              "-Infinity", " NaN"]))
@settings(max_examples=300)
def test_message_decoding_matches_powertools_trying_every_message(text: str) -> None:
    def as_powertools_does(decode: Callable[[str], Any]) -> Any:
        try:
            return decode(text)
        except (TypeError, ValueError):  # what Powertools catches (JSONDecodeError is a ValueError)
            return text

    got, expected = as_powertools_does(_message_json), as_powertools_does(json.loads)
    assert got == expected or (got != got and expected != expected)  # NaN is not equal to itself


def test_work_handed_to_a_thread_with_the_context_keeps_the_keys(capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    app = App("t")
    name = unique("async")

    @app.on_schedule("rate(1 hour)", name=name)
    async def job() -> None:
        await asyncio.to_thread(logger.info, "from a worker thread")

    dispatch(app.handler(name), {}, Ctx("r-4"))
    (line,) = lines(capsys)
    assert (line["message"], line["function"], line["request_id"]) == ("from a worker thread", name, "r-4")


def test_an_async_handlers_tasks_keep_the_keys(capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    app = App("t")
    name = unique("tasks")

    async def part(n: int) -> None:
        await asyncio.sleep(0)
        logger.info(f"part {n}")

    @app.on_schedule("rate(1 hour)", name=name)
    async def job() -> None:
        await asyncio.gather(part(1), part(2))
        logger.info("done")

    for request_id in ("r-5", "r-6"):  # the first event prepares the runner; the second uses it
        dispatch(app.handler(name), {}, Ctx(request_id))
    got = [(e["message"], e["function"], e["request_id"]) for e in lines(capsys)]
    assert got == [(message, name, request_id) for request_id in ("r-5", "r-6")
                   for message in ("part 1", "part 2", "done")]


def _in_a_thread_of_asyncio() -> None:
    import asyncio

    async def main() -> None:
        await asyncio.to_thread(logger.info, "from a worker thread")

    asyncio.run(main())


def _in_a_pool_with_the_context() -> None:
    import contextvars
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        pool.submit(contextvars.copy_context().run, logger.info, "from a worker thread").result()


@pytest.mark.parametrize("hand_over", [_in_a_thread_of_asyncio, _in_a_pool_with_the_context])
def test_a_sync_handler_handing_work_to_a_thread_with_its_context_keeps_the_keys(
    capsys: pytest.CaptureFixture[str], hand_over: Callable[[], None]
) -> None:
    app = App("t")
    name = unique("handover")
    app.on_schedule("rate(1 hour)", name=name)(hand_over)
    for request_id in ("r-7", "r-8"):
        dispatch(app.handler(name), {}, Ctx(request_id))
    got = [(e["message"], e["function"], e["request_id"]) for e in lines(capsys)]
    assert got == [("from a worker thread", name, "r-7"), ("from a worker thread", name, "r-8")]


def test_an_invocation_that_raises_gives_the_keys_back(capsys: pytest.CaptureFixture[str]) -> None:
    app = App("t")
    outer, inner = unique("outer"), unique("failing")

    @app.on_schedule("rate(1 hour)", name=inner)
    def failing() -> None:
        logger.info("failing")
        raise ValueError("boom")

    @app.on_schedule("rate(2 hours)", name=outer)
    def run_outer() -> None:
        for request_id in ("r-in-1", "r-in-2"):  # the first event prepares the runner; the second uses it
            with pytest.raises(ValueError, match="boom"):
                dispatch(app.handler(inner), {}, Ctx(request_id))
            logger.info("after")

    dispatch(app.handler(outer), {}, Ctx("r-out"))
    with pytest.raises(ValueError, match="boom"):
        dispatch(app.handler(inner), {}, Ctx("r-alone"))
    current().info("outside")
    got = [(e["message"], e.get("function"), e.get("request_id")) for e in lines(capsys)]
    assert got == [("failing", inner, "r-in-1"), ("after", outer, "r-out"), ("failing", inner, "r-in-2"),
                   ("after", outer, "r-out"), ("failing", inner, "r-alone"), ("outside", None, None)]


def test_error_lines_written_directly_are_the_lines_powertools_writes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import logging
    import sys
    import time

    from flowfn.runtime import errorlog, log
    from flowfn.runtime.stack import exception_keys

    app = App("t")
    name = unique("jobs")

    @app.on_schedule("rate(1 hour)", name=name)
    def jobs(event: ScheduledEvent) -> None:
        """Not run: the test writes lines in its invocation's context."""

    try:
        raise ValueError("bad «record»\nsecond line")
    except ValueError as exc:
        fields = {"message_id": "m-1", "reason": "handler raised ValueError", "receive_count": 2,
                  "function": "its own", "error": str(exc), **exception_keys(exc)}

    def write() -> None:
        errorlog.error("SQS message m-1 failed: handler raised ValueError", fields, sys._getframe())

    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
    token = log.invocation_var.set((app.handler(name), Ctx("r-9"), False))
    # The root logger's handler when the Logger is made, as in Lambda (pytest's own is left out):
    # Powertools' filter on it drops the function's lines.
    root = logging.StreamHandler(io.StringIO())
    monkeypatch.setattr(logging.root, "handlers", [root])
    found = current()
    assert [type(f).__name__ for f in root.filters] == ["SuppressFilter"]
    found.append_keys(tenant="acme", order_id=None)
    found.thread_safe_append_keys(zone="eu")
    written: list[str] = []
    try:
        for when in (1_764_000_000.0425, 1_764_000_000.9991, 1_764_000_001.5):
            monkeypatch.setattr(time, "time", lambda when=when: when)
            assert errorlog._fast_handler(found) is not None
            write()  # directly
            found.registered_handler.addFilter(_passthrough)
            assert errorlog._fast_handler(found) is None
            write()  # through logging and Powertools' formatter
            found.registered_handler.removeFilter(_passthrough)
            written.extend(capsys.readouterr().out.splitlines())
    finally:
        found.thread_safe_remove_keys(["zone"])
        found.remove_keys(["tenant", "order_id"])
        log.invocation_var.reset(token)
    assert len(written) == 6
    assert root.stream.getvalue() == ""  # type: ignore[attr-defined]
    for direct, powertools in zip(written[::2], written[1::2], strict=True):
        assert direct == powertools
    first = json.loads(written[0])
    assert (first["function"], first["request_id"], first["tenant"], first["zone"]) == (
        "its own", "r-9", "acme", "eu")
    assert first["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert first["location"].startswith("write:") and first["level"] == "ERROR"


def _passthrough(record: Any) -> bool:
    return True


def test_an_error_line_that_cannot_be_written_is_reported_not_raised(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import logging
    import sys

    from flowfn.runtime import errorlog, log

    class Broken:
        def write(self, text: str) -> int:
            raise OSError("stdout is closed")

        def flush(self) -> None:
            """Nothing to flush."""

    app = App("t")
    name = unique("jobs")

    @app.on_schedule("rate(1 hour)", name=name)
    def jobs(event: ScheduledEvent) -> None:
        """Not run."""

    monkeypatch.setattr(logging.root, "handlers", [])
    token = log.invocation_var.set((app.handler(name), Ctx("r-1"), False))
    try:
        assert errorlog._fast_handler(current()) is not None
        monkeypatch.setattr(sys, "stdout", Broken())
        errorlog.error("SQS message m failed", {"message_id": "m"}, sys._getframe())
    finally:
        log.invocation_var.reset(token)
    assert "OSError: stdout is closed" in capsys.readouterr().err
