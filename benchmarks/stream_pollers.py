"""Stream pollers against the emulator's own read rate: records per second through flowfn's Kinesis
and DynamoDB Streams pollers, and through a bare ``GetRecords`` loop, in the same run.

For each source, ``SIZES`` records are written before the pollers start (a Kinesis stream of one
shard; a table whose stream gets one INSERT per item). The poller case times from the sources' start
to the end of ``drain()``: every record read, turned into Lambda's event and handed to a batch
handler that does nothing (batch size 1,000). The app runs as run-local runs it: no invocation
records kept, and the heap as it was once the app had loaded left out of full collections
(``flowfn/local/heap.py``); the records are written after that. The reference then reads the same
records again, from ``TRIM_HORIZON``, with ``GetRecords`` calls of 1,000 and nothing else, through a
client like the pollers' (answered in-process, blobs and timestamps kept as sent: ``wire=True``).
The ratio is the pollers' rate over that bare one (the median of each round's ratio over
``CASE_ROUNDS`` rounds); the target is at least 0.8. The same loop through a client as boto3 makes
it by default, which decodes every record's data and parses its time into a datetime, is given
beside it: what a poller written with plain boto3 would start from.

A second pair of rows times a Kinesis shard of moto at a depth of 100 and of 10,000 records, on
its backend in this process: ``PutRecord``, and ``GetRecords`` of the last 100 records, with
flowfn's fixes to moto (``flowfn/local/moto_patches/kinesis.py``) and with moto as shipped; the
ratio is the rate at depth 10,000 over the rate at 100.
"""

from __future__ import annotations

import time
from typing import Any

from _common import Row, median

from flowfn import App, Stream, Table
from flowfn.local.engine import LocalApp, Options

#: Records per source: enough that a run's fixed costs (starting the shard's thread and iterator,
#: the first invocation, drain() noticing the end: about 25 ms) weigh little against the reading.
#: Kinesis reads about five times as fast as DynamoDB Streams here, so it gets more records.
SIZES = {"kinesis": 30_000, "dynamodb": 10_000}
#: Rounds per source; each figure is the median (the machine is shared, so runs vary).
ROUNDS = 3
#: Rounds of the pollers against the bare loop, per source: a Kinesis round takes a few seconds,
#: so it gets more, which steadies its median on a shared machine.
CASE_ROUNDS = {"kinesis": 5, "dynamodb": 3}


