"""Events of the wrong shape for a function's trigger: one EventError naming the kind and the field.

Each adapter is driven through the Lambda entry point (``flowfn.runtime.handler``) with fixed
malformed events, then with events hypothesis builds: whole JSON values, and reference AWS events
with one field replaced or removed. Whatever comes in, the invocation answers or raises EventError;
nothing else escapes, and the handlers, which read every field they are given, meet nothing else.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowfn.runtime
from flowfn.errors import EventError

EVENTS = Path(__file__).resolve().parents[1] / "aws_events"
APP_NAME = f"malformed_app_{os.getpid()}"

APP_SOURCE = """
from flowfn import Bucket, Queue, on_http, on_s3, on_schedule, on_sqs
from flowfn.errors import EventError

#: What the handlers met besides EventError while reading their events (the fuzz test wants none).
SURPRISES = []

def read(*getters):
    for get in getters:
        try:
            get()
        except EventError:
            raise
        except Exception as exc:  # a view that breaks on a field instead of naming it
            SURPRISES.append(exc)
            raise


@on_s3(Bucket("uploads"))
def on_upload(record):
    read(lambda: record.bucket_name + record.object_key + record.event_name, lambda: record.size,
         lambda: record.etag, lambda: record.version_id, lambda: record.event_time,
         lambda: record.created or record.removed)


@on_s3(Bucket("batches"), batch=True)
def on_batch(event):
    read(lambda: [(r.size, r.etag, r.event_time) for r in event])


@on_sqs(Queue("jobs"))
def work(record):
    read(lambda: record.message_id + record.body + record.receipt_handle + record.queue_arn,
         lambda: record.receive_count, lambda: record.sent_timestamp, lambda: record.message_group_id,
         lambda: record.message_deduplication_id, lambda: dict(record.attributes),
         lambda: dict(record.message_attributes))
    raise RuntimeError("reported, so the failure path reads the record too")


@on_sqs(Queue("batch-jobs"), batch=True)
def work_batch(batch):
    read(lambda: [(r.message_id, r.receive_count, r.message_group_id) for r in batch])


@on_schedule("rate(5 minutes)")
def tick(event):
    read(lambda: event.id + event.rule_arn + event.region + event.account, lambda: event.time)


@on_http("POST", "/my/path")
def post(request):
    read(lambda: (request.method, request.path, request.headers, request.query, request.cookies,
                  request.path_params, request.source_ip, request.header("x"), request.query_all("q")))
    return {"ok": True}
