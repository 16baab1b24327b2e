"""Topics in a template: the topic, its ARN, the publish grant's IAM, its graph node."""

from __future__ import annotations

from typing import Any

from flowfn.resources import Access, Grant, Resource, Topic
from flowfn.synth.context import Build
from flowfn.synth.iam import Target
from flowfn.synth.ids import ResourceId, label
from flowfn.synth.refs import ACCOUNT, PARTITION, REGION, Json, join, ref

#: The IAM actions of each grant on a topic.
TOPIC_ACTIONS: dict[Access, tuple[str, ...]] = {
    Access.PUBLISH: ("sns:Publish",),
}


def topic_arn(build: Build, res: Resource) -> Json:
    """The topic's ARN (what a function's environment carries; a topic's Ref is its ARN)."""
    assert isinstance(res, Topic)
    if res.existing is None:
        return build.share(build.rid(res) + "Arn", ref(build.rid(res)))
    if res.existing.startswith("arn:"):
        return res.existing
    return join(["arn:", PARTITION, ":sns:", REGION, ":", ACCOUNT, ":", res.existing])


def declare_topic(build: Build, res: Resource, rid: str) -> None:
    """A topic (FIFO ones named after the stack, as SNS wants a FIFO topic named); its ARN as an output."""
    assert isinstance(res, Topic)
    props: dict[str, Any] = {}
    if res.fifo:
        base = res.logical_name.removesuffix(".fifo")[:200]
        props["FifoTopic"] = True
        props["TopicName"] = join([ref("AWS::StackName"), "-", base, ".fifo"])
        if res.content_based_deduplication:
            props["ContentBasedDeduplication"] = True
    build.resources[rid] = {"Type": "AWS::SNS::Topic", "Properties": props}
    build.outputs[rid + "Arn"] = {"Description": f"ARN of topic {res.logical_name}", "Value": ref(rid)}
    for queue in res.queues:
        _subscribe_queue(build, res, rid, queue)


def _subscribe_queue(build: Build, topic: Topic, rid: str, queue: Resource) -> None:
    """A raw-delivery subscription of ``queue`` to the topic, and the queue policy letting SNS send
    to it for this topic only."""
    from flowfn.synth.resource_kinds import resource_kind  # the kinds' table builds on this module

    kind = resource_kind(queue)
    queue_arn = kind.target_arn(build, queue, Target(kind.target_kinds[0], queue.logical_name))
    queue_id = build.rid(queue)
    build.resources[f"{rid}To{queue_id}"] = {"Type": "AWS::SNS::Subscription", "Properties": {
        "Protocol": "sqs", "TopicArn": ref(rid), "Endpoint": queue_arn, "RawMessageDelivery": True}}
    build.resources[f"{rid}To{queue_id}Policy"] = {"Type": "AWS::SQS::QueuePolicy", "Properties": {
        "Queues": [ref(queue_id)],
        "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
            "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": ref(rid)}},
        }]},
    }}


def topic_grant_target(grant: Grant) -> tuple[Target, str]:
    """The target of a grant on a topic."""
    return Target("topic", grant.resource.logical_name), ""


def topic_target_arn(build: Build, res: Resource, target: Target) -> Json:
    """The ARN a topic target renders to."""
    return topic_arn(build, res)


def topic_graph(res: Resource, rid: ResourceId, text: str) -> tuple[list[str], list[str]]:
    """A hexagon: one publish fans out from it, into the queues subscribed to it too."""
    assert isinstance(res, Topic)
    edges = [f"  {rid(res)} -->|{label('subscribed')}| {rid(queue)}" for queue in res.queues]
    return [f"  {rid(res)}{{{{{label(text)}}}}}"], edges
