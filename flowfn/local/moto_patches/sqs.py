"""The fixes to moto's SQS backend (``moto/sqs/models.py``), each a replacement for one of
its functions that gives the same results without a pass over the whole queue. See the package
docstring for how they are applied."""

from __future__ import annotations

import json
from collections.abc import Iterator
from copy import deepcopy
from typing import Any

from flowfn.local.moto_patches._moto import ORIGINALS
from flowfn.local.moto_patches._moto import sqs_models as _sqs


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
    original = ORIGINALS.get("Queue.add_message")
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


def _taken_out(queue: Any, messages: list[Any], length: int, removed: list[Any]) -> None:
    """The index follows ``messages``, which had ``length`` messages before ``removed`` left it."""
    state = queue.__dict__.get(_INDEX)
    if state is None:
        return
    if state[0] is not messages or state[1] != length:
        del queue.__dict__[_INDEX]
        return
    for message in removed:
        same = state[2].get(message.deduplication_id, [])
        for index, m in enumerate(same):
            if m is message:
                del same[index]
                break
    state[1] = len(messages)


def _available(queue: Any) -> Iterator[Any]:
    """The queue's visible, undelayed messages in order, found one at a time.

    It walks the list the queue holds when it starts, under the queue's lock. With these fixes
    in place messages leave that list only under the same lock (:func:`_remove`), so the walk
    sees each message of that moment once, in order; a message sent meanwhile is appended and
    may be seen too, as if it had been sent a moment earlier.
    """
    for message in queue._messages:
        if message.visible and not message.delayed:
            yield message


def receive_message(self: Any, queue_name: str, count: int, wait_seconds_timeout: int,
                    visibility_timeout: int, message_attribute_names: list[str] | None = None) -> list[Any]:
    """``SQSBackend.receive_message`` that stops looking once it has ``count`` messages, and
    takes them while no other call changes the queue.

    moto listed every visible message of the queue (``queue.messages``, a full pass with two
    clock reads per message) before taking the first ``count``, and checked each one's
    retention through ``get_queue_attributes``. This walks the same list in the same order
    with the same filter, lazily (see ``_available``), so it considers the messages moto took,
    in the same order, with the same FIFO group locking, dead-letter moves and receive counts;
    and it reads the retention period directly. A message moved to the dead-letter queue leaves
    the list once the walk is over.

    moto's server answers requests on many threads, and moto took messages with nothing held:
    two receives at once could both find a message visible and both hand it out (a standard
    queue gave some messages to two consumers at once; SQS hides a received message from every
    other receive), and a FIFO receive could fail reading the set of groups in flight while
    another changed it. The queue's lock is held while messages are taken (and let go while a
    long poll waits), as by the other calls that change its messages here.
    """
    queue = self.get_queue(queue_name)
    with queue._messages_lock:
        return _receive(self, queue, queue_name, count, wait_seconds_timeout, visibility_timeout,
                        message_attribute_names or [])


def _receive(self: Any, queue: Any, queue_name: str, count: int, wait_seconds_timeout: int,
             visibility_timeout: int, message_attribute_names: list[str]) -> list[Any]:
    sqs = _sqs()
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
            _remove(queue, [(None, message)])
            queue.dead_letter_queue.add_message(message)  # its lock is taken while this one is held
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


def count_visible(self: Any) -> int:
    """``Queue.approximate_number_of_messages`` (visible, not delayed) counted under the
    queue's lock.

    moto counted with nothing held. Messages leave the queue's list in place here
    (:func:`_remove`): a count walking the list while a delete shifted it could pass over a
    message still in the queue. The same holds for the two counts below.
    """
    with self._messages_lock:
        return sum(1 for m in self._messages if m.visible and not m.delayed)


def count_not_visible(self: Any) -> int:
    """``Queue.approximate_number_of_messages_not_visible`` counted under the queue's lock."""
    with self._messages_lock:
        return sum(1 for m in self._messages if not m.visible)


def count_delayed(self: Any) -> int:
    """``Queue.approximate_number_of_messages_delayed`` counted under the queue's lock."""
    with self._messages_lock:
        return sum(1 for m in self._messages if m.delayed)


#: The properties of moto's ``Queue`` replaced by the counts above.
COUNTS = {"approximate_number_of_messages": count_visible,
          "approximate_number_of_messages_not_visible": count_not_visible,
          "approximate_number_of_messages_delayed": count_delayed}


def _holder(messages: list[Any], receipt_handle: str) -> int | None:
    """Where the message that ever had ``receipt_handle`` is in ``messages``, or None."""
    for index, message in enumerate(messages):
        if message.receipt_handle == receipt_handle or receipt_handle in message._old_receipt_handles:
            return index
    return None


