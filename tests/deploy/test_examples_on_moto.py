"""Each example deployed to moto's CloudFormation on a loopback server: bootstrap, a refused
unconfirmed deploy, create, a deploy that changes nothing, an update that removes one handler
and adds another, and destroy.

moto creates most of what flowfn's templates declare, with their properties; a few resource types
it does not create at all. Each example lists those explicitly below; a type the test neither
checks nor lists fails it. Properties moto's CloudFormation drops, and so goes unchecked here: a
function's Architectures and (on create) Layers; a bucket's PublicAccessBlockConfiguration,
versioning, lifecycle and ownership controls. The golden templates and cfn-lint cover those.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import SECRET, Flowfn

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning"),  # moto: a type it skips
    pytest.mark.filterwarnings("ignore:Unable to delete:UserWarning"),  # moto: removing a skipped one
]

#: What moto's CloudFormation does not create, by example (it warns and leaves them out).
MOTO_SKIPS = {
    "thumbnail": {"AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::Stage", "AWS::ApiGatewayV2::Route",
                  "AWS::ApiGatewayV2::Integration", "AWS::Lambda::EventInvokeConfig", "AWS::SNS::Subscription"},
    "stream": {"AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::Stage", "AWS::ApiGatewayV2::Route",
               "AWS::ApiGatewayV2::Integration", "AWS::Lambda::EventInvokeConfig"},
    "cron": {"AWS::Lambda::EventInvokeConfig", "AWS::SQS::QueuePolicy"},
}
#: A handler each update renames: the old function leaves the stack, a new one joins it.
RENAMED = {"thumbnail": "gallery", "stream": "peek_dead_letters", "cron": "clean_up"}


def _resources(flowfn: Flowfn, stack: str) -> dict[str, dict[str, Any]]:
    cfn = flowfn.client("cloudformation")
    pages = cfn.get_paginator("list_stack_resources").paginate(StackName=stack)
    return {r["LogicalResourceId"]: r for page in pages for r in page["StackResourceSummaries"]}


def _check_function(flowfn: Flowfn, props: dict[str, Any], physical: str, ids: dict[str, str],
                    buckets: set[str]) -> None:
    config = flowfn.client("lambda").get_function(FunctionName=physical)["Configuration"]
    assert config["Runtime"] == props["Runtime"] and config["Handler"] == "flowfn.runtime.handler"
    assert config["MemorySize"] == props["MemorySize"] and config["Timeout"] == props["Timeout"]
    # moto's CloudFormation drops Architectures (every function is x86_64 there) and Layers on
    # create; neither is checked on the function (the layer version itself is, below).
    role = flowfn.client("iam").get_role(RoleName=ids[props["Role"]["Fn::GetAtt"][0]])["Role"]
    assert config["Role"] == role["Arn"]
    env = config["Environment"]["Variables"]
    assert set(env) == set(props["Environment"]["Variables"])
    for key, value in props["Environment"]["Variables"].items():
        if isinstance(value, str):
            assert env[key] == value, key
        elif key.startswith("FLOWFN_BUCKET_"):
            assert env[key] in buckets, (key, env[key])  # the derived name is the created bucket's
        else:
            assert env[key], key


def _check_encrypted(flowfn: Flowfn, physical: str) -> None:
    s3 = flowfn.client("s3")
    rules = s3.get_bucket_encryption(Bucket=physical)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    # moto's CloudFormation drops PublicAccessBlockConfiguration; cfn-lint and the goldens cover it.


def _check_queue(flowfn: Flowfn, props: dict[str, Any], url: str, ids: dict[str, str]) -> None:
    attrs = flowfn.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    for key in ("MessageRetentionPeriod", "VisibilityTimeout"):
        if key in props:
            assert attrs[key] == str(props[key]), key
    if "RedrivePolicy" in props:
        policy = json.loads(attrs["RedrivePolicy"])
        assert int(policy["maxReceiveCount"]) == props["RedrivePolicy"]["maxReceiveCount"]
        dlq = ids[props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]]
        assert policy["deadLetterTargetArn"].endswith(":" + dlq.rsplit("/", 1)[1])


def check_stack(flowfn: Flowfn, stack: str, example: str) -> set[str]:
    """Every resource of the deployed template exists in moto with its properties, or is one of
    the example's listed skips. Returns the function logical ids."""
    cfn = flowfn.client("cloudformation")
    body = cfn.get_template(StackName=stack)["TemplateBody"]  # boto3 parses JSON bodies itself
    assert SECRET not in json.dumps(body)
    template = json.loads(json.dumps(body)) if not isinstance(body, str) else json.loads(body)
    resources = _resources(flowfn, stack)
    ids = {k: r.get("PhysicalResourceId", "") for k, r in resources.items()}
    buckets = {ids[k] for k, body in template["Resources"].items() if body["Type"] == "AWS::S3::Bucket"}
    skipped, functions = set(), set()
    for logical, body in template["Resources"].items():
        kind, props = body["Type"], body.get("Properties", {})
        if kind in MOTO_SKIPS[example]:
            skipped.add(kind)
            assert not ids.get(logical), f"{logical}: moto created a {kind} after all; check it instead"
            continue
        assert resources[logical]["ResourceStatus"].endswith("_COMPLETE"), logical
        physical = ids[logical]
        if kind == "AWS::Lambda::Function":
            functions.add(logical)
            _check_function(flowfn, props, physical, ids, buckets)
        elif kind == "AWS::S3::Bucket":
            _check_encrypted(flowfn, physical)
        elif kind == "AWS::SQS::Queue":
            _check_queue(flowfn, props, physical, ids)
        elif kind == "AWS::IAM::Role":
            names = flowfn.client("iam").list_role_policies(RoleName=physical)["PolicyNames"]
            assert names == [p["PolicyName"] for p in props["Policies"]]
        elif kind == "AWS::Logs::LogGroup":
            groups = flowfn.client("logs").describe_log_groups(logGroupNamePrefix=physical)["logGroups"]
            assert groups[0]["retentionInDays"] == props["RetentionInDays"]
        elif kind == "AWS::Events::Rule":
            rule = flowfn.client("events").describe_rule(Name=physical, EventBusName=props.get("EventBusName",
                                                                                         "default"))
            if "EventPattern" in props:
                assert json.loads(rule["EventPattern"]) == props["EventPattern"]
            else:
                assert rule["ScheduleExpression"] == props["ScheduleExpression"]
        elif kind == "AWS::SNS::Topic":
            assert flowfn.client("sns").get_topic_attributes(TopicArn=physical)["Attributes"]["TopicArn"] == physical
        elif kind == "AWS::Lambda::EventSourceMapping":
            function = ids[props["FunctionName"]["Ref"]]
            mappings = flowfn.client("lambda").list_event_source_mappings(FunctionName=function)
            assert [m["BatchSize"] for m in mappings["EventSourceMappings"]] == [props["BatchSize"]]
        elif kind == "AWS::Lambda::LayerVersion":
            name, version = physical.split(":layer:")[1].split(":")
            layer = flowfn.client("lambda").get_layer_version(LayerName=name, VersionNumber=int(version))
            assert layer["CompatibleRuntimes"] == props["CompatibleRuntimes"]
        elif kind == "AWS::Lambda::Permission":
            assert physical or resources[logical]["ResourceStatus"] == "CREATE_COMPLETE"
        else:
            pytest.fail(f"{logical}: no check for {kind}; check it, or list it in MOTO_SKIPS if moto skips it")
    assert skipped == MOTO_SKIPS[example]
    return functions


