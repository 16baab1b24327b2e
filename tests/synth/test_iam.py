"""Least privilege: exact statements, no wildcards, and policies that resolve to concrete ARNs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flowfn.app import App
from flowfn.synth import Synthesis, Target, concrete_arn, policy_for
from flowfn.synth.iam import Statement

PHYSICAL = {("bucket", "uploads"): "fixture-uploads-0a1b2c3d4e5f", ("bucket", "reports"): "rep-1",
            ("bucket", "archive"): "company-archive", ("queue", "jobs"): "stack-JobsQueue-X",
            ("queue", "failed-events"): "stack-FailedEvents-Y", ("log-group", "resize"): "stack-Resize",
            ("queue", "audit"): "audit-q", ("queue", "orders.fifo"): "o.fifo", ("queue", "legacy"): "legacy",
            ("queue", "partner-events"): "partner-events"}


def role_statements(templates: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for template in templates:
        for body in template["Resources"].values():
            if body["Type"] == "AWS::IAM::Role":
                assert "ManagedPolicyArns" not in body["Properties"]
                for policy in body["Properties"].get("Policies", []):
                    yield from policy["PolicyDocument"]["Statement"]


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for inner in value.values():
            yield from strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from strings(inner)


def assert_no_wildcards(templates: list[dict[str, Any]]) -> int:
    count = 0
    for st in role_statements(templates):
        count += 1
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        assert all("*" not in a for a in actions), st
        for resource in st["Resource"]:
            assert resource != "*", st
            parts = list(strings(resource))
            star = [p for p in parts if "*" in p]
            # A wildcard only ever follows a bucket name and a '/' (objects under a key pattern).
            for part in star:
                assert part.startswith("/") and parts[-1] == part and parts[-2:-1] != [":s3:::"], st
    return count


def test_no_wildcard_action_or_resource(fixture_synth: Synthesis, big_synth: Synthesis) -> None:
    assert assert_no_wildcards([fixture_synth.template]) >= 30
    assert assert_no_wildcards([big_synth.template, *big_synth.nested.values()]) >= 400


def test_the_check_catches_wildcards() -> None:
    bad = {"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [{"PolicyDocument": {
        "Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::b/*"]}]}}]}}}}
    try:
        assert_no_wildcards([bad])
    except AssertionError:
        pass
    else:
        raise AssertionError("s3:* went unnoticed")
    star = json.loads(json.dumps(bad).replace('"s3:*"', '"s3:GetObject"').replace('"arn:aws:s3:::b/*"', '"*"'))
    try:
        assert_no_wildcards([star])
    except AssertionError:
        return
    raise AssertionError("Resource '*' went unnoticed")


def test_policy_for_is_exactly_what_the_handler_needs(fixture_app: App) -> None:
    resize = policy_for(fixture_app, fixture_app.handler("resize"))
    assert resize.statements == (
        Statement(("logs:CreateLogStream", "logs:PutLogEvents"), (Target("log-group", "resize"),)),
        Statement(("s3:GetObject",), (Target("objects", "uploads", "incoming/*.jpg"),)),
        Statement(("s3:PutObject", "s3:AbortMultipartUpload"), (Target("objects", "uploads", "processed/*"),)),
        Statement(("sqs:SendMessage",), (Target("queue", "jobs"), Target("failed-events", "failed-events"))),
    )
    cleanup = policy_for(fixture_app, fixture_app.handler("cleanup"), failure_destination=False)
    assert Statement(("s3:ListBucket",), (Target("bucket", "uploads"),), "processed/") in cleanup.statements
    assert not any(t.kind == "failed-events" for s in cleanup.statements for t in s.targets)
    get_report = policy_for(fixture_app, fixture_app.handler("get_report"))
    assert [s.actions for s in get_report.statements] == [
        ("logs:CreateLogStream", "logs:PutLogEvents"), ("s3:GetObject",)]
    work = policy_for(fixture_app, fixture_app.handler("work"))
    assert Statement(("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"),
                     (Target("queue", "jobs"),)) in work.statements
    assert policy_for(fixture_app, fixture_app.handler("work")) == work  # pure


def test_policy_resolves_to_concrete_arns(fixture_app: App) -> None:
    doc = policy_for(fixture_app, fixture_app.handler("resize")).document(
        lambda t: concrete_arn(t, PHYSICAL, region="us-east-1", account="123456789012"))
    assert [s["Resource"] for s in doc["Statement"]] == [
        ["arn:aws:logs:us-east-1:123456789012:log-group:stack-Resize:*"],
        ["arn:aws:s3:::fixture-uploads-0a1b2c3d4e5f/incoming/*.jpg"],
        ["arn:aws:s3:::fixture-uploads-0a1b2c3d4e5f/processed/*"],
        ["arn:aws:sqs:us-east-1:123456789012:stack-JobsQueue-X",
         "arn:aws:sqs:us-east-1:123456789012:stack-FailedEvents-Y"],
    ]
    listing = policy_for(fixture_app, fixture_app.handler("cleanup")).document(
        lambda t: concrete_arn(t, PHYSICAL | {("log-group", "cleanup"): "g"}, region="r", account="1"))
    lists = [s for s in listing["Statement"] if s["Action"] == ["s3:ListBucket"]]
    assert lists == [{"Effect": "Allow", "Action": ["s3:ListBucket"],
                      "Resource": ["arn:aws:s3:::fixture-uploads-0a1b2c3d4e5f"],
                      "Condition": {"StringLike": {"s3:prefix": ["processed/*"]}}}]


def test_template_policy_matches_policy_for(fixture_synth: Synthesis, fixture_app: App) -> None:
    for handler in fixture_app.handlers:
        role = fixture_synth.template["Resources"][
            fixture_synth.template["Resources"][_function_id(fixture_synth, handler.name)]["Properties"][
                "Role"]["Fn::GetAtt"][0]]
        statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        policy = policy_for(fixture_app, handler)
        assert [s["Action"] for s in statements] == [list(s.actions) for s in policy.statements]
        assert [len(s["Resource"]) for s in statements] == [len(s.targets) for s in policy.statements]


def _function_id(s: Synthesis, name: str) -> str:
    for rid, body in s.template["Resources"].items():
        if body["Type"] == "AWS::Lambda::Function" and body["Properties"]["Environment"]["Variables"][
                "FLOWFN_FUNCTION"] == name:
            return rid
    raise KeyError(name)
