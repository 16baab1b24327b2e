"""Stream processing on streams: events into Kinesis, per-minute totals in DynamoDB, alerts on change.

Events arrive two ways: ``POST /events`` (a JSON array or JSON lines) and ``.jsonl`` files dropped
under ``incoming/`` in the ``inbox`` bucket. Both put every event, unchecked, on the ``events``
Kinesis stream, keyed by the event's ``key`` (so one key's events stay in order on one shard).

``aggregate`` reads the stream. Each record is validated with the ``Event`` model and folded into
the ``minutes`` table (one item per key and minute: count, total, and the ids counted) with one
conditional write: the write happens only if the event's id is not counted yet, so a record
delivered again after a retry (the checkpoint moves to just before a failed record, and the rest
is read again) is counted once. A record that fails the model is retried, its batch bisected until
it stands alone, then its metadata goes to the ``bad-batches`` queue and the shard moves on.

``alert`` reads the table's stream: when a minute's count crosses ``ALERT_AT`` it sends one alert
to the ``alerts`` queue. A chain crosses both kinds: HTTP or S3, Kinesis, DynamoDB, its stream, SQS.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import boto3
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from flowfn import (
    Bucket,
    DynamoDbRecord,
    HTTPError,
    Queue,
    Request,
    Response,
    S3Record,
    Stream,
    Table,
    on_dynamodb_stream,
    on_http,
    on_kinesis,
    on_s3,
)
from flowfn.runtime import logger

events = Stream("events", shards=2)
minutes = Table("minutes", key="pk", stream="new_and_old_images")
inbox = Bucket("inbox")
alerts = Queue("alerts")
bad_batches = Queue("bad-batches")

#: Where producers drop JSON-lines files in the inbox bucket.
INCOMING = "incoming/"
#: The most events one POST may carry (Kinesis takes 500 records per PutRecords call).
MAX_EVENTS_PER_REQUEST = 1000
#: A minute with this many events (or more) for one key raises an alert.
ALERT_AT = 5


class Event(BaseModel):
    """One measurement: ``{"id": "e-17", "key": "sensor-1", "ts": "2024-05-01T13:05:07Z", "value": 2.5}``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(min_length=1, max_length=128)
    key: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    ts: AwareDatetime
    value: float = Field(allow_inf_nan=False)

    @property
    def minute(self) -> str:
        """The UTC minute the event falls in: ``2024-05-01T13:05``."""
        return f"{self.ts.astimezone(UTC):%Y-%m-%dT%H:%M}"


def split_body(text: str) -> list[str]:
    """Events from a request body: a JSON array (one per item), else JSON lines."""
    stripped = text.strip()
    if stripped.startswith("["):
        items = json.loads(stripped)
        if not isinstance(items, list):
            raise ValueError("the body is not a JSON array")
        return [json.dumps(item, separators=(",", ":")) for item in items]
    return [line.strip() for line in text.splitlines() if line.strip()]


def partition_key(body: str) -> str:
    """The event's key when the body has one, so one key's events share a shard; else the body's."""
    try:
        key = json.loads(body).get("key")
    except (ValueError, AttributeError):
        key = None
    return key if isinstance(key, str) and key else "unkeyed"


def put(bodies: list[str]) -> int:
    """Put events on the stream, 500 per call, retrying the entries Kinesis refused."""
    kinesis = boto3.client("kinesis")
    put_count = 0
    for start in range(0, len(bodies), 500):
        entries = [{"Data": b.encode(), "PartitionKey": partition_key(b)} for b in bodies[start:start + 500]]
        for _ in range(3):
            result = kinesis.put_records(StreamName=events.name, Records=entries)
            refused = [e for e, r in zip(entries, result["Records"], strict=True) if "ErrorCode" in r]
            put_count += len(entries) - len(refused)
            entries = refused
            if not entries:
                break
        if entries:
            raise RuntimeError(f"Kinesis refused {len(entries)} records three times")
    return put_count


@on_http("POST", "/events", uses=[events.put()])
def post_events(request: Request) -> Response:
    """Put the events in the body on the stream: a JSON array, or one JSON object per line."""
    try:
        bodies = split_body(request.text)
    except ValueError as exc:
        raise HTTPError(400, "the body starts with '[' but is not a JSON array", str(exc)) from None
    if not bodies:
        raise HTTPError(400, "no events in the body; send a JSON array or JSON lines")
    if len(bodies) > MAX_EVENTS_PER_REQUEST:
        raise HTTPError(413, f"{len(bodies)} events in one request; send at most {MAX_EVENTS_PER_REQUEST}")
    return Response({"accepted": put(bodies)}, status=202)


@on_s3(inbox, prefix=INCOMING, suffix=".jsonl", uses=[inbox.read(), events.put()], timeout_s=300)
def read_file(record: S3Record) -> dict[str, int]:
    """Put every line of a JSON-lines file dropped in the inbox on the stream."""
    s3 = boto3.client("s3")
    text = s3.get_object(Bucket=record.bucket_name, Key=record.object_key)["Body"].read().decode()
    accepted = put(split_body(text))
    logger.info(f"s3://{record.bucket_name}/{record.object_key}: {accepted} events on the stream")
    return {"accepted": accepted}


@on_kinesis(events, model=Event, batch_size=100, starting_position="trim_horizon", bisect_on_error=True,
            max_retries=2, on_failure=bad_batches, uses=[minutes.write()])
def aggregate(event: Event) -> None:
    """Count one event into its key's minute, once: the write is conditional on its id being new."""
    table = boto3.client("dynamodb")
    try:
        table.update_item(
            TableName=minutes.name,
            Key={"pk": {"S": f"{event.key}#{event.minute}"}},
            UpdateExpression="SET #key = :key, #minute = :minute ADD #count :one, #total :value, #ids :id",
            ConditionExpression="attribute_not_exists(#ids) OR NOT contains(#ids, :idtext)",
            ExpressionAttributeNames={"#key": "key", "#minute": "minute", "#count": "count",
                                      "#total": "total", "#ids": "ids"},
            ExpressionAttributeValues={
                ":key": {"S": event.key}, ":minute": {"S": event.minute}, ":one": {"N": "1"},
                ":value": {"N": str(Decimal(str(event.value)))}, ":id": {"SS": [event.id]},
                ":idtext": {"S": event.id},
            },
        )
    except table.exceptions.ConditionalCheckFailedException:
        logger.info(f"event {event.id} is counted already", event_id=event.id)


@on_dynamodb_stream(minutes, filters=[{"eventName": ["INSERT", "MODIFY"]}], starting_position="trim_horizon",
                    uses=[alerts.send()])
def alert(record: DynamoDbRecord) -> None:
    """Send one alert when a minute's count reaches ``ALERT_AT``."""
    new = record.new_image or {}
    old = record.old_image or {}
    before, after = int(old.get("count", 0)), int(new.get("count", 0))
    if before < ALERT_AT <= after:
        message = {"key": new["key"], "minute": new["minute"], "count": after,
                   "at": datetime.now(UTC).isoformat(timespec="seconds")}
        boto3.client("sqs").send_message(QueueUrl=alerts.url, MessageBody=json.dumps(message))
        logger.info(f"{new['key']} had {after} events in {new['minute']}", **message)

