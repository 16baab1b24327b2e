"""An event of another trigger's kind fails the invocation with the EventError that says so, rather
than running a handler of records over none and reporting success."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from .conftest import CLI

pytestmark = pytest.mark.slow

APP = """\
from flowfn import Bucket, Queue, on_s3, on_sqs
jobs = Queue("jobs")
uploads = Bucket("uploads")
@on_sqs(jobs)
def work(record, context): ...
@on_s3(uploads)
def shrink(record, context): ...
"""


def flowfn(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "400"}
    env.pop("AWS_ENDPOINT_URL", None)
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, env=env, input=stdin,
                          timeout=120)


@pytest.mark.parametrize(("function", "kind"), [("work", "sqs"), ("shrink", "s3")])
def test_an_http_event_given_to_a_records_handler_fails(tmp_path: Path, function: str, kind: str) -> None:
    (tmp_path / "app.py").write_text(APP)
    http = flowfn("events", "http", "--path", "/orders", cwd=tmp_path)
    assert http.returncode == 0, http.stderr
    assert "Records" not in json.loads(http.stdout)
    result = flowfn("invoke", "app.py", function, "--event", "-", "--state-dir", str(tmp_path / "state"),
                    cwd=tmp_path, stdin=http.stdout)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{kind} event: Records is missing (the event's keys: headers, isBase64Encoded" in result.stderr
    assert f"`flowfn events {kind}` prints one" in result.stderr
