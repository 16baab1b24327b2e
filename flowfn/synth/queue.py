"""Queues in a template: the queue (with its DLQ's redrive), URL and ARN, grants' IAM, graph node."""

from __future__ import annotations

import re
from typing import Any

from flowfn.resources import Access, Grant, Queue, Resource
from flowfn.synth.context import Build
from flowfn.synth.iam import Target
from flowfn.synth.ids import ResourceId, label
from flowfn.synth.refs import ACCOUNT, PARTITION, REGION, Json, getatt, join, ref

_QUEUE_ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):sqs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
                        r"(?P<name>.+)$")
_QUEUE_URL = re.compile(r"^https?://(?P<host>[^/]+)/(?P<account>\d{12})/(?P<name>[^/]+)$")

#: The IAM actions of each grant on a queue.
QUEUE_ACTIONS: dict[Access, tuple[str, ...]] = {
    Access.SEND: ("sqs:SendMessage",),
    Access.CONSUME: ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                     "sqs:GetQueueAttributes"),
}


def queue_url(build: Build, res: Resource) -> Json:
    """The queue's URL (what a function's environment carries)."""
    assert isinstance(res, Queue)
    if res.existing is None:
        return build.share(build.rid(res) + "Url", {"Ref": build.rid(res)})
    match = _QUEUE_URL.match(res.existing)
    if match:
        return res.existing
    arn = _QUEUE_ARN.match(res.existing)
    if arn:
        suffix = "amazonaws.com.cn" if arn["partition"] == "aws-cn" else "amazonaws.com"
        return f"https://sqs.{arn['region']}.{suffix}/{arn['account']}/{arn['name']}"
    return join(["https://sqs.", REGION, ".", {"Ref": "AWS::URLSuffix"}, "/", ACCOUNT, "/", res.existing])


def queue_arn(build: Build, queue: Queue) -> Json:
    if queue.existing is None:
        return build.share(build.rid(queue) + "Arn", {"Fn::GetAtt": [build.rid(queue), "Arn"]})
    if _QUEUE_ARN.match(queue.existing):
        return queue.existing
    match = _QUEUE_URL.match(queue.existing)
    region: Json = REGION
    account: Json = ACCOUNT
    if match:
        account = match["account"]
        host = match["host"].split(".")
        if len(host) > 2 and host[0] == "sqs":
            region = host[1]
    return join(["arn:", PARTITION, ":sqs:", region, ":", account, ":", queue.existing_name])


def declare_queue(build: Build, res: Resource, rid: str) -> None:
    """An encrypted queue, redriving to its DLQ (declared before it); its URL as an output."""
    assert isinstance(res, Queue)
    props: dict[str, Any] = {
        "SqsManagedSseEnabled": True,
        "MessageRetentionPeriod": res.retention_s,
        "VisibilityTimeout": build.app.visibility_timeout(res),
    }
    if res.delay_s:
        props["DelaySeconds"] = res.delay_s
    if res.fifo:
        props["FifoQueue"] = True
        if res.content_based_deduplication:
            props["ContentBasedDeduplication"] = True
    if res.dlq is not None and res.max_receive_count is not None:
        props["RedrivePolicy"] = {"deadLetterTargetArn": getatt(build.rid(res.dlq), "Arn"),
                                  "maxReceiveCount": res.max_receive_count}
    build.resources[rid] = {"Type": "AWS::SQS::Queue", "Properties": props}
    build.outputs[rid + "Url"] = {"Description": f"URL of queue {res.logical_name}", "Value": ref(rid)}
    if res.is_dlq:
        build.optional_outputs.add(rid + "Url")


def queue_grant_target(grant: Grant) -> tuple[Target, str]:
    """The target of a grant on a queue."""
    return Target("queue", grant.resource.logical_name), ""


def queue_target_arn(build: Build, res: Resource, target: Target) -> Json:
    """The ARN a queue target renders to."""
    assert isinstance(res, Queue)
    return queue_arn(build, res)


def queue_graph(res: Resource, rid: ResourceId, text: str) -> tuple[list[str], list[str]]:
    """A subroutine shape, and an edge to its dead-letter queue."""
    assert isinstance(res, Queue)
    edges = [f"  {rid(res)} -.->|{label('dead letters')}| {rid(res.dlq)}"] if res.dlq is not None else []
    return [f"  {rid(res)}[[{label(text)}]]"], edges
