"""What an event costs: a handler's runner is prepared once, its log lines find their invocation
when written, and a cold start loads its own kind's modules only."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flowfn import App, Bucket, ScheduledEvent
from flowfn.errors import EventError
from flowfn.runtime import dispatch, logger

EVENTS = Path(__file__).resolve().parents[1] / "aws_events"
_names = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_names)}-{os.getpid()}"


class Ctx:
    def __init__(self, request_id: str) -> None:
        self.aws_request_id = request_id


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_an_invocation_inside_another_has_its_own_keys_and_gives_them_back(
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = App("t")
    outer, inner = unique("outer"), unique("inner")
    app.on_schedule("rate(1 hour)", name=inner)(lambda: logger.info("inner"))

    @app.on_schedule("rate(2 hours)", name=outer)
    def run_outer() -> None:
        logger.info("before")
        dispatch(app.handler(inner), {}, Ctx("r-in"))
        logger.info("after")

    dispatch(app.handler(outer), {}, Ctx("r-out"))
    got = [(e["message"], e["function"], e["request_id"], e["cold_start"]) for e in lines(capsys)]
    assert got == [("before", outer, "r-out", True), ("inner", inner, "r-in", True),
                   ("after", outer, "r-out", True)]


def test_a_new_handler_object_of_a_function_already_run_is_not_a_cold_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = App("t")
    name = unique("again")
    app.on_schedule("rate(1 hour)", name=name)(lambda: logger.info("tick"))
    handler = app.handler(name)
    dispatch(handler, {}, Ctx("r-1"))
    dispatch(handler.replace(), {}, Ctx("r-2"))  # as after a reload, or a log level from the environment
    assert [(e["request_id"], e["cold_start"]) for e in lines(capsys)] == [("r-1", True), ("r-2", False)]


def test_a_sync_handler_returning_a_coroutine_is_awaited_every_time() -> None:
    app = App("t")

    async def work(key: str) -> str:
        return key.upper()

    @app.on_s3(Bucket("uploads"), name=unique("wrapped"))
    def wrapped(record: Any) -> Any:  # as a decorator wrapping an async def returns its coroutine
        return work(record.object_key)

    event = json.loads((EVENTS / "s3Event.json").read_text())
    handler = app.handlers[0]
    assert dispatch(handler, event, None) == "B21B84D653BB07B05B1E6B33684DC11B"
    assert dispatch(handler, event, None) == "B21B84D653BB07B05B1E6B33684DC11B"


def test_a_scheduled_events_field_is_checked_when_the_handler_reads_it() -> None:
    app = App("t")
    name = unique("tick")

    @app.on_schedule("rate(1 hour)", name=name)
    def tick(event: ScheduledEvent) -> str:
        return event.id

    event = {**json.loads((EVENTS / "scheduledEvent.json").read_text()), "region": ["us-east-1"]}
    assert dispatch(app.handler(name), event, None) == "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa"
    app.on_schedule("rate(2 hours)", name=name + "-region")(lambda event: event.region)
    with pytest.raises(EventError, match="schedule event: region must be a string, got list"):
        dispatch(app.handler(name + "-region"), event, None)


APP_SOURCE = """
from flowfn import Bucket, on_s3

@on_s3(Bucket("uploads"))
def on_upload(record, context):
    return record.object_key
"""

COLD_START = """
import json, sys
import flowfn.runtime
out = flowfn.runtime.handler(json.load(open(sys.argv[1])), None)
print(json.dumps({"result": out, "modules": sorted(m for m in sys.modules if m.startswith("flowfn"))}))
"""


def test_a_cold_start_loads_its_own_kinds_modules_only(tmp_path: Path) -> None:
    (tmp_path / "lazy_app.py").write_text(APP_SOURCE)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("FLOWFN_")},
           "FLOWFN_APP": "lazy_app", "FLOWFN_FUNCTION": "on_upload",
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(Path(__file__).resolve().parents[2])])}
    done = subprocess.run([sys.executable, "-c", COLD_START, str(EVENTS / "s3Event.json")], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["result"] == "b21b84d653bb07b05b1e6b33684dc11b"
    loaded = set(report["modules"])
    assert {"flowfn.triggers.s3", "flowfn.runtime.s3", "flowfn.resources.bucket"} <= loaded
    others = {f"flowfn.{layer}.{kind}" for layer in ("triggers", "runtime")
              for kind in ("sqs", "http", "schedule", "kinesis", "dynamodb", "sns", "eventbridge")}
    others |= {f"flowfn.resources.{kind}" for kind in ("queue", "table", "stream", "topic", "eventbus")}
    # no other kind, no logger (nothing was logged), no SQS views, no tracebacks (nothing failed)
    others |= {"flowfn.runtime.log", "flowfn.runtime.events", "flowfn.runtime.stack"}
    assert loaded & others == set()


def test_a_handlers_error_on_its_first_event_carries_no_error_of_flowfns() -> None:
    app = App("t")

    @app.on_s3(Bucket("uploads"), name=unique("broken"))
    def broken(record: Any) -> None:
        raise KeyError("missing")

    event = json.loads((EVENTS / "s3Event.json").read_text())
    for _ in range(2):  # the first event prepares the runner; the second uses it
        with pytest.raises(KeyError) as raised:
            dispatch(app.handlers[0], event, None)
        assert raised.value.__context__ is None and raised.value.__cause__ is None
