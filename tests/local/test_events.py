"""Locally built events have AWS's shape and pass Powertools' parser models."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventV2Model,
    EventBridgeModel,
    S3Model,
    SqsModel,
)

from flowfn import Bucket
from flowfn.runtime import S3Record, SqsRecord
from flowfn.triggers.http import HttpTrigger, api_gateway_path, http_event, match_path, route_priority
from flowfn.triggers.s3 import S3Trigger, s3_event, s3_record, trigger_matches
from flowfn.triggers.schedule import ScheduleTrigger, schedule_arn, scheduled_event
from flowfn.triggers.sqs import sample_message, sqs_event, sqs_record

REFERENCE = Path(__file__).resolve().parents[1] / "aws_events"
WHEN = datetime(2025, 3, 4, 5, 6, 7, 890_000, tzinfo=UTC)


def reference(name: str) -> Any:
    return json.loads((REFERENCE / name).read_text())


def shape(value: Any) -> Any:
    """Keys and value types, recursively (lists by their first item)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def created(key: str = "photos/my cat+1.jpg") -> dict[str, Any]:
    return s3_record(event_name="ObjectCreated:Put", bucket="uploads", key=key, region="us-east-1",
                     event_time=WHEN, sequencer="0000000000000000A1", request_id="C3D13FE58DE4C810",
                     configuration_id="flowfn-thumb", size=1024, etag='"abc123"')


def test_s3_created_event_matches_the_reference_field_for_field() -> None:
    event = s3_event([created()])
    assert shape(event) == shape(reference("s3Event.json"))
    record = event["Records"][0]
    assert record["s3"]["object"]["key"] == "photos/my+cat%2B1.jpg"
    assert record["eventTime"] == "2025-03-04T05:06:07.890Z"
    assert record["s3"]["object"]["eTag"] == "abc123"
    parsed = S3Model.model_validate(event)
    assert parsed.Records[0].s3.bucket.name == "uploads"
    assert S3Record.from_raw(record).object_key == "photos/my cat+1.jpg"


def test_s3_removed_event_matches_the_reference() -> None:
    record = s3_record(event_name="ObjectRemoved:Delete", bucket="uploads", key="a/b.txt",
                       region="us-east-2", event_time=WHEN, sequencer="01", request_id="R1",
                       configuration_id="c")
    assert shape(s3_event([record])) == shape(reference("s3EventDeleteObject.json"))
    S3Model.model_validate(s3_event([record]))


@pytest.mark.parametrize(("events", "prefix", "suffix", "name", "key", "expected"), [
    (("s3:ObjectCreated:*",), "", "", "ObjectCreated:Put", "k", True),
    (("s3:ObjectCreated:*",), "", "", "ObjectRemoved:Delete", "k", False),
    (("s3:ObjectCreated:Copy",), "", "", "ObjectCreated:Put", "k", False),
    (("s3:ObjectRemoved:*",), "", "", "ObjectRemoved:Delete", "k", True),
    (("s3:ObjectCreated:*",), "in/", ".jpg", "ObjectCreated:Put", "in/a.jpg", True),
    (("s3:ObjectCreated:*",), "in/", ".jpg", "ObjectCreated:Put", "out/a.jpg", False),
    (("s3:ObjectCreated:*",), "in/", ".jpg", "ObjectCreated:Put", "in/a.png", False),
])
def test_s3_filters(events: tuple[str, ...], prefix: str, suffix: str, name: str, key: str,
                    expected: bool) -> None:
    trigger = S3Trigger(bucket=Bucket("uploads"), events=events, prefix=prefix, suffix=suffix)
    assert trigger_matches(trigger, name, key) is expected


def test_sqs_event_has_lambdas_shape_and_parses() -> None:
    message = sample_message('{"message": "foo1"}', message_id="m-1", sent_ms=1545082650636,
                             attributes={"testAttr": "100"})
    message["MessageAttributes"]["bin"] = {"BinaryValue": b"\x00\x01", "DataType": "Binary"}
    record = sqs_record(message, queue_arn="arn:aws:sqs:us-east-2:123456789012:my-queue",
                        region="us-east-2")
    event = sqs_event([record])
    ref = reference("sqsEvent.json")["Records"][0]
    assert set(ref) <= set(record)
    assert set(ref["attributes"]) == set(record["attributes"])
    assert record["messageAttributes"]["bin"]["binaryValue"] == "AAE="
    assert record["messageAttributes"]["testAttr"]["stringValue"] == "100"
    parsed = SqsModel.model_validate(event)
    assert parsed.Records[0].messageId == "m-1"
    typed = SqsRecord.from_raw(record)
    assert typed.json_body == {"message": "foo1"} and typed.receive_count == 1


def test_fifo_sample_carries_group_attributes() -> None:
    message = sample_message("x", message_id="m", sent_ms=1, group_id="g1")
    record = sqs_record(message, queue_arn="arn:aws:sqs:us-east-1:123456789012:q.fifo", region="us-east-1")
    assert record["attributes"]["MessageGroupId"] == "g1"
    SqsModel.model_validate(sqs_event([record]))


