"""An --out that cannot be written is one line naming it, with its Fix (exit 2), for synth and graph
alike; it was a FileNotFoundError or NotADirectoryError traceback from flowfn's insides."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-c", "from flowfn.cli import main; main()"]


@pytest.mark.parametrize(("command", "out", "fix"), [
    ("graph", "missing/graph.mmd", "Fix: name a file in a folder you can write to."),
    ("synth", "notes/out", "Fix: name a folder you can write to."),
])
def test_an_out_that_cannot_be_written_is_one_line(tmp_path: Path, command: str, out: str, fix: str) -> None:
    (tmp_path / "app.py").write_text("from flowfn import on_http\n@on_http('GET', '/health')\n"
                                     "def health(request): ...\n")
    (tmp_path / "notes").write_text("a file where synth would make a folder")
    result = subprocess.run([*CLI, command, "app.py", "--out", out], capture_output=True, text=True, cwd=tmp_path,
                            timeout=120)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: --out {out}: ") and line.endswith(fix)
