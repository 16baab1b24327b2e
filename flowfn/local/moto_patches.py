"""Fixes to moto's SQS and server hot paths, applied while flowfn's embedded emulator runs.

moto 5.2's SQS did work proportional to a queue's depth on every call: ``receive_message``
checked each message's retention through ``get_queue_attributes``, which built every attribute
of the queue, the ``ApproximateNumberOfMessages*`` counts included (three scans of all messages);
``send_message`` built the same attributes to read one flag; ``receive_message`` filtered the
whole queue before taking the first ten messages; ``delete_message`` tested every message's
receipt handles twice, and a batch delete copied the queue's list once per entry. At 10,000
messages each call took tens of milliseconds.

Each fix here replaces one moto function with one that behaves the same (same results, same
errors, same state afterwards) without the depth-proportional work, and says what moto did and
why the replacement is equivalent. Each is guarded by the moto versions it was written against
(:data:`PATCHES`): with another moto installed it is left out, silently, and moto runs as
shipped. :func:`install` applies them when the first embedded server starts and
:func:`uninstall` restores moto's own functions when the last one stops.

The approximate counts still cost a scan, but only when ``GetQueueAttributes`` asks for them.
Apart from depth, moto's server spent about a millisecond per request, under a lock every
request shares, finding the backend for the request's host; that answer is now remembered.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

__all__ = ["PATCHES", "Patch", "active", "install", "moto_version", "uninstall"]


_modules: dict[str, Any] = {}


def _sqs() -> Any:
    """moto's SQS models module (imported on first use: moto is heavy)."""
    found = _modules.get("sqs")
    if found is None:
        found = _modules["sqs"] = importlib.import_module("moto.sqs.models")
    return found


# -- the fixes -----------------------------------------------------------------------------------


def queue_attribute(queue: Any, name: str) -> Any:
    """One attribute of a queue, exactly as ``Queue.attributes[name]`` gives it, or None when
    ``Queue.attributes`` would not have it; without building the others.

    ``Queue.attributes`` builds every attribute, and three of them
    (``ApproximateNumberOfMessages*``) scan all messages, so reading one flag from it costs a
    pass over the queue. This computes only ``name``, with the same rules: base attributes
    always, FIFO ones on FIFO queues, KMS ones when a key is set, ``RedrivePolicy`` as JSON when
    set, booleans as ``"true"``/``"false"``.
    """
    sqs = _sqs()
    queue_class = sqs.Queue
    if name in queue_class.BASE_ATTRIBUTES:
        pass
    elif name in queue_class.FIFO_ATTRIBUTES:
        if not queue.fifo_queue:
            return None
    elif name in queue_class.KMS_ATTRIBUTES:
        if not queue.kms_master_key_id:
            return None
    else:
        return None
    value = getattr(queue, sqs.camelcase_to_underscores(name))
    if name == "RedrivePolicy" and queue.redrive_policy:
        value = json.dumps(queue.redrive_policy)
    if isinstance(value, bool):
        value = str(value).lower()
    return value


def get_queue_attributes(self: Any, queue_name: str, attribute_names: list[str]) -> dict[str, Any]:
    """``SQSBackend.get_queue_attributes`` that computes only the attributes asked for.

    moto built ``queue.attributes`` (all of them, counts included) up to three times per name
    asked for. The validation and the result are the same: unknown names raise
    ``InvalidAttributeName``, ``All`` gives ``queue.attributes``, and otherwise each name the
    queue has with a value that is not None, in the order asked.
    """
    sqs = _sqs()
    queue = self.get_queue(queue_name)
    if not attribute_names:
        return {}
    valid_names = ["All", *queue.BASE_ATTRIBUTES, *queue.FIFO_ATTRIBUTES, *queue.KMS_ATTRIBUTES]
    invalid_name = next((name for name in attribute_names if name not in valid_names), None)
    if invalid_name or invalid_name == "":
        raise sqs.InvalidAttributeName(invalid_name)
    if "All" in attribute_names:
        return queue.attributes  # type: ignore[no-any-return]
    attributes: dict[str, Any] = {}
    for name in attribute_names:
        value = queue_attribute(queue, name)
        if value is not None:
            attributes[name] = value
    return attributes


def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
    """``SQSBackend.is_message_valid_based_on_retention_period`` reading the period directly.

    moto called ``get_queue_attributes(queue_name, ["MessageRetentionPeriod"])`` for every
    message it handed out, which counted the whole queue three times. The value it read is
    ``queue.message_retention_period`` (an int, always set), so the answer is the same.
    """
    retention_period = self.get_queue(queue_name).message_retention_period
    return bool(retention_period + message.sent_timestamp / 1000 > _sqs().unix_time())


