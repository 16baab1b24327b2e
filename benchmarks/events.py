"""The events the benchmarks feed both frameworks, built with flowfn's AWS-exact builders."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flowfn.triggers.http import http_event
from flowfn.triggers.s3 import s3_event, s3_record
from flowfn.triggers.schedule import scheduled_event
from flowfn.triggers.sqs import sample_message, sqs_event, sqs_record

WHEN = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
REGION, ACCOUNT = "us-east-1", "123456789012"


class Context:
    """A Lambda context object, as both frameworks receive it."""

    function_name = "bench"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:bench"
    memory_limit_in_mb = 256
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "2026/11/22/[$LATEST]abc"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def s3() -> dict[str, Any]:
    return s3_event([s3_record(
        event_name="ObjectCreated:Put", bucket="uploads", key="incoming/photo 1.jpg", region=REGION,
        event_time=WHEN, sequencer="0A1B2C3D4E5F678901", request_id="C3D13FE58DE4C810",
        configuration_id="bench", size=1024, etag="d41d8cd98f00b204e9800998ecf8427e",
    )])


def sqs(size: int = 10, failing: int = 1) -> dict[str, Any]:
    records = []
    for i in range(size):
        body = "fail" if i < failing else json.dumps({"n": i})
        message = sample_message(body, message_id=f"059f36b4-87a3-44ab-83d2-66197554{i:04d}",
                                 sent_ms=1_763_780_400_000 + i)
        records.append(sqs_record(message, queue_arn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs", region=REGION))
    return sqs_event(records)


def schedule() -> dict[str, Any]:
    return scheduled_event(rule_arn=f"arn:aws:events:{REGION}:{ACCOUNT}:rule/bench-handle", time=WHEN,
                           event_id="53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", region=REGION, account=ACCOUNT)


BODY = b'{"message": "hello world", "username": "tom"}'


def http_v2() -> dict[str, Any]:
    """An HTTP API (payload 2.0) request, what a flowfn function receives."""
    return http_event(method="POST", raw_path="/items/42", raw_query="verbose=1",
                      headers=[("content-type", "application/json"), ("host", "api.example.com")],
                      body=BODY, route_key="POST /items/{id}", path_params={"id": "42"},
                      request_id="id-1", time=WHEN)


def http_v1() -> dict[str, Any]:
    """The same request as a REST API (payload 1.0) event, what a Chalice function receives."""
    return {
        "resource": "/items/{id}", "path": "/items/42", "httpMethod": "POST",
        "headers": {"content-type": "application/json", "host": "api.example.com"},
        "multiValueHeaders": {"content-type": ["application/json"], "host": ["api.example.com"]},
        "queryStringParameters": {"verbose": "1"}, "multiValueQueryStringParameters": {"verbose": ["1"]},
        "pathParameters": {"id": "42"}, "stageVariables": None,
        "requestContext": {"resourcePath": "/items/{id}", "httpMethod": "POST", "path": "/items/42",
                           "requestId": "id-1", "stage": "api", "identity": {"sourceIp": "127.0.0.1"}},
        "body": BODY.decode(), "isBase64Encoded": False,
    }


def sqs_ok() -> dict[str, Any]:
    """A batch of 10 that all succeed: a function's first event, on the normal path."""
    return sqs(failing=0)


#: The first event of a cold start, per kind (no failures: a cold start's normal path).
FLOWFN_EVENTS = {"s3": s3, "sqs": sqs_ok, "schedule": schedule, "http": http_v2}
CHALICE_EVENTS = {"s3": s3, "sqs": sqs_ok, "schedule": schedule, "http": http_v1}
