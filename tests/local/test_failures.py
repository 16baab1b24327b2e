"""Every failure is counted and shown: in flowfn.testing's records, in the log, and in run-local's lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from flowfn.cli import cli
from flowfn.testing import Harness, run_app

from .conftest import APPS
from .test_cli import CLI, wait_for

APP = str(APPS / "failing_app.py")


@pytest.fixture(scope="module")
def failing() -> Iterator[Harness]:
    with run_app(APP) as harness:
        yield harness


@pytest.fixture
def app(failing: Harness) -> Harness:
    failing.clear()
    return failing


def error_lines(out: str) -> list[dict[str, Any]]:
    lines = []
    for raw in out.splitlines():
        try:
            item = json.loads(raw)
        except ValueError:
            continue
        if isinstance(item, dict) and item.get("level") == "ERROR":
            lines.append(item)
    return lines


def test_an_http_5xx_answer_is_a_failed_invocation(app: Harness) -> None:
    raised = app.get("/fail")
    assert raised.status == 500 and raised.json()["requestId"]  # the function's own answer
    assert "secret detail" not in raised.text
    answered = app.get("/unavailable")
    assert answered.status == 503 and answered.json() == {"retry": "later"}  # the client still gets it
    assert app.get("/missing").status == 404

    failed = {inv.function: inv for inv in app.failures()}
    assert set(failed) == {"fail", "unavailable"}  # a 4xx is the client's mistake, not a failure
    assert failed["fail"].outcome == "error" and failed["fail"].error_text() == "HTTP 500"
    assert failed["unavailable"].error_text() == "HTTP 503"
    assert failed["unavailable"].result["statusCode"] == 503


def test_a_failing_s3_handler_logs_each_traceback(app: Harness, capsys: pytest.CaptureFixture[str]) -> None:
    app.upload("drops", "bad.txt", b"x")
    app.drain()
    attempts = app.invocations("on_drop")
    assert [inv.outcome for inv in attempts] == ["error"] * 3  # the first try and Lambda's two retries
    errors = [line for line in error_lines(capsys.readouterr().out) if line.get("function") == "on_drop"]
    assert len(errors) == 3
    assert all("Traceback" in line["exception"] and "cannot read bad.txt" in line["exception"]
               for line in errors)
    assert {line["exception_name"] for line in errors} == {"ValueError"}
    assert {line["request_id"] for line in errors} == {inv.request_id for inv in attempts}


def test_a_timeout_logs_where_the_handler_was(app: Harness, capsys: pytest.CaptureFixture[str]) -> None:
    timed_out = app.fire("hang")
    assert timed_out.outcome == "timeout"
    (line,) = [line for line in error_lines(capsys.readouterr().out) if line.get("function") == "hang"]
    assert line["message"].startswith("Task timed out after 1.00 seconds")
    assert line["request_id"] == timed_out.request_id
    assert "failing_app.py" in line["exception"] and "in hang" in line["exception"]


def test_an_s3_event_is_given_up_after_its_retries(app: Harness) -> None:
    from flowfn.local.report import given_up_lines

    app.upload("drops", "worse.txt", b"x")
    app.drain()
    attempts = app.invocations("on_drop")
    assert [inv.given_up for inv in attempts[:2]] == [(), ()]
    (given_up,) = attempts[2].given_up
    assert (given_up.event, given_up.attempts, given_up.destination) == ("drops/worse.txt", 3, "dropped")
    (line,) = given_up_lines(attempts[2])  # as run-local prints it
    assert line.endswith("  on_drop  s3  gave up on drops/worse.txt after 3 attempts (retries spent): "
                         "dropped (deployed, it goes to the FailedEvents queue)")


def test_a_failing_schedule_is_retried_twice_then_given_up(app: Harness) -> None:
    fired = app.clock.advance(hours=4)  # 03:00 on the first day
    nightly = [inv for inv in fired if inv.function == "nightly"]
    assert [inv.outcome for inv in nightly] == ["error"] * 3
    assert [inv.source for inv in nightly] == ["2025-01-01 03:00:00 UTC",
                                               "2025-01-01 03:00:00 UTC (retry 1)",
                                               "2025-01-01 03:00:00 UTC (retry 2)"]
    assert nightly[-1].given_up[0].destination == "dropped"
    (off,) = [inv for inv in fired if inv.function == "switched_off"]
    assert off.outcome == "throttled" and off.given_up[0].destination == "dropped"


def test_an_s3_event_for_a_function_that_may_not_run_is_dropped_and_said_so(app: Harness) -> None:
    app.upload("paused", "a.txt", b"x")
    app.drain()
    (inv,) = app.invocations("paused")
    assert inv.outcome == "throttled"
    (given_up,) = inv.given_up
    assert (given_up.event, given_up.destination, given_up.reason) == ("paused/a.txt", "dropped",
                                                                       "reserved concurrency is 0")


def test_a_message_on_its_last_receive_is_reported_moving_to_the_dlq(app: Harness) -> None:
    from flowfn.local.report import given_up_lines

    poison = app.send("work", "poison")
    app.send("work", "fine")
    app.drain()
    failed = [inv for inv in app.invocations("take") if poison in inv.failed_ids]
    assert len(failed) == 2  # max_receive_count=2
    assert failed[0].given_up == ()
    (given_up,) = failed[1].given_up
    assert given_up.event == f"message {poison}"
    assert (given_up.attempts, given_up.destination) == (2, "work-dlq")
    assert given_up_lines(failed[1])[0].endswith(
        f"  take  sqs  gave up on message {poison} after 2 receives: it moves to the dead-letter queue work-dlq")
    assert app.messages("work-dlq") == ["poison"]


runner = CliRunner()


def test_invoke_exits_non_zero_on_an_http_500(tmp_path: Path) -> None:
    # services.py: this module's harness holds failing_app's resources in the process-wide emulator.
    result = runner.invoke(cli, ["invoke", str(APPS / "services.py"), "boom", "--state-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.rstrip().endswith("error 500")
    assert "no run-local of this app is running" in result.stderr  # not quietly a throwaway emulator
    response = json.loads(result.stdout[result.stdout.index('{\n  "statusCode"'):])
    assert response["statusCode"] == 500  # the response is still printed


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.slow
def test_run_local_shows_every_failure_and_right_hints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "elsewhere"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("AWS_ENDPOINT_URL", None)
    proc = subprocess.Popen(
        [*CLI, "run-local", APP, "--port", "0", "--json", "--no-reload", "--state-dir", str(state),
         "--clock-start", "2025-06-01T02:59:58Z"],
        cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env,
    )
    lines: list[dict[str, Any]] = []

    def read() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            lines.append(json.loads(raw))  # every line on stdout is one JSON object

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def seen(function: str, **keys: Any) -> list[dict[str, Any]]:
        return [line for line in list(lines) if line.get("function") == function
                and all(line.get(k) == v for k, v in keys.items())]

    err = ""
    try:
        file = state / "failing" / "run.json"
        run = json.loads(wait_for(lambda: file.exists() and file.read_text().strip(), 60, "run-local"))
        client = {"endpoint_url": run["endpoint_url"], "region_name": "us-east-1",
                  "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        boto3.client("sqs", **client).send_message(QueueUrl=run["queues"]["work"], MessageBody="poison")
        boto3.client("s3", **client).put_object(Bucket=run["buckets"]["drops"], Key="bad.txt", Body=b"x")
        assert _get(run["http_url"] + "/fail") == 500

        # `flowfn invoke` from another folder, without --state-dir, finds the run all the same.
        monkeypatch.chdir(tmp_path)
        invoked = runner.invoke(cli, ["invoke", APP, "unavailable"])
        assert invoked.exit_code == 1 and invoked.stderr.rstrip().endswith("error 503")
        assert f"using the running run-local of failing (pid {proc.pid})" in invoked.stderr

        wait_for(lambda: len(seen("take", outcome="partial")) == 2 and seen("nightly", outcome="error")
                 and seen("on_drop", level="ERROR") and seen("switched_off"), 30, "the failures")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            err = proc.communicate(timeout=30)[1]
        except subprocess.TimeoutExpired:
            proc.kill()
            err = proc.communicate()[1]
        reader.join(5)
    assert proc.returncode == 0, err

    (http,) = seen("fail", outcome="error")
    assert (http["outcome"], http["status"], http["error"]) == ("error", 500, "HTTP 500")
    (logged,) = seen("on_drop", level="ERROR")
    assert "Traceback" in logged["exception"] and "cannot read bad.txt" in logged["exception"]
    poisoned = seen("take", outcome="partial")
    assert poisoned[0]["given_up"] == []
    assert poisoned[1]["given_up"][0]["destination"] == "work-dlq"
    (off,) = seen("switched_off", outcome="throttled")
    assert off["given_up"][0]["destination"] == "dropped"
    # Failed events whose retry (a minute later) was not due at Ctrl-C: said so, not lost quietly.
    assert "nightly: gave up on 03:00:00 UTC after 1 failed attempt: its retry" in err
    assert "on_drop: gave up on drops/bad.txt after 1 failed attempt" in err

    # The banner (on stderr with --json): a sample message goes to the queue, not its DLQ; no
    # prompt to type commands when nothing can be typed; what the `aws` lines need.
    assert f"--queue-url {run['queues']['work']} " in err
    assert "--queue-url " + run["queues"]["work-dlq"] not in err
    assert "Type 'fire" not in err
    assert "pip install awscli" in err
    assert f"FUNCTION --state-dir {state}" in err