def _content_based_deduplication(queue: Any) -> str | None:
    return queue_attribute(queue, "ContentBasedDeduplication")  # type: ignore[no-any-return]


def validate_message(self: Any, queue: Any, message_body: str, delay_seconds: int,
                     deduplication_id: str | None = None, group_id: str | None = None,
                     validate_group_id: bool = True) -> None:
    """``SQSBackend._validate_message`` reading ``ContentBasedDeduplication`` alone.

    moto built all of ``queue.attributes`` twice per FIFO message to read that one flag; the
    checks, their order and their errors are moto's.
    """
    sqs = _sqs()
    if queue.fifo_queue:
        content_based = _content_based_deduplication(queue)
        if content_based == "false" and not group_id:
            raise sqs.MissingParameter("MessageGroupId")
        if content_based == "false" and group_id and not deduplication_id:
            raise sqs.InvalidParameterValue(
                "The queue should either have ContentBasedDeduplication enabled or "
                "MessageDeduplicationId provided explicitly")
        if delay_seconds > 0:
            raise sqs.InvalidParameterValue(
                f"Value {delay_seconds} for parameter DelaySeconds is invalid. Reason: "
                "The request include parameter that is not valid for this queue type.")
    if len(message_body) > queue.maximum_message_size:
        raise sqs.InvalidParameterValue(
            "One or more parameters are invalid. Reason: Message must be shorter than "
            f"{queue.maximum_message_size} bytes.")
    if group_id is None and queue.fifo_queue:
        raise sqs.MissingParameter("MessageGroupId")


def send_message(self: Any, queue_name: str, message_body: str,
                 message_attributes: dict[str, Any] | None = None, delay_seconds: int | None = None,
                 deduplication_id: str | None = None, group_id: str | None = None,
                 system_attributes: dict[str, Any] | None = None, validate_group_id: bool = True) -> Any:
    """``SQSBackend.send_message`` reading ``ContentBasedDeduplication`` alone.

    moto built all of ``queue.attributes`` (three scans of the queue) on every send to read
    that one flag. Everything else is moto's code, in moto's order (the random draws included).
    """
    import hashlib
    import string

    sqs = _sqs()
    queue = self.get_queue(queue_name)
    self._validate_message(queue, message_body=message_body, delay_seconds=int(delay_seconds or 0),
                           deduplication_id=deduplication_id, group_id=group_id,
                           validate_group_id=validate_group_id)
    delay_seconds = int(delay_seconds) if delay_seconds is not None else queue.delay_seconds
    message = sqs.Message(str(sqs.random.uuid4()), message_body, system_attributes)
    if _content_based_deduplication(queue) == "true":
        message.deduplication_id = hashlib.sha256(message_body.encode("utf-8")).hexdigest()
    if deduplication_id is not None:
        message.deduplication_id = deduplication_id
        message.sequence_number = "".join(sqs.random.choice(string.digits) for _ in range(20))
    if group_id is not None:
        message.group_id = group_id
    if message_attributes:
        message.message_attributes = message_attributes
    if delay_seconds > sqs.MAXIMUM_MESSAGE_DELAY:
        raise sqs.InvalidParameterValue(
            f"Value {delay_seconds} for parameter DelaySeconds is invalid. "
            "Reason: DelaySeconds must be >= 0 and <= 900.")
    message.mark_sent(delay_seconds=delay_seconds)
    queue.add_message(message)
    return message


def add_message(self: Any, message: Any) -> None:
    """``Queue.add_message`` reading ``ContentBasedDeduplication`` alone.

    moto built all of ``self.attributes`` on every FIFO send to read that one flag, and compared
    the new message's deduplication id with every message's. The rule is moto's: a message in
    the queue with the same deduplication id sent less than five minutes earlier drops the new
    one; the messages with that id are found in an index (:func:`_deduplication_index`). The
    check and the append happen under the queue's lock. A queue with a Lambda event source
    mapping runs moto's own function.
    """
    original = _ORIGINALS.get("Queue.add_message")
    if self.lambda_event_source_mappings and original is not None:
        # moto's own path: it receives, invokes and deletes through the backend (flowfn never
        # registers a mapping).
        original(self, message)
        return
    with self._messages_lock:
        if self.fifo_queue:
            by_id = _deduplication_index(self)
            if _content_based_deduplication(self) == "true" or message.deduplication_id:
                window = _sqs().DEDUPLICATION_TIME_IN_SECONDS
                for m in by_id.get(message.deduplication_id, ()):
                    if (message.sent_timestamp - m.sent_timestamp) / 1000 < window:
                        return
            by_id.setdefault(message.deduplication_id, []).append(message)
            self._messages.append(message)
            self.__dict__[_INDEX][1] += 1
        else:
            self._messages.append(message)
        self._messages_lock.notify_all()


