"""A long local run keeps no invocation records, only the SQS messages whose last invocation failed."""

from __future__ import annotations

from typing import Any

import pytest

from flowfn import App, Queue
from flowfn.local.engine import LocalApp, Options


@pytest.mark.parametrize("keep", [True, False])
def test_the_unsettled_messages_are_known_whether_records_are_kept_or_not(keep: bool) -> None:
    app = App("records")
    jobs = Queue("jobs", max_receive_count=2)
    attempts: dict[str, int] = {}

    @app.on_sqs(jobs, batch_size=1)
    def work(message: Any) -> None:
        attempts[message.body] = attempts.get(message.body, 0) + 1
        if message.body == "bad" or (message.body == "flaky" and attempts["flaky"] == 1):
            raise ValueError(message.body)

    local = LocalApp(app, Options(retry_now=True, keep_records=keep, permissions="off"))
    local.start()
    try:
        sqs = local.target.client("sqs")
        for body in ("ok", "flaky", "bad"):
            sqs.send_message(QueueUrl=local.bindings.queue_urls["jobs"], MessageBody=body)
        local.drain(30)  # "bad" fails twice and moves to the dead-letter queue; "flaky" succeeds on its retry
        assert attempts == {"ok": 1, "flaky": 2, "bad": 2}
        assert len(local.invoker.records) == (5 if keep else 0)
        ((arn, handle),) = local.invoker.unsettled().values()
        assert arn == local.bindings.queue_arns["jobs"]
        last_bad = [r for r in local.invoker.records if r.event["Records"][0]["body"] == "bad"]
        if keep:  # the handle of the last receive of "bad"
            assert handle == last_bad[-1].event["Records"][0]["receiptHandle"]
    finally:
        local.stop()


@pytest.mark.parametrize("keep", [True, False])
def test_a_run_that_keeps_no_records_keeps_each_distinct_aws_call_once(keep: bool) -> None:
    from flowfn.permissions.guard import Call

    local = LocalApp(App("calls"), Options(keep_records=keep))
    local.start()
    try:
        guard = local.invoker.guard
        assert guard is not None
        call = Call("f", "s3:GetObject", "s3:GetObject", "arn:aws:s3:::b/k", "allowed")
        for _ in range(3):
            guard.record(call)
        guard.record(Call("f", "s3:GetObject", "s3:GetObject", "arn:aws:s3:::b/other", "allowed"))
        assert len(guard.calls) == (4 if keep else 2)
    finally:
        local.stop()
