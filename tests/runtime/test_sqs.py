"""SQS batches: partial batch failures, invalid bodies, models, FIFO groups, whole-batch handlers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from flowfn import App, Queue, SqsBatch, SqsRecord
from flowfn.function import Handler
from flowfn.runtime import dispatch

STANDARD_ARN = "arn:aws:sqs:us-east-1:123456789012:jobs"
FIFO_ARN = "arn:aws:sqs:us-east-1:123456789012:jobs.fifo"


class Job(BaseModel):
    id: int
    fail: bool = False


def record(message_id: str, body: str, group: str | None = None, arn: str = STANDARD_ARN,
           receive_count: int = 1) -> dict[str, Any]:
    attributes = {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": "1545082649183",
                  "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1545082649185"}
    if group is not None:
        attributes.update(MessageGroupId=group, MessageDeduplicationId=f"dedup-{message_id}",
                          SequenceNumber="1")
    return {"messageId": message_id, "receiptHandle": f"rh-{message_id}", "body": body,
            "attributes": attributes, "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs",
            "eventSourceARN": arn, "awsRegion": "us-east-1"}


def failures(result: dict[str, Any]) -> list[str]:
    assert set(result) == {"batchItemFailures"}
    return [item["itemIdentifier"] for item in result["batchItemFailures"]]


def consumer(fn: Callable[..., Any], *, fifo: bool = False, batch: bool = False,
             model: type[BaseModel] | None = None) -> Handler:
    app = App("t")
    app.on_sqs(Queue("jobs.fifo" if fifo else "jobs"), batch=batch, model=model, name="h")(fn)
    return app.handler("h")


def test_some_records_fail(context: Any) -> None:
    done: list[int] = []

    def handler(rec: SqsRecord, ctx: Any) -> None:
        value = rec.json_body["n"]
        if value % 2:
            raise ValueError(f"odd {value}")
        done.append(value)

    event = {"Records": [record(f"m{i}", json.dumps({"n": i})) for i in range(6)]}
    assert failures(dispatch(consumer(handler), event, context)) == ["m1", "m3", "m5"]
    assert done == [0, 2, 4]


def test_invalid_json_bodies_fail_alone(capsys: pytest.CaptureFixture[str]) -> None:
    done: list[Any] = []
    event = {"Records": [record("a", '{"ok": 1}'), record("b", "{not json"), record("c", ""),
                         record("d", "[1]")]}
    assert failures(dispatch(consumer(lambda r: done.append(r.json_body)), event, None)) == ["b", "c"]
    assert done == [{"ok": 1}, [1]]
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(e["level"], e["message_id"]) for e in logged] == [("ERROR", "b"), ("ERROR", "c")]
    assert "not JSON" in logged[0]["error"]


def test_model_validation_failures_are_reported(capsys: pytest.CaptureFixture[str]) -> None:
    got: list[Job] = []
    event = {"Records": [record("a", '{"id": 1}'), record("b", '{"id": "x"}'), record("c", "nope"),
                         record("d", '{"id": 4, "fail": true}'), record("e", '{"id": 5}')]}

    def handler(job: Job) -> None:
        if job.fail:
            raise RuntimeError("job asked to fail")
        got.append(job)

    assert failures(dispatch(consumer(handler, model=Job), event, None)) == ["b", "c", "d"]
    assert got == [Job(id=1), Job(id=5)]
    logged = {e["message_id"]: e for e in map(json.loads, capsys.readouterr().out.splitlines())}
    assert "does not match Job" in logged["b"]["reason"] and "exception" not in logged["b"]
    assert "RuntimeError" in logged["d"]["reason"] and "job asked to fail" in logged["d"]["exception"]


def test_empty_batch() -> None:
    assert dispatch(consumer(lambda r: None), {"Records": []}, None) == {"batchItemFailures": []}


def test_record_fields() -> None:
    seen: list[SqsRecord] = []
    raw = record("m1", "hello", group="g1", arn=FIFO_ARN, receive_count=3)
    raw["messageAttributes"] = {"k": {"stringValue": "v", "dataType": "String"}}
    dispatch(consumer(seen.append, fifo=True), {"Records": [raw]}, None)
    (rec,) = seen
    assert (rec.message_id, rec.receipt_handle, rec.body, rec.receive_count) == ("m1", "rh-m1", "hello", 3)
    assert (rec.message_group_id, rec.message_deduplication_id) == ("g1", "dedup-m1")
    assert rec.sent_timestamp is not None and rec.sent_timestamp.isoformat() == "2018-12-17T21:37:29.183000+00:00"
    assert rec.message_attributes == {"k": {"stringValue": "v", "dataType": "String"}}
    assert rec.queue_arn == FIFO_ARN and rec.raw == raw


def test_fifo_failure_holds_back_the_rest_of_its_group_only() -> None:
    done: list[str] = []

    def handler(rec: SqsRecord) -> None:
        if rec.body == "boom":
            raise RuntimeError("boom")
        done.append(rec.message_id)

    event = {"Records": [
        record("a1", "ok", "A", FIFO_ARN), record("b1", "ok", "B", FIFO_ARN),
        record("a2", "boom", "A", FIFO_ARN), record("b2", "boom", "B", FIFO_ARN),
        record("c1", "ok", "C", FIFO_ARN), record("a3", "ok", "A", FIFO_ARN),
        record("b3", "ok", "B", FIFO_ARN), record("c2", "ok", "C", FIFO_ARN),
    ]}
    assert failures(dispatch(consumer(handler, fifo=True), event, None)) == ["a2", "b2", "a3", "b3"]
    assert done == ["a1", "b1", "c1", "c2"]


def test_fifo_invalid_model_holds_back_its_group() -> None:
    got: list[int] = []
    event = {"Records": [record("1", '{"id": 1}', "g", FIFO_ARN), record("2", "bad", "g", FIFO_ARN),
                         record("3", '{"id": 3}', "g", FIFO_ARN), record("4", '{"id": 4}', "h", FIFO_ARN)]}
    result = dispatch(consumer(lambda job: got.append(job.id), fifo=True, model=Job), event, None)
    assert failures(result) == ["2", "3"]
    assert got == [1, 4]


def test_standard_queue_ignores_groups() -> None:
    done: list[str] = []

    def handler(rec: SqsRecord) -> None:
        if rec.body == "boom":
            raise RuntimeError("boom")
        done.append(rec.message_id)

    event = {"Records": [record("1", "boom", "g"), record("2", "ok", "g")]}
    assert failures(dispatch(consumer(handler), event, None)) == ["1"]
    assert done == ["2"]


# -- batch=True -------------------------------------------------------------------------------


def test_batch_handler_marks_failures(context: Any) -> None:
    def handler(batch: SqsBatch, ctx: Any) -> None:
        assert ctx is context and batch.models is None and len(batch) == 3
        for rec in batch:
            if rec.body == "bad":
                batch.fail(rec)
        batch.fail("m2")

    event = {"Records": [record("m0", "bad"), record("m1", "ok"), record("m2", "ok")]}
    assert failures(dispatch(consumer(handler, batch=True), event, context)) == ["m0", "m2"]


def test_batch_handler_that_raises_fails_everything(capsys: pytest.CaptureFixture[str]) -> None:
    def handler(batch: SqsBatch) -> None:
        raise RuntimeError("database down")

    event = {"Records": [record(f"m{i}", "x") for i in range(3)]}
    assert failures(dispatch(consumer(handler, batch=True), event, None)) == ["m0", "m1", "m2"]
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [("exception" in e) for e in logged] == [True, False, False]


def test_batch_fail_rejects_unknown_messages() -> None:
    def handler(batch: SqsBatch) -> None:
        batch.fail("nope")

    result = dispatch(consumer(handler, batch=True), {"Records": [record("m0", "x")]}, None)
    assert failures(result) == ["m0"]  # the ValueError fails the batch rather than vanishing


def test_batch_with_model_leaves_out_invalid_bodies() -> None:
    seen: list[tuple[list[str], list[int]]] = []

    def handler(batch: SqsBatch) -> None:
        assert batch.models is not None
        seen.append(([r.message_id for r in batch.records], [m.id for m in batch.models]))

    event = {"Records": [record("a", '{"id": 1}'), record("b", "{}"), record("c", '{"id": 3}')]}
    assert failures(dispatch(consumer(handler, batch=True, model=Job), event, None)) == ["b"]
    assert seen == [(["a", "c"], [1, 3])]


def test_batch_with_nothing_valid_does_not_call_the_handler() -> None:
    calls: list[SqsBatch] = []
    result = dispatch(consumer(calls.append, batch=True, model=Job), {"Records": [record("a", "x")]}, None)
    assert failures(result) == ["a"] and calls == []


def test_fifo_batch_failure_reports_the_rest_of_the_group() -> None:
    def handler(batch: SqsBatch) -> None:
        batch.fail("a1")

    event = {"Records": [record("a0", "x", "A", FIFO_ARN), record("a1", "x", "A", FIFO_ARN),
                         record("b0", "x", "B", FIFO_ARN), record("a2", "x", "A", FIFO_ARN)]}
    assert failures(dispatch(consumer(handler, batch=True, fifo=True), event, None)) == ["a1", "a2"]


# -- properties -------------------------------------------------------------------------------

batches = st.lists(
    st.tuples(st.sampled_from(["g1", "g2", "g3"]), st.sampled_from(["ok", "raise", "invalid"])),
    max_size=12,
)


def expected(items: list[tuple[str, str]], fifo: bool) -> tuple[list[str], list[str]]:
    """(processed ids, failed ids in batch order) as Lambda's contract demands."""
    processed, failed, stopped = [], [], set()
    for index, (group, outcome) in enumerate(items):
        mid = f"m{index}"
        if fifo and group in stopped:
            failed.append(mid)
        elif outcome == "ok":
            processed.append(mid)
        else:
            failed.append(mid)
            stopped.add(group)
    return processed, failed


