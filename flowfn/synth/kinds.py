"""The typed table from trigger kind to its synth pieces. Adding a kind adds one entry here.

Each kind's module (``synth/<kind>.py``) holds its wiring (the resources that connect the
function to its source), what its function's role needs for the trigger to work, and its edge in
``flowfn graph``; some kinds also add something once per app (HTTP: the API; S3: the buckets'
notification configurations).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flowfn.synth.context import Build, Wiring
from flowfn.synth.dynamodb import dynamodb_graph, dynamodb_needs, wire_dynamodb
from flowfn.synth.eventbridge import (
    allow_rule_dead_letters,
    eventbridge_graph,
    eventbridge_needs,
    wire_eventbridge,
)
from flowfn.synth.http import add_api, http_graph, http_needs, wire_http
from flowfn.synth.iam import Need
from flowfn.synth.ids import ResourceId
from flowfn.synth.kinesis import kinesis_graph, kinesis_needs, wire_kinesis
from flowfn.synth.options import SynthOptions
from flowfn.synth.s3 import add_notifications, s3_graph, s3_needs, wire_s3
from flowfn.synth.schedule import schedule_graph, schedule_needs, wire_schedule
from flowfn.synth.sns import sns_graph, sns_needs, wire_sns
from flowfn.synth.sqs import sqs_graph, sqs_needs, wire_sqs
from flowfn.triggers.base import Trigger
from flowfn.triggers.dynamodb import DynamoDbStreamTrigger
from flowfn.triggers.eventbridge import EventBridgeTrigger
from flowfn.triggers.http import HttpTrigger
from flowfn.triggers.kinesis import KinesisTrigger
from flowfn.triggers.s3 import S3Trigger
from flowfn.triggers.schedule import ScheduleTrigger
from flowfn.triggers.sns import SnsTrigger
from flowfn.triggers.sqs import SqsTrigger

WireFn = Callable[[Wiring, SynthOptions], None]
NeedsFn = Callable[[Trigger], list[Need]]
GraphFn = Callable[[Trigger, str, ResourceId], tuple[list[str], list[str]]]
AppFn = Callable[[Build], None]


def _nothing(build: Build) -> None:
    """Most kinds add nothing once per app."""


@dataclass(frozen=True)
class SynthKind:
    """A trigger kind's synth pieces."""

    #: Adds the resources that connect one function to its source.
    wire: WireFn
    #: The actions the function's role needs for the trigger to work, on typed targets.
    needs: NeedsFn
    #: Extra graph nodes (a schedule, a route) and the edges into the function.
    graph: GraphFn
    #: Added once, before the functions, when the app has a handler of this kind.
    prepare: AppFn = _nothing
    #: Added once, after every function is wired, when the app has a handler of this kind.
    finish: AppFn = _nothing


#: Every trigger kind synth knows: a new kind adds one entry.
TABLE: dict[type[Trigger], SynthKind] = {
    S3Trigger: SynthKind(wire_s3, s3_needs, s3_graph, finish=add_notifications),
    SqsTrigger: SynthKind(wire_sqs, sqs_needs, sqs_graph),
    ScheduleTrigger: SynthKind(wire_schedule, schedule_needs, schedule_graph),
    HttpTrigger: SynthKind(wire_http, http_needs, http_graph, prepare=add_api),
    KinesisTrigger: SynthKind(wire_kinesis, kinesis_needs, kinesis_graph),
    DynamoDbStreamTrigger: SynthKind(wire_dynamodb, dynamodb_needs, dynamodb_graph),
    SnsTrigger: SynthKind(wire_sns, sns_needs, sns_graph),
    EventBridgeTrigger: SynthKind(wire_eventbridge, eventbridge_needs, eventbridge_graph,
                                  finish=allow_rule_dead_letters),
}


def kind_of(trigger: Trigger) -> SynthKind:
    """The synth pieces of ``trigger``'s kind; KeyError names the kinds synth knows."""
    try:
        return TABLE[type(trigger)]
    except KeyError:
        known = ", ".join(sorted(t.kind for t in TABLE))
        raise KeyError(f"synth has no wiring for {type(trigger).__name__} (knows {known})") from None


def wiring_for(trigger: Trigger) -> WireFn:
    """The wiring of ``trigger``'s kind."""
    return kind_of(trigger).wire
