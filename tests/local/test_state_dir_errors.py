"""A --state-dir run-local cannot write to is one line naming it, with its Fix (exit 2); it was
reported as an HTTP port that cannot be served, with the advice to choose another --port."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from .conftest import CLI

pytestmark = pytest.mark.slow

APP = "from flowfn import Bucket, on_s3\nuploads = Bucket('uploads')\n@on_s3(uploads)\ndef h(record, context): ...\n"


def run_local(tmp_path: Path, state_dir: str) -> str:
    env = {**os.environ}
    env.pop("AWS_ENDPOINT_URL", None)
    result = subprocess.run([*CLI, "run-local", "app.py", "--port", "0", "--no-reload", "--state-dir", state_dir],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    (line,) = [text for text in result.stderr.splitlines() if text.startswith("error:")]
    assert "HTTP API" not in line and "--port" not in line
    return line


def test_a_file_as_the_state_dir(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "notes").write_text("")
    assert run_local(tmp_path, "notes") == ("error: --state-dir notes: is a file, not a folder. Fix: give a folder "
                                            "run-local can create and write to (the default is .flowfn).")


def test_a_file_in_the_way_of_a_bucket_folder(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / tmp_path.name).write_text("")  # where the app's folder goes
    line = run_local(tmp_path, "state")
    assert line.startswith(f"error: run-local cannot use state/{tmp_path.name}/buckets/uploads (")
    assert line.endswith("Fix: check that --state-dir state and the folders in it can be written to.")
