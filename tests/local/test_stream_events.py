"""Every stream event flowfn builds locally has AWS's shape: Powertools' models accept it, and it
has the fields of the reference events captured from AWS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamModel, KinesisDataStreamModel

from flowfn import App, Queue, Stream, Table
from flowfn.local.samples import dynamodb_sample, kinesis_sample, sample_for
from flowfn.testing import run_app

EVENTS = Path(__file__).resolve().parents[1] / "aws_events"


def _shape(value: Any) -> Any:
    """Keys (recursively) and value types, to compare an event with a reference one."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return "number" if isinstance(value, int | float) else type(value).__name__


def test_kinesis_samples_and_the_reference_event_have_one_shape() -> None:
    reference = json.loads((EVENTS / "kinesisStreamEvent.json").read_text())
    sample = kinesis_sample("clicks", ["Hello", b"\x00\x01", {"n": 1}], region="us-east-2")
    KinesisDataStreamModel.model_validate(sample)
    assert _shape(sample) == _shape(reference)


def test_dynamodb_samples_and_the_reference_event_have_one_shape() -> None:
    reference = json.loads((EVENTS / "dynamoStreamEvent.json").read_text())
    keys = {"Id": {"N": "101"}}
    sample = dynamodb_sample("orders", [("INSERT", keys, {**keys, "Message": {"S": "New item!"}}, None)])
    DynamoDBStreamModel.model_validate(sample)
    ref = reference["Records"][0]
    got = sample["Records"][0]
    assert set(got) == set(ref)
    assert set(got["dynamodb"]) == set(ref["dynamodb"])
    assert got["dynamodb"]["Keys"] == ref["dynamodb"]["Keys"]


@pytest.mark.slow
def test_every_stream_event_built_locally_validates_against_powertools_models() -> None:
    app = App("shapes")
    clicks = Stream("clicks", shards=2)
    totals = Table("totals", key="pk", sort_key=("at", "N"), stream=True)
    keys_only = Table("keys", key="pk", stream="keys_only")

    @app.on_kinesis(clicks, starting_position="trim_horizon", on_failure=Queue("bad"))
    def on_click(record: object) -> None: ...

    @app.on_dynamodb_stream(totals, starting_position="trim_horizon")
    def on_total(record: object) -> None: ...

    @app.on_dynamodb_stream(keys_only, starting_position="trim_horizon")
    def on_key(record: object) -> None: ...

    with run_app(app) as h:
        h.put_records(clicks, ["text", {"json": True}, b"\xff\xfe"], partition_key=lambda d: str(d)[:3])
        h.put_item(totals, {"pk": "a", "at": 1, "n": 1})
        h.put_item(totals, {"pk": "a", "at": 1, "n": 2, "blob": b"\x00\xff"})
        h.client("dynamodb").delete_item(TableName=h.table_name(totals),
                                         Key={"pk": {"S": "a"}, "at": {"N": "1"}})
        h.put_item(keys_only, {"pk": "b"})
        h.drain()
        kinesis = [r.event for r in h.invocations("on_click")]
        dynamo = [r.event for r in h.invocations("on_total") + h.invocations("on_key")]
        assert not h.failures()
    assert sum(len(e["Records"]) for e in kinesis) == 3
    assert sum(len(e["Records"]) for e in dynamo) == 4
    for event in kinesis:
        KinesisDataStreamModel.model_validate(event)
    for event in dynamo:
        DynamoDBStreamModel.model_validate(event)
    json.dumps(kinesis + dynamo)  # Lambda's events are JSON: binary values are base64 text
    for handler in app.handlers:  # the default events of `flowfn invoke`
        event = sample_for(handler)
        model = KinesisDataStreamModel if handler.name == "on_click" else DynamoDBStreamModel
        model.model_validate(event)
