"""What a deployed stack tells its user: its outputs (the HTTP API's URL, bucket, queue, table,
stream and topic names), or, from an emulator that reports no outputs, its named resources."""

from __future__ import annotations

from typing import Any

from flowfn.deploy.aws import Aws

__all__ = ["NAMED", "app_stacks", "stack_outputs", "stack_resources"]

#: Resource types whose physical id is what a user looks for, and what to call it.
NAMED = {
    "AWS::S3::Bucket": "bucket",
    "AWS::SQS::Queue": "queue",
    "AWS::DynamoDB::Table": "table",
    "AWS::Kinesis::Stream": "stream",
    "AWS::SNS::Topic": "topic",
    "AWS::ApiGatewayV2::Api": "HTTP API",
}
#: The tag flowfn deploy puts on an app's stack.
APP_TAG = "flowfn:app"


def stack_outputs(aws: Aws, stack: str) -> list[tuple[str, str]]:
    """(label, value) pairs: the stack's outputs, else its named resources' physical ids."""
    described: dict[str, Any] = aws.cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    outputs = described.get("Outputs") or []
    if outputs:
        return sorted((str(o["OutputKey"]), str(o.get("OutputValue", ""))) for o in outputs)
    return sorted((f"{NAMED[kind]} {logical}", physical)
                  for logical, (kind, physical) in stack_resources(aws, stack).items()
                  if kind in NAMED and physical)


def app_stacks(aws: Aws, app_name: str) -> list[str]:
    """Names of the stacks flowfn deploy made for the app called ``app_name`` in this region."""
    out = []
    paginator = aws.cloudformation.get_paginator("describe_stacks")
    for page in paginator.paginate():
        for stack in page.get("Stacks") or []:
            tags = {t["Key"]: t["Value"] for t in stack.get("Tags") or []}
            if tags.get(APP_TAG) == app_name and stack.get("StackStatus") != "DELETE_COMPLETE":
                out.append(str(stack["StackName"]))
    return sorted(out)


def stack_resources(aws: Aws, stack: str) -> dict[str, tuple[str, str]]:
    """Each resource of the stack: logical id -> (type, physical id, '' when it has none)."""
    found = {}
    paginator = aws.cloudformation.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack):
        for item in page.get("StackResourceSummaries") or []:
            found[str(item["LogicalResourceId"])] = (str(item["ResourceType"]),
                                                     str(item.get("PhysicalResourceId") or ""))
    return found
