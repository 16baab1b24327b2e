"""`flowfn run-local --port N` with N in use is one line that says so and how to fix it, exit 2, as
the CLI means it to be; it was a traceback ending in an AttributeError from flowfn's HTTP server."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from .conftest import CLI

pytestmark = pytest.mark.slow


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("from flowfn import on_http\n@on_http('GET', '/health')\n"
                                     "def health(request):\n    return 'ok'\n")
    env = {**os.environ}
    env.pop("AWS_ENDPOINT_URL", None)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([*CLI, "run-local", "app.py", "--port", str(port), "--no-mirror", "--no-reload",
                                 "--state-dir", str(tmp_path / "state")],
                                capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = [text for text in result.stderr.splitlines() if text.startswith("error:")]
    assert line.startswith(f"error: cannot serve the HTTP API on 127.0.0.1:{port} (")
    assert line.endswith("choose another --port, or --port 0 for any free one")
