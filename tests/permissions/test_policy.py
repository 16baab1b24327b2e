"""The policy enforced locally is the synthesized one, and parliament and cloudsplaining find it
least-privilege."""

from __future__ import annotations

import gc
import json
import re
import warnings
from pathlib import Path
from typing import Any

import pytest

from flowfn.app import App
from flowfn.loader import load_app
from flowfn.local.emulator import AwsTarget
from flowfn.local.provision import Bindings
from flowfn.permissions import Guard
from flowfn.permissions.evaluate import evaluate
from flowfn.permissions.requests import Request
from flowfn.synth import SynthOptions, synthesize

ROOT = Path(__file__).parents[2]
EXAMPLES = [ROOT / "examples" / name / "app.py" for name in ("thumbnail", "stream", "cron")]
TEST_APPS = [ROOT / "tests" / "synth" / "fixture_app" / "app.py",
             *sorted((ROOT / "tests" / "local" / "apps").glob("*.py")),
             *sorted((Path(__file__).parent / "apps").glob("*.py"))]
# The account and region of the fixture app's existing queue "partner-events".
REGION, ACCOUNT = "eu-west-1", "123456789012"
STACK = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/s/0a1b2c3d-0000-1111-2222-333344445555"


class Resolver:
    """Just enough CloudFormation to evaluate a template's policy and environment values."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.resources = template["Resources"]
        self.log_groups = {
            body["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]:
                body["Properties"]["Environment"]["Variables"]["FLOWFN_FUNCTION"]
            for body in self.resources.values() if body["Type"] == "AWS::Lambda::Function"}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            return self.ref(value["Ref"])
        if "Fn::GetAtt" in value:
            rid, attribute = value["Fn::GetAtt"]
            assert attribute == "Arn"
            if rid in self.log_groups:
                return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{self.log_groups[rid]}:*"
            if self.resources[rid]["Type"] == "AWS::Events::EventBus":
                return f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{rid}"
            return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{rid}"
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(self(parts))
        if "Fn::Select" in value:
            index, items = value["Fn::Select"]
            return self(items)[index]
        if "Fn::Split" in value:
            separator, text = value["Fn::Split"]
            return self(text).split(separator)
        return {k: self(v) for k, v in value.items()}

    def ref(self, name: str) -> str:
        pseudo = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT,
                  "AWS::StackId": STACK, "AWS::StackName": "s"}
        if name in pseudo:
            return pseudo[name]
        if self.resources[name]["Type"] == "AWS::SNS::Topic":
            return f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}"
        assert self.resources[name]["Type"] == "AWS::SQS::Queue", name
        return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"


def _deployed(app: App) -> tuple[dict[str, Any], Guard]:
    """The template's policy documents by function, and a guard bound to the deployed names."""
    synthesis = synthesize(app, SynthOptions(python="3.11"), code_asset="code.zip", layers={})
    assert not synthesis.nested
    resolve = Resolver(synthesis.template)
    bindings = Bindings(AwsTarget("http://127.0.0.1:9", region=REGION, account=ACCOUNT))
    documents: dict[str, Any] = {}
    for body in synthesis.template["Resources"].values():
        if body["Type"] != "AWS::Lambda::Function":
            continue
        variables = resolve(body["Properties"]["Environment"]["Variables"])
        role = synthesis.template["Resources"][body["Properties"]["Role"]["Fn::GetAtt"][0]]
        documents[variables["FLOWFN_FUNCTION"]] = resolve(role["Properties"]["Policies"][0]["PolicyDocument"])
        for resource in app.all_resources():
            if resource.env_key in variables:
                if resource.kind in ("topic", "eventbus"):
                    bindings.arns[(resource.kind, resource.logical_name)] = variables[resource.env_key]
                    continue
                names = bindings.buckets if resource.kind == "bucket" else bindings.queue_urls
                names[resource.logical_name] = variables[resource.env_key]
    if "FailedEvents" in synthesis.template["Resources"]:
        bindings.queue_urls["failed-events"] = resolve({"Ref": "FailedEvents"})
    return documents, Guard(app, bindings)


@pytest.mark.parametrize("path", [*EXAMPLES, TEST_APPS[0]], ids=lambda p: p.parent.name)
def test_the_enforced_policy_is_byte_for_byte_the_synthesized_one(path: Path) -> None:
    app = load_app(str(path), fresh=True)
    documents, guard = _deployed(app)
    assert set(documents) == {h.settings.name for h in app.handlers}
    for handler in app.handlers:
        enforced = json.dumps(guard.document(handler), sort_keys=True)
        deployed = json.dumps(documents[handler.settings.name], sort_keys=True)
        for theirs, ours in _elsewhere(app).items():
            # A run emulates an existing queue of another account or region in its own: the only
            # difference allowed, and only for such queues.
            deployed = deployed.replace(f'"{theirs}"', f'"{ours}"')
        assert enforced == deployed


