"""Hostile input and faults against the Kinesis and DynamoDB Streams pollers.

The promise: nothing lost, nothing delivered twice when nothing failed, every failure seen, and a
user's mistake one clear error naming the handler.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import subprocess
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import Binary
from pydantic import BaseModel

from flowfn import App, KinesisBatch, KinesisRecord, Queue, Stream, Table
from flowfn.testing import run_app

from .conftest import CLI, wait_for
from .test_mirror import StopApp, stopapp
from .test_streams_run_local import APP as RESUME_APP

__all__ = ["stopapp"]  # the fixture, used by name

STREAM_APP = RESUME_APP  # the resume test's app: records written to seen.txt as they come


class Click(BaseModel):
    user: str
    n: int


def _logged(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def _data(call: Any) -> list[bytes]:
    return [base64.b64decode(r["kinesis"]["data"]) for r in call.event["Records"]]


def test_hostile_kinesis_data_arrives_as_aws_sends_it(capsys: pytest.CaptureFixture[str]) -> None:
    """Bytes that are not UTF-8 or not JSON, empty data, a record of Kinesis's 1 MB and a non-ASCII
    partition key reach the handler untouched; a record failing ``model=`` is that record's
    failure, logged naming the handler and the field, and the records after it are handled once."""
    app = App("hostile")
    clicks = Stream("clicks")
    bad = Queue("bad")
    seen: list[tuple[str, bytes, str, str]] = []

    @app.on_kinesis(clicks, starting_position="trim_horizon", batching_window_s=300)
    def raw(record: KinesisRecord) -> None:
        text: str
        try:
            text = record.text
        except UnicodeDecodeError:
            text = "<not utf-8>"
        try:
            parsed = json.dumps(record.json())
        except ValueError:
            parsed = "<not json>"
        seen.append((record.partition_key, record.data, text, parsed))

    valid: list[Click] = []

    @app.on_kinesis(clicks, starting_position="trim_horizon", model=Click, batch_size=1,
                    max_retries=0, on_failure=bad)
    def typed(click: Click) -> None:
        valid.append(click)

    key = "clé-ключ-キー-🔑"
    big = b"x" * (1_048_576 - len(key.encode()))  # data and partition key: Kinesis's 1 MB
    payloads = [b"\xff\xfe\x80 not utf-8", b"not json {", b"", json.dumps({"user": "ü", "n": 1}).encode(),
                json.dumps({"user": "b"}).encode(), big, json.dumps({"user": "c", "n": 3}).encode()]
    with run_app(app) as h:
        for data in payloads:
            h.put_record(clicks, data, partition_key=key)
        h.drain()
        given_up = [json.loads(m)["KinesisBatchInfo"]["batchSize"] for m in h.messages("bad")]
        typed_calls = h.invocations("typed")
    assert [s[1] for s in seen] == payloads  # every record once, in order, byte for byte
    assert {s[0] for s in seen} == {key}
    assert [s[2] for s in seen[:4]] == ["<not utf-8>", "not json {", "", payloads[3].decode()]
    assert [s[3] for s in seen] == ["<not json>"] * 3 + ['{"user": "\\u00fc", "n": 1}', '{"user": "b"}',
                                                          "<not json>", '{"user": "c", "n": 3}']
    assert valid == [Click(user="ü", n=1), Click(user="c", n=3)]
    # Each record that fails the model is its own failure, given up alone (batch_size=1).
    assert [c.outcome for c in typed_calls] == ["partial", "partial", "partial", "ok", "partial", "partial", "ok"]
    assert given_up == [1, 1, 1, 1, 1]
    errors = [x for x in _logged(capsys.readouterr().out) if x["level"] == "ERROR" and x["function"] == "typed"]
    assert len(errors) == 5 and all(e["message"].startswith("handler 'typed': kinesis record ") for e in errors)
    assert [e["reason"] for e in errors][2:4] == [
        "record does not match Click (Invalid JSON: EOF while parsing a value at line 1 column 0)",
        "record does not match Click (n: Field required)"]


def test_every_dynamodb_attribute_type_arrives_as_aws_sends_it() -> None:
    """S, N (38 digits), B, SS, NS, BS, M, L, NULL, BOOL, a map nested 31 deep and an item near
    DynamoDB's 400 KB: the event carries DynamoDB JSON (binary as base64 text, numbers as their
    exact text) and the record's images decode it to the values written."""
    app = App("types")
    items = Table("items", key="pk", stream="new_image")
    images: list[dict[str, Any]] = []
    raws: list[dict[str, Any]] = []

    @app.on_dynamodb_stream(items, starting_position="trim_horizon")
    def on_change(record: Any) -> None:
        images.append(record.new_image)
        raws.append(record.raw["dynamodb"]["NewImage"])

    nested: dict[str, Any] = {"leaf": "bottom"}
    for depth in range(30):
        nested = {f"d{depth}": nested}
    precise = Decimal("12345678901234567890.123456789012345678")
    item = {
        "pk": "every-type", "s": "ünïcode ✓", "n": precise, "small": Decimal("-1E-130"),
        "b": b"\x00\xff\x80binary", "ss": {"a", "b"}, "ns": {Decimal(1), Decimal("2.5")},
        "bs": {b"\x00", b"\xff"}, "m": {"inner": {"x": [1, "two", None]}}, "l": [True, b"\x01", {"k": "v"}],
        "null": None, "bool": False, "deep": nested,
    }
    large = {"pk": "large", "blob": "z" * 399_000}
    with run_app(app) as h:
        h.put_item(items, item)
        h.put_item(items, large)
        h.drain()
        assert not h.failures()
    first, second = images
    assert first == {
        **item, "b": Binary(b"\x00\xff\x80binary"), "bs": {Binary(b"\x00"), Binary(b"\xff")},
        "m": {"inner": {"x": [Decimal(1), "two", None]}}, "l": [True, Binary(b"\x01"), {"k": "v"}]}
    assert second == large
    raw = raws[0]
    assert raw["n"] == {"N": "12345678901234567890.123456789012345678"}
    assert raw["b"] == {"B": base64.b64encode(b"\x00\xff\x80binary").decode()}
    assert sorted(raw["bs"]["BS"]) == sorted(base64.b64encode(v).decode() for v in (b"\x00", b"\xff"))
    assert raw["null"] == {"NULL": True} and raw["bool"] == {"BOOL": False}


