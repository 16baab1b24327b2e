"""The Lambda entry point: FLOWFN_APP and FLOWFN_FUNCTION name the handler; the app loads once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import flowfn.runtime

APP_SOURCE = """
from pathlib import Path
from flowfn import Bucket, HTTPError, Queue, Request, S3Record, SqsRecord, on_http, on_s3, on_schedule, on_sqs

with Path(__file__).with_suffix(".imports").open("a") as log:
    log.write("imported\\n")
uploads = Bucket("uploads")
jobs = Queue("jobs")


@on_s3(uploads)
def on_upload(record: S3Record) -> str:
    return record.object_key


@on_sqs(jobs)
def work(record: SqsRecord) -> None:
    record.json_body


@on_schedule("rate(5 minutes)")
def tick(event) -> str:
    from flowfn.runtime import logger

    logger.debug("tick at debug level")
    return event.rule_arn


@on_http("POST", "/my/path")
def post(request: Request) -> dict:
    if request.query.get("fail"):
        raise HTTPError(418, "teapot")
    return request.json()
"""


@pytest.fixture
def app_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    name = f"entry_app_{os.getpid()}_{id(tmp_path)}"
    (tmp_path / f"{name}.py").write_text(APP_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("FLOWFN_APP", name)
    yield name, tmp_path / f"{name}.imports"
    sys.modules.pop(name, None)
    flowfn.runtime._forget()


def test_handler_runs_the_named_function_and_imports_the_app_once(
    app_module: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, reference: Callable[[str], Any],
) -> None:
    _, imports = app_module
    monkeypatch.setenv("FLOWFN_FUNCTION", "on_upload")
    assert flowfn.runtime.handler(reference("s3Event.json"), None) == "b21b84d653bb07b05b1e6b33684dc11b"
    assert flowfn.runtime.handler(reference("s3Event.json"), None) == "b21b84d653bb07b05b1e6b33684dc11b"
    monkeypatch.setenv("FLOWFN_FUNCTION", "work")
    result = flowfn.runtime.handler(reference("sqsEvent.json"), None)
    assert result == {"batchItemFailures": [{"itemIdentifier": "059f36b4-87a3-44ab-83d2-661975830a7d"}]}
    monkeypatch.setenv("FLOWFN_FUNCTION", "post")
    response = flowfn.runtime.handler(reference("apiGatewayProxyV2Event.json"), None)
    assert json.loads(response["body"]) == {"message": "hello world", "username": "tom"}
    assert imports.read_text() == "imported\n"


def test_a_warm_event_reads_no_variable_through_os_environ(
    app_module: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, reference: Callable[[str], Any],
) -> None:
    # os.environ.get costs about 0.3 µs a variable: reading two on every event more than doubled
    # what the entry point added to an S3 event. Lambda looks the entry up once, at init.
    monkeypatch.setenv("FLOWFN_FUNCTION", "on_upload")
    event = reference("s3Event.json")
    entry = flowfn.runtime.handler
    entry(event, None)
    read: list[object] = []
    environ_type = type(os.environ)
    original = environ_type.__getitem__

    def counted(self: Any, key: Any) -> Any:
        read.append(key)
        return original(self, key)

    monkeypatch.setattr(environ_type, "__getitem__", counted)
    assert entry(event, None) == "b21b84d653bb07b05b1e6b33684dc11b"
    monkeypatch.setattr(environ_type, "__getitem__", original)
    assert [k for k in read if str(k).startswith("FLOWFN_")] == []


def test_the_lookup_imports_the_app_and_the_first_event_is_the_cold_start(
    app_module: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    reference: Callable[[str], Any],
) -> None:
    # Lambda looks the handler up in its init phase: the app is imported then, not on the first event.
    from flowfn.runtime import invocation

    name = f"entry_seen_{os.getpid()}_{id(tmp_path)}"
    (tmp_path / f"{name}.py").write_text(
        "from flowfn import Bucket, on_s3\nfrom flowfn.runtime.invocation import running\n"
        "SEEN = []\n\n\n@on_s3(Bucket('uploads'))\ndef fresh_function(record, context):\n"
        "    handler, context, cold = running()\n    SEEN.append((handler.name, context, cold))\n")
    monkeypatch.setenv("FLOWFN_APP", name)
    monkeypatch.setenv("FLOWFN_FUNCTION", "fresh_function")
    try:
        entry = flowfn.runtime.handler
        module = sys.modules[name]
        assert flowfn.runtime.handler is entry  # one entry per function
        entry(reference("s3Event.json"), "first")
        entry(reference("s3Event.json"), "second")
        assert module.SEEN == [("fresh_function", "first", True), ("fresh_function", "second", False)]
        # Lambda runs nothing of the function's between invocations: the last stays the one log
        # lines belong to, as Lambda's runtime keeps its request id, until the next begins.
        running = invocation.running()
        assert running is not None and running[1] == "second"
        flowfn.runtime._forget()
        assert invocation.running() is None
    finally:
        sys.modules.pop(name, None)


class _Context:
    aws_request_id = "req-7"
    function_name = "threaded"


def test_a_thread_started_by_hand_logs_as_part_of_the_invocation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference: Callable[[str], Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Lambda runs one invocation at a time in a process: a thread the handler starts writes lines
    # that belong to it, and an invocation dispatched inside the handler keeps its own keys.
    name = f"entry_thread_{os.getpid()}_{id(tmp_path)}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent("""
        import threading
        from flowfn import Bucket, on_s3, on_schedule
        from flowfn.app import module_app
        from flowfn.runtime import dispatch, logger


        @on_schedule("rate(1 hour)")
        def inner(event):
            logger.info("inside")


        @on_s3(Bucket("uploads"))
        def threaded(record, context):
            worker = threading.Thread(target=logger.info, args=("from a thread",))
            worker.start()
            worker.join()
            dispatch(module_app(globals()).handler("inner"), {"time": "2026-11-30T00:00:00Z"}, type("C", (), {"aws_request_id": "req-in"})())
            logger.info("after")
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("FLOWFN_APP", name)
    monkeypatch.setenv("FLOWFN_FUNCTION", "threaded")
    try:
        flowfn.runtime.handler(reference("s3Event.json"), _Context())
    finally:
        sys.modules.pop(name, None)
        flowfn.runtime._forget()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["message"], line["function"], line["request_id"]) for line in lines] == [
        ("from a thread", "threaded", "req-7"), ("inside", "inner", "req-in"), ("after", "threaded", "req-7")]


