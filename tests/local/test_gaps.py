"""Run-local behaviours checked end to end: the SQS batching window, moto's s3:TestEvent,
Ctrl-C with work in flight, and `fire NAME` typed at run-local's terminal."""

from __future__ import annotations

import os
import pty
import queue
import signal
from pathlib import Path
from typing import Any

import boto3
import pytest

from flowfn.local.s3 import S3Source
from flowfn.testing import Harness, run_app

from .conftest import APPS
from .test_cli import RunLocal, wait_for


def _waiting(sqs: Any, url: str) -> dict[str, int]:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return {"visible": int(attrs["ApproximateNumberOfMessages"]),
            "in_flight": int(attrs["ApproximateNumberOfMessagesNotVisible"])}


def test_messages_sent_one_by_one_within_the_window_arrive_in_one_batch(svc: Harness) -> None:
    sqs = svc.client("sqs")
    url = svc.queue_url("batched")
    sent = []
    for n in range(4):
        sent.append(svc.send("batched", f"m{n}"))
        # The poller has taken this one (it is in flight) before the next is sent: without the
        # window, the first message would already have been handed to the handler on its own.
        wait_for(lambda: _waiting(sqs, url)["visible"] == 0, 5, f"the poller to receive m{n}")
    svc.drain()
    (inv,) = svc.invocations("take_batched")
    assert inv.ok
    assert [r["messageId"] for r in inv.event["Records"]] == sent
    assert inv.source == "batched (4 messages)"


def test_the_s3_test_event_moto_sends_first_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[dict[str, Any]] = []
    handle = S3Source._handle

    def spy(self: S3Source, messages: list[dict[str, Any]]) -> None:
        read.extend(messages)
        handle(self, messages)

    monkeypatch.setattr(S3Source, "_handle", spy)
    with run_app(str(APPS / "pipeline.py")) as app:
        app.drain()
        # One test event per bucket reached the source, as the first messages of the queue...
        wait_for(lambda: sum('"s3:TestEvent"' in m["Body"] for m in read) == 3, 10, "the test events")
        app.drain()
        # ...and none was dispatched: no invocation, no error, nothing left in the queue.
        assert app.invocations() == []
        assert app.local.source(S3Source).errors == []
        assert app.local.queue_depths() == {url: 0 for url in app.local.pending_queues()}

        app.upload("incoming", "raw/empty.txt", "")
        app.drain()
        (inv,) = app.invocations()
        assert (inv.function, inv.outcome, inv.source) == ("split", "ok", "incoming/raw/empty.txt")
        assert app.local.source(S3Source).errors == []


def _finish(run: RunLocal, timeout: float = 30) -> tuple[int, str, list[dict[str, Any]]]:
    """Wait for the process to end by itself (no second SIGINT), then collect what it printed."""
    run.proc.wait(timeout)
    code, err = run.stop()
    while True:
        try:
            run.seen.append(run.lines.get_nowait())
        except queue.Empty:
            return code, err, run.seen


@pytest.mark.slow
def test_ctrl_c_waits_for_the_handler_running_and_leaves_the_rest_queued(tmp_path: Path) -> None:
    run = RunLocal(tmp_path)
    try:
        state = run.run_state()
        sqs = boto3.client("sqs", endpoint_url=state["endpoint_url"], region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        url = state["queues"]["naps"]
        sqs.send_message(QueueUrl=url, MessageBody="first")
        started = run.state / "cliapp" / "buckets" / "archive" / "napping-first.txt"
        wait_for(started.exists, 20, "the handler to start")  # it now sleeps 2 s
        sqs.send_message(QueueUrl=url, MessageBody="second")  # the one poller is busy: waits
        run.proc.send_signal(signal.SIGINT)
        # While the first finishes, the emulator still answers: the second is queued, untouched.
        assert _waiting(sqs, url) == {"visible": 1, "in_flight": 1}
        code, err, seen = _finish(run)
    finally:
        run.stop()
    assert code == 0, err
    assert "stopping: in-flight invocations finish, unhandled messages stay queued" in err
    assert "stopped" in err
    naps = [s for s in seen if s["function"] == "nap"]
    assert len(naps) == 1 and naps[0]["outcome"] == "ok", seen
    assert not (run.state / "cliapp" / "buckets" / "archive" / "napping-second.txt").exists()


@pytest.mark.slow
def test_fire_typed_at_the_terminal_runs_the_schedule(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    try:
        run = RunLocal(tmp_path, stdin=slave)
        os.close(slave)
        slave = -1
        try:
            run.run_state()
            os.write(master, b"fire nope\nfire nightly\n")
            seen = run.wait_invocations(lambda s: any(i["function"] == "nightly" for i in s), 20)
            mirror = run.state / "cliapp" / "buckets" / "archive" / "nightly.txt"
            wait_for(mirror.exists, 10, "the object nightly wrote")
            code, err = run.stop()
        finally:
            run.stop()
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    nightly = [i for i in seen if i["function"] == "nightly"]
    assert [i["outcome"] for i in nightly] == ["ok"]
    assert code == 0, err
    assert "no schedule handler named 'nope' (schedules: nightly)" in err
