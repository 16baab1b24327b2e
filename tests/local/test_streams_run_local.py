"""`flowfn run-local` as a subprocess with a Kinesis trigger: one line per invocation, one per
given-up batch, and a restarted run resumes each shard from its checkpoint."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3
import pytest

from flowfn.triggers.kinesis import aws_sequence_number

from .test_mirror import StopApp, stopapp, wait_for

pytestmark = pytest.mark.slow

__all__ = ["stopapp"]  # the fixture, used by name

APP = """
from pathlib import Path

from flowfn import App, Stream

app = App("resume")
events = Stream("events")
SEEN = Path(__file__).with_name("seen.txt")


@app.on_kinesis(events, starting_position="trim_horizon")
def count(record):
    with SEEN.open("a") as out:
        out.write(record.text + "\\n")
"""


def _put(run: StopApp, texts: list[str]) -> None:
    kinesis = boto3.client("kinesis", endpoint_url=run.run_state["endpoint_url"], region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
    for text in texts:
        kinesis.put_record(StreamName="events", Data=text.encode(), PartitionKey="k")


def _seen(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def test_a_restarted_run_local_resumes_from_its_checkpoint(stopapp: Any, tmp_path: Path) -> None:
    app = tmp_path / "resume.py"
    app.write_text(APP)
    seen = tmp_path / "seen.txt"
    run: StopApp = stopapp(app, "resume")
    _put(run, ["r0", "r1", "r2"])
    wait_for(lambda: len(_seen(seen)) == 3, 30, "the first three records")
    assert run.stop() == 0
    lines = [s for s in run.seen if s["function"] == "count"]
    assert lines and all(s["trigger"] == "kinesis" and s["outcome"] == "ok" for s in lines)
    assert lines[0]["source"].startswith("events shardId-000000000000 (")
    assert any("saved 3 stream records to" in line for line in run.err), run.err
    checkpoint = json.loads((tmp_path / "state" / "resume" / "checkpoints" / "count.json").read_text())
    assert checkpoint == {"shardId-000000000000": "3"}

    again: StopApp = stopapp(app, "resume")
    _put(again, ["r3", "r4"])
    wait_for(lambda: len(_seen(seen)) >= 5, 30, "the two new records")
    assert again.stop() == 0
    assert any("restored 3 stream records saved" in line for line in again.err), again.err
    assert _seen(seen) == ["r0", "r1", "r2", "r3", "r4"]  # nothing before the checkpoint again


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "streams" / "app.py"


def test_the_streams_example_runs_its_chain_under_run_local(stopapp: Any) -> None:
    import urllib.request

    run: StopApp = stopapp(EXAMPLE, "streams")
    events = [{"id": f"e-{i}", "key": "sensor-1", "ts": "2025-01-01T09:00:05Z", "value": 1} for i in range(5)]
    body = json.dumps([*events, {"id": "bad", "key": "sensor-1"}]).encode()
    request = urllib.request.Request(run.run_state["http_url"] + "/events", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 202
    wait_for(lambda: any(s["function"] == "alert" for s in run.collect()), 60, "the alert handler")
    wait_for(lambda: any("retry 2, shard blocked" in s["source"] for s in run.collect()), 60,
             "the bad record's last retry")
    sqs = run.sqs
    alerts = sqs.receive_message(QueueUrl=run.run_state["queues"]["alerts"], MaxNumberOfMessages=10)
    bad = wait_for(lambda: sqs.receive_message(QueueUrl=run.run_state["queues"]["bad-batches"],
                                               MaxNumberOfMessages=10).get("Messages"), 30, "the bad batch")
    assert run.stop() == 0
    assert [json.loads(m["Body"])["count"] for m in alerts["Messages"]] == [5]
    assert json.loads(bad[0]["Body"])["KinesisBatchInfo"]["batchSize"] == 1
    kinds = {(s["function"], s["trigger"]) for s in run.seen}
    assert {("post_events", "http"), ("aggregate", "kinesis"), ("alert", "dynamodb")} <= kinds


GIVE_UP_APP = """
from flowfn import App, Queue, Stream

app = App("giveup")
events = Stream("events")
dead = Queue("dead")


@app.on_kinesis(events, starting_position="trim_horizon", batching_window_s=1, max_retries=1, on_failure=dead)
def kept(record):
    raise ValueError("never")


@app.on_kinesis(events, starting_position="trim_horizon", batching_window_s=1, max_retries=0)
def dropped(record):
    raise ValueError("never")
"""


def test_run_local_prints_a_line_for_each_given_up_stream_batch(tmp_path: Path) -> None:
    """Without --json, as a person reads it: the last attempt's line is followed by one naming the
    function, the shard, the records' sequence range and count, and where they went."""
    import signal
    import subprocess
    import threading

    from .conftest import CLI

    app = tmp_path / "giveup.py"
    app.write_text(GIVE_UP_APP)
    state = tmp_path / "state"
    proc = subprocess.Popen([*CLI, "run-local", str(app), "--port", "0", "--no-reload", "--state-dir", str(state)],
                            cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, errors="replace",
                            env={k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FLOWFN_"))})
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(proc.stdout or ()), daemon=True)
    reader.start()
    try:
        run_file = state / "giveup" / "run.json"
        run = json.loads(wait_for(lambda: run_file.exists() and run_file.read_text().strip(), 60, "run-local"))
        kinesis = boto3.client("kinesis", endpoint_url=run["endpoint_url"], region_name="us-east-1",
                               aws_access_key_id="testing", aws_secret_access_key="testing")
        put = kinesis.put_records(StreamName="events", Records=[{"PartitionKey": "k", "Data": b"a"},
                                                                {"PartitionKey": "k", "Data": b"b"}])
        first, last = (aws_sequence_number(r["SequenceNumber"]) for r in put["Records"])
        wait_for(lambda: sum("gave up on" in line for line in list(out)) == 2, 30, "both given-up lines")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            err = proc.communicate(timeout=30)[1]
        except subprocess.TimeoutExpired:
            proc.kill()
            err = proc.communicate()[1]
        reader.join(5)
    assert proc.returncode == 0, err
    given = [line.rstrip("\n") for line in out if "gave up on" in line]
    span = f"events shardId-000000000000 records {first}-{last} (2 records)"
    assert any(line.endswith(f"  kept  kinesis  gave up on {span} after 2 attempts (retries spent): its "
                             "metadata goes to the on-failure queue dead") for line in given), given
    assert any(line.endswith(f"  dropped  kinesis  gave up on {span} after 1 attempt (retries spent): "
                             "discarded (no on_failure queue)") for line in given), given
