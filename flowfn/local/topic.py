"""Topics in the emulator: named by their logical name (or the existing name), bound by ARN.

A topic's ``queues`` are subscribed with raw message delivery. Unlike SNS, which hands a FIFO
queue the message's deduplication id, moto refuses a publish to a FIFO topic whose FIFO queue has
no content-based deduplication unless the publish names a deduplication id.
"""

from __future__ import annotations

from flowfn.app import App
from flowfn.local.provision import Bindings
from flowfn.resources import Resource, Topic


def topic_name(res: Resource) -> str:
    """A topic's local name: the existing topic's name, or its logical name."""
    assert isinstance(res, Topic)
    return res.existing_name or res.logical_name


def provision_topics(app: App, out: Bindings, resources: list[Resource]) -> None:
    """Create the topics (creating one that exists returns its ARN); record every topic's ARN."""
    sns = out.target.client("sns")
    for topic in resources:
        assert isinstance(topic, Topic)
        attributes: dict[str, str] = {}
        if topic.fifo:
            attributes["FifoTopic"] = "true"
            if topic.content_based_deduplication:
                attributes["ContentBasedDeduplication"] = "true"
        arn = sns.create_topic(Name=topic_name(topic), Attributes=attributes)["TopicArn"]
        out.arns[("topic", topic.logical_name)] = arn
        for queue in topic.queues:  # queues are provisioned before topics
            endpoint = out.queue_arns[queue.logical_name]
            subscription = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=endpoint,
                                         ReturnSubscriptionArn=True)["SubscriptionArn"]
            sns.set_subscription_attributes(SubscriptionArn=subscription, AttributeName="RawMessageDelivery",
                                            AttributeValue="true")


def topic_physical(bindings: Bindings, res: Resource) -> str:
    """What a function's environment carries for a topic: its ARN."""
    return bindings.arns[("topic", res.logical_name)]
