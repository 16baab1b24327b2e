"""Structured JSON logs: function, request id, trigger and cold start on every line; level per function."""

from __future__ import annotations

import itertools
import json
import threading
from typing import Any

import pytest

from flowfn import App, ScheduledEvent
from flowfn.runtime import dispatch, logger
from flowfn.runtime.log import current

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
