"""`flowfn run-local module:attribute`, run from the folder that holds the module, reloads the code
when it changes, as it does for a file or a package folder."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from .conftest import wait_for

pytestmark = pytest.mark.slow

APP = "from flowfn import App\napp = App('svc')\n@app.on_http('GET', '/health')\ndef health(request):\n    return 'v1'\n"


def test_a_module_target_reloads_its_changed_code(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "__init__.py").write_text("")
    source = tmp_path / "svc" / "main.py"
    source.write_text(APP)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("AWS_ENDPOINT_URL", None)
    # -P: no current folder on sys.path, as under the `flowfn` console script.
    proc = subprocess.Popen(
        [sys.executable, "-P", "-c", "from flowfn.cli import main; main()", "run-local", "svc.main:app",
         "--port", "0", "--no-mirror", "--state-dir", str(tmp_path / "state")],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
    reader.start()
    try:
        banner = wait_for(lambda: re.search(r"http\s+(http://127\.0\.0\.1:\d+)", "".join(lines)), 60, "the banner")
        url = banner.group(1) + "/health"

        def answer() -> bytes:
            with urllib.request.urlopen(url, timeout=10) as response:
                return bytes(response.read())

        assert wait_for(answer, 30, "the first answer") == b"v1"
        source.write_text(APP.replace("'v1'", "'v2'"))
        wait_for(lambda: any(line.startswith("reloaded") for line in lines), 30, "the reload")
        assert answer() == b"v2"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            assert proc.wait(timeout=30) == 0, "".join(lines)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            reader.join(5)
            if proc.stdout is not None:
                proc.stdout.close()
