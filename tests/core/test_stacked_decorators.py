"""Two trigger decorators stacked on one function are refused with the name that makes the second a
handler of its own; the outer one replaced the inner one without a word, and its route was gone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-c", "from flowfn.cli import main; main()"]


def flowfn_list(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "app.py").write_text(source)
    return subprocess.run([*CLI, "list", "app.py"], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={**os.environ, "COLUMNS": "300"})


def test_a_second_trigger_on_one_function_is_refused(tmp_path: Path) -> None:
    result = flowfn_list(tmp_path, "from flowfn import on_http, on_schedule\n"
                                   "@on_schedule('rate(1 hour)')\n"
                                   "@on_http('GET', '/run')\n"
                                   "def job(event=None, context=None): ...\n")
    assert result.returncode == 1, result.stdout
    (line,) = result.stderr.strip().splitlines()
    assert line == (f"error: {tmp_path / 'app.py'}:2: handler 'job', argument 'name': the function is already "
                    "handler 'job' on http GET /run, and a handler has one trigger. Fix: give this trigger a "
                    "handler of its own: name='job_schedule'.")


def test_named_apart_both_triggers_run_it(tmp_path: Path) -> None:
    result = flowfn_list(tmp_path, "from flowfn import on_http, on_schedule\n"
                                   "@on_schedule('rate(1 hour)', name='job_schedule')\n"
                                   "@on_http('GET', '/run')\n"
                                   "def job(event=None, context=None): ...\n")
    assert result.returncode == 0, result.stderr
    assert "2 functions" in result.stdout and "http GET /run" in result.stdout
    assert "schedule rate(1 hour)" in result.stdout
