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


def _subscriber_app() -> App:
    app = App("subs")
    ready, orders = Topic("ready"), EventBus("orders")

    @app.on_sns(ready, filter_policy={"kind": ["image"], "size": [{"numeric": [">", 0]}]})
    def notify(record: object) -> None: ...

    @app.on_sns(ready, filter_policy={"order": {"total": [{"numeric": [">=", 10]}]}}, filter_scope="body")
    def index(record: object) -> None: ...

    @app.on_event({"source": [{"prefix": "shop."}], "$or": [{"detail": {"a": [{"exists": True}]}},
                                                            {"detail": {"b": ["x"]}}]}, bus=orders)
    def routed(event: object) -> None: ...

    @app.on_event({"source": ["aws.s3"]})
    def on_default(event: object) -> None: ...

    return app


def test_subscriptions_rules_and_permissions(lint: Callable[[str], list[str]]) -> None:
    template = _template(_subscriber_app())
    resources = template["Resources"]
    subs = {k: r["Properties"] for k, r in resources.items() if r["Type"] == "AWS::SNS::Subscription"}
    notify = subs["NotifySubscription"]
    assert notify["Protocol"] == "lambda" and notify["TopicArn"] == {"Ref": "ReadyTopic"}
    assert notify["Endpoint"] == {"Fn::GetAtt": ["NotifyFunction", "Arn"]}
    assert notify["FilterPolicy"] == {"kind": ["image"], "size": [{"numeric": [">", 0]}]}
    assert notify["FilterPolicyScope"] == "MessageAttributes"
    assert subs["IndexSubscription"]["FilterPolicyScope"] == "MessageBody"
    rule = resources["RoutedEventRule"]["Properties"]
    assert rule["EventBusName"] == {"Ref": "OrdersEventbus"}
    assert rule["EventPattern"]["$or"][1] == {"detail": {"b": ["x"]}}
    assert rule["Targets"][0]["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    assert rule["Targets"][0]["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["FailedEvents", "Arn"]}}
    statement = resources["FailedEventsRulePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"} and "ArnLike" in statement["Condition"]
    assert resources["OnDefaultEventRule"]["Properties"]["EventBusName"] == "default"
    permissions = {k: r["Properties"] for k, r in resources.items() if r["Type"] == "AWS::Lambda::Permission"}
    assert permissions["NotifySnsPermission"]["Principal"] == "sns.amazonaws.com"
    assert permissions["NotifySnsPermission"]["SourceArn"] == {"Ref": "ReadyTopic"}
    assert permissions["RoutedEventPermission"]["SourceArn"] == {"Fn::GetAtt": ["RoutedEventRule", "Arn"]}
    # Invoked asynchronously: two retries, then the queue of failed events.
    invoke = resources["NotifyInvokeConfig"]["Properties"]
    assert invoke["MaximumRetryAttempts"] == 2 and "OnFailure" in invoke["DestinationConfig"]
    assert lint(render(template).decode()) == []


def test_the_graph_draws_topic_and_bus_into_subscribers() -> None:
    graph = mermaid(_subscriber_app())
    assert 'topic_Ready -->|"filter {' in graph and "| fn_Notify" in graph and "| fn_Index" in graph
    assert 'eventbus_Orders -->|"pattern {' in graph and "| fn_Routed" in graph


def _declare(**kwargs: Any) -> None:
    app = App("bad")
    kind = kwargs.pop("kind")
    if kind == "sns":
        app.on_sns(kwargs.pop("topic", Topic("t")), **kwargs)(lambda record: None)
    else:
        app.on_event(**kwargs)(lambda event: None)


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"kind": "sns", "topic": Topic("t.fifo")}, "FIFO topic"),
    ({"kind": "sns", "filter_policy": {"a": [{"regex": "x"}]}}, "'regex' is not an operator"),
    ({"kind": "sns", "filter_policy": {"a": [{"cidr": "10.0.0.0/8"}]}}, "'cidr' is not an operator"),
    ({"kind": "sns", "filter_policy": {"a": ["1"], "$or": [{"a": ["2"]}, {"b": ["2"]}]}}, "inside and outside"),
    ({"kind": "sns", "filter_policy": {"$or": [{"a": {"b": ["1"]}}, {"c": ["2"]}]}}, "flat"),
    ({"kind": "sns", "filter_policy": {"$or": [{"a": list(range(100))}, {"b": list(range(51))}]}}, "151 combinations"),
    ({"kind": "sns", "filter_policy": {k: ["x"] for k in "abcdef"}}, "SNS allows 5"),
    ({"kind": "sns", "filter_policy": {"a": list(range(13)), "b": list(range(12))}}, "156 combinations"),
    ({"kind": "sns", "filter_policy": {"a": {"b": ["x"]}}}, "flat"),
    ({"kind": "sns", "filter_policy": {"a": "x"}}, "wrap the value in a list"),
    ({"kind": "sns", "filter_scope": "headers"}, "filter scope"),
    ({"kind": "sns", "topic": "ready"}, "is not a Topic"),
    ({"kind": "event", "pattern": {}}, "non-empty JSON object"),
    ({"kind": "event", "pattern": {"source": [{"numeric": [">", "x"]}]}}, "malformed"),
    ({"kind": "event", "pattern": {"source": [{"numeric": ["<", 5, ">", 1]}]}}, "not a range"),
    ({"kind": "event", "pattern": {"source": [{"exists": "yes"}]}}, "true or false"),
    ({"kind": "event", "pattern": {"source": [{"prefix": "a", "suffix": "b"}]}}, "one-key operator"),
    ({"kind": "event", "pattern": {"source": ["x" * 5000]}}, "4096"),
    ({"kind": "event", "pattern": {"$or": [{"a": ["1"]}]}}, "at least two"),
    ({"kind": "event", "pattern": {"source": ["x"]}, "bus": "orders"}, "is not an EventBus"),
])
def test_bad_subscriptions_are_refused_at_declaration(kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError) as info:
        _declare(**kwargs)
    message = str(info.value)
    assert words in message and "handler '<lambda>'" in message and "Fix:" in message


