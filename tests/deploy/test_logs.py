"""flowfn logs: a deployed function's log group, flowfn's JSON lines shown readably."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flowfn.deploy.aws import UserError
from flowfn.deploy.logs import format_line, parse_since
from tests.deploy.conftest import Flowfn

APP = str(Path(__file__).parent / "apps" / "shop" / "app.py")
NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
MS = int(NOW.timestamp() * 1000)

INFO = {"level": "INFO", "location": "resize:12", "message": "resized", "timestamp": "2025-01-01 12:00:00,000+0000",
        "service": "flowfn", "cold_start": True, "function": "resize", "request_id": "req-1", "trigger": "s3",
        "width": 640, "name": "cat.jpg"}
ERROR = {"level": "ERROR", "location": "dispatch:40", "message": "message m-1 failed", "function": "resize",
         "request_id": "req-2", "trigger": "s3", "exception_name": "ValueError",
         "exception": "Traceback (most recent call last):\n  File \"app.py\", line 14, in resize\nValueError: bad input"}


def test_json_lines_read_as_level_message_and_keys() -> None:
    assert format_line({"timestamp": MS, "message": json.dumps(INFO)}) == [
        "2025-01-01 12:00:00  INFO    resized  request_id=req-1 width=640 name=cat.jpg"]
    lines = format_line({"timestamp": MS, "message": json.dumps(ERROR) + "\n"})
    assert lines == ["2025-01-01 12:00:00  ERROR   message m-1 failed  request_id=req-2",
                     "    Traceback (most recent call last):", "      File \"app.py\", line 14, in resize",
                     "    ValueError: bad input"]
    # Lambda's own lines, and JSON that is not a log record, stay as they are.
    start = "START RequestId: 6f0e Version: $LATEST"
    assert format_line({"timestamp": MS, "message": start + "\n"}) == [f"2025-01-01 12:00:00  {start}"]
    assert format_line({"timestamp": MS, "message": "[1, 2]"}) == ["2025-01-01 12:00:00  [1, 2]"]


def test_since_takes_durations_and_times() -> None:
    assert parse_since("10m", NOW) == NOW - timedelta(minutes=10)
    assert parse_since("2h", NOW) == NOW - timedelta(hours=2)
    assert parse_since("1d", NOW) == NOW - timedelta(days=1)
    assert parse_since("2025-01-01T03:00:00Z", NOW) == datetime(2025, 1, 1, 3, tzinfo=UTC)
    with pytest.raises(UserError, match=r"--since 'ten minutes'.*Fix: write 30s, 10m"):
        parse_since("ten minutes", NOW)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")
def test_logs_of_a_deployed_function(flowfn: Flowfn, layer_cache: Callable[[str], Path]) -> None:
    cache = str(layer_cache(APP))
    assert flowfn("bootstrap", "--yes").exit_code == 0
    deployed = flowfn("deploy", APP, "--stack", "shop-logs", "--yes", "--cache-dir", cache)
    assert deployed.exit_code == 0, deployed.output
    cfn, logs = flowfn.client("cloudformation"), flowfn.client("logs")
    # (moto's DescribeStackResource fails on a stack holding a type it skipped: list them instead)
    group = next(r["PhysicalResourceId"] for r in cfn.list_stack_resources(StackName="shop-logs")[
        "StackResourceSummaries"] if r["LogicalResourceId"] == "ResizeLogGroup")
    logs.create_log_stream(logGroupName=group, logStreamName="2025/01/01/[$LATEST]abc")
    now = int(datetime.now(UTC).timestamp() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName="2025/01/01/[$LATEST]abc", logEvents=[
        {"timestamp": now - 3_600_000, "message": json.dumps({**INFO, "message": "an hour ago"})},
        {"timestamp": now - 1000, "message": "START RequestId: req-1 Version: $LATEST"},
        {"timestamp": now - 500, "message": json.dumps(INFO)},
        {"timestamp": now, "message": json.dumps(ERROR)},
    ])

    shown = flowfn("logs", APP, "resize")  # the app's one stack is found by its tag
    assert shown.exit_code == 0, shown.output
    lines = [line.split("  ", 1)[1] for line in shown.output.splitlines() if not line.startswith("    ")]
    assert lines == ["START RequestId: req-1 Version: $LATEST", "INFO    resized  request_id=req-1 width=640 name=cat.jpg",
                     "ERROR   message m-1 failed  request_id=req-2"]
    assert "    ValueError: bad input" in shown.output
    older = flowfn("logs", APP, "resize", "--stack", "shop-logs", "--since", "2h")
    assert "an hour ago" in older.output

    unknown = flowfn("logs", APP, "resise", "--stack", "shop-logs")
    assert unknown.exit_code == 2 and "no function 'resise'; it has resize, work" in unknown.output
    missing = flowfn("logs", APP, "resize", "--stack", "nope")
    assert missing.exit_code == 2 and "no stack 'nope' in eu-west-1" in missing.output


def test_follow_prints_new_events_once(aws_env: None) -> None:
    import boto3
    from botocore.stub import Stubber

    from flowfn.deploy.aws import Aws
    from flowfn.deploy.logs import read_logs

    aws = Aws(session=None, region="eu-west-1")
    logs = aws._clients["logs"] = boto3.client("logs", region_name="eu-west-1", endpoint_url="http://127.0.0.1:9")
    first = {"eventId": "1", "timestamp": MS + 1, "message": "one", "logStreamName": "s"}
    second = {"eventId": "2", "timestamp": MS + 2, "message": "two", "logStreamName": "s"}
    passes: list[float] = []
    with Stubber(logs) as stub:
        stub.add_response("filter_log_events", {"events": [first]},
                          {"logGroupName": "/g", "startTime": MS, "interleaved": True})
        stub.add_response("filter_log_events", {"events": [first], "nextToken": "t"},
                          {"logGroupName": "/g", "startTime": MS + 1, "interleaved": True})
        stub.add_response("filter_log_events", {"events": [second]},
                          {"logGroupName": "/g", "startTime": MS + 1, "interleaved": True, "nextToken": "t"})
        got = [e["message"] for e in read_logs(aws, "/g", NOW, follow=True, sleep=passes.append,
                                                 stop=lambda: len(passes) == 1)]
        stub.assert_no_pending_responses()
    assert got == ["one", "two"] and len(passes) == 1
