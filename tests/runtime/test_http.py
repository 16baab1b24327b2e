"""HTTP inside Lambda: requests from HTTP API events, every response form and every error path."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from flowfn import App, HTTPError, Request, Response
from flowfn.function import Handler
from flowfn.runtime import dispatch

Event = Callable[..., dict[str, Any]]


class Item(BaseModel):
    name: str
    qty: int


def route(fn: Callable[..., Any], method: str = "POST", path: str = "/items") -> Handler:
    app = App("t")
    app.on_http(method, path, name="h")(fn)
    return app.handler("h")


def call(fn: Callable[..., Any], event: dict[str, Any], context: Any = None,
         method: str = "POST", path: str = "/items") -> dict[str, Any]:
    result: dict[str, Any] = dispatch(route(fn, method, path), event, context)
    assert set(result) == {"statusCode", "headers", "body", "isBase64Encoded", "cookies"}
    return result


def echo(request: Request) -> dict[str, Any]:
    return {"text": request.text, "b64": base64.b64encode(request.body).decode()}


# -- requests ---------------------------------------------------------------------------------


def test_text_body(http_event: Event) -> None:
    out = call(echo, http_event("POST", "/items", body="héllo wörld"))
    assert json.loads(out["body"])["text"] == "héllo wörld"


def test_json_body(http_event: Event) -> None:
    def handler(request: Request) -> Any:
        return request.json()

    out = call(handler, http_event("POST", "/items", body='{"a": [1, 2, {"b": null}]}'))
    assert json.loads(out["body"]) == {"a": [1, 2, {"b": None}]}


def test_base64_body_is_decoded_to_bytes(http_event: Event) -> None:
    raw = bytes(range(256))
    seen: list[bytes] = []

    def handler(request: Request) -> None:
        seen.append(request.body)

    out = call(handler, http_event("POST", "/items", body=base64.b64encode(raw).decode(),
                                   base64_encoded=True))
    assert seen == [raw]
    assert out["statusCode"] == 204 and out["body"] == ""


def test_base64_json_body(http_event: Event) -> None:
    body = base64.b64encode(b'{"name": "x", "qty": 2}').decode()
    out = call(lambda r: r.parse(Item), http_event("POST", "/items", body=body, base64_encoded=True))
    assert json.loads(out["body"]) == {"name": "x", "qty": 2}


def test_path_params_query_headers_cookies(http_event: Event) -> None:
    def handler(request: Request) -> dict[str, Any]:
        return {"params": request.path_params, "query": request.query, "tags": request.query_all("tag"),
                "auth": request.header("Authorization"), "cookies": request.cookies,
                "route": request.route_key, "path": request.path, "method": request.method}

    event = http_event(
        "GET", "/files/a/b c.txt", route="GET /files/{key+}",
        path_params={"key": "a/b c.txt"}, raw_query="tag=x&tag=y%20z&empty=",
        query={"tag": "x,y z", "empty": ""}, headers={"Authorization": "Bearer t"},
        cookies=["session=abc=def", "theme=dark"],
    )
    out = call(handler, event, method="GET", path="/files/{key+}")
    assert json.loads(out["body"]) == {
        "params": {"key": "a/b c.txt"}, "query": {"tag": "x,y z", "empty": ""}, "tags": ["x", "y z"],
        "auth": "Bearer t", "cookies": {"session": "abc=def", "theme": "dark"},
        "route": "GET /files/{key+}", "path": "/files/a/b c.txt", "method": "GET",
    }


def test_request_without_optional_parts(http_event: Event) -> None:
    def handler(request: Request) -> dict[str, Any]:
        return {"q": request.query, "p": request.path_params, "c": request.cookies, "b": request.text}

    out = call(handler, http_event("GET", "/items"), method="GET")
    assert json.loads(out["body"]) == {"q": {}, "p": {}, "c": {}, "b": ""}


def test_context_is_passed_to_two_argument_handlers(http_event: Event, context: Any) -> None:
    def handler(request: Request, ctx: Any) -> str:
        return ctx.aws_request_id

    assert call(handler, http_event("POST", "/items"), context)["body"] == "req-1"


# -- responses --------------------------------------------------------------------------------


class Out(BaseModel):
    when: dt.date
    names: list[str]


@pytest.mark.parametrize(
    ("result", "status", "content_type", "body"),
    [
        ({"a": 1}, 200, "application/json", '{"a":1}'),
        ([1, "two"], 200, "application/json", '[1,"two"]'),
        (Out(when=dt.date(2024, 1, 2), names=["é"]), 200, "application/json",
         '{"when":"2024-01-02","names":["é"]}'),
        ({"m": Out(when=dt.date(2024, 1, 2), names=[]), "d": Decimal("1.5"), "n": Decimal("3"),
          "t": dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.UTC)}, 200, "application/json",
         '{"m":{"when":"2024-01-02","names":[]},"d":1.5,"n":3,"t":"2024-01-02T03:04:00+00:00"}'),
        ("plain", 200, "text/plain; charset=utf-8", "plain"),
        ("", 200, "text/plain; charset=utf-8", ""),
    ],
)
def test_return_values(http_event: Event, result: Any, status: int, content_type: str, body: str) -> None:
    out = call(lambda r: result, http_event("POST", "/items"))
    assert (out["statusCode"], out["headers"], out["body"], out["isBase64Encoded"], out["cookies"]) == (
        status, {"content-type": content_type}, body, False, [])


def test_bytes_are_base64(http_event: Event) -> None:
    out = call(lambda r: b"\x89PNG\x00\xff", http_event("POST", "/items"))
    assert out["statusCode"] == 200 and out["isBase64Encoded"] is True
    assert out["headers"] == {"content-type": "application/octet-stream"}
    assert base64.b64decode(out["body"]) == b"\x89PNG\x00\xff"


def test_none_is_204(http_event: Event) -> None:
    out = call(lambda r: None, http_event("POST", "/items"))
    assert (out["statusCode"], out["headers"], out["body"]) == (204, {}, "")


def test_explicit_response(http_event: Event) -> None:
    def handler(request: Request) -> Response:
        return Response({"id": 7}, status=201, headers={"Location": "/items/7", "X-N": "1"},
                        cookies=["session=abc; Secure; HttpOnly"])

    out = call(handler, http_event("POST", "/items"))
    assert out == {
        "statusCode": 201,
        "headers": {"location": "/items/7", "x-n": "1", "content-type": "application/json"},
        "body": '{"id":7}',
        "isBase64Encoded": False,
        "cookies": ["session=abc; Secure; HttpOnly"],
    }


def test_explicit_binary_response_keeps_its_content_type(http_event: Event) -> None:
    def handler(request: Request) -> Response:
        return Response(b"\xff\xd8\xff", headers={"Content-Type": "image/jpeg"})

    out = call(handler, http_event("POST", "/items"))
    assert out["headers"] == {"content-type": "image/jpeg"}
    assert out["isBase64Encoded"] is True and base64.b64decode(out["body"]) == b"\xff\xd8\xff"


def test_explicit_empty_response(http_event: Event) -> None:
    out = call(lambda r: Response(status=304), http_event("POST", "/items"))
    assert (out["statusCode"], out["headers"], out["body"]) == (304, {}, "")


# -- errors -----------------------------------------------------------------------------------


def test_http_error(http_event: Event) -> None:
    def handler(request: Request) -> None:
        raise HTTPError(404, "no such item", {"id": "7"})

    out = call(handler, http_event("POST", "/items"))
    assert out["statusCode"] == 404
    assert json.loads(out["body"]) == {"message": "no such item", "details": {"id": "7"}}


def test_exception_is_500_with_request_id_and_no_trace(
    http_event: Event, context: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    def handler(request: Request) -> None:
        raise KeyError("secret-internal-detail")

    out = call(handler, http_event("POST", "/items"), context)
    assert out["statusCode"] == 500
    assert json.loads(out["body"]) == {"message": "Internal Server Error", "requestId": "req-1"}
    assert "secret" not in out["body"] and "Traceback" not in out["body"]
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [entry["level"] for entry in logged] == ["ERROR"]
    assert "secret-internal-detail" in logged[0]["exception"]
    assert logged[0]["request_id"] == "req-1"


def test_500_without_context_carries_api_gateway_request_id(http_event: Event) -> None:
    out = call(lambda r: 1 / 0, http_event("POST", "/items"))
    assert json.loads(out["body"]) == {"message": "Internal Server Error", "requestId": "apigw-1"}


def test_validation_error_is_422_with_field_errors(http_event: Event) -> None:
    out = call(lambda r: r.parse(Item), http_event("POST", "/items", body='{"name": 3, "qty": "x"}'))
    assert out["statusCode"] == 422
    body = json.loads(out["body"])
    assert body["message"] == "Validation failed"
    assert {(tuple(e["loc"]), e["type"]) for e in body["details"]} == {
        (("name",), "string_type"), (("qty",), "int_parsing")}
    assert all(set(e) == {"loc", "msg", "type"} for e in body["details"])


def test_validation_error_raised_by_the_handler_itself(http_event: Event) -> None:
    def handler(request: Request) -> Item:
        return Item.model_validate(request.json())

    out = call(handler, http_event("POST", "/items", body='{"qty": 1}'))
    assert out["statusCode"] == 422
    assert json.loads(out["body"])["details"][0]["loc"] == ["name"]


@pytest.mark.parametrize(
    ("body", "b64", "read", "message"),
    [
        ("{not json", False, "json", "the request body is not valid JSON"),
        (None, False, "json", "the request has no body; send a JSON body"),
        ("%%%not-base64", True, "text", "the request body is not valid base64"),
        (base64.b64encode(b"\xff\xfe").decode(), True, "text", "the request body is not UTF-8 text"),
        (None, False, "parse", "the request has no body; send a JSON Item"),
    ],
)
def test_unreadable_bodies_are_400(http_event: Event, body: str | None, b64: bool, read: str,
                                   message: str) -> None:
    def handler(request: Request) -> Any:
        return request.parse(Item) if read == "parse" else getattr(request, read)() if read == "json" \
            else request.text

    out = call(handler, http_event("POST", "/items", body=body, base64_encoded=b64))
    assert out["statusCode"] == 400
    assert json.loads(out["body"])["message"] == message


@pytest.mark.parametrize(
    "result",
    [object(), Response(status=99), Response({"x": object()})],
    ids=["unserializable", "bad-status", "unserializable-response"],
)
def test_unrenderable_results_are_500(http_event: Event, result: Any) -> None:
    out = call(lambda r: result, http_event("POST", "/items"))
    assert out["statusCode"] == 500
    assert json.loads(out["body"])["message"] == "Internal Server Error"


def test_http_error_with_unserializable_details_is_500(http_event: Event) -> None:
    def handler(request: Request) -> None:
        raise HTTPError(409, "conflict", object())

    assert call(handler, http_event("POST", "/items"))["statusCode"] == 500


@pytest.mark.parametrize("status", [200, 399, 600, True])
def test_http_error_refuses_non_error_statuses(status: int) -> None:
    with pytest.raises(ValueError, match="not an error status"):
        HTTPError(status, "x")
