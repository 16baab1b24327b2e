"""`flowfn run-local` as a subprocess with a tumbling window: the window's final invocation comes
when it ends, and only then does the shard's checkpoint move past its records."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from .test_mirror import StopApp, stopapp, wait_for

pytestmark = pytest.mark.slow

__all__ = ["stopapp"]  # the fixture, used by name

APP = """
import json
from pathlib import Path

from flowfn import App, Stream

app = App("windows")
clicks = Stream("clicks")
TOTALS = Path(__file__).with_name("totals.jsonl")


@app.on_kinesis(clicks, batch=True, tumbling_window_s=2, starting_position="trim_horizon")
def per_key(batch):
    for record in batch:
        batch.state[record.partition_key] = batch.state.get(record.partition_key, 0) + 1
    if batch.is_final:
        with TOTALS.open("a") as out:
            out.write(json.dumps({"start": batch.window.start.isoformat(), **batch.state}) + "\\n")
"""


def test_run_local_makes_each_windows_final_invocation_and_then_checkpoints(stopapp: Any,
                                                                            tmp_path: Path) -> None:
    app = tmp_path / "windows.py"
    app.write_text(APP)
    totals = tmp_path / "totals.jsonl"
    run: StopApp = stopapp(app, "windows")
    kinesis = boto3.client("kinesis", endpoint_url=run.run_state["endpoint_url"], region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
    kinesis.put_records(StreamName="clicks", Records=[
        {"Data": b"x", "PartitionKey": key} for key in ("a", "b", "a")])

    def counted() -> int:
        lines = totals.read_text().splitlines() if totals.exists() else []
        return sum(v for line in lines for k, v in json.loads(line).items() if k != "start")

    wait_for(lambda: counted() == 3, 30, "the windows' final invocations")
    checkpoint = tmp_path / "state" / "windows" / "checkpoints" / "per_key.json"
    wait_for(checkpoint.exists, 10, "the checkpoint")
    assert json.loads(checkpoint.read_text()) == {"shardId-000000000000": "3"}
    assert run.stop() == 0
    lines = [s for s in run.seen if s["function"] == "per_key"]
    assert lines and all(s["outcome"] == "ok" for s in lines)
    ends = [s["source"] for s in lines if " ends)" in s["source"]]
    assert ends and all(s.startswith("clicks shardId-000000000000 (window ") for s in ends)
    for line in totals.read_text().splitlines():  # 2-second windows start on even seconds
        assert datetime.fromisoformat(json.loads(line)["start"]).second % 2 == 0


OPEN = """
import json
from pathlib import Path

from flowfn import App, Stream

app = App("open")
clicks = Stream("clicks")
CALLS = Path(__file__).with_name("calls.jsonl")


@app.on_kinesis(clicks, batch=True, tumbling_window_s=900, starting_position="trim_horizon")
def count(batch):
    with CALLS.open("a") as out:
        out.write(json.dumps({"records": len(batch), "state": batch.state}) + "\\n")
    batch.state["n"] = batch.state.get("n", 0) + len(batch)
"""


def test_a_run_stopped_mid_window_reads_the_window_again_with_a_fresh_state(stopapp: Any,
                                                                            tmp_path: Path) -> None:
    app = tmp_path / "open.py"
    app.write_text(OPEN)
    calls = tmp_path / "calls.jsonl"

    def seen() -> list[dict[str, Any]]:
        return [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []

    run: StopApp = stopapp(app, "open")
    kinesis = boto3.client("kinesis", endpoint_url=run.run_state["endpoint_url"], region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
    kinesis.put_records(StreamName="clicks", Records=[{"Data": b"x", "PartitionKey": "k"}] * 2)
    wait_for(lambda: sum(c["records"] for c in seen()) == 2, 30, "the two records")
    assert run.stop() == 0  # the window is still open: its state is lost, and its records not checkpointed
    before = len(seen())
    assert not (tmp_path / "state" / "open" / "checkpoints" / "count.json").exists()

    again: StopApp = stopapp(app, "open")
    wait_for(lambda: sum(c["records"] for c in seen()) == 4, 30, "the two records again")
    assert again.stop() == 0
    restarted = seen()[before:]
    assert restarted[0]["state"] == {} and sum(c["records"] for c in restarted) == 2  # again, afresh
