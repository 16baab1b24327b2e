"""SNS locally: a publish to a topic reaches every subscribed ``@on_sns`` handler it matches.

Each handler's queue is subscribed to its topic with the handler's filter policy (moto applies
it: attributes and body; exists, prefix, suffix, anything-but, numeric, equals-ignore-case); the
SNS envelope moto delivers is rebuilt as the record SNS invokes Lambda with. Where moto's
matcher differs from SNS, flowfn adapts: ``equals-ignore-case`` operands are lowercased (moto
lowers only the message's side); a policy with ``$or`` (which moto lacks) is split into its
``$or``-free alternatives, one subscribed queue each, and a message matching several reaches the
handler once.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flowfn.function import Handler
from flowfn.local.routed import Route, RoutedSource
from flowfn.local.source import Source, sample_id
from flowfn.triggers.patterns import alternatives
from flowfn.triggers.sns import SnsTrigger, sns_event, sns_record, sns_timestamp

if TYPE_CHECKING:
    from flowfn.local.kinds import SourceContext

_SCOPES = {"attributes": "MessageAttributes", "body": "MessageBody"}
#: How many message ids a subscriber with several routes remembers, to hand each message over once.
_REMEMBERED = 10_000


class SnsSource(RoutedSource):
    """Reads the subscribed handlers' queues and invokes them as SNS does."""

    name = "sns"


def sns_sources(ctx: SourceContext, handlers: list[Handler]) -> list[Source]:
    """One source for every ``@on_sns`` handler; its queues are subscribed when the run starts."""
    source = SnsSource(ctx.invoker, ctx.bindings.target.client("sqs"))
    if not ctx.starts or not handlers:
        return [source]
    sns = ctx.bindings.target.client("sns")
    sqs = ctx.bindings.target.client("sqs")
    region = ctx.bindings.target.region
    for handler in handlers:
        trigger = handler.trigger
        assert isinstance(trigger, SnsTrigger)
        topic_arn = ctx.bindings.arns[("topic", trigger.topic.logical_name)]
        policies: list[dict[str, Any] | None] = [None]
        if trigger.policy is not None:
            policies = list(alternatives(trigger.policy))
        lambda_subscription = f"{topic_arn}:{sample_id(handler.name, topic_arn)}"
        rebuild = _rebuilder(lambda_subscription, region, once=len(policies) > 1)
        for i, policy in enumerate(policies):
            suffix = f"-{i}" if len(policies) > 1 else ""
            held = f"flowfn-sns-{handler.name}{suffix}"
            if len(held) + len(ctx.run) + 1 > 80:
                held = f"flowfn-sns-{sample_id(handler.name)[:8]}{suffix}"
            url = sqs.create_queue(QueueName=f"{held}-{ctx.run}"[:80])["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"]
            arn = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn,
                                ReturnSubscriptionArn=True)["SubscriptionArn"]
            if policy is not None:
                sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicyScope",
                                                AttributeValue=_SCOPES[trigger.filter_scope])
                sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicy",
                                                AttributeValue=json.dumps(for_moto(policy)))
            source.routes.append(Route(handler, url, rebuild, f"topic {trigger.topic.logical_name}", held))
    return [source]


def for_moto(policy: Any) -> Any:
    """The policy as moto must get it to match as SNS does. moto compares ``equals-ignore-case``
    with the message's value lowercased but the policy's as written (SNS ignores case on both
    sides), so the policy's operand is lowercased here."""
    if isinstance(policy, dict):
        if set(policy) == {"equals-ignore-case"} and isinstance(policy["equals-ignore-case"], str):
            return {"equals-ignore-case": policy["equals-ignore-case"].lower()}
        return {k: for_moto(v) for k, v in policy.items()}
    if isinstance(policy, list):
        return [for_moto(v) for v in policy]
    return policy


def _rebuilder(subscription_arn: str, region: str, once: bool) -> Any:
    seen: OrderedDict[str, None] = OrderedDict()  # message ids handed over (when routes overlap)

    def rebuild(body: str) -> dict[str, Any] | None:
        envelope = json.loads(body)
        if once:
            if envelope["MessageId"] in seen:
                return None
            seen[envelope["MessageId"]] = None
            if len(seen) > _REMEMBERED:
                seen.popitem(last=False)
        return sns_event(sns_record(
            topic_arn=envelope["TopicArn"], subscription_arn=subscription_arn,
            message_id=envelope["MessageId"], message=envelope["Message"],
            subject=envelope.get("Subject"), timestamp=envelope["Timestamp"],
            attributes=envelope.get("MessageAttributes") or {}, region=region,
            signature=envelope.get("Signature") or "EXAMPLE",
        ))
    return rebuild


def sns_sample(topic_arn: str, message: str, *, subject: str | None = None,
               attributes: Mapping[str, str] | None = None, time: datetime | None = None,
               region: str | None = None) -> dict[str, Any]:
    """An SNS event of one message to ``topic_arn``, with string ``attributes``."""
    region = region or topic_arn.split(":")[3]
    message_id = sample_id("sns", topic_arn, message)
    return sns_event(sns_record(
        topic_arn=topic_arn, subscription_arn=f"{topic_arn}:{sample_id('subscription', topic_arn)}",
        message_id=message_id, message=message, subject=subject,
        timestamp=sns_timestamp(time or datetime.now(UTC)),
        attributes={k: {"Type": "String", "Value": v} for k, v in (attributes or {}).items()},
        region=region, signature="EXAMPLE",
    ))


def sns_sample_for(handler: Handler, names: Mapping[str, str], region: str) -> dict[str, Any]:
    """The sample event of ``flowfn invoke`` for an SNS handler, naming its real topic when known."""
    trigger = handler.trigger
    assert isinstance(trigger, SnsTrigger)
    arn = names.get(trigger.topic.logical_name) or \
        f"arn:aws:sns:{region}:123456789012:{trigger.topic.existing_name or trigger.topic.logical_name}"
    return sns_sample(arn, '{"hello": "world"}', subject="sample", region=region)
