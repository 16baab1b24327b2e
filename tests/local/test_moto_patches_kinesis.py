"""flowfn's fixes to moto's Kinesis shards keep moto's behaviour: every assertion runs against moto
as shipped and against moto with the fixes, so passing both ways proves them equivalent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

moto = pytest.importorskip("moto")

from flowfn.local import moto_patches  # noqa: E402


@pytest.fixture(params=["moto", "patched"])
def kinesis(request: pytest.FixtureRequest) -> Iterator[Any]:
    import boto3

    if moto_patches.active():
        pytest.skip("an embedded emulator of this process has the fixes installed")
    if request.param == "patched":
        assert "kinesis.Shard.get_records" in moto_patches.install()
    try:
        with moto.mock_aws():
            yield boto3.client("kinesis", region_name="us-east-1", aws_access_key_id="testing",
                               aws_secret_access_key="testing")
    finally:
        moto_patches.uninstall()


def _iterator(kinesis: Any, shard: str, kind: str, **extra: Any) -> str:
    answer = kinesis.get_shard_iterator(StreamName="s", ShardId=shard, ShardIteratorType=kind, **extra)
    return str(answer["ShardIterator"])


def _read(kinesis: Any, iterator: str, limit: int) -> tuple[list[str], str, int]:
    got = kinesis.get_records(ShardIterator=iterator, Limit=limit)
    return [r["Data"].decode() for r in got["Records"]], got["NextShardIterator"], got["MillisBehindLatest"]


def test_reads_in_order_from_every_position_with_limits(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="s", ShardCount=1)
    shard = kinesis.list_shards(StreamName="s")["Shards"][0]["ShardId"]
    assert _read(kinesis, _iterator(kinesis, shard, "TRIM_HORIZON"), 10)[0] == []
    latest = _iterator(kinesis, shard, "LATEST")
    sequences = [kinesis.put_record(StreamName="s", Data=f"r{i}".encode(), PartitionKey="k")["SequenceNumber"]
                 for i in range(25)]
    assert sequences == sorted(sequences, key=int) and len(set(sequences)) == 25

    seen, iterator = [], _iterator(kinesis, shard, "TRIM_HORIZON")
    for _ in range(4):
        page, iterator, _ = _read(kinesis, iterator, 7)
        seen.append(page)
    assert [len(p) for p in seen] == [7, 7, 7, 4]
    assert [record for page in seen for record in page] == [f"r{i}" for i in range(25)]
    assert _read(kinesis, iterator, 7)[0] == []                  # caught up: nothing, position kept
    kinesis.put_record(StreamName="s", Data=b"r25", PartitionKey="k")
    assert _read(kinesis, iterator, 7)[0] == ["r25"]

    assert _read(kinesis, latest, 3)[0] == ["r0", "r1", "r2"]    # LATEST taken before the puts
    at = _iterator(kinesis, shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=sequences[10])
    assert _read(kinesis, at, 2)[0] == ["r10", "r11"]
    after = _iterator(kinesis, shard, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=sequences[10])
    assert _read(kinesis, after, 2)[0] == ["r11", "r12"]
    assert _read(kinesis, _iterator(kinesis, shard, "LATEST"), 5)[0] == []
    assert _read(kinesis, after, 10_000)[0] == [f"r{i}" for i in range(11, 26)]


def _split_scenario() -> dict[str, list[str]]:
    """Records put over two shards, one shard split, one more put: what each shard then reads."""
    import boto3

    with moto.mock_aws():
        kinesis = boto3.client("kinesis", region_name="us-east-1", aws_access_key_id="testing",
                               aws_secret_access_key="testing")
        kinesis.create_stream(StreamName="s", ShardCount=2)
        kinesis.put_records(StreamName="s", Records=[
            {"Data": f"r{i}".encode(), "PartitionKey": f"key-{i}"} for i in range(40)])
        first = kinesis.describe_stream(StreamName="s")["StreamDescription"]["Shards"][0]
        _read(kinesis, _iterator(kinesis, first["ShardId"], "TRIM_HORIZON"), 100)  # keys cached, if fixed
        span = first["HashKeyRange"]
        middle = (int(span["StartingHashKey"]) + int(span["EndingHashKey"])) // 2
        kinesis.split_shard(StreamName="s", ShardToSplit=first["ShardId"], NewStartingHashKey=str(middle))
        for i in range(10):
            kinesis.put_record(StreamName="s", Data=f"late{i}".encode(), PartitionKey=f"key-{i}")
        return {shard["ShardId"]: _read(kinesis, _iterator(kinesis, shard["ShardId"], "TRIM_HORIZON"), 1000)[0]
                for shard in kinesis.list_shards(StreamName="s")["Shards"]}


def test_put_records_across_shards_and_a_split_read_as_kinesis_reads_them() -> None:
    """The records are read as moto read them, but for the split: the parent keeps its records and
    only the children take the later ones (moto put them all into the closed parent)."""
    if moto_patches.active():
        pytest.skip("an embedded emulator of this process has the fixes installed")
    shipped = _split_scenario()
    assert moto_patches.install()
    try:
        fixed = _split_scenario()
    finally:
        moto_patches.uninstall()
    parent, other, *children = sorted(fixed)
    assert shipped[parent][:len(fixed[parent])] == fixed[parent] and shipped[other] == fixed[other]
    assert [r for r in shipped[parent] if r.startswith("late")] == sorted(r for c in children for r in fixed[c])
    assert sorted(r for records in fixed.values() for r in records) == sorted(
        [f"r{i}" for i in range(40)] + [f"late{i}" for i in range(10)])
    assert not any(r.startswith("late") for r in fixed[parent]) and all(fixed[c] for c in children)


def test_lag_is_the_newest_record_minus_the_last_taken(kinesis: Any) -> None:
    from moto.kinesis.models import kinesis_backends

    kinesis.create_stream(StreamName="s", ShardCount=1)
    for i in range(5):
        kinesis.put_record(StreamName="s", Data=f"r{i}".encode(), PartitionKey="k")
    shard = next(iter(kinesis_backends["123456789012"]["us-east-1"].streams["s"].shards.values()))
    for offset, record in enumerate(shard.records.values()):
        record.created_at = 1_000.0 + offset * 2.5          # a record every 2.5 s
    iterator = _iterator(kinesis, shard.shard_id, "TRIM_HORIZON")
    page, iterator, lag = _read(kinesis, iterator, 2)
    assert (page, lag) == (["r0", "r1"], 7500)
    page, iterator, lag = _read(kinesis, iterator, 10)
    assert (page, lag) == (["r2", "r3", "r4"], 0)
    assert _read(kinesis, iterator, 10)[2] == 0
