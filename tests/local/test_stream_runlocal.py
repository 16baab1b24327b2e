"""Lambda's stream semantics through `flowfn run-local` as a subprocess, records put with boto3 as a
user puts them: each shard in sequence order and each record once, per-partition-key order with
parallelization, the checkpoint after a partial failure, bisecting down to one poison record (a
batch handler raising, and a record handler's poison record after its partial failure), the
on-failure queue's metadata after max_retries (Kinesis and DynamoDB Streams), records older than
max_record_age_s given up, and the --json line of each given-up batch.

The app is tests/local/apps/streamsem.py: its handlers log what they see to a file, run-local's
--json lines count the invocations, and the emulator's own GetRecords gives each shard's true
order. One session on the embedded emulator serves every check but the record age; that one runs
on an emulator of the test's own, whose clock the test can set back while it puts records.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamLambdaOnFailureDestinationModel

from .conftest import APPS
from .test_mirror import StopApp, stopapp, wait_for

__all__ = ["stopapp"]  # the fixture, shared with test_mirror

pytestmark = pytest.mark.slow

#: Where the clicks' records go: 120 records over 13 partition keys on 4 shards.
CLICKS = [{"k": f"user{i % 13}", "n": i} for i in range(120)]
BATCH_INFO_KEYS = {"shardId", "startSequenceNumber", "endSequenceNumber", "approximateArrivalOfFirstRecord",
                   "approximateArrivalOfLastRecord", "batchSize", "streamArn"}


def _lines(log: Path) -> list[dict[str, Any]]:
    """The handlers' lines so far (a line still being written is left for the next look)."""
    written = log.read_text().split("\n")[:-1] if log.exists() else []
    return [json.loads(line) for line in written]


def _of(lines: list[dict[str, Any]], fn: str) -> list[dict[str, Any]]:
    return [line for line in lines if line["fn"] == fn]


