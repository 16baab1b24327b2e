"""S3 object notifications: the trigger spec and its validation."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote_plus

from flowfn.errors import ConfigError
from flowfn.resources import Access, Bucket, Resource
from flowfn.resources.base import code_ref
from flowfn.triggers.base import Invocation, Trigger, first_annotation

#: Every event type S3 can send to Lambda.
S3_EVENT_TYPES = frozenset({
    "s3:ObjectCreated:*", "s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload",
    "s3:ObjectRemoved:*", "s3:ObjectRemoved:Delete", "s3:ObjectRemoved:DeleteMarkerCreated",
    "s3:ObjectRestore:*", "s3:ObjectRestore:Post", "s3:ObjectRestore:Completed",
    "s3:ObjectRestore:Delete",
    "s3:ReducedRedundancyLostObject",
    "s3:Replication:*", "s3:Replication:OperationFailedReplication",
    "s3:Replication:OperationMissedThreshold", "s3:Replication:OperationReplicatedAfterThreshold",
    "s3:Replication:OperationNotTracked",
    "s3:LifecycleExpiration:*", "s3:LifecycleExpiration:Delete",
    "s3:LifecycleExpiration:DeleteMarkerCreated",
    "s3:LifecycleTransition", "s3:IntelligentTiering",
    "s3:ObjectTagging:*", "s3:ObjectTagging:Put", "s3:ObjectTagging:Delete",
    "s3:ObjectAcl:Put",
})

#: Short names accepted in ``events=[...]``.
S3_EVENT_ALIASES = {
    "created": "s3:ObjectCreated:*",
    "removed": "s3:ObjectRemoved:*",
    "deleted": "s3:ObjectRemoved:*",
    "restored": "s3:ObjectRestore:Completed",
    "tagged": "s3:ObjectTagging:*",
}

_FILTER_MAX = 1024  # S3 object keys are at most 1024 bytes.


def normalize_event(name: str, subject: str) -> str:
    """Map a short or full event name to S3's own spelling, or raise ConfigError."""
    full = S3_EVENT_ALIASES.get(name, name)
    if not full.startswith("s3:"):
        full = "s3:" + full
    if full not in S3_EVENT_TYPES:
        raise ConfigError(
            subject, "events",
            f"{name!r} is not an S3 event type",
            f"use one of {sorted(S3_EVENT_ALIASES)} or an S3 name such as 's3:ObjectCreated:Put'",
        )
    return full


def events_overlap(a: str, b: str) -> bool:
    """True when two S3 event types can match the same notification."""
    if a == b:
        return True
    family_a, _, leaf_a = a.rpartition(":")
    family_b, _, leaf_b = b.rpartition(":")
    return family_a == family_b and "*" in (leaf_a, leaf_b)


