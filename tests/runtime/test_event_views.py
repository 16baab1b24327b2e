"""Typed events built straight from Lambda's dicts: fields, values worked out on first access, odd shapes."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import pytest

from flowfn import S3Event, S3Record, ScheduledEvent, SqsRecord

Events = Callable[[str], dict[str, Any]]


def test_s3_record_reads_the_delivered_record(reference: Events) -> None:
    raw = reference("s3Event.json")["Records"][0]
    record = S3Record.from_raw(raw)
    assert record.raw is raw
    assert (record.bucket_name, record.object_key) == ("lambda-artifacts-deafc19498e3f2df",
                                                       "b21b84d653bb07b05b1e6b33684dc11b")
    assert (record.size, record.etag, record.version_id) == (1305107, "b21b84d653bb07b05b1e6b33684dc11b", None)
    assert record.event_time == datetime(2019, 9, 3, 19, 37, 27, 192000, tzinfo=UTC)
    assert record.event_time is record.event_time  # parsed once


def test_s3_record_from_keywords_equals_the_one_from_the_event(reference: Events) -> None:
    raw = reference("s3Event.json")["Records"][0]
    built = S3Record(bucket_name="lambda-artifacts-deafc19498e3f2df", object_key="b21b84d653bb07b05b1e6b33684dc11b",
                     size=1305107, etag="b21b84d653bb07b05b1e6b33684dc11b", event_name="ObjectCreated:Put",
                     event_time=datetime(2019, 9, 3, 19, 37, 27, 192000, tzinfo=UTC))
    assert built == S3Record.from_raw(raw)
    assert built.raw == {} and built.version_id is None
    assert S3Record(bucket_name="b", object_key="k").event_time is None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda r: r.pop("eventName"), ("lambda-artifacts-deafc19498e3f2df", "", 1305107)),
        (lambda r: r["s3"].pop("bucket"), ("", "ObjectCreated:Put", 1305107)),
        (lambda r: r["s3"]["bucket"].update(name=123), ("123", "ObjectCreated:Put", 1305107)),
        (lambda r: r["s3"]["object"].update(size="42"), ("lambda-artifacts-deafc19498e3f2df",
                                                         "ObjectCreated:Put", 42)),
        (lambda r: r["s3"].update(object=None), ("lambda-artifacts-deafc19498e3f2df", "ObjectCreated:Put", None)),
    ],
)
def test_s3_record_of_other_shapes_gets_defaults(reference: Events, change: Callable[[dict[str, Any]], Any],
                                                  expected: tuple[str, str, int | None]) -> None:
    raw = copy.deepcopy(reference("s3Event.json")["Records"][0])
    change(raw)
    record = S3Record.from_raw(raw)
    assert (record.bucket_name, record.event_name, record.size) == expected
    assert record.raw is raw


def test_s3_record_key_of_another_type_is_made_text(reference: Events) -> None:
    raw = copy.deepcopy(reference("s3Event.json")["Records"][0])
    raw["s3"]["object"]["key"] = 2024
    assert S3Record.from_raw(raw).object_key == "2024"


def test_s3_record_from_a_read_only_mapping_keeps_a_dict(reference: Events) -> None:
    raw = reference("s3Event.json")["Records"][0]
    record = S3Record.from_raw(MappingProxyType(raw))
    assert record == S3Record.from_raw(raw)
    assert type(record.raw) is dict and record.raw == raw


def test_s3_event_keeps_the_event(reference: Events) -> None:
    event = reference("s3Event.json")
    whole = S3Event.from_raw(event)
    assert whole.raw is event and [r.raw for r in whole] == event["Records"]


def test_scheduled_event_reads_the_delivered_event(reference: Events) -> None:
    raw = reference("scheduledEvent.json")
    event = ScheduledEvent.from_raw(raw)
    assert event.raw is raw
    assert (event.id, event.region, event.account) == ("53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "us-east-1",
                                                       "123456789012")
    assert event.rule_arn == "arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule"
    assert event.time == datetime(2015, 10, 8, 16, 53, 6, tzinfo=UTC)
    assert event.time is event.time  # parsed once
    assert event == ScheduledEvent(id="53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", time=event.time,
                                   rule_arn=event.rule_arn, region="us-east-1", account="123456789012")


def test_scheduled_event_of_other_shapes_gets_defaults() -> None:
    event = ScheduledEvent.from_raw({"id": 7, "resources": []})
    assert (event.id, event.time, event.rule_arn, event.region, event.account) == ("7", None, "", "", "")
    proxied = ScheduledEvent.from_raw(MappingProxyType({"time": "2025-01-01T00:00:00Z", "resources": ["arn"]}))
    assert type(proxied.raw) is dict
    assert (proxied.time, proxied.rule_arn) == (datetime(2025, 1, 1, tzinfo=UTC), "arn")
    assert ScheduledEvent() == ScheduledEvent.from_raw({})


def test_sqs_record_reads_the_delivered_record(reference: Events) -> None:
    raw = reference("sqsEvent.json")["Records"][0]
    record = SqsRecord.from_raw(raw)
    assert record.raw is raw and record.attributes is raw["attributes"]
    assert (record.message_id, record.body) == ("059f36b4-87a3-44ab-83d2-661975830a7d", "Test message.")
    assert record.sent_timestamp == datetime(2018, 12, 17, 21, 37, 29, 183000, tzinfo=UTC)
    assert record.sent_timestamp is record.sent_timestamp  # worked out once
    assert record == SqsRecord(message_id=record.message_id, body=record.body, attributes=raw["attributes"],
                               message_attributes=raw["messageAttributes"],
                               queue_arn="arn:aws:sqs:us-east-2:123456789012:my-queue")


def test_sqs_record_of_other_shapes_gets_defaults() -> None:
    record = SqsRecord.from_raw({"messageId": "m", "body": None, "attributes": None})
    assert (record.message_id, record.body, record.receipt_handle, record.queue_arn) == ("m", "", "", "")
    assert (record.attributes, record.message_attributes, record.sent_timestamp) == ({}, {}, None)
    proxied = SqsRecord.from_raw(MappingProxyType({"messageId": "p", "body": "b", "attributes": {},
                                                   "messageAttributes": {}, "receiptHandle": "r",
                                                   "eventSourceARN": "arn"}))
    assert type(proxied.raw) is dict and (proxied.message_id, proxied.queue_arn) == ("p", "arn")
    assert SqsRecord(message_id="k", body="x").sent_timestamp is None
