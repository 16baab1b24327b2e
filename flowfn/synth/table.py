"""DynamoDB tables in a template: the table (with its stream), name and ARNs, grants' IAM, graph node."""

from __future__ import annotations

import re
from typing import Any

from flowfn.resources import Access, Grant, Resource, Table
from flowfn.resources.index import table_schema
from flowfn.synth.context import Build
from flowfn.synth.iam import Target
from flowfn.synth.ids import ResourceId, label
from flowfn.synth.refs import ACCOUNT, PARTITION, REGION, Json, join, ref

#: The IAM actions of each grant on a table.
TABLE_ACTIONS: dict[Access, tuple[str, ...]] = {
    Access.READ: ("dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable",
                  "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"),
    Access.WRITE: ("dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
                   "dynamodb:DescribeTable", "dynamodb:PutItem", "dynamodb:UpdateItem"),
    Access.READ_STREAM: ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"),
}

#: What Lambda's event-source mapping reads a table's stream with. ``dynamodb:ListStreams`` is not
#: needed: the mapping names the stream's ARN, and AWS grants ListStreams only on ``*``.
STREAM_READ_ACTIONS = TABLE_ACTIONS[Access.READ_STREAM]


def table_name(build: Build, res: Resource) -> Json:
    """The table's name (what a function's environment carries)."""
    assert isinstance(res, Table)
    if res.existing is not None:
        return res.existing
    return build.share(build.rid(res) + "Name", ref(build.rid(res)))


def table_arn(build: Build, table: Table) -> Json:
    """The table's ARN."""
    return join(["arn:", PARTITION, ":dynamodb:", REGION, ":", ACCOUNT, ":table/", table_name(build, table)])


def table_stream_arn(build: Build, table: Table) -> Json:
    """The ARN of the table's stream. An existing table's is the ``stream_arn=`` it was declared
    with, as the default of a template parameter (another account's stack passes its own), or,
    without one, every stream of the table."""
    key = build.rid(table) + "StreamArn"
    if table.existing is not None and table.stream_arn is not None:
        build.parameters[key] = {
            "Type": "String",
            "Default": table.stream_arn,
            "AllowedPattern": "arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/"
                              + re.escape(table.existing) + "/stream/.+",
            "Description": f"ARN of the stream of existing table {table.existing}",
        }
        return build.share(key, ref(key))
    if table.existing is not None:
        return join([table_arn(build, table), "/stream/*"])
    return build.share(key, {"Fn::GetAtt": [build.rid(table), "StreamArn"]})


def declare_table(build: Build, res: Resource, rid: str) -> None:
    """An on-demand, encrypted table with point-in-time recovery, its indexes and stream; its name as
    output."""
    assert isinstance(res, Table)
    assert res.key is not None  # a managed table has a partition key
    props: dict[str, Any] = {
        **table_schema(res.key, res.sort_key, res.global_indexes, res.local_indexes),
        "BillingMode": "PAY_PER_REQUEST",
        "SSESpecification": {"SSEEnabled": True},
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": res.point_in_time_recovery},
    }
    if res.stream_view is not None:
        props["StreamSpecification"] = {"StreamViewType": res.stream_view}
    build.resources[rid] = {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain",
                            "UpdateReplacePolicy": "Retain", "Properties": props}
    build.outputs[rid + "Name"] = {"Description": f"Name of table {res.logical_name}", "Value": ref(rid)}


def table_grant_target(grant: Grant) -> tuple[Target, str]:
    """The target of a grant on a table: its stream for read_stream, else the table."""
    if grant.access is Access.READ_STREAM:
        return Target("table-stream", grant.resource.logical_name), ""
    return Target("table", grant.resource.logical_name), ""


def table_index_targets(grant: Grant) -> tuple[Target, ...]:
    """A read grant covers the table's indexes too: those it declares, or, for an existing table
    (whose indexes flowfn cannot know), any."""
    res = grant.resource
    assert isinstance(res, Table)
    if grant.access is Access.READ and (res.all_indexes or res.existing is not None):
        return (Target("table-index", res.logical_name),)
    return ()


def table_target_arn(build: Build, res: Resource, target: Target) -> Json:
    """The ARN a table target renders to: the stream's, every index's, or the table's."""
    assert isinstance(res, Table)
    if target.kind == "table-stream":
        return table_stream_arn(build, res)
    if target.kind == "table-index":
        return join([table_arn(build, res), "/index/*"])
    return table_arn(build, res)


def table_graph(res: Resource, rid: ResourceId, text: str) -> tuple[list[str], list[str]]:
    """A cylinder."""
    return [f"  {rid(res)}[({label(text)})]"], []
