"""Kinesis and DynamoDB Streams batching windows under flowfn.testing: drain() hands a shard's batch
over as soon as waiting out its window could gather nothing more (no invocation runs and the shard
is read to its end), and batches keep Lambda's shape (capped by ``batch_size``, holding what was
put before the drain, and what a running handler puts while its window is open).

The windows here are 300 s, the longest Lambda allows: a drain that waited one out would fail with
DrainTimeout long before it ended.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from flowfn import App, DynamoDbBatch, KinesisBatch, Queue, SqsRecord, Stream, Table
from flowfn.testing import Harness, run_app

app = App("stream-windows")
clicks = Stream("sw-clicks")
capped = Stream("sw-capped")
fanned = Stream("sw-fanned")
orders = Table("sw-orders", key="pk", stream="new_image")
start = Queue("sw-start")
spread_out = Stream("sw-spread-out", shards=3)
flaky = Stream("sw-flaky")
_failed: set[str] = set()
#: Records the ``spread`` handler puts, one at a time.
SPREAD = 30


@app.on_kinesis(clicks, starting_position="trim_horizon", batch=True, batch_size=100, batching_window_s=300)
def take(batch: KinesisBatch, context: Any) -> None:
    """Accept every record."""


@app.on_kinesis(capped, starting_position="trim_horizon", batch=True, batch_size=10, batching_window_s=300)
def take_ten(batch: KinesisBatch, context: Any) -> None:
    """Accept every record."""


@app.on_kinesis(clicks, starting_position="trim_horizon", batch=True, batch_size=100, batching_window_s=300,
                filters=[{"data": {"keep": [True]}}])
def kept(batch: KinesisBatch, context: Any) -> None:
    """Accept every record that passes the filter (JSON with ``"keep": true``)."""


@app.on_kinesis(spread_out, starting_position="trim_horizon", batch=True, batch_size=100, batching_window_s=300)
def per_shard(batch: KinesisBatch, context: Any) -> None:
    """Accept every record."""


@app.on_kinesis(flaky, starting_position="trim_horizon", batch=True, batch_size=100, batching_window_s=300)
def fail_once(batch: KinesisBatch, context: Any) -> None:
    """Report the record ``f1`` as failed the first time it comes."""
    for record in batch:
        if record.text == "f1" and "f1" not in _failed:
            _failed.add("f1")
            batch.fail(record)


@app.on_dynamodb_stream(orders, starting_position="trim_horizon", batch=True, batch_size=100,
                        batching_window_s=300)
def changed(batch: DynamoDbBatch, context: Any) -> None:
    """Accept every change."""


@app.on_sqs(start, uses=[fanned.put()])
def spread(record: SqsRecord, context: Any) -> None:
    """Put SPREAD records on ``fanned``, a little apart, while its consumers' windows are open."""
    kinesis = boto3.client("kinesis")
    for n in range(SPREAD):
        kinesis.put_record(StreamName=fanned.name, Data=f"{record.body}-{n}".encode(), PartitionKey="k")
        time.sleep(0.3 if n == 0 else 0.01)  # the consumers read the first record while more come


@app.on_kinesis(fanned, starting_position="trim_horizon", batch=True, batch_size=100, batching_window_s=300)
def gather(batch: KinesisBatch, context: Any) -> None:
    """Accept every record."""


@app.on_kinesis(fanned, starting_position="trim_horizon", batch=True, batch_size=12, batching_window_s=300)
def gather_some(batch: KinesisBatch, context: Any) -> None:
    """Accept every record, at most 12 at a time."""


@pytest.fixture(scope="module")
def running() -> Iterator[Harness]:
    with run_app(app) as harness:
        yield harness


@pytest.fixture
def harness(running: Harness) -> Harness:
    running.clear()
    return running


def _batches(harness: Harness, function: str) -> list[list[str]]:
    return [[_data(r) for r in inv.event["Records"]] for inv in harness.invocations(function)]


def _data(record: dict[str, Any]) -> str:
    if "kinesis" in record:
        return base64.b64decode(record["kinesis"]["data"]).decode()
    return str(record["dynamodb"]["Keys"]["pk"]["S"])


def test_drain_hands_over_a_partial_kinesis_batch_at_the_end_of_its_shard(harness: Harness) -> None:
    for n in range(3):  # one at a time: the poller may read the first before the others come
        harness.put_record(clicks, f"c{n}")
    harness.drain(timeout=30)
    assert _batches(harness, "take") == [["c0", "c1", "c2"]]
    assert all(inv.ok for inv in harness.invocations("take"))