class S3Trigger(Trigger):
    """Run the handler when objects in ``bucket`` change.

    ``events`` are S3 event types (``"created"``, ``"removed"`` or full names such as
    ``"s3:ObjectCreated:Put"``); ``prefix`` and ``suffix`` filter keys. By default the handler
    gets one record at a time; with ``batch=True`` it gets the whole S3 event.
    """

    kind: ClassVar[str] = "s3"
    invocation: ClassVar[Invocation] = "async"
    bucket: Bucket
    events: tuple[str, ...] = ("s3:ObjectCreated:*",)
    prefix: str = ""
    suffix: str = ""
    batch: bool = False

    def resources(self) -> tuple[Resource, ...]:
        return (self.bucket,)

    def touches(self) -> list[tuple[Resource, str]]:
        return [(self.bucket, "read (trigger)")]

    def describe(self) -> str:
        names = ", ".join(e.removeprefix("s3:") for e in self.events)
        filt = ""
        if self.prefix or self.suffix:
            filt = f" {self.prefix}*{self.suffix}"
        return f"s3 {self.bucket.logical_name}{filt} ({names})"

    def conflict(self, other: Trigger) -> str | None:
        if not isinstance(other, S3Trigger) or other.bucket.logical_name != self.bucket.logical_name:
            return None
        shared = sorted({a for a in self.events for b in other.events if events_overlap(a, b)})
        if not shared:
            return None
        prefixes = self.prefix.startswith(other.prefix) or other.prefix.startswith(self.prefix)
        suffixes = self.suffix.endswith(other.suffix) or other.suffix.endswith(self.suffix)
        if prefixes and suffixes:
            return (
                f"both notify on bucket {self.bucket.logical_name!r} for {', '.join(shared)} with "
                f"overlapping filters (prefix {self.prefix!r}/{other.prefix!r}, suffix "
                f"{self.suffix!r}/{other.suffix!r}); S3 rejects such a configuration"
            )
        return None

    def arguments(self) -> tuple[tuple[str, ...], str]:
        if self.batch:
            return ("event", "context"), ("with batch=True an S3 trigger calls it once per event with "
                                          "(event, context)")
        return ("record", "context"), ("an S3 trigger calls it once per record with (record, context), "
                                       "unless batch=True (then once per event with (event, context))")

    def check_handler(self, fn: Callable[..., Any], subject: str) -> None:
        found = first_annotation(fn)
        if found is None:
            return
        name, annotation = found
        if annotation == "S3Event" and not self.batch:
            raise ConfigError(
                subject, "fn",
                f"its parameter {name!r} is annotated S3Event, but without batch=True the handler is "
                "called once per record with an S3Record",
                f"take ({name}: S3Record, context), or pass batch=True to get the whole S3Event",
            )
        if annotation == "S3Record" and self.batch:
            raise ConfigError(
                subject, "fn",
                f"its parameter {name!r} is annotated S3Record, but with batch=True the handler is "
                "called once per event with the whole S3Event",
                f"take ({name}: S3Event, context) and loop over its records, or drop batch=True",
            )

    def check(self, subject: str, settings: Any) -> None:
        creates = any(events_overlap(e, "s3:ObjectCreated:*") for e in self.events)
        if not creates:
            return
        for grant in settings.uses:
            if grant.access is not Access.WRITE or grant.resource.logical_name != self.bucket.logical_name:
                continue
            if not isinstance(grant.resource, Bucket):
                continue
            if grant.prefix.startswith(self.prefix) or self.prefix.startswith(grant.prefix):
                where = f"{grant.prefix!r}" if grant.prefix else "the whole bucket"
                raise ConfigError(
                    subject, "uses",
                    f"it may write to {where} of bucket {self.bucket.logical_name!r}, where its own "
                    f"trigger (prefix {self.prefix!r}) fires on new objects: every write would "
                    "invoke it again, without end",
                    "scope the grant to a prefix the trigger does not watch, for example "
                    f"{code_ref(self.bucket)}.write(prefix='processed/') with "
                    "prefix='incoming/' on the trigger, or write to another bucket",
                )


