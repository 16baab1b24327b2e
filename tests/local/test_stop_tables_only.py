"""Stopping run-local of an app with tables and no stream handler says it saved the items, without
talking of shards and checkpoints the app does not have."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from .conftest import CLI, wait_for

pytestmark = pytest.mark.slow

APP = """\
import boto3
from flowfn import Table, on_http

ledger = Table("ledger", key="order_id")


@on_http("POST", "/orders", uses=[ledger.write()])
def place(request):
    boto3.resource("dynamodb").Table(ledger.name).put_item(Item={"order_id": "o1"})
"""


def test_saved_table_items_are_said_without_shards(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("AWS_ENDPOINT_URL", None)
    proc = subprocess.Popen([*CLI, "run-local", "app.py", "--port", "0", "--no-mirror", "--no-reload", "--json",
                             "--state-dir", str(tmp_path / "state")],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(proc.stdout or ()), daemon=True)
    reader.start()
    try:
        wait_for(lambda: any(r.read_text().strip() for r in (tmp_path / "state").glob("*/run.json")), 60,
                 "run-local to start")
        subprocess.run([*CLI, "invoke", "app.py", "place", "--state-dir", str(tmp_path / "state")], cwd=tmp_path,
                       env=env, capture_output=True, timeout=120, check=True)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        reader.join(5)
    assert proc.returncode == 0, err
    (saved,) = [line for line in err.splitlines() if line.startswith("saved ")]
    assert saved.startswith("saved 1 table item to ") and saved.endswith(
        "streams.json; the next run-local of this app restores them"), saved