def _bare_rate(client: Any, n: int, **stream: str) -> float:
    """Records per second of a bare ``GetRecords`` loop reading ``n`` records from the first shard's
    start (``stream``: how the client names the stream)."""
    started = time.perf_counter()
    it = client.get_shard_iterator(**stream, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    got = 0
    while got < n:
        page = client.get_records(ShardIterator=it, Limit=1000)
        got += len(page["Records"])
        it = page["NextShardIterator"]
    return n / (time.perf_counter() - started)


def _raw_kinesis(local: LocalApp, n: int, wire: bool) -> float:
    kinesis = local.target.client("kinesis", wire=wire)
    shard = kinesis.list_shards(StreamName="bench")["Shards"][0]["ShardId"]
    return _bare_rate(kinesis, n, StreamName="bench", ShardId=shard)


def _raw_dynamodb(local: LocalApp, n: int, wire: bool) -> float:
    streams = local.target.client("dynamodbstreams", wire=wire)
    arn = local.bindings.arns[("table", "bench")]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    return _bare_rate(streams, n, StreamArn=arn, ShardId=shard)


def _fill_kinesis(local: LocalApp, n: int) -> None:
    kinesis = local.target.client("kinesis")
    for start in range(0, n, 500):
        kinesis.put_records(StreamName="bench", Records=[
            {"Data": f'{{"n": {i}}}'.encode(), "PartitionKey": f"k{i % 50}"}
            for i in range(start, start + 500)])


def _fill_dynamodb(local: LocalApp, n: int) -> None:
    ddb = local.target.client("dynamodb")
    for i in range(n):
        ddb.put_item(TableName="bench", Item={"pk": {"S": f"item-{i}"}, "n": {"N": str(i)}})


def _case(kind: str, n: int) -> tuple[float, float, float]:
    """(the pollers' rate, the bare loop's with a client like theirs, the bare loop's with boto3's
    default client), records per second."""
    app = App("bench")
    handled: list[int] = []
    if kind == "kinesis":
        @app.on_kinesis(Stream("bench"), batch=True, batch_size=1000, starting_position="trim_horizon")
        def on_batch(batch: Any) -> None:
            handled.append(len(batch))
        fill, raw = _fill_kinesis, _raw_kinesis
    else:
        @app.on_dynamodb_stream(Table("bench", key="pk", stream=True), batch=True, batch_size=1000,
                                starting_position="trim_horizon")
        def on_batch(batch: Any) -> None:
            handled.append(len(batch))
        fill, raw = _fill_dynamodb, _raw_dynamodb
    marks: list[float] = []

    def ready(local: LocalApp) -> None:
        fill(local, n)
        marks.append(time.perf_counter())

    # As run-local runs them: no invocation records kept, the start-up heap out of full collections.
    local = LocalApp(app, Options(retry_now=True, on_ready=[ready], permissions="off", keep_records=False,
                                  freeze_heap=True))
    local.start()
    try:
        local.drain(300)
        poller_rate = n / (time.perf_counter() - marks[0])
        assert sum(handled) == n, (kind, sum(handled))
        return poller_rate, raw(local, n, True), raw(local, n, False)
    finally:
        local.stop()


DEPTHS = (100, 10_000)
PUTS = 200  # timed puts on top of the depth


def _shard_rates(depth: int) -> tuple[float, float]:
    """(PutRecord calls per second on a shard of ``depth`` records, GetRecords of its last 100 per second)."""
    import boto3
    import moto
    from moto.kinesis.models import kinesis_backends

    from flowfn.local.emulator import DUMMY_ACCOUNT

    with moto.mock_aws():
        boto3.client("kinesis", region_name="us-east-1", aws_access_key_id="bench",
                     aws_secret_access_key="bench").create_stream(StreamName="depth", ShardCount=1)
        shard = next(iter(kinesis_backends[DUMMY_ACCOUNT]["us-east-1"].streams["depth"].shards.values()))
        for _ in range(depth):
            shard.put_record("key", "eA==", "1")
        started = time.perf_counter()
        for _ in range(PUTS):
            shard.put_record("key", "eA==", "1")
        puts = PUTS / (time.perf_counter() - started)
        reads, started = 0, time.perf_counter()
        while reads == 0 or time.perf_counter() - started < 0.3:
            got, _, _ = shard.get_records(str(depth + PUTS - 100), 100)
            assert len(got) == 100
            reads += 1
        return puts, reads / (time.perf_counter() - started)


def _depth_rows() -> list[Row]:
    from flowfn.local import moto_patches

    samples: dict[bool, dict[int, list[tuple[float, float]]]] = {False: {}, True: {}}
    _shard_rates(DEPTHS[0])  # warm: moto's first calls import and build what later calls reuse
    for _ in range(ROUNDS):
        for fixed in (False, True):
            if fixed:
                moto_patches.install()
            try:
                for depth in DEPTHS:
                    samples[fixed].setdefault(depth, []).append(_shard_rates(depth))
            finally:
                moto_patches.uninstall()
    measured = {fixed: {depth: (median([r[0] for r in rates]), median([r[1] for r in rates]))
                        for depth, rates in by_depth.items()} for fixed, by_depth in samples.items()}
    low, high = DEPTHS
    rows = []
    for index, case in enumerate(("PutRecord", "GetRecords of the last 100")):
        ours, base = measured[True], measured[False]
        ratio = ours[high][index] / ours[low][index]
        rows.append(Row("stream pollers", f"kinesis shard, {case}: depth {low:,} -> {high:,}",
                        f"{ours[low][index]:,.0f} -> {ours[high][index]:,.0f} calls/s",
                        reference=f"moto as shipped {base[low][index]:,.0f} -> {base[high][index]:,.0f} "
                                  f"(ratio {base[high][index] / base[low][index]:.3f})",
                        ratio=f"{ratio:.2f}", target="ratio >= 0.8", met=ratio >= 0.8))
    return rows


def run() -> list[Row]:
    rows = _depth_rows()
    for kind, n in SIZES.items():
        results = [_case(kind, n) for _ in range(CASE_ROUNDS[kind])]
        ours, bare, plain = (median([r[i] for r in results]) for i in range(3))
        ratio = median([r[0] / r[1] for r in results])
        rows.append(Row("stream pollers", f"{kind}: {n:,} records, batches of 1,000",
                        f"{ours:,.0f} records/s",
                        reference=f"{bare:,.0f} records/s (bare GetRecords; {plain:,.0f} with boto3's "
                                  f"default parsing, ratio {median([r[0] / r[2] for r in results]):.2f})",
                        ratio=f"{ratio:.2f}", target=">= 0.8", met=ratio >= 0.8))
    return rows


if __name__ == "__main__":
    for row in run():
        print(" | ".join(cell for cell in row.cells() if cell))
