"""The local commands as a user runs them: `flowfn run-local` in a subprocess, `invoke`, `events`."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventV2Model,
    EventBridgeModel,
    S3Model,
    SqsModel,
)
from typer.testing import CliRunner

from flowfn.cli import cli

from .conftest import APPS, CLI, wait_for


class RunLocal:
    """`flowfn run-local --json` in a subprocess, with its invocation lines collected."""

    def __init__(self, tmp: Path, *args: str, stdin: int | None = None) -> None:
        self.state = tmp / "state"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("AWS_ENDPOINT_URL", None)
        self.proc = subprocess.Popen(
            [*CLI, "run-local", str(APPS / "cli_app.py"), "--port", "0", "--json", "--no-reload",
             "--state-dir", str(self.state), *args],
            cwd=tmp, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                item = json.loads(raw)
            except ValueError:
                continue
            if isinstance(item, dict) and "outcome" in item and "function" in item:
                self.lines.put(item)

    def run_state(self) -> dict[str, Any]:
        file = self.state / "cliapp" / "run.json"
        found = wait_for(lambda: file.exists() and file.read_text().strip(), 60, "run-local to start")
        return json.loads(found)  # type: ignore[no-any-return]

    def wait_invocations(self, done: Any, timeout: float = 30) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while not done(self.seen):
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                raise AssertionError(f"invocations so far: {self.seen}")
            try:
                self.seen.append(self.lines.get(timeout=left))
            except queue.Empty:
                continue
        return self.seen

    def stop(self) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        self.reader.join(5)
        return self.proc.returncode, err


runner = CliRunner()


@pytest.fixture
def run_local(tmp_path: Path) -> Iterator[RunLocal]:
    runner = RunLocal(tmp_path, "--clock-start", "2025-06-01T02:59:58Z")
    try:
        yield runner
    finally:
        runner.stop()


def count(seen: list[dict[str, Any]], function: str, outcome: str | None = None) -> int:
    return sum(1 for s in seen if s["function"] == function and (outcome is None or s["outcome"] == outcome))


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.slow
def test_run_local_runs_every_trigger_kind_end_to_end(run_local: RunLocal) -> None:
    state = run_local.run_state()
    mirror = run_local.state / "cliapp" / "buckets"
    sqs = boto3.client("sqs", endpoint_url=state["endpoint_url"], region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")

    # A file dropped into the bucket's folder starts a chain of three handlers, one step failing.
    (mirror / "inbox" / "words.txt").write_text("alpha fail beta")
    sqs.send_message(QueueUrl=state["queues"]["slow"], MessageBody="never finishes")
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(_get(state["http_url"] + "/together")))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 4  # four requests met at a barrier: served concurrently

    seen = run_local.wait_invocations(lambda s: (
        count(s, "finish", "ok") == 2 and count(s, "process", "partial") == 2
        and count(s, "slow", "timeout") == 1 and count(s, "nightly", "ok") == 1
    ))
    assert count(seen, "receive", "ok") == 1
    assert count(seen, "together", "ok") == 4
    timeout_line = next(s for s in seen if s["function"] == "slow")
    assert timeout_line["error"] == "TimeoutError: Task timed out after 1.00 seconds"
    failing = [s for s in seen if s["function"] == "process" and s["outcome"] == "partial"]
    assert len({tuple(s["failed"]) for s in failing}) == 1  # the same message, received twice

    # What the handlers wrote shows up in the mirror folders.
    assert wait_for(lambda: (mirror / "archive" / "beta.txt").exists(), 10, "the mirror")
    assert (mirror / "archive" / "alpha.txt").read_text() == "ALPHA"
    nightly = wait_for(lambda: (mirror / "archive" / "nightly.txt").exists()
                       and (mirror / "archive" / "nightly.txt").read_text(), 10, "nightly")
    assert nightly == "2025-06-01T03:00:00Z"

    # Failed messages went to the dead-letter queues after their receives.
    def dlq(name: str) -> list[str]:
        got = sqs.receive_message(QueueUrl=state["queues"][name], MaxNumberOfMessages=10,
                                  WaitTimeSeconds=1)
        return [m["Body"] for m in got.get("Messages", [])]

    assert wait_for(lambda: dlq("steps-dlq"), 10, "steps-dlq") == ["fail"]
    assert wait_for(lambda: dlq("slow-dlq"), 10, "slow-dlq") == ["never finishes"]

    code, err = run_local.stop()
    assert code == 0, err
    assert "stopped" in err
    assert not (run_local.state / "cliapp" / "run.json").exists()


@pytest.mark.slow
def test_invoke_uses_the_running_app(run_local: RunLocal) -> None:
    state = run_local.run_state()
    fired = runner.invoke(cli, ["invoke", str(APPS / "cli_app.py"), "nightly",
                                "--state-dir", str(run_local.state)])
    assert fired.exit_code == 0, fired.stderr
    assert "using the running run-local of cliapp" in fired.stderr
    # The handler wrote through the running emulator: the running app mirrors the object.
    nightly = run_local.state / "cliapp" / "buckets" / "archive" / "nightly.txt"
    assert wait_for(nightly.exists, 10, "the object written by the invoked handler")
    assert state["endpoint_url"]
    missing = runner.invoke(cli, ["invoke", str(APPS / "cli_app.py"), "nope", "--state-dir",
                                  str(run_local.state)])
    assert missing.exit_code == 1 and "no handler named 'nope'" in missing.stderr


def test_invoke_alone_with_an_event_file(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    result = runner.invoke(cli, ["events", "http", "--path", "/together"])
    event.write_text(result.stdout)
    bad = runner.invoke(cli, ["invoke", str(APPS / "services.py"), "get_item", "--event",
                              str(tmp_path / "none.json"), "--state-dir", str(tmp_path)])
    assert bad.exit_code == 1 and "none.json" in bad.stderr
    event.write_text(json.dumps({"version": "2.0", "routeKey": "GET /items/{item_id}",
                                 "rawPath": "/items/5", "rawQueryString": "", "headers": {},
                                 "requestContext": {"http": {"method": "GET", "path": "/items/5"},
                                                    "requestId": "r"},
                                 "pathParameters": {"item_id": "5"}, "isBase64Encoded": False}))
    ok = runner.invoke(cli, ["invoke", str(APPS / "services.py"), "get_item", "--event", str(event),
                             "--state-dir", str(tmp_path)])
    assert ok.exit_code == 0, ok.stderr
    response = json.loads(ok.stdout[ok.stdout.index('{\n  "statusCode"'):])
    assert response["statusCode"] == 200 and json.loads(response["body"])["id"] == "5"


@pytest.mark.parametrize(("args", "model"), [
    (["s3", "--bucket", "photos", "--key", "a/b c.jpg"], S3Model),
    (["s3", "--event", "removed"], S3Model),
    (["sqs", "--body", "one", "--body", "{\"n\": 2}", "--attribute", "kind=test"], SqsModel),
    (["schedule", "--rule", "nightly", "--time", "2025-01-01T03:00:00Z"], EventBridgeModel),
    (["http", "--method", "POST", "--path", "/items/9?x=1", "--route", "POST /items/{id}",
      "--body", "{\"a\": 1}", "--header", "X-Test: yes"], APIGatewayProxyEventV2Model),
])
def test_events_print_samples_powertools_accepts(args: list[str], model: Any) -> None:
    result = runner.invoke(cli, ["events", *args])
    assert result.exit_code == 0, result.output
    model.model_validate(json.loads(result.stdout))


def test_events_explain_bad_input() -> None:
    bad_time = runner.invoke(cli, ["events", "schedule", "--time", "tonight"])
    assert bad_time.exit_code == 1 and "ISO 8601" in bad_time.stderr
    bad_route = runner.invoke(cli, ["events", "http", "--path", "/x", "--route", "GET /items/{id}"])
    assert bad_route.exit_code == 1 and "does not match" in bad_route.stderr
    bad_event = runner.invoke(cli, ["events", "s3", "--event", "exploded"])
    assert bad_event.exit_code == 1 and "not an S3 event type" in bad_event.stderr


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.slow
@pytest.mark.skipif(not (EXAMPLES / "thumbnail" / "sample.jpg").exists(), reason="thumbnail example absent")
def test_the_thumbnail_demo_turns_a_dropped_jpeg_into_a_thumbnail(tmp_path: Path) -> None:
    state = tmp_path / "state"
    proc = subprocess.Popen(
        [*CLI, "run-local", str(EXAMPLES / "thumbnail" / "app.py"), "--port", "0", "--no-reload",
         "--state-dir", str(state)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        folders = state / "thumbnail" / "buckets"
        wait_for(lambda: (state / "thumbnail" / "run.json").exists(), 60, "run-local to start")
        incoming = folders / "uploads" / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        (incoming / "beach.jpg").write_bytes((EXAMPLES / "thumbnail" / "sample.jpg").read_bytes())
        thumb = folders / "thumbnails" / "beach.jpg"
        wait_for(lambda: thumb.exists() and thumb.stat().st_size > 0, 30, "the thumbnail")
        assert thumb.read_bytes()[:2] == b"\xff\xd8"  # a JPEG
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    assert "make_thumbnail  s3  uploads/incoming/beach.jpg" in output