#: Where a FIFO queue keeps its deduplication index: [the list it describes, that list's length,
#: {deduplication id: messages in that list with it}].
_INDEX = "_flowfn_deduplication_index"


def _deduplication_index(queue: Any) -> dict[Any, list[Any]]:
    """The queue's messages by deduplication id, rebuilt when the list changed behind its back.

    The fixes here keep it in step as they add and remove messages (under the queue's lock);
    anything else that gives the queue a new list (a purge) or appends to it (moto's own
    ``add_message``) changes the list's identity or length, and the index is built again.
    """
    state = queue.__dict__.get(_INDEX)
    messages = queue._messages
    if state is None or state[0] is not messages or state[1] != len(messages):
        by_id: dict[Any, list[Any]] = {}
        for m in messages:
            by_id.setdefault(m.deduplication_id, []).append(m)
        state = queue.__dict__[_INDEX] = [messages, len(messages), by_id]
    return state[2]  # type: ignore[no-any-return]


def _replace_messages(queue: Any, old: list[Any], new: list[Any], removed: list[Any]) -> None:
    """Give ``queue`` the list ``new``: ``old`` without ``removed``; the index follows."""
    queue._messages = new
    state = queue.__dict__.get(_INDEX)
    if state is None:
        return
    if state[0] is not old or state[1] != len(old):
        del queue.__dict__[_INDEX]
        return
    for message in removed:
        same = state[2].get(message.deduplication_id, [])
        for index, m in enumerate(same):
            if m is message:
                del same[index]
                break
    state[0], state[1] = new, len(new)


def _available(queue: Any) -> Iterator[Any]:
    """The queue's visible, undelayed messages in order, found one at a time.

    It walks the list the queue holds when it starts. With these fixes in place nothing
    removes from that list in place (deletes and dead-letter moves give the queue a new list),
    so the walk sees each message of that moment once, in order; a message sent meanwhile is
    appended and may be seen too, as if it had been sent a moment earlier.
    """
    for message in queue._messages:
        if message.visible and not message.delayed:
            yield message


def receive_message(self: Any, queue_name: str, count: int, wait_seconds_timeout: int,
                    visibility_timeout: int, message_attribute_names: list[str] | None = None) -> list[Any]:
    """``SQSBackend.receive_message`` that stops looking once it has ``count`` messages.

    moto listed every visible message of the queue (``queue.messages``, a full pass with two
    clock reads per message) before taking the first ``count``, and checked each one's
    retention through ``get_queue_attributes``. This walks a snapshot of the same list in the
    same order with the same filter, lazily, so it considers exactly the messages moto took, in
    the same order, with the same FIFO group locking, dead-letter moves and receive counts. A
    message moved to the dead-letter queue leaves through a new list, not in place (see
    ``_available``).
    """
    sqs = _sqs()
    if message_attribute_names is None:
        message_attribute_names = []
    queue = self.get_queue(queue_name)
    result: list[Any] = []
    previous_result_count = len(result)
    polling_end = sqs.unix_time() + wait_seconds_timeout
    currently_pending_groups = deepcopy(queue.pending_message_groups)
    while True:
        if result or (wait_seconds_timeout and sqs.unix_time() > polling_end):
            break
        messages_to_dlq: list[Any] = []
        for message in _available(queue):
            if not message.visible:
                continue
            if message in queue.pending_messages:
                # Visible again while pending: the consumer timed out.
                queue.pending_messages.remove(message)
                currently_pending_groups = deepcopy(queue.pending_message_groups)
            if message.group_id and queue.fifo_queue and message.group_id in currently_pending_groups:
                continue
            if (queue.dead_letter_queue is not None and queue.redrive_policy
                    and message.approximate_receive_count >= queue.redrive_policy["maxReceiveCount"]):
                messages_to_dlq.append(message)
                continue
            queue.pending_messages.add(message)
            message.mark_received(visibility_timeout=visibility_timeout)
            message_copy = deepcopy(message)
            sqs._filter_message_attributes(message_copy, message_attribute_names)
            if not self.is_message_valid_based_on_retention_period(queue_name, message):
                break
            result.append(message_copy)
            if len(result) >= count:
                break
        for message in messages_to_dlq:
            with queue._messages_lock:
                current = queue._messages
                remaining = list(current)
                remaining.remove(message)
                _replace_messages(queue, current, remaining, [message])
            queue.dead_letter_queue.add_message(message)
        if previous_result_count == len(result):
            if wait_seconds_timeout == 0:
                break
            queue.wait_for_messages(1)
            continue
        previous_result_count = len(result)
    return result


