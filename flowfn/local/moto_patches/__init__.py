"""Fixes to moto's SQS, Kinesis and server hot paths, applied while flowfn's embedded emulator runs.

moto 5.2's SQS did work proportional to a queue's depth on every call: ``receive_message``
checked each message's retention through ``get_queue_attributes``, which built every attribute
of the queue, the ``ApproximateNumberOfMessages*`` counts included (three scans of all messages);
``send_message`` built the same attributes to read one flag, and a FIFO send compared its
deduplication id with every message's; ``receive_message`` filtered the
whole queue before taking the first ten messages; ``delete_message`` tested every message's
receipt handles twice, and a batch delete copied the queue's list once per entry. At 10,000
messages each call took tens of milliseconds. At any depth, each message received cost a
receipt handle drawn letter by letter (about 45 us).

Each fix replaces one moto function with one that behaves the same (same results, same
errors, same state afterwards) without the depth-proportional work, and says what moto did and
why the replacement is equivalent. Each is guarded by the moto versions it was written against
(:data:`PATCHES`): with another moto installed it is left out, silently, and moto runs as
shipped. The SQS fixes are in :mod:`flowfn.local.moto_patches.sqs`, Kinesis shards' in
:mod:`flowfn.local.moto_patches.kinesis`, the response serializer's in
:mod:`flowfn.local.moto_patches.serialize`, S3's conditional writes' in
:mod:`flowfn.local.moto_patches.s3`, DynamoDB's item writes and stream numbering in
:mod:`flowfn.local.moto_patches.dynamodb`, DynamoDB Streams' iterators' expiry in
:mod:`flowfn.local.moto_patches.streamiterators`, the instances moto kept alive in
:mod:`flowfn.local.moto_patches.tracking`; the clock and the server's fix are here.
:func:`install` applies them when the first embedded server starts and
:func:`uninstall` restores moto's own functions when the last one stops.

The approximate counts still cost a scan, but only when ``GetQueueAttributes`` asks for them.
Apart from depth, moto's server spent about a millisecond per request, under a lock every
request shares, finding the backend for the request's host; that answer is now remembered. And
moto read each service's model through a loader of its own, listing every service first; one
loader now serves them all, which takes tens of milliseconds off the first call per service.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flowfn.local.moto_patches import dynamodb, kinesis, s3, serialize, sqs, streamiterators, tracking
from flowfn.local.moto_patches._moto import ORIGINALS
from flowfn.local.moto_patches._moto import sqs_models as _sqs

__all__ = ["PATCHES", "Patch", "active", "install", "moto_version", "uninstall"]


def get_backend_for_host(self: Any, host: str | None) -> Any:
    """``DomainDispatcherApplication.get_backend_for_host`` that remembers each answer.

    moto's server resolved the backend of every request anew, under the lock all requests
    share: it listed moto's package directory (a ``stat`` per service, about 1 ms) and then
    tried the URL patterns of every backend. Both are fixed while the process runs, so the
    backend found for a host is found again; hosts that match nothing take moto's path each
    time, as before.
    """
    known: dict[str, Any] = self.__dict__.setdefault("_flowfn_backend_for_host", {})
    if host is not None and host in known:
        return known[host]
    backend = ORIGINALS["DomainDispatcherApplication.get_backend_for_host"](self, host)
    if host is not None and backend:
        known[host] = backend
    return backend


_loaders: list[Any] = []


def create_loader() -> Any:
    """moto's ``create_loader`` that makes one loader and hands it out again.

    moto read each service's model through a new loader, which first lists every service
    botocore and moto know (a directory scan, about 20 ms) and caches nothing for the next one.
    The loader's search paths are fixed, so one loader reads the same files. It lists services
    from the folders flowfn's own loader has listed already (:mod:`flowfn.local.datafiles`).
    """
    if not _loaders:
        from flowfn.local.datafiles import list_once

        _loaders.append(list_once(ORIGINALS["utils.create_loader"]()))
    return _loaders[0]


# -- the clock -----------------------------------------------------------------------------------


def _fast_clock() -> tuple[Callable[..., float], Callable[..., float]]:
    """``unix_time`` and ``unix_time_millis`` for moto's SQS that cost 0.1 us instead of 20.

    moto reads the time through datetime conversions (to honour freezegun) two or three times
    per message it considers. The milliseconds never repeat: moto sets a message visible "now"
    and then asks whether it is visible (now later than then); two equal readings left it marked
    in flight, which held back its FIFO group or handed the group out of order.
    """
    original, original_ms = ORIGINALS["unix_time"], ORIGINALS["unix_time_millis"]
    last = [0.0]

    def unix_time(dt: Any = None) -> float:
        return time.time() if dt is None else float(original(dt))

    def unix_time_millis(dt: Any = None) -> float:
        if dt is not None:
            return float(original_ms(dt))
        now = max(time.time() * 1000.0, last[0] + 0.001)
        last[0] = now
        return now

    return unix_time, unix_time_millis


# -- applying them -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Patch:
    """One moto function replaced: where it lives, by what, for which moto versions."""

    name: str
    #: "Queue", "SQSBackend", "DomainDispatcherApplication", a module, "module:Class", or "" for
    #: moto.sqs.models
    owner: str
    attribute: str
    replacement: Callable[..., Any] | property | None  # None: built at install time (the clock)
    since: tuple[int, int, int]
    before: tuple[int, int, int]

    def applies_to(self, version: tuple[int, ...] | None) -> bool:
        return version is not None and self.since <= version < self.before


_MOTO_5_2 = ((5, 2, 0), (5, 3, 0))

#: Every fix, in the order they are applied.
PATCHES: tuple[Patch, ...] = (
    Patch("unix_time", "", "unix_time", None, *_MOTO_5_2),
    Patch("unix_time_millis", "", "unix_time_millis", None, *_MOTO_5_2),
    Patch("SQSBackend.get_queue_attributes", "SQSBackend", "get_queue_attributes",
          sqs.get_queue_attributes, *_MOTO_5_2),
    Patch("SQSBackend.is_message_valid_based_on_retention_period", "SQSBackend",
          "is_message_valid_based_on_retention_period", sqs.is_message_valid_based_on_retention_period,
          *_MOTO_5_2),
    Patch("SQSBackend._validate_message", "SQSBackend", "_validate_message", sqs.validate_message,
          *_MOTO_5_2),
    Patch("SQSBackend.send_message", "SQSBackend", "send_message", sqs.send_message, *_MOTO_5_2),
    Patch("SQSBackend.receive_message", "SQSBackend", "receive_message", sqs.receive_message, *_MOTO_5_2),
    Patch("Queue.add_message", "Queue", "add_message", sqs.add_message, *_MOTO_5_2),
    Patch("Queue.wait_for_messages", "Queue", "wait_for_messages", sqs.wait_for_messages, *_MOTO_5_2),
    *(Patch(f"Queue.{name}", "Queue", name, property(count), *_MOTO_5_2)
      for name, count in sqs.COUNTS.items()),
    Patch("Queue.delete_message", "Queue", "delete_message", sqs.delete_message, *_MOTO_5_2),
    Patch("SQSBackend.delete_message_batch", "SQSBackend", "delete_message_batch", sqs.delete_message_batch,
          *_MOTO_5_2),
    Patch("generate_receipt_handle", "", "generate_receipt_handle", sqs.generate_receipt_handle, *_MOTO_5_2),
    Patch("SQSBackend.change_message_visibility", "SQSBackend", "change_message_visibility",
          sqs.change_message_visibility, *_MOTO_5_2),
    Patch("DomainDispatcherApplication.get_backend_for_host", "DomainDispatcherApplication",
          "get_backend_for_host", get_backend_for_host, *_MOTO_5_2),
    Patch("utils.create_loader", "moto.core.utils", "create_loader", create_loader, *_MOTO_5_2),
    *(Patch(f"kinesis.Shard.{name}", "moto.kinesis.models:Shard", name, getattr(kinesis, name), *_MOTO_5_2)
      for name in ("get_records", "put_record", "get_max_sequence_number", "get_min_sequence_number")),
    *(Patch(f"kinesis.Stream.{name}", "moto.kinesis.models:Stream", name, getattr(kinesis, name), *_MOTO_5_2)
      for name in ("split_shard", "merge_shards", "get_shard_for_key")),
    Patch("serialize.AttributePicker.__call__", "moto.core.serialize:AttributePicker", "__call__",
          serialize.attribute_picker_call, *_MOTO_5_2),
    *(Patch(f"s3.S3Response.{name}", "moto.s3.responses:S3Response", name, s3.serialized(name), *_MOTO_5_2)
      for name in s3.WRITES),
    Patch("dynamodb.StreamShard.add", "moto.dynamodb.models.table:StreamShard", "add", dynamodb.add,
          *_MOTO_5_2),
    *(Patch(f"dynamodb.DynamoDBBackend.{name}", "moto.dynamodb.models:DynamoDBBackend", name,
            dynamodb.serialized(name), *_MOTO_5_2) for name in dynamodb.WRITES),
    Patch("dynamodb.DynamoDBBackend.transact_write_items", "moto.dynamodb.models:DynamoDBBackend",
          "transact_write_items", dynamodb.transact_write_items, *_MOTO_5_2),
    *(Patch(f"dynamodbstreams.DynamoDBStreamsBackend.{name}",
            "moto.dynamodbstreams.models:DynamoDBStreamsBackend", name, getattr(streamiterators, name),
            *_MOTO_5_2) for name in ("get_shard_iterator", "get_records")),
    # The key's __del__ first: a key the weak lists let go of closes its buffer quietly.
    Patch("tracking.FakeKey.__del__", "moto.s3.models:FakeKey", "__del__", tracking.fake_key_del, *_MOTO_5_2),
    Patch("tracking.BaseModel.__new__", "moto.core.common_models:BaseModel", "__new__",
          staticmethod(tracking.base_model_new), *_MOTO_5_2),
)

_lock = threading.Lock()


def moto_version() -> tuple[int, ...] | None:
    """The installed moto's version as numbers (``(5, 2, 5)``), or None if it cannot be read."""
    try:
        text = importlib.metadata.version("moto")
    except importlib.metadata.PackageNotFoundError:
        return None
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(part) for part in match.groups()) if match else None


