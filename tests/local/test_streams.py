"""Kinesis and DynamoDB Streams locally, through flowfn.testing: Lambda's stream semantics."""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any

import pytest

from flowfn import App, KinesisBatch, KinesisRecord, Queue, Stream, Table
from flowfn.testing import run_app

pytestmark = pytest.mark.slow


def test_each_shard_is_read_in_order_and_every_record_once() -> None:
    app = App("order")
    clicks = Stream("clicks", shards=3)
    got: list[tuple[str, int]] = []
    lock = threading.Lock()

    @app.on_kinesis(clicks, starting_position="trim_horizon", batch_size=7)
    def on_click(record: KinesisRecord) -> None:
        with lock:
            got.append((record.partition_key, record.json()["n"]))

    with run_app(app) as h:
        h.put_records(clicks, [{"k": f"user{i % 5}", "n": i} for i in range(60)], partition_key=lambda d: d["k"])
        h.drain()
        assert not h.failures()
        shards = {r.event["Records"][0]["eventID"].split(":")[0] for r in h.invocations("on_click")}
    assert len(shards) > 1  # the keys spread over shards
    assert sorted(n for _, n in got) == list(range(60))
    for key in {k for k, _ in got}:  # one key is one shard: its records arrive in put order
        numbers = [n for k, n in got if k == key]
        assert numbers == sorted(numbers)


def test_a_reported_failure_checkpoints_before_the_failed_record() -> None:
    app = App("checkpoint")
    clicks = Stream("clicks")
    failed_once: list[int] = []

    @app.on_kinesis(clicks, starting_position="trim_horizon", batch=True)
    def on_batch(batch: KinesisBatch) -> None:
        for record in batch:
            if record.json()["n"] == 3 and not failed_once:
                failed_once.append(3)
                batch.fail(record)

    with run_app(app) as h:
        h.put_records(clicks, [{"n": i} for i in range(6)])
        h.drain()
        calls = h.invocations("on_batch")
    delivered = [[json.loads(base64.b64decode(r["kinesis"]["data"]))["n"] for r in c.event["Records"]]
                 for c in calls]
    assert delivered == [[0, 1, 2, 3, 4, 5], [3, 4, 5]]  # 0-2 not again; 3 and everything after it
    assert calls[0].outcome == "partial" and calls[1].ok


def _numbers(call: Any) -> list[int]:
    return [json.loads(base64.b64decode(r["kinesis"]["data"]))["n"] for r in call.event["Records"]]


def test_bisect_isolates_one_poison_record_in_a_batch_of_100() -> None:
    """A batch handler raising is a function error: Lambda halves the batch (the first half
    first, no retry used up) until the poison record is alone."""
    app = App("bisect")
    clicks = Stream("clicks")
    bad = Queue("bad")
    done: list[int] = []

    @app.on_kinesis(clicks, starting_position="trim_horizon", batch=True, bisect_on_error=True,
                    max_retries=0, on_failure=bad, batching_window_s=300)  # the window: all 100 at once
    def on_batch(batch: KinesisBatch) -> None:
        numbers = [r.json()["n"] for r in batch]
        if 37 in numbers:
            raise ValueError("poison")
        done.extend(numbers)

    with run_app(app) as h:
        h.put_records(clicks, [{"n": i} for i in range(100)])
        h.drain()
        failures = [json.loads(m) for m in h.messages("bad")]
        calls = h.invocations("on_batch")
    assert sorted(done) == [n for n in range(100) if n != 37]  # every other record exactly once
    assert [(_numbers(c)[0], len(c.event["Records"]), c.outcome) for c in calls] == [
        (0, 100, "error"), (0, 50, "error"), (0, 25, "ok"), (25, 25, "error"), (25, 13, "error"),
        (25, 7, "ok"), (32, 6, "error"), (32, 3, "ok"), (35, 3, "error"), (35, 2, "ok"), (37, 1, "error"),
        (38, 12, "ok"), (50, 50, "ok")]
    assert [g.event.split(" ", 2)[2] for g in calls[10].given_up] == [
        f"record {calls[10].event['Records'][0]['kinesis']['sequenceNumber']}"]
    assert not [c for c in calls if c is not calls[10] and c.given_up]
    [failure] = failures
    info = failure["KinesisBatchInfo"]
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == _seq(calls[10], 0)
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 1  # bisecting uses up no retries
    assert failure["requestContext"]["requestId"] == calls[10].request_id
    # The last attempt raised: a function error, as Lambda writes it.
    assert failure["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST",
                                          "functionError": "Unhandled"}