@pytest.mark.parametrize("example", ["thumbnail", "stream", "cron"])
def test_deploy_cycle(example: str, flowfn: Flowfn, copy_example: Callable[[str], Path],
                      layer_cache: Callable[[str], Path]) -> None:
    app = copy_example(example)
    cache = str(layer_cache(str(app)))
    stack = f"{example}-test"
    deploy = ["deploy", str(app), "--stack", stack, "--cache-dir", cache]
    cfn = flowfn.client("cloudformation")

    assert flowfn("bootstrap", "--yes").exit_code == 0
    # The asset bucket; moto applies its encryption and drops versioning, the lifecycle rule and the
    # public access block (test_errors checks those in the template, and cfn-lint the template).
    assets = _resources(flowfn, "flowfn-bootstrap")["AssetBucket"]["PhysicalResourceId"]
    _check_encrypted(flowfn, assets)

    refused = flowfn(*deploy)  # stdin is not a terminal: no answer, no deploy
    assert refused.exit_code == 2 and "pass --yes" in refused.output
    assert "uploading s3://" in refused.output and "change set to create stack" in refused.output
    assert not [s for s in cfn.list_stacks()["StackSummaries"]
                if s["StackName"] == stack and s["StackStatus"] != "DELETE_COMPLETE"]

    created = flowfn(*deploy, "--yes")
    assert created.exit_code == 0, created.output
    assert "change set to create stack" in created.output and f"stack {stack}: CREATE_COMPLETE" in created.output
    assert "assets already in" in created.output and "outputs:" in created.output
    functions = check_stack(flowfn, stack, example)

    again = flowfn(*deploy, "--yes")
    assert again.exit_code == 0, again.output
    assert f"no changes: stack {stack} is up to date" in again.output
    assert "uploading" not in again.output and "assets already in" in again.output

    old = RENAMED[example]
    source = app.read_text()
    assert source.count(f"def {old}(") == 1
    app.write_text(source.replace(f"def {old}(", f"def {old}_v2("))
    gone, new = (_pascal(old) + "Function", _pascal(old + "_v2") + "Function")
    dry = flowfn(*deploy, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"+ Add     {new}  AWS::Lambda::Function" in dry.output
    assert dry.output.rstrip().endswith("dry run: the change set is deleted, nothing was executed")
    assert check_stack(flowfn, stack, example) == functions
    assert not [c for c in cfn.list_change_sets(StackName=stack)["Summaries"]  # (moto lists every stack's)
                if c["StackName"] == stack and c["ExecutionStatus"] == "AVAILABLE"]
    updated = flowfn(*deploy, "--yes")
    assert updated.exit_code == 0, updated.output
    assert f"+ Add     {new}  AWS::Lambda::Function" in updated.output
    assert f"- Remove  {gone}  AWS::Lambda::Function" in updated.output
    assert f"stack {stack}: UPDATE_COMPLETE" in updated.output
    assert check_stack(flowfn, stack, example) == functions - {gone} | {new}
    names = [f["FunctionName"] for f in flowfn.client("lambda").list_functions()["Functions"]]
    assert any(new in n for n in names) and not any(f"-{gone}-" in n for n in names)

    stack_id = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackId"]
    buckets = [r["PhysicalResourceId"] for r in _resources(flowfn, stack).values()
               if r["ResourceType"] == "AWS::S3::Bucket"]
    s3 = flowfn.client("s3")
    s3.put_object(Bucket=buckets[0], Key="keep/me.txt", Body=b"data")
    empty = example != "thumbnail"  # thumbnail keeps its bucket with data; the others empty theirs
    destroyed = flowfn("destroy", str(app), "--stack", stack, "--yes", *(["--empty-buckets"] if empty else []))
    assert destroyed.exit_code == 0, destroyed.output
    assert f"stack {stack}: DELETE_COMPLETE" in destroyed.output
    assert cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    left = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    if empty:
        assert not left & set(buckets), left
        assert f"emptied bucket {buckets[0]} (1 objects and versions)" in destroyed.output
    else:
        assert left & set(buckets) == {buckets[0]}
        assert f"kept bucket {buckets[0]}: it holds 1 objects" in destroyed.output
    assert not flowfn.client("lambda").list_functions()["Functions"]
    for output in flowfn.outputs:
        assert SECRET not in output


def _pascal(name: str) -> str:
    from flowfn.synth.ids import pascal

    return pascal(name)
