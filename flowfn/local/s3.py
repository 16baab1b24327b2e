"""S3 notifications: objects written to a bucket reach the matching ``@on_s3`` handlers.

Every bucket notifies one internal queue of the emulator (moto delivers notifications into SQS
as the object is written). This source reads that queue, skips the ``s3:TestEvent`` that comes
first, rebuilds each notification as S3 sends it to Lambda (moto's lacks fields and encodes
slashes), applies each handler's event types and prefix/suffix filters, and invokes the handler
asynchronously, as S3 does.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from flowfn.app import App
from flowfn.function import Handler
from flowfn.local.invoker import Invoker
from flowfn.local.provision import Bindings
from flowfn.local.reader import QueueReader
from flowfn.local.sqs import make_visible
from flowfn.triggers.s3 import S3Trigger, normalize_event, s3_event, s3_record, trigger_matches

__all__ = ["NOTIFICATION_QUEUE", "ObjectChange", "S3Source"]

#: The emulator queue every bucket notifies (with a suffix per run); flowfn's own, not the app's.
NOTIFICATION_QUEUE = "flowfn-s3-notifications"
_ALWAYS = ("s3:ObjectCreated:*", "s3:ObjectRemoved:*")
_MULTIPART_ETAG = re.compile(r"[0-9a-f]{32}-[0-9]+")
_sequence = itertools.count(1)


@dataclass(frozen=True)
class ObjectChange:
    """An object that was written or removed in one of the app's buckets."""

    bucket: str  # logical name
    key: str
    event_name: str  # "ObjectCreated:Put", "ObjectRemoved:Delete", ...
    size: int | None
    etag: str | None


