"""SnsRecord and EventBridgeEvent read AWS's events with Powertools' names; model= validates."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from flowfn import App, EventBridgeEvent, EventBus, SnsRecord, Topic
from flowfn.errors import EventError
from flowfn.runtime import dispatch

REFERENCE = Path(__file__).resolve().parents[1] / "aws_events"


def _reference(name: str) -> Any:
    return json.loads((REFERENCE / name).read_text())


class Order(BaseModel):
    id: int
    total: float


def test_an_sns_record_reads_the_reference_event() -> None:
    app = App("r")
    got: list[SnsRecord] = []
    app.on_sns(Topic("sns-lambda"), name="h")(got.append)
    dispatch(app.handler("h"), _reference("snsEvent.json"), None)
    [record] = got
    assert record.message == "Hello from SNS!" and record.subject == "TestInvoke"
    assert record.topic_arn == "arn:aws:sns:us-east-2:123456789012:sns-lambda"
    assert record.message_id == "95df01b4-ee98-5cb9-9903-4c221d41eb5e"
    assert record.timestamp == datetime(2019, 1, 2, 12, 45, 7, tzinfo=UTC)
    assert record.message_attributes["Test"] == {"Type": "String", "Value": "TestString"}
    with pytest.raises(EventError, match=r"Sns\.Message is not JSON"):
        record.json()


def test_an_eventbridge_event_reads_the_reference_event() -> None:
    app = App("r")
    got: list[EventBridgeEvent] = []
    app.on_event({"source": ["aws.ec2"]}, name="h")(got.append)
    dispatch(app.handler("h"), _reference("eventBridgeEvent.json"), None)
    [event] = got
    assert (event.source, event.detail_type) == ("aws.ec2", "EC2 Instance State-change Notification")
    assert event.detail == {"instance_id": "i-1234567890abcdef0", "state": "terminated"}
    assert event.time == datetime(2017, 12, 22, 18, 43, 48, tzinfo=UTC)
    assert event.resources == ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"]
    assert (event.account, event.region) == ("111122223333", "us-west-1")


def test_models_validate_the_message_and_the_detail() -> None:
    app = App("m")
    orders: list[Any] = []
    app.on_sns(Topic("t"), model=Order, name="sns")(orders.append)
    app.on_event({"source": ["shop"]}, bus=EventBus("b"), model=Order, name="eb")(orders.append)
    sns = _reference("snsEvent.json")
    sns["Records"][0]["Sns"]["Message"] = json.dumps({"id": 1, "total": 2.5})
    dispatch(app.handler("sns"), sns, None)
    event = _reference("eventBridgeEvent.json") | {"detail": {"id": 2, "total": 9}}
    dispatch(app.handler("eb"), event, None)
    assert orders[0] == Order(id=1, total=2.5) and orders[1].detail == Order(id=2, total=9)
    sns["Records"][0]["Sns"]["Message"] = json.dumps({"id": "x"})
    with pytest.raises(EventError, match="does not match Order"):
        dispatch(app.handler("sns"), sns, None)
    with pytest.raises(EventError, match="does not match Order"):
        dispatch(app.handler("eb"), _reference("eventBridgeEvent.json"), None)
