"""Thumbnails: images dropped under ``incoming/`` in one bucket are resized into another.

``make_thumbnail`` runs for every new object under ``incoming/`` of the ``uploads`` bucket and
writes a thumbnail (at most 256x256, aspect ratio and EXIF orientation kept) to the
``thumbnails`` bucket: ``incoming/trips/beach.webp`` becomes ``trips/beach.jpg``. Thumbnails live in
a bucket no trigger watches, so writing one never starts the pipeline again. A file that is not a
JPEG, PNG or WebP image, or is corrupt, is logged as an error and produces nothing.

Each thumbnail written is announced on the ``thumbnail-ready`` topic, and two subscribers take it
from there: ``index_thumbnail`` records it in ``index/<thumbnail>.json`` in the uploads bucket, and
``announce_large`` (filtered to thumbnails at least 200 pixels wide) logs a notification.

Three routes show the result: ``GET /`` is a gallery page, ``GET /thumbnails`` lists the
thumbnails as JSON, and ``GET /thumbnails/{name}`` serves one.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import quote

import boto3
from imaging import MAX_INPUT_BYTES, ImageRejected, render, thumbnail_key

from flowfn import Bucket, HTTPError, Request, Response, S3Record, SnsRecord, Topic, on_http, on_s3, on_sns
from flowfn.runtime import logger

uploads = Bucket("uploads")
thumbnails = Bucket("thumbnails")
ready = Topic("thumbnail-ready")

#: Where users drop images in the uploads bucket.
INCOMING = "incoming/"
#: Where the index of thumbnails lives in the uploads bucket (no trigger watches it).
INDEX = "index/"
#: How many thumbnails one listing returns at most.
PAGE_SIZE = 100


@on_s3(uploads, events="created", prefix=INCOMING, uses=[thumbnails.write(), ready.publish()],
       memory_mb=1024, timeout_s=60)
def make_thumbnail(record: S3Record, context: Any) -> dict[str, Any]:
    """Resize one uploaded image into the thumbnails bucket; log and skip anything else."""
    source = f"s3://{record.bucket_name}/{record.object_key}"
    if record.size is not None and record.size > MAX_INPUT_BYTES:
        return _rejected(record, f"it is {record.size} bytes; the limit is {MAX_INPUT_BYTES} bytes")
    s3 = boto3.client("s3")
    try:
        obj = s3.get_object(Bucket=record.bucket_name, Key=record.object_key)
    except s3.exceptions.NoSuchKey:
        logger.warning(f"{source} was deleted before its thumbnail was made; nothing to do",
                       source=source)
        return {"status": "gone", "source": record.object_key}
    try:
        thumb = render(obj["Body"].read())
    except ImageRejected as exc:
        return _rejected(record, str(exc))
    key = thumbnail_key(record.object_key, INCOMING, thumb.extension)
    s3.put_object(
        Bucket=thumbnails.name, Key=key, Body=thumb.data, ContentType=thumb.content_type,
        Metadata={"source-key": quote(record.object_key),
                  "source-size": f"{thumb.source_width}x{thumb.source_height}"},
    )
    logger.info(f"thumbnail {key} ({thumb.width}x{thumb.height}) written for {source}",
                source=source, thumbnail=key, width=thumb.width, height=thumb.height)
    boto3.client("sns").publish(
        TopicArn=ready.arn, Subject="thumbnail ready",
        Message=json.dumps({"thumbnail": key, "source": record.object_key, "width": thumb.width,
                            "height": thumb.height}),
        MessageAttributes={"width": {"DataType": "Number", "StringValue": str(thumb.width)}},
    )
    return {"status": "written", "source": record.object_key, "thumbnail": key,
            "width": thumb.width, "height": thumb.height}


@on_sns(ready, uses=[uploads.write(INDEX)])
def index_thumbnail(record: SnsRecord) -> dict[str, Any]:
    """Record one thumbnail in ``index/<thumbnail>.json`` of the uploads bucket."""
    entry = record.json()
    key = f"{INDEX}{entry['thumbnail']}.json"
    entry["announced"] = record.timestamp.isoformat() if record.timestamp else None
    boto3.client("s3").put_object(Bucket=uploads.name, Key=key, Body=json.dumps(entry, sort_keys=True),
                                  ContentType="application/json")
    return {"index": key}


@on_sns(ready, filter_policy={"width": [{"numeric": [">=", 200]}]})
def announce_large(record: SnsRecord) -> dict[str, Any]:
    """Notify (here: log) each thumbnail at least 200 pixels wide."""
    entry = record.json()
    logger.info(f"new thumbnail {entry['thumbnail']} ({entry['width']}x{entry['height']})",
                thumbnail=entry["thumbnail"], topic=record.topic_arn)
    return {"announced": entry["thumbnail"]}


def _rejected(record: S3Record, reason: str) -> dict[str, Any]:
    # Retrying cannot fix a bad file, so the invocation succeeds and only the log tells.
    logger.error(f"no thumbnail for s3://{record.bucket_name}/{record.object_key}: {reason}. "
                 "Upload a JPEG, PNG or WebP image instead.", source=record.object_key, reason=reason)
    return {"status": "rejected", "source": record.object_key, "reason": reason}


def _list(after: str = "") -> tuple[list[dict[str, Any]], str | None]:
    s3 = boto3.client("s3")
    page = s3.list_objects_v2(Bucket=thumbnails.name, MaxKeys=PAGE_SIZE, StartAfter=after)
    items = [
        {"name": o["Key"], "size": o["Size"], "modified": o["LastModified"].isoformat(),
         "url": "/thumbnails/" + quote(o["Key"])}
        for o in page.get("Contents", [])
    ]
    more = items[-1]["name"] if page.get("IsTruncated") and items else None
    return items, more


@on_http("GET", "/thumbnails", uses=[thumbnails.list()])
def list_thumbnails(request: Request) -> dict[str, Any]:
    """The thumbnails as JSON, ``PAGE_SIZE`` at a time; follow ``next`` for the rest."""
    items, more = _list(request.query.get("after", ""))
    return {"thumbnails": items, "next": f"/thumbnails?after={quote(more)}" if more else None}


@on_http("GET", "/thumbnails/{name+}", uses=[thumbnails.read()])
def get_thumbnail(request: Request) -> Response:
    """One thumbnail's image bytes."""
    name = request.path_params["name"]
    s3 = boto3.client("s3")
    try:
        obj = s3.get_object(Bucket=thumbnails.name, Key=name)
    except s3.exceptions.NoSuchKey:
        raise HTTPError(404, f"no thumbnail named {name!r}", {"list": "/thumbnails"}) from None
    return Response(obj["Body"].read(), headers={"content-type": obj.get("ContentType", "image/jpeg"),
                                                 "cache-control": "max-age=60"})


@on_http("GET", "/", uses=[thumbnails.list()])
def gallery(request: Request) -> Response:
    """A page showing the thumbnails, newest first (it reloads itself every few seconds)."""
    items, _ = _list()
    items.sort(key=lambda item: item["modified"], reverse=True)
    cards = "\n".join(
        f'<figure><img src="{html.escape(i["url"])}" alt=""><figcaption>{html.escape(i["name"])}'
        "</figcaption></figure>"
        for i in items
    ) or f"<p>No thumbnails yet: drop a JPEG, PNG or WebP image under {INCOMING} in the uploads bucket.</p>"
    page = (
        '<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="3">'
        "<title>thumbnails</title><style>body{font-family:sans-serif}figure{display:inline-block;"
        "margin:8px;text-align:center}img{max-width:256px;max-height:256px}</style>"
        f"<h1>{len(items)} thumbnails</h1>{cards}"
    )
    return Response(page, headers={"content-type": "text/html; charset=utf-8"})
