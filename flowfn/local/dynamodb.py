"""DynamoDB Streams event-source mappings: shard pollers on the emulator's streams, and samples.

The emulator's stream records differ from AWS's in known ways, normalised here so handlers see
what AWS sends: an ``update_item`` on a missing key gives two INSERT records (AWS: one, the
second's image); a write that changes nothing gives a MODIFY (AWS: none; dropped here when the
view carries both images); ``awsRegion`` is always us-east-1 (the run's region here); sequence
numbers are short (padded to AWS's 21 digits, in order); a binary (``B``) key is base64-encoded
twice in a record's ``Keys`` (taken from the record's image, which has it right, or else decoded
once when the table declares the key binary and the value is base64 of base64 text).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flowfn.function import Handler
from flowfn.local.emulator import DUMMY_ACCOUNT, AwsTarget
from flowfn.local.shardreader import ShardInfo, shard_info
from flowfn.local.shards import Raw
from flowfn.local.tumbling import windowed_sample
from flowfn.triggers.dynamodb import (
    DynamoDbStreamTrigger,
    aws_ddb_sequence_number,
    dynamodb_event,
    dynamodb_record,
)

__all__ = ["DynamoDbReader", "dynamodb_sample", "dynamodb_sample_for"]

_POSITIONS = {"latest": "LATEST", "trim_horizon": "TRIM_HORIZON"}


def _created(value: Any) -> float:
    # To the second, as DynamoDB stamps a change (and as the record's ApproximateCreationDateTime says).
    return float(int(value.timestamp() if isinstance(value, datetime) else value))


class DynamoDbReader:
    """One table's stream, read through the emulator."""

    kind = "dynamodb"

    def __init__(self, target: AwsTarget, arn: str, binary_keys: frozenset[str] = frozenset()) -> None:
        # Its answers keep binary attributes as base64 text, as Lambda's event carries them.
        self.client = target.client("dynamodbstreams", wire=True)
        self.region = target.region
        self.source_arn = arn
        #: The table's key attributes declared binary.
        self.binary_keys = binary_keys

    def shards(self) -> list[ShardInfo]:
        return [shard_info(s) for s in self._shards()]

    def _shards(self) -> list[dict[str, Any]]:
        return list(self.client.describe_stream(StreamArn=self.source_arn)["StreamDescription"]["Shards"])

    def iterator(self, shard: str, after: str | None, position: str, timestamp: float | None) -> str:
        args: dict[str, Any] = {"StreamArn": self.source_arn, "ShardId": shard}
        if after is not None:
            # A checkpoint before what the shard holds (records a restart did not keep, because
            # every mapping reading them then had handled them) resumes at its oldest record.
            first = next((s["SequenceNumberRange"].get("StartingSequenceNumber") for s in self._shards()
                          if s["ShardId"] == shard), None)
            if first is not None and int(after) < int(first) - 1:
                after, position = None, "trim_horizon"
        if after is not None:
            args.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after)
        else:
            args["ShardIteratorType"] = _POSITIONS[position]
        return str(self.client.get_shard_iterator(**args)["ShardIterator"])

    def read(self, iterator: str, limit: int) -> tuple[list[Raw], str, str | None]:
        got = self.client.get_records(ShardIterator=iterator, Limit=limit)
        items = list(got["Records"])
        nxt = str(got.get("NextShardIterator") or iterator)
        if len(items) == limit and items[-1]["eventName"] == "INSERT":
            # The emulator's update_item on a missing key writes two INSERTs at once: when a full
            # page ends on an INSERT, see whether its twin is next, so the pair is never split.
            more = self.client.get_records(ShardIterator=nxt, Limit=1)
            if more["Records"] and _twin(items[-1], more["Records"][0]):
                items.append(more["Records"][0])
                nxt = str(more.get("NextShardIterator") or nxt)
        out: list[Raw] = []
        for index, item in enumerate(items):
            if index + 1 < len(items) and _twin(item, items[index + 1]):
                continue  # the first of an update_item's two INSERTs
            body = item["dynamodb"]
            unchanged = "OldImage" in body and body.get("OldImage") == body.get("NewImage")
            if item["eventName"] == "MODIFY" and unchanged:
                continue  # a write that changed nothing: AWS writes no record
            if self.binary_keys:
                item = _keys_fixed(item, self.binary_keys)
            raw = str(body["SequenceNumber"])
            seq = aws_ddb_sequence_number(raw)
            event = dynamodb_record(item, stream_arn=self.source_arn, region=self.region, sequence_number=seq)
            arrival = _created(body.get("ApproximateCreationDateTime", 0))
            out.append(Raw(raw, seq, arrival, json.dumps(body.get("Keys", {}), sort_keys=True), event, event))
        return out, nxt, str(items[-1]["dynamodb"]["SequenceNumber"]) if items else None

    def batch_event(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return dynamodb_event(records)

    def batch_info(self) -> str:
        return "DDBStreamBatchInfo"

    def arrival_stamp(self, seconds: float) -> str:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def doc(self, record: Raw) -> dict[str, Any]:
        return record.event


def _keys_fixed(item: dict[str, Any], binary: frozenset[str]) -> dict[str, Any]:
    """``item`` with its binary keys as AWS writes them (base64 once; see the module's docstring)."""
    body = item["dynamodb"]
    keys = dict(body.get("Keys") or {})
    image = body.get("NewImage") or body.get("OldImage") or {}
    for name in binary & keys.keys():
        if name in image:
            keys[name] = image[name]
        elif type(keys[name]) is dict and isinstance(keys[name].get("B"), str):
            keys[name] = {"B": _once(keys[name]["B"])}
    return {**item, "dynamodb": {**body, "Keys": keys}}


def _once(text: str) -> str:
    try:
        inner = base64.b64decode(text, validate=True).decode("ascii")
        base64.b64decode(inner, validate=True)
    except ValueError:  # not base64 of base64 text: as sent
        return text
    return inner


def _twin(first: dict[str, Any], second: dict[str, Any]) -> bool:
    return (first["eventName"] == "INSERT" and second["eventName"] == "INSERT"
            and first["dynamodb"].get("Keys") == second["dynamodb"].get("Keys")
            and int(second["dynamodb"]["SequenceNumber"]) == int(first["dynamodb"]["SequenceNumber"]) + 1)


def dynamodb_sample(table: str, changes: list[tuple[str, dict[str, Any], dict[str, Any] | None,
                                                    dict[str, Any] | None]],
                    *, region: str = "us-east-1", time: datetime | None = None,
                    view: str = "NEW_AND_OLD_IMAGES") -> dict[str, Any]:
    """A DynamoDB Streams batch from ``changes``: (event name, keys, new image, old image), each in
    DynamoDB JSON (``{"pk": {"S": "a"}}``)."""
    created = float(int((time or datetime.now(UTC)).timestamp()))
    arn = f"arn:aws:dynamodb:{region}:{DUMMY_ACCOUNT}:table/{table}/stream/2024-01-01T00:00:00.000"
    records = []
    for index, (name, keys, new, old) in enumerate(changes):
        body: dict[str, Any] = {"ApproximateCreationDateTime": created, "Keys": keys,
                                "SequenceNumber": str(index + 1), "StreamViewType": view}
        if new is not None and view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
            body["NewImage"] = new
        if old is not None and view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
            body["OldImage"] = old
        body["SizeBytes"] = len(json.dumps(body))
        stream_record = {"eventID": f"{index + 1:032x}", "eventName": name, "dynamodb": body}
        records.append(dynamodb_record(stream_record, stream_arn=arn, region=region,
                                       sequence_number=aws_ddb_sequence_number(str(index + 1))))
    return dynamodb_event(records)


def dynamodb_sample_for(handler: Handler, names: Mapping[str, str], region: str) -> dict[str, Any]:
    """The sample event of ``flowfn invoke`` for a DynamoDB Streams handler: one INSERT, keyed as the
    table is (partition and sort key)."""
    trigger = handler.trigger
    assert isinstance(trigger, DynamoDbStreamTrigger)
    table = names.get(trigger.table.logical_name, trigger.table.logical_name)
    parts = [trigger.table.key or ("pk", "S"), *([trigger.table.sort_key] if trigger.table.sort_key else [])]
    values = {"S": "sample", "N": "1", "B": "c2FtcGxl"}
    keys = {name: {kind: values[kind]} for name, kind in parts}
    sample = dynamodb_sample(table, [("INSERT", keys, {**keys, "sample": {"BOOL": True}}, None)],
                             region=region, view=trigger.table.stream_view or "NEW_AND_OLD_IMAGES")
    return windowed_sample(sample, trigger, "shardId-00000000000000000000-00000000")