def _remove(queue: Any, gone: list[tuple[int | None, Any]]) -> None:
    """Take the messages of the ``(index, message)`` pairs in ``gone`` out of the queue's list,
    in place.

    moto gave the queue a new list for each message deleted: a copy of the whole queue that
    touches every message in it (tens of microseconds at 10,000 messages). Here each run of
    neighbouring indices goes in one slice deletion, from the back, so ten messages taken from
    the front of a deep queue move the rest of the list once, without touching its messages.
    Every pass over the list with these fixes in place holds the queue's lock, as this does
    (the walk of a receive, the wait of a long poll, the counts: :func:`count_visible`), so none
    sees the list change under it.

    The indices were found under the lock, which is still held; a message not at its index
    (None: not known; or the queue was given a new list meanwhile, by a purge) is looked for
    by identity, and one no longer in the list is left alone.
    """
    with queue._messages_lock:
        messages = queue._messages
        length = len(messages)
        found: dict[int, Any] = {}
        for index, message in gone:
            if index is None or index >= length or messages[index] is not message:
                index = next((i for i, m in enumerate(messages) if m is message), None)
                if index is None:
                    continue
            found[index] = message
        at = sorted(found, reverse=True)
        start = 0
        while start < len(at):
            stop = start + 1
            while stop < len(at) and at[stop] == at[stop - 1] - 1:
                stop += 1
            del messages[at[stop - 1]:at[start] + 1]
            start = stop
        _taken_out(queue, messages, length, list(found.values()))


def delete_message(self: Any, receipt_handle: str) -> None:
    """``Queue.delete_message`` that stops at the message holding the receipt handle.

    moto asked every message whether it ever had the handle (building a list of its handles
    each time) and then did it again to rebuild the queue without it. A receipt handle is 185
    random letters drawn per receive and a message is in one queue's list at most once, so
    the first message that had it is the only one; it leaves the list (:func:`_remove`) and
    the pending set, and all its handles count as deleted. Unknown handles raise
    ``ReceiptHandleIsInvalid`` as before.
    """
    with self._messages_lock:
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
    """``SQSBackend.delete_message_batch`` that takes the batch's messages out of the queue's
    list at once.

    moto deleted the entries one by one, each copying the queue's list. Entries are taken in
    order with ``delete_message``'s rules: a handle already deleted (in the batch or before)
    succeeds, an unknown one fails with moto's error entry, and each message found leaves the
    pending set with all its handles counted as deleted.
    """
    queue = self.get_queue(queue_name)
    with queue._messages_lock:
        return _delete_batch(queue, receipts)


def _delete_batch(queue: Any, receipts: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, str]]]:
    messages = queue._messages
    success: list[str] = []
    errors: list[dict[str, str]] = []
    gone: list[tuple[int | None, Any]] = []
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


_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_HANDLE_LENGTH = 185
#: A word's top byte -> its letter (its top five bits index the alphabet); the top bytes of words
#: whose five bits are 26 or more are dropped (moto draws again for those).
_LETTER_OF_TOP_BYTE = bytes(ord(_LETTERS[b >> 3]) if b < 26 << 3 else 0 for b in range(256))
_REJECTED = bytes(range(26 << 3, 256))


def generate_receipt_handle() -> str:
    """``generate_receipt_handle``: 185 random lowercase letters, the very letters moto draws.

    moto called ``random.choice`` once per letter on its seedable random generator, about 45 us a
    handle, and a receive makes one for each message it returns. ``choice`` of 26 letters takes
    the top five bits of the generator's next 32-bit word, and draws again when they are 26 or
    more. Here the words come all at once (``getrandbits`` of a multiple of 32 bits is those
    words, the first lowest), their letters are read off their top bytes in one pass, and as many
    more words are drawn as were dropped: the same words in the same order, so a seeded generator
    gives moto's handles and is left as moto leaves it. About 5 us.
    """
    from moto.moto_api._internal import mock_random

    handle = ""
    while len(handle) < _HANDLE_LENGTH:
        need = _HANDLE_LENGTH - len(handle)
        # Each word's top byte (the fourth of its little-endian bytes) holds its top five bits.
        tops = mock_random.getrandbits(32 * need).to_bytes(4 * need, "little")[3::4]
        handle += tops.translate(_LETTER_OF_TOP_BYTE, _REJECTED).decode("ascii")
    return handle


def change_message_visibility(self: Any, queue_name: str, receipt_handle: str,
                              visibility_timeout: int) -> None:
    """``SQSBackend.change_message_visibility``, moto's own, while no other call changes the
    queue (see ``receive_message``): it takes a message out of the set of those in flight, which
    a FIFO receive reads."""
    queue = self.get_queue(queue_name)
    with queue._messages_lock:
        original = ORIGINALS["SQSBackend.change_message_visibility"]
        original(self, queue_name, receipt_handle, visibility_timeout)
