"""Tumbling windows in the stream adapters: the window's fields in, the state back out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamModel, KinesisDataStreamModel
from pydantic import BaseModel

from flowfn import App, DynamoDbBatch, KinesisBatch, Stream, Table
from flowfn.errors import EventError
from flowfn.local.samples import dynamodb_sample, kinesis_sample
from flowfn.runtime import dispatch
from flowfn.runtime.streaming import Window, WindowStateError
from flowfn.triggers.streaming import window_event, window_of

SHARD = "shardId-000000000000"


class Click(BaseModel):
    n: int


def _windowed(event: dict[str, Any], state: dict[str, Any], *, final: bool = False) -> dict[str, Any]:
    return window_event(event, window=(1_607_497_440.0, 1_607_497_560.0), state=state, shard_id=SHARD,
                        source_arn="arn:aws:kinesis:us-east-1:123456789012:stream/clicks", final=final)


def test_windows_start_at_whole_multiples_of_their_length() -> None:
    assert window_of(1_607_497_475.0, 120) == (1_607_497_440.0, 1_607_497_560.0)  # 07:04:00-07:06:00
    assert window_of(1_607_497_440.0, 120)[0] == 1_607_497_440.0  # a record at the start is in it
    assert window_of(1_607_497_559.999, 120)[1] == 1_607_497_560.0
    assert window_of(61.5, 60) == (60.0, 120.0)


def test_the_event_has_lambdas_window_fields() -> None:
    event = _windowed(kinesis_sample("clicks", [1]), {"a": 1})
    assert event["window"] == {"start": "2020-12-09T07:04:00Z", "end": "2020-12-09T07:06:00Z"}
    assert {k: event[k] for k in ("state", "shardId", "isFinalInvokeForWindow", "isWindowTerminatedEarly")} == {
        "state": {"a": 1}, "shardId": SHARD, "isFinalInvokeForWindow": False, "isWindowTerminatedEarly": False}
    assert event["eventSourceARN"].endswith(":stream/clicks")


def test_the_batch_gets_the_window_and_its_state_and_the_response_carries_the_state_on() -> None:
    app = App("w")
    seen: list[tuple[Window | None, dict[str, Any], bool]] = []

    @app.on_kinesis(Stream("clicks"), batch=True, tumbling_window_s=120)
    def per_key(batch: KinesisBatch) -> None:
        seen.append((batch.window, dict(batch.state), batch.is_final))
        for record in batch:
            batch.state[record.partition_key] = batch.state.get(record.partition_key, 0) + record.json()

    event = _windowed(kinesis_sample("clicks", [2, 3], partition_key="a"), {"a": 1, "b": 7})
    result = dispatch(app.handler("per_key"), event, None)
    assert result == {"state": {"a": 6, "b": 7}, "batchItemFailures": []}
    start = datetime(2020, 12, 9, 7, 4, tzinfo=UTC)
    assert seen == [(Window(start, datetime(2020, 12, 9, 7, 6, tzinfo=UTC)), {"a": 1, "b": 7}, False)]
    assert event["state"] == {"a": 1, "b": 7}  # the event keeps what came in


def test_the_final_invocation_has_no_records_and_may_replace_the_state() -> None:
    app = App("w")
    written: list[dict[str, Any]] = []

    @app.on_kinesis(Stream("clicks"), batch=True, tumbling_window_s=120)
    def per_key(batch: KinesisBatch) -> None:
        if batch.is_final:
            written.append(batch.state)
            batch.state = {}

    result = dispatch(app.handler("per_key"), _windowed({"Records": []}, {"a": 6}, final=True), None)
    assert written == [{"a": 6}] and result == {"state": {}, "batchItemFailures": []}


def test_a_reported_record_returns_the_state_beside_it() -> None:
    app = App("w")

    @app.on_kinesis(Stream("clicks"), batch=True, tumbling_window_s=60)
    def per_key(batch: KinesisBatch) -> None:
        for record in batch:
            if record.json() < 0:
                batch.fail(record)
                return
            batch.state["sum"] = batch.state.get("sum", 0) + record.json()

    event = _windowed(kinesis_sample("clicks", [1, 2, -1, 4]), {"sum": 10})
    result = dispatch(app.handler("per_key"), event, None)
    failed = event["Records"][2]["kinesis"]["sequenceNumber"]
    assert result == {"state": {"sum": 13}, "batchItemFailures": [{"itemIdentifier": failed}]}


def test_a_record_failing_its_model_returns_the_state_as_it_came() -> None:
    app = App("w")

    @app.on_kinesis(Stream("clicks"), batch=True, model=Click, tumbling_window_s=60)
    def per_key(batch: KinesisBatch) -> None:
        raise AssertionError("not called: a record does not match")

    event = _windowed(kinesis_sample("clicks", [{"n": 1}, {"n": "x"}]), {"sum": 10})
    result = dispatch(app.handler("per_key"), event, None)
    assert result["state"] == {"sum": 10} and len(result["batchItemFailures"]) == 1


def test_an_event_without_window_fields_starts_from_an_empty_state() -> None:
    app = App("w")

    @app.on_kinesis(Stream("clicks"), batch=True, tumbling_window_s=60)
    def per_key(batch: KinesisBatch) -> None:
        assert batch.window is None and not batch.is_final
        batch.state["n"] = len(batch)

    assert dispatch(app.handler("per_key"), kinesis_sample("clicks", [1, 2]), None) == {
        "state": {"n": 2}, "batchItemFailures": []}


def test_a_mapping_without_a_window_returns_no_state() -> None:
    app = App("w")

    @app.on_kinesis(Stream("clicks"), batch=True)
    def plain(batch: KinesisBatch) -> None: ...

    assert dispatch(app.handler("plain"), kinesis_sample("clicks", [1]), None) == {"batchItemFailures": []}


def test_a_dynamodb_decimal_in_the_state_fails_the_invocation_naming_the_handler() -> None:
    app = App("w")

    @app.on_dynamodb_stream(Table("orders", key="pk", stream="new_image"), batch=True, tumbling_window_s=60)
    def totals(batch: DynamoDbBatch) -> None:
        for record in batch:
            assert record.new_image is not None
            batch.state["total"] = batch.state.get("total", 0) + record.new_image["total"]  # a Decimal

    keys = {"pk": {"S": "a"}}
    event = dynamodb_sample("orders", [("INSERT", keys, {**keys, "total": {"N": "2.5"}}, None)])
    with pytest.raises(WindowStateError, match=r"handler 'totals': batch.state is not JSON.*Fix:.*Decimal"):
        dispatch(app.handler("totals"), _windowed(event, {}), None)


def test_a_state_past_1_mb_or_not_a_dict_fails_the_invocation() -> None:
    app = App("w")
    give: list[Any] = []

    @app.on_kinesis(Stream("clicks"), batch=True, tumbling_window_s=60)
    def keep_all(batch: KinesisBatch) -> None:
        batch.state = give[0]

    give.append({"blob": "x" * 1_048_576})
    with pytest.raises(WindowStateError, match=r"handler 'keep_all': batch.state is 1,048,5\d\d bytes.*1 MB"):
        dispatch(app.handler("keep_all"), _windowed(kinesis_sample("clicks", [1]), {}), None)
    give[0] = [1, 2]
    with pytest.raises(WindowStateError, match="is a list, not a dict"):
        dispatch(app.handler("keep_all"), _windowed(kinesis_sample("clicks", [1]), {}), None)
    give[0] = {"blob": "x" * 1_000_000}  # under the limit: carried on
    assert len(dispatch(app.handler("keep_all"), _windowed(kinesis_sample("clicks", [1]), {}), None)["state"]
               ["blob"]) == 1_000_000


@pytest.mark.parametrize(("change", "path"), [
    ({"state": [1]}, "state"),
    ({"window": {"start": "soon", "end": "2020-12-09T07:06:00Z"}}, "window.start"),
    ({"window": "07:04"}, "window"),
])
def test_a_malformed_window_field_is_an_event_error(change: dict[str, Any], path: str) -> None:
    app = App("w")

    @app.on_kinesis(Stream("clicks"), batch=True, tumbling_window_s=60)
    def per_key(batch: KinesisBatch) -> None: ...

    event = {**_windowed(kinesis_sample("clicks", [1]), {}), **change}
    with pytest.raises(EventError) as caught:
        dispatch(app.handler("per_key"), event, None)
    assert caught.value.path == path


def test_flowfn_invokes_sample_for_a_windowed_handler_is_a_windows_first_invocation() -> None:
    from flowfn.local.dynamodb import dynamodb_sample_for
    from flowfn.local.kinesis import kinesis_sample_for

    app = App("w")
    seen: list[tuple[bool, bool, dict[str, Any]]] = []

    @app.on_kinesis(Stream("clicks"), batch=True, tumbling_window_s=300)
    def per_key(batch: KinesisBatch) -> None:
        seen.append((batch.window is not None, batch.is_final, dict(batch.state)))

    @app.on_dynamodb_stream(Table("orders", key="pk", stream=True), batch=True, tumbling_window_s=60)
    def totals(batch: DynamoDbBatch) -> None:
        seen.append((batch.window is not None, batch.is_final, dict(batch.state)))

    kinesis = kinesis_sample_for(app.handler("per_key"), {}, "us-east-1")
    dynamodb = dynamodb_sample_for(app.handler("totals"), {}, "us-east-1")
    assert dispatch(app.handler("per_key"), kinesis, None) == {"state": {}, "batchItemFailures": []}
    assert dispatch(app.handler("totals"), dynamodb, None) == {"state": {}, "batchItemFailures": []}
    assert seen == [(True, False, {}), (True, False, {})]
    assert kinesis["eventSourceARN"] == kinesis["Records"][0]["eventSourceARN"]
    KinesisDataStreamModel.model_validate(kinesis)
    DynamoDBStreamModel.model_validate(dynamodb)
