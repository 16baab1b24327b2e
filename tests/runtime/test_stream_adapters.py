"""The Kinesis and DynamoDB Streams adapters: typed records, Lambda's partial batch response."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from flowfn import App, DynamoDbBatch, DynamoDbRecord, KinesisBatch, KinesisRecord, Stream, Table
from flowfn.local.samples import dynamodb_sample, kinesis_sample
from flowfn.runtime import dispatch


class Click(BaseModel):
    n: int


def _handler(app: App, name: str) -> Any:
    return app.handler(name)


def test_kinesis_records_are_typed_and_the_first_failure_stops_the_batch() -> None:
    app = App("k")
    seen: list[tuple[bytes, str, Any, str]] = []

    @app.on_kinesis(Stream("clicks"))
    def on_click(record: KinesisRecord) -> None:
        if record.text == "bad":
            raise ValueError("bad")
        seen.append((record.data, record.text, record.json(), record.partition_key))

    event = kinesis_sample("clicks", ['{"n": 1}', "bad", '{"n": 3}'], partition_key="p")
    result = dispatch(_handler(app, "on_click"), event, None)
    failed = event["Records"][1]["kinesis"]["sequenceNumber"]
    assert result == {"batchItemFailures": [{"itemIdentifier": failed}]}
    assert seen == [(b'{"n": 1}', '{"n": 1}', {"n": 1}, "p")]  # the third waits for the retry


def test_a_kinesis_model_failure_is_that_records_failure() -> None:
    app = App("k")
    got: list[Click] = []

    @app.on_kinesis(Stream("clicks"), model=Click)
    def on_click(click: Click) -> None:
        got.append(click)

    event = kinesis_sample("clicks", ['{"n": 1}', '{"n": "x"}'])
    result = dispatch(_handler(app, "on_click"), event, None)
    assert got == [Click(n=1)]
    assert result["batchItemFailures"] == [{"itemIdentifier": event["Records"][1]["kinesis"]["sequenceNumber"]}]


def test_a_batch_handler_reports_the_lowest_failed_record_or_fails_the_invocation() -> None:
    app = App("k")

    @app.on_kinesis(Stream("clicks"), batch=True)
    def on_batch(batch: KinesisBatch) -> None:
        for record in batch:
            if record.text in ("b", "c"):
                batch.fail(record)
        if any(r.text == "boom" for r in batch):
            raise RuntimeError("boom")

    marked = kinesis_sample("clicks", ["a", "b", "c"])
    result = dispatch(_handler(app, "on_batch"), marked, None)
    assert result == {"batchItemFailures": [{"itemIdentifier": marked["Records"][1]["kinesis"]["sequenceNumber"]}]}
    boom = kinesis_sample("clicks", ["a", "boom"])
    # Raising is a function error to Lambda (which bisects on it), not a partial response.
    with pytest.raises(RuntimeError, match="boom"):
        dispatch(_handler(app, "on_batch"), boom, None)


def test_under_bisect_a_failing_first_record_fails_the_invocation_and_any_other_is_reported() -> None:
    from flowfn.runtime.streaming import StreamRecordFailed

    app = App("k")
    ran: list[str] = []

    @app.on_kinesis(Stream("clicks"), bisect_on_error=True)
    def on_click(record: KinesisRecord) -> None:
        ran.append(record.text)
        if record.text == "bad":
            raise ValueError("bad data")

    first = kinesis_sample("clicks", ["bad", "b", "c"])
    with pytest.raises(StreamRecordFailed) as caught:
        dispatch(_handler(app, "on_click"), first, None)
    number = first["Records"][0]["kinesis"]["sequenceNumber"]
    assert isinstance(caught.value.__cause__, ValueError)  # the user's error is the cause
    message = str(caught.value)
    assert message.startswith(f"kinesis record {number}, the first of a batch of 3, failed: handler raised "
                              "ValueError: bad data. ")
    assert "bisect_on_error" in message and "Fix: " in message
    assert ran == ["bad"]  # the records after it wait for the halves
    later = kinesis_sample("clicks", ["a", "bad", "c"])
    result = dispatch(_handler(app, "on_click"), later, None)
    assert result == {"batchItemFailures": [{"itemIdentifier": later["Records"][1]["kinesis"]["sequenceNumber"]}]}
    alone = kinesis_sample("clicks", ["bad"])  # bisected down to it: reported, retried, given up
    result = dispatch(_handler(app, "on_click"), alone, None)
    assert result == {"batchItemFailures": [{"itemIdentifier": alone["Records"][0]["kinesis"]["sequenceNumber"]}]}


def test_without_bisect_a_failing_first_record_is_a_partial_response() -> None:
    app = App("k")

    @app.on_kinesis(Stream("clicks"))
    def on_click(record: KinesisRecord) -> None:
        raise ValueError("bad")

    event = kinesis_sample("clicks", ["a", "b"])
    result = dispatch(_handler(app, "on_click"), event, None)
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["kinesis"]["sequenceNumber"]}]}


@pytest.mark.parametrize("batch", [False, True])
def test_under_bisect_a_first_record_failing_its_model_fails_the_invocation(batch: bool) -> None:
    from pydantic import ValidationError

    from flowfn.runtime.streaming import StreamRecordFailed

    app = App("k")

    @app.on_kinesis(Stream("clicks"), model=Click, bisect_on_error=True, batch=batch)
    def on_click(click: Any) -> None:
        pass

    event = kinesis_sample("clicks", ['{"n": "x"}', '{"n": 2}'])
    with pytest.raises(StreamRecordFailed, match="does not match Click") as caught:
        dispatch(_handler(app, "on_click"), event, None)
    assert isinstance(caught.value.__cause__, ValidationError)
    event = kinesis_sample("clicks", ['{"n": 1}', '{"n": "x"}'])
    result = dispatch(_handler(app, "on_click"), event, None)
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["kinesis"]["sequenceNumber"]}]}


def test_dynamodb_records_carry_plain_python_images() -> None:
    app = App("d")
    seen: list[DynamoDbRecord] = []

    @app.on_dynamodb_stream(Table("orders", key="pk", stream=True))
    def on_change(record: DynamoDbRecord) -> None:
        seen.append(record)

    keys = {"pk": {"S": "a"}}
    event = dynamodb_sample("orders", [
        ("MODIFY", keys, {**keys, "n": {"N": "2"}, "tags": {"SS": ["x"]}}, {**keys, "n": {"N": "1"}}),
        ("REMOVE", keys, None, {**keys, "n": {"N": "2"}}),
    ])
    assert dispatch(_handler(app, "on_change"), event, None) == {"batchItemFailures": []}
    modify, remove = seen
    assert modify.event_name == "MODIFY" and modify.keys == {"pk": "a"}
    assert modify.new_image == {"pk": "a", "n": Decimal(2), "tags": {"x"}}
    assert modify.old_image == {"pk": "a", "n": Decimal(1)}
    assert remove.new_image is None and remove.approximate_creation_time is not None
    assert len(modify.sequence_number) == 21


def test_binary_attributes_come_as_base64_text_and_are_read_as_bytes() -> None:
    # Lambda's event is JSON: B and BS values are base64 text, at any depth of the image.
    from boto3.dynamodb.types import Binary

    app = App("d")
    seen: list[DynamoDbRecord] = []

    @app.on_dynamodb_stream(Table("files", key=("id", "B"), stream=True))
    def on_change(record: DynamoDbRecord) -> None:
        seen.append(record)

    keys = {"id": {"B": "AAE="}}
    image = {**keys, "parts": {"BS": ["aGk=", "eW8="]}, "meta": {"M": {"sig": {"B": "/w=="}}},
             "chunks": {"L": [{"B": "eA=="}, {"S": "eA=="}]}}
    event = dynamodb_sample("files", [("INSERT", keys, image, None)])
    dispatch(_handler(app, "on_change"), event, None)
    (record,) = seen
    assert record.keys == {"id": Binary(b"\x00\x01")}
    assert record.new_image == {"id": Binary(b"\x00\x01"), "parts": {Binary(b"hi"), Binary(b"yo")},
                                "meta": {"sig": Binary(b"\xff")}, "chunks": [Binary(b"x"), "eA=="]}


def test_a_dynamodb_model_validates_the_new_image() -> None:
    class Order(BaseModel):
        pk: str
        n: int

    app = App("d")
    got: list[Order] = []

    @app.on_dynamodb_stream(Table("orders", key="pk", stream=True), model=Order, batch=True,
                            filters=[{"eventName": ["INSERT", "MODIFY"]}])
    def on_batch(batch: DynamoDbBatch) -> None:
        assert batch.models is not None
        got.extend(batch.models)

    keys = {"pk": {"S": "a"}}
    event = dynamodb_sample("orders", [("INSERT", keys, {**keys, "n": {"N": "7"}}, None)])
    assert dispatch(_handler(app, "on_batch"), event, None) == {"batchItemFailures": []}
    assert got == [Order(pk="a", n=7)]


@pytest.mark.parametrize("annotation", ["KinesisBatch", "KinesisRecord"])
def test_a_handler_annotated_for_the_other_mode_is_refused(annotation: str) -> None:
    from flowfn import ConfigError

    app = App("k")
    namespace: dict[str, Any] = {}
    exec(f"def h(x: '{annotation}'): pass", namespace)
    batch = annotation == "KinesisRecord"
    with pytest.raises(ConfigError, match="annotated"):
        app.on_kinesis(Stream("clicks"), batch=batch)(namespace["h"])
