"""Queues in the emulator: named by their logical name (or the existing name), DLQs first."""

from __future__ import annotations

import json

from flowfn.app import App
from flowfn.local.provision import Bindings
from flowfn.resources import Queue, Resource


def queue_name(res: Resource) -> str:
    """A queue's local name: the existing queue's name, or its logical name."""
    assert isinstance(res, Queue)
    return res.existing_name or res.logical_name


def provision_queues(app: App, out: Bindings, resources: list[Resource]) -> None:
    """Create the queues (dead-letter queues first: a redrive policy names its DLQ's ARN); record
    every queue's URL and ARN. Creating an existing queue with the same attributes is a no-op."""
    sqs = out.target.client("sqs")
    queues = [q for q in resources if isinstance(q, Queue)]
    for queue in sorted(queues, key=lambda q: not q.is_dlq):
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


def queue_physical(bindings: Bindings, res: Resource) -> str:
    """What a function's environment carries for a queue: its URL."""
    return bindings.queue_urls[res.logical_name]
