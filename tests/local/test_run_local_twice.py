"""A second `flowfn run-local` of an app whose first run keeps its state in the same --state-dir is
refused in one line with its Fix (exit 2): both ran, mirroring the same folders and each saving its
queues over the other's at stop."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from .conftest import CLI, wait_for

pytestmark = pytest.mark.slow


def test_a_second_run_on_the_same_state_dir_is_refused(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("from flowfn import on_http\n@on_http('GET', '/health')\n"
                                     "def health(request):\n    return 'ok'\n")
    env = {**os.environ}
    env.pop("AWS_ENDPOINT_URL", None)
    state = tmp_path / "state"
    args = ["run-local", "app.py", "--port", "0", "--no-mirror", "--no-reload", "--state-dir", str(state)]
    first = subprocess.Popen([*CLI, *args], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: any(r.read_text().strip() for r in state.glob("*/run.json")), 60, "the first run")
        second = subprocess.run([*CLI, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30)
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(timeout=60)
    assert second.returncode == 2, second.stderr
    (line,) = second.stderr.strip().splitlines()
    assert line.startswith(f"error: run-local of {tmp_path.name} is already running (pid {first.pid}) with "
                           f"--state-dir {state}: ")
    assert line.endswith("Fix: stop the first (Ctrl-C in its terminal), or give this one another --state-dir.")
