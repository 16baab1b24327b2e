"""Sample events of every trigger kind, shaped as AWS sends them (``flowfn events``, and the
default event of ``flowfn invoke``). Identifiers derive from the inputs, so the same command
prints the same event, apart from times."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from flowfn.function import Handler
from flowfn.local.emulator import DUMMY_ACCOUNT
from flowfn.triggers.http import HttpTrigger, api_gateway_path, http_event, match_path
from flowfn.triggers.s3 import S3Trigger, normalize_event, s3_event, s3_record
from flowfn.triggers.schedule import ScheduleTrigger, schedule_arn, scheduled_event
from flowfn.triggers.sqs import SqsTrigger, sample_message, sqs_event, sqs_record

__all__ = ["http_sample", "s3_sample", "sample_for", "schedule_sample", "sqs_sample"]

_NAMESPACE = uuid.UUID("6f1c2d6e-7f7a-4f55-9a53-2c1e6a0d5e11")


def _id(*parts: object) -> str:
    return str(uuid.uuid5(_NAMESPACE, "|".join(map(str, parts))))


#: The event a wildcard stands for in a sample: the commonest S3 sends of that family.
_WILDCARD_SAMPLE = {
    "s3:ObjectCreated:*": "ObjectCreated:Put",
    "s3:ObjectRemoved:*": "ObjectRemoved:Delete",
    "s3:ObjectRestore:*": "ObjectRestore:Completed",
    "s3:Replication:*": "Replication:OperationFailedReplication",
    "s3:LifecycleExpiration:*": "LifecycleExpiration:Delete",
    "s3:ObjectTagging:*": "ObjectTagging:Put",
}
#: Events about a version of an object (versioning is on, or the event is about a delete marker).
_VERSIONED = ("Replication:", "IntelligentTiering", "ObjectRemoved:DeleteMarkerCreated",
              "LifecycleExpiration:DeleteMarkerCreated")


def s3_sample(bucket: str, key: str, *, event: str = "created", size: int = 1024,
              region: str = "us-east-1", time: datetime | None = None) -> dict[str, Any]:
    """An S3 notification for the object ``key`` (the key itself, not URL-encoded). ``event``:
    created, removed, ... or an S3 event type; a wildcard gives its family's commonest event."""
    full = normalize_event(event, "flowfn events s3")
    name = _WILDCARD_SAMPLE.get(full, full.removeprefix("s3:"))
    digest = hashlib.md5(f"{bucket}/{key}".encode(), usedforsecurity=False).hexdigest()
    version = base64.urlsafe_b64encode(bytes.fromhex(digest)).decode().rstrip("=")
    record = s3_record(
        event_name=name, bucket=bucket, key=key, region=region, event_time=time or datetime.now(UTC),
        sequencer=digest[:18].upper(), request_id=digest[:16].upper(),
        configuration_id="flowfn-sample", size=size, etag=digest,
        version_id=version if name.startswith(_VERSIONED) else None,
    )
    return s3_event([record])


def sqs_sample(queue: str, bodies: list[str], *, attributes: Mapping[str, str] | None = None,
               region: str = "us-east-1", time: datetime | None = None,
               group_id: str | None = None) -> dict[str, Any]:
    """An SQS batch of ``bodies`` from ``queue``."""
    sent = int((time or datetime.now(UTC)).timestamp() * 1000)
    arn = f"arn:aws:sqs:{region}:{DUMMY_ACCOUNT}:{queue}"
    records = [
        sqs_record(sample_message(body, message_id=_id(queue, index, body), sent_ms=sent,
                                  attributes=attributes, group_id=group_id, position=index),
                   queue_arn=arn, region=region)
        for index, body in enumerate(bodies)
    ]
    return sqs_event(records)


def schedule_sample(rule: str, *, time: datetime | None = None, region: str = "us-east-1",
                    zoned: bool = False) -> dict[str, Any]:
    """A scheduled event from the rule (or, ``zoned``, Scheduler schedule) named ``rule``."""
    trigger = ScheduleTrigger(expression="rate(1 hour)", timezone="UTC" if zoned else None)
    moment = time or datetime.now(UTC)
    arn = schedule_arn(trigger, rule, region=region, account=DUMMY_ACCOUNT)
    return scheduled_event(rule_arn=arn, time=moment, event_id=_id(rule, moment.isoformat()),
                           region=region, account=DUMMY_ACCOUNT)


def http_sample(method: str, path: str, *, route: str | None = None, body: str = "",
                headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
                time: datetime | None = None) -> dict[str, Any]:
    """An HTTP API (payload 2.0) request for ``path`` as a client sends it (percent-encoded, with
    an optional query string); ``route`` (``GET /items/{id}``) fills path parameters. The path is
    decoded as API Gateway and run-local decode it; ``headers`` may repeat a name."""
    parts = urlsplit(path)
    delivered = api_gateway_path(parts.path or "/")
    if delivered is None:
        raise ValueError(f"API Gateway answers 400 Bad Request to path {parts.path!r}: it decodes a path "
                         "twice, and the second time finds a '%' not followed by two hex digits; "
                         "write a literal '%' as %2525")
    route_key = route or f"{method.upper()} {delivered}"
    params: dict[str, str] = {}
    if route:
        route_method, _, route_path = route.partition(" ")
        found = match_path(HttpTrigger(method=route_method, path=route_path), delivered)
        if found is None:
            raise ValueError(f"path {delivered!r} does not match route {route!r}; give a --path the "
                             "route matches, percent-encoded as a client sends it")
        params = found
    pairs = list(headers.items() if isinstance(headers, Mapping) else headers or [])
    if body and not any(k.lower() == "content-type" for k, _ in pairs):
        pairs.append(("content-type", "application/json" if body.lstrip().startswith(("{", "["))
                      else "text/plain"))
    if not any(k.lower() == "user-agent" for k, _ in pairs):
        pairs.append(("user-agent", "flowfn"))
    moment = time or datetime.now(UTC)
    return http_event(method=method.upper(), raw_path=delivered, raw_query=parts.query, headers=pairs,
                      body=body.encode(), route_key=route_key, path_params=params,
                      request_id=_id(method, path, moment.isoformat())[:18], time=moment,
                      account=DUMMY_ACCOUNT)


def sample_for(handler: Handler, physical: Mapping[str, str] | None = None,
               region: str = "us-east-1") -> dict[str, Any]:
    """A plausible event for ``handler``'s trigger, naming its real resources when known."""
    names = physical or {}
    trigger = handler.trigger
    if isinstance(trigger, S3Trigger):
        bucket = names.get(trigger.bucket.logical_name, trigger.bucket.logical_name)
        key = f"{trigger.prefix}sample{trigger.suffix or '.txt'}"
        return s3_sample(bucket, key, event=trigger.events[0], region=region)
    if isinstance(trigger, SqsTrigger):
        queue = names.get(trigger.queue.logical_name, trigger.queue.logical_name).rsplit("/", 1)[-1]
        return sqs_sample(queue, ['{"sample": true}'], region=region,
                          group_id="sample" if trigger.queue.fifo else None)
    if isinstance(trigger, ScheduleTrigger):
        return schedule_sample(handler.name, region=region, zoned=trigger.timezone is not None)
    if isinstance(trigger, HttpTrigger):
        path = "/" + "/".join("sample" if s.startswith("{") else s for s in trigger.segments)
        method = "GET" if trigger.method == "ANY" else trigger.method
        return http_sample(method, path, route=f"{trigger.method} {trigger.path}")
    raise ValueError(f"no sample event for a {type(trigger).__name__}")
