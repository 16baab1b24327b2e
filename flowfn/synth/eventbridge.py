"""EventBridge triggers: a rule on the bus with the event pattern, targeting the function with a
retry policy and a dead-letter queue (the app's queue of failed events, for events EventBridge could
not deliver), and the permission EventBridge invokes with."""

from __future__ import annotations

from flowfn.synth.context import Build, Wiring
from flowfn.synth.eventbus import eventbus_name
from flowfn.synth.function import FAILED_EVENTS_ARN, FAILED_EVENTS_ID
from flowfn.synth.iam import Need
from flowfn.synth.ids import ResourceId, label
from flowfn.synth.options import SynthOptions
from flowfn.synth.refs import ACCOUNT, PARTITION, REGION, Json, getatt, join, ref
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
    target: dict[str, Json] = {"Arn": function_arn, "Id": "function", "RetryPolicy": RETRY_POLICY}
    if opts.failure_destination:
        failed = w.build.share(FAILED_EVENTS_ARN, getatt(FAILED_EVENTS_ID, "Arn"))
        target["DeadLetterConfig"] = {"Arn": failed}
    rule = w.add("EventRule", "AWS::Events::Rule", {
        "Description": f"{w.handler.name}: events matching its pattern"[:512],
        "EventBusName": name,
        "EventPattern": trigger.pattern_dict,
        "State": "ENABLED",
        "Targets": [target],
    })
    w.add("EventPermission", "AWS::Lambda::Permission", {
        "Action": "lambda:InvokeFunction",
        "FunctionName": function_arn,
        "Principal": "events.amazonaws.com",
        "SourceArn": getatt(rule, "Arn"),
    })


def allow_rule_dead_letters(build: Build) -> None:
    """Let the account's EventBridge rules send undeliverable events to the queue of failed events."""
    if FAILED_EVENTS_ID not in build.resources:
        return
    rules = join(["arn:", PARTITION, ":events:", REGION, ":", ACCOUNT, ":rule/*"])
    build.resources[FAILED_EVENTS_ID + "RulePolicy"] = {"Type": "AWS::SQS::QueuePolicy", "Properties": {
        "Queues": [ref(FAILED_EVENTS_ID)],
        "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
            "Resource": getatt(FAILED_EVENTS_ID, "Arn"),
            "Condition": {"ArnLike": {"aws:SourceArn": rules}},
        }]},
    }}


def eventbridge_needs(trigger: Trigger) -> list[Need]:
    """EventBridge invokes the function through its permission: nothing."""
    return []


def eventbridge_graph(trigger: Trigger, fn: str, rid: ResourceId) -> tuple[list[str], list[str]]:
    """The bus into the function, labelled with the pattern."""
    assert isinstance(trigger, EventBridgeTrigger)
    return [], [f"  {rid(trigger.bus)} -->|{label(('pattern ' + trigger.pattern)[:80])}| {fn}"]
