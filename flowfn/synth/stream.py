"""Kinesis streams in a template: the stream, its name and ARN, grants' IAM, graph node."""

from __future__ import annotations

from flowfn.resources import Access, Grant, Resource, Stream
from flowfn.synth.context import Build
from flowfn.synth.iam import Target
from flowfn.synth.ids import ResourceId, label
from flowfn.synth.refs import ACCOUNT, PARTITION, REGION, Json, join, ref

#: The IAM actions of each grant on a stream.
STREAM_ACTIONS: dict[Access, tuple[str, ...]] = {
    Access.PUT: ("kinesis:PutRecord", "kinesis:PutRecords"),
    Access.READ: ("kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
                  "kinesis:GetShardIterator", "kinesis:ListShards"),
}


def stream_name(build: Build, res: Resource) -> Json:
    """The stream's name (what a function's environment carries)."""
    assert isinstance(res, Stream)
    if res.existing is not None:
        return res.existing
    return build.share(build.rid(res) + "Name", ref(build.rid(res)))


def stream_arn(build: Build, stream: Stream) -> Json:
    """The stream's ARN."""
    if stream.existing is None:
        return build.share(build.rid(stream) + "Arn", {"Fn::GetAtt": [build.rid(stream), "Arn"]})
    return join(["arn:", PARTITION, ":kinesis:", REGION, ":", ACCOUNT, ":stream/", stream.existing])


def declare_stream(build: Build, res: Resource, rid: str) -> None:
    """A provisioned stream, encrypted with the AWS-managed key; its name as an output."""
    assert isinstance(res, Stream)
    build.resources[rid] = {
        "Type": "AWS::Kinesis::Stream",
        "Properties": {
            "ShardCount": res.shards,
            "RetentionPeriodHours": res.retention_hours,
            "StreamEncryption": {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"},
            "StreamModeDetails": {"StreamMode": "PROVISIONED"},
        },
    }
    build.outputs[rid + "Name"] = {"Description": f"Name of stream {res.logical_name}", "Value": ref(rid)}


def stream_grant_target(grant: Grant) -> tuple[Target, str]:
    """The target of a grant on a stream."""
    return Target("stream", grant.resource.logical_name), ""


def stream_target_arn(build: Build, res: Resource, target: Target) -> Json:
    """The ARN a stream target renders to."""
    assert isinstance(res, Stream)
    return stream_arn(build, res)


def stream_graph(res: Resource, rid: ResourceId, text: str) -> tuple[list[str], list[str]]:
    """A parallelogram (records flowing)."""
    return [f"  {rid(res)}[/{label(text)}/]"], []
