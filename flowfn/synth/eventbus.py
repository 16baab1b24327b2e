"""Event buses in a template: the bus (not the default one), its ARN, the put grant's IAM, its node."""

from __future__ import annotations

from flowfn.resources import Access, EventBus, Grant, Resource
from flowfn.synth.context import Build
from flowfn.synth.iam import Target
from flowfn.synth.ids import ResourceId, label
from flowfn.synth.refs import ACCOUNT, PARTITION, REGION, STACK_SUFFIX, Json, getatt, join, ref

#: The IAM actions of each grant on a bus.
EVENTBUS_ACTIONS: dict[Access, tuple[str, ...]] = {
    Access.PUT_EVENTS: ("events:PutEvents",),
}


def eventbus_arn(build: Build, res: Resource) -> Json:
    """The bus's ARN (what a function's environment carries)."""
    assert isinstance(res, EventBus)
    if res.existing is None:
        return build.share(build.rid(res) + "Arn", getatt(build.rid(res), "Arn"))
    if res.existing.startswith("arn:"):
        return res.existing
    return join(["arn:", PARTITION, ":events:", REGION, ":", ACCOUNT, ":event-bus/", res.existing])


def eventbus_name(build: Build, res: Resource) -> Json:
    """The bus's name, as a rule's ``EventBusName`` takes it."""
    assert isinstance(res, EventBus)
    if res.existing is not None:
        return res.existing_name or res.logical_name
    return ref(build.rid(res))


def declare_eventbus(build: Build, res: Resource, rid: str) -> None:
    """A custom bus named after the app, the bus and the stack's id; its ARN as an output."""
    assert isinstance(res, EventBus)
    name = f"{build.app_name}-{res.logical_name}".replace("/", "-")[:240]
    build.resources[rid] = {"Type": "AWS::Events::EventBus",
                            "Properties": {"Name": join([name, STACK_SUFFIX], "-")}}
    build.outputs[rid + "Arn"] = {"Description": f"ARN of event bus {res.logical_name}",
                                  "Value": getatt(rid, "Arn")}


def eventbus_grant_target(grant: Grant) -> tuple[Target, str]:
    """The target of a grant on a bus."""
    return Target("eventbus", grant.resource.logical_name), ""


def eventbus_target_arn(build: Build, res: Resource, target: Target) -> Json:
    """The ARN a bus target renders to."""
    return eventbus_arn(build, res)


def eventbus_graph(res: Resource, rid: ResourceId, text: str) -> tuple[list[str], list[str]]:
    """A flag shape: events are routed from it by pattern."""
    return [f"  {rid(res)}>{label(text)}]"], []
