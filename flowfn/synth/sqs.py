"""SQS triggers: an event-source mapping that reports partial batch failures."""

from __future__ import annotations

from typing import Any

from flowfn.synth.context import Wiring
from flowfn.synth.options import SynthOptions
from flowfn.synth.refs import ref
from flowfn.triggers.sqs import SqsTrigger


def wire_sqs(w: Wiring, opts: SynthOptions) -> None:
    """The mapping that polls the queue; the queue itself (with its DLQ) is the root stack's."""
    trigger = w.handler.trigger
    assert isinstance(trigger, SqsTrigger)
    props: dict[str, Any] = {
        "EventSourceArn": w.build.queue_arn(trigger.queue),
        "FunctionName": ref(w.function_id),
        "BatchSize": trigger.batch_size,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "Enabled": True,
    }
    if trigger.batching_window_s:
        props["MaximumBatchingWindowInSeconds"] = trigger.batching_window_s
    if trigger.max_concurrency is not None:
        props["ScalingConfig"] = {"MaximumConcurrency": trigger.max_concurrency}
    w.add("Mapping", "AWS::Lambda::EventSourceMapping", props)
