"""Cron jobs: a nightly report of a bucket, and an hourly clean-up of its expired scratch files.

``nightly_report`` runs at 02:30 UTC (``cron(30 2 * * ? *)``), lists the ``files`` bucket and
writes a JSON summary (totals, totals per top-level folder, largest, oldest and newest objects) to
``daily/<date>.json`` in the ``reports`` bucket.

Each report written is announced as a ``Report Written`` event on the default EventBridge bus;
``point_latest``, a rule matching reports of a non-empty bucket, points ``latest.json`` in the
reports bucket at the newest report.

``clean_up`` runs every hour (``rate(1 hour)``) and deletes the objects under ``tmp/`` in ``files``
that have expired: at the time in their ``expires-at`` metadata, or else 24 hours after they were
last written. It may list, read and delete under ``tmp/`` only; nothing else in the bucket is at risk.

Both measure time by the scheduled time of the fire, not the clock, so a late or replayed run
does what the scheduled one would have done.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from housekeeping import StoredObject, expires_at, render_report, report_key, summarise

from flowfn import Bucket, EventBridgeEvent, EventBus, ScheduledEvent, on_event, on_schedule
from flowfn.runtime import logger

files = Bucket("files")
reports = Bucket("reports")
bus = EventBus()  # the account's default bus

#: The source of the events this app puts on the bus.
SOURCE = "cron.reports"
#: Where the pointer to the newest report lives in the reports bucket.
LATEST = "latest.json"

#: The scratch area that the clean-up empties.
TMP = "tmp/"
#: How long a scratch file without ``expires-at`` metadata lives.
DEFAULT_TTL = timedelta(hours=24)


def _when(event: ScheduledEvent) -> datetime:
    return event.time or datetime.now(UTC)


def _listing(s3: Any, prefix: str = "") -> list[StoredObject]:
    found: list[StoredObject] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=files.name, Prefix=prefix):
        found.extend(StoredObject(o["Key"], o["Size"], o["LastModified"]) for o in page.get("Contents", []))
    return found


@on_schedule("cron(30 2 * * ? *)", uses=[files.list(), reports.write(), bus.put_events()], timeout_s=120)
def nightly_report(event: ScheduledEvent) -> dict[str, Any]:
    """Summarise the files bucket into ``daily/<date>.json`` in the reports bucket."""
    s3 = boto3.client("s3")
    as_of = _when(event)
    report = summarise(files.name, _listing(s3), as_of)
    key = report_key(as_of)
    s3.put_object(Bucket=reports.name, Key=key, Body=render_report(report), ContentType="application/json")
    logger.info(f"report {key}: {report['objects']} objects, {report['bytes']} bytes",
                report=key, objects=report["objects"], bytes=report["bytes"])
    boto3.client("events").put_events(Entries=[{
        "Source": SOURCE, "DetailType": "Report Written", "EventBusName": bus.name,
        "Detail": json.dumps({"report": key, "objects": report["objects"], "bytes": report["bytes"]}),
    }])
    return {"report": key, "objects": report["objects"], "bytes": report["bytes"]}


@on_event({"source": [SOURCE], "detail-type": ["Report Written"],
           "detail": {"objects": [{"numeric": [">", 0]}]}}, bus=bus, uses=[reports.write(LATEST)])
def point_latest(event: EventBridgeEvent) -> dict[str, Any]:
    """Point ``latest.json`` at the report just written (reports of an empty bucket are left out)."""
    pointer = {"report": event.detail["report"], "objects": event.detail["objects"],
               "written": event.time.isoformat() if event.time else None}
    boto3.client("s3").put_object(Bucket=reports.name, Key=LATEST, Body=json.dumps(pointer),
                                  ContentType="application/json")
    return pointer


@on_schedule("rate(1 hour)", uses=[files.list(TMP), files.read(TMP), files.delete(TMP)], timeout_s=300)
def clean_up(event: ScheduledEvent) -> dict[str, Any]:
    """Delete the expired objects under ``tmp/`` in the files bucket."""
    s3 = boto3.client("s3")
    now = _when(event)
    expired: list[str] = []
    kept = 0
    for obj in _listing(s3, TMP):
        try:
            metadata = s3.head_object(Bucket=files.name, Key=obj.key)["Metadata"]
        except s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                continue  # deleted since the listing
            raise
        try:
            deadline = expires_at(obj, metadata, DEFAULT_TTL)
        except ValueError as exc:
            logger.warning(f"s3://{files.name}/{obj.key}: ignoring its expires-at metadata: {exc}; "
                           f"it expires {DEFAULT_TTL} after its last change instead", key=obj.key)
            deadline = expires_at(obj, {}, DEFAULT_TTL)
        if deadline <= now:
            expired.append(obj.key)
        else:
            kept += 1
    for start in range(0, len(expired), 1000):
        chunk = expired[start:start + 1000]
        result = s3.delete_objects(Bucket=files.name, Delete={"Objects": [{"Key": k} for k in chunk],
                                                              "Quiet": True})
        refused = result.get("Errors", [])
        if refused:
            raise RuntimeError(f"S3 refused to delete {len(refused)} objects: {refused[:5]}")
    logger.info(f"clean-up: deleted {len(expired)} expired objects under {TMP}, kept {kept}",
                deleted=len(expired), kept=kept)
    return {"deleted": expired, "kept": kept}
