"""EventBridge locally: an event put on a bus reaches every ``@on_event`` handler whose pattern
it matches.

Each handler gets a rule on its bus with its pattern and its own queue as the target (moto
matches: prefix, suffix, numeric, anything-but, exists, cidr, wildcard, ``$or``); the event moto
delivers is rebuilt as the one EventBridge invokes Lambda with.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flowfn.function import Handler
from flowfn.local.routed import Route, RoutedSource
from flowfn.local.source import Source, sample_id
from flowfn.triggers.eventbridge import EventBridgeTrigger, eventbridge_event

if TYPE_CHECKING:
    from flowfn.local.kinds import SourceContext


class EventBridgeSource(RoutedSource):
    """Reads the rules' queues and invokes their handlers as EventBridge does."""

    name = "eventbridge"


def eventbridge_sources(ctx: SourceContext, handlers: list[Handler]) -> list[Source]:
    """One source for every ``@on_event`` handler; its rules are put when the run starts."""
    source = EventBridgeSource(ctx.invoker, ctx.bindings.target.client("sqs"))
    if not ctx.starts or not handlers:
        return [source]
    events = ctx.bindings.target.client("events")
    sqs = ctx.bindings.target.client("sqs")
    for handler in handlers:
        trigger = handler.trigger
        assert isinstance(trigger, EventBridgeTrigger)
        bus_arn = ctx.bindings.arns[("eventbus", trigger.bus.logical_name)]
        bus = bus_arn.split(":event-bus/", 1)[1]
        held = f"flowfn-events-{handler.name}"
        if len(held) + len(ctx.run) + 1 > 80:
            held = f"flowfn-events-{sample_id(handler.name)[:8]}"
        url = sqs.create_queue(QueueName=f"{held}-{ctx.run}"[:80])["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"]
        rule = f"flowfn-{handler.name}"[:64]
        events.put_rule(Name=rule, EventBusName=bus, EventPattern=trigger.pattern, State="ENABLED")
        events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "flowfn", "Arn": queue_arn}])
        rebuild = _rebuilder(ctx.bindings.target.region, ctx.bindings.target.account)
        source.routes.append(Route(handler, url, rebuild, f"bus {trigger.bus.logical_name}", held))
    return [source]


def _rebuilder(region: str, account: str) -> Any:
    def rebuild(body: str) -> dict[str, Any]:
        # moto's delivery lacks the account and region EventBridge writes in every event.
        delivered = json.loads(body)
        time = datetime.fromisoformat(str(delivered["time"]).replace("Z", "+00:00"))
        return eventbridge_event(
            event_id=str(delivered["id"]), source=str(delivered["source"]),
            detail_type=str(delivered["detail-type"]), detail=delivered.get("detail", {}),
            time=time if time.tzinfo else time.replace(tzinfo=UTC),
            region=str(delivered.get("region") or region), account=str(delivered.get("account") or account),
            resources=list(delivered.get("resources") or []),
        )
    return rebuild


def eventbridge_sample(source: str, detail_type: str, detail: Any, *, time: datetime | None = None,
                       region: str = "us-east-1", account: str = "123456789012",
                       resources: list[str] | None = None) -> dict[str, Any]:
    """An event as a rule delivers it to Lambda."""
    return eventbridge_event(
        event_id=sample_id("eventbridge", source, detail_type, json.dumps(detail, sort_keys=True)),
        source=source, detail_type=detail_type, detail=detail, time=time or datetime.now(UTC),
        region=region, account=account, resources=resources or [],
    )


def _first(conditions: Any, default: str) -> str:
    if isinstance(conditions, list):
        for value in conditions:
            if isinstance(value, str):
                return value
    return default


def eventbridge_sample_for(handler: Handler, names: Mapping[str, str], region: str) -> dict[str, Any]:
    """The sample event of ``flowfn invoke`` for a rule's handler: its pattern's plain source and
    detail-type when it names them."""
    trigger = handler.trigger
    assert isinstance(trigger, EventBridgeTrigger)
    pattern = trigger.pattern_dict
    return eventbridge_sample(_first(pattern.get("source"), "com.example.sample"),
                              _first(pattern.get("detail-type"), "Sample Event"), {}, region=region)