def _seq(call: Any, index: int) -> str:
    return str(call.event["Records"][index]["kinesis"]["sequenceNumber"])


def test_bisect_isolates_a_per_record_poison_after_its_partial_failure(capsys: pytest.CaptureFixture[str]) -> None:
    """A record handler: the poison record at 37 is first reported (a partial response; 0-36 are
    done), then it is the first of the retried batch, whose invocation fails so that Lambda halves
    it down to the record alone; after max_retries only it goes to the on-failure queue."""
    app = App("bisect-records")
    clicks = Stream("clicks")
    bad = Queue("bad")
    handled: list[int] = []

    @app.on_kinesis(clicks, starting_position="trim_horizon", bisect_on_error=True, max_retries=1,
                    on_failure=bad, batching_window_s=300)  # the window: all 100 in the first batch
    def on_click(record: KinesisRecord) -> None:
        n = record.json()["n"]
        if n == 37:
            raise ValueError("poison")
        handled.append(n)

    with run_app(app) as h:
        h.put_records(clicks, [{"n": i} for i in range(100)])
        h.drain()
        [failure] = [json.loads(m) for m in h.messages("bad")]
        calls = h.invocations("on_click")
    assert sorted(handled) == [n for n in range(100) if n != 37]  # every other record exactly once
    assert [(_numbers(c)[0], len(c.event["Records"]), c.outcome) for c in calls] == [
        (0, 100, "partial"), (37, 63, "error"), (37, 32, "error"), (37, 16, "error"), (37, 8, "error"),
        (37, 4, "error"), (37, 2, "error"), (37, 1, "partial"),
        (38, 1, "ok"), (39, 2, "ok"), (41, 4, "ok"), (45, 8, "ok"), (53, 16, "ok"), (69, 31, "ok")]
    shard = "clicks shardId-000000000000"
    assert [c.source for c in calls[:3]] == [f"{shard} (100 records)", f"{shard} (63 records, retry 1, shard blocked)",
                                             f"{shard} (32 records, bisected, retry 1, shard blocked)"]
    assert calls[8].source == f"{shard} (1 record, bisected)"
    assert "bisect_on_error" in calls[1].error_text() and isinstance(calls[1].error.__cause__, ValueError)
    # The failed invocation logs one ERROR line, its traceback holding the handler's error.
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    [line] = [x for x in logged if x.get("request_id") == calls[1].request_id and x["level"] == "ERROR"]
    assert "ValueError: poison" in line["exception"] and "StreamRecordFailed" in line["exception"]
    poison = _seq(calls[7], 0)
    [given] = calls[7].given_up
    assert (given.event, given.attempts, given.destination) == (f"{shard} record {poison}", 2, "bad")
    info = failure["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (poison, poison, 1)
    assert failure["requestContext"]["approximateInvokeCount"] == 2  # the first try and one retry
    # The last attempt answered with a partial response: no function error.
    assert failure["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}


def test_without_bisect_a_per_record_poison_gives_up_the_rest_of_its_batch() -> None:
    """AWS's trap: without bisect_on_error, the retry after a partial failure is the batch from
    the failed record on; after max_retries all of it is given up, the records after the poison
    one unhandled."""
    app = App("no-bisect")
    clicks = Stream("clicks")
    bad = Queue("bad")
    handled: list[int] = []

    @app.on_kinesis(clicks, starting_position="trim_horizon", max_retries=1, on_failure=bad, batch_size=10,
                    batching_window_s=300)  # the window: all 10 in the first batch
    def on_click(record: KinesisRecord) -> None:
        n = record.json()["n"]
        if n == 4:
            raise ValueError("poison")
        handled.append(n)

    with run_app(app) as h:
        h.put_records(clicks, [{"n": i} for i in range(10)])
        h.drain()
        h.put_record(clicks, {"n": 10})
        h.drain()
        [failure] = [json.loads(m) for m in h.messages("bad")]
        calls = h.invocations("on_click")
    assert handled == [0, 1, 2, 3, 10]  # 5-9 are never handled
    assert [(_numbers(c), c.outcome) for c in calls] == [
        (list(range(10)), "partial"), (list(range(4, 10)), "partial"), ([10], "ok")]
    info = failure["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        _seq(calls[1], 0), _seq(calls[1], 5), 6)
    assert failure["requestContext"]["approximateInvokeCount"] == 2
    [given] = calls[1].given_up
    assert given.event == (f"clicks shardId-000000000000 records {_seq(calls[1], 0)}-{_seq(calls[1], 5)} "
                           "(6 records)")
    assert (given.attempts, given.destination) == (2, "bad")


def test_max_retries_sends_the_batchs_metadata_to_the_on_failure_queue_and_moves_on() -> None:
    app = App("retries")
    clicks = Stream("clicks")
    bad = Queue("bad")
    seen: list[str] = []

    @app.on_kinesis(clicks, starting_position="trim_horizon", max_retries=2, on_failure=bad)
    def on_click(record: KinesisRecord) -> None:
        if record.text == "poison":
            raise ValueError("poison")
        seen.append(record.text)

    with run_app(app) as h:
        h.put_record(clicks, "first")
        h.drain()
        h.put_record(clicks, "poison")
        h.drain()
        h.put_record(clicks, "after")
        h.drain()
        message = json.loads(h.messages("bad")[0])
        poison_calls = [c for c in h.invocations("on_click") if "cG9pc29u" in json.dumps(c.event)]
        after = h.invocations("on_click")[-1]
    assert seen == ["first", "after"]
    assert after.source == "clicks shardId-000000000000 (1 record)"  # the shard moved on
    assert len(poison_calls) == 3  # the first attempt and two retries
    # Each invocation's line says what it read, and that the shard is blocked while it retries.
    assert [c.source for c in poison_calls] == [
        "clicks shardId-000000000000 (1 record)",
        "clicks shardId-000000000000 (1 record, retry 1, shard blocked)",
        "clicks shardId-000000000000 (1 record, retry 2, shard blocked)",
    ]
    assert set(message) == {"requestContext", "responseContext", "version", "timestamp", "KinesisBatchInfo"}
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 3
    assert message["requestContext"]["functionArn"].endswith(":function:on_click")
    info = message["KinesisBatchInfo"]
    assert info["batchSize"] == 1 and info["shardId"] == "shardId-000000000000"
    assert info["streamArn"].endswith(":stream/clicks")


def test_max_record_age_gives_up_on_a_blocked_shard() -> None:
    app = App("age")
    clicks = Stream("clicks")
    bad = Queue("bad")
    started = threading.Event()

    @app.on_kinesis(clicks, starting_position="trim_horizon", max_record_age_s=60, on_failure=bad)
    def on_click(record: KinesisRecord) -> None:
        started.set()
        raise ValueError("always")

    with run_app(app) as h:
        h.put_record(clicks, "stuck")
        assert started.wait(30)
        h.age_streams(120)
        h.drain()
        message = json.loads(h.messages("bad")[0])
    assert message["requestContext"]["condition"] == "RecordAgeExceeded"
    assert message["KinesisBatchInfo"]["batchSize"] == 1


def test_dynamodb_changes_arrive_as_aws_sends_them() -> None:
    app = App("changes")
    totals = Table("totals", key="pk", stream=True)
    got: list[tuple[str, Any, Any, Any]] = []

    @app.on_dynamodb_stream(totals, starting_position="trim_horizon")
    def on_change(record: Any) -> None:
        got.append((record.event_name, record.keys, record.new_image, record.old_image))

    with run_app(app, region="eu-west-1") as h:
        ddb = h.client("dynamodb")
        name = h.table_name(totals)
        # An update of a missing key: moto writes two INSERT records, AWS one.
        ddb.update_item(TableName=name, Key={"pk": {"S": "a"}}, UpdateExpression="SET n = :n",
                        ExpressionAttributeValues={":n": {"N": "1"}})
        h.put_item(totals, {"pk": "a", "n": 1})  # changes nothing: AWS writes no record
        h.put_item(totals, {"pk": "a", "n": 2})
        ddb.delete_item(TableName=name, Key={"pk": {"S": "a"}})
        h.drain()
        events = [r.event for r in h.invocations("on_change")]
    assert [(g[0], g[1]) for g in got] == [("INSERT", {"pk": "a"}), ("MODIFY", {"pk": "a"}),
                                           ("REMOVE", {"pk": "a"})]
    assert got[0][2] == {"pk": "a", "n": 1} and got[1][3] == {"pk": "a", "n": 1}
    assert got[1][2] == {"pk": "a", "n": 2} and got[2][2] is None
    records = [r for e in events for r in e["Records"]]
    assert {r["awsRegion"] for r in records} == {"eu-west-1"}
    numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
    assert all(len(n) >= 21 for n in numbers) and numbers == sorted(numbers)


def test_binary_attributes_arrive_as_base64_text_as_aws_sends_them() -> None:
    from boto3.dynamodb.types import Binary

    app = App("binary")
    files = Table("files", key=("id", "B"), stream=True)
    refs = Table("refs", key=("id", "B"), sort_key=("at", "B"), stream="keys_only")
    got: list[tuple[Any, Any]] = []

    @app.on_dynamodb_stream(files, starting_position="trim_horizon")
    def on_change(record: Any) -> None:
        got.append((record.raw, record.new_image))

    @app.on_dynamodb_stream(refs, starting_position="trim_horizon")
    def on_ref(record: Any) -> None:
        got.append((record.raw, record.keys))

    with run_app(app) as h:
        ddb = h.client("dynamodb")
        ddb.put_item(TableName=h.table_name(files), Item={
            "id": {"B": b"\x00\x01"}, "parts": {"BS": [b"hi"]}, "meta": {"M": {"sig": {"B": b"\xff"}}}})
        h.drain()
        ddb.put_item(TableName=h.table_name(refs), Item={"id": {"B": b"\x00\x01"}, "at": {"B": b"abcd"}})
        h.drain()
    (raw, image), (ref, ref_keys) = got
    assert raw["dynamodb"]["Keys"] == {"id": {"B": "AAE="}}
    assert raw["dynamodb"]["NewImage"]["parts"] == {"BS": ["aGk="]}
    assert raw["dynamodb"]["NewImage"]["meta"] == {"M": {"sig": {"B": "/w=="}}}
    json.dumps([raw, ref])  # Lambda's event is JSON
    assert image == {"id": Binary(b"\x00\x01"), "parts": {Binary(b"hi")}, "meta": {"sig": Binary(b"\xff")}}
    assert ref["dynamodb"]["Keys"] == {"id": {"B": "AAE="}, "at": {"B": "YWJjZA=="}}
    assert ref_keys == {"id": Binary(b"\x00\x01"), "at": Binary(b"abcd")}


def test_parallelization_splits_a_shards_batch_by_partition_key_and_keeps_each_keys_order() -> None:
    app = App("parallel")
    clicks = Stream("clicks")
    got: list[tuple[str, int]] = []
    lock = threading.Lock()

    @app.on_kinesis(clicks, starting_position="trim_horizon", parallelization=4, batch=True, batch_size=100)
    def on_batch(batch: KinesisBatch) -> None:
        with lock:
            got.extend((r.partition_key, r.json()["n"]) for r in batch)

    with run_app(app) as h:
        h.put_records(clicks, [{"k": f"user{i % 8}", "n": i} for i in range(80)],
                      partition_key=lambda d: d["k"])
        h.drain()
        calls = h.invocations("on_batch")
    assert sorted(n for _, n in got) == list(range(80))
    assert max(len(c.event["Records"]) for c in calls) < 80  # the batch ran as several groups
    for key in {k for k, _ in got}:
        numbers = [n for k, n in got if k == key]
        assert numbers == sorted(numbers)


def test_a_dynamodb_batch_given_up_goes_to_the_on_failure_queue_in_aws_shape() -> None:
    app = App("ddb-failure")
    totals = Table("totals", key="pk", stream=True)
    bad = Queue("bad")

    @app.on_dynamodb_stream(totals, starting_position="trim_horizon", max_retries=0, on_failure=bad)
    def on_change(record: Any) -> None:
        raise RuntimeError("never")

    with run_app(app) as h:
        h.put_item(totals, {"pk": "a"})
        h.drain()
        message = json.loads(h.messages("bad")[0])
        stream_arn = h.local.bindings.arns[("table", "totals")]
    info = message["DDBStreamBatchInfo"]
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 1
    # The function answered (a partial batch response naming the record): no function error.
    assert message["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert info["batchSize"] == 1 and info["streamArn"] == stream_arn
    assert info["startSequenceNumber"] == info["endSequenceNumber"]


def test_a_timed_out_batch_is_halved_and_its_metadata_names_the_function_error() -> None:
    """A timeout is a function error too: bisected, and the last attempt's metadata says so."""
    app = App("timeouts")
    clicks = Stream("clicks")
    bad = Queue("bad")

    @app.on_kinesis(clicks, starting_position="trim_horizon", batch=True, bisect_on_error=True,
                    max_retries=0, on_failure=bad, timeout_s=1, batch_size=4, batching_window_s=300)
    def on_batch(batch: KinesisBatch) -> None:
        if any(r.json()["n"] == 2 for r in batch):
            for _ in range(500):  # past the timeout: abandoned, stopped at its next instruction
                time.sleep(0.01)

    with run_app(app) as h:
        h.put_records(clicks, [{"n": i} for i in range(4)])
        h.drain()
        [failure] = [json.loads(m) for m in h.messages("bad")]
        calls = h.invocations("on_batch")
    assert [(_numbers(c), c.outcome) for c in calls] == [
        ([0, 1, 2, 3], "timeout"), ([0, 1], "ok"), ([2, 3], "timeout"), ([2], "timeout"), ([3], "ok")]
    assert failure["responseContext"]["functionError"] == "Unhandled"
    assert failure["KinesisBatchInfo"]["startSequenceNumber"] == _seq(calls[3], 0)


@pytest.mark.parametrize("retries", [1, 0])
def test_a_dynamodb_poison_change_is_isolated_given_a_retry_to_start_from(retries: int) -> None:
    """DynamoDB Streams the same way. With max_retries=1, the retry from the poison change fails as
    the first of its batch and is halved down to it; with max_retries=0 there is no retry: the
    batch from the poison change on is given up at its first report, bisect_on_error or not."""
    app = App(f"ddb-bisect-{retries}")
    totals = Table("totals", key="pk", stream=True)
    bad = Queue("bad")
    handled: list[str] = []

    @app.on_dynamodb_stream(totals, starting_position="trim_horizon", bisect_on_error=True, max_retries=retries,
                            on_failure=bad, batch_size=6, batching_window_s=300)
    def on_change(record: Any) -> None:
        if record.keys["pk"] == "k2":
            raise ValueError("poison")
        handled.append(record.keys["pk"])

    with run_app(app) as h:
        for i in range(6):
            h.put_item(totals, {"pk": f"k{i}"})
        h.drain()
        [failure] = [json.loads(m) for m in h.messages("bad")]
        calls = h.invocations("on_change")
    keys = [[r["dynamodb"]["Keys"]["pk"]["S"] for r in c.event["Records"]] for c in calls]
    info = failure["DDBStreamBatchInfo"]
    if retries:
        assert [(k, c.outcome) for k, c in zip(keys, calls, strict=True)] == [
            ([f"k{i}" for i in range(6)], "partial"), (["k2", "k3", "k4", "k5"], "error"), (["k2", "k3"], "error"),
            (["k2"], "partial"), (["k3"], "ok"), (["k4", "k5"], "ok")]
        assert handled == ["k0", "k1", "k3", "k4", "k5"]
        assert info["batchSize"] == 1
    else:
        assert [(k, c.outcome) for k, c in zip(keys, calls, strict=True)] == [
            ([f"k{i}" for i in range(6)], "partial")]
        assert handled == ["k0", "k1"]  # k3-k5 given up with k2, never handled
        assert info["batchSize"] == 4
    assert info["startSequenceNumber"] == calls[0].event["Records"][2]["dynamodb"]["SequenceNumber"]


def test_filters_match_case_insensitively_and_on_null_as_lambda_does() -> None:
    app = App("filtered")
    clicks = Stream("clicks")

    @app.on_kinesis(clicks, starting_position="trim_horizon", batch=True, filters=[
        {"data": {"kind": [{"equals-ignore-case": "click"}]}}, {"data": {"kind": [None]}}])
    def kept(batch: KinesisBatch) -> None:
        pass

    with run_app(app) as h:
        h.put_records(clicks, [{"kind": "CLICK", "n": 0}, {"kind": "view", "n": 1}, {"kind": None, "n": 2},
                               {"kind": "Click", "n": 3}])
        h.drain()
        calls = h.invocations("kept")
    delivered = [json.loads(base64.b64decode(r["kinesis"]["data"]))["n"] for c in calls for r in c.event["Records"]]
    assert delivered == [0, 2, 3]


def test_a_dynamodb_model_with_removals_filtered_out_sees_inserts_and_modifies_and_no_deletion_blocks() -> None:
    from pydantic import BaseModel

    class Order(BaseModel):
        pk: str
        total: int

    app = App("modelled")
    orders = Table("orders", key="pk", stream=True)
    got: list[Order] = []

    @app.on_dynamodb_stream(orders, model=Order, starting_position="trim_horizon",
                            filters=[{"eventName": ["INSERT", "MODIFY"]}])
    def on_order(order: Order) -> None:
        got.append(order)

    with run_app(app) as h:
        h.put_item(orders, {"pk": "a", "total": 1})
        h.client("dynamodb").delete_item(TableName=h.table_name(orders), Key={"pk": {"S": "a"}})
        h.put_item(orders, {"pk": "b", "total": 2})
        h.put_item(orders, {"pk": "b", "total": 3})
        h.drain()
        assert not h.failures()
    assert got == [Order(pk="a", total=1), Order(pk="b", total=2), Order(pk="b", total=3)]


def test_a_drain_that_times_out_on_a_blocked_shard_says_so_and_how_to_unblock_it() -> None:
    from flowfn.local.engine import DrainTimeout

    app = App("blocked")
    clicks = Stream("clicks")

    @app.on_kinesis(clicks, starting_position="trim_horizon")
    def always_fails(record: KinesisRecord) -> None:
        raise ValueError("bad record")

    with run_app(app) as h:
        h.put_record(clicks, {"n": 1})
        with pytest.raises(DrainTimeout) as caught:
            h.drain(timeout=2)
    message = str(caught.value)
    assert "handler 'always_fails' keeps failing on clicks shardId-000000000000" in message
    assert "Fix: the error app.failures() shows, or set max_retries= (or max_record_age_s=)" in message
