"""Stopping `flowfn run-local` loses nothing: the objects handlers write while it stops reach the
folder, and queued messages, dead letters and receive counts are there again at the next start."""

from __future__ import annotations

import json
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from .test_mirror import StopApp, stopapp, wait_for

__all__ = ["stopapp"]  # the fixture, shared with test_mirror

pytestmark = pytest.mark.slow


def _count(seen: list[dict[str, Any]], function: str) -> Counter[str]:
    return Counter(s["source"] for s in seen if s["function"] == function)


def test_objects_written_while_stopping_reach_the_folder_and_fire_at_the_next_start(stopapp: Any) -> None:
    run: StopApp = stopapp()
    run.sqs.send_message(QueueUrl=run.run_state["queues"]["kick"], MessageBody="75")
    wait_for((run.folders / "out" / "started.txt").exists, 20, "burst to start")
    (run.folders / "files" / "late.txt").write_text("dropped as run-local stops")
    assert run.stop(signal.SIGTERM) == 0, run.err  # burst naps, then writes 75 objects while run-local stops
    assert [s["outcome"] for s in run.seen if s["function"] == "burst"] == ["ok"]
    written = sorted(p.name for p in (run.folders / "out" / "burst").iterdir())
    assert written == [f"{n:02d}.txt" for n in range(75)], f"{len(written)} of 75 in the folder"
    first = _count(run.seen, "counted")

    again: StopApp = stopapp()  # the notifications left queued fire now, once each
    wanted = {f"out/burst/{n:02d}.txt" for n in range(75)}
    wait_for(lambda: set(_count(again.collect(), "counted")) | set(first) >= wanted, 30,
             "counted to run for every object burst wrote")
    # The file dropped as it stopped was uploaded then, or at the latest now, and seen once.
    wait_for(lambda: (_count(run.seen, "seen") + _count(again.collect(), "seen"))["files/late.txt"], 20,
             "seen to run for the file dropped while stopping")
    assert again.stop() == 0
    assert _count(again.seen, "counted") + first == Counter(dict.fromkeys(wanted, 1))
    assert (_count(run.seen, "seen") + _count(again.seen, "seen"))["files/late.txt"] == 1


