"""Checked by `mypy --strict` in the suite: stream-decorated handlers keep their exact types."""

from __future__ import annotations

from datetime import datetime
from typing import assert_type

from flowfn import (
    DynamoDbBatch,
    DynamoDbRecord,
    Index,
    KinesisBatch,
    KinesisRecord,
    Queue,
    Stream,
    Table,
    on_dynamodb_stream,
    on_kinesis,
)

clicks = Stream("clicks")
totals = Table("totals", key="pk", stream=True)
orders = Table("orders", key="pk", sort_key=("at", "N"),
               indexes=[Index("by_customer", key="customer", projection=["total"])],
               local_indexes=[Index("by_total", sort_key=("total", "N"), projection="keys_only")])
theirs = Table("theirs", existing="their-orders", stream="new_image",
               stream_arn="arn:aws:dynamodb:eu-west-1:210987654321:table/their-orders/stream/2024-03-01T10:20:30.456")


@on_kinesis(clicks, bisect_on_error=True, max_retries=3, on_failure=Queue("bad"))
def count(record: KinesisRecord, context: object) -> str:
    return record.text


@on_kinesis(clicks, batch=True, name="count_all")
def count_all(batch: KinesisBatch) -> int:
    return len(batch)


@on_dynamodb_stream(totals, filters=[{"eventName": ["INSERT"]}])
def react(record: DynamoDbRecord) -> str:
    return record.event_name


@on_dynamodb_stream(theirs, name="react_theirs", uses=[orders.read()])
def react_theirs(record: DynamoDbRecord) -> str:
    return record.event_name


@on_dynamodb_stream(totals, batch=True, name="react_all")
def react_all(batch: DynamoDbBatch) -> None:
    return None


@on_kinesis(clicks, batch=True, tumbling_window_s=60, name="per_minute")
def per_minute(batch: KinesisBatch) -> None:
    for record in batch:
        batch.state[record.partition_key] = batch.state.get(record.partition_key, 0) + 1
    if batch.is_final and batch.window is not None:
        assert_type(batch.window.start, datetime)
        batch.state = {}


assert_type(count(KinesisRecord({"kinesis": {"partitionKey": "k", "sequenceNumber": "1"}}), None), str)
assert_type(count_all(KinesisBatch((), {}, None)), int)
assert_type(react(DynamoDbRecord({"eventName": "INSERT", "dynamodb": {"SequenceNumber": "1"}})), str)
assert_type(react_all(DynamoDbBatch((), {}, None)), None)
count(1, None)  # type: ignore[arg-type]
react_all("batch")  # type: ignore[arg-type]
