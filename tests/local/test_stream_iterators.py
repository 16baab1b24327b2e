"""DynamoDB Streams shard iterators on the embedded emulator expire 15 minutes after they are handed
out, as in AWS, and are forgotten then; a poller whose shard was blocked that long reads on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from flowfn import App, Table
from flowfn.local.moto_patches import streamiterators
from flowfn.testing import run_app


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Clock]:
    fake = _Clock()
    monkeypatch.setattr(streamiterators, "clock", fake)
    yield fake


def test_an_iterator_expires_after_15_minutes_and_is_forgotten(clock: _Clock) -> None:
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    app = App("aging")
    table = Table("aging", key="pk", stream=True)

    @app.on_schedule("rate(1 day)", enabled=False, uses=[table.write()])
    def idle() -> None: ...

    with run_app(app) as h:
        h.put_item(table, {"pk": "a"})
        streams = h.client("dynamodbstreams")
        arn = h.local.bindings.arns[("table", "aging")]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        first = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                           ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        handed = [first]
        for _ in range(20):
            handed.append(streams.get_records(ShardIterator=handed[-1])["NextShardIterator"])
        clock.now += 14 * 60
        assert [r["eventName"] for r in streams.get_records(ShardIterator=first)["Records"]] == ["INSERT"]
        clock.now += 60
        with pytest.raises(ClientError) as caught:
            streams.get_records(ShardIterator=first)
        assert caught.value.response["Error"]["Code"] == "ExpiredIteratorException"
        fresh = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                           ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        assert len(streams.get_records(ShardIterator=fresh)["Records"]) == 1
        stores = [b.shard_iterators for regions in dynamodbstreams_backends.values()
                  for b in regions.values() if b.shard_iterators]
        assert stores and not any(arn in store for store in stores for arn in handed)


def test_a_shard_blocked_longer_than_an_iterator_lives_reads_on(clock: _Clock) -> None:
    app = App("blocked")
    table = Table("blocked", key="pk", stream=True)
    seen: list[str] = []

    @app.on_dynamodb_stream(table, starting_position="trim_horizon", batch_size=10)
    def on_change(record: Any) -> None:
        key = record.keys["pk"]
        seen.append(key)
        if key == "poison" and seen.count("poison") == 1:
            clock.now += 16 * 60  # the failing batch is retried for longer than an iterator lives
            raise RuntimeError("not yet")

    with run_app(app) as h:
        for key in ("a", "poison", "b"):
            h.put_item(table, {"pk": key})
        h.drain()
        for key in ("c", "d"):
            h.put_item(table, {"pk": key})
        h.drain(timeout=20)
        errors = [e for source in h.local.sources() for e in getattr(source, "errors", [])]
    assert seen == ["a", "poison", "poison", "b", "c", "d"]
    assert errors == []