class S3Source(QueueReader):
    """Reads the notification queue and invokes ``@on_s3`` handlers."""

    name = "s3"

    def __init__(self, app: App, invoker: Invoker, bindings: Bindings,
                 observers: list[Callable[[ObjectChange], None]] | None = None, run: str = "") -> None:
        self.app = app
        self.invoker = invoker
        self.bindings = bindings
        self.observers = list(observers or [])
        self.handlers = [h for h in app.handlers if isinstance(h.trigger, S3Trigger)]
        super().__init__(bindings.target.client("sqs"))
        self._by_physical = {bindings.buckets[b.logical_name]: b.logical_name for b in app.buckets()}
        self.queue_url = ""
        self.queue_name = f"{NOTIFICATION_QUEUE}-{run}" if run else NOTIFICATION_QUEUE
        self._tagging = False  # whether the buckets are told to notify ObjectTagging events
        self._written: set[tuple[str, str]] = set()  # objects whose tagging echo is due

    def setup(self) -> None:
        """Create the notification queue and point every bucket's notifications at it."""
        self.queue_url = self._sqs.create_queue(QueueName=self.queue_name)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
        queue_arn = arn["Attributes"]["QueueArn"]
        events = set(_ALWAYS)
        for handler in self.handlers:
            assert isinstance(handler.trigger, S3Trigger)
            events.update(e for e in handler.trigger.events
                          if not any(e.startswith(a.removesuffix("*")) for a in _ALWAYS))
        self._tagging = any(e.startswith("s3:ObjectTagging:") for e in events)
        s3 = self.bindings.target.client("s3")
        for physical in self._by_physical:
            s3.put_bucket_notification_configuration(
                Bucket=physical,
                NotificationConfiguration={"QueueConfigurations": [
                    {"Id": "flowfn-local", "QueueArn": queue_arn, "Events": sorted(events)},
                ]},
            )

    def queues(self) -> list[str]:
        """Queues that must be empty before the app is idle."""
        return [self.queue_url] if self.queue_url else []

    def poll(self) -> int:
        """Handle the notifications waiting (up to 10); returns how many were read."""
        got = self._sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                        WaitTimeSeconds=0)
        messages = got.get("Messages", [])
        if not messages or not self._take(self.queue_url, messages, self._handle):
            return 0
        return len(messages)

    def _handle(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            body = json.loads(message["Body"])
            # The s3:TestEvent moto sends first has no Records: it is read and dropped here.
            delivered = all([self._deliver(record) for record in body.get("Records", [])])
            if delivered:  # else it comes back: stopping, it was not handed to every handler
                self._sqs.delete_message(QueueUrl=self.queue_url,
                                         ReceiptHandle=message["ReceiptHandle"])

    def held(self) -> dict[str, str]:
        return {NOTIFICATION_QUEUE: self.queue_url} if self.queue_url else {}

    def settle(self) -> None:
        """The objects written while stopping reach the observers (the mirror), from the
        notifications left queued for the next start."""
        if not self.queue_url or not self.observers:
            return
        try:
            self.observe_waiting()
        except Exception as exc:  # the stop goes on: what is queued is still saved
            self.errors.append(exc)

    def observe_waiting(self) -> int:
        """Show the observers the changes whose notifications wait in the queue (objects written
        while stopping), leaving the notifications queued; returns how many waited."""
        held: list[str] = []
        try:
            while True:
                got = self._sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                                WaitTimeSeconds=0, VisibilityTimeout=60)
                if not got.get("Messages"):
                    return len(held)
                for message in got["Messages"]:
                    held.append(message["ReceiptHandle"])
                    for record in json.loads(message["Body"]).get("Records", []):
                        self._deliver(record, invoke=False)
        finally:
            make_visible(self._sqs, self.queue_url, held)

    def _deliver(self, raw: dict[str, Any], invoke: bool = True) -> bool:
        physical = raw["s3"]["bucket"]["name"]
        logical = self._by_physical.get(physical)
        if logical is None:
            return True
        obj = raw["s3"]["object"]
        key = unquote_plus(obj["key"])
        event_name = str(raw["eventName"]).removeprefix("s3:")
        if self._moto_only(physical, key, event_name, str(obj.get("eTag", ""))):
            return True
        created = not event_name.startswith("ObjectRemoved")
        size = obj.get("size") if created else None
        etag = obj.get("eTag") if created else None
        change = ObjectChange(logical, key, event_name, size, etag)
        for observer in self.observers:
            try:
                observer(change)
            except Exception as exc:  # the mirror's trouble never holds back the handlers
                self.errors.append(exc)
        if not invoke:
            return False
        when = _parse_time(raw.get("eventTime"))
        sequencer = f"{next(_sequence):018X}"
        delivered = True
        for handler in self.handlers:
            trigger = handler.trigger
            assert isinstance(trigger, S3Trigger)
            if trigger.bucket.logical_name != logical or not trigger_matches(trigger, event_name, key):
                continue
            record = s3_record(
                event_name=event_name, bucket=physical, key=key, region=self.bindings.target.region,
                event_time=when, sequencer=sequencer, request_id=secrets.token_hex(8).upper(),
                configuration_id=configurationsample_id(handler), size=size, etag=etag,
            )
            if handler.settings.reserved_concurrency == 0:  # throttled for good: dropped, and said so
                self.invoker.drop(handler, s3_event([record]), source=f"{logical}/{key}")
                continue
            delivered &= self.invoker.submit(handler, s3_event([record]), source=f"{logical}/{key}",
                                             stop=self._stop)
        return delivered


    def _moto_only(self, bucket: str, key: str, event_name: str, etag: str) -> bool:
        """True for a notification moto sends and S3 does not, which is dropped here.

        Completing a multipart upload, moto stores the object with its PutObject code, which
        notifies ``ObjectCreated:Put``, before it notifies ``ObjectCreated:CompleteMultipartUpload``
        (S3 sends only the latter). That Put is told apart by its ETag, which has the multipart
        ``-<parts>`` suffix no PutObject gets. After storing an object either way, moto also
        notifies ``ObjectTagging:Put``, tags or not; S3 sends tagging events for the tagging calls
        only. moto sends that echo right after the object's Put, within the same request.
        """
        if event_name == "ObjectCreated:Put":
            if self._tagging:
                self._written.add((bucket, key))
            return _MULTIPART_ETAG.fullmatch(etag.strip('"')) is not None
        if (bucket, key) not in self._written:
            return False
        self._written.discard((bucket, key))
        return event_name == "ObjectTagging:Put"


def configurationsample_id(handler: Handler) -> str:
    """The notification configuration id of ``handler``'s trigger."""
    return f"flowfn-{handler.name}"


def _parse_time(text: Any) -> datetime:
    if isinstance(text, str):
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            pass
    return datetime.now(UTC)


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


def s3_sample_for(handler: Handler, names: Mapping[str, str], region: str) -> dict[str, Any]:
    """The sample event of ``flowfn invoke`` for an S3 handler, naming its real bucket when known."""
    trigger = handler.trigger
    assert isinstance(trigger, S3Trigger)
    bucket = names.get(trigger.bucket.logical_name, trigger.bucket.logical_name)
    key = f"{trigger.prefix}sample{trigger.suffix or '.txt'}"
    return s3_sample(bucket, key, event=trigger.events[0], region=region)