def wait_for_messages(self: Any, timeout: int) -> None:
    """``Queue.wait_for_messages`` that wakes on the first available message it finds.

    moto's wait condition listed every visible message (a pass over the queue) each time a
    send woke the waiters; its truth is whether any exists, which this answers at the first.
    """
    def available() -> bool:
        return any(m.visible and not m.delayed for m in self._messages)

    with self._messages_lock:
        self._messages_lock.wait_for(available, timeout=timeout)


def _holder(messages: list[Any], receipt_handle: str) -> int | None:
    """Where the message that ever had ``receipt_handle`` is in ``messages``, or None."""
    for index, message in enumerate(messages):
        if message.receipt_handle == receipt_handle or receipt_handle in message._old_receipt_handles:
            return index
    return None


def _remove(queue: Any, gone: list[tuple[int, Any]]) -> None:
    """Give ``queue`` a new list without the ``(index, message)`` pairs in ``gone``.

    The indices were found in an earlier read of the list; a message that moved since (another
    thread's delete) is looked for by identity. Done under the queue's lock, so a message sent
    meanwhile is not lost with the old list.
    """
    with queue._messages_lock:
        current = queue._messages
        remaining = list(current)
        removed = []
        for index, message in sorted(gone, key=lambda pair: pair[0], reverse=True):
            if index < len(remaining) and remaining[index] is message:
                del remaining[index]
            elif message in remaining:
                remaining.remove(message)
            else:
                continue
            removed.append(message)
        _replace_messages(queue, current, remaining, removed)


def delete_message(self: Any, receipt_handle: str) -> None:
    """``Queue.delete_message`` that stops at the message holding the receipt handle.

    moto asked every message whether it ever had the handle (building a list of its handles
    each time) and then did it again to rebuild the queue without it. A receipt handle is 185
    random letters drawn per receive and a message is in one queue's list at most once, so
    the first message that had it is the only one; it goes out of a new list (as in moto, so a
    pass over the old list elsewhere is undisturbed), leaves the pending set, and all its
    handles count as deleted. Unknown handles raise ``ReceiptHandleIsInvalid`` as before.
    """
    if receipt_handle in self.deleted_messages:
        return
    messages = self._messages
    index = _holder(messages, receipt_handle)
    if index is None:
        raise _sqs().ReceiptHandleIsInvalid()
    message = messages[index]
    self.pending_messages.discard(message)
    self.deleted_messages.update(message.all_receipt_handles)
    _remove(self, [(index, message)])


def delete_message_batch(self: Any, queue_name: str,
                         receipts: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, str]]]:
    """``SQSBackend.delete_message_batch`` that gives the queue one new list per batch.

    moto deleted the entries one by one, each copying the queue's list. Entries are taken in
    order with ``delete_message``'s rules: a handle already deleted (in the batch or before)
    succeeds, an unknown one fails with moto's error entry, and each message found leaves the
    pending set with all its handles counted as deleted.
    """
    queue = self.get_queue(queue_name)
    messages = queue._messages
    success: list[str] = []
    errors: list[dict[str, str]] = []
    gone: list[tuple[int, Any]] = []
    for receipt_and_id in receipts:
        handle = receipt_and_id["ReceiptHandle"]
        if handle not in queue.deleted_messages:
            index = _holder(messages, handle)
            if index is None:
                errors.append({
                    "Id": receipt_and_id["Id"],
                    "SenderFault": True,  # type: ignore[dict-item]
                    "Code": "ReceiptHandleIsInvalid",
                    "Message": f'The input receipt handle "{handle}" is not a valid receipt handle.',
                })
                continue
            message = messages[index]
            queue.pending_messages.discard(message)
            queue.deleted_messages.update(message.all_receipt_handles)
            gone.append((index, message))
        success.append(receipt_and_id["Id"])
    if gone:
        _remove(queue, gone)
    return success, errors


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
    backend = _ORIGINALS["DomainDispatcherApplication.get_backend_for_host"](self, host)
    if host is not None and backend:
        known[host] = backend
    return backend


