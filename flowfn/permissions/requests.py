"""From one botocore call to the authorization requests AWS evaluates for it.

A request is an IAM action on a resource ARN, with the condition keys AWS sets for it
(``s3:prefix`` for listings). The ARN is built from the call's parameters, the way the service
builds it: ``Bucket`` and ``Key`` for S3, the queue's name from ``QueueUrl`` for SQS, and so on.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from flowfn.permissions.actions import MAPPED, UNSUPPORTED

__all__ = ["Request", "requests_for"]


@dataclass(frozen=True)
class Request:
    """One thing AWS authorizes: ``action`` on ``resource``, with condition ``keys``."""

    action: str
    resource: str
    keys: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Where:
    """The region, account and partition ARNs are built in."""

    region: str
    account: str
    partition: str = "aws"

    def arn(self, service: str, rest: str, *, regional: bool = True) -> str:
        if not regional:
            return f"arn:{self.partition}:{service}:::{rest}"
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{rest}"


def _bucket(p: Mapping[str, Any], w: Where) -> str:
    return w.arn("s3", str(p.get("Bucket", "")), regional=False)


def _object(p: Mapping[str, Any], w: Where) -> str:
    return f"{_bucket(p, w)}/{p.get('Key', '')}"


def _queue(p: Mapping[str, Any], w: Where) -> str:
    url = str(p.get("QueueUrl") or "")
    if not url:
        owner = str(p.get("QueueOwnerAWSAccountId") or w.account)
        return f"arn:{w.partition}:sqs:{w.region}:{owner}:{p.get('QueueName', '')}"
    parts = url.rstrip("/").rsplit("/", 2)
    owner = parts[-2] if len(parts) == 3 and parts[-2].isdigit() else w.account
    return f"arn:{w.partition}:sqs:{w.region}:{owner}:{parts[-1]}"


def _table(p: Mapping[str, Any], w: Where) -> str:
    value = p.get("TableName") or p.get("TableArn") or ""
    return str(value) if str(value).startswith("arn:") else w.arn("dynamodb", f"table/{value}")


def _table_or_index(p: Mapping[str, Any], w: Where) -> str:
    """A Query's or Scan's resource: the index's ARN when it reads one (AWS checks only that)."""
    table = _table(p, w)
    return f"{table}/index/{p['IndexName']}" if p.get("IndexName") else table


def _stream(p: Mapping[str, Any], w: Where) -> str:
    if p.get("StreamARN"):
        return str(p["StreamARN"])
    name = p.get("StreamName") or _iterator_stream(p.get("ShardIterator"))
    return w.arn("kinesis", f"stream/{name or ''}")


def _iterator_stream(iterator: Any) -> str:
    """The stream a Kinesis ``GetRecords`` reads, from its shard iterator (AWS reads it from there;
    the emulator's iterator is ``stream:shard:sequence`` in base64). Empty when it cannot tell."""
    if not isinstance(iterator, str):
        return ""
    try:
        text = base64.b64decode(iterator.encode(), validate=False).decode()
    except (ValueError, UnicodeDecodeError):
        return ""
    name, found, _ = text.partition(":")
    return name if found and _STREAM_NAME.fullmatch(name) else ""


_STREAM_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")


def _table_stream(p: Mapping[str, Any], w: Where) -> str:
    if p.get("StreamArn"):
        return str(p["StreamArn"])
    # A GetRecords names its stream through its shard iterator: the emulator's begins with the
    # stream's ARN, then "|".
    iterator = str(p.get("ShardIterator") or "")
    arn = iterator.partition("|")[0]
    if "|" in iterator and arn.startswith("arn:") and "/stream/" in arn:
        return arn
    return w.arn("dynamodb", "table/*/stream/*")


def _topic(p: Mapping[str, Any], w: Where) -> str:
    value = p.get("TopicArn") or p.get("TargetArn")
    return str(value) if value else "*"  # a phone number: SNS checks sns:Publish on "*"


def _bus(p: Mapping[str, Any], w: Where) -> str:
    value = str(p.get("EventBusName") or p.get("Name") or "default")
    return value if value.startswith("arn:") else w.arn("events", f"event-bus/{value}")


