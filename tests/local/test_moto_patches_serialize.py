"""flowfn's fix to moto's response serializer keeps its output: each answer below is serialized by
moto as shipped and with the fix, and the two must be the same bytes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

moto = pytest.importorskip("moto")

from flowfn.local import moto_patches  # noqa: E402

_IMAGE = {
    "pk": {"S": "a"}, "n": {"N": "1.5"}, "blob": {"B": b"\x00\x01"}, "set": {"BS": [b"x", b"y"]},
    "strings": {"SS": ["a", "b"]}, "none": {"NULL": True}, "flag": {"BOOL": False},
    "nested": {"M": {"list": {"L": [{"S": "x"}, {"M": {"deep": {"N": "2"}}}]}}},
}


class _Shard:  # an object, not a dict: moto's own path, aliases by class name included
    def __init__(self) -> None:
        self.shard_id = "shardId-000000000001"
        self.hash_key_range = {"StartingHashKey": "0", "EndingHashKey": "9"}
        self.sequence_number_range = {"StartingSequenceNumber": "1"}


CASES: list[tuple[str, str, Any, dict[str, Callable[[Any], Any]] | None]] = [
    ("dynamodbstreams", "GetRecords", {"NextShardIterator": "it", "Records": [
        {"eventID": "1", "eventName": "MODIFY", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
         "awsRegion": "us-east-1", "dynamodb": {
             "ApproximateCreationDateTime": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "Keys": {"pk": {"S": "a"}},
             "NewImage": _IMAGE, "OldImage": {"pk": {"S": "a"}}, "SequenceNumber": "100", "SizeBytes": 12,
             "StreamViewType": "NEW_AND_OLD_IMAGES"}},
        {"eventID": "2", "eventName": "REMOVE", "dynamodb": {"Keys": {"pk": {"S": "b"}}}},
    ]}, None),
    ("kinesis", "GetRecords", {"Records": [
        {"SequenceNumber": "1", "ApproximateArrivalTimestamp": 1700000000.25, "Data": b"hi",
         "PartitionKey": "k"}], "NextShardIterator": "n", "MillisBehindLatest": 0}, None),
    # snake_case keys: found through their xform_name form
    ("kinesis", "ListShards", {"Shards": [{"shard_id": "shardId-0", "hash_key_range": {
        "starting_hash_key": "0", "ending_hash_key": "9"}, "sequence_number_range": {
        "starting_sequence_number": "1"}}]}, None),
    ("kinesis", "ListShards", {"Shards": [_Shard()]}, None),
    ("sqs", "ReceiveMessage", {"Messages": [
        {"MessageId": "m", "ReceiptHandle": "r", "MD5OfBody": "x", "Body": "b",
         "Attributes": {"SentTimestamp": "1"},
         "MessageAttributes": {"a": {"StringValue": "v", "DataType": "String"},
                               "b": {"BinaryValue": b"\x01", "DataType": "Binary"}}}]}, None),
    ("dynamodb", "DescribeTable", {"Table": {
        "TableName": "t", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "TableStatus": "ACTIVE", "ItemCount": 3,
        "CreationDateTime": datetime(2026, 1, 1, tzinfo=UTC)}}, None),
    # a prefix the member names share with their structure, and a transformer on a key path
    ("rds", "DescribeDBInstances", {"DBInstances": [
        {"Identifier": "db1", "DBInstanceClass": "db.t3.micro", "Engine": "postgres"},
        {"DBInstanceIdentifier": "db2", "engine": "mysql"}]}, {"Engine": str.upper}),
]


def _serialize(service: str, operation: str, result: Any,
               transformers: dict[str, Callable[[Any], Any]] | None) -> Any:
    from moto.core.serialize import XFormedAttributePicker, get_serializer_class
    from moto.core.utils import get_service_model

    model = get_service_model(service)
    serializer = get_serializer_class(service, model.protocol)(
        operation_model=model.operation_model(operation), pretty_print=False,
        value_picker=XFormedAttributePicker(response_transformers=transformers))
    return serializer.serialize(result)


@pytest.mark.parametrize(("service", "operation", "result", "transformers"), CASES,
                         ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_the_fixed_serializer_writes_what_moto_writes(
        service: str, operation: str, result: Any, transformers: Any) -> None:
    if moto_patches.active():
        pytest.skip("an embedded emulator of this process has the fixes installed")
    shipped = _serialize(service, operation, result, transformers)
    assert "serialize.AttributePicker.__call__" in moto_patches.install()
    try:
        fixed = _serialize(service, operation, result, transformers)
        again = _serialize(service, operation, result, transformers)  # from the kept candidates
    finally:
        moto_patches.uninstall()
    assert fixed == shipped
    assert again == shipped
