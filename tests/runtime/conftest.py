"""Shared helpers for runtime tests: reference events and a minimal Lambda context."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

EVENTS = Path(__file__).resolve().parents[1] / "aws_events"


def _reference_event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


@pytest.fixture
def reference() -> Callable[[str], dict[str, Any]]:
    """Loads a reference AWS event from tests/aws_events by file name."""
    return _reference_event


@dataclass
class FakeContext:
    """The attributes Lambda's context object has."""

    aws_request_id: str = "req-1"
    function_name: str = "fn"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:fn"
    memory_limit_in_mb: int = 256
    log_group_name: str = "/aws/lambda/fn"
    log_stream_name: str = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()


def _http_event(
    method: str = "GET",
    path: str = "/",
    *,
    route: str | None = None,
    body: str | None = None,
    base64_encoded: bool = False,
    headers: dict[str, str] | None = None,
    cookies: list[str] | None = None,
    raw_query: str = "",
    query: dict[str, str] | None = None,
    path_params: dict[str, str] | None = None,
) -> dict[str, Any]:
    event = _reference_event("apiGatewayProxyV2Event.json")
    event.update(
        routeKey=route or f"{method} {path}", rawPath=path, rawQueryString=raw_query,
        headers=headers or {}, isBase64Encoded=base64_encoded,
    )
    for key, value in (("cookies", cookies), ("queryStringParameters", query),
                       ("pathParameters", path_params), ("body", body)):
        if value is None:
            event.pop(key, None)
        else:
            event[key] = value
    event["requestContext"]["http"].update(method=method, path=path)
    event["requestContext"]["routeKey"] = event["routeKey"]
    event["requestContext"]["requestId"] = "apigw-1"
    return event


@pytest.fixture
def http_event() -> Callable[..., dict[str, Any]]:
    """Builds an HTTP API (payload 2.0) event shaped like the reference one."""
    return _http_event