"""

FUNCTIONS = {
    "on_upload": "s3Event.json", "on_batch": "s3Event.json", "work": "sqsEvent.json",
    "work_batch": "sqsEvent.json", "tick": "scheduledEvent.json", "post": "apiGatewayProxyV2Event.json",
}
KINDS = {"on_upload": "s3", "on_batch": "s3", "work": "sqs", "work_batch": "sqs", "tick": "schedule",
         "post": "http"}


@pytest.fixture(scope="module")
def entry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """FLOWFN_APP names an app of one handler per trigger shape; FLOWFN_FUNCTION is set per call."""
    folder = tmp_path_factory.mktemp("malformed")
    (folder / f"{APP_NAME}.py").write_text(APP_SOURCE)
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(folder))
        patch.setenv("FLOWFN_APP", APP_NAME)
        yield
    sys.modules.pop(APP_NAME, None)
    flowfn.runtime._forget()


def invoke(function: str, event: Any) -> Any:
    os.environ["FLOWFN_FUNCTION"] = function
    try:
        return flowfn.runtime.handler(event, None)
    finally:
        del os.environ["FLOWFN_FUNCTION"]


def reference(function: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / FUNCTIONS[function]).read_text())
    return data


@pytest.mark.parametrize(
    ("function", "event", "message"),
    [
        ("on_upload", {"Records": "oops"}, "s3 event: Records must be a list, got str"),
        ("on_batch", {"Records": "oops"}, "s3 event: Records must be a list, got str"),
        ("work", {"Records": "oops"}, "sqs event: Records must be a list, got str"),
        ("work_batch", {"Records": {"messageId": "m"}}, "sqs event: Records must be a list, got dict"),
        ("on_upload", {"Records": [7]}, "s3 event: Records[0] must be an object, got int"),
        ("on_upload", {"Records": [{"s3": {"bucket": {"name": "b"}, "object": {"key": ["k"]}}}]},
         "s3 event: Records[0].s3.object.key must be a string, got list"),
        ("on_upload", {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"},
                                                                        "object": {"key": {"k": 1}}}}]},
         "s3 event: Records[0].s3.object.key must be a string, got dict"),
        ("work", {"Records": [{"messageId": "a", "body": "x"}, {"messageId": {"id": 1}, "body": "x"}]},
         "sqs event: Records[1].messageId must be a string, got dict"),
        ("work", {"Records": [{"messageId": "a", "body": "x", "attributes": "nope"}]},
         "sqs event: Records[0].attributes must be an object, got str"),
        ("tick", {"resources": {"arn": "x"}}, "schedule event: resources must be a list, got dict"),
        ("tick", {"resources": [{"arn": "x"}]}, "schedule event: resources[0] must be a string, got dict"),
        ("tick", {"id": "i", "region": "r", "account": "a", "resources": [["arn"]]},
         "schedule event: resources[0] must be a string, got list"),
        ("tick", {"id": "i", "region": ["r"], "account": "a", "resources": []},
         "schedule event: region must be a string, got list"),
        ("tick", {"time": "yesterday"}, "schedule event: time must be an ISO-8601 time, got 'yesterday'"),
        ("post", {"headers": ["host"]}, "http event: headers must be an object, got list"),
        ("post", {"requestContext": "ctx"}, "http event: requestContext must be an object, got str"),
        ("tick", "not an event", "schedule event: the event must be an object (a dict), got str"),
    ],
)
def test_a_malformed_event_is_one_clear_error(entry: None, function: str, event: Any, message: str) -> None:
    with pytest.raises(EventError) as caught:
        invoke(function, event)
    assert str(caught.value).startswith(message + ". Fix: "), str(caught.value)
    assert caught.value.kind == KINDS[function]


def test_a_malformed_record_fails_before_any_record_runs(entry: None) -> None:
    good = reference("on_upload")["Records"][0]
    with pytest.raises(EventError, match=r"Records\[1\]\.s3 must be an object"):
        invoke("on_upload", {"Records": [good, {"s3": "x"}]})


def test_well_formed_events_still_run(entry: None) -> None:
    assert invoke("on_upload", reference("on_upload")) is None
    result = invoke("work", reference("work"))
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == [
        r["messageId"] for r in reference("work")["Records"]]
    assert invoke("post", reference("post"))["statusCode"] == 200


# -- fuzzing through the entry point ----------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found.extend(_paths(inner, (*prefix, key)))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found.extend(_paths(inner, (*prefix, index)))
    return found


@st.composite
def events(draw: st.DrawFn, function: str) -> Any:
    """A whole JSON value, or the function's reference event with one field replaced or removed."""
    if draw(st.integers(0, 4)) == 0:
        return draw(json_values)
    event = copy.deepcopy(reference(function))
    path = draw(st.sampled_from(_paths(event)))
    parent = event
    for step in path[:-1]:
        parent = parent[step]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(json_values)
    return event


@settings(max_examples=250, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.data())
def test_fuzzed_events_answer_or_raise_event_error(entry: None, data: st.DataObject) -> None:
    function = data.draw(st.sampled_from(sorted(FUNCTIONS)))
    event = data.draw(events(function))
    try:
        result = invoke(function, event)
    except EventError as exc:
        assert exc.kind == KINDS[function]
        assert str(exc).startswith(f"{exc.kind} event: ")
    else:
        if function.startswith("work"):
            assert isinstance(result, dict) and isinstance(result["batchItemFailures"], list)
        if function == "post":
            assert result["statusCode"] in (200, 400), result
    surprises = sys.modules[APP_NAME].SURPRISES
    assert surprises == [], surprises