def test_each_drain_hands_over_the_partial_batch_put_before_it(harness: Harness) -> None:
    harness.put_records(clicks, ["d0", "d1"])
    harness.drain(timeout=30)
    harness.put_records(clicks, ["d2", "d3", "d4"])
    harness.drain(timeout=30)
    assert _batches(harness, "take") == [["d0", "d1"], ["d2", "d3", "d4"]]


def test_drain_hands_over_a_partial_dynamodb_stream_batch(harness: Harness) -> None:
    for n in range(4):
        harness.put_item(orders, {"pk": f"o{n}", "total": n})
    harness.drain(timeout=30)
    assert _batches(harness, "changed") == [["o0", "o1", "o2", "o3"]]
    (call,) = harness.invocations("changed")
    assert [r["eventName"] for r in call.event["Records"]] == ["INSERT"] * 4


def test_batches_are_capped_by_batch_size_and_hold_what_was_put_before_the_drain(harness: Harness) -> None:
    for n in range(25):
        harness.put_record(capped, f"n{n:02d}")
    harness.drain(timeout=30)
    # Two full batches, then the rest in one, in the shard's order.
    assert _batches(harness, "take_ten") == [[f"n{n:02d}" for n in range(k, min(k + 10, 25))]
                                             for k in (0, 10, 20)]


def test_a_window_stays_open_while_a_running_handler_may_still_put_records(harness: Harness) -> None:
    harness.send(start, "s")
    harness.drain(timeout=60)
    (sent,) = harness.invocations("spread")
    assert sent.ok
    every = [f"s-{n}" for n in range(SPREAD)]
    # ``gather`` read the first record while ``spread`` was still putting: its window stayed open
    # until ``spread`` had ended and everything it put was in the batch.
    assert _batches(harness, "gather") == [every]
    # ``gather_some`` takes up to 12 at a time: full batches while records came, then the rest.
    assert _batches(harness, "gather_some") == [every[:12], every[12:24], every[24:]]



def test_each_shard_hands_over_its_own_partial_batch(harness: Harness) -> None:
    keys = [f"user{n}" for n in range(12)]
    harness.put_records(spread_out, keys, partition_key=lambda key: str(key))
    harness.drain(timeout=30)
    calls = harness.invocations("per_shard")
    shards = [{r["eventID"].split(":")[0] for r in call.event["Records"]} for call in calls]
    assert all(len(one) == 1 for one in shards)  # a batch never mixes shards
    assert len({next(iter(one)) for one in shards}) == len(calls) > 1  # one batch per shard
    assert sorted(key for batch in _batches(harness, "per_shard") for key in batch) == sorted(keys)


def test_records_a_filter_passes_over_keep_no_window_open(harness: Harness) -> None:
    harness.put_records(clicks, [{"keep": True, "n": 0}, {"keep": False, "n": 1}, {"keep": True, "n": 2},
                                 {"keep": False, "n": 3}])
    harness.drain(timeout=30)
    assert [[json.loads(d)["n"] for d in batch] for batch in _batches(harness, "kept")] == [[0, 2]]


def test_a_partial_failure_retries_from_the_failed_record_as_without_a_window(harness: Harness) -> None:
    harness.put_records(flaky, ["f0", "f1", "f2"])
    harness.drain(timeout=30)
    assert _batches(harness, "fail_once") == [["f0", "f1", "f2"], ["f1", "f2"]]
    assert [inv.outcome for inv in harness.invocations("fail_once")] == ["partial", "ok"]


def test_drain_asks_the_emulator_nothing_while_a_shard_is_still_being_read(
    harness: Harness, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flowfn.local.shards import ShardPoller

    reading = ShardPoller.reading
    calls: list[bool] = []  # what reading() answered, in order
    asked_while_reading: list[int] = []

    def first_reading(self: ShardPoller) -> bool:  # as a poller reading a long shard answers
        answer = len(calls) < 20 or reading(self)
        calls.append(answer)
        return answer

    depths = harness.local.queue_depths

    def counted(urls: list[str] | None = None) -> dict[str, int]:
        if calls and calls[-1]:
            asked_while_reading.append(len(calls))
        return depths(urls)

    monkeypatch.setattr(ShardPoller, "reading", first_reading)
    monkeypatch.setattr(harness.local, "queue_depths", counted)
    harness.put_records(clicks, [{"n": n} for n in range(3)])
    harness.drain(timeout=30)
    assert len(calls) > 20 and asked_while_reading == []
    assert [len(i.event["Records"]) for i in harness.invocations("take")] == [3]
