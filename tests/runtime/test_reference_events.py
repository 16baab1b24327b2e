"""Each reference AWS event runs through dispatch into a handler and gives what AWS expects back."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from flowfn import App, Bucket, Queue, Request, S3Event, S3Record, ScheduledEvent, SqsRecord
from flowfn.runtime import dispatch

Events = Callable[[str], dict[str, Any]]


def test_s3_record_at_a_time(reference: Events, context: Any) -> None:
    app = App("t")
    seen: list[S3Record] = []

    @app.on_s3(Bucket("uploads"))
    def on_upload(record: S3Record, ctx: Any) -> str:
        seen.append(record)
        assert ctx is context
        return record.object_key

    assert dispatch(app.handler("on_upload"), reference("s3Event.json"), context) == (
        "b21b84d653bb07b05b1e6b33684dc11b"
    )
    (record,) = seen
    assert record.bucket_name == "lambda-artifacts-deafc19498e3f2df"
    assert record.size == 1305107
    assert record.etag == "b21b84d653bb07b05b1e6b33684dc11b"
    assert record.event_name == "ObjectCreated:Put"
    assert record.event_time is not None and record.event_time.isoformat() == "2019-09-03T19:37:27.192000+00:00"
    assert record.version_id is None
    assert record.created and not record.removed


def test_s3_delete_has_no_size(reference: Events, context: Any) -> None:
    app = App("t")

    @app.on_s3(Bucket("uploads"), events="removed", batch=True)
    def on_delete(event: S3Event) -> list[tuple[str, int | None, bool]]:
        return [(r.event_name, r.size, r.removed) for r in event.records]

    result = dispatch(app.handler("on_delete"), reference("s3EventDeleteObject.json"), context)
    assert result == [("ObjectRemoved:Delete", None, True)]


def test_sqs_reference_batch_reports_the_non_json_body(reference: Events, context: Any) -> None:
    app = App("t")
    bodies: list[Any] = []

    @app.on_sqs(Queue("jobs"))
    def work(record: SqsRecord) -> None:
        bodies.append(record.json_body)

    result = dispatch(app.handler("work"), reference("sqsEvent.json"), context)
    assert result == {"batchItemFailures": [{"itemIdentifier": "059f36b4-87a3-44ab-83d2-661975830a7d"}]}
    assert bodies == [{"message": "foo1"}]


def test_sqs_reference_batch_all_acknowledged(reference: Events, context: Any) -> None:
    app = App("t")
    seen: list[tuple[str, int, str]] = []

    @app.on_sqs(Queue("jobs"))
    def work(record: SqsRecord, ctx: Any) -> None:
        seen.append((record.body, record.receive_count, record.queue_arn))

    assert dispatch(app.handler("work"), reference("sqsEvent.json"), context) == {"batchItemFailures": []}
    assert seen[0] == ("Test message.", 1, "arn:aws:sqs:us-east-2:123456789012:my-queue")
    assert len(seen) == 2


@pytest.mark.parametrize("arity", [0, 1, 2])
def test_schedule(reference: Events, context: Any, arity: int) -> None:
    app = App("t")
    calls: list[tuple[Any, ...]] = []

    def tick0() -> str:
        calls.append(())
        return "done"

    def tick1(event: ScheduledEvent) -> str:
        calls.append((event,))
        return event.rule_arn

    def tick2(event: ScheduledEvent, ctx: Any) -> str:
        calls.append((event, ctx))
        return event.id

    fn = (tick0, tick1, tick2)[arity]
    app.on_schedule("rate(5 minutes)", name="tick")(fn)
    result = dispatch(app.handler("tick"), reference("scheduledEvent.json"), context)
    assert len(calls) == 1 and len(calls[0]) == arity
    expected = ("done", "arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule",
                "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa")[arity]
    assert result == expected
    if arity:
        event = calls[0][0]
        assert event.time.isoformat() == "2015-10-08T16:53:06+00:00"
        assert (event.region, event.account) == ("us-east-1", "123456789012")


def test_http_post(reference: Events, context: Any) -> None:
    app = App("t")

    @app.on_http("POST", "/my/path")
    def post(request: Request) -> dict[str, Any]:
        return {"body": request.json(), "method": request.method, "path": request.path,
                "params": request.path_params, "query": request.query, "cookies": request.cookies,
                "header": request.header("HEADER2"), "id": request.request_id}

    response = dispatch(app.handler("post"), reference("apiGatewayProxyV2Event.json"), context)
    assert response["statusCode"] == 200
    assert response["headers"] == {"content-type": "application/json"}
    assert response["isBase64Encoded"] is False
    assert response["cookies"] == []
    assert json.loads(response["body"]) == {
        "body": {"message": "hello world", "username": "tom"},
        "method": "POST",
        "path": "/my/path",
        "params": {"parameter1": "value1"},
        "query": {"parameter1": "value1,value2", "parameter2": "value"},
        "cookies": {"cookie1": "", "cookie2": ""},
        "header": "value1,value2",
        "id": "id",
    }


def test_http_get(reference: Events, context: Any) -> None:
    app = App("t")

    @app.on_http("GET", "/my/path")
    def get(request: Request, ctx: Any) -> str:
        return f"{request.method} {request.query_all('parameter1')} {request.body!r}"

    response = dispatch(app.handler("get"), reference("apiGatewayProxyV2Event_GET.json"), context)
    assert response == {
        "statusCode": 200,
        "headers": {"content-type": "text/plain; charset=utf-8"},
        "body": "GET ['value1', 'value2'] b''",
        "isBase64Encoded": False,
        "cookies": [],
    }


def test_async_handlers_run_to_completion(reference: Events, context: Any) -> None:
    app = App("t")
    done: list[str] = []

    @app.on_sqs(Queue("jobs"))
    async def work(record: SqsRecord) -> None:
        if record.body == "Test message.":
            raise ValueError("not JSON")
        done.append(record.message_id)

    @app.on_http("POST", "/my/path")
    async def post(request: Request) -> dict[str, Any]:
        return {"ok": request.method}

    result = dispatch(app.handler("work"), reference("sqsEvent.json"), context)
    assert result == {"batchItemFailures": [{"itemIdentifier": "059f36b4-87a3-44ab-83d2-661975830a7d"}]}
    assert done == ["2e1424d4-f796-459a-8184-9c92662be6da"]
    response = dispatch(app.handler("post"), reference("apiGatewayProxyV2Event.json"), context)
    assert json.loads(response["body"]) == {"ok": "POST"}


def test_the_context_protocol_matches_lambdas(context: Any) -> None:
    from flowfn import LambdaContext

    assert isinstance(context, LambdaContext)
    assert not isinstance(object(), LambdaContext)