def _function(p: Mapping[str, Any], w: Where) -> str:
    value = str(p.get("FunctionName", ""))
    if value.startswith("arn:"):
        return value
    name, _, qualifier = value.partition(":")
    qualifier = qualifier or str(p.get("Qualifier") or "")
    return w.arn("lambda", f"function:{name}" + (f":{qualifier}" if qualifier else ""))


ArnBuilder = Callable[[Mapping[str, Any], Where], str]

#: How the resource of each kind in :data:`MAPPED` is built from a call's parameters.
ARNS: dict[str, ArnBuilder] = {
    "bucket": _bucket, "object": _object, "queue": _queue, "table": _table, "table-or-index": _table_or_index,
    "stream": _stream,
    "table-stream": _table_stream, "topic": _topic, "bus": _bus, "function": _function,
    "*": lambda p, w: "*",
}


def _copy_source(action: str, p: Mapping[str, Any], w: Where) -> list[Request]:
    source = p.get("CopySource")
    if isinstance(source, Mapping):
        bucket, key = str(source.get("Bucket", "")), str(source.get("Key", ""))
    else:
        text = unquote(str(source or "")).lstrip("/").split("?versionId=", 1)[0]
        bucket, _, key = text.partition("/")
    return [Request(action, w.arn("s3", f"{bucket}/{key}", regional=False))]


def _each_key(action: str, p: Mapping[str, Any], w: Where) -> list[Request]:
    objects = (p.get("Delete") or {}).get("Objects") or []
    return [Request(action, _object({"Bucket": p.get("Bucket"), "Key": o.get("Key", "")}, w))
            for o in objects]


def _bucket_prefix(action: str, p: Mapping[str, Any], w: Where) -> list[Request]:
    keys = {"s3:prefix": str(p["Prefix"])} if "Prefix" in p else {}
    return [Request(action, _bucket(p, w), keys)]


def _each_table(action: str, p: Mapping[str, Any], w: Where) -> list[Request]:
    tables = p.get("RequestItems") or {}
    return [Request(action, _table({"TableName": t}, w)) for t in tables]


#: The action of each part of a DynamoDB transaction.
_TRANSACT = {"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem",
             "Delete": "dynamodb:DeleteItem", "ConditionCheck": "dynamodb:ConditionCheckItem",
             "Get": "dynamodb:GetItem"}


def _each_item(action: str, p: Mapping[str, Any], w: Where) -> list[Request]:
    out = []
    for item in p.get("TransactItems") or []:
        for part, body in item.items():
            out.append(Request(_TRANSACT.get(part, action), _table(body, w)))
    return out


def _each_entry_bus(action: str, p: Mapping[str, Any], w: Where) -> list[Request]:
    buses = dict.fromkeys(_bus(e, w) for e in p.get("Entries") or [])
    return [Request(action, bus) for bus in buses]


RuleBuilder = Callable[[str, Mapping[str, Any], Where], list[Request]]

#: Operations whose requests depend on more than one resource parameter.
RULES: dict[str, RuleBuilder] = {
    "@copy-source": _copy_source, "@each-key": _each_key, "@bucket-prefix": _bucket_prefix,
    "@each-table": _each_table, "@each-item": _each_item, "@each-entry-bus": _each_entry_bus,
}


def requests_for(service: str, operation: str, params: Mapping[str, Any], *, region: str,
                 account: str) -> list[Request] | None:
    """What AWS authorizes for ``operation`` of ``service`` called with ``params``; None when
    flowfn does not check the operation (a service it does not model, or an unsupported call)."""
    rules = MAPPED.get(service, {}).get(operation)
    if rules is None:
        return None
    assert operation not in UNSUPPORTED.get(service, frozenset())
    where = Where(region, account)
    out: list[Request] = []
    for action, kind in rules:
        if kind.startswith("@"):
            out.extend(RULES[kind](action, params, where))
        else:
            out.append(Request(action, ARNS[kind](params, where)))
    return out
