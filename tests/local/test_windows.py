"""SQS batching windows under flowfn.testing: drain() hands a batch over as soon as waiting out its
window could gather nothing more, and batches keep Lambda's shape (capped by ``batch_size``, holding
what was sent before the drain, and what a running handler sends while its window is open).

The windows here are 300 s, the longest Lambda allows: a drain that waited one out would fail with
DrainTimeout long before it ended.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from flowfn import App, Queue, SqsBatch, SqsRecord
from flowfn.testing import Harness, run_app

pytestmark = pytest.mark.slow

app = App("windows")
inbox = Queue("win-inbox")
start = Queue("win-start")
fanned = Queue("win-fanned")
#: Messages the ``spread`` handler sends, one at a time.
SPREAD = 30


@app.on_sqs(inbox, batch=True, batch_size=100, batching_window_s=300, reserved_concurrency=1)
def take(batch: SqsBatch, context: Any) -> None:
    """Accept every message."""


@app.on_sqs(start, uses=[fanned.send()])
def spread(record: SqsRecord, context: Any) -> None:
    """Send SPREAD messages to ``fanned``, a little apart, while ``gather``'s window is open."""
    sqs = boto3.client("sqs")
    for n in range(SPREAD):
        sqs.send_message(QueueUrl=fanned.url, MessageBody=f"{record.body}-{n}")
        time.sleep(0.01)


@app.on_sqs(fanned, batch=True, batch_size=100, batching_window_s=300, reserved_concurrency=1)
def gather(batch: SqsBatch, context: Any) -> None:
    """Accept every message."""


@pytest.fixture(scope="module")
def running() -> Iterator[Harness]:
    with run_app(app) as harness:
        yield harness


@pytest.fixture
def harness(running: Harness) -> Harness:
    running.clear()
    return running


def _batches(harness: Harness, function: str) -> list[list[str]]:
    return [[r["body"] for r in inv.event["Records"]] for inv in harness.invocations(function)]


def test_drain_hands_over_a_batch_its_window_could_add_nothing_to(harness: Harness) -> None:
    for n in range(3):
        harness.send(inbox, f"m{n}")
    harness.drain(timeout=30)
    assert _batches(harness, "take") == [["m0", "m1", "m2"]]


def test_batches_are_capped_by_batch_size_and_hold_what_was_sent_before_the_drain(harness: Harness) -> None:
    sqs, url = harness.client("sqs"), harness.queue_url(inbox)
    bodies = [f"n{n}" for n in range(250)]
    for first in range(0, len(bodies), 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[first:first + 10])])
    harness.drain(timeout=30)
    batches = _batches(harness, "take")
    # One poller (reserved concurrency 1): two full batches, then the rest in one, not in tens.
    assert [len(batch) for batch in batches] == [100, 100, 50]
    assert sorted(body for batch in batches for body in batch) == sorted(bodies)
    assert all(inv.ok for inv in harness.invocations("take"))


def test_a_window_stays_open_while_a_running_handler_may_still_send_to_its_queue(harness: Harness) -> None:
    harness.send(start, "s")
    harness.drain(timeout=30)
    (sent,) = harness.invocations("spread")
    assert sent.ok
    # ``gather`` received the first messages while ``spread`` was still sending: its window stayed
    # open until ``spread`` had ended and everything it sent was in the batch.
    assert _batches(harness, "gather") == [[f"s-{n}" for n in range(SPREAD)]]
