"""Stream processing: events in through HTTP and JSON-lines files, a queue, per-minute aggregates.

Events arrive two ways: ``POST /events`` (a JSON array or JSON lines) and ``.jsonl`` files dropped
under ``incoming/`` in the ``inbox`` bucket. Both forward every event, unchecked, to the ``events``
queue. ``aggregate`` takes batches from the queue, validates each body with the ``Event`` model and
folds the good ones into one document per key and minute in the ``aggregates`` bucket. A body that
fails validation is reported as a partial batch failure: SQS hands it out again, and after three
receives moves it to the ``events-dlq`` dead-letter queue, where ``GET /dead-letters`` shows it.

Each event is counted once even when SQS delivers it twice or a producer resends it: an aggregate
lists the ids it counts, and it is replaced only by a conditional write (``If-Match`` on the ETag
read), so two concurrent batches cannot overwrite each other's counts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import boto3
from aggregation import (
    MAX_BODY_BYTES,
    MAX_MESSAGE_BYTES,
    Aggregate,
    Event,
    group,
    object_key,
    split_body,
    split_lines,
)
from botocore.exceptions import ClientError

from flowfn import Bucket, HTTPError, Queue, Request, Response, S3Record, SqsBatch, on_http, on_s3, on_sqs
from flowfn.runtime import logger

events = Queue("events", max_receive_count=3)
inbox = Bucket("inbox")
aggregates = Bucket("aggregates")
assert events.dlq is not None
dead_letters = events.dlq

#: Where producers drop JSON-lines files in the inbox bucket.
INCOMING = "incoming/"
#: The most events one POST may carry.
MAX_EVENTS_PER_REQUEST = 1000
#: How often a conditional write is retried when another batch changed the aggregate first.
WRITE_ATTEMPTS = 10
#: How many aggregates one batch updates at once.
MERGE_THREADS = 8
#: Error codes S3 answers a conditional write with when the object changed underneath it.
_CONFLICTS = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})


def send(bodies: Iterable[tuple[str, str]]) -> int:
    """Send (body, source) pairs to the events queue, up to ten per request; return how many were sent."""
    sqs = boto3.client("sqs")
    batch: list[dict[str, Any]] = []
    sent = 0

    def flush() -> None:
        nonlocal sent
        entries = list(batch)
        for _ in range(3):
            result = sqs.send_message_batch(QueueUrl=events.url, Entries=entries)
            failed = {f["Id"] for f in result.get("Failed", [])}
            sent += len(entries) - len(failed)
            entries = [e for e in entries if e["Id"] in failed]
            if not entries:
                break
        if entries:
            raise RuntimeError(f"SQS refused {len(entries)} messages three times: {result['Failed']}")
        batch.clear()

    size = 0
    for body, source in bodies:
        entry_size = len(body.encode()) + len(source.encode()) + len("source") + len("String")
        if batch and size + entry_size > MAX_MESSAGE_BYTES:
            flush()  # SQS caps a whole batch at the size of one message
            size = 0
        batch.append({"Id": str(len(batch)), "MessageBody": body,
                      "MessageAttributes": {"source": {"DataType": "String", "StringValue": source}}})
        size += entry_size
        if len(batch) == 10:
            flush()
            size = 0
    if batch:
        flush()
    return sent


@on_http("POST", "/events", uses=[events.send()])
def post_events(request: Request) -> Response:
    """Queue the events in the body: a JSON array, or one JSON object per line."""
    try:
        bodies = split_body(request.text)
    except ValueError as exc:
        raise HTTPError(400, "the body starts with '[' but is not a JSON array", str(exc)) from None
    if not bodies:
        raise HTTPError(400, "no events in the body; send a JSON array or JSON lines")
    if len(bodies) > MAX_EVENTS_PER_REQUEST:
        raise HTTPError(413, f"{len(bodies)} events in one request; send at most {MAX_EVENTS_PER_REQUEST}")
    too_big = [i for i, body in enumerate(bodies) if len(body.encode()) > MAX_BODY_BYTES]
    if too_big:
        raise HTTPError(413, f"events larger than {MAX_BODY_BYTES} bytes cannot be queued",
                        {"indexes": too_big[:20]})
    queued = send((body, f"http {request.request_id} #{i}") for i, body in enumerate(bodies))
    return Response({"queued": queued}, status=202)


@on_s3(inbox, prefix=INCOMING, suffix=".jsonl", uses=[events.send()],
       timeout_s=300)
def read_file(record: S3Record, context: Any) -> dict[str, Any]:
    """Queue every line of a JSON-lines file dropped in the inbox."""
    s3 = boto3.client("s3")
    where = f"s3://{record.bucket_name}/{record.object_key}"
    try:
        text = s3.get_object(Bucket=record.bucket_name, Key=record.object_key)["Body"].read().decode()
    except UnicodeDecodeError as exc:
        logger.error(f"{where} is not UTF-8 text, so not JSON lines ({exc}); nothing queued", source=where)
        return {"queued": 0, "skipped": 0}
    lines = split_lines(text)
    fits = [(body, f"{where}:{number}") for number, body in lines if len(body.encode()) <= MAX_BODY_BYTES]
    skipped = [number for number, body in lines if len(body.encode()) > MAX_BODY_BYTES]
    if skipped:
        logger.error(f"{where}: lines {skipped[:20]} are larger than {MAX_BODY_BYTES} bytes, more "
                     "than SQS carries; they were not queued", source=where, lines=skipped)
    queued = send(fits)
    logger.info(f"{where}: queued {queued} events", source=where, queued=queued)
    return {"queued": queued, "skipped": len(skipped)}


def _load(s3: Any, bucket: str, key: str) -> tuple[bytes | None, str | None]:
    try:
        obj = s3.get_object(Bucket=bucket, Key=key)
    except s3.exceptions.NoSuchKey:
        return None, None
    return obj["Body"].read(), obj["ETag"]


def merge_into_bucket(s3: Any, bucket: str, key: str, minute: datetime, batch: list[Event]) -> int:
    """Fold ``batch`` into the stored aggregate of ``key`` and ``minute``; return how many were new."""
    target = object_key(key, minute)
    for _ in range(WRITE_ATTEMPTS):
        data, etag = _load(s3, bucket, target)
        current = Aggregate.from_json(data) if data is not None else Aggregate.empty(key, minute)
        merged = current.merge(batch)
        if merged is None:
            return 0
        condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        try:
            s3.put_object(Bucket=bucket, Key=target, Body=merged.to_json(),
                          ContentType="application/json", **condition)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _CONFLICTS:
                continue  # another batch wrote first: read again and redo the merge
            raise
        return merged.count - current.count
    raise RuntimeError(f"{target} kept changing during {WRITE_ATTEMPTS} attempts to update it")


@on_sqs(events, batch=True, model=Event, batch_size=100, batching_window_s=1,
        uses=[aggregates.read(), aggregates.write()], timeout_s=10)
def aggregate(batch: SqsBatch, context: Any) -> None:
    """Fold a batch of valid events into the per-key, per-minute aggregates.

    Bodies that fail the ``Event`` model never reach this function: flowfn reports them as failed
    and they go to the dead-letter queue after three receives. If writing one aggregate fails, only
    that aggregate's messages are reported failed and retried; the others are done.
    """
    assert batch.models is not None
    records = {id(model): record for model, record in zip(batch.models, batch.records, strict=True)}
    groups = group(batch.models)
    s3, bucket = boto3.client("s3"), aggregates.name
    # Documents are independent: update them side by side (boto3 clients are thread-safe). The
    # workers only do S3 calls; logging and failure reports stay on this thread.
    with ThreadPoolExecutor(max_workers=min(MERGE_THREADS, len(groups) or 1)) as pool:
        futures = {pool.submit(merge_into_bucket, s3, bucket, key, minute, items): (key, minute)
                   for (key, minute), items in groups.items()}
    counted = 0
    for future, (key, minute) in futures.items():
        error = future.exception()
        if error is None:
            counted += future.result()
            continue
        items = groups[(key, minute)]
        logger.error(f"could not update the aggregate of {key} at {minute:%Y-%m-%d %H:%M}: {error!r}; its "
                     f"{len(items)} events will be retried", key=key, exc_info=error)
        for item in items:
            batch.fail(records[id(item)])
    logger.info(f"counted {counted} new events of {len(batch)}", counted=counted, received=len(batch))


@on_http("GET", "/aggregates/{key}", uses=[aggregates.list(), aggregates.read()])
def get_aggregates(request: Request) -> dict[str, Any]:
    """The latest minutes of one key (``?limit=`` minutes, 60 by default), without the id lists."""
    key = request.path_params["key"]
    try:
        limit = max(1, min(int(request.query.get("limit", "60")), 1440))
    except ValueError:
        raise HTTPError(400, "limit must be a whole number of minutes") from None
    s3 = boto3.client("s3")
    names: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=aggregates.name, Prefix=f"{key}/"):
        names.extend(o["Key"] for o in page.get("Contents", []))
    if not names:
        raise HTTPError(404, f"no aggregates for key {key!r}")
    minutes = []
    for name in sorted(names)[-limit:]:
        doc = json.loads(s3.get_object(Bucket=aggregates.name, Key=name)["Body"].read())
        doc.pop("event_ids", None)
        minutes.append(doc)
    return {"key": key, "minutes": minutes}


@on_http("GET", "/dead-letters", uses=[dead_letters.consume()])
def peek_dead_letters(request: Request) -> dict[str, Any]:
    """Up to 10 messages from the dead-letter queue, left in place (they stay for inspection)."""
    sqs = boto3.client("sqs")
    result = sqs.receive_message(
        QueueUrl=dead_letters.url, MaxNumberOfMessages=10, VisibilityTimeout=0,
        MessageAttributeNames=["All"], AttributeNames=["All"],
    )
    return {"messages": [
        {"id": m["MessageId"], "body": m["Body"],
         "source": m.get("MessageAttributes", {}).get("source", {}).get("StringValue"),
         "receives": int(m.get("Attributes", {}).get("ApproximateReceiveCount", "0"))}
        for m in result.get("Messages", [])
    ]}
