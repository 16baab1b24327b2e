"""SNS fan-out and EventBridge routing, run locally through flowfn.testing: filter policies and
patterns as AWS applies them, async retries, and a chain across kinds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from flowfn.testing import Harness, run_app

from .conftest import APPS

APP = str(APPS / "fanout_app.py")


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    with run_app(APP) as running:
        yield running


@pytest.fixture
def app(harness: Harness) -> Harness:
    harness.clear()
    _seen(harness).clear()
    return harness


def _seen(harness: Harness) -> list[tuple[str, Any]]:
    import sys

    module = sys.modules[harness.app.handler("notify").module]
    seen: list[tuple[str, Any]] = module.seen
    return seen


def _who(app: Harness) -> list[str]:
    return sorted(name for name, _ in _seen(app))


def test_one_publish_reaches_every_matching_subscriber(app: Harness) -> None:
    app.publish("ready", {"key": "a.jpg"}, attributes={"kind": "image", "size": 500})
    app.drain()
    assert _who(app) == ["big_images", "notify", "store_index"]
    assert ("big_images", "500") in _seen(app)
    assert all(r.ok for r in app.invocations())


def test_a_message_no_policy_matches_reaches_only_the_unfiltered(app: Harness) -> None:
    app.publish("ready", "plain", attributes={"kind": "video"})
    app.drain()
    assert _who(app) == ["store_index"]  # index has no filter policy; it forwards to the queue
    assert {r.function for r in app.invocations(trigger="sns")} == {"index"}


@pytest.mark.parametrize(("attributes", "expected"), [
    ({"kind": "video", "tag": "x"}, ["other_kinds"]),          # anything-but, exists
    ({"kind": "video"}, []),                                   # exists: tag missing
    ({"kind": "Audio", "tag": "song.mp3"}, ["audio", "other_kinds"]),  # equals-ignore-case, suffix
    ({"kind": "audio", "tag": "song.wav"}, ["other_kinds"]),   # suffix fails; anything-but holds
    ({"kind": "image", "size": 50}, ["notify"]),               # numeric fails
])
def test_attribute_operators(app: Harness, attributes: dict[str, Any], expected: list[str]) -> None:
    app.publish("ready", {"m": 1}, attributes=attributes)
    app.drain()
    assert [n for n in _who(app) if n != "store_index"] == expected


def test_or_in_a_filter_policy_delivers_each_matching_message_once(app: Harness) -> None:
    app.publish("ready", "both", attributes={"kind": "audio", "tag": "hit-1", "size": 5000})
    app.publish("ready", "big", attributes={"kind": "audio", "size": 2000})
    app.publish("ready", "tagged", attributes={"kind": "audio", "tag": "hit-2"})
    app.publish("ready", "neither", attributes={"kind": "audio", "tag": "miss", "size": 5})
    app.publish("ready", "not audio", attributes={"kind": "video", "tag": "hit-3"})
    app.drain()
    assert sorted(v for n, v in _seen(app) if n == "either") == ["big", "both", "tagged"]


def test_body_scope_filters_on_the_json_message(app: Harness) -> None:
    app.publish("ready", {"order": {"total": 12}})
    app.publish("ready", {"order": {"total": 3}})
    app.drain()
    assert [v for n, v in _seen(app) if n == "body_filtered"] == [12]


def test_a_failing_subscriber_is_retried_twice_and_given_up_while_the_other_succeeds(app: Harness) -> None:
    app.publish("ready", "bad", attributes={"kind": "poison"})
    app.drain()
    failed = app.invocations("fails")
    assert [r.outcome for r in failed] == ["error", "error", "error"]
    assert failed[-1].given_up and failed[-1].given_up[0].attempts == 3
    assert [r.outcome for r in app.invocations("survives")] == ["ok"]
    # on_failure: the invocation record Lambda sends its failure destination.
    assert failed[-1].given_up[0].destination == "sns-failed"
    [body] = app.messages("sns-failed")
    record = json.loads(body)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"]["Records"][0]["Sns"]["Message"] == "bad"
    assert "cannot handle poison" in record["responsePayload"]["errorMessage"]


def test_retries_0_tries_an_event_once(app: Harness) -> None:
    app.put_event("shop.orders", "Order Placed", {"id": 0, "poison": "yes", "country": "FR"}, bus="orders")
    app.drain()
    [run] = app.invocations("once")
    assert run.outcome == "error" and run.given_up[0].attempts == 1 and run.given_up[0].destination == "dropped"


def test_sns_records_match_powertools(app: Harness) -> None:
    from aws_lambda_powertools.utilities.parser.models import SnsModel

    app.publish("ready", "hello", subject="greeting", attributes={"kind": "image", "size": 1})
    app.drain()
    event = app.invocations("notify")[0].event
    parsed = SnsModel.model_validate(event)
    sns = parsed.Records[0].Sns
    assert sns.Message == "hello" and sns.Subject == "greeting"
    assert sns.TopicArn == app.topic_arn("ready")
    assert sns.MessageAttributes is not None and sns.MessageAttributes["kind"].Value == "image"


def test_patterns_route_events(app: Harness) -> None:
    app.put_event("shop.orders", "Order Placed", {"id": 1, "total": 150, "country": "FR"}, bus="orders")
    app.put_event("shop.orders", "Order Placed", {"id": 2, "total": 150, "coupon": "X", "country": "US"},
                  bus="orders")
    app.put_event("shop.returns", "Order Placed", {"id": 3, "total": 5, "country": "FR"}, bus="orders")
    app.put_event("other", "Order Placed", {"id": 4}, bus="orders")
    app.put_event("billing", "Invoice", {"id": 5})
    app.put_event("misc", "Ping", {"priority": "high"})
    app.put_event("misc", "Ping", {"priority": "low"})
    app.drain()
    got = sorted((n, v) for n, v in _seen(app))
    assert got == [("abroad", 2), ("big_orders", 1), ("placed", 1), ("placed", 2), ("placed", 3),
                   ("urgent", "billing"), ("urgent", "misc")]


def test_eventbridge_events_match_powertools(app: Harness) -> None:
    from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

    app.put_event("shop.orders", "Order Placed", {"id": 9, "total": 1, "country": "FR"}, bus="orders",
                  resources=["arn:aws:s3:::x"])
    app.drain()
    event = app.invocations("placed")[0].event
    parsed = EventBridgeModel.model_validate(event)
    assert parsed.source == "shop.orders" and parsed.detail_type == "Order Placed"
    assert parsed.detail == {"id": 9, "total": 1, "country": "FR"} and parsed.resources == ["arn:aws:s3:::x"]


def test_a_chain_across_kinds(app: Harness) -> None:
    # S3 -> announce -> topic -> index and notify -> queue -> store_index
    app.upload("uploads", "cat.jpg", b"x")
    app.drain()
    assert sorted(_seen(app)) == [("notify", {"key": "cat.jpg"}), ("store_index", {"key": "cat.jpg"})]
    assert [r.function for r in app.invocations(outcome="ok")].count("announce") == 1
    assert app.failures() == []


def test_a_fifo_topic_delivers_to_its_fifo_queue_in_order(app: Harness) -> None:
    for n in range(6):
        app.publish("entries.fifo", f"entry-{n}", group_id="account-1" if n % 2 else "account-2")
    app.drain()
    booked = [v for n, v in _seen(app) if n == "book"]
    assert [body for group, body in booked if group == "account-1"] == ["entry-1", "entry-3", "entry-5"]
    assert [body for group, body in booked if group == "account-2"] == ["entry-0", "entry-2", "entry-4"]


def test_undelivered_messages_are_held_across_a_stop(app: Harness) -> None:
    # What run-local saves at a stop and restores at the next start includes each subscriber's queue.
    held = app.local.held_queues()
    assert {"flowfn-sns-index", "flowfn-sns-either-0", "flowfn-sns-either-1", "flowfn-events-placed"} <= set(held)
    assert all(url in app.local.pending_queues() for name, url in held.items() if name.startswith("flowfn-"))