def _deliveries(lines: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The records of each invocation, in the order the invocations began."""
    out: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        out.setdefault(line["req"], []).append(line)
    return list(out.values())


def _messages(run: StopApp, queue: str) -> list[dict[str, Any]]:
    url = run.run_state["queues"][queue]
    got = run.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    return [json.loads(m["Body"]) for m in got.get("Messages", [])]


def _kinesis_truth(kinesis: Any, stream: str) -> dict[str, list[dict[str, Any]]]:
    """Each shard's records, in the emulator's sequence order."""
    out: dict[str, list[dict[str, Any]]] = {}
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        out[shard["ShardId"]] = kinesis.get_records(ShardIterator=iterator, Limit=10_000)["Records"]
    return out


def _missing(run: StopApp, log: Path) -> list[str]:
    """What the session still waits for (nothing: every handler saw what it should)."""
    lines = _lines(log)
    wanted = {"in_order": 120, "by_key": 120, "checkpointed": 10, "bisected": 99, "isolated": 99, "retried": 2,
              "changed": 25, "guarded": 20}
    handled = Counter(line["fn"] for line in lines if line["ok"])
    missing = [f"{fn}: {handled[fn]} of {n} records handled" for fn, n in wanted.items() if handled[fn] < n]
    failed = Counter(s["function"] for s in run.collect() if s["outcome"] != "ok")
    missing += [f"{fn}: {failed[fn]} of {n} failed attempts" for fn, n in (("retried", 3), ("guarded", 2))
                if failed[fn] < n]
    return missing


def test_stream_semantics_hold_under_run_local(stopapp: Any, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Every stream of the app gets its records at once; once every handler has seen what it
    should, run-local stops and each semantic is checked against what the handlers logged."""
    log = tmp_path / "seen.jsonl"
    monkeypatch.setenv("STREAMSEM_LOG", str(log))
    run: StopApp = stopapp(APPS / "streamsem.py", "streamsem")
    creds = {"endpoint_url": run.run_state["endpoint_url"], "region_name": "us-east-1",
             "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    kinesis = boto3.client("kinesis", **creds)
    ddb = boto3.client("dynamodb", **creds)
    ddb_streams = boto3.client("dynamodbstreams", **creds)

    def put(stream: str, items: list[tuple[str, bytes]]) -> None:
        kinesis.put_records(StreamName=stream, Records=[{"PartitionKey": k, "Data": d} for k, d in items])

    for part in (CLICKS[:60], CLICKS[60:]):
        put("clicks", [(c["k"], json.dumps(c).encode()) for c in part])
    put("orders", [("o", json.dumps({"n": n}).encode()) for n in range(10)])
    put("bulk", [(f"b{n % 7}", json.dumps({"n": n}).encode()) for n in range(100)])
    put("poison", [(f"p{n % 7}", json.dumps({"n": n}).encode()) for n in range(100)])
    put("jobs", [("j", b"first"), ("j", b"poison"), ("j", b"after")])
    ddb.batch_write_item(RequestItems={"changes": [
        {"PutRequest": {"Item": {"pk": {"S": f"k{i}"}, "n": {"N": str(i)}}}} for i in range(25)]})

    try:
        wait_for(lambda: not _missing(run, log), 25, "every handler to see its records")
    except AssertionError:
        raise AssertionError(f"still missing: {_missing(run, log)}") from None
    clicks_truth = _kinesis_truth(kinesis, "clicks")
    jobs_truth = _kinesis_truth(kinesis, "jobs")
    jobs_arn = kinesis.describe_stream_summary(StreamName="jobs")["StreamDescriptionSummary"]["StreamARN"]
    stream_arn = ddb.describe_table(TableName="changes")["Table"]["LatestStreamArn"]
    ddb_shard = ddb_streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = ddb_streams.get_shard_iterator(StreamArn=stream_arn, ShardId=ddb_shard,
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    ddb_truth = [r["dynamodb"]["Keys"]["pk"]["S"] for r in ddb_streams.get_records(ShardIterator=iterator)["Records"]]
    failed = {q: _messages(run, q) for q in ("bisect-failed", "isolated-failed", "retry-failed", "changes-failed")}
    assert run.stop() == 0, run.err
    lines = _lines(log)
    calls = Counter(s["function"] for s in run.seen)

    # -- a. Each shard in sequence order, each record once; with parallelization, each key in order.
    in_order = _of(lines, "in_order")
    assert len(clicks_truth) == 4 and all(clicks_truth.values()), "the keys spread over the four shards"
    for shard, records in clicks_truth.items():
        seen = [line for line in in_order if line["shard"] == shard]
        assert [line["data"] for line in seen] == [json.loads(r["Data"])["n"] for r in records], shard
        numbers = [int(line["seq"]) for line in seen]
        assert numbers == sorted(set(numbers)), f"{shard}: sequence numbers out of order or repeated"
    assert calls["in_order"] == len(_deliveries(in_order))  # one --json line per invocation

    by_key = _of(lines, "by_key")
    assert sorted(line["data"] for line in by_key) == list(range(120))  # each record once
    for key in {c["k"] for c in CLICKS}:
        assert [line["data"] for line in by_key if line["key"] == key] == [
            c["n"] for c in CLICKS if c["k"] == key], key
    # A shard's batch ran as several invocations at once: two invocations of one shard overlap.
    spans = [(d[0]["shard"], d[0]["span"][0], d[-1]["span"][1]) for d in _deliveries(by_key)]
    assert any(a[0] == b[0] and max(a[1], b[1]) < min(a[2], b[2]) for i, a in enumerate(spans)
               for b in spans[i + 1:]), "no two invocations of one shard ran at once"
    assert calls["by_key"] == len(spans)

    # -- b. A partial failure: the records before the failed one are not delivered again; it and
    # the records after it are.
    orders = [[(line["data"], line["ok"]) for line in d] for d in _deliveries(_of(lines, "checkpointed"))]
    assert orders == [[(0, True), (1, True), (2, True), (3, True), (4, False)],
                      [(n, True) for n in range(4, 10)]]
    checkpointed = [s for s in run.seen if s["function"] == "checkpointed"]
    assert [s["outcome"] for s in checkpointed] == ["partial", "ok"]
    assert checkpointed[0]["failed"] == [_of(lines, "checkpointed")[4]["seq"]]

    # -- c. Bisecting isolates the poison record of a batch of 100. Lambda halves a batch on a
    # function error only (the first half first, no retry used up): a batch handler raising.
    bulk = _deliveries(_of(lines, "bisected"))
    handled = sorted(line["data"] for d in bulk for line in d if line["ok"])
    assert handled == [n for n in range(100) if n != 37]  # every other record, once
    assert [(d[0]["data"], len(d), d[0]["ok"]) for d in bulk] == [
        (0, 100, False), (0, 50, False), (0, 25, True), (25, 25, False), (25, 13, False), (25, 7, True),
        (32, 6, False), (32, 3, True), (35, 3, False), (35, 2, True), (37, 1, False), (38, 12, True),
        (50, 50, True)]
    calls_of = [s for s in run.seen if s["function"] == "bisected"]
    assert [s["outcome"] for s in calls_of] == ["ok" if d[0]["ok"] else "error" for d in bulk]  # a line per call
    seq37 = bulk[10][0]["seq"]
    assert [s["given_up"] for s in calls_of] == [[]] * 10 + [[{
        "event": f"bulk {bulk[10][0]['shard']} record {seq37}", "attempts": 1, "destination": "bisect-failed",
        "reason": "retries spent"}]] + [[]] * 2
    [poisoned] = failed["bisect-failed"]
    info = poisoned["KinesisBatchInfo"]
    assert (info["batchSize"], info["startSequenceNumber"], info["endSequenceNumber"]) == (1, seq37, seq37)
    assert poisoned["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert poisoned["requestContext"]["approximateInvokeCount"] == 1  # max_retries=0: bisecting is free
    assert poisoned["requestContext"]["requestId"] == bulk[10][0]["req"]
    assert poisoned["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST",
                                           "functionError": "Unhandled"}  # the last attempt raised

    # A record handler: 37 is reported (0-36 are done), then it is the first of the retried 63, so
    # the invocation fails and Lambda halves the batch down to it; once alone it is reported, and
    # after max_retries=1 only it goes to the on-failure queue. Every other record is handled once.
    isolated = _of(lines, "isolated")
    assert sorted(line["data"] for line in isolated if line["ok"]) == [n for n in range(100) if n != 37]
    assert [line["data"] for line in isolated if not line["ok"]] == [37] * 8
    calls_of = [s for s in run.seen if s["function"] == "isolated"]
    shard = isolated[0]["shard"]
    sizes = [int(s["source"].split(" (")[1].split(" ")[0]) for s in calls_of]
    assert list(zip(sizes, [s["outcome"] for s in calls_of], strict=True)) == [
        (100, "partial"), (63, "error"), (32, "error"), (16, "error"), (8, "error"), (4, "error"), (2, "error"),
        (1, "partial"), (1, "ok"), (2, "ok"), (4, "ok"), (8, "ok"), (16, "ok"), (31, "ok")]
    assert [s["source"] for s in calls_of[:3]] == [
        f"poison {shard} (100 records)", f"poison {shard} (63 records, retry 1, shard blocked)",
        f"poison {shard} (32 records, bisected, retry 1, shard blocked)"]
    assert calls_of[1]["error"].startswith("flowfn.runtime.streaming.StreamRecordFailed: kinesis record ")
    seq37 = next(line["seq"] for line in isolated if not line["ok"])
    assert [s["given_up"] for s in calls_of] == [[]] * 7 + [[{
        "event": f"poison {shard} record {seq37}", "attempts": 2, "destination": "isolated-failed",
        "reason": "retries spent"}]] + [[]] * 6
    [poisoned] = failed["isolated-failed"]
    info = poisoned["KinesisBatchInfo"]
    assert (info["batchSize"], info["startSequenceNumber"], info["endSequenceNumber"]) == (1, seq37, seq37)
    assert poisoned["requestContext"]["approximateInvokeCount"] == 2
    assert poisoned["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}  # reported

    # -- d. After max_retries + 1 attempts the record's metadata goes to the on-failure queue, in
    # AWS's shape; the shard moves on. max_record_age_s=60 did not cut the retries short.
    jobs = _of(lines, "retried")
    assert [(line["data"], line["ok"]) for line in jobs] == [
        ("first", True), ("poison", False), ("poison", False), ("poison", False), ("after", True)]
    [message] = failed["retry-failed"]
    assert set(message) == {"requestContext", "responseContext", "version", "timestamp", "KinesisBatchInfo"}
    assert message["version"] == "1.0"
    context = message["requestContext"]
    assert set(context) == {"requestId", "functionArn", "condition", "approximateInvokeCount"}
    assert context["condition"] == "RetryAttemptsExhausted" and context["approximateInvokeCount"] == 3
    assert context["functionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:retried"
    assert context["requestId"] == jobs[3]["req"]  # the last attempt's
    last_try = next(s for s in run.seen if s["function"] == "retried" and s["request_id"] == jobs[3]["req"])
    assert last_try["given_up"] == [{"event": f"jobs {jobs[1]['shard']} record {jobs[1]['seq']}", "attempts": 3,
                                     "destination": "retry-failed", "reason": "retries spent"}]
    assert message["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}  # reported, not raised
    info = message["KinesisBatchInfo"]
    assert set(info) == BATCH_INFO_KEYS
    [(shard, records)] = jobs_truth.items()
    poison = records[1]
    assert (info["shardId"], info["streamArn"], info["batchSize"]) == (shard, jobs_arn, 1)
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == jobs[1]["seq"]
    for field in ("approximateArrivalOfFirstRecord", "approximateArrivalOfLastRecord"):
        assert info[field].endswith("Z") and len(info[field]) == len("2019-11-14T00:38:04.835Z"), info[field]
        stamped = datetime.fromisoformat(info[field])
        assert abs((stamped - poison["ApproximateArrivalTimestamp"]).total_seconds()) < 0.002
    assert datetime.fromisoformat(message["timestamp"]) >= datetime.fromisoformat(info["approximateArrivalOfLastRecord"])

    # -- DynamoDB Streams: the one shard in order, a partial failure's checkpoint, and the
    # on-failure metadata in AWS's shape (Powertools' model parses it).
    assert sorted(ddb_truth) == sorted(f"k{i}" for i in range(25))
    changed = _of(lines, "changed")
    assert [line["key"] for line in changed if line["ok"]] == ddb_truth  # in order, each once
    deliveries = _deliveries(changed)
    at = next(i for i, d in enumerate(deliveries) if not d[-1]["ok"])
    assert deliveries[at][-1]["key"] == "k7" and len(deliveries[at]) > 1, "k7 failed in a batch after others"
    assert deliveries[at + 1][0]["key"] == "k7" and deliveries[at + 1][0]["ok"]
    assert sum(1 for line in changed if line["key"] == "k7") == 2
    seqs = {line["key"]: line["seq"] for line in changed}
    created = {line["key"]: line["created"] for line in changed}

    guarded = _of(lines, "guarded")
    assert [line["key"] for line in guarded if line["ok"]] == ddb_truth[:ddb_truth.index("k20")]
    assert [line["key"] for line in guarded if not line["ok"]] == ["k20", "k20"]  # max_retries=1
    [message] = failed["changes-failed"]
    model = DynamoDBStreamLambdaOnFailureDestinationModel.model_validate(message)
    assert model.request_context.condition == "RetryAttemptsExhausted"
    assert model.request_context.approximate_invoke_count == 2
    assert model.request_context.request_id == guarded[-1]["req"]
    last = [s for s in run.seen if s["function"] == "guarded" and s["outcome"] != "ok"][-1]
    assert last["outcome"] == "partial" and last["source"].startswith(f"changes {ddb_shard} (")
    size = int(last["source"].split(" (")[1].split(" ")[0])  # the records of the batch given up
    info = message["DDBStreamBatchInfo"]
    assert set(info) == BATCH_INFO_KEYS
    first = ddb_truth.index("k20")
    assert (info["shardId"], info["streamArn"], info["batchSize"]) == (ddb_shard, stream_arn, size)
    assert info["startSequenceNumber"] == seqs["k20"]
    assert info["endSequenceNumber"] == seqs[ddb_truth[first + size - 1]]
    assert last["given_up"] == [{
        "event": f"changes {ddb_shard} records {seqs['k20']}-{seqs[ddb_truth[first + size - 1]]} ({size} records)",
        "attempts": 2, "destination": "changes-failed", "reason": "retries spent"}]
    # DynamoDB stamps a change to the second, and so does the metadata: 2019-11-14T00:13:19Z.
    when = datetime.fromtimestamp(created["k20"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert info["approximateArrivalOfFirstRecord"] == when
    when = datetime.fromtimestamp(created[ddb_truth[first + size - 1]], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert info["approximateArrivalOfLastRecord"] == when


def test_records_older_than_max_record_age_go_to_the_on_failure_queue(
        stopapp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """run-local on an emulator of the test's own (--endpoint-url), whose clock is set back while
    some records are put, so that they arrived long enough ago. AWS's shortest max_record_age_s is
    60 s. Two records two minutes old go to the on-failure queue unhandled, and the fresh one
    after them is handled; a record 57 s old that always fails blocks its shard until it is 60 s
    old, then goes there too, and the record after it is handled. Each given-up run of records gets
    a --json line of its own (outcome ``expired``: no invocation) naming it and its destination."""
    import moto.kinesis.models as moto_kinesis

    from flowfn.local.emulator import EmbeddedMoto
    from flowfn.triggers.kinesis import aws_sequence_number

    log = tmp_path / "seen.jsonl"
    monkeypatch.setenv("STREAMSEM_LOG", str(log))
    emulator = EmbeddedMoto()
    emulator.start()
    run: StopApp | None = None

    def put_arrived(ago: timedelta, data: list[bytes]) -> list[str]:
        arrived = moto_kinesis.utcnow() - ago
        with monkeypatch.context() as clock:
            clock.setattr(moto_kinesis, "utcnow", lambda: arrived)
            put = kinesis.put_records(StreamName="backlog", Records=[{"PartitionKey": "j", "Data": d} for d in data])
        return [aws_sequence_number(r["SequenceNumber"]) for r in put["Records"]]

    def seen() -> list[tuple[str, bool]]:
        return [(line["data"], line["ok"]) for line in _lines(log) if line["fn"] == "aged"]

    try:
        kinesis = boto3.client("kinesis", endpoint_url=emulator.endpoint_url, region_name="us-east-1",
                               aws_access_key_id="testing", aws_secret_access_key="testing")
        kinesis.create_stream(StreamName="backlog", ShardCount=1)
        stale = put_arrived(timedelta(minutes=2), [b"stale-1", b"stale-2"])
        kinesis.put_record(StreamName="backlog", PartitionKey="j", Data=b"fresh")
        run = stopapp(APPS / "streamsem.py", "streamsem", ("--endpoint-url", emulator.endpoint_url))
        wait_for(lambda: ("fresh", True) in seen(), 20, "the fresh record")

        [doomed] = put_arrived(timedelta(seconds=57), [b"doomed"])
        kinesis.put_record(StreamName="backlog", PartitionKey="j", Data=b"later")
        wait_for(lambda: ("later", True) in seen(), 20, "the record after the doomed one")
        messages = _messages(run, "expired")
        assert run.stop() == 0, run.err
    finally:
        if run is not None:
            run.stop()
        emulator.stop()

    tries = seen().count(("doomed", False))
    assert seen() == [("fresh", True), *[("doomed", False)] * tries, ("later", True)]
    assert tries >= 1  # it was handled while younger than 60 s
    calls = [s for s in run.seen if s["function"] == "aged"]
    # The records given up unhandled each get a line of their own (not an invocation) saying so.
    assert [s["outcome"] for s in calls] == ["expired", "ok", *["partial"] * tries, "expired", "ok"]
    shard = "shardId-000000000000"
    assert [(s["source"], s["given_up"]) for s in calls if s["outcome"] == "expired"] == [
        (f"backlog {shard} (2 records)", [{"event": f"backlog {shard} records {stale[0]}-{stale[1]} (2 records)",
                                           "attempts": 0, "destination": "expired",
                                           "reason": "older than max_record_age_s"}]),
        (f"backlog {shard} (1 record)", [{"event": f"backlog {shard} record {doomed}", "attempts": tries,
                                          "destination": "expired", "reason": "older than max_record_age_s"}])]
    assert not [s for s in calls if s["outcome"] != "expired" and s["given_up"]]
    assert len(messages) == 2, messages
    messages.sort(key=lambda m: int(m["KinesisBatchInfo"]["startSequenceNumber"]))
    for message, (first, last), invoked in zip(messages, ((stale[0], stale[1]), (doomed, doomed)), (0, tries),
                                               strict=True):
        assert message["requestContext"]["condition"] == "RecordAgeExceeded"
        assert message["requestContext"]["approximateInvokeCount"] == invoked  # the stale ones: never
        info = message["KinesisBatchInfo"]
        assert set(info) == BATCH_INFO_KEYS
        assert (info["startSequenceNumber"], info["endSequenceNumber"]) == (first, last)
        assert info["batchSize"] == (2 if first != last else 1)
        age = datetime.fromisoformat(message["timestamp"]) - datetime.fromisoformat(
            info["approximateArrivalOfFirstRecord"])
        assert age > timedelta(seconds=60), age  # older than max_record_age_s when given up
