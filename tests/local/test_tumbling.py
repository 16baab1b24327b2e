"""Tumbling windows locally, through flowfn.testing: per shard, state carried, a final invocation.

Windows are wall-clock windows by arrival time, as in Lambda, so the records of one test may fall
into one window or two; the tests check what holds either way. drain() waits for an open window's
end (a second here); ``age_streams`` moves the pollers' clock on to end a longer one.
"""

from __future__ import annotations

import calendar
import itertools
import threading
import time
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamModel, KinesisDataStreamModel

from flowfn import App, DynamoDbBatch, KinesisBatch, Stream, Table
from flowfn.local.invoker import Invocation
from flowfn.testing import run_app

pytestmark = pytest.mark.slow


def _windows(calls: list[Invocation]) -> dict[str, list[Invocation]]:
    """Invocations by window (its start), in order."""
    out: dict[str, list[Invocation]] = {}
    for call in calls:
        out.setdefault(call.event["window"]["start"], []).append(call)
    return out


def _check_window(calls: list[Invocation], seconds: int) -> dict[str, Any]:
    """What every window must show; returns its final state."""
    first = calls[0].event
    assert first["state"] == {}  # a window starts empty
    start, end = (calendar.timegm(time.strptime(first["window"][k], "%Y-%m-%dT%H:%M:%SZ"))
                  for k in ("start", "end"))
    assert end - start == seconds and int(start) % seconds == 0  # aligned to its length
    for before, after in itertools.pairwise(calls):
        assert after.event["state"] == before.result["state"]  # carried from one invocation to the next
    final = calls[-1]
    assert final.event["isFinalInvokeForWindow"] and final.event["Records"] == []
    assert not any(c.event["isFinalInvokeForWindow"] for c in calls[:-1])
    assert all(c.event["shardId"] == first["shardId"] and not c.event["isWindowTerminatedEarly"] for c in calls)
    state: dict[str, Any] = final.event["state"]
    return state


def test_a_window_carries_its_state_and_ends_with_a_final_invocation() -> None:
    app = App("tumbling")
    clicks = Stream("clicks")
    finals: list[dict[str, int]] = []

    @app.on_kinesis(clicks, batch=True, batch_size=3, tumbling_window_s=1, starting_position="trim_horizon")
    def per_key(batch: KinesisBatch) -> None:
        for record in batch:
            batch.state[record.partition_key] = batch.state.get(record.partition_key, 0) + record.json()
        if batch.is_final:
            finals.append(dict(batch.state))

    with run_app(app) as h:
        h.put_records(clicks, list(range(10)), partition_key=lambda n: "ab"[n % 2])
        h.drain()  # waits out the window (a second) for its final invocation
        assert not h.failures()
        calls = h.invocations("per_key")
    assert {c.event["shardId"] for c in calls} == {"shardId-000000000000"}
    windows = _windows(calls)
    states = [_check_window(c, 1) for c in windows.values()]
    assert states == finals
    assert sum(s.get("a", 0) for s in states) == 0 + 2 + 4 + 6 + 8
    assert sum(s.get("b", 0) for s in states) == 1 + 3 + 5 + 7 + 9
    assert sum(len(c.event["Records"]) for c in calls) == 10
    for event in (c.event for c in calls):
        KinesisDataStreamModel.model_validate(event)  # Powertools reads a windowed event, a final one too


def test_a_later_window_starts_fresh_after_the_earlier_ones_final_invocation() -> None:
    app = App("tumbling")
    clicks = Stream("clicks")

    @app.on_kinesis(clicks, batch=True, tumbling_window_s=1, starting_position="trim_horizon")
    def count(batch: KinesisBatch) -> None:
        batch.state["n"] = batch.state.get("n", 0) + len(batch)

    with run_app(app) as h:
        h.put_records(clicks, ["x", "y"])
        time.sleep(1.1)  # the next records arrive in a later window
        h.put_records(clicks, ["z"])
        h.drain()
        calls = h.invocations("count")
    windows = list(_windows(calls).values())
    assert len(windows) >= 2
    assert sum(_check_window(w, 1)["n"] for w in windows) == 3
    order = [c.event["window"]["start"] for c in calls]
    assert order == sorted(order)  # each window closed (final invocation) before the next opened


def test_age_streams_ends_a_long_window_and_a_dynamodb_stream_has_windows_too() -> None:
    app = App("tumbling")
    orders = Table("orders", key="pk", stream="new_image")

    @app.on_dynamodb_stream(orders, batch=True, tumbling_window_s=900, starting_position="trim_horizon")
    def totals(batch: DynamoDbBatch) -> None:
        for record in batch:
            assert record.new_image is not None
            batch.state["total"] = batch.state.get("total", 0) + int(record.new_image["n"])

    with run_app(app) as h:
        for i in range(3):
            h.put_item(orders, {"pk": f"o{i}", "n": i + 1})
        h.age_streams(900)  # the pollers' clock passes the window's end
        h.drain()
        calls = h.invocations("totals")
    windows = list(_windows(calls).values())
    assert sum(_check_window(w, 900)["total"] for w in windows) == 6
    assert all(c.event["eventSourceARN"].startswith("arn:aws:dynamodb:") for c in calls)
    for event in (c.event for c in calls):
        DynamoDBStreamModel.model_validate(event)


