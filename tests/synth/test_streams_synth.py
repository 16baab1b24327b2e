"""Tables, Kinesis streams and their triggers in templates: every mapping setting, least privilege."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from flowfn import App, ConfigError, Queue, Stream, Table
from flowfn.app import AppOrigin
from flowfn.synth import SynthOptions, render, synthesize
from flowfn.synth.graph import mermaid
from flowfn.synth.iam import policy_for

CODE, LAYERS = "code-0123456789abcdef.zip", {"arm64": "deps-arm.zip", "x86_64": "deps-x86.zip"}


class Item(BaseModel):
    pk: str


def _app() -> App:
    app = App("streams")
    app.origin = AppOrigin(root=".", module="app")
    clicks = Stream("clicks", shards=2, retention_hours=48)
    totals = Table("totals", key="pk", sort_key=("minute", "N"), stream="new_and_old_images")
    bad = Queue("bad")

    @app.on_kinesis(clicks, batch_size=500, batching_window_s=5, starting_position="at_timestamp",
                    starting_timestamp=1_700_000_000, bisect_on_error=True, max_retries=3,
                    max_record_age_s=3600, parallelization=4, on_failure=bad,
                    filters=[{"data": {"kind": ["click"]}}], uses=[totals.write(), totals.read()])
    def aggregate(record: object) -> None: ...

    @app.on_dynamodb_stream(totals, starting_position="trim_horizon", max_retries=0, on_failure=bad)
    def alert(record: object) -> None: ...

    @app.on_http("POST", "/events", uses=[clicks.put()])
    def ingest(request: object) -> dict[str, str]:
        return {}

    return app


def _template() -> dict[str, Any]:
    synth = synthesize(_app(), SynthOptions(python="3.11"), code_asset=CODE, layers=LAYERS)
    return json.loads(render(synth.template))


def _by_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def test_the_table_and_the_stream_are_declared_safe_by_default() -> None:
    template = _template()
    (table,) = _by_type(template, "AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert props["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"},
                                  {"AttributeName": "minute", "KeyType": "RANGE"}]
    (stream,) = _by_type(template, "AWS::Kinesis::Stream").values()
    assert stream["Properties"]["ShardCount"] == 2 and stream["Properties"]["RetentionPeriodHours"] == 48
    assert stream["Properties"]["StreamEncryption"]["EncryptionType"] == "KMS"


def test_each_mapping_carries_every_setting() -> None:
    mappings = _by_type(_template(), "AWS::Lambda::EventSourceMapping")
    kinesis = next(m["Properties"] for m in mappings.values()
                   if "Fn::GetAtt" in json.dumps(m["Properties"]["EventSourceArn"])
                   and "Clicks" in json.dumps(m["Properties"]["EventSourceArn"]))
    assert kinesis["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert kinesis["BatchSize"] == 500 and kinesis["MaximumBatchingWindowInSeconds"] == 5
    assert kinesis["StartingPosition"] == "AT_TIMESTAMP"
    assert kinesis["StartingPositionTimestamp"] == 1_700_000_000
    assert kinesis["BisectBatchOnFunctionError"] is True and kinesis["MaximumRetryAttempts"] == 3
    assert kinesis["MaximumRecordAgeInSeconds"] == 3600 and kinesis["ParallelizationFactor"] == 4
    assert "OnFailure" in kinesis["DestinationConfig"]
    assert kinesis["FilterCriteria"] == {"Filters": [{"Pattern": '{"data":{"kind":["click"]}}'}]}
    ddb = next(m["Properties"] for m in mappings.values() if "StreamArn" in json.dumps(m["Properties"]))
    assert ddb["StartingPosition"] == "TRIM_HORIZON" and ddb["MaximumRetryAttempts"] == 0
    assert ddb["MaximumRecordAgeInSeconds"] == -1 and ddb["BisectBatchOnFunctionError"] is False


def test_the_roles_allow_exactly_what_the_mappings_and_grants_need() -> None:
    app = _app()
    rows = {h.name: dict(policy_for(app, h).rows()) for h in app.handlers}
    assert rows["aggregate"]["kinesis:DescribeStream, kinesis:DescribeStreamSummary, kinesis:GetRecords, "
                             "kinesis:GetShardIterator, kinesis:ListShards"] == "stream clicks"
    assert rows["aggregate"]["sqs:SendMessage"] == "queue bad"
    assert "table totals" in rows["aggregate"].values()
    assert rows["alert"]["dynamodb:DescribeStream, dynamodb:GetRecords, dynamodb:GetShardIterator"] == \
        "table-stream totals"
    assert rows["ingest"]["kinesis:PutRecord, kinesis:PutRecords"] == "stream clicks"
    text = json.dumps(_template())
    assert '"Resource": "*"' not in text and "ListStreams" not in text


def test_the_template_lints_clean(lint: Callable[[str], list[str]]) -> None:
    assert lint(json.dumps(_template())) == []


def test_the_graph_shows_streams_tables_and_failure_queues() -> None:
    text = mermaid(_app())
    assert "stream_Clicks[/" in text and "table_Totals[(" in text
    assert "failed batches" in text and '-->|"batch 500, bisect"| fn_Aggregate' in text


@pytest.mark.parametrize(("kwargs", "argument"), [
    ({"batch_size": 0}, "batch_size"),
    ({"batch_size": 10_001}, "batch_size"),
    ({"batching_window_s": 301}, "batching_window_s"),
    ({"starting_position": "earliest"}, "starting_position"),
    ({"starting_position": "at_timestamp"}, "starting_timestamp"),
    ({"starting_timestamp": 5.0}, "starting_timestamp"),
    ({"max_retries": 10_001}, "max_retries"),
    ({"max_record_age_s": 59}, "max_record_age_s"),
    ({"parallelization": 11}, "parallelization"),
    ({"on_failure": Queue("x.fifo")}, "on_failure"),
    ({"filters": [{"nope": 1}]}, "filters"),
    ({"filters": [{"data": {"n": [i]}} for i in range(6)]}, "filters"),
    ({"filters": [{"partitionKey": "a"}]}, "filters"),  # a value, not a list of them
    ({"filters": [{"data": {"n": [{"numerik": [">", 1]}]}}]}, "filters"),
    ({"filters": [{"data": {"$or": [{"n": [1]}, {"m": [2]}]}}]}, "filters"),
    ({"filters": [{"data": {"n": [{"anything-but": {"prefix": "a"}}]}}]}, "filters"),
])
def test_kinesis_settings_outside_what_aws_accepts_are_refused(kwargs: dict[str, Any], argument: str) -> None:
    app = App("bad")
    with pytest.raises(ConfigError) as caught:
        app.on_kinesis(Stream("s"), **kwargs)(lambda record: None)
    assert caught.value.argument == argument and "Fix:" in str(caught.value)


def test_dynamodb_stream_mistakes_are_refused_with_a_fix() -> None:
    app = App("bad")
    with pytest.raises(ConfigError, match=r"has no stream.*Fix: declare it with Table"):
        app.on_dynamodb_stream(Table("plain", key="pk"))(lambda record: None)
    with pytest.raises(ConfigError, match="starting_position"):
        app.on_dynamodb_stream(Table("tab", key="pk", stream=True),
                               starting_position="at_timestamp")(lambda record: None)
    with pytest.raises(ConfigError, match="no new image"):
        app.on_dynamodb_stream(Table("keys", key="pk", stream="keys_only"), model=Item)(lambda record: None)
    with pytest.raises(ConfigError, match=r"REMOVE record carries no new image.*Fix: add filters=\[\{'eventName'"):
        app.on_dynamodb_stream(Table("full", key="pk", stream=True), model=Item)(lambda record: None)
    with pytest.raises(ConfigError, match="REMOVE record"):  # one pattern of two lets removals through
        app.on_dynamodb_stream(Table("full", key="pk", stream=True), model=Item, filters=[
            {"eventName": ["INSERT"]}, {"dynamodb": {"Keys": {"pk": {"S": ["a"]}}}}])(lambda record: None)
    with pytest.raises(ConfigError, match=r"'10' is not a whole number\. Fix: pass an int in 1-10000"):
        app.on_kinesis(Stream("s"), batch_size="10")(lambda record: None)
    with pytest.raises(ConfigError, match=r"1\.5 is not a whole number"):
        app.on_kinesis(Stream("s"), batch=True, tumbling_window_s=1.5)(lambda batch: None)
    with pytest.raises(ConfigError, match=r"'2024-01-01' is not a time in Unix seconds\. Fix: pass a number"):
        app.on_kinesis(Stream("s"), starting_position="at_timestamp",
                       starting_timestamp="2024-01-01")(lambda record: None)
    with pytest.raises(ConfigError, match=r"'data' is not a list of filter patterns"):
        app.on_kinesis(Stream("s"), filters="data")(lambda record: None)
    with pytest.raises(ConfigError, match=r"eventName 'insert' is not a change.*Fix: use 'INSERT', 'MODIFY'"):
        app.on_dynamodb_stream(Table("full", key="pk", stream=True),
                               filters=[{"eventName": ["insert"]}])(lambda record: None)
    with pytest.raises(ConfigError, match="exact ARN"):
        app.on_dynamodb_stream(Table("ext", existing="their-table", stream=True))(lambda record: None)
    with pytest.raises(ConfigError, match="partition key"):
        Table("nokey")
    with pytest.raises(ConfigError, match="stream view"):
        Table("tab2", key="pk", stream="everything")
    with pytest.raises(ConfigError, match="shards"):
        Stream("s", shards=0)


def test_several_functions_may_read_one_stream_each_with_its_own_mapping() -> None:
    app = App("fanout")
    app.origin = AppOrigin(root=".", module="app")
    clicks = Stream("clicks")
    app.on_kinesis(clicks, name="first")(lambda record: None)
    app.on_kinesis(clicks, name="second")(lambda record: None)
    synth = synthesize(app, SynthOptions(python="3.11"), code_asset=CODE, layers=LAYERS)
    template = json.loads(render(synth.template))
    assert len(_by_type(template, "AWS::Lambda::EventSourceMapping")) == 2


def test_a_kinesis_handler_that_puts_into_its_own_stream_is_refused_unless_filters_keep_them_apart() -> None:
    app = App("looping")
    clicks = Stream("clicks")
    with pytest.raises(ConfigError, match=r"argument 'uses': it may put records into stream 'clicks', whose "
                       r"every record invokes it.*Fix: put into another stream, or pass filters="):
        app.on_kinesis(clicks, uses=[clicks.put()], name="loop")(lambda record: None)
    app.on_kinesis(clicks, uses=[clicks.put()], filters=[{"data": {"kind": ["raw"]}}], name="enrich")(
        lambda record: None)
    app.on_kinesis(clicks, uses=[Stream("other").put()], name="forward")(lambda record: None)
