"""The stream example, piece by piece: the model, aggregates, and each handler on moto's mock."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import boto3
import pytest

from flowfn import App
from flowfn.runtime import dispatch

MINUTE = datetime(2024, 5, 1, 13, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def agg(example_module: Callable[[str, str], ModuleType]) -> Any:
    return example_module("stream", "aggregation")


def event(agg: Any, eid: str, key: str = "sensor-1", ts: str = "2024-05-01T13:05:07Z", value: float = 1.0) -> Any:
    return agg.Event(id=eid, key=key, ts=ts, value=value)


def body(eid: str, key: str = "sensor-1", ts: str = "2024-05-01T13:05:07Z", value: float = 1.0) -> str:
    return json.dumps({"id": eid, "key": key, "ts": ts, "value": value})


# -- the model and the aggregate ------------------------------------------------------------------


def test_event_model_accepts_good_events(agg: Any) -> None:
    e = agg.Event.model_validate_json('{"id": "a", "key": "k.1_x-2", "ts": "2024-05-01T15:05:59+02:00", '
                                      '"value": 3, "extra": "ignored"}')
    assert e.minute == MINUTE
    assert e.value == 3.0


@pytest.mark.parametrize("payload", [
    '{"key": "k", "ts": "2024-05-01T13:05:07Z", "value": 1}',                    # no id
    '{"id": "", "key": "k", "ts": "2024-05-01T13:05:07Z", "value": 1}',          # empty id
    '{"id": "a", "key": "../etc", "ts": "2024-05-01T13:05:07Z", "value": 1}',    # key unfit for S3 keys
    '{"id": "a", "key": "k", "ts": "2024-05-01T13:05:07", "value": 1}',          # no time zone
    '{"id": "a", "key": "k", "ts": "yesterday", "value": 1}',
    '{"id": "a", "key": "k", "ts": "2024-05-01T13:05:07Z", "value": "NaN"}',
    '{"id": "a", "key": "k", "ts": "2024-05-01T13:05:07Z", "value": "many"}',
    "not json at all",
    "[1, 2, 3]",
])
def test_event_model_rejects_bad_events(agg: Any, payload: str) -> None:
    with pytest.raises(ValueError):
        agg.Event.model_validate_json(payload)


def test_merge_counts_each_id_once(agg: Any) -> None:
    start = agg.Aggregate.empty("sensor-1", MINUTE)
    first = start.merge([event(agg, "a", value=1), event(agg, "b", value=5), event(agg, "a", value=1)])
    assert (first.count, first.sum, first.min, first.max) == (2, 6.0, 1.0, 5.0)
    second = first.merge([event(agg, "b", value=5), event(agg, "c", value=-2)])
    assert (second.count, second.sum, second.min, second.max) == (3, 4.0, -2.0, 5.0)
    assert second.event_ids == {"a", "b", "c"}
    assert second.merge([event(agg, "a"), event(agg, "c")]) is None


def test_merge_refuses_events_of_another_group(agg: Any) -> None:
    with pytest.raises(ValueError, match="does not belong"):
        agg.Aggregate.empty("sensor-1", MINUTE).merge([event(agg, "a", key="sensor-2")])
    with pytest.raises(ValueError, match="does not belong"):
        agg.Aggregate.empty("sensor-1", MINUTE).merge([event(agg, "a", ts="2024-05-01T13:06:00Z")])


def test_aggregate_documents_round_trip(agg: Any) -> None:
    doc = agg.Aggregate.empty("sensor-1", MINUTE).merge([event(agg, "b", value=2.5), event(agg, "a", value=0.5)])
    data = doc.to_json()
    parsed = json.loads(data)
    assert parsed["event_ids"] == ["a", "b"]
    assert (parsed["minute"], parsed["count"], parsed["mean"]) == ("2024-05-01T13:05:00Z", 2, 1.5)
    assert agg.Aggregate.from_json(data) == doc
    parsed["count"] = 3
    with pytest.raises(ValueError, match="counts 3 events but lists 2 ids"):
        agg.Aggregate.from_json(json.dumps(parsed))


def test_grouping_and_object_keys(agg: Any) -> None:
    events = [event(agg, "a"), event(agg, "b", key="k2"), event(agg, "c", ts="2024-05-01T13:06:01Z"),
              event(agg, "d")]
    groups = agg.group(events)
    assert {k: [e.id for e in v] for k, v in groups.items()} == {
        ("sensor-1", MINUTE): ["a", "d"],
        ("k2", MINUTE): ["b"],
        ("sensor-1", MINUTE.replace(minute=6)): ["c"],
    }
    assert agg.object_key("sensor-1", MINUTE) == "sensor-1/2024-05-01/13-05.json"


def test_split_body(agg: Any) -> None:
    assert agg.split_body('[{"a": 1}, {"b": [2, 3]}]') == ['{"a":1}', '{"b":[2,3]}']
    assert agg.split_body('{"a": 1}\n\n  {"b": 2}  \nbroken\n') == ['{"a": 1}', '{"b": 2}', "broken"]
    assert agg.split_body("   ") == []
    with pytest.raises(ValueError):
        agg.split_body('[{"a": 1}')
    assert agg.split_lines("x\n\ny\n") == [(1, "x"), (3, "y")]


# -- the handlers, on moto's in-process mock ---------------------------------------------------------


@pytest.fixture
def stream(load_example: Callable[[str], App], bound: Callable[[Any], str]) -> tuple[App, ModuleType]:
    app = load_example("stream")
    module = sys.modules["app"]
    for resource in app.all_resources():
        bound(resource)
    return app, module


def stored(app_module: ModuleType) -> dict[str, dict[str, Any]]:
    s3 = boto3.client("s3")
    bucket = app_module.aggregates.name
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {k: json.loads(s3.get_object(Bucket=bucket, Key=k)["Body"].read()) for k in keys}


def drain(url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    found: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        if not got.get("Messages"):
            return found
        found.extend(got["Messages"])
        for m in got["Messages"]:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def test_aggregate_reports_bad_bodies_and_is_idempotent(stream: tuple[App, ModuleType], raw: Any) -> None:
    app, module = stream
    handler = app.handler("aggregate")
    bodies = [body("a", value=1), body("b", value=2), "not json", body("c", key="k2", value=4),
              body("a", value=1), json.dumps({"id": "d", "key": "sensor-1"})]
    result = dispatch(handler, raw.sqs(bodies), None)
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-2"}, {"itemIdentifier": "m-5"}]}
    docs = stored(module)
    assert sorted(docs) == ["k2/2024-05-01/13-05.json", "sensor-1/2024-05-01/13-05.json"]
    assert docs["sensor-1/2024-05-01/13-05.json"]["event_ids"] == ["a", "b"]
    assert docs["sensor-1/2024-05-01/13-05.json"]["sum"] == 3.0
    # The same batch again (a retry after a timeout, say) changes nothing.
    assert dispatch(handler, raw.sqs(bodies), None)["batchItemFailures"] == [
        {"itemIdentifier": "m-2"}, {"itemIdentifier": "m-5"}]
    assert stored(module) == docs
    # A later batch with one old and one new event adds only the new one.
    dispatch(handler, raw.sqs([body("b", value=2), body("e", value=10)]), None)
    doc = stored(module)["sensor-1/2024-05-01/13-05.json"]
    assert (doc["event_ids"], doc["count"], doc["sum"], doc["max"]) == (["a", "b", "e"], 3, 13.0, 10.0)


def test_conditional_write_retries_when_another_batch_wrote_first(stream: tuple[App, ModuleType]) -> None:
    _, module = stream
    s3 = boto3.client("s3")
    bucket = module.aggregates.name
    target = module.object_key("sensor-1", MINUTE)
    other = module.Event(id="other", key="sensor-1", ts=MINUTE, value=7)
    interfered = threading.Event()

    class Racing:
        """An S3 client that lets a competing batch write right after each read, once."""

        exceptions = s3.exceptions

        def get_object(self, **kw: Any) -> Any:
            return s3.get_object(**kw)

        def put_object(self, **kw: Any) -> Any:
            if not interfered.is_set():
                interfered.set()
                s3.put_object(Bucket=bucket, Key=target,
                              Body=module.Aggregate.empty("sensor-1", MINUTE).merge([other]).to_json())
            return s3.put_object(**kw)

    mine = [module.Event(id="mine", key="sensor-1", ts=MINUTE, value=1)]
    assert module.merge_into_bucket(Racing(), bucket, "sensor-1", MINUTE, mine) == 1
    doc = json.loads(s3.get_object(Bucket=bucket, Key=target)["Body"].read())
    assert doc["event_ids"] == ["mine", "other"] and doc["count"] == 2 and doc["sum"] == 8.0


def test_a_failing_write_fails_only_its_group(stream: tuple[App, ModuleType], raw: Any,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    app, module = stream
    real = module.merge_into_bucket

    def flaky(s3: Any, bucket: str, key: str, minute: datetime, batch: list[Any]) -> int:
        if key == "k2":
            raise ConnectionError("S3 went away")
        return int(real(s3, bucket, key, minute, batch))

    monkeypatch.setattr(module, "merge_into_bucket", flaky)
    result = dispatch(app.handler("aggregate"), raw.sqs([body("a"), body("b", key="k2"), body("c")]), None)
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert list(stored(module)) == ["sensor-1/2024-05-01/13-05.json"]
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "could not update" in line]
    assert [(e["level"], e["key"], e["function"], e["exception_name"]) for e in logged] == [
        ("ERROR", "k2", "aggregate", "ConnectionError")]
    assert "1 events will be retried" in logged[0]["message"]


def test_post_events_queues_each_item_with_its_source(stream: tuple[App, ModuleType], raw: Any) -> None:
    app, module = stream
    items = [{"id": f"e{i}", "key": "k", "ts": "2024-05-01T13:05:07Z", "value": i} for i in range(23)]
    response = dispatch(app.handler("post_events"), raw.http("POST", "/events", "/events", json.dumps(items)),
                        None)
    assert response["statusCode"] == 202 and json.loads(response["body"]) == {"queued": 23}
    messages = drain(module.events.url)
    assert sorted(json.loads(m["Body"])["id"] for m in messages) == sorted(f"e{i}" for i in range(23))
    assert {m["MessageAttributes"]["source"]["StringValue"].split(" #")[0] for m in messages} == {"http req-1"}


@pytest.mark.parametrize(("payload", "status", "message"), [
    ("[1, 2", 400, "not a JSON array"),
    ("", 400, "no events"),
    ("\n".join(["{}"] * 1001), 413, "at most 1000"),
    ('"' + "x" * (256 * 1024) + '"', 413, "larger than"),
])
def test_post_events_refuses_bodies_it_cannot_queue(
    stream: tuple[App, ModuleType], raw: Any, payload: str, status: int, message: str
) -> None:
    app, module = stream
    response = dispatch(app.handler("post_events"), raw.http("POST", "/events", "/events", payload), None)
    assert response["statusCode"] == status
    assert message in json.loads(response["body"])["message"]
    assert drain(module.events.url) == []


def test_read_file_queues_every_line(stream: tuple[App, ModuleType], raw: Any) -> None:
    app, module = stream
    lines = [body(f"f{i}") for i in range(25)] + ["", "garbage", "x" * (300 * 1024)]
    data = "\n".join(lines).encode()
    s3 = boto3.client("s3")
    s3.put_object(Bucket=module.inbox.name, Key="incoming/day 1.jsonl", Body=data)
    result = dispatch(app.handler("read_file"), raw.s3(module.inbox.name, "incoming/day 1.jsonl", len(data)),
                      None)
    assert result == {"queued": 26, "skipped": 1}
    messages = drain(module.events.url)
    assert len(messages) == 26
    sources = {m["MessageAttributes"]["source"]["StringValue"] for m in messages}
    assert f"s3://{module.inbox.name}/incoming/day 1.jsonl:27" in sources  # "garbage", line 27


def test_dead_letters_can_be_peeked_without_removing_them(stream: tuple[App, ModuleType], raw: Any) -> None:
    app, module = stream
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=module.dead_letters.url, MessageBody="not json",
                     MessageAttributes={"source": {"DataType": "String", "StringValue": "http r #0"}})
    for _ in range(2):
        response = dispatch(app.handler("peek_dead_letters"),
                            raw.http("GET", "/dead-letters", "/dead-letters"), None)
        messages = json.loads(response["body"])["messages"]
        assert [(m["body"], m["source"]) for m in messages] == [("not json", "http r #0")]


def test_get_aggregates(stream: tuple[App, ModuleType], raw: Any) -> None:
    app, _ = stream
    dispatch(app.handler("aggregate"), raw.sqs([body("a", ts=f"2024-05-01T13:0{m}:00Z") for m in range(5)]
                                               + [body("z", ts="2024-05-01T13:04:30Z")]), None)
    get = app.handler("get_aggregates")
    response = dispatch(get, raw.http("GET", "/aggregates/{key}", "/aggregates/sensor-1",
                                      path_params={"key": "sensor-1"}, query={"limit": "2"}), None)
    doc = json.loads(response["body"])
    assert [(m["minute"], m["count"]) for m in doc["minutes"]] == [
        ("2024-05-01T13:03:00Z", 1), ("2024-05-01T13:04:00Z", 2)]
    assert "event_ids" not in doc["minutes"][0]
    missing = dispatch(get, raw.http("GET", "/aggregates/{key}", "/aggregates/nope", path_params={"key": "nope"}),
                       None)
    assert missing["statusCode"] == 404
