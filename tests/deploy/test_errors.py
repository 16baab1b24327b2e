"""Mistakes in how a deploy command is run are one line with a fix and exit code 2, never a
traceback; credentials never appear in what flowfn prints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from flowfn.cli import cli
from flowfn.deploy.bootstrap import TEMPLATE, render
from tests.deploy.conftest import SECRET, Flowfn

APP = str(Path(__file__).parent / "apps" / "shop" / "app.py")
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert SECRET not in result.output and "Traceback" not in result.output
    return result


def test_no_credentials(aws_env: None, monkeypatch: pytest.MonkeyPatch, restore_imports: None) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = run("deploy", APP, "--stack", "shop", "--region", "eu-west-1")
    assert result.exit_code == 2
    assert "no AWS credentials found. Fix: run `aws configure`" in result.output


def test_no_such_profile(aws_env: None, restore_imports: None) -> None:
    result = run("destroy", APP, "--stack", "shop", "--profile", "nope", "--region", "eu-west-1")
    assert result.exit_code == 2
    assert "--profile names the profile 'nope', which no AWS config or credentials file defines" in result.output


def test_no_region(aws_env: None, restore_imports: None) -> None:
    result = run("logs", APP, "resize", "--stack", "shop")
    assert result.exit_code == 2 and "no AWS region is set. Fix: pass --region" in result.output


def test_bad_since_is_refused_before_any_call(aws_env: None, restore_imports: None) -> None:
    result = run("logs", APP, "resize", "--since", "yesterday", "--region", "eu-west-1",
                 "--endpoint-url", "http://127.0.0.1:9")
    assert result.exit_code == 2 and "--since 'yesterday'" in result.output


def test_nothing_listening_at_the_endpoint(aws_env: None) -> None:
    result = run("bootstrap", "--region", "eu-west-1", "--endpoint-url", "http://127.0.0.1:9")
    assert result.exit_code == 2 and "cannot reach --endpoint-url http://127.0.0.1:9" in result.output


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")
def test_destroy_refuses_a_missing_stack_and_another_apps_stack(flowfn: Flowfn) -> None:
    missing = flowfn("destroy", APP, "--stack", "nope", "--yes")
    assert missing.exit_code == 2 and "no stack nope in eu-west-1: nothing to destroy" in missing.output
    assert flowfn("bootstrap", "--yes").exit_code == 0
    other = flowfn("destroy", APP, "--stack", "flowfn-bootstrap")
    assert other.exit_code == 2, other.output
    assert "Delete stack flowfn-bootstrap? needs an answer" in other.output  # no app tag: asks first
    cfn = flowfn.client("cloudformation")
    cfn.create_stack(StackName="thumbs", Tags=[{"Key": "flowfn:app", "Value": "thumbnail"}],
                     TemplateBody=json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}))
    tagged = flowfn("destroy", APP, "--stack", "thumbs", "--yes")
    assert tagged.exit_code == 2 and "holds the app 'thumbnail', not 'shop'" in tagged.output
    assert cfn.describe_stacks(StackName="thumbs")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def test_bootstrap_template_is_the_one_in_infra() -> None:
    assert (ROOT / "infra" / "bootstrap" / "template.json").read_text() == render()
    bucket = TEMPLATE["Resources"]["AssetBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == {"Ref": "AssetRetentionDays"}
    assert json.loads(render()) == TEMPLATE


def test_bootstrap_template_passes_cfn_lint() -> None:
    from cfnlint.api import lint_all

    found = [m for m in lint_all(render()) if m.rule.id[0] in "EW"]
    assert not found, found