def test_a_failed_invocation_is_retried_with_the_state_it_got() -> None:
    app = App("tumbling")
    clicks = Stream("clicks")
    failures = {"batch": 1, "final": 1}
    lock = threading.Lock()

    @app.on_kinesis(clicks, batch=True, tumbling_window_s=1, starting_position="trim_horizon")
    def count(batch: KinesisBatch) -> None:
        batch.state["n"] = batch.state.get("n", 0) + len(batch)
        step = "final" if batch.is_final else "batch"
        with lock:
            if failures[step]:
                failures[step] -= 1
                raise RuntimeError(f"{step} fails once")

    with run_app(app) as h:
        h.put_records(clicks, ["x", "y", "z"])
        h.drain()
        calls = h.invocations("count")
    failed = [c for c in calls if c.outcome == "error"]
    assert [str(c.error) for c in failed] == ["batch fails once", "final fails once"]
    for bad in failed:  # its retry is the next invocation of its window, with the same state
        retry = calls[calls.index(bad) + 1]
        assert retry.event["state"] == bad.event["state"]
        assert retry.event["isFinalInvokeForWindow"] == bad.event["isFinalInvokeForWindow"]
        assert retry.event["Records"] == bad.event["Records"]
    finals = [c for c in calls if c.outcome == "ok" and c.event["isFinalInvokeForWindow"]]
    assert sum(c.event["state"]["n"] for c in finals) == 3  # counted once, though delivered twice


def test_a_final_invocation_that_keeps_failing_is_given_up_after_max_retries() -> None:
    app = App("tumbling")
    clicks = Stream("clicks")

    @app.on_kinesis(clicks, batch=True, tumbling_window_s=1, max_retries=1, starting_position="trim_horizon")
    def count(batch: KinesisBatch) -> None:
        if batch.is_final:
            raise RuntimeError("the sink is down")
        batch.state["n"] = batch.state.get("n", 0) + len(batch)

    with run_app(app) as h:
        h.put_records(clicks, ["x"])
        h.drain()
        failed = h.failures()
    finals = [c for c in failed if c.event["isFinalInvokeForWindow"]]
    assert len(finals) == 2 and finals[0].given_up == ()  # the first attempt and its one retry
    (given,) = finals[1].given_up
    assert given.attempts == 2 and given.reason == "retries spent" and "state" in given.destination
    assert "its final invocation" in given.event


def test_a_reported_record_is_retried_with_the_state_returned_beside_it() -> None:
    app = App("tumbling")
    clicks = Stream("clicks")
    failed_once: list[int] = []

    @app.on_kinesis(clicks, batch=True, tumbling_window_s=1, starting_position="trim_horizon")
    def total(batch: KinesisBatch) -> None:
        for record in batch:
            if record.json() == 3 and not failed_once:
                failed_once.append(3)
                batch.fail(record)
                return
            batch.state["sum"] = batch.state.get("sum", 0) + record.json()

    with run_app(app) as h:
        h.put_records(clicks, [1, 2, 3, 4])
        h.drain()
        calls = h.invocations("total")
    (partial,) = [c for c in calls if c.outcome == "partial"]
    retry = calls[calls.index(partial) + 1]
    assert retry.event["state"] == partial.result["state"]  # what was added before the report stays
    assert retry.event["Records"][0]["kinesis"]["data"] == "Mw=="  # from the reported record on
    finals = [c for c in calls if c.event["isFinalInvokeForWindow"]]
    assert sum(c.event["state"]["sum"] for c in finals) == 10  # each record counted once


def test_a_drain_that_times_out_on_an_open_window_says_how_to_end_it() -> None:
    from flowfn.local.engine import DrainTimeout

    app = App("tumbling")
    clicks = Stream("clicks")

    @app.on_kinesis(clicks, batch=True, tumbling_window_s=900, starting_position="trim_horizon")
    def per_quarter(batch: KinesisBatch) -> None:
        batch.state["n"] = batch.state.get("n", 0) + len(batch)

    with run_app(app) as h:
        h.put_records(clicks, ["x"])
        with pytest.raises(DrainTimeout, match=r"handler 'per_quarter' has the window \d\d:\d\d:00-\d\d:\d\d:00 "
                           r"UTC of shardId-000000000000 open.*Fix: call app.age_streams\(seconds\)"):
            h.drain(timeout=1)
        h.age_streams(900)
        h.drain()
        assert h.invocations("per_quarter")[-1].event["isFinalInvokeForWindow"]


def test_each_shard_has_windows_of_its_own() -> None:
    app = App("tumbling")
    clicks = Stream("clicks", shards=2)

    @app.on_kinesis(clicks, batch=True, tumbling_window_s=1, starting_position="trim_horizon")
    def count(batch: KinesisBatch) -> None:
        batch.state["n"] = batch.state.get("n", 0) + len(batch)

    with run_app(app) as h:
        h.put_records(clicks, [f"k{i}" for i in range(20)], partition_key=lambda text: text)
        h.drain()
        calls = h.invocations("count")
    by_shard: dict[str, list[Invocation]] = {}
    for call in calls:
        shard = call.event["shardId"]
        assert all(r["eventID"].startswith(shard + ":") for r in call.event["Records"])
        by_shard.setdefault(shard, []).append(call)
    assert len(by_shard) == 2  # the keys spread over both shards
    total = 0
    for shard_calls in by_shard.values():
        for window in _windows(shard_calls).values():
            total += _check_window(window, 1)["n"]
    assert total == 20