def make_s3_trigger(
    bucket: Bucket, events: Iterable[str] | str, prefix: str, suffix: str,
    batch: bool, subject: str,
) -> S3Trigger:
    if not isinstance(bucket, Bucket):
        raise ConfigError(subject, "bucket", f"{bucket!r} is not a Bucket",
                          "declare it with Bucket('name') and pass that object")
    if bucket.existing:
        raise ConfigError(
            subject, "bucket",
            f"{bucket!r} exists outside this app, and CloudFormation can set notifications only on a "
            "bucket its own stack creates",
            f"trigger on a bucket flowfn creates (Bucket({bucket.logical_name!r}) without existing=), "
            "or have the bucket's owner send its notifications to a Queue of this app and take them "
            "with @on_sqs",
        )
    if isinstance(events, str):
        events = [events]
    if not isinstance(events, Iterable) or isinstance(events, (bytes, Mapping)):
        raise ConfigError(subject, "events", f"{events!r} is not a list of event types",
                          "pass events=['created'] or events=['s3:ObjectCreated:Put', 'removed']")
    events = list(events)
    if not events:
        raise ConfigError(subject, "events", "no event types given", "pass events=['created']")
    for event in events:
        if not isinstance(event, str):
            raise ConfigError(subject, "events", f"{event!r} is not an event type name",
                              f"use one of {sorted(S3_EVENT_ALIASES)} or an S3 name such as "
                              "'s3:ObjectCreated:Put'")
    normalized = tuple(sorted({normalize_event(e, subject) for e in events}))
    if not isinstance(batch, bool):
        raise ConfigError(subject, "batch", f"{batch!r} is not True or False",
                          "pass batch=True for the whole event, or leave it out for one record at a time")
    for argument, value in (("prefix", prefix), ("suffix", suffix)):
        if not isinstance(value, str):
            raise ConfigError(subject, argument, f"{value!r} is not a string",
                              f"pass {argument}='...' (a literal key {argument}), or leave it out")
        if len(value.encode("utf-8", "surrogatepass")) > _FILTER_MAX:
            raise ConfigError(subject, argument, f"is {len(value.encode())} bytes long",
                              "S3 keys are at most 1024 bytes; shorten it")
        if "*" in value:
            raise ConfigError(subject, argument, f"{value!r} contains '*', but S3 filters are "
                              "literal", "drop the wildcard: prefix and suffix match literally")
    if prefix.startswith("/"):
        raise ConfigError(subject, "prefix", f"{prefix!r} starts with '/', which S3 keys do not",
                          f"use {prefix.lstrip('/')!r}")
    return S3Trigger(bucket=bucket, events=normalized, prefix=prefix, suffix=suffix, batch=batch)


# -- AWS-exact events: what S3 sends Lambda (run-local, flowfn.testing, `flowfn events`) ---------
#
# From the S3 User Guide ("Event message structure", and the pages on replication failure, S3
# Lifecycle and S3 Intelligent-Tiering notifications) and events captured on AWS (Powertools' and
# aws-lambda-go's test events):
# - eventVersion is 2.2 for replication events; 2.3 for S3 Lifecycle (expiration and transition),
#   Intelligent-Tiering, object ACL, object tagging and ObjectRestore:Delete; 2.1 for the rest.
# - ObjectRestore:Completed carries glacierEventData.restoreEventData (the restored copy's expiry
#   and the source storage class); LifecycleTransition carries lifecycleEventData.transitionEventData;
#   IntelligentTiering carries intelligentTieringEventData, and its object sits under
#   ``s3.get_object``, not ``s3.object``; replication events carry replicationEventData.
# - Events S3 causes itself (replication, lifecycle, tiering, restore completion and expiry, a lost
#   RRS object) name ``s3.amazonaws.com`` as principal and source.
# - Removals (ObjectRemoved, LifecycleExpiration, ObjectRestore:Delete) carry no size or eTag.

_VERSION_2_3 = ("LifecycleExpiration:", "LifecycleTransition", "IntelligentTiering", "ObjectAcl:",
                "ObjectTagging:", "ObjectRestore:Delete")
_BY_S3 = ("Replication:", "LifecycleExpiration:", "LifecycleTransition", "IntelligentTiering",
          "ObjectRestore:Completed", "ObjectRestore:Delete", "ReducedRedundancyLostObject")
_REMOVALS = ("ObjectRemoved:", "LifecycleExpiration:", "ObjectRestore:Delete")
S3_SERVICE = "s3.amazonaws.com"


def encode_key(key: str) -> str:
    """An object key as S3 writes it into notifications: form-encoded, with slashes kept."""
    return quote_plus(key, safe="/")


def event_version(event_name: str) -> str:
    """The ``eventVersion`` S3 writes for ``event_name`` (``"ObjectCreated:Put"``)."""
    name = event_name.removeprefix("s3:")
    if name.startswith("Replication:"):
        return "2.2"
    return "2.3" if name.startswith(_VERSION_2_3) else "2.1"


def removes_object(event_name: str) -> bool:
    """True for events about an object (or restored copy) that is gone: they carry no size or eTag."""
    return event_name.removeprefix("s3:").startswith(_REMOVALS)


