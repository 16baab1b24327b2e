"""The command line: flowfn --help and flowfn list."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from flowfn.cli import cli

APP = '''
from flowfn import Bucket, Queue, on_s3, on_sqs, on_schedule, on_http

uploads = Bucket("uploads")
thumbnails = Bucket("thumbnails")
jobs = Queue("jobs", max_receive_count=3)

@on_s3(uploads, events=["created"], prefix="incoming/", suffix=".jpg",
       uses=[uploads.read(), thumbnails.write()], memory_mb=512, timeout_s=30)
def make_thumbnail(event, context): ...

@on_sqs(jobs, batch_size=10, uses=[thumbnails.read()])
def process(record, context): ...

@on_schedule("cron(0 3 * * ? *)")
def nightly(event, context): ...

@on_http("GET", "/thumbnails/{name}", uses=[thumbnails.read()])
def get_thumbnail(request): ...
'''

runner = CliRunner()


def test_help_lists_every_command() -> None:
    result = runner.invoke(cli, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for command in ("list", "synth", "graph", "run-local", "invoke", "events"):
        assert re.search(rf"│ {command}\s+\S", result.output), result.output


def test_list_prints_the_table(tmp_path: Path) -> None:
    target = tmp_path / "demo_app.py"
    target.write_text(APP)
    result = runner.invoke(cli, ["list", str(target)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    out = result.output
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.startswith("│ ")}
    assert "s3 uploads incoming/*.jpg (ObjectCreated:*)" in rows["make_thumbnail"]
    assert "uploads (bucket): read (trigger), read" in rows["make_thumbnail"]
    assert "sqs jobs (batch 10)" in rows["process"]
    assert "jobs (queue): consume (trigger)" in rows["process"]
    assert "schedule cron(0 3 * * ? *)" in rows["nightly"]
    assert "at 03:00 every day (UTC)" in rows["nightly"]
    assert "http GET /thumbnails/{name}" in rows["get_thumbnail"]
    fires = re.findall(r"\d{4}-\d\d-\d\d 03:00 UTC", out)
    assert len(fires) == 3


def test_list_errors_are_one_line(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["list", str(tmp_path / "absent.py")])
    assert result.exit_code == 1
    assert "error:" in result.output and "no such file" in result.output
    assert "Traceback" not in result.output
    broken = tmp_path / "broken_app.py"
    broken.write_text("from flowfn import on_schedule\n@on_schedule('rate(1 minutes)')\ndef f(): ...\n")
    result = runner.invoke(cli, ["list", str(broken)])
    assert result.exit_code == 1
    assert "handler 'f', argument 'expression'" in result.output and "Traceback" not in result.output