def test_scheduled_event_matches_the_reference() -> None:
    trigger = ScheduleTrigger(expression="rate(5 minutes)")
    arn = schedule_arn(trigger, "nightly", region="us-east-1", account="123456789012")
    event = scheduled_event(rule_arn=arn, time=WHEN, event_id="id-1", region="us-east-1",
                            account="123456789012")
    assert shape(event) == shape(reference("scheduledEvent.json"))
    assert event["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/nightly"]
    assert event["time"] == "2025-03-04T05:06:07Z"
    EventBridgeModel.model_validate(event)
    zoned = ScheduleTrigger(expression="rate(5 minutes)", timezone="Europe/Paris")
    zarn = schedule_arn(zoned, "nightly", region="us-east-1", account="123456789012")
    assert scheduled_event(rule_arn=zarn, time=WHEN, event_id="i", region="us-east-1",
                           account="1")["source"] == "aws.scheduler"


def test_http_event_has_the_payload_2_shape_and_parses() -> None:
    event = http_event(
        method="post", raw_path="/my/path", raw_query="parameter1=value1&parameter1=value2&parameter2=value",
        headers=[("Header1", "value1"), ("Header2", "value1"), ("Header2", "value2"),
                 ("Cookie", "cookie1; cookie2"), ("Content-Type", "application/json")],
        body=b'{"message": "hello world"}', route_key="POST /my/{p}", path_params={"p": "path"},
        request_id="id", time=WHEN, domain="id.execute-api.us-east-1.amazonaws.com",
    )
    ref = reference("apiGatewayProxyV2Event.json")
    optional = {"stageVariables"}
    assert set(ref) - optional == set(event)
    assert set(ref["requestContext"]) - {"authentication", "authorizer"} == set(event["requestContext"])
    assert event["headers"]["header2"] == "value1,value2"
    assert event["cookies"] == ["cookie1", "cookie2"]
    assert event["queryStringParameters"] == {"parameter1": "value1,value2", "parameter2": "value"}
    assert event["requestContext"]["time"] == "04/Mar/2025:05:06:07 +0000"
    assert event["isBase64Encoded"] is False
    parsed = APIGatewayProxyEventV2Model.model_validate(event)
    assert parsed.requestContext.http.method == "POST"


def test_binary_bodies_are_base64_and_empty_ones_left_out() -> None:
    binary = http_event(method="PUT", raw_path="/f", raw_query="", headers=[("content-type", "image/png")],
                        body=b"\x89PNG", route_key="PUT /f", path_params={}, request_id="r", time=WHEN)
    assert binary["isBase64Encoded"] is True and binary["body"] == "iVBORw=="
    empty = http_event(method="GET", raw_path="/f", raw_query="", headers=[], body=b"", route_key="GET /f",
                       path_params={}, request_id="r", time=WHEN)
    assert "body" not in empty and "queryStringParameters" not in empty and "pathParameters" not in empty
    APIGatewayProxyEventV2Model.model_validate(binary)
    APIGatewayProxyEventV2Model.model_validate(empty)


@pytest.mark.parametrize(("route", "path", "expected"), [
    ("/items/{id}", "/items/7", {"id": "7"}),
    ("/items/{id}", "/items", None),
    ("/items/{id}", "/items/7/x", None),
    ("/files/{key+}", "/files/a/b/c", {"key": "a/b/c"}),
    ("/files/{key+}", "/files", None),
    ("/", "/", {}),
    ("/health", "/health", {}),
    ("/health", "/healthz", None),
])
def test_route_matching(route: str, path: str, expected: dict[str, str] | None) -> None:
    assert match_path(HttpTrigger(method="GET", path=route), path) == expected


def test_more_specific_routes_sort_first() -> None:
    routes = [HttpTrigger("ANY", "/{proxy+}"), HttpTrigger("GET", "/items/{id}"),
              HttpTrigger("GET", "/items/new")]
    ordered = sorted(routes, key=route_priority)
    assert [r.path for r in ordered] == ["/items/new", "/items/{id}", "/{proxy+}"]



@pytest.mark.parametrize(("sent", "delivered"), [
    ("/", "/"),
    ("", "/"),
    ("/a+b", "/a+b"),                       # '+' is a path character, not a space
    ("/a%20b", "/a b"),
    ("/a%2Fb", "/a/b"),
    ("/%3F", "/"),                          # a decoded '?' ends the path
    ("/x%253Fy", "/x?y"),                   # decoded twice, but cut only after the first
    ("/x%2525y", "/x%y"),
    ("/x%25zz", None),                      # the second decoding meets '%zz': 400
    ("/x%zz", None),                        # malformed as sent: refused as well
])
def test_api_gateway_path(sent: str, delivered: str | None) -> None:
    assert api_gateway_path(sent) == delivered


def test_removals_carry_no_size_or_etag_whatever_the_caller_knows() -> None:
    for name in ("ObjectRemoved:Delete", "LifecycleExpiration:DeleteMarkerCreated", "ObjectRestore:Delete"):
        record = s3_record(event_name=name, bucket="b", key="k", region="us-east-1", event_time=WHEN,
                           sequencer="01", request_id="R", configuration_id="c", size=5, etag="e")
        assert set(record["s3"]["object"]) == {"key", "sequencer"}
        S3Model.model_validate(s3_event([record]))


def test_fifo_sample_sequence_numbers_grow_with_time_and_position() -> None:
    numbers = [
        int(sample_message("x", message_id="m", sent_ms=ms, group_id="g", position=i)["Attributes"]
            ["SequenceNumber"])
        for ms, i in ((1_735_689_600_000, 0), (1_735_689_600_000, 1), (1_735_689_600_001, 0))
    ]
    assert numbers == sorted(set(numbers))
