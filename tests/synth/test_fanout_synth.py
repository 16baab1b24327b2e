"""Topics and event buses in templates: the resources, publishers' least-privilege IAM, lint, graph."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from flowfn import App, ConfigError, EventBus, Topic
from flowfn.app import AppOrigin
from flowfn.synth import SynthOptions, render, synthesize
from flowfn.synth.graph import mermaid

CODE, LAYERS = "code-0123456789abcdef.zip", {"arm64": "deps-arm.zip", "x86_64": "deps-x86.zip"}


def _publisher_app() -> App:
    app = App("fan")
    ready, ordered, orders = Topic("ready"), Topic("ordered.fifo"), EventBus("orders")

    @app.on_schedule("rate(1 hour)", uses=[ready.publish(), ordered.publish(), orders.put_events(),
                                           EventBus().put_events()])
    def tick() -> None: ...

    return app


def _template(app: App) -> dict[str, Any]:
    app.origin = AppOrigin(root=".", module="fan")
    out: dict[str, Any] = json.loads(render(synthesize(app, SynthOptions(), code_asset=CODE,
                                                       layers=LAYERS).template))
    return out


def _policy(template: dict[str, Any], fn: str) -> list[dict[str, Any]]:
    role = template["Resources"][f"{fn}Role"]["Properties"]["Policies"][0]["PolicyDocument"]
    return list(role["Statement"])


def test_topics_and_buses_are_declared_and_publishers_get_only_their_arns(
    lint: Callable[[str], list[str]],
) -> None:
    template = _template(_publisher_app())
    resources = template["Resources"]
    assert resources["ReadyTopic"] == {"Type": "AWS::SNS::Topic", "Properties": {}}
    fifo = resources["OrderedFifoTopic"]["Properties"]
    assert fifo["FifoTopic"] is True and fifo["TopicName"]["Fn::Join"][1][-1] == ".fifo"
    assert resources["OrdersEventbus"]["Type"] == "AWS::Events::EventBus"
    assert not any(r["Type"] == "AWS::Events::EventBus" and r is not resources["OrdersEventbus"]
                   for r in resources.values()), "the default bus is never created"
    statements = {tuple(s["Action"]): s["Resource"] for s in _policy(template, "Tick")}
    assert statements[("sns:Publish",)] == [{"Ref": "ReadyTopic"}, {"Ref": "OrderedFifoTopic"}]
    bus_arns = statements[("events:PutEvents",)]
    assert bus_arns[0] == {"Fn::GetAtt": ["OrdersEventbus", "Arn"]}
    assert "event-bus/" in json.dumps(bus_arns[1]) and "default" in json.dumps(bus_arns[1])
    assert lint(render(template).decode()) == []


def test_the_graph_draws_publish_edges() -> None:
    graph = mermaid(_publisher_app())
    assert 'topic_Ready{{"topic ready"}}' in graph and 'eventbus_Orders>"eventbus orders"]' in graph
    assert 'fn_Tick -->|"publish"| topic_Ready' in graph
    assert 'fn_Tick -->|"put_events"| eventbus_Orders' in graph


@pytest.mark.parametrize(("make", "argument"), [
    (lambda: Topic("bad name"), "name"),
    (lambda: Topic("x" * 257), "name"),
    (lambda: Topic("plain", content_based_deduplication=True), "content_based_deduplication"),
    (lambda: Topic("t.fifo", existing="arn:aws:sns:us-east-1:123456789012:t"), "existing"),
    (lambda: EventBus("aws.partner"), "name"),
    (lambda: EventBus("has space"), "name"),
    (lambda: EventBus("b", existing="arn:aws:sqs:us-east-1:123456789012:q"), "existing"),
])
def test_bad_declarations_name_the_argument(make: Callable[[], object], argument: str) -> None:
    with pytest.raises(ConfigError) as info:
        make()
    assert f"{argument}:" in str(info.value) or argument in str(info.value)
    assert "Fix" in str(info.value) or "fix" in str(info.value).lower()


def test_existing_topics_and_buses_are_parsed() -> None:
    assert Topic("t", existing="arn:aws:sns:eu-west-1:123456789012:alerts").existing_name == "alerts"
    assert EventBus("audit", existing="arn:aws:events:eu-west-1:123456789012:event-bus/audit-bus") \
        .existing_name == "audit-bus"
    assert EventBus().existing == "default" and not EventBus().managed
