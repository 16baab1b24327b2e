"""What streams.json keeps of a table's stream at a stop, and how the next start puts it back:
the records not yet handled by a mapping, as they were written; their age counts from then."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flowfn import App, Queue, Table
from flowfn.local import streamstate
from flowfn.local.engine import LocalApp, Options

SHARD = "shardId-00000001541626099285-f35f62ef"


def _app(seen: list[dict[str, Any]], later: list[dict[str, Any]] | None = None) -> App:
    app = App("kept")
    orders = Table("orders", key="pk", stream=True)

    @app.on_dynamodb_stream(orders, max_record_age_s=60, on_failure=Queue("too-old"))
    def audit(record: Any) -> None:
        seen.append(record.raw)

    if later is not None:
        @app.on_dynamodb_stream(orders)
        def added(record: Any) -> None:
            later.append(record.raw)

    return app


def _run(app: App, state: Path, *, sources: bool = True, saves: bool = True) -> LocalApp:
    file = state / "kept" / streamstate.FILE
    options = Options(state_dir=state, sources=sources, retry_now=True,
                      on_ready=[lambda local: streamstate.restore(local, file)],
                      on_stopped=[lambda local: streamstate.save(local, file)] if saves else [])
    return LocalApp(app, options)


def _put(local: LocalApp, pk: str, value: str) -> None:
    local.target.client("dynamodb").put_item(TableName="orders", Item={"pk": {"S": pk}, "v": {"S": value}})


def test_a_stop_keeps_the_unhandled_stream_records_and_the_next_start_gives_them_back(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    state = tmp_path / "state"
    with _run(_app(seen), state, sources=False) as local:  # nothing reads the stream
        _put(local, "a", "1")
        _put(local, "a", "2")
        local.target.client("dynamodb").delete_item(TableName="orders", Key={"pk": {"S": "a"}})
        _put(local, "b", "1")
    saved = json.loads((state / "kept" / streamstate.FILE).read_text())
    stream = saved["table_streams"]["orders"]
    records = stream["records"]
    assert stream["shard"] == SHARD and len(records) == 4
    assert [(r["eventName"], r["dynamodb"]["Keys"]) for r in records] == [
        ("INSERT", {"pk": {"S": "a"}}), ("MODIFY", {"pk": {"S": "a"}}), ("REMOVE", {"pk": {"S": "a"}}),
        ("INSERT", {"pk": {"S": "b"}})]
    assert records[1]["dynamodb"]["OldImage"] == {"pk": {"S": "a"}, "v": {"S": "1"}}
    assert records[1]["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "v": {"S": "2"}}
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert numbers == list(range(numbers[0], numbers[0] + 4)) and stream["next"] == numbers[-1] + 1
    assert all(isinstance(r["dynamodb"]["ApproximateCreationDateTime"], float) for r in records)
    # The mapping had no checkpoint: it is given one just before the records kept for it.
    checkpoint = json.loads((state / "kept" / "checkpoints" / "audit.json").read_text())
    assert checkpoint == {SHARD: str(numbers[0] - 1)}

    # Written two hours ago: past the mapping's max_record_age_s (60 s) at the next start.
    written = datetime(2025, 1, 1, 9, 0, 0, tzinfo=UTC).timestamp()
    for record in records:
        record["dynamodb"]["ApproximateCreationDateTime"] = written
    (state / "kept" / streamstate.FILE).write_text(json.dumps(saved))
    with _run(_app(seen), state) as local:
        _put(local, "c", "1")
        local.drain()
        sqs = local.target.client("sqs")
        got = sqs.receive_message(QueueUrl=local.bindings.queue_urls["too-old"], MaxNumberOfMessages=10)
        items = local.target.client("dynamodb").scan(TableName="orders")["Items"]
    assert [r["dynamodb"]["Keys"] for r in seen] == [{"pk": {"S": "c"}}]  # the new change only
    assert int(seen[0]["dynamodb"]["SequenceNumber"]) == stream["next"]  # numbers go on after them
    info = json.loads(got["Messages"][0]["Body"])["DDBStreamBatchInfo"]
    assert json.loads(got["Messages"][0]["Body"])["requestContext"]["condition"] == "RecordAgeExceeded"
    assert info["batchSize"] == 4 and info["approximateArrivalOfFirstRecord"] == "2025-01-01T09:00:00Z"
    assert sorted(i["pk"]["S"] for i in items) == ["b", "c"]  # the items as they were, and the new one


def test_records_every_mapping_had_handled_are_not_kept(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    state = tmp_path / "state"
    with _run(_app(seen), state) as local:
        _put(local, "a", "1")
        local.drain()
    stream = json.loads((state / "kept" / streamstate.FILE).read_text())["table_streams"]["orders"]
    assert stream["records"] == [] and len(seen) == 1
    with _run(_app(seen), state) as local:
        _put(local, "b", "1")
        local.drain()
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in seen] == ["a", "b"]
    assert int(seen[1]["dynamodb"]["SequenceNumber"]) == stream["next"]


def test_a_mapping_added_later_never_gets_what_was_written_before_it(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    later: list[dict[str, Any]] = []
    state = tmp_path / "state"
    with _run(_app(seen), state, sources=False) as local:
        _put(local, "a", "1")  # kept at the stop: audit has not handled it
    for _ in range(2):  # the added mapping starts at 'latest': after 'a', then, and at each restart
        with _run(_app(seen, later), state) as local:
            local.drain()
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in seen] == ["a"]
    assert later == []


def test_a_mapping_back_after_a_run_without_it_resumes_at_what_the_stream_still_holds(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    later: list[dict[str, Any]] = []
    state = tmp_path / "state"
    with _run(_app(seen, later), state) as local:
        _put(local, "a", "1")
        local.drain()
    with _run(_app(seen), state) as local:  # 'added' is gone: its checkpoint stays behind
        _put(local, "b", "1")
        local.drain()
    with _run(_app(seen, later), state) as local:  # ... and is back: 'b' was not kept for it
        _put(local, "c", "1")
        local.drain(timeout=20)
        assert not [e for source in local.sources() for e in getattr(source, "errors", [])]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in seen] == ["a", "b", "c"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in later] == ["a", "c"]


def test_records_saved_before_a_run_that_did_not_stop_are_not_handled_again(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    state = tmp_path / "state"
    with _run(_app(seen), state, sources=False) as local:
        _put(local, "a", "1")  # kept at the stop
    with _run(_app(seen), state, saves=False) as local:  # killed: nothing saved, checkpoints moved on
        _put(local, "b", "1")
        local.drain()
    with _run(_app(seen), state) as local:
        _put(local, "c", "1")
        local.drain(timeout=20)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in seen] == ["a", "b", "c"]
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in seen]
    assert numbers == sorted(set(numbers))


def test_restored_kinesis_records_keep_their_arrival_times(tmp_path: Path) -> None:
    """A Kinesis record put back at a start arrives when it first did: max_record_age_s counts on
    from then, and the handler sees its first arrival."""
    from flowfn import Stream

    seen: list[dict[str, Any]] = []
    app = App("kept")

    @app.on_kinesis(Stream("clicks"), starting_position="trim_horizon", max_record_age_s=60,
                    on_failure=Queue("too-old"))
    def count(record: Any) -> None:
        seen.append(record.raw)

    state = tmp_path / "state"
    file = state / "kept" / streamstate.FILE
    with _run(app, state, sources=False) as local:  # nothing reads the stream
        for data in (b"old", b"new"):
            local.target.client("kinesis").put_record(StreamName="clicks", Data=data, PartitionKey="k")
    saved = json.loads(file.read_text())
    old, new = saved["streams"]["clicks"]
    assert abs(new["arrival"] - datetime.now(UTC).timestamp()) < 60  # when it arrived, kept
    old["arrival"] = datetime(2025, 1, 1, 9, 0, 0, 250_000, tzinfo=UTC).timestamp()
    new["arrival"] = arrived = datetime.now(UTC).timestamp() - 10  # 10 s ago: young enough
    file.write_text(json.dumps(saved))
    with _run(app, state) as local:
        local.drain()
        sqs = local.target.client("sqs")
        got = sqs.receive_message(QueueUrl=local.bindings.queue_urls["too-old"], MaxNumberOfMessages=10)
    [message] = [json.loads(m["Body"]) for m in got["Messages"]]
    assert message["requestContext"]["condition"] == "RecordAgeExceeded"
    info = message["KinesisBatchInfo"]
    assert info["batchSize"] == 1 and info["approximateArrivalOfFirstRecord"] == "2025-01-01T09:00:00.250Z"
    [record] = seen
    assert record["kinesis"]["data"] == "bmV3"  # b"new", handled
    assert abs(record["kinesis"]["approximateArrivalTimestamp"] - arrived) < 0.001
