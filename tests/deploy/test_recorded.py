"""The change-set display, the progress lines and the first-failure report, on CloudFormation
responses shaped as AWS sends them (botocore's Stubber): moto has no per-resource events and no
rollback, so failed creates and updates are played back from these recordings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner, Result

from flowfn.cli import cli
from flowfn.deploy import changes, events
from flowfn.deploy.aws import Aws
from flowfn.deploy.changes import Change, create_plan
from flowfn.deploy.events import first_failure, follow
from tests.deploy.conftest import SECRET

APP = str(Path(__file__).parent / "apps" / "shop" / "app.py")
REGION = "eu-west-1"
STACK = "shop"
STACK_ID = f"arn:aws:cloudformation:{REGION}:123456789012:stack/shop/0b7e3a10-aaaa-bbbb-cccc-0123456789ab"
NESTED_ID = f"arn:aws:cloudformation:{REGION}:123456789012:stack/shop-FunctionsStack1-1X2Y3Z/4c5d6e7f-0000"
CHANGE_SET = f"arn:aws:cloudformation:{REGION}:123456789012:changeSet/flowfn-20250101-120000/9f8e7d6c"
T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
ALREADY = "shop-uploads-0123456789ab already exists"
ZIP = ("Resource handler returned message: \"Could not unzip uploaded file. Please check your file, then "
       "try to upload again. (Service: Lambda, Status Code: 400)\" (HandlerErrorCode: InvalidRequest)")


def event(n: int, logical: str, kind: str, status: str, reason: str = "", physical: str = "",
          stack_id: str = STACK_ID, stack: str = STACK) -> dict[str, Any]:
    """One stack event as DescribeStackEvents returns it."""
    out = {"StackId": stack_id, "EventId": f"{logical}-{status}-{n}", "StackName": stack,
           "LogicalResourceId": logical, "PhysicalResourceId": physical or (stack_id if logical == stack else ""),
           "ResourceType": kind, "Timestamp": T0 + timedelta(seconds=n), "ResourceStatus": status}
    if reason:
        out["ResourceStatusReason"] = reason
    return out


S = "AWS::CloudFormation::Stack"
BUCKET, QUEUE, FUNCTION, ROLE = "AWS::S3::Bucket", "AWS::SQS::Queue", "AWS::Lambda::Function", "AWS::IAM::Role"

#: A first create that fails on the bucket; the queue is cancelled; the stack rolls back.
FAILED_CREATE = [
    event(0, STACK, S, "REVIEW_IN_PROGRESS", "User Initiated"),
    event(1, STACK, S, "CREATE_IN_PROGRESS", "User Initiated"),
    event(2, "JobsQueue", QUEUE, "CREATE_IN_PROGRESS"),
    event(3, "UploadsBucket", BUCKET, "CREATE_IN_PROGRESS"),
    event(4, "JobsQueue", QUEUE, "CREATE_IN_PROGRESS", "Resource creation Initiated"),
    event(5, "UploadsBucket", BUCKET, "CREATE_FAILED", ALREADY),
    event(6, "JobsQueue", QUEUE, "CREATE_FAILED", "Resource creation cancelled"),
    event(7, STACK, S, "ROLLBACK_IN_PROGRESS", "The following resource(s) failed to create: [JobsQueue, "
          "UploadsBucket]. Rollback requested by user."),
    event(8, "JobsQueue", QUEUE, "DELETE_COMPLETE"),
    event(9, "UploadsBucket", BUCKET, "DELETE_COMPLETE"),
    event(10, STACK, S, "ROLLBACK_COMPLETE"),
]
#: An update whose function code is refused; the role's update is cancelled; rolled back.
FAILED_UPDATE = [
    event(20, STACK, S, "UPDATE_COMPLETE"),
    event(30, STACK, S, "UPDATE_IN_PROGRESS", "User Initiated"),
    event(31, "ResizeRole", ROLE, "UPDATE_IN_PROGRESS", physical="shop-ResizeRole-1"),
    event(32, "ResizeFunction", FUNCTION, "UPDATE_IN_PROGRESS", physical="shop-ResizeFunction-1"),
    event(33, "ResizeFunction", FUNCTION, "UPDATE_FAILED", ZIP, physical="shop-ResizeFunction-1"),
    event(34, "ResizeRole", ROLE, "UPDATE_FAILED", "Resource update cancelled", physical="shop-ResizeRole-1"),
    event(35, STACK, S, "UPDATE_ROLLBACK_IN_PROGRESS", "The following resource(s) failed to update: "
          "[ResizeFunction, ResizeRole]."),
    event(36, "ResizeFunction", FUNCTION, "UPDATE_COMPLETE", physical="shop-ResizeFunction-1"),
    event(37, STACK, S, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"),
    event(38, STACK, S, "UPDATE_ROLLBACK_COMPLETE"),
]


def newest_first(events_: list[dict[str, Any]]) -> dict[str, Any]:
    return {"StackEvents": list(reversed(events_))}


def stack(status: str, outputs: list[dict[str, str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"StackName": STACK, "StackId": STACK_ID, "CreationTime": T0, "StackStatus": status,
                            "Tags": [{"Key": "flowfn:app", "Value": "shop"}]}
    if outputs:
        body["Outputs"] = outputs
    return {"Stacks": [body]}


def change(action: str, logical: str, kind: str, replacement: str | None = None,
           physical: str | None = None) -> dict[str, Any]:
    rc: dict[str, Any] = {"Action": action, "LogicalResourceId": logical, "ResourceType": kind}
    if replacement:
        rc["Replacement"] = replacement
    if physical:
        rc["PhysicalResourceId"] = physical
    return {"Type": "Resource", "ResourceChange": rc}


def client(service: str) -> Any:
    # A real botocore client whose calls the Stubber answers; its endpoint is a closed local port.
    return boto3.session.Session(aws_access_key_id="AKIAFLOWFNTESTKEY000", aws_secret_access_key=SECRET,
                                 region_name=REGION).client(service, endpoint_url="http://127.0.0.1:9")


@dataclass
class Recorded:
    """Stubbed clients for one test, in an Aws the commands use instead of connecting."""

    aws: Aws
    cfn: Stubber
    s3: Stubber

    def cf(self, method: str, response: dict[str, Any], **params: Any) -> None:
        self.cfn.add_response(method, response, params or None)

    def cf_error(self, method: str, code: str, message: str, status: int = 400) -> None:
        self.cfn.add_client_error(method, service_error_code=code, service_message=message,
                                  http_status_code=status)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch, aws_env: None, restore_imports: None) -> Iterator[Recorded]:
    aws = Aws(session=None, region=REGION)
    aws._clients["cloudformation"] = client("cloudformation")
    aws._clients["s3"] = client("s3")
    rec = Recorded(aws, Stubber(aws._clients["cloudformation"]), Stubber(aws._clients["s3"]))
    monkeypatch.setattr("flowfn.cli_deploy._connect", lambda *a: aws)
    monkeypatch.setattr(events, "POLL_SECONDS", 0.0)
    monkeypatch.setattr(changes, "POLL_SECONDS", 0.0)
    with rec.cfn, rec.s3:
        yield rec
        rec.cfn.assert_no_pending_responses()
        rec.s3.assert_no_pending_responses()


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert SECRET not in result.output
    return result


# -- the change set -----------------------------------------------------------------------------


def test_replacing_or_removing_state_is_called_out() -> None:
    bucket = Change("Modify", "UploadsBucket", BUCKET, "shop-uploads-1", "True")
    queue = Change("Remove", "JobsQueue", QUEUE, "https://sqs/jobs")
    maybe = Change("Modify", "EventsTable", "AWS::DynamoDB::Table", "", "Conditional")
    function = Change("Modify", "ResizeFunction", FUNCTION, "f", "True")
    assert bucket.line() == "~ Modify  UploadsBucket  AWS::S3::Bucket  (replacement)"
    assert maybe.line().endswith("(may be replaced)")
    assert "bucket UploadsBucket (shop-uploads-1) is replaced by a new, empty one" in (bucket.warning() or "")
    assert "queue JobsQueue" in (queue.warning() or "") and "leaves the stack" in (queue.warning() or "")
    assert "table EventsTable may be replaced" in (maybe.warning() or "")
    assert function.warning() is None and function.replaces  # replaced, but it holds no data
    assert Change("Modify", "UploadsBucket", BUCKET, "b", "False").warning() is None
    assert Change("Add", "UploadsBucket", BUCKET).warning() is None


def _prepare_deploy(rec: Recorded, status: str | None) -> None:
    """The calls a deploy makes before its change set: the stack, the bootstrap bucket, uploads."""
    if status is None:
        rec.cf_error("describe_stacks", "ValidationError", f"Stack with id {STACK} does not exist")
    else:
        rec.cf("describe_stacks", stack(status), StackName=STACK)
    rec.cf("describe_stacks", {"Stacks": [{"StackName": "flowfn-bootstrap", "StackId": "x", "CreationTime": T0,
                                           "StackStatus": "CREATE_COMPLETE", "Outputs": [
                                               {"OutputKey": "AssetBucketName", "OutputValue": "assets-1"}]}]},
           StackName="flowfn-bootstrap")
    rec.s3.add_response("head_bucket", {}, {"Bucket": "assets-1"})
    for _ in range(2):  # the code zip and the layer: one new, one there already
        rec.s3.add_client_error("head_object", service_error_code="404", http_status_code=404)
        rec.s3.add_response("put_object", {"ETag": '"1"'}, None)


def test_update_plan_shows_replacements_and_warns_then_dry_run_deletes_it(
        recorded: Recorded, layer_cache: Callable[[str], Path]) -> None:
    cache = layer_cache(APP)
    _prepare_deploy(recorded, "UPDATE_COMPLETE")
    recorded.cf("create_change_set", {"Id": CHANGE_SET, "StackId": STACK_ID})
    recorded.cf("describe_change_set", {"Status": "CREATE_IN_PROGRESS", "ChangeSetName": "c"})
    recorded.cf("describe_change_set", {"Status": "CREATE_COMPLETE", "ExecutionStatus": "AVAILABLE", "Changes": [
        change("Modify", "UploadsBucket", BUCKET, "True", "shop-uploads-0123"),
        change("Modify", "ResizeFunction", FUNCTION, "False", "shop-ResizeFunction-1"),
    ], "NextToken": "page-2"})
    recorded.cf("describe_change_set", {"Status": "CREATE_COMPLETE", "Changes": [
        change("Remove", "JobsQueue", QUEUE, None, "https://sqs.eu-west-1.amazonaws.com/1/jobs"),
        change("Add", "WorkFunction", FUNCTION),
    ]}, ChangeSetName=CHANGE_SET, StackName=STACK_ID, NextToken="page-2")
    recorded.cf("delete_change_set", {}, ChangeSetName=CHANGE_SET, StackName=STACK_ID)
    result = run("deploy", APP, "--stack", STACK, "--dry-run", "--cache-dir", str(cache))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "change set to update stack shop: 1 to add, 2 to modify (1 replaced), 1 to remove" in lines
    assert "  ~ Modify  UploadsBucket  AWS::S3::Bucket  (replacement)" in lines
    assert "  ~ Modify  ResizeFunction  AWS::Lambda::Function" in lines
    assert "  - Remove  JobsQueue  AWS::SQS::Queue" in lines and "  + Add     WorkFunction  AWS::Lambda::Function" in lines
    warnings = [line for line in lines if line.startswith("warning:")]
    assert len(warnings) == 2
    assert "bucket UploadsBucket (shop-uploads-0123) is replaced by a new, empty one" in warnings[0]
    assert "queue JobsQueue" in warnings[1]
    assert lines[-1] == "dry run: the change set is deleted, nothing was executed"


def test_failed_first_create_names_the_first_failure_and_how_to_clear_it(
        recorded: Recorded, layer_cache: Callable[[str], Path]) -> None:
    cache = layer_cache(APP)
    _prepare_deploy(recorded, None)
    recorded.cf("create_change_set", {"Id": CHANGE_SET, "StackId": STACK_ID})
    recorded.cf("describe_change_set", {"Status": "CREATE_COMPLETE", "Changes": [
        change("Add", "JobsQueue", QUEUE), change("Add", "UploadsBucket", BUCKET)]})
    recorded.cf("describe_stack_events", newest_first(FAILED_CREATE[:1]), StackName=STACK_ID)
    recorded.cf("execute_change_set", {}, ChangeSetName=CHANGE_SET, StackName=STACK_ID)
    recorded.cf("describe_stacks", stack("CREATE_IN_PROGRESS"), StackName=STACK_ID)
    recorded.cf("describe_stack_events", newest_first(FAILED_CREATE[:5]), StackName=STACK_ID)
    recorded.cf("describe_stacks", stack("ROLLBACK_IN_PROGRESS"), StackName=STACK_ID)
    recorded.cf("describe_stack_events", {**newest_first(FAILED_CREATE[4:8]), "NextToken": "older"})
    recorded.cf("describe_stacks", stack("ROLLBACK_COMPLETE"), StackName=STACK_ID)
    recorded.cf("describe_stack_events", newest_first(FAILED_CREATE[6:]), StackName=STACK_ID)
    result = run("deploy", APP, "--stack", STACK, "--yes", "--cache-dir", str(cache))
    assert result.exit_code == 1, result.output
    out = result.output
    # Every event once, in time order, as it came.
    progress = [line.split("  ", 1)[1] for line in out.splitlines() if re.match(r"\d\d:\d\d:\d\d  ", line)]
    assert [p.split()[0:2] for p in progress] == [[e["ResourceStatus"], e["LogicalResourceId"]]
                                                  for e in FAILED_CREATE[1:]]
    assert f"deploy failed: UploadsBucket (AWS::S3::Bucket) CREATE_FAILED: {ALREADY}" in out
    assert "deploy failed: JobsQueue" not in out
    assert "left in ROLLBACK_COMPLETE" in out and f"`flowfn destroy {APP} --stack shop`" in out
    assert "outputs:" not in out


def test_failed_update_names_the_function_not_the_cancelled_role(recorded: Recorded) -> None:
    rec = recorded
    rec.cf("describe_stacks", stack("UPDATE_COMPLETE"), StackName="flowfn-bootstrap")
    rec.cf("create_change_set", {"Id": CHANGE_SET, "StackId": STACK_ID})
    rec.cf("describe_change_set", {"Status": "CREATE_COMPLETE", "Changes": [
        change("Modify", "ResizeFunction", FUNCTION, "False"), change("Modify", "ResizeRole", ROLE, "False")]})
    rec.cf("describe_stack_events", newest_first(FAILED_UPDATE[:1]))
    rec.cf("execute_change_set", {})
    rec.cf("describe_stacks", stack("UPDATE_ROLLBACK_COMPLETE"))
    rec.cf("describe_stack_events", newest_first(FAILED_UPDATE))
    result = run("bootstrap", "--stack", "flowfn-bootstrap", "--yes")
    assert result.exit_code == 1, result.output
    assert f"deploy failed: ResizeFunction (AWS::Lambda::Function) UPDATE_FAILED: {ZIP}" in result.output
    assert "rolled back to what it was before this deploy" in result.output
    assert "UPDATE_FAILED        ResizeRole  AWS::IAM::Role  Resource update cancelled" in result.output


def test_no_changes_from_cloudformation_exits_zero(recorded: Recorded) -> None:
    rec = recorded
    rec.cf("describe_stacks", stack("UPDATE_COMPLETE"))
    rec.cf("create_change_set", {"Id": CHANGE_SET, "StackId": STACK_ID})
    rec.cf("describe_change_set", {"Status": "FAILED", "StatusReason": "The submitted information didn't "
                                   "contain changes. Submit different information to create a change set."})
    rec.cf("delete_change_set", {}, ChangeSetName=CHANGE_SET, StackName=STACK_ID)
    rec.cf("describe_stacks", stack("UPDATE_COMPLETE", [{"OutputKey": "AssetBucketName", "OutputValue": "b-1"}]))
    result = run("bootstrap", "--stack", STACK, "--yes")
    assert result.exit_code == 0, result.output
    assert "no changes: stack shop is up to date" in result.output and "AssetBucketName  b-1" in result.output


def test_unconfirmed_change_set_is_deleted_when_stdin_is_not_a_terminal(recorded: Recorded) -> None:
    rec = recorded
    rec.cf_error("describe_stacks", "ValidationError", "Stack with id flowfn-bootstrap does not exist")
    rec.cf("create_change_set", {"Id": CHANGE_SET, "StackId": STACK_ID})
    rec.cf("describe_change_set", {"Status": "CREATE_COMPLETE", "Changes": [change("Add", "AssetBucket", BUCKET)]})
    rec.cf("delete_change_set", {})
    rec.cf("describe_stacks", stack("REVIEW_IN_PROGRESS"))
    rec.cf("delete_stack", {}, StackName=STACK_ID)
    result = run("bootstrap")
    assert result.exit_code == 2
    assert "stdin is not a terminal. Fix: pass --yes" in result.output


def test_answering_no_deletes_the_change_set(recorded: Recorded, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("flowfn.cli_deploy._interactive", lambda: True)
    rec = recorded
    rec.cf("describe_stacks", stack("UPDATE_COMPLETE"))
    rec.cf("create_change_set", {"Id": CHANGE_SET, "StackId": STACK_ID})
    rec.cf("describe_change_set", {"Status": "CREATE_COMPLETE", "Changes": [
        change("Modify", "AssetBucket", BUCKET, "True")]})
    rec.cf("delete_change_set", {}, ChangeSetName=CHANGE_SET, StackName=STACK_ID)
    result = CliRunner().invoke(cli, ["bootstrap", "--stack", STACK], input="n\n")
    assert result.exit_code == 1, result.output
    assert "Deploy these changes to shop? [y/N]: n" in result.output
    assert "cancelled: nothing changed" in result.output and "warning: the bucket AssetBucket" in result.output


def test_answering_yes_executes(recorded: Recorded, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("flowfn.cli_deploy._interactive", lambda: True)
    rec = recorded
    rec.cf("describe_stacks", stack("UPDATE_COMPLETE"))
    rec.cf("create_change_set", {"Id": CHANGE_SET, "StackId": STACK_ID})
    rec.cf("describe_change_set", {"Status": "CREATE_COMPLETE", "Changes": [change("Add", "AssetBucketPolicy",
                                                                                  "AWS::S3::BucketPolicy")]})
    rec.cf("describe_stack_events", newest_first(FAILED_UPDATE[:1]))
    rec.cf("execute_change_set", {}, ChangeSetName=CHANGE_SET, StackName=STACK_ID)
    rec.cf("describe_stacks", stack("UPDATE_COMPLETE"))
    rec.cf("describe_stack_events", newest_first([*FAILED_UPDATE[:1], event(40, STACK, S, "UPDATE_COMPLETE")]))
    rec.cf("describe_stacks", stack("UPDATE_COMPLETE", [{"OutputKey": "AssetBucketName", "OutputValue": "b-1"}]))
    result = CliRunner().invoke(cli, ["bootstrap", "--stack", STACK], input="y\n")
    assert result.exit_code == 0, result.output
    assert "stack shop: UPDATE_COMPLETE" in result.output and "AssetBucketName  b-1" in result.output


def test_help_lists_the_deploy_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"], env={"COLUMNS": "200"})
    for command in ("bootstrap", "deploy", "destroy", "logs"):
        assert re.search(rf"│ {command}\s+\S", result.output), result.output


def test_stack_stuck_in_rollback_complete_is_explained(recorded: Recorded) -> None:
    recorded.cf("describe_stacks", stack("ROLLBACK_COMPLETE"), StackName=STACK)
    result = run("deploy", APP, "--stack", STACK)
    assert result.exit_code == 2
    assert "in ROLLBACK_COMPLETE: its first create failed" in result.output
    assert f"`flowfn destroy {APP} --stack shop`" in result.output and "Traceback" not in result.output


def test_missing_bootstrap_is_one_line_with_the_fix(recorded: Recorded) -> None:
    recorded.cf("describe_stacks", stack("UPDATE_COMPLETE"), StackName=STACK)
    recorded.cf_error("describe_stacks", "ValidationError", "Stack with id flowfn-bootstrap does not exist")
    result = run("deploy", APP, "--stack", STACK)
    assert result.exit_code == 2
    assert "no asset bucket" in result.output and "flowfn bootstrap --region eu-west-1" in result.output


def test_too_large_template_is_one_line_with_the_fix(recorded: Recorded) -> None:
    recorded.cf("describe_stacks", stack("UPDATE_COMPLETE"))
    recorded.cf_error("create_change_set", "ValidationError",
                      "Template may not exceed 1000000 bytes in size.")
    result = run("bootstrap", "--stack", STACK)
    assert result.exit_code == 2
    assert "refuses the template: Template may not exceed 1000000 bytes" in result.output
    assert "Fix: split the app" in result.output


def test_expired_credentials_are_one_line(recorded: Recorded) -> None:
    recorded.cf_error("describe_stacks", "ExpiredToken", "The security token included in the request is expired",
                      403)
    result = run("bootstrap")
    assert result.exit_code == 2 and "credentials have expired (ExpiredToken" in result.output


# -- the modules, directly -----------------------------------------------------------------------


def test_follow_reports_each_event_once_until_the_stack_settles(recorded: Recorded) -> None:
    rec = recorded
    rec.cf("describe_stacks", stack("UPDATE_IN_PROGRESS"))
    rec.cf("describe_stack_events", newest_first(FAILED_UPDATE[:4]))
    rec.cf("describe_stacks", stack("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"))
    rec.cf("describe_stack_events", newest_first(FAILED_UPDATE[:9]))
    rec.cf("describe_stacks", stack("UPDATE_ROLLBACK_COMPLETE"))
    rec.cf("describe_stack_events", newest_first(FAILED_UPDATE))
    seen: list[str] = []
    sleeps: list[float] = []
    status, got = follow(rec.aws, STACK_ID, FAILED_UPDATE[0]["EventId"], lambda e: seen.append(e.event_id),
                         sleep=sleeps.append, poll=5)
    assert status == "UPDATE_ROLLBACK_COMPLETE" and sleeps == [5, 5]
    assert seen == [e["EventId"] for e in FAILED_UPDATE[1:]] == [e.event_id for e in got]


def test_follow_ends_at_once_when_the_operation_already_completed(recorded: Recorded) -> None:
    # moto executes a change set synchronously and records stack-level events only.
    rec = recorded
    rec.cf("describe_stacks", stack("CREATE_COMPLETE"))
    rec.cf("describe_stack_events", newest_first([event(0, STACK, S, "REVIEW_IN_PROGRESS"),
                                                  event(1, STACK, S, "CREATE_IN_PROGRESS"),
                                                  event(2, STACK, S, "CREATE_COMPLETE")]))
    status, got = follow(rec.aws, STACK_ID, f"{STACK}-REVIEW_IN_PROGRESS-0", sleep=pytest.fail)
    assert status == "CREATE_COMPLETE" and [e.status for e in got] == ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]


def test_first_failure_inside_a_nested_stack(recorded: Recorded) -> None:
    nested = [
        event(1, "ResizeRole", ROLE, "CREATE_COMPLETE", stack_id=NESTED_ID, stack="shop-FunctionsStack1-1X2Y3Z"),
        event(2, "ResizeFunction", FUNCTION, "CREATE_FAILED", "Resource handler returned message: \"The role "
              "defined for the function cannot be assumed by Lambda.\"", stack_id=NESTED_ID,
              stack="shop-FunctionsStack1-1X2Y3Z"),
        event(3, "WorkFunction", FUNCTION, "CREATE_FAILED", "Resource creation cancelled", stack_id=NESTED_ID,
              stack="shop-FunctionsStack1-1X2Y3Z"),
    ]
    recorded.cf("describe_stack_events", newest_first(nested), StackName=NESTED_ID)
    root = [
        event(1, STACK, S, "CREATE_IN_PROGRESS"),
        event(2, "FunctionsStack1", S, "CREATE_FAILED", f"Embedded stack {NESTED_ID} was not successfully "
              "created: The following resource(s) failed to create: [ResizeFunction].", physical=NESTED_ID),
        event(3, STACK, S, "ROLLBACK_IN_PROGRESS", "The following resource(s) failed to create: [FunctionsStack1]."),
    ]
    found = first_failure(recorded.aws, [events._event(e) for e in root], STACK_ID)
    assert found is not None
    assert found.line() == ("FunctionsStack1 > ResizeFunction (AWS::Lambda::Function) CREATE_FAILED: Resource "
                            "handler returned message: \"The role defined for the function cannot be assumed "
                            "by Lambda.\"")


def test_change_set_that_fails_for_another_reason_is_an_error(recorded: Recorded) -> None:
    rec = recorded
    rec.cf("create_change_set", {"Id": CHANGE_SET, "StackId": STACK_ID})
    rec.cf("describe_change_set", {"Status": "FAILED", "StatusReason": "Parameters: [AssetBucket] must have values"})
    rec.cf("delete_change_set", {})
    rec.cf("describe_stacks", stack("REVIEW_IN_PROGRESS"))
    rec.cf("delete_stack", {})
    with pytest.raises(changes.DeployError, match=r"could not work out the change set for 'shop': Parameters"):
        create_plan(rec.aws, STACK, "CREATE", {"TemplateBody": "{}"}, {}, sleep=pytest.fail)
