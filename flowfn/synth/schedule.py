"""Schedules: an EventBridge rule in UTC, or an EventBridge Scheduler schedule in a time zone."""

from __future__ import annotations

from flowfn.synth.context import Wiring
from flowfn.synth.function import lambda_trust, scheduler_input
from flowfn.synth.iam import Need
from flowfn.synth.ids import ResourceId, label
from flowfn.synth.options import SynthOptions
from flowfn.synth.refs import ACCOUNT, getatt
from flowfn.triggers.base import Trigger
from flowfn.triggers.schedule import ScheduleTrigger


def wire_schedule(w: Wiring, opts: SynthOptions) -> None:
    """A rule plus the permission it invokes with; with a time zone, a schedule and its role."""
    trigger = w.handler.trigger
    assert isinstance(trigger, ScheduleTrigger)
    state = "ENABLED" if trigger.enabled else "DISABLED"
    function_arn = getatt(w.function_id, "Arn")
    if trigger.timezone is None:
        rule = w.add("Rule", "AWS::Events::Rule", {
            "Description": f"{w.handler.name}: {trigger.english()}"[:512],
            "ScheduleExpression": trigger.expression,
            "State": state,
            "Targets": [{"Arn": function_arn, "Id": "function"}],
        })
        w.add("Permission", "AWS::Lambda::Permission", {
            "Action": "lambda:InvokeFunction",
            "FunctionName": function_arn,
            "Principal": "events.amazonaws.com",
            "SourceArn": getatt(rule, "Arn"),
        })
        return
    trust = lambda_trust("scheduler.amazonaws.com")
    trust["Statement"][0]["Condition"] = {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    role = w.add("SchedulerRole", "AWS::IAM::Role", {
        "AssumeRolePolicyDocument": trust,
        "Policies": [{
            "PolicyName": "invoke-function",
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": [function_arn],
            }]},
        }],
    })
    w.add("Schedule", "AWS::Scheduler::Schedule", {
        "Description": f"{w.handler.name}: {trigger.english()}"[:512],
        "ScheduleExpression": trigger.expression,
        "ScheduleExpressionTimezone": trigger.timezone,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": state,
        "Target": {"Arn": function_arn, "RoleArn": getatt(role, "Arn"), "Input": scheduler_input()},
    })


def schedule_needs(trigger: Trigger) -> list[Need]:
    """EventBridge invokes the function through its permission (or its own role): nothing."""
    return []


def schedule_graph(trigger: Trigger, fn: str, rid: ResourceId) -> tuple[list[str], list[str]]:
    """The schedule as a node, pointing into the function."""
    assert isinstance(trigger, ScheduleTrigger)
    zone = f" {trigger.timezone}" if trigger.timezone else ""
    return [f"  {fn}_schedule([{label(trigger.expression + zone)}])"], [f"  {fn}_schedule --> {fn}"]