def test_a_batch_handlers_returned_batch_item_failures_follow_lambdas_rules(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A ``batch=True`` handler may answer as a Lambda function does. The lowest identifier it
    reports is where the retry starts (duplicates and order do not matter); an empty or null list
    is success; an identifier that is empty, null, missing or not in the batch, a list that is not
    one, or an entry that is not an object fails the whole batch, with one error naming the handler."""
    app = App("answers")
    clicks = Stream("clicks")
    answers: list[Any] = []

    @app.on_kinesis(clicks, starting_position="trim_horizon", batch=True, batching_window_s=300, batch_size=4)
    def on_batch(batch: KinesisBatch) -> Any:
        seqs = [r.sequence_number for r in batch]
        answer = answers.pop(0) if answers and len(seqs) == 4 else None  # each case once, retries pass
        return answer(seqs) if callable(answer) else answer

    def ids(*ident: Any) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": i} for i in ident]}

    cases: list[tuple[Any, int | None]] = [  # the answer, and where the retry starts (None: no retry)
        (lambda s: ids(s[3], s[1], s[3]), 1),
        ({"batchItemFailures": []}, None),
        ({"batchItemFailures": None}, None),
        ({}, None),
        (ids(""), 0),
        (ids(None), 0),
        (ids("49999999999999999999999999999999999999999999999999999999"), 0),
        ({"batchItemFailures": [{"id": "x"}]}, 0),
        ({"batchItemFailures": [{"itemIdentifier": ["a", "list"]}]}, 0),
        (lambda s: {"batchItemFailures": s[2]}, 0),
        (lambda s: {"batchItemFailures": [s[2]]}, 0),
        (lambda s: {"batchItemFailures": {"itemIdentifier": s[2]}}, 0),
    ]
    delivered: list[list[list[bytes]]] = []
    with run_app(app) as h:
        for number, (answer, _) in enumerate(cases):
            answers.append(answer)
            h.put_records(clicks, [f"{number}-{i}" for i in range(4)])
            h.drain()
            delivered.append([_data(c) for c in h.invocations("on_batch")])
            h.clear()
    for number, (_, start) in enumerate(cases):
        sent = [f"{number}-{i}".encode() for i in range(4)]
        assert delivered[number] == ([sent] if start is None else [sent, sent[start:]]), number
    errors = [x for x in _logged(capsys.readouterr().out) if x["level"] == "ERROR"]
    whole = [e for e in errors if "fails the whole batch" in e["message"]]
    assert len(whole) == 8 and all(e["message"].startswith("handler 'on_batch': ") and "Fix:" in e["message"]
                                   for e in whole)
    assert "'49999999999999999999999999999999999999999999999999999999' is not" in whole[2]["message"]
    assert "is a str, not a list" in whole[5]["message"]


def test_base_exceptions_from_user_code_fail_the_batch_and_the_poller_goes_on() -> None:
    """SystemExit or KeyboardInterrupt raised by a handler is a function error, as Lambda's runtime
    dying would be: the batch is retried and the shard's poller reads on; every record is handled."""
    app = App("exits")
    clicks = Stream("clicks")
    raised: set[str] = set()
    handled: list[str] = []
    batches: list[list[str]] = []

    @app.on_kinesis(clicks, starting_position="trim_horizon", batching_window_s=300)
    def per_record(record: KinesisRecord) -> None:
        if record.text in ("exit", "interrupt") and record.text not in raised:
            raised.add(record.text)
            raise SystemExit(3) if record.text == "exit" else KeyboardInterrupt
        handled.append(record.text)

    @app.on_kinesis(clicks, starting_position="trim_horizon", batch=True, batching_window_s=300)
    def whole(batch: KinesisBatch) -> None:
        if not batches:
            batches.append([])
            raise KeyboardInterrupt
        batches.append([r.text for r in batch])

    with run_app(app) as h:
        h.put_records(clicks, ["a", "exit", "b"])
        h.drain()
        h.put_records(clicks, ["interrupt", "c"])
        h.drain()
        outcomes = [c.outcome for c in h.invocations("per_record")]
        errors = [type(c.error).__name__ for c in h.invocations() if c.error is not None]
    assert outcomes == ["error", "ok", "error", "ok"]
    assert sorted(errors) == ["KeyboardInterrupt", "KeyboardInterrupt", "SystemExit"]
    assert handled == ["a", "a", "exit", "b", "interrupt", "c"]  # "a" again: its batch failed
    assert batches == [[], ["a", "exit", "b"], ["interrupt", "c"]]


def test_an_on_failure_queue_deleted_while_running_is_reported_and_the_shard_goes_on() -> None:
    app = App("lostqueue")
    clicks = Stream("clicks")
    bad = Queue("bad")
    handled: list[str] = []

    @app.on_kinesis(clicks, starting_position="trim_horizon", max_retries=0, on_failure=bad)
    def on_click(record: KinesisRecord) -> None:
        if record.text == "poison":
            raise ValueError("poison")
        handled.append(record.text)

    with run_app(app) as h:
        h.client("sqs").delete_queue(QueueUrl=h.queue_url(bad))
        h.put_record(clicks, "poison")
        h.drain()
        h.put_record(clicks, "after")
        h.drain()
        [given] = [g for c in h.invocations("on_click") for g in c.given_up]
    assert handled == ["after"]
    assert given.destination.startswith("lost (sending to bad failed: ") and "NonExistentQueue" in given.destination


def _checkpoint_file(tmp_path: Path) -> Path:
    (tmp_path / "resume.py").write_text(STREAM_APP)
    folder = tmp_path / "state" / "resume" / "checkpoints"
    folder.mkdir(parents=True)
    return folder / "count.json"


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncated", "not an object", "not text", "a folder", "in a file"])
def test_a_damaged_checkpoint_file_stops_run_local_with_one_error_naming_it(tmp_path: Path, damage: str) -> None:
    """Starting without the checkpoints would hand the handler records again or skip ones never
    handled; run-local refuses to start instead, naming the handler and the file."""
    file = _checkpoint_file(tmp_path)
    if damage == "truncated":
        file.write_text('{"shardId-000000000000": "4')
    elif damage == "not an object":
        file.write_text('["4"]')
    elif damage == "not text":
        file.write_bytes(b"\xff\xfe\x00")
    elif damage == "a folder":
        file.mkdir()
    else:  # the checkpoints folder is a file
        file.parent.rmdir()
        file.parent.write_text("{}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FLOWFN_"))}
    proc = subprocess.Popen([*CLI, "run-local", str(tmp_path / "resume.py"), "--port", "0", "--no-reload",
                             "--state-dir", str(tmp_path / "state")], cwd=tmp_path, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError("run-local started with a damaged checkpoint file") from None
    assert proc.returncode == 1, err  # as for an app that fails to load
    assert "Traceback" not in err + out
    [line] = [x for x in err.splitlines() if x.startswith("error:")]
    assert f"handler 'count': the stream checkpoints in {file} cannot be read" in line and "Fix: " in line


@pytest.mark.slow
def test_a_checkpoint_past_the_end_of_a_shard_skips_nothing_new(stopapp: Any, tmp_path: Path) -> None:
    """After a run that was killed (no streams.json saved), the stream starts empty and numbers its
    records from the start again while the checkpoint file still holds the old run's place: the
    new records must all be handled, not skipped until the numbers pass the old checkpoint."""
    file = _checkpoint_file(tmp_path)
    file.write_text(json.dumps({"shardId-000000000000": "5"}))
    seen = tmp_path / "seen.txt"
    run: StopApp = stopapp(tmp_path / "resume.py", "resume")
    kinesis = boto3.client(
        "kinesis", endpoint_url=run.run_state["endpoint_url"], region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing")
    for text in ("r0", "r1", "r2"):
        kinesis.put_record(StreamName="events", Data=text.encode(), PartitionKey="k")
    wait_for(lambda: seen.exists() and len(seen.read_text().split()) == 3, 20, "the three new records")
    assert run.stop() == 0
    assert seen.read_text().split() == ["r0", "r1", "r2"]


def test_records_put_after_resharding_are_all_read_once_each_key_in_order() -> None:
    """UpdateShardCount while the poller runs: the parent shards are closed and keep their records,
    which are read to their end before the children's; the children's records (new shards the
    poller finds) are read too. Every record once, each partition key in put order, even when the
    children are found while the parent's first batch is still running."""
    app = App("reshard")
    clicks = Stream("clicks")
    got: list[tuple[str, int]] = []
    running, release = threading.Event(), threading.Event()

    @app.on_kinesis(clicks, starting_position="trim_horizon", batch_size=5)
    def on_click(record: KinesisRecord) -> None:
        if record.json()["n"] == 0:
            running.set()
            assert release.wait(30)
        got.append((record.partition_key, record.json()["n"]))

    keys = [f"user{i}" for i in range(8)]

    def put(h: Any, numbers: range) -> None:
        h.put_records(clicks, [{"k": keys[i % 8], "n": i} for i in numbers], partition_key=lambda d: d["k"])

    with run_app(app) as h:
        kinesis, name = h.client("kinesis"), h.stream_name(clicks)
        put(h, range(20))
        assert running.wait(30)  # the parent's first batch is held
        kinesis.update_shard_count(StreamName=name, TargetShardCount=2, ScalingType="UNIFORM_SCALING")
        put(h, range(20, 40))
        later = threading.Timer(1.0, release.set)  # meanwhile drain() finds the children
        later.start()
        h.drain()
        later.join()
        kinesis.update_shard_count(StreamName=name, TargetShardCount=1, ScalingType="UNIFORM_SCALING")
        put(h, range(40, 60))
        h.drain()
        shards = kinesis.list_shards(StreamName=name)["Shards"]
        read_from = {c.event["Records"][0]["eventID"].split(":")[0] for c in h.invocations("on_click")}
        assert not h.failures()
    assert len(shards) == 4 and read_from == {s["ShardId"] for s in shards}
    assert sorted(n for _, n in got) == list(range(60))  # none lost, none twice
    for key in keys:
        numbers = [n for k, n in got if k == key]
        assert numbers == sorted(numbers), key


@pytest.mark.slow
def test_a_record_handler_timing_out_under_bisect_on_error_is_isolated() -> None:
    """A function timeout is a function error: a per-record handler's batch is halved down to the
    change that hangs, which alone is given up; every other change is handled once."""
    app = App("hangs")
    totals = Table("totals", key="pk", stream=True)
    bad = Queue("bad")
    handled: list[str] = []

    @app.on_dynamodb_stream(totals, starting_position="trim_horizon", bisect_on_error=True, max_retries=0,
                            on_failure=bad, timeout_s=1, batch_size=4, batching_window_s=300)
    def on_change(record: Any) -> None:
        if record.keys["pk"] == "k2":
            for _ in range(500):  # past the timeout: abandoned, stopped at its next instruction
                time.sleep(0.01)
        handled.append(record.keys["pk"])

    with run_app(app) as h:
        for i in range(4):
            h.put_item(totals, {"pk": f"k{i}"})
        h.drain()
        [failure] = [json.loads(m) for m in h.messages("bad")]
        calls = h.invocations("on_change")
    keys = [[r["dynamodb"]["Keys"]["pk"]["S"] for r in c.event["Records"]] for c in calls]
    assert [(k, c.outcome) for k, c in zip(keys, calls, strict=True)] == [
        (["k0", "k1", "k2", "k3"], "timeout"), (["k0", "k1"], "ok"), (["k2", "k3"], "timeout"),
        (["k2"], "timeout"), (["k3"], "ok")]
    assert handled == ["k0", "k1", "k0", "k1", "k3"]  # k0 and k1 ran before the first batch timed out
    assert failure["responseContext"]["functionError"] == "Unhandled"
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1


class Total(BaseModel):
    pk: str
    amount: int


def test_a_removal_reaching_a_model_handler_fails_saying_how_to_leave_removals_out(
        capsys: pytest.CaptureFixture[str]) -> None:
    """With ``model=`` a handler takes a change's new image, which a REMOVE has not. Its filters must
    keep removals out (checked when declared); one that reaches it anyway (an event invoked by
    hand) fails with a reason saying so and how to filter removals out, not a bare validation error."""
    app = App("removals")
    totals = Table("totals", key="pk", stream=True)
    got: list[Total] = []

    @app.on_dynamodb_stream(totals, starting_position="trim_horizon", model=Total,
                            filters=[{"eventName": ["INSERT", "MODIFY"]}])
    def on_total(total: Total) -> None:
        got.append(total)

    with run_app(app) as h:
        h.put_item(totals, {"pk": "a", "amount": 3})
        h.drain()
        [inserted] = h.invocations("on_total")
        removal = copy.deepcopy(inserted.event)
        change = removal["Records"][0]
        change["eventName"] = "REMOVE"
        change["dynamodb"]["OldImage"] = change["dynamodb"].pop("NewImage")
        removed = h.invoke("on_total", removal)
    assert got == [Total(pk="a", amount=3)] and removed.outcome == "partial"
    [error] = [x for x in _logged(capsys.readouterr().out) if x["level"] == "ERROR"]
    assert error["message"].startswith("handler 'on_total': dynamodb record ")
    assert error["reason"].startswith("record does not match Total (a REMOVE record carries no new image")
    assert "filters=[{'eventName': ['INSERT', 'MODIFY']}]" in error["reason"]


RAISING_APP = STREAM_APP.replace("""    with SEEN.open("a") as out:""", """    marker = SEEN.with_name("raised-" + record.text)
    if record.text in ("exit", "interrupt") and not marker.exists():
        marker.touch()
        raise SystemExit(3) if record.text == "exit" else KeyboardInterrupt
    with SEEN.open("a") as out:""")


@pytest.mark.slow
def test_run_local_survives_handlers_exiting_and_a_checkpoint_folder_it_cannot_write(
        stopapp: Any, tmp_path: Path) -> None:
    """SystemExit and KeyboardInterrupt from a handler fail its batch, which is retried; a
    checkpoint that cannot be written (its folder replaced by a file) keeps the run going on the
    checkpoint it holds. run-local reads on and stops cleanly."""
    (tmp_path / "resume.py").write_text(RAISING_APP)
    seen = tmp_path / "seen.txt"
    run: StopApp = stopapp(tmp_path / "resume.py", "resume")
    kinesis = boto3.client("kinesis", endpoint_url=run.run_state["endpoint_url"], region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")

    def put_and_wait(text: str, count: int) -> None:
        kinesis.put_record(StreamName="events", Data=text.encode(), PartitionKey="k")
        wait_for(lambda: seen.exists() and len(seen.read_text().split()) == count, 20, f"{text} handled")

    put_and_wait("exit", 1)
    folder = tmp_path / "state" / "resume" / "checkpoints"
    assert json.loads((folder / "count.json").read_text()) == {"shardId-000000000000": "1"}
    for file in folder.iterdir():
        file.unlink()
    folder.rmdir()
    folder.write_text("not a folder")
    put_and_wait("interrupt", 2)
    put_and_wait("r1", 3)
    assert run.stop() == 0
    assert seen.read_text().split() == ["exit", "interrupt", "r1"]
    assert [s["outcome"] for s in run.seen if s["function"] == "count"] == ["error", "ok", "error", "ok", "ok"]
    assert not any("Traceback" in line for line in run.err), run.err


def test_a_batch_of_large_records_is_cut_to_lambdas_6_mb_payload() -> None:
    """Lambda passes a batch's records in one call only up to its 6 MB payload limit: six records
    of nearly 1 MB (1.4 MB each in base64) come as batches whose events stay under it, each
    record once, in order."""
    app = App("payload")
    clicks = Stream("clicks")
    sizes: list[int] = []
    handled: list[int] = []

    @app.on_kinesis(clicks, starting_position="trim_horizon", batch=True, batch_size=100, batching_window_s=300)
    def on_batch(batch: KinesisBatch) -> None:
        sizes.append(len(json.dumps(batch.raw, separators=(",", ":")).encode()))
        handled.extend(r.data[0] for r in batch)

    with run_app(app) as h:
        for n in range(6):
            h.put_record(clicks, bytes([n]) * 1_000_000)
        h.drain()
        batches = [len(c.event["Records"]) for c in h.invocations("on_batch")]
    assert handled == list(range(6))
    assert batches == [4, 2] and all(size <= 6 * 1024 * 1024 for size in sizes), sizes
