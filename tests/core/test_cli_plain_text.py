"""What the CLI prints is the text it means: square brackets in errors, prefixes and grants are
never read as terminal markup (a fix hint of `uses=[...]` or a prefix `raw[v2]/` loses nothing)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-c", "from flowfn.cli import main; main()"]


def flowfn(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "300"}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def test_an_error_keeps_its_square_brackets(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "from flowfn import Bucket, on_s3\n"
        "uploads = Bucket('uploads')\n"
        "@on_s3(uploads, uses=uploads.write())\n"
        "def shrink(record, context): ...\n"
    )
    result = flowfn("list", "app.py", cwd=tmp_path)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "handler 'shrink', argument 'uses'" in line
    assert line.endswith("Fix: wrap it in a list: uses=[uploads.write()].")


@pytest.mark.parametrize("command", ["list", "synth"])
def test_tables_keep_square_brackets_in_prefixes(tmp_path: Path, command: str) -> None:
    (tmp_path / "app.py").write_text(
        "from flowfn import Bucket, on_s3\n"
        "uploads = Bucket('uploads')\n"
        "@on_s3(uploads, prefix='raw[v2]/', uses=[uploads.write(prefix='out[v2]/')])\n"
        "def shrink(record, context): ...\n"
    )
    args = ["--out", str(tmp_path / "out"), "--no-bytecode"] if command == "synth" else []
    result = flowfn(command, "app.py", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "raw[v2]/*" in result.stdout and "out[v2]/*" in result.stdout
