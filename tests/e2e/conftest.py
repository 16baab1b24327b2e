"""Fixtures for the examples' tests: their folders, and their plain modules loaded for unit tests."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import pytest

from flowfn import App, Bucket, EventBus, Topic
from flowfn.loader import load_app
from flowfn.resources import Resource
from flowfn.triggers.http import http_event
from flowfn.triggers.s3 import s3_event, s3_record
from flowfn.triggers.schedule import scheduled_event
from flowfn.triggers.sqs import sample_message, sqs_event, sqs_record

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REGION, ACCOUNT = "us-east-1", "123456789012"
_TIME = datetime(2024, 5, 1, 12, tzinfo=UTC)


def _load(example: str, module: str) -> ModuleType:
    name = f"_example_{example}_{module}"
    cached = sys.modules.get(name)
    if cached is not None:
        return cached
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / example / f"{module}.py")
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    spec.loader.exec_module(loaded)
    return loaded


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    """The repository's examples/ folder."""
    return EXAMPLES


@pytest.fixture(scope="session")
def example_module() -> Callable[[str, str], ModuleType]:
    """``example_module("thumbnail", "imaging")`` imports examples/thumbnail/imaging.py for a test."""
    return _load


@pytest.fixture
def restore_imports() -> Iterator[None]:
    """Undo what loading an example does to sys.path and sys.modules (its own modules only)."""
    path, modules = list(sys.path), set(sys.modules)
    yield
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        file = getattr(sys.modules[name], "__file__", None) or ""
        if Path(file).resolve().is_relative_to(EXAMPLES):
            del sys.modules[name]


@pytest.fixture
def load_example(restore_imports: None) -> Callable[[str], App]:
    """``load_example("stream")`` imports examples/stream/app.py afresh and returns its app."""

    def load(example: str) -> App:
        return load_app(str(EXAMPLES / example / "app.py"), fresh=True)

    return load


@pytest.fixture
def moto_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto's in-process AWS mock, with dummy credentials and no endpoint or profile from outside."""
    from moto import mock_aws

    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    with mock_aws():
        yield


def bind(monkeypatch: pytest.MonkeyPatch, resource: Resource) -> str:
    """Create ``resource`` in the mock and bind it the way flowfn does in a function's environment."""
    import boto3

    if isinstance(resource, Bucket):
        physical = f"{resource.logical_name}-test"
        boto3.client("s3").create_bucket(Bucket=physical)
    elif isinstance(resource, Topic):
        physical = boto3.client("sns").create_topic(Name=resource.logical_name)["TopicArn"]
    elif isinstance(resource, EventBus):
        events = boto3.client("events")
        physical = (events.describe_event_bus()["Arn"] if resource.logical_name == "default"
                    else events.create_event_bus(Name=resource.logical_name)["EventBusArn"])
    else:
        physical = boto3.client("sqs").create_queue(QueueName=resource.logical_name)["QueueUrl"]
    monkeypatch.setenv(resource.env_key, physical)
    return physical


@pytest.fixture
def bound(monkeypatch: pytest.MonkeyPatch, moto_aws: None) -> Callable[[Resource], str]:
    """``bound(bucket)`` creates the resource in moto and binds it; returns its name or queue URL."""
    return lambda resource: bind(monkeypatch, resource)


class RawEvents:
    """Lambda events of each kind, built by flowfn's own AWS-exact event builders."""

    @staticmethod
    def s3(bucket: str, key: str, size: int, event: str = "ObjectCreated:Put") -> dict[str, Any]:
        return s3_event([s3_record(
            event_name=event, bucket=bucket, key=key, region=REGION, event_time=_TIME, sequencer="0",
            request_id="req-1", configuration_id="test", size=size, etag="0",
        )])

    @staticmethod
    def sqs(bodies: list[str], queue: str = "events") -> dict[str, Any]:
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}"
        sent = int(_TIME.timestamp() * 1000)
        return sqs_event([sqs_record(sample_message(body, message_id=f"m-{i}", sent_ms=sent),
                                     queue_arn=arn, region=REGION) for i, body in enumerate(bodies)])

    @staticmethod
    def http(method: str, route: str, path: str, body: str | None = None,
             path_params: dict[str, str] | None = None, query: dict[str, str] | None = None) -> dict[str, Any]:
        return http_event(
            method=method, raw_path=path, raw_query=urlencode(query or {}),
            headers=[("content-type", "application/json")], body=(body or "").encode(),
            route_key=f"{method} {route}", path_params=path_params or {}, request_id="req-1", time=_TIME,
        )

    @staticmethod
    def schedule(time: str) -> dict[str, Any]:
        return scheduled_event(rule_arn=f"arn:aws:events:{REGION}:{ACCOUNT}:rule/test",
                               time=datetime.fromisoformat(time), event_id="fire-1", region=REGION,
                               account=ACCOUNT)


@pytest.fixture(scope="session")
def raw() -> type[RawEvents]:
    """Builders of raw Lambda events for calling flowfn.runtime.dispatch directly."""
    return RawEvents
