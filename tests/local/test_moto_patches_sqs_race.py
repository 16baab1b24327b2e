"""Receives at once on the embedded emulator's queues behave as SQS's: a received message goes to
one consumer only, and a FIFO group has one batch in flight at a time."""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from flowfn import App, Queue
from flowfn.testing import Harness, run_app

RECEIVERS = 8


@pytest.fixture
def harness() -> Iterator[Harness]:
    app = App("receivers")
    jobs, ordered = Queue("jobs"), Queue("ordered.fifo")

    @app.on_schedule("rate(1 day)", enabled=False, uses=[jobs.send(), ordered.send()])
    def idle() -> None: ...

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads take turns often, so the receives interleave
    try:
        with run_app(app) as h:
            yield h
    finally:
        sys.setswitchinterval(interval)


def _receive_all(harness: Harness, name: str, **extra: Any) -> tuple[list[list[dict[str, Any]]], list[Exception]]:
    sqs, url = harness.client("sqs"), harness.queue_url(name)
    batches: list[list[dict[str, Any]]] = []
    errors: list[Exception] = []

    def receive() -> None:
        while True:
            try:
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300,
                                          **extra).get("Messages", [])
            except Exception as exc:  # an emulator error: the test reports it
                errors.append(exc)
                return
            if not got:
                return
            batches.append(got)

    threads = [threading.Thread(target=receive) for _ in range(RECEIVERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return batches, errors


def _send(harness: Harness, name: str, count: int, **per_message: Any) -> None:
    sqs, url = harness.client("sqs"), harness.queue_url(name)
    for first in range(0, count, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(n), "MessageBody": f"m{n}", **{k: f(n) for k, f in per_message.items()}}
            for n in range(first, first + 10)])


def test_a_standard_queue_hands_each_message_to_one_receiver(harness: Harness) -> None:
    _send(harness, "jobs", 1500)
    batches, errors = _receive_all(harness, "jobs")
    assert errors == []
    received = Counter(m["MessageId"] for batch in batches for m in batch)
    assert len(received) == 1500 and set(received.values()) == {1}


def test_a_fifo_group_is_in_one_receivers_hands_at_a_time(harness: Harness) -> None:
    _send(harness, "ordered.fifo", 600, MessageGroupId=lambda n: f"g{n % 30}",
          MessageDeduplicationId=lambda n: f"d{n}")
    batches, errors = _receive_all(harness, "ordered.fifo", AttributeNames=["MessageGroupId"])
    assert errors == []
    groups = [m["Attributes"]["MessageGroupId"] for batch in batches for m in batch]
    # Nothing is deleted and nothing times out: each group is handed out once, in one batch.
    assert sorted(Counter(groups)) == sorted(f"g{n}" for n in range(30))
    per_group_batches = Counter(g for b in batches for g in {m["Attributes"]["MessageGroupId"] for m in b})
    assert set(per_group_batches.values()) == {1}