# -- the clock -----------------------------------------------------------------------------------


def _fast_clock() -> tuple[Callable[..., float], Callable[..., float]]:
    """``unix_time`` and ``unix_time_millis`` for moto's SQS that cost 0.1 us instead of 20.

    moto reads the time through datetime conversions (to honour freezegun) two or three times
    per message it considers. The milliseconds never repeat: moto sets a message visible "now"
    and then asks whether it is visible (now later than then); two equal readings left it marked
    in flight, which held back its FIFO group or handed the group out of order.
    """
    original, original_ms = _ORIGINALS["unix_time"], _ORIGINALS["unix_time_millis"]
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
    owner: str  # "Queue", "SQSBackend", "DomainDispatcherApplication" or "" for moto.sqs.models
    attribute: str
    replacement: Callable[..., Any] | None  # None: built at install time (the clock)
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
          get_queue_attributes, *_MOTO_5_2),
    Patch("SQSBackend.is_message_valid_based_on_retention_period", "SQSBackend",
          "is_message_valid_based_on_retention_period", is_message_valid_based_on_retention_period,
          *_MOTO_5_2),
    Patch("SQSBackend._validate_message", "SQSBackend", "_validate_message", validate_message, *_MOTO_5_2),
    Patch("SQSBackend.send_message", "SQSBackend", "send_message", send_message, *_MOTO_5_2),
    Patch("SQSBackend.receive_message", "SQSBackend", "receive_message", receive_message, *_MOTO_5_2),
    Patch("Queue.add_message", "Queue", "add_message", add_message, *_MOTO_5_2),
    Patch("Queue.wait_for_messages", "Queue", "wait_for_messages", wait_for_messages, *_MOTO_5_2),
    Patch("Queue.delete_message", "Queue", "delete_message", delete_message, *_MOTO_5_2),
    Patch("SQSBackend.delete_message_batch", "SQSBackend", "delete_message_batch", delete_message_batch,
          *_MOTO_5_2),
    Patch("DomainDispatcherApplication.get_backend_for_host", "DomainDispatcherApplication",
          "get_backend_for_host", get_backend_for_host, *_MOTO_5_2),
)

_ORIGINALS: dict[str, Any] = {}
_lock = threading.Lock()


def moto_version() -> tuple[int, ...] | None:
    """The installed moto's version as numbers (``(5, 2, 5)``), or None if it cannot be read."""
    try:
        text = importlib.metadata.version("moto")
    except importlib.metadata.PackageNotFoundError:
        return None
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(part) for part in match.groups()) if match else None


def _owner(sqs: Any, patch: Patch) -> Any:
    if patch.owner == "DomainDispatcherApplication":
        return importlib.import_module("moto.moto_server.werkzeug_app").DomainDispatcherApplication
    return getattr(sqs, patch.owner) if patch.owner else sqs


def install(version: tuple[int, ...] | None = None) -> list[str]:
    """Apply every fix written for the installed moto (or ``version``); returns their names.

    Fixes for other moto versions are left out and moto keeps its own code. Installing twice
    changes nothing.
    """
    version = moto_version() if version is None else version
    with _lock:
        if _ORIGINALS:
            return active()
        sqs = _sqs()
        chosen = [p for p in PATCHES if p.applies_to(version)]
        for patch in chosen:
            _ORIGINALS[patch.name] = getattr(_owner(sqs, patch), patch.attribute)
        clock: dict[str, Callable[..., float]] = {}
        if "unix_time" in _ORIGINALS and "unix_time_millis" in _ORIGINALS:
            clock = dict(zip(("unix_time", "unix_time_millis"), _fast_clock(), strict=True))
        for patch in chosen:
            replacement = patch.replacement or clock[patch.name]
            setattr(_owner(sqs, patch), patch.attribute, replacement)
        return [p.name for p in chosen]


def uninstall() -> None:
    """Put moto's own functions back."""
    with _lock:
        sqs = _sqs()
        for patch in PATCHES:
            if patch.name in _ORIGINALS:
                setattr(_owner(sqs, patch), patch.attribute, _ORIGINALS.pop(patch.name))


def active() -> list[str]:
    """The names of the fixes in place now."""
    return [p.name for p in PATCHES if p.name in _ORIGINALS]
