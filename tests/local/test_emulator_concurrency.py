"""Calls at once on the embedded emulator behave as AWS's: a received message goes to one consumer
only, a FIFO group has one batch in flight at a time, every Kinesis record and every change to a
table gets its own sequence number."""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from flowfn import App, Queue, Stream, Table
from flowfn.testing import Harness, run_app

RECEIVERS = 8


@pytest.fixture
def harness() -> Iterator[Harness]:
    app = App("receivers")
    jobs, ordered = Queue("jobs"), Queue("ordered.fifo")
    events, items = Stream("events"), Table("items", key="pk", stream=True)

    @app.on_schedule("rate(1 day)", enabled=False, uses=[jobs.send(), ordered.send(), events.put(), items.write()])
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


def _at_once(work: Any, writers: int = 8) -> None:
    threads = [threading.Thread(target=work, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_kinesis_records_put_at_once_each_get_their_own_sequence_number(harness: Harness) -> None:
    kinesis, name = harness.client("kinesis"), harness.stream_name("events")
    _at_once(lambda n: [kinesis.put_record(StreamName=name, Data=f"{n}-{i}".encode(), PartitionKey=str(i))
                        for i in range(100)])
    shard = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator, Limit=10_000)["Records"]
    assert sorted(r["Data"] for r in records) == sorted(f"{n}-{i}".encode() for n in range(8) for i in range(100))
    numbers = [int(r["SequenceNumber"]) for r in records]
    assert numbers == sorted(set(numbers))


def test_changes_made_at_once_each_get_their_own_stream_sequence_number(harness: Harness) -> None:
    ddb, streams, table = harness.client("dynamodb"), harness.client("dynamodbstreams"), harness.table_name("items")
    _at_once(lambda n: [ddb.put_item(TableName=table, Item={"pk": {"S": f"{n}-{i}"}}) for i in range(60)])
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
    assert len(records) == 480
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert numbers == sorted(set(numbers))


def test_a_conditional_put_and_an_add_are_atomic(harness: Harness) -> None:
    from botocore.exceptions import ClientError

    ddb, table = harness.client("dynamodb"), harness.table_name("items")
    created: list[str] = []

    def create_and_count(n: int) -> None:
        for k in range(20):
            try:
                ddb.put_item(TableName=table, Item={"pk": {"S": f"k{k}"}, "by": {"N": str(n)}},
                             ConditionExpression="attribute_not_exists(pk)")
                created.append(f"k{k}")
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "ConditionalCheckFailedException"
            ddb.update_item(TableName=table, Key={"pk": {"S": "counter"}}, UpdateExpression="ADD c :one",
                            ExpressionAttributeValues={":one": {"N": "1"}})

    _at_once(create_and_count)
    assert sorted(created) == sorted(f"k{k}" for k in range(20))  # each key created once
    counter = ddb.get_item(TableName=table, Key={"pk": {"S": "counter"}})["Item"]["c"]["N"]
    assert counter == str(8 * 20)
