"""Reading a stream yourself: GetRecords names its stream only through its shard iterator, and is
authorized on that stream, as AWS authorizes it."""

from __future__ import annotations

import boto3

from flowfn import App, ScheduledEvent, Stream, Table
from flowfn.testing import run_app


def _reader_app() -> App:
    app = App("readers")
    clicks = Stream("clicks")
    orders = Table("orders", key="pk", stream=True)
    other = Stream("other")

    @app.on_schedule("rate(1 day)", enabled=False, uses=[clicks.read(), orders.read(), orders.read_stream()])
    def read_both() -> list[int]:
        kinesis = boto3.client("kinesis")
        shard = kinesis.list_shards(StreamName=clicks.name)["Shards"][0]["ShardId"]
        iterator = kinesis.get_shard_iterator(StreamName=clicks.name, ShardId=shard,
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        records = kinesis.get_records(ShardIterator=iterator)["Records"]
        streams = boto3.client("dynamodbstreams")
        arn = boto3.client("dynamodb").describe_table(TableName=orders.name)["Table"]["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        changes = streams.get_records(ShardIterator=iterator)["Records"]
        return [len(records), len(changes)]

    @app.on_schedule("rate(1 day)", enabled=False, uses=[other.put()])
    def write_other() -> None:
        pass

    @app.on_schedule("rate(1 day)", enabled=False, uses=[clicks.read()])
    def read_other(event: ScheduledEvent) -> None:  # an iterator of another stream, handed over
        boto3.client("kinesis").get_records(ShardIterator=event.raw["detail"]["iterator"])

    return app


def test_get_records_is_authorized_on_the_stream_its_iterator_reads() -> None:
    with run_app(_reader_app()) as h:
        h.put_record("clicks", {"n": 1})
        h.put_item("orders", {"pk": "a"})
        read = h.fire("read_both")
        kinesis = h.client("kinesis")
        iterator = kinesis.get_shard_iterator(StreamName=h.stream_name("other"), ShardId="shardId-000000000000",
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        other = h.invoke("read_other", {"version": "0", "id": "1", "detail-type": "Scheduled Event",
                                        "source": "aws.events", "account": "123456789012",
                                        "time": "2025-01-01T00:00:00Z", "region": "us-east-1",
                                        "resources": [], "detail": {"iterator": iterator}})
    assert read.ok, read.error
    assert read.result == [1, 1]
    assert not other.ok
    assert 'kinesis:GetRecords on resource: "arn:aws:kinesis:us-east-1:123456789012:stream/other"' in str(
        other.error)
