"""Kinesis streams in the emulator: named by their logical name (or the existing name)."""

from __future__ import annotations

from flowfn.app import App
from flowfn.local.provision import Bindings
from flowfn.resources import Resource, Stream


def stream_name(res: Resource) -> str:
    """A stream's local name: the existing stream's name, or its logical name."""
    assert isinstance(res, Stream)
    return res.existing or res.logical_name


def provision_streams(app: App, out: Bindings, resources: list[Resource]) -> None:
    """Create the streams that do not exist yet, with their shard counts; record names and ARNs."""
    kinesis = out.target.client("kinesis")
    for stream in resources:
        assert isinstance(stream, Stream)
        name = stream_name(stream)
        try:
            summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        except kinesis.exceptions.ResourceNotFoundException:
            kinesis.create_stream(StreamName=name, ShardCount=stream.shards)
            summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        out.names[("stream", stream.logical_name)] = name
        out.arns[("stream", stream.logical_name)] = summary["StreamARN"]


def stream_physical(bindings: Bindings, res: Resource) -> str:
    """What a function's environment carries for a stream: its name."""
    return bindings.names[("stream", res.logical_name)]
