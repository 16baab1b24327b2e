"""The operation-to-action table, held to botocore's operation lists and policy_sentry's database."""

from __future__ import annotations

import re
from typing import Any

import botocore.session
import pytest
from policy_sentry.querying.actions import get_action_data

from flowfn.permissions.actions import MAPPED, UNSUPPORTED
from flowfn.permissions.requests import requests_for

REGION, ACCOUNT = "eu-west-1", "111122223333"

#: Parameters enough to name every resource the mapped operations touch.
PARAMS: dict[str, Any] = {
    "Bucket": "b", "Key": "dir/k.txt", "CopySource": {"Bucket": "src", "Key": "a/b.txt"},
    "Delete": {"Objects": [{"Key": "x"}, {"Key": "y/z"}]}, "Prefix": "dir/",
    "QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q", "QueueName": "q",
    "TableName": "t", "RequestItems": {"t1": {}, "t2": {}},
    "TransactItems": [{"Put": {"TableName": "a"}}, {"Update": {"TableName": "b"}},
                      {"Delete": {"TableName": "c"}}, {"ConditionCheck": {"TableName": "d"}}],
    "StreamName": "s", "StreamArn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t/stream/2025",
    "TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:topic", "EventBusName": "bus",
    "Entries": [{"EventBusName": "one"}, {}], "FunctionName": "f",
}


@pytest.mark.parametrize("service", sorted(MAPPED))
def test_every_botocore_operation_is_mapped_or_marked_unsupported(service: str) -> None:
    operations = set(botocore.session.get_session().get_service_model(service).operation_names)
    mapped, unsupported = set(MAPPED[service]), UNSUPPORTED[service]
    assert not mapped & unsupported
    assert operations - mapped - unsupported == set(), "new operations: map them or mark them"
    assert (mapped | unsupported) - operations == set(), "operations botocore no longer has"


def _arn_pattern(fmt: str) -> re.Pattern[str]:
    parts = re.split(r"(\$\{[A-Za-z]+\})", fmt)
    body = "".join(".+" if p.startswith("${") else re.escape(p) for p in parts)
    return re.compile(body)


def _cases() -> list[tuple[str, str]]:
    return [(s, op) for s in sorted(MAPPED) for op in sorted(MAPPED[s])]


@pytest.mark.parametrize(("service", "operation"), _cases())
def test_each_request_is_an_iam_action_on_an_arn_of_the_type_it_takes(service: str, operation: str) -> None:
    requests = requests_for(service, operation, PARAMS, region=REGION, account=ACCOUNT)
    assert requests
    for request in requests:
        prefix, name = request.action.split(":")
        found = get_action_data(prefix, name).get(prefix, [])
        assert found, f"{request.action} is not an IAM action"
        formats = [f["resource_arn_format"] for f in found]
        if request.resource == "*":
            assert "*" in formats, (request, formats)
        else:
            assert any(f != "*" and _arn_pattern(f.replace("${Partition}", "aws")).fullmatch(request.resource)
                       for f in formats), (request, formats)


def test_operations_whose_action_is_not_their_name() -> None:
    def actions(service: str, operation: str) -> list[tuple[str, str, dict[str, str]]]:
        found = requests_for(service, operation, PARAMS, region=REGION, account=ACCOUNT) or []
        return [(r.action, r.resource, dict(r.keys)) for r in found]

    assert actions("sqs", "SendMessageBatch") == [
        ("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:q", {})]
    assert actions("s3", "CopyObject") == [("s3:PutObject", "arn:aws:s3:::b/dir/k.txt", {}),
                                           ("s3:GetObject", "arn:aws:s3:::src/a/b.txt", {})]
    assert actions("s3", "ListObjectsV2") == [("s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "dir/"})]
    assert [a for a, _, _ in actions("dynamodb", "TransactWriteItems")] == [
        "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"]
    assert actions("lambda", "Invoke") == [
        ("lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f", {})]
    assert requests_for("sts", "GetCallerIdentity", {}, region=REGION, account=ACCOUNT) is None
    assert requests_for("s3", "DeleteBucket", PARAMS, region=REGION, account=ACCOUNT) is None