def test_a_failed_sqs_record_is_logged_with_the_invocations_keys(
    app_module: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, reference: Callable[[str], Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FLOWFN_FUNCTION", "work")
    result = flowfn.runtime.handler(reference("sqsEvent.json"), _Context())
    assert result["batchItemFailures"]
    (line,) = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert (line["level"], line["service"], line["function"], line["request_id"]) == ("ERROR", "work", "work", "req-7")


def test_an_app_that_imports_the_entry_point_itself_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference: Callable[[str], Any],
) -> None:
    # The lookup imports the app; the app's own star import, or import of handler, must not resolve
    # the entry again from inside its import.
    name = f"entry_star_{os.getpid()}_{id(tmp_path)}"
    (tmp_path / f"{name}.py").write_text(
        "from flowfn import Bucket, on_s3\nfrom flowfn.runtime import *  # noqa: F403\n"
        "from flowfn.runtime import handler as lambda_handler\n\n\n"
        "@on_s3(Bucket('uploads'))\ndef on_upload(record: S3Record) -> str:  # noqa: F405\n"
        "    return record.object_key\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("FLOWFN_APP", name)
    monkeypatch.setenv("FLOWFN_FUNCTION", "on_upload")
    try:
        assert flowfn.runtime.handler(reference("s3Event.json"), None) == "b21b84d653bb07b05b1e6b33684dc11b"
        again = sys.modules[name].lambda_handler  # found by the app during its own import
        assert again(reference("s3Event.json"), None) == "b21b84d653bb07b05b1e6b33684dc11b"
    finally:
        sys.modules.pop(name, None)
        flowfn.runtime._forget()


def test_an_app_that_fails_to_import_fails_the_lookup(
    app_module: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # In AWS a failed lookup is an init error, reported with the exception, as a module of a plain
    # Python function that fails to import is.
    broken = f"entry_broken_{os.getpid()}_{id(tmp_path)}"
    (tmp_path / f"{broken}.py").write_text("raise ValueError('no config')\n")
    monkeypatch.setenv("FLOWFN_APP", broken)
    monkeypatch.setenv("FLOWFN_FUNCTION", "on_upload")
    try:
        with pytest.raises(Exception, match="no config"):
            _ = flowfn.runtime.handler
    finally:
        sys.modules.pop(broken, None)


def test_the_entry_point_follows_the_variables_when_they_change(
    app_module: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    reference: Callable[[str], Any],
) -> None:
    monkeypatch.setenv("FLOWFN_FUNCTION", "on_upload")
    assert flowfn.runtime.handler(reference("s3Event.json"), None) == "b21b84d653bb07b05b1e6b33684dc11b"
    other = f"entry_other_{os.getpid()}_{id(tmp_path)}"
    (tmp_path / f"{other}.py").write_text(
        "from flowfn import Bucket, on_s3\n\n\n@on_s3(Bucket('uploads'))\n"
        "def on_upload(record):\n    return 'other: ' + record.object_key\n")
    try:
        monkeypatch.setenv("FLOWFN_APP", other)
        assert flowfn.runtime.handler(reference("s3Event.json"), None).startswith("other: ")
        monkeypatch.setenv("FLOWFN_FUNCTION", "on_upload")  # set again, to the same name
        assert flowfn.runtime.handler(reference("s3Event.json"), None).startswith("other: ")
        monkeypatch.delenv("FLOWFN_FUNCTION")
        with pytest.raises(RuntimeError, match="FLOWFN_FUNCTION is not set"):
            flowfn.runtime.handler(reference("s3Event.json"), None)
    finally:
        sys.modules.pop(other, None)


def test_log_level_from_the_environment_wins(
    app_module: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, reference: Callable[[str], Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FLOWFN_FUNCTION", "tick")
    monkeypatch.setenv("FLOWFN_LOG_LEVEL", "INFO")
    flowfn.runtime.handler(reference("scheduledEvent.json"), None)
    assert capsys.readouterr().out == ""
    flowfn.runtime._forget()  # a new cold start, with the variable changed
    monkeypatch.setenv("FLOWFN_LOG_LEVEL", "DEBUG")
    flowfn.runtime.handler(reference("scheduledEvent.json"), None)
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["message"] == "tick at debug level"


def test_unknown_function_says_what_exists(app_module: tuple[str, Path],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWFN_FUNCTION", "nope")
    with pytest.raises(RuntimeError, match=r"FLOWFN_FUNCTION='nope'.*handlers: on_upload, work, tick, post"):
        flowfn.runtime.handler({}, None)


@pytest.mark.parametrize("missing", ["FLOWFN_APP", "FLOWFN_FUNCTION"])
def test_missing_environment_is_named(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    monkeypatch.setenv("FLOWFN_APP", "some_app")
    monkeypatch.setenv("FLOWFN_FUNCTION", "f")
    monkeypatch.delenv(missing)
    with pytest.raises(RuntimeError, match=f"{missing} is not set"):
        flowfn.runtime.handler({}, None)


HEAVY = ("boto3", "botocore", "moto", "typer", "rich", "click", "aws_lambda_powertools", "pydantic",
         "flowfn.cli", "flowfn.synth", "flowfn.local", "flowfn.testing", "flowfn.deploy", "yaml",
         "aws_croniter",
         # standard modules that each cost a cold start a millisecond or more, and the runtime
         # does not need until a log line is written or an async handler runs
         "dataclasses", "inspect", "logging", "asyncio", "hashlib", "zoneinfo", "decimal", "threading",
         "traceback", "pkgutil", "linecache", "weakref")

COLD_START = """
import json, sys
preloaded = set(sys.modules)  # whatever the interpreter's site already imported does not count
import flowfn.runtime
after_import = sorted(m for m in set(sys.modules) - preloaded if m.split(".")[0] in {top} or m in {heavy})
events = json.loads(sys.argv[1])
out = {{}}
for function, (name, query) in events.items():
    import os
    os.environ["FLOWFN_FUNCTION"] = function
    event = json.load(open(name))
    if query:
        event["queryStringParameters"] = query
    out[function] = flowfn.runtime.handler(event, None)
loaded = sorted(m for m in set(sys.modules) - preloaded if m.split(".")[0] in {top} or m in {heavy})
print(json.dumps({{"after_import": after_import, "after_events": loaded, "results": out}}))
"""


@pytest.mark.slow
def test_a_cold_start_imports_nothing_heavy(app_module: tuple[str, Path], reference: Any) -> None:
    name, _ = app_module
    events_dir = Path(__file__).resolve().parents[1] / "aws_events"
    events = {
        "on_upload": [str(events_dir / "s3Event.json"), None],
        "tick": [str(events_dir / "scheduledEvent.json"), None],
        "post": [str(events_dir / "apiGatewayProxyV2Event.json"), {"fail": "1"}],
    }
    heavy = set(HEAVY)
    code = textwrap.dedent(COLD_START).format(top=repr({h for h in heavy if "." not in h}), heavy=repr(heavy))
    env = {**os.environ, "FLOWFN_APP": name, "PYTHONPATH": str(app_module[1].parent)}
    done = subprocess.run([sys.executable, "-c", code, json.dumps(events)], capture_output=True, text=True,
                          env=env, cwd=app_module[1].parent, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["after_import"] == []
    assert report["after_events"] == []  # no log line was written, so Powertools never loaded
    assert report["results"]["on_upload"] == "b21b84d653bb07b05b1e6b33684dc11b"
    assert report["results"]["tick"] == "arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule"
    assert report["results"]["post"]["statusCode"] == 418