@settings(max_examples=150, deadline=None)
@given(batches, st.booleans(), st.booleans())
def test_every_message_is_acknowledged_or_reported(items: list[tuple[str, str]], fifo: bool,
                                                   with_model: bool) -> None:
    arn = FIFO_ARN if fifo else STANDARD_ARN
    bodies = {"ok": '{{"id": {}}}', "raise": '{{"id": {}, "fail": true}}',
              "invalid": '{{"id": {}, "fail": "maybe"}}'}
    event = {"Records": [record(f"m{i}", bodies[outcome].format(i), group if fifo else None, arn)
                         for i, (group, outcome) in enumerate(items)]}
    processed: list[str] = []

    def run(job: Job) -> None:
        if job.fail:
            raise RuntimeError("fail")
        processed.append(f"m{job.id}")

    def per_record(rec: SqsRecord) -> None:
        run(Job.model_validate_json(rec.body))

    fn = run if with_model else per_record
    result = dispatch(consumer(fn, fifo=fifo, model=Job if with_model else None), event, None)
    want_processed, want_failed = expected(items, fifo)
    assert failures(result) == want_failed
    assert processed == want_processed
    assert sorted(processed + want_failed) == sorted(f"m{i}" for i in range(len(items)))


@settings(max_examples=100, deadline=None)
@given(batches, st.booleans(), st.data())
def test_batch_handlers_report_what_they_fail(items: list[tuple[str, str]], fifo: bool,
                                              data: st.DataObject) -> None:
    arn = FIFO_ARN if fifo else STANDARD_ARN
    event = {"Records": [record(f"m{i}", "x", group if fifo else None, arn)
                         for i, (group, _) in enumerate(items)]}
    marked = data.draw(st.sets(st.sampled_from([f"m{i}" for i in range(len(items))]))) if items else set()

    def handler(batch: SqsBatch) -> None:
        for rec in reversed(batch.records):  # the order of fail() calls does not matter
            if rec.message_id in marked:
                batch.fail(rec)

    outcomes = [(group, "raise" if f"m{i}" in marked else "ok") for i, (group, _) in enumerate(items)]
    result = dispatch(consumer(handler, fifo=fifo, batch=True), event, None)
    assert failures(result) == expected(outcomes, fifo)[1]


class Strict(BaseModel):
    id: int

    @classmethod
    def model_validate_json(cls, *args: Any, **kwargs: Any) -> Strict:  # type: ignore[override]
        data = json.loads(args[0])
        if data.get("id") == 13:
            raise TypeError("unlucky")  # not a ValidationError: still only this message fails
        return super().model_validate_json(*args, **kwargs)


@pytest.mark.parametrize("batch", [False, True])
def test_any_error_while_validating_fails_only_that_message(batch: bool) -> None:
    got: list[int] = []

    def handler(item: Any) -> None:
        got.extend([m.id for m in item.models] if batch else [item.id])

    event = {"Records": [record("a", '{"id": 13}'), record("b", '{"id": 2}')]}
    assert failures(dispatch(consumer(handler, batch=batch, model=Strict), event, None)) == ["a"]
    assert got == [2]
