"""SNS triggers: the subscription (protocol lambda, with its filter policy) and the permission SNS
invokes with."""

from __future__ import annotations

from typing import Any

from flowfn.synth.context import Wiring
from flowfn.synth.iam import Need
from flowfn.synth.ids import ResourceId, label
from flowfn.synth.options import SynthOptions
from flowfn.synth.refs import getatt
from flowfn.synth.topic import topic_arn
from flowfn.triggers.base import Trigger
from flowfn.triggers.sns import SnsTrigger

_SCOPES = {"attributes": "MessageAttributes", "body": "MessageBody"}


def wire_sns(w: Wiring, opts: SynthOptions) -> None:
    """The function's subscription to the topic, and the permission SNS needs to invoke it."""
    trigger = w.handler.trigger
    assert isinstance(trigger, SnsTrigger)
    function_arn = getatt(w.function_id, "Arn")
    topic = topic_arn(w.build, trigger.topic)
    w.add("SnsPermission", "AWS::Lambda::Permission", {
        "Action": "lambda:InvokeFunction",
        "FunctionName": function_arn,
        "Principal": "sns.amazonaws.com",
        "SourceArn": topic,
    })
    props: dict[str, Any] = {"Protocol": "lambda", "TopicArn": topic, "Endpoint": function_arn}
    if trigger.policy is not None:
        props["FilterPolicy"] = trigger.policy
        props["FilterPolicyScope"] = _SCOPES[trigger.filter_scope]
    w.add("Subscription", "AWS::SNS::Subscription", props)


def sns_needs(trigger: Trigger) -> list[Need]:
    """SNS invokes the function through its permission: nothing."""
    return []


def sns_graph(trigger: Trigger, fn: str, rid: ResourceId) -> tuple[list[str], list[str]]:
    """The topic into the function, labelled with the filter policy when there is one."""
    assert isinstance(trigger, SnsTrigger)
    text = f"filter {trigger.filter_policy}" if trigger.filter_policy else "subscribed"
    return [], [f"  {rid(trigger.topic)} -->|{label(text[:80])}| {fn}"]
