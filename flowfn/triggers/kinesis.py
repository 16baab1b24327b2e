"""Kinesis event-source mappings: the trigger spec, its validation and AWS-exact events."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from flowfn.errors import ConfigError
from flowfn.resources import Access, Stream
from flowfn.triggers.streaming import StreamSettings, check_filters, stream_settings

#: What a Kinesis filter pattern may select on.
FILTER_KEYS = {"data", "partitionKey", "sequenceNumber", "kinesisSchemaVersion",
               "approximateArrivalTimestamp"}


class KinesisTrigger(StreamSettings):
    """Run the handler on records of a Kinesis data stream, shard by shard, in order.

    By default the handler gets one :class:`~flowfn.runtime.kinesis.KinesisRecord` at a time and a
    record whose handler raises is reported failed (with it, every later record of its shard is
    retried); ``batch=True`` passes the whole batch. With ``model=`` each record's data is parsed
    as JSON into that pydantic model first. The mapping's settings are :class:`StreamSettings`'.
    """

    kind: ClassVar[str] = "kinesis"

    @property
    def stream(self) -> Stream:
        """The stream read."""
        assert isinstance(self.source, Stream)
        return self.source

    def describe(self) -> str:
        return f"kinesis {self.stream.logical_name} ({self.settings_text()})"

    def check(self, subject: str, settings: Any) -> None:
        if self.filters:  # the filters may keep what the handler puts away from it
            return
        for grant in settings.uses:
            if grant.access is Access.PUT and isinstance(grant.resource, Stream) \
                    and grant.resource.logical_name == self.stream.logical_name:
                raise ConfigError(
                    subject, "uses",
                    f"it may put records into stream {self.stream.logical_name!r}, whose every record "
                    "invokes it: each record it puts would invoke it again, without end",
                    "put into another stream, or pass filters= that keep the records it puts from it",
                )


def make_kinesis_trigger(
    stream: Stream, subject: str, filters: Any = None, **settings: Any
) -> KinesisTrigger:
    """The validated trigger (``settings`` are :func:`stream_settings`' keywords)."""
    if not isinstance(stream, Stream):
        raise ConfigError(subject, "stream", f"{stream!r} is not a Stream",
                          "declare it with Stream('name') and pass that object")
    checked = stream_settings(subject, positions=("latest", "trim_horizon", "at_timestamp"), **settings)
    return KinesisTrigger(source=stream, filters=check_filters(subject, filters, FILTER_KEYS), **checked)


# -- AWS-exact events: what a Kinesis event-source mapping sends Lambda ------------------------


def aws_sequence_number(raw: str, shard: int = 0) -> str:
    """A Kinesis sequence number in AWS's 56-digit form. An emulator's short ones (counted per
    shard) are padded, keeping their order, with the shard's number in them so they stay unique
    in the stream."""
    return raw if len(raw) >= 20 else "49" + str(shard).rjust(6, "0") + raw.rjust(48, "0")


def kinesis_record(
    *, data: str, partition_key: str, sequence_number: str, arrival: float, shard_id: str,
    stream_arn: str, region: str, role_arn: str,
) -> dict[str, Any]:
    """One Lambda Kinesis record (``data``: the record's bytes in base64, as Kinesis answers and
    Lambda delivers them)."""
    return kinesis_records([(sequence_number, data, partition_key, arrival)], shard_id=shard_id,
                           stream_arn=stream_arn, region=region, role_arn=role_arn)[0]


def kinesis_records(
    entries: Iterable[tuple[str, str, str, float]], *, shard_id: str, stream_arn: str, region: str,
    role_arn: str, shard: int = 0,
) -> list[dict[str, Any]]:
    """Lambda Kinesis records of one shard, from (sequence number, data in base64, partition key,
    arrival) entries; a sequence number as :func:`aws_sequence_number` writes it (``shard``: the
    shard's number)."""
    out = []
    for raw, data, key, arrival in entries:
        sequence_number = aws_sequence_number(raw, shard)
        out.append({
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": key,
                "sequenceNumber": sequence_number,
                "data": data,
                "approximateArrivalTimestamp": round(arrival, 3),
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{shard_id}:{sequence_number}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": role_arn,
            "awsRegion": region,
            "eventSourceARN": stream_arn,
        })
    return out


def kinesis_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The Kinesis event Lambda receives: ``{"Records": [...]}``."""
    return {"Records": records}
