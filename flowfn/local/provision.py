"""Creating an app's buckets, queues and dead-letter queues in the emulator, and naming them.

Locally a resource's physical name is its logical name (an existing resource keeps the name it
was declared with), so ``aws s3 ls`` and the mirror folders read naturally. Creation is
idempotent: provisioning again after a code reload only adds what is new.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from flowfn.app import App
from flowfn.function import Handler
from flowfn.local.emulator import AwsTarget
from flowfn.resources import Bucket, Queue, Resource

__all__ = ["Bindings", "provision", "teardown"]


@dataclass
class Bindings:
    """Physical names of an app's resources in one emulator."""

    target: AwsTarget
    buckets: dict[str, str] = field(default_factory=dict)
    queue_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)

    def physical(self, resource: Resource) -> str:
        """The bucket name or queue URL bound to ``resource``."""
        if isinstance(resource, Bucket):
            return self.buckets[resource.logical_name]
        return self.queue_urls[resource.logical_name]

    def resource_env(self, handler: Handler) -> dict[str, str]:
        """``env_key -> physical name`` for the resources ``handler`` is triggered by or granted."""
        return {res.env_key: self.physical(res) for res in handler.resources()}


def bucket_name(bucket: Bucket) -> str:
    return bucket.existing or bucket.logical_name


def queue_name(queue: Queue) -> str:
    return queue.existing_name or queue.logical_name


def provision(app: App, target: AwsTarget, bindings: Bindings | None = None) -> Bindings:
    """Create every declared bucket, queue and DLQ that does not exist yet; return their names."""
    out = bindings or Bindings(target)
    s3 = target.client("s3")
    sqs = target.client("sqs")
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for bucket in app.buckets():
        name = bucket_name(bucket)
        if name not in existing:
            kwargs: dict[str, Any] = {"Bucket": name}
            if target.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": target.region}
            s3.create_bucket(**kwargs)
        out.buckets[bucket.logical_name] = name
    # Dead-letter queues first: a queue's redrive policy names its DLQ's ARN.
    queues = sorted(app.queues(), key=lambda q: not q.is_dlq)
    for queue in queues:
        attributes = {
            "VisibilityTimeout": str(app.visibility_timeout(queue)),
            "MessageRetentionPeriod": str(queue.retention_s),
            "DelaySeconds": str(queue.delay_s),
        }
        if queue.fifo:
            attributes["FifoQueue"] = "true"
            if queue.content_based_deduplication:
                attributes["ContentBasedDeduplication"] = "true"
        if queue.dlq is not None and queue.max_receive_count is not None:
            attributes["RedrivePolicy"] = json.dumps({
                "deadLetterTargetArn": out.queue_arns[queue.dlq.logical_name],
                "maxReceiveCount": queue.max_receive_count,
            })
        url = sqs.create_queue(QueueName=queue_name(queue), Attributes=attributes)["QueueUrl"]
        if queue.logical_name not in out.queue_arns:
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            out.queue_arns[queue.logical_name] = arn["Attributes"]["QueueArn"]
        out.queue_urls[queue.logical_name] = url
    return out


def teardown(bindings: Bindings, extra_queues: list[str] | None = None) -> None:
    """Delete the buckets (with every object) and queues of ``bindings`` from the emulator."""
    s3 = bindings.target.client("s3")
    sqs = bindings.target.client("sqs")
    for name in bindings.buckets.values():
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
            doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                      for v in (*page.get("Versions", []), *page.get("DeleteMarkers", []))]
            if doomed:
                s3.delete_objects(Bucket=name, Delete={"Objects": doomed, "Quiet": True})
        s3.delete_bucket(Bucket=name)
    for url in (*bindings.queue_urls.values(), *(extra_queues or [])):
        sqs.delete_queue(QueueUrl=url)