def caused_by_s3(event_name: str) -> bool:
    """True for events S3 causes itself rather than a request (lifecycle, replication, ...)."""
    return event_name.removeprefix("s3:").startswith(_BY_S3)


def trigger_matches(trigger: S3Trigger, event_name: str, key: str) -> bool:
    """True when S3 would notify ``trigger`` of ``event_name`` (``"ObjectCreated:Put"``) on ``key``."""
    full = event_name if event_name.startswith("s3:") else "s3:" + event_name
    if not any(events_overlap(full, wanted) for wanted in trigger.events):
        return False
    return key.startswith(trigger.prefix) and key.endswith(trigger.suffix)


def _time(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _event_data(name: str, bucket: str, event_time: datetime) -> dict[str, Any]:
    """The block S3 adds for ``name``, with plausible values (a sample or a local run has no real
    restore request, lifecycle rule, tiering configuration or replication rule behind it)."""
    if name == "ObjectRestore:Completed":
        return {"glacierEventData": {"restoreEventData": {
            "lifecycleRestorationExpiryTime": _time(event_time + timedelta(days=1)),
            "lifecycleRestoreStorageClass": "GLACIER",
        }}}
    if name == "LifecycleTransition":
        return {"lifecycleEventData": {"transitionEventData": {"destinationStorageClass": "GLACIER"}}}
    if name == "IntelligentTiering":
        return {"intelligentTieringEventData": {"destinationAccessTier": "ARCHIVE_ACCESS"}}
    if name.startswith("Replication:"):
        data = {
            "replicationRuleId": "flowfn-replication",
            "destinationBucket": f"arn:aws:s3:::{bucket}-replica",
            "s3Operation": "OBJECT_PUT",
            "requestTime": _time(event_time - timedelta(minutes=1)),
        }
        if name == "Replication:OperationFailedReplication":
            data["failureReason"] = "AssumeRoleNotPermitted"
        return {"replicationEventData": data}
    return {}


def s3_record(
    *,
    event_name: str,
    bucket: str,
    key: str,
    region: str,
    event_time: datetime,
    sequencer: str,
    request_id: str,
    configuration_id: str,
    size: int | None = None,
    etag: str | None = None,
    version_id: str | None = None,
    principal_id: str = "AWS:AIDAFLOWFNLOCALUSER",
    owner_id: str = "A3FLOWFNLOCALOWNER",
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """One S3 notification record, field for field as S3 delivers it to Lambda.

    ``event_name`` is written without the ``s3:`` prefix (``"ObjectCreated:Put"``); ``key`` is the
    object key itself (it is encoded here). ``size`` and ``eTag`` are written for every event but
    removals. The event's version, principal and extra data follow ``event_name`` (see above).
    """
    name = event_name.removeprefix("s3:")
    obj: dict[str, Any] = {"key": encode_key(key)}
    if size is not None and not removes_object(name):
        obj["size"] = size
    if etag is not None and not removes_object(name):
        obj["eTag"] = etag.strip('"')
    if version_id is not None:
        obj["versionId"] = version_id
    obj["sequencer"] = sequencer
    if caused_by_s3(name):
        principal_id = source_ip = S3_SERVICE
    import hashlib  # here, not at the top: OpenSSL costs a Lambda cold start milliseconds

    host_id = base64.b64encode(hashlib.sha256(request_id.encode()).digest()).decode()
    return {
        "eventVersion": event_version(name),
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": _time(event_time),
        "eventName": name,
        "userIdentity": {"principalId": principal_id},
        "requestParameters": {"sourceIPAddress": source_ip},
        "responseElements": {"x-amz-request-id": request_id, "x-amz-id-2": host_id},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": owner_id},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "get_object" if name == "IntelligentTiering" else "object": obj,
        },
        **_event_data(name, bucket, event_time),
    }


def s3_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The S3 event Lambda receives: ``{"Records": [...]}``."""
    return {"Records": records}