def _owner(models: Any, patch: Patch) -> Any:
    if patch.owner == "DomainDispatcherApplication":
        return importlib.import_module("moto.moto_server.werkzeug_app").DomainDispatcherApplication
    if ":" in patch.owner:  # a class of another module
        module, _, name = patch.owner.partition(":")
        return getattr(importlib.import_module(module), name)
    if "." in patch.owner:  # a module
        return importlib.import_module(patch.owner)
    return getattr(models, patch.owner) if patch.owner else models


def install(version: tuple[int, ...] | None = None) -> list[str]:
    """Apply every fix written for the installed moto (or ``version``); returns their names.

    Fixes for other moto versions are left out and moto keeps its own code. Installing twice
    changes nothing.
    """
    version = moto_version() if version is None else version
    with _lock:
        if ORIGINALS:
            return active()
        models = _sqs()
        chosen = [p for p in PATCHES if p.applies_to(version)]
        for patch in chosen:
            ORIGINALS[patch.name] = getattr(_owner(models, patch), patch.attribute)
        clock: dict[str, Callable[..., float]] = {}
        if "unix_time" in ORIGINALS and "unix_time_millis" in ORIGINALS:
            clock = dict(zip(("unix_time", "unix_time_millis"), _fast_clock(), strict=True))
        for patch in chosen:
            replacement = patch.replacement or clock[patch.name]
            setattr(_owner(models, patch), patch.attribute, replacement)
        return [p.name for p in chosen]


def uninstall() -> None:
    """Put moto's own functions back."""
    with _lock:
        models = _sqs()
        for patch in PATCHES:
            if patch.name in ORIGINALS:
                setattr(_owner(models, patch), patch.attribute, ORIGINALS.pop(patch.name))


def active() -> list[str]:
    """The names of the fixes in place now."""
    return [p.name for p in PATCHES if p.name in ORIGINALS]
