"""Kinesis triggers: an event-source mapping per function, reading the stream's shards in order."""

from __future__ import annotations

from flowfn.synth.context import Wiring
from flowfn.synth.iam import Need, Target
from flowfn.synth.ids import ResourceId, label
from flowfn.synth.options import SynthOptions
from flowfn.synth.stream import stream_arn
from flowfn.synth.streaming import add_mapping, failure_needs, mapping_label
from flowfn.triggers.base import Trigger
from flowfn.triggers.kinesis import KinesisTrigger

#: What the event-source mapping reads a stream with (on the stream's ARN). ``kinesis:ListStreams``
#: (granted only on ``*``) is not needed: the mapping names the stream.
KINESIS_ESM_ACTIONS = ("kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
                       "kinesis:GetShardIterator", "kinesis:ListShards")


def wire_kinesis(w: Wiring, opts: SynthOptions) -> None:
    """The mapping that reads the stream; the stream itself is the root stack's."""
    trigger = w.handler.trigger
    assert isinstance(trigger, KinesisTrigger)
    add_mapping(w, trigger, stream_arn(w.build, trigger.stream))


def kinesis_needs(trigger: Trigger) -> list[Need]:
    """What the event-source mapping reads with, and its on-failure destination."""
    assert isinstance(trigger, KinesisTrigger)
    return [(KINESIS_ESM_ACTIONS, Target("stream", trigger.stream.logical_name)), *failure_needs(trigger)]


def kinesis_graph(trigger: Trigger, fn: str, rid: ResourceId) -> tuple[list[str], list[str]]:
    """The stream into the function; failed batches to the on-failure queue."""
    assert isinstance(trigger, KinesisTrigger)
    edges = [f"  {rid(trigger.stream)} -->|{label(mapping_label(trigger))}| {fn}"]
    if trigger.on_failure is not None:
        edges.append(f"  {fn} -.->|{label('failed batches')}| {rid(trigger.on_failure)}")
    return [], edges
