"""A command's stdout is its output and nothing else, so that it can be piped or saved: `flowfn
invoke` prints what the handler returned, `flowfn graph` the Mermaid text; the log lines and prints
of the handler, and of the app as it is imported, go to stderr."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from .conftest import CLI

pytestmark = pytest.mark.slow

APP = """\
from flowfn import on_http
from flowfn.runtime import logger

logger.info("importing the app")
print("a print at import")


@on_http("GET", "/health")
def health(request):
    logger.info("checked", depth=2)
    print("a print in the handler")
    return {"ok": True}
"""


def test_invoke_prints_only_the_result_on_stdout(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    env = {**os.environ}
    env.pop("AWS_ENDPOINT_URL", None)
    result = subprocess.run([*CLI, "invoke", "app.py", "health", "--state-dir", str(tmp_path / "state")],
                            capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert response["statusCode"] == 200 and json.loads(response["body"]) == {"ok": True}
    for line in ('"message":"importing the app"', "a print at import", '"message":"checked"',
                 "a print in the handler"):
        assert line in result.stderr


def test_graph_prints_only_the_flowchart_on_stdout(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    result = subprocess.run([*CLI, "graph", "app.py"], capture_output=True, text=True, cwd=tmp_path,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("flowchart LR\n") and "importing the app" not in result.stdout
    assert '"message":"importing the app"' in result.stderr and "a print at import" in result.stderr
