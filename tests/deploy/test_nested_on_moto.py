"""An app past CloudFormation's per-stack limits deploys as a root stack and nested stacks whose
templates are uploaded beside the code and read from the asset bucket; a root template too large
to pass inline is read from there too."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.deploy.conftest import Flowfn

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")]

APP = str(Path(__file__).parent / "apps" / "many" / "app.py")


def test_nested_stacks_are_uploaded_and_created(flowfn: Flowfn, layer_cache: Callable[[str], Path]) -> None:
    cache = str(layer_cache(APP))
    assert flowfn("bootstrap", "--yes").exit_code == 0
    result = flowfn("deploy", APP, "--stack", "many", "--yes", "--cache-dir", cache)
    assert result.exit_code == 0, result.output
    uploads = sorted(line.split("/many/")[1].split()[0] for line in result.output.splitlines()
                     if line.startswith("uploading s3://"))
    nested = [u for u in uploads if u.startswith("functions-")]
    assert len(nested) == 3 and any(u.startswith("code-") for u in uploads), uploads
    cfn = flowfn.client("cloudformation")
    root = {r["LogicalResourceId"]: r for r in cfn.list_stack_resources(StackName="many")["StackResourceSummaries"]}
    assert sorted(k for k, r in root.items() if r["ResourceType"] == "AWS::CloudFormation::Stack") == [
        "FunctionsStack1", "FunctionsStack2", "FunctionsStack3"]
    template = cfn.get_template(StackName="many")["TemplateBody"]
    urls = sorted(json.loads(json.dumps(template))["Resources"][f"FunctionsStack{n}"]["Properties"][
        "TemplateURL"]["Fn::Sub"] for n in (1, 2, 3))
    assert [u.rsplit("/", 1)[1].removeprefix("${AssetPrefix}") for u in urls] == nested  # the keys the root stack reads are the uploaded ones
    functions = flowfn.client("lambda").get_paginator("list_functions").paginate()
    assert sum(len(page["Functions"]) for page in functions) == 90


def test_a_template_too_large_to_pass_inline_is_read_from_the_bucket(
        flowfn: Flowfn, layer_cache: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    shop = str(Path(__file__).parent / "apps" / "shop" / "app.py")
    monkeypatch.setattr("flowfn.deploy.assets.INLINE_TEMPLATE_BYTES", 1000)
    cache = str(layer_cache(shop))
    assert flowfn("bootstrap", "--yes").exit_code == 0
    result = flowfn("deploy", shop, "--stack", "shop", "--yes", "--cache-dir", cache)
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("template ("))
    assert "over 1,000 inline) at https://flowfn-bootstrap-assetbucket-" in line
    assert ".s3.eu-west-1.amazonaws.com/shop/template-" in line
    resources = flowfn.client("cloudformation").list_stack_resources(StackName="shop")["StackResourceSummaries"]
    assert {"ResizeFunction", "WorkFunction", "UploadsBucket"} <= {r["LogicalResourceId"] for r in resources}
