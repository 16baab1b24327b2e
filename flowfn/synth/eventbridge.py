"""EventBridge triggers: a rule on the bus with the event pattern, targeting the function with a
retry policy, and the permission EventBridge invokes with."""

from __future__ import annotations

from flowfn.synth.context import Wiring
from flowfn.synth.eventbus import eventbus_name
from flowfn.synth.iam import Need
from flowfn.synth.ids import ResourceId, label
from flowfn.synth.options import SynthOptions
from flowfn.synth.refs import getatt
from flowfn.triggers.base import Trigger
from flowfn.triggers.eventbridge import EventBridgeTrigger

#: How long EventBridge keeps trying to deliver an event to the function (its defaults, explicit).
RETRY_POLICY = {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86_400}


def wire_eventbridge(w: Wiring, opts: SynthOptions) -> None:
    """A rule with the pattern on the bus, and the permission it invokes the function with."""
    trigger = w.handler.trigger
    assert isinstance(trigger, EventBridgeTrigger)
    function_arn = getatt(w.function_id, "Arn")
    bus = trigger.bus
    name = eventbus_name(w.build, bus)
    if bus.existing is None:
        name = w.build.share(w.build.rid(bus) + "Name", name)
    rule = w.add("EventRule", "AWS::Events::Rule", {
        "Description": f"{w.handler.name}: events matching its pattern"[:512],
        "EventBusName": name,
        "EventPattern": trigger.pattern_dict,
        "State": "ENABLED",
        "Targets": [{"Arn": function_arn, "Id": "function", "RetryPolicy": RETRY_POLICY}],
    })
    w.add("EventPermission", "AWS::Lambda::Permission", {
        "Action": "lambda:InvokeFunction",
        "FunctionName": function_arn,
        "Principal": "events.amazonaws.com",
        "SourceArn": getatt(rule, "Arn"),
    })


def eventbridge_needs(trigger: Trigger) -> list[Need]:
    """EventBridge invokes the function through its permission: nothing."""
    return []


def eventbridge_graph(trigger: Trigger, fn: str, rid: ResourceId) -> tuple[list[str], list[str]]:
    """The bus into the function, labelled with the pattern."""
    assert isinstance(trigger, EventBridgeTrigger)
    return [], [f"  {rid(trigger.bus)} -->|{label(('pattern ' + trigger.pattern)[:80])}| {fn}"]