def _elsewhere(app: App) -> dict[str, str]:
    """ARNs of the app's existing queues in another account or region -> the ARN a run gives them."""
    out = {}
    for queue in app.queues():
        match = re.search(r"(?:sqs\.|sqs:)([a-z0-9-]+)(?:\.amazonaws\.com/|:)(\d{12})[/:]([^/:]+)$",
                          queue.existing or "")
        if match and (match[1], match[2]) != (REGION, ACCOUNT):
            out[f"arn:aws:sqs:{match[1]}:{match[2]}:{match[3]}"] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{match[3]}"
    return out


def _concrete(app: App) -> dict[str, dict[str, Any]]:
    bindings = Bindings(AwsTarget("http://127.0.0.1:9", region=REGION, account=ACCOUNT))
    bindings.buckets.update({b.logical_name: f"{app.name}-{b.logical_name}-0a1b2c" for b in app.buckets()})
    bindings.queue_urls.update({q.logical_name: f"https://sqs/{ACCOUNT}/{q.logical_name}" for q in app.queues()})
    for res in app.all_resources():
        if res.kind == "topic":
            bindings.arns[("topic", res.logical_name)] = f"arn:aws:sns:{REGION}:{ACCOUNT}:{res.logical_name}"
        elif res.kind == "eventbus":
            bindings.arns[("eventbus", res.logical_name)] = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/x"
        elif res.kind in ("stream", "table"):
            bindings.names[(res.kind, res.logical_name)] = res.logical_name
    guard = Guard(app, bindings)
    return {h.name: guard.document(h) for h in app.handlers}


def _parliament() -> Any:
    """parliament's analyzer; its import leaves its IAM definition file open, so it is closed here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        from parliament import analyze_policy_string

        gc.collect()
    return analyze_policy_string


@pytest.mark.parametrize("path", [*EXAMPLES, *TEST_APPS], ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_parliament_finds_nothing_in_any_generated_policy(path: Path) -> None:
    analyze_policy_string = _parliament()
    app = load_app(str(path), fresh=True)
    for name, document in _concrete(app).items():
        findings = analyze_policy_string(json.dumps(document)).findings
        assert [(f.issue, f.detail) for f in findings] == [], name


#: cloudsplaining's least-privilege checks: each lists what a policy allows without constraint.
CLOUDSPLAINING_CHECKS = ("all_allowed_unrestricted_actions", "allows_privilege_escalation",
                         "permissions_management_without_constraints", "write_actions_without_constraints",
                         "tagging_actions_without_constraints", "infrastructure_modification",
                         "credentials_exposure", "service_wildcard", "allows_data_exfiltration_actions")


@pytest.mark.parametrize("path", [*EXAMPLES, *TEST_APPS], ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_cloudsplaining_finds_nothing_unconstrained_in_any_generated_policy(path: Path) -> None:
    from cloudsplaining.scan.policy_document import PolicyDocument

    app = load_app(str(path), fresh=True)
    for name, document in _concrete(app).items():
        scanned = PolicyDocument(document)
        assert {check: getattr(scanned, check) for check in CLOUDSPLAINING_CHECKS
                if getattr(scanned, check)} == {}, name


def test_the_checks_find_an_unconstrained_policy() -> None:
    from cloudsplaining.scan.policy_document import PolicyDocument

    loose = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": ["*"]}]}
    assert PolicyDocument(loose).write_actions_without_constraints == ["s3:PutObject"]
    findings = _parliament()(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::bucket"]}]})).findings
    assert [f.issue for f in findings] == ["RESOURCE_MISMATCH"]


def test_the_evaluator_denies_unless_allowed_and_an_explicit_deny_wins() -> None:
    doc = {"Statement": [
        {"Effect": "Allow", "Action": ["s3:Get*"], "Resource": ["arn:aws:s3:::b/in/*"]},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b",
         "Condition": {"StringLike": {"s3:prefix": ["in/*"]}}},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/in/secret?"},
    ]}
    assert evaluate(doc, Request("s3:GetObject", "arn:aws:s3:::b/in/a/b.txt")) == "allowed"
    assert evaluate(doc, Request("S3:getobject", "arn:aws:s3:::b/in/x")) == "allowed"
    assert evaluate(doc, Request("s3:GetObject", "arn:aws:s3:::b/out/x")) == "denied"
    assert evaluate(doc, Request("s3:PutObject", "arn:aws:s3:::b/in/x")) == "denied"
    assert evaluate(doc, Request("s3:GetObject", "arn:aws:s3:::b/in/secret1")) == "explicitly-denied"
    assert evaluate(doc, Request("s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "in/x"})) == "allowed"
    assert evaluate(doc, Request("s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "out/"})) == "denied"
    assert evaluate(doc, Request("s3:ListBucket", "arn:aws:s3:::b")) == "denied"  # no prefix given
    assert evaluate({"Statement": []}, Request("s3:GetObject", "*")) == "denied"
