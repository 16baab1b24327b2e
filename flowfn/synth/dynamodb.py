"""DynamoDB Streams triggers: an event-source mapping per function, reading the table's stream."""

from __future__ import annotations

from flowfn.synth.context import Wiring
from flowfn.synth.iam import Need, Target
from flowfn.synth.ids import ResourceId, label
from flowfn.synth.options import SynthOptions
from flowfn.synth.streaming import add_mapping, failure_needs, mapping_label
from flowfn.synth.table import STREAM_READ_ACTIONS, table_stream_arn
from flowfn.triggers.base import Trigger
from flowfn.triggers.dynamodb import DynamoDbStreamTrigger


def wire_dynamodb(w: Wiring, opts: SynthOptions) -> None:
    """The mapping that reads the table's stream; the table itself is the root stack's."""
    trigger = w.handler.trigger
    assert isinstance(trigger, DynamoDbStreamTrigger)
    add_mapping(w, trigger, table_stream_arn(w.build, trigger.table))


def dynamodb_needs(trigger: Trigger) -> list[Need]:
    """What the event-source mapping reads the stream with, and its on-failure destination."""
    assert isinstance(trigger, DynamoDbStreamTrigger)
    return [(STREAM_READ_ACTIONS, Target("table-stream", trigger.table.logical_name)),
            *failure_needs(trigger)]


def dynamodb_graph(trigger: Trigger, fn: str, rid: ResourceId) -> tuple[list[str], list[str]]:
    """The table's stream into the function; failed batches to the on-failure queue."""
    assert isinstance(trigger, DynamoDbStreamTrigger)
    edges = [f"  {rid(trigger.table)} -->|{label('stream, ' + mapping_label(trigger))}| {fn}"]
    if trigger.on_failure is not None:
        edges.append(f"  {fn} -.->|{label('failed batches')}| {rid(trigger.on_failure)}")
    return [], edges
