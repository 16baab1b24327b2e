"""A call denied for want of a Stream, Topic or EventBus grant names the grant that allows it."""

from __future__ import annotations

import boto3
import pytest

from flowfn import App, EventBus, Queue, Stream, Topic
from flowfn.testing import run_app


def _app() -> App:
    app = App("hints")
    clicks, alerts, orders, jobs = Stream("clicks"), Topic("alerts"), EventBus("orders"), Queue("jobs")

    @app.on_schedule("rate(1 day)", enabled=False, uses=[clicks.put(), alerts.publish(), orders.put_events(),
                                                         jobs.send()])
    def granted() -> None:
        pass

    @app.on_schedule("rate(1 day)", enabled=False, uses=[jobs.send()])
    def queue_url() -> None:
        boto3.client("sqs").get_queue_url(QueueName="jobs")

    @app.on_schedule("rate(1 day)", enabled=False)
    def publish() -> None:
        boto3.client("sns").publish(TopicArn="arn:aws:sns:us-east-1:123456789012:alerts", Message="x")

    @app.on_schedule("rate(1 day)", enabled=False)
    def put_record() -> None:
        boto3.client("kinesis").put_record(StreamName="clicks", Data=b"x", PartitionKey="p")

    @app.on_schedule("rate(1 day)", enabled=False)
    def describe() -> None:
        boto3.client("kinesis").describe_stream_summary(StreamName="clicks")

    @app.on_schedule("rate(1 day)", enabled=False)
    def put_events() -> None:
        boto3.client("events").put_events(Entries=[
            {"Source": "shop", "DetailType": "order", "Detail": "{}", "EventBusName": "orders"}])

    @app.on_schedule("rate(1 day)", enabled=False)
    def undeclared() -> None:
        boto3.client("sns").publish(TopicArn="arn:aws:sns:us-east-1:123456789012:elsewhere", Message="x")

    return app


@pytest.fixture(scope="module")
def denials() -> dict[str, str]:
    with run_app(_app()) as h:
        return {name: str(h.fire(name).error) for name in
                ("publish", "put_record", "describe", "put_events", "undeclared", "queue_url")}


@pytest.mark.parametrize(("function", "fix"), [
    ("publish", "Fix: add uses=[alerts.publish()] to handler 'publish'."),
    ("put_record", "Fix: add uses=[clicks.put()] to handler 'put_record'."),
    ("describe", "Fix: add uses=[clicks.read()] to handler 'describe'."),
    ("put_events", "Fix: add uses=[orders.put_events()] to handler 'put_events'."),
    ("queue_url", "Fix: read the queue's URL from the declared object (jobs.url), which flowfn sets in the "
                  "environment of handler 'queue_url' once it is in its uses=[...], instead of asking SQS for it."),
    ("undeclared", "Fix: topic 'elsewhere' is not declared: declare it (Topic('elsewhere', existing='elsewhere') "
                   "for a topic made elsewhere) and add it to uses=[...] of handler 'undeclared'"),
])
def test_a_denied_call_names_the_grant_that_allows_it(denials: dict[str, str], function: str, fix: str) -> None:
    assert "is not authorized to perform" in denials[function]
    assert fix in denials[function]