def test_a_topics_queues_are_subscribed_with_a_policy_for_that_topic(lint: Callable[[str], list[str]]) -> None:
    from flowfn import Queue

    app = App("ledger")
    ledger = Queue("ledger.fifo")
    entries = Topic("entries.fifo", queues=[ledger])

    @app.on_sqs(ledger, uses=[entries.publish()])
    def book(record: object) -> None: ...

    resources = _template(app)["Resources"]
    sub = resources["EntriesFifoTopicToLedgerFifoQueue"]["Properties"]
    assert sub == {"Protocol": "sqs", "TopicArn": {"Ref": "EntriesFifoTopic"},
                   "Endpoint": {"Fn::GetAtt": ["LedgerFifoQueue", "Arn"]}, "RawMessageDelivery": True}
    policy = resources["EntriesFifoTopicToLedgerFifoQueuePolicy"]["Properties"]
    statement = policy["PolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Ref": "EntriesFifoTopic"}}}
    assert lint(render(_template(app)).decode()) == []


def test_a_topic_refuses_queues_of_the_other_ordering() -> None:
    from flowfn import Queue

    with pytest.raises(ConfigError, match="SNS keeps order only FIFO to FIFO"):
        Topic("entries.fifo", queues=[Queue("plain")])
    with pytest.raises(ConfigError, match="not a list of Queue"):
        Topic("entries", queues=["plain"])  # type: ignore[list-item]


def test_async_settings_reach_the_invoke_config_and_the_role(lint: Callable[[str], list[str]]) -> None:
    from flowfn import Queue

    app = App("asyncs")
    failed = Queue("failed-orders", max_receive_count=None)

    @app.on_event({"source": ["shop"]}, retries=0, max_event_age_s=120, on_failure=failed)
    def routed(event: object) -> None: ...

    @app.on_sns(Topic("ready"), retries=1)
    def notify(record: object) -> None: ...

    template = _template(app)
    resources = template["Resources"]
    config = resources["RoutedInvokeConfig"]["Properties"]
    assert config["MaximumRetryAttempts"] == 0 and config["MaximumEventAgeInSeconds"] == 120
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["FailedOrdersQueue", "Arn"]}
    sends = [s for s in _policy(template, "Routed") if s["Action"] == ["sqs:SendMessage"]]
    assert sends[0]["Resource"] == [{"Fn::GetAtt": ["FailedOrdersQueue", "Arn"]}]
    assert resources["NotifyInvokeConfig"]["Properties"]["MaximumRetryAttempts"] == 1
    assert lint(render(template).decode()) == []


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"retries": 3}, "retries"),
    ({"max_event_age_s": 30}, "max_event_age_s"),
    ({"on_failure": "failed"}, "is not a standard Queue"),
    ({"on_failure": Topic("t")}, "is not a standard Queue"),
])
def test_bad_async_settings_are_refused(kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        App("a").on_sns(Topic("t"), name="h", **kwargs)(lambda record: None)


def test_async_settings_are_refused_for_a_polled_trigger() -> None:
    from flowfn import Queue
    from flowfn.function import make_settings
    from flowfn.triggers.sqs import make_sqs_trigger

    settings = make_settings(name="h", memory_mb=256, timeout_s=30, ephemeral_storage_mb=512, environment=None,
                             reserved_concurrency=None, architecture="arm64", log_level="INFO", uses=None,
                             retries=1)
    trigger = make_sqs_trigger(Queue("jobs"), 10, 0, False, None, None, "handler 'h'")
    with pytest.raises(ConfigError, match="does not invoke the function asynchronously"):
        App("a").add(lambda record: None, trigger, settings)


@pytest.mark.parametrize("pattern", [
    {"source": [{"prefix": "shop."}, {"suffix": ".orders"}, {"equals-ignore-case": "SHOP"}]},
    {"detail": {"ip": [{"cidr": "10.0.0.0/24"}], "path": [{"wildcard": "img/*.png"}]}},
    {"detail": {"state": [{"anything-but": {"prefix": "init"}}], "n": [{"numeric": [">=", 0, "<", 10]}]}},
    {"detail": {"gone": [{"exists": False}], "none": [None]}},
    {"$or": [{"source": ["a"]}, {"detail": {"b": [{"anything-but": [1, 2]}]}}]},
])
def test_every_operator_eventbridge_takes_is_accepted(pattern: dict[str, Any]) -> None:
    app = App("ok")
    app.on_event(pattern, name="h")(lambda event: None)
    assert app.handler("h").trigger.pattern_dict == pattern  # type: ignore[attr-defined]


@pytest.mark.parametrize("policy", [
    {"kind": ["image", 3, {"prefix": "im"}, {"suffix": "ge"}, {"equals-ignore-case": "IMAGE"}]},
    {"kind": [{"anything-but": ["a", "b"]}], "size": [{"numeric": ["<", 5]}], "tag": [{"exists": True}]},
    {"kind": ["a"], "$or": [{"tag": [{"prefix": "x"}]}, {"size": [{"numeric": [">", 1]}]}]},
])
def test_every_operator_sns_takes_is_accepted(policy: dict[str, Any]) -> None:
    app = App("ok")
    app.on_sns(Topic("t"), filter_policy=policy, name="h")(lambda record: None)
    assert app.handler("h").trigger.policy == policy  # type: ignore[attr-defined]
