"""The --permissions switch and report of `flowfn run-local` and `flowfn invoke`, as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowfn.cli import cli

APP = str(Path(__file__).parent / "apps" / "cli_app.py")
CLI = [sys.executable, "-c", "from flowfn.cli import main; main()"]
runner = CliRunner()


def _run_local(tmp_path: Path, *args: str) -> tuple[int, str]:
    """Start run-local, POST /notes once, stop it; return the answer's status and its output."""
    state = tmp_path / "state"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("AWS_ENDPOINT_URL", None)
    proc = subprocess.Popen([*CLI, "run-local", APP, "--port", "0", "--no-reload", "--no-mirror",
                             "--state-dir", str(state), *args],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        run = state / "permcli" / "run.json"
        deadline = time.monotonic() + 60
        while not (run.exists() and run.read_text().strip()):
            assert proc.poll() is None and time.monotonic() < deadline, "run-local did not start"
            time.sleep(0.05)
        url = json.loads(run.read_text())["http_url"]
        request = urllib.request.Request(url + "/notes", data=b"{}", method="POST")
        try:
            status = urllib.request.urlopen(request, timeout=30).status
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    return status, out


@pytest.mark.slow
def test_run_local_enforces_and_reports_used_versus_granted(tmp_path: Path) -> None:
    status, out = _run_local(tmp_path, "--permissions-report")
    assert status == 500, out
    assert "AccessDenied" in out and 'Fix: add uses=[notes.write(prefix=\\"other/\\")]' in out
    report = out[out.index("permissions: used versus granted"):]
    assert "used     s3:PutObject arn:aws:s3:::notes/in/*" in report  # by the grant that allowed it
    assert "DENIED   s3:PutObject arn:aws:s3:::notes/other/note.txt" in report
    assert "unused   s3:ListBucket arn:aws:s3:::spare" in report
    assert "unused   s3:GetObject arn:aws:s3:::notes/*" in report


@pytest.mark.slow
def test_run_local_warn_logs_and_allows(tmp_path: Path) -> None:
    status, out = _run_local(tmp_path, "--permissions", "warn")
    assert status == 200, out
    assert "would be denied in AWS" in out
    assert "permissions: used versus granted" not in out


def test_invoke_is_checked_and_takes_the_switch(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"version": "2.0", "routeKey": "POST /notes", "rawPath": "/notes",
                                 "rawQueryString": "", "headers": {}, "isBase64Encoded": False,
                                 "requestContext": {"http": {"method": "POST", "path": "/notes"}},
                                 "body": "{}"}))
    args = ["invoke", APP, "add_note", "--event", str(event), "--state-dir", str(tmp_path / "s")]
    denied = runner.invoke(cli, args)
    assert denied.exit_code == 1, denied.output
    assert "AccessDenied" in denied.output
    allowed = runner.invoke(cli, [*args, "--permissions", "off"])
    assert allowed.exit_code == 0, allowed.output
    bad = runner.invoke(cli, [*args, "--permissions", "lax"])
    assert bad.exit_code == 2
    assert "--permissions lax: not a mode; use one of enforce, warn, off" in bad.output
