"""flowfn.testing end to end: chains, retries into the DLQ, environments."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from flowfn.testing import Harness, run_app

from .conftest import APPS

pytestmark = pytest.mark.slow


def test_a_chain_of_three_handlers_runs_end_to_end_with_retries_into_the_dlq() -> None:
    with run_app(str(APPS / "pipeline.py")) as app:
        app.upload("incoming", "raw/batch one.txt", "alpha\nfail-me\nbeta\n")
        app.upload("incoming", "raw/ignored.csv", "nope")  # suffix filter: no handler
        app.upload("incoming", "elsewhere/x.txt", "nope")  # prefix filter: no handler
        app.drain()

        assert app.keys("reports") == ["alpha.txt", "beta.txt"]
        assert app.download("reports", "alpha.txt") == b"ALPHA!"
        assert [json.loads(b) for b in app.messages("tasks-dlq")] == [{"line": "fail-me"}]

        split = app.invocations("split")
        assert len(split) == 1 and split[0].ok
        record = split[0].event["Records"][0]
        assert record["s3"]["object"]["key"] == "raw/batch+one.txt"  # slash kept, space encoded
        # The function sees only its own bindings.
        assert split[0].result == {"env": ["FLOWFN_APP", "FLOWFN_BUCKET_INCOMING", "FLOWFN_FUNCTION",
                                           "FLOWFN_LOG_LEVEL", "FLOWFN_QUEUE_TASKS_URL"]}
        # fail-me was received twice (max_receive_count=2), then moved to the DLQ.
        failing = [r for r in app.invocations("work") if "fail-me" in json.dumps(r.event)]
        counts = [
            rec["attributes"]["ApproximateReceiveCount"]
            for inv in failing for rec in inv.event["Records"] if "fail-me" in rec["body"]
        ]
        assert counts == ["1", "2"]
        assert all(inv.outcome in ("partial", "error") for inv in failing)
        assert {r.outcome for r in app.invocations("work")} <= {"ok", "partial"}  # per-record failures
        assert {r.outcome for r in app.invocations("split") + app.invocations("collect")} == {"ok"}
        assert len(app.invocations("collect")) == 2


def test_sqs_records_carry_lambdas_fields(svc: Harness) -> None:
    message_id = svc.send("limited", {"n": 1}, attributes={"kind": "test"})
    svc.drain()
    (inv,) = svc.invocations("one_at_a_time")
    (record,) = inv.event["Records"]
    assert record["messageId"] == message_id
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(":limited")
    assert record["messageAttributes"]["kind"]["stringValue"] == "test"
    assert set(record["attributes"]) >= {"ApproximateReceiveCount", "SentTimestamp", "SenderId",
                                         "ApproximateFirstReceiveTimestamp"}


def test_reserved_concurrency_one_runs_messages_one_at_a_time(svc: Harness) -> None:
    module = svc.app.handler("one_at_a_time").fn.__globals__
    module["state"]["peak"] = 0
    for n in range(6):
        svc.send("limited", str(n))
    svc.drain()
    assert len(svc.invocations("one_at_a_time", outcome="ok")) == 6
    assert module["state"]["peak"] == 1


def test_a_timed_out_batch_returns_to_the_queue_and_ends_in_the_dlq(svc: Harness) -> None:
    svc.send("slow-jobs", "forever")
    svc.drain()
    timed_out = svc.invocations("slow")
    assert [i.outcome for i in timed_out] == ["timeout", "timeout"]
    assert str(timed_out[0].error) == "Task timed out after 1.00 seconds"
    assert svc.messages("slow-jobs-dlq") == ["forever"]
    assert svc.local.invoker.join_abandoned(2.0) == []  # the abandoned handler was stopped


def test_each_function_sees_only_its_own_environment(svc: Harness) -> None:
    seen = svc.get("/env").json()
    assert seen["FLOWFN_FUNCTION"] == "env"
    assert seen["AWS_ENDPOINT_URL"] == svc.local.target.endpoint_url
    assert not any(k.startswith("FLOWFN_QUEUE") for k in seen)
    assert svc.environment("one_at_a_time")["FLOWFN_QUEUE_LIMITED_URL"] == svc.queue_url("limited")


def test_direct_invoke_records_the_event_and_result(svc: Harness) -> None:
    inv = svc.invoke("manual", {"detail": {}})
    assert inv.ok and inv.result == "ran" and inv.trigger == "schedule"
    assert svc.invocations("manual") == [inv]


def test_unknown_names_are_explained(svc: Harness) -> None:
    with pytest.raises(KeyError, match="no bucket 'nope'"):
        svc.upload("nope", "k", b"")
    with pytest.raises(KeyError, match="handlers: nightly"):
        svc.invoke("nope", {})
    with pytest.raises(ValueError, match="has a consumer"):
        svc.messages("limited")


def test_concurrent_invocations_each_see_their_own_environment(svc: Harness) -> None:
    import threading

    results: dict[str, Any] = {}

    def call(name: str) -> None:
        results[name] = svc.get(f"/isolated/{name}").json()

    threads = [threading.Thread(target=call, args=(n,)) for n in "abc"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {
        "a": {"function": "isolated_a", "memory": "512", "extra": "a"},
        "b": {"function": "isolated_b", "memory": "1024", "extra": ""},
        "c": {"function": "isolated_c", "memory": "256", "extra": "c"},
    }
    assert "FLOWFN_FUNCTION" not in os.environ  # nothing leaked into the test's own environment


def test_recorded_events_pass_powertools_models(svc: Harness) -> None:
    from aws_lambda_powertools.utilities.parser.models import (
        APIGatewayProxyEventV2Model,
        EventBridgeModel,
        S3Model,
        SqsModel,
    )

    with run_app(str(APPS / "pipeline.py")) as app:
        app.upload("incoming", "raw/x.txt", "one")
        app.drain()
        S3Model.model_validate(app.invocations("split")[0].event)
        SqsModel.model_validate(app.invocations("work")[0].event)
    EventBridgeModel.model_validate(svc.fire("nightly").event)
    svc.get("/items/1?q=2", headers={"cookie": "a=1; b=2"})
    APIGatewayProxyEventV2Model.model_validate(svc.invocations("get_item")[0].event)


def test_overlapping_runs_may_not_share_resources(svc: Harness) -> None:
    from flowfn import FlowfnError

    with pytest.raises(FlowfnError, match="'flaky-in' is in use by another flowfn run"), \
            run_app(str(APPS / "services.py")):
        pass
    assert svc.get("/items/3").status == 200  # the first run is unharmed


def test_failed_async_invocations_are_retried_twice(svc: Harness) -> None:
    svc.upload("flaky-in", "x", b"1")
    svc.drain()
    assert [(i.source, i.outcome) for i in svc.invocations("flaky")] == [
        ("flaky-in/x", "error"), ("flaky-in/x (retry 1)", "error"), ("flaky-in/x (retry 2)", "ok"),
    ]


def test_fifo_groups_keep_their_order(svc: Harness) -> None:
    module = svc.app.handler("take_order").fn.__globals__
    for n in range(5):
        svc.send("orders.fifo", str(n), group_id="g1", dedup_id=f"g1-{n}")
        svc.send("orders.fifo", str(n), group_id="g2", dedup_id=f"g2-{n}")
    svc.drain()
    log = module["order_log"]
    assert [e for e in log if e.startswith("g1")] == [f"g1:{n}" for n in range(5)]
    assert [e for e in log if e.startswith("g2")] == [f"g2:{n}" for n in range(5)]


def test_the_pytest_fixture_runs_and_stops_apps(flowfn_app: Any) -> None:
    app = flowfn_app(str(APPS / "pipeline.py"), async_retries=0)
    app.upload("incoming", "raw/one.txt", "solo")
    app.drain()
    assert app.keys("reports") == ["solo.txt"]


def test_an_emulator_named_by_endpoint_is_used_and_left_running() -> None:
    from flowfn.local.emulator import EmbeddedMoto

    other = EmbeddedMoto()
    other.start()
    try:
        with run_app(str(APPS / "pipeline.py"), endpoint_url=other.endpoint_url) as app:
            assert app.local.target.endpoint_url == other.endpoint_url
            app.upload("incoming", "raw/r.txt", "remote")
            app.drain()
            assert app.keys("reports") == ["remote.txt"]
        # Not ours to clean: the buckets stay in the named emulator.
        s3 = app.local.target.client("s3")
        assert "reports" in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    finally:
        other.stop()


def test_real_aws_endpoints_are_refused() -> None:
    from flowfn import FlowfnError

    with pytest.raises(FlowfnError, match="real AWS endpoint"), \
            run_app(str(APPS / "pipeline.py"), endpoint_url="https://s3.us-east-1.amazonaws.com"):
        pass


def test_concurrent_pollers_deliver_each_message_once(svc: Harness) -> None:
    module = svc.app.handler("take_bulk").fn.__globals__
    sqs = svc.client("sqs")
    for start in range(0, 80, 10):
        sqs.send_message_batch(QueueUrl=svc.queue_url("bulk"), Entries=[
            {"Id": str(n), "MessageBody": str(start + n)} for n in range(10)])
    svc.drain()
    assert sorted(module["bulk_seen"], key=int) == [str(n) for n in range(80)]
    assert all(i.ok for i in svc.invocations("take_bulk"))
