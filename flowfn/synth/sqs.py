"""SQS triggers: an event-source mapping that reports partial batch failures."""

from __future__ import annotations

from typing import Any

from flowfn.synth.context import Wiring
from flowfn.synth.iam import Need, Target
from flowfn.synth.ids import ResourceId, label
from flowfn.synth.options import SynthOptions
from flowfn.synth.queue import queue_arn
from flowfn.synth.refs import ref
from flowfn.triggers.base import Trigger
from flowfn.triggers.sqs import SqsTrigger

#: What the event-source mapping polls the queue with.
_ESM_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")


def wire_sqs(w: Wiring, opts: SynthOptions) -> None:
    """The mapping that polls the queue; the queue itself (with its DLQ) is the root stack's."""
    trigger = w.handler.trigger
    assert isinstance(trigger, SqsTrigger)
    props: dict[str, Any] = {
        "EventSourceArn": queue_arn(w.build, trigger.queue),
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


def sqs_needs(trigger: Trigger) -> list[Need]:
    """What the event-source mapping polls with."""
    assert isinstance(trigger, SqsTrigger)
    return [(_ESM_ACTIONS, Target("queue", trigger.queue.logical_name))]


def sqs_graph(trigger: Trigger, fn: str, rid: ResourceId) -> tuple[list[str], list[str]]:
    """The queue into the function, labelled with the batch size."""
    assert isinstance(trigger, SqsTrigger)
    return [], [f"  {rid(trigger.queue)} -->|{label(f'batch {trigger.batch_size}')}| {fn}"]