def test_queued_messages_dead_letters_and_receive_counts_survive_a_restart(stopapp: Any) -> None:
    run: StopApp = stopapp()
    queues = run.run_state["queues"]
    for n in range(3):
        run.sqs.send_message(QueueUrl=queues["parked"], MessageBody=f"parked {n}", MessageAttributes={
            "n": {"DataType": "Number", "StringValue": str(n)},
            "raw": {"DataType": "Binary", "BinaryValue": bytes([n, 255])},
        })
    for n, group in enumerate(["a", "b", "a", "b", "a"]):
        run.sqs.send_message(QueueUrl=queues["ordered.fifo"], MessageBody=f"{group}{n}",
                             MessageGroupId=group, MessageDeduplicationId=f"dedup-{n}")
    # The first of group a is received once (and at once visible again): its count is 1.
    (first,) = run.sqs.receive_message(QueueUrl=queues["ordered.fifo"], MaxNumberOfMessages=1,
                                       VisibilityTimeout=0)["Messages"]
    assert first["Body"] == "a0"
    run.sqs.send_message(QueueUrl=queues["flaky"], MessageBody="m1")
    run.sqs.send_message(QueueUrl=queues["sticky"], MessageBody="s1")

    def depth(name: str) -> int:
        attrs = run.sqs.get_queue_attributes(QueueUrl=queues[name],
                                             AttributeNames=["ApproximateNumberOfMessages"])
        return int(attrs["Attributes"]["ApproximateNumberOfMessages"])

    wait_for(lambda: depth("flaky-dlq") == 1, 30, "m1 to reach the dead-letter queue")
    run.sqs.send_message(QueueUrl=queues["flaky"], MessageBody="m2")
    marks = run.folders / "out" / "flaky"
    wait_for((marks / "m2-1").exists, 20, "m2 to fail once")
    wait_for((marks / "s1-1").exists, 20, "s1 to fail once")  # hidden for a minute now
    assert run.stop() == 0, run.err

    again: StopApp = stopapp()
    sqs = again.sqs
    # m2 goes on from its second receive and, after its third, joins m1 in the dead-letter queue.
    wait_for(lambda: _dlq_depth(again) == 2, 30, "m2 in the dead-letter queue")
    # s1, failed and hidden when run-local stopped, was kept and is received again at once.
    wait_for((marks / "s1-2").exists, 20, "s1's second receive")
    assert sorted(p.name for p in marks.iterdir()) == [
        "m1-1", "m1-2", "m1-3", "m2-1", "m2-2", "m2-3", "s1-1", "s1-2"]
    assert [s["function"] for s in again.collect()].count("flake") == 2
    dead = _receive_all(sqs, queues["flaky-dlq"])
    assert sorted((m["Body"], m["Attributes"]["ApproximateReceiveCount"]) for m in dead) == [
        ("m1", "4"), ("m2", "4")]  # three receives each, and this one

    parked = _receive_all(sqs, queues["parked"])
    assert [m["Body"] for m in parked] == ["parked 0", "parked 1", "parked 2"]
    for n, message in enumerate(parked):
        assert message["Attributes"]["ApproximateReceiveCount"] == "1"
        assert message["MessageAttributes"] == {
            "n": {"DataType": "Number", "StringValue": str(n)},
            "raw": {"DataType": "Binary", "BinaryValue": bytes([n, 255])},
        }
    ordered = _receive_all(sqs, queues["ordered.fifo"])
    by_group: dict[str, list[tuple[str, str, str]]] = {}
    for message in ordered:
        attrs = message["Attributes"]
        by_group.setdefault(attrs["MessageGroupId"], []).append(
            (message["Body"], attrs["MessageDeduplicationId"], attrs["ApproximateReceiveCount"]))
    assert by_group == {"a": [("a0", "dedup-0", "2"), ("a2", "dedup-2", "1"), ("a4", "dedup-4", "1")],
                        "b": [("b1", "dedup-1", "1"), ("b3", "dedup-3", "1")]}
    assert again.stop() == 0
    assert any("saved 11 messages" in line for line in run.err), run.err
    assert any("restored 11 messages" in line for line in again.err), again.err


def _dlq_depth(run: StopApp) -> int:
    attrs = run.sqs.get_queue_attributes(QueueUrl=run.run_state["queues"]["flaky-dlq"],
                                         AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def _receive_all(sqs: Any, url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                  AttributeNames=["All"], MessageAttributeNames=["All"])
        if not got.get("Messages"):
            return found
        found.extend(got["Messages"])


APP = """
from flowfn import App, Queue

app = App("renamed")
{queue} = Queue("{queue}")


@app.on_sqs({queue}, reserved_concurrency=0)  # never runs: its messages wait
def never(record):
    pass
"""


def test_messages_of_a_queue_the_app_no_longer_declares_are_kept_aside_and_said(
    stopapp: Any, tmp_path: Path,
) -> None:
    app = tmp_path / "renamed.py"
    app.write_text(APP.format(queue="before"))
    run: StopApp = stopapp(app, "renamed")
    run.sqs.send_message(QueueUrl=run.run_state["queues"]["before"], MessageBody="kept")
    assert run.stop() == 0
    app.write_text(APP.format(queue="after"))
    again: StopApp = stopapp(app, "renamed")
    assert again.stop() == 0
    said = [line for line in again.err if line.startswith("not restored")]
    kept = tmp_path / "state" / "renamed" / "queues-not-restored.json"
    assert said == [f"not restored: 1 message (before: 1), queues the app no longer declares; they are in {kept}"]
    assert [m["body"] for m in json.loads(kept.read_text())["queues"]["before"]] == ["kept"]
