"""Kinesis event-source mappings: shard pollers on the emulator's Kinesis, and sample events."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flowfn.function import Handler
from flowfn.local.emulator import DUMMY_ACCOUNT, AwsTarget
from flowfn.local.shardreader import ShardInfo, shard_info
from flowfn.local.shards import Raw, stamp_ms
from flowfn.local.tumbling import windowed_sample
from flowfn.triggers.kinesis import (
    KinesisTrigger,
    aws_sequence_number,
    kinesis_event,
    kinesis_record,
    kinesis_records,
)

__all__ = ["KinesisReader", "kinesis_sample", "kinesis_sample_for"]

_POSITIONS = {"latest": "LATEST", "trim_horizon": "TRIM_HORIZON", "at_timestamp": "AT_TIMESTAMP"}


def _doc(event: dict[str, Any], data: bytes) -> dict[str, Any]:
    # What Lambda matches filters against: the record's fields, with data parsed when it is JSON.
    doc = dict(event["kinesis"])
    try:
        doc["data"] = json.loads(data)
    except ValueError:
        doc["data"] = event["kinesis"]["data"]
    return doc


class KinesisReader:
    """One Kinesis stream's shards, read through the emulator."""

    kind = "kinesis"

    def __init__(self, target: AwsTarget, name: str, arn: str, role_arn: str) -> None:
        self.client = target.client("kinesis", wire=True)
        self.region = target.region
        self.name = name
        self.source_arn = arn
        self.role_arn = role_arn

    def shards(self) -> list[ShardInfo]:
        return [shard_info(s) for s in self.client.list_shards(StreamName=self.name)["Shards"]]

    def iterator(self, shard: str, after: str | None, position: str, timestamp: float | None) -> str:
        args: dict[str, Any] = {"StreamName": self.name, "ShardId": shard}
        if after is not None:
            args.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=after)
        else:
            args["ShardIteratorType"] = _POSITIONS[position]
            if timestamp is not None:
                args["Timestamp"] = datetime.fromtimestamp(timestamp, UTC)
        return str(self.client.get_shard_iterator(**args)["ShardIterator"])

    def read(self, iterator: str, limit: int) -> tuple[list[Raw], str, str | None]:
        # The client's answers keep Data as base64 text and arrival times as Unix seconds, as the
        # event carries them.
        got = self.client.get_records(ShardIterator=iterator, Limit=limit)
        items = got["Records"]
        nxt = str(got.get("NextShardIterator") or iterator)
        if not items:
            return [], nxt, None
        shard = _shard_of(iterator)
        entries = [(i["SequenceNumber"], i["Data"], i["PartitionKey"], i["ApproximateArrivalTimestamp"])
                   for i in items]
        events = kinesis_records(entries, shard_id=shard, stream_arn=self.source_arn, region=self.region,
                                 role_arn=self.role_arn, shard=_shard_number(shard))
        # Its size in the event, bounded without writing it out: the data, the key (escaped at worst)
        # and the rest (the ARNs and fields of fixed length).
        fixed = len(self.source_arn) + len(self.role_arn) + 512
        out = [Raw(raw, event["kinesis"]["sequenceNumber"], arrival, key, event, None,
                   len(data) + 6 * len(key) + fixed)
               for (raw, data, key, arrival), event in zip(entries, events, strict=True)]
        return out, nxt, items[-1]["SequenceNumber"]

    def batch_event(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return kinesis_event(records)

    def batch_info(self) -> str:
        return "KinesisBatchInfo"

    def arrival_stamp(self, seconds: float) -> str:
        return stamp_ms(seconds)

    def doc(self, record: Raw) -> dict[str, Any]:
        if record.doc is None:
            record.doc = _doc(record.event, base64.b64decode(record.event["kinesis"]["data"]))
        return record.doc


def _shard_of(iterator: str) -> str:
    # moto's iterators are base64 of "<stream>:<shard>:<sequence>"; any other emulator's: unknown.
    try:
        parts = base64.b64decode(iterator).decode().split(":")
        return next(p for p in parts if p.startswith("shardId-"))
    except (ValueError, StopIteration):
        return "shardId-000000000000"


def _shard_number(shard: str) -> int:
    digits = shard.rsplit("-", 1)[-1]
    return int(digits) if digits.isdigit() else 0


def kinesis_sample(stream: str, payloads: list[Any], *, region: str = "us-east-1",
                   partition_key: str = "sample", time: datetime | None = None) -> dict[str, Any]:
    """A Kinesis batch of ``payloads`` (bytes, str, or JSON values) from ``stream``."""
    arrival = (time or datetime.now(UTC)).timestamp()
    arn = f"arn:aws:kinesis:{region}:{DUMMY_ACCOUNT}:stream/{stream}"
    role = f"arn:aws:iam::{DUMMY_ACCOUNT}:role/{stream}-consumer"
    records = []
    for index, payload in enumerate(payloads):
        data = payload if isinstance(payload, bytes) else (
            payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
        records.append(kinesis_record(
            data=base64.b64encode(data).decode(), partition_key=partition_key,
            sequence_number=aws_sequence_number(str(index + 1)),
            arrival=arrival, shard_id="shardId-000000000000", stream_arn=arn, region=region, role_arn=role))
    return kinesis_event(records)


def kinesis_sample_for(handler: Handler, names: Mapping[str, str], region: str) -> dict[str, Any]:
    """The sample event of ``flowfn invoke`` for a Kinesis handler, naming its real stream when known."""
    trigger = handler.trigger
    assert isinstance(trigger, KinesisTrigger)
    stream = names.get(trigger.stream.logical_name, trigger.stream.logical_name)
    return windowed_sample(kinesis_sample(stream, [{"sample": True}], region=region), trigger,
                           "shardId-000000000000")
