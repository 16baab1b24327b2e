"""SQS event-source mapping: pollers that feed ``@on_sqs`` handlers as Lambda does.

Each handler gets a few poller threads (Lambda starts five; ``max_concurrency`` and reserved
concurrency cap them). A poller takes a concurrency slot, receives up to ``batch_size`` messages
within the batching window, invokes the handler with a Lambda-shaped event, deletes the
messages that succeeded and leaves the failed ones for the visibility timeout, after which they
are received again; the emulator moves a message to the dead-letter queue once it has been
received ``max_receive_count`` times. With ``retry_now`` (flowfn.testing) failed messages are made
visible again at once: the visibility timeout is fast-forwarded, not skipped.

A batch being gathered within its batching window is listed (:meth:`SqsPoller.gathering`) until
it is handed to the handler. ``drain()`` ends those windows (:meth:`SqsPoller.end_windows`) when
nothing else can arrive: no invocation runs and every message of every consumed queue sits in a
batch being gathered. Waiting the window out could then gather nothing more. A window still
gathers whatever is sent before drain() (and in real time, as ever, under run-local), and a batch
never holds more than ``batch_size`` messages.

In a FIFO queue a message group is handled in send order, through failures, timeouts and expired
visibility timeouts: the poller never hands a handler a group's message while an earlier one of
the group is unresolved (in flight, or failed and waiting to be received again). moto needs help
there. It marks a received message "pending" and holds back the rest of its group while any is.
A message stops being pending when it is made visible, or when a receive meets it visible after
its timeout; such a receive skips the group's earlier messages while a later one is still
pending, so after a visibility timeout expires a group's last failed message comes first. So
when a batch fails, the poller makes each group's later failed messages visible at once, which
clears their mark while the group's first failed message keeps the group waiting; when that
one's timeout expires (or at once with ``retry_now``), the group comes back from it, in order.
Deletes and hand-backs happen in the poller's turn at the queue, so no receive sees a group half
returned. :class:`GroupOrder` checks every receive against what the poller knows is unresolved
and hands back, unprocessed, a message that came too early (which costs it a receive, as any
receive does).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from flowfn.function import Handler
from flowfn.local import inprocess
from flowfn.local.emulator import DUMMY_ACCOUNT
from flowfn.local.faults import Faults
from flowfn.local.invoker import GivenUp, Invocation, Invoker
from flowfn.local.provision import Bindings
from flowfn.local.source import Source, sample_id
from flowfn.triggers.sqs import SqsTrigger, sample_message, sqs_event, sqs_record

__all__ = ["DEFAULT_POLLERS", "GroupOrder", "SqsPoller", "make_visible", "queued_bodies"]

#: Concurrent batches per queue when neither max_concurrency nor reserved concurrency caps it.
DEFAULT_POLLERS = 5
_RECEIVE = {"AttributeNames": ["All"], "MessageAttributeNames": ["All"]}
#: How long the poller watching an empty queue waits between receives: doubling from 10 to 250 ms.
_MIN_IDLE_S, _MAX_IDLE_S = 0.01, 0.25
#: How long a parked poller waits for the watcher's news before trying a receive itself.
_PARKED_S = 2.0
#: The error code that says a receipt handle's message is no longer in the queue.
_GONE = "ReceiptHandleIsInvalid"


def make_visible(sqs: Any, url: str, receipt_handles: list[str]) -> None:
    """Make received messages visible again at once (their visibility timeout set to 0)."""
    for start in range(0, len(receipt_handles), 10):
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
            for i, h in enumerate(receipt_handles[start:start + 10])
        ])


def queued_bodies(url: str, region: str) -> list[str]:
    """Bodies of every message in a queue of the embedded emulator, in queue order, read from
    moto's state in this process without receiving them.

    Receiving cannot list a FIFO queue: SQS hands out nothing more of a group while some of it is
    in flight, and every receive counts toward the dead-letter queue.
    """
    from moto.sqs.models import sqs_backends

    account, name = urlsplit(url).path.strip("/").split("/")[-2:]
    queue = sqs_backends[account][region].queues[name]
    return [message.body for message in list(queue._messages)]


class _Gathering:
    """A batch a poller is gathering within its batching window: how many messages it holds, and
    whether its window was ended early."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.ended = threading.Event()


def _group(message: dict[str, Any]) -> str:
    return str(message["Attributes"]["MessageGroupId"])


def _receives(message: dict[str, Any]) -> int:
    return int(message["Attributes"].get("ApproximateReceiveCount", 1))


def heads(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split FIFO messages into the first of each group and the rest, keeping their order."""
    first: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    seen: set[str] = set()
    for message in messages:
        group = _group(message)
        (rest if group in seen else first).append(message)
        seen.add(group)
    return first, rest


class GroupOrder:
    """What a FIFO queue's poller knows of each message group: the messages it has received and
    that are not resolved yet (deleted after success, or due for the dead-letter queue), in the
    order they were first received, which is the order they were sent.

    Not thread-safe: the poller calls it while it holds its turn at the queue.
    """

    def __init__(self, max_receives: int | None) -> None:
        self.max_receives = max_receives
        self._numbers = itertools.count()
        self._open: dict[str, dict[str, int]] = {}  # group -> {message id: first-received number}
        self._last: dict[str, dict[str, Any]] = {}  # message id -> the message as last received

    def admit(self, messages: list[dict[str, Any]], in_flight: set[str],
              queued: Callable[[dict[str, Any]], bool],
              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Split one receive into the messages a handler may have now and those to hand back.

        A message goes back when an earlier message of its group is unresolved and not ahead of
        it in this receive. An earlier message that no handler has is first checked with
        ``queued`` (given it as last received): one no longer in the queue (purged, or deleted
        by another consumer) is resolved. Messages ``in_flight`` (received again after their
        visibility timeout while a handler still has them) are in neither list.
        """
        fresh: list[dict[str, Any]] = []
        back: list[dict[str, Any]] = []
        ahead: set[str] = set()  # taken from this receive
        checked: set[str] = set()
        for message in messages:
            mid, group = message["MessageId"], _group(message)
            number = self._open.setdefault(group, {}).setdefault(mid, next(self._numbers))
            self._last[mid] = message
            blocker = self._blocker(group, number, ahead)
            while blocker is not None and blocker not in in_flight and blocker not in checked:
                if queued(self._last[blocker]):
                    checked.add(blocker)
                else:
                    self.forget(blocker, group)
                    blocker = self._blocker(group, number, ahead)
            if mid in in_flight:
                continue
            if blocker is None:
                fresh.append(message)
                ahead.add(mid)
            else:
                back.append(message)
                self.returned([message])
        return fresh, back

    def _blocker(self, group: str, number: int, ahead: set[str]) -> str | None:
        earlier = [(n, mid) for mid, n in self._open[group].items() if n < number and mid not in ahead]
        return min(earlier)[1] if earlier else None

    def returned(self, messages: Iterable[dict[str, Any]]) -> None:
        """Messages going back to the queue: those received for the last time are resolved (the
        emulator moves them to the dead-letter queue instead of handing them out again)."""
        for message in messages:
            if self.max_receives is not None and _receives(message) >= self.max_receives:
                self.forget(message["MessageId"], _group(message))

    def forget(self, mid: str, group: str) -> None:
        """Message ``mid`` of ``group`` is resolved."""
        known = self._open.get(group, {})
        if known.pop(mid, None) is not None and not known:
            del self._open[group]
        self._last.pop(mid, None)


class SqsPoller(Source):
    """Polls one handler's queue and invokes it with batches."""

    def __init__(self, handler: Handler, invoker: Invoker, bindings: Bindings, *,
                 retry_now: bool = False) -> None:
        trigger = handler.trigger
        assert isinstance(trigger, SqsTrigger)
        self.handler = handler
        self.trigger = trigger
        self.invoker = invoker
        self.retry_now = retry_now
        self.url = bindings.queue_urls[trigger.queue.logical_name]
        self.arn = bindings.queue_arns[trigger.queue.logical_name]
        self.region = bindings.target.region
        self.errors = Faults(f"handler {handler.name!r}'s poller of queue {trigger.queue.logical_name!r}")
        self._target = bindings.target
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._busy: set[str] = set()  # names of pollers handling a batch
        self._lock = threading.Lock()
        self._receiving = threading.Lock()
        self._watching = threading.Lock()
        self._found = threading.Condition()
        self._news = threading.Event()  # wakes the watching poller: messages made visible, or stop
        self._held: set[str] = set()  # ids of the messages pollers are handling
        self._gathering: set[_Gathering] = set()  # batches waiting out their window
        self._idle_s = 0.0
        self._redrive: tuple[int, str] | None = None  # (maxReceiveCount, DLQ name), read once
        self._sqs: Any = None  # the pollers' client, made when they start
        queue = trigger.queue
        self._order = GroupOrder(queue.max_receive_count) if queue.fifo else None
        caps = [c for c in (trigger.max_concurrency, handler.settings.reserved_concurrency) if c is not None]
        self.pollers = min([DEFAULT_POLLERS, *caps])

    def queues(self) -> list[str]:
        return [self.url]

    def start(self) -> None:
        self._stop.clear()
        # One client for all the pollers (botocore's clients are thread-safe): making one per
        # poller took the start's time while it was starting.
        self._sqs = self._target.client("sqs")
        inprocess.watch(self._news)  # a send from this process wakes the watching poller
        for index in range(self.pollers):
            thread = threading.Thread(target=self._loop, name=f"flowfn-sqs-{self.handler.name}-{index}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

    def signal_stop(self) -> None:
        """Stop taking new work; :meth:`stop` then waits for the work in hand."""
        with self._lock:
            self._stop.set()
        inprocess.unwatch(self._news)
        self._news.set()
        self.end_windows()
        with self._found:
            self._found.notify_all()

    def gathering(self) -> dict[str, int]:
        """Messages received into batches still waiting out their batching window, by queue URL."""
        with self._lock:
            count = sum(g.count for g in self._gathering)
            return {self.url: count} if self._gathering else {}

    def end_windows(self) -> None:
        """Hand every batch being gathered to the handler now, as it is."""
        with self._lock:
            for gathering in self._gathering:
                gathering.ended.set()

    def stop(self) -> None:
        """Stop receiving; batches being handled finish (or time out) first.

        A poller idle in a long poll is not waited for: when its receive returns it hands any
        message back (visible again at once) and ends.
        """
        self.signal_stop()
        for thread in self._threads:
            while thread.is_alive() and thread.name in self._busy:
                thread.join(0.05)
            thread.join(0.1)
        self._threads.clear()

    def _loop(self) -> None:
        sqs = self._sqs
        while not self._stop.is_set():
            if not self.invoker.acquire(self.handler, self._stop):
                self._stop.wait(0.5)
                continue
            try:
                messages = self._collect(sqs)
            except Exception as exc:  # the emulator went away or answered oddly: keep going
                self.invoker.release(self.handler)
                self.errors.append(exc)
                self._stop.wait(0.2)
                continue
            if not messages:
                self.invoker.release(self.handler)
                continue
            name = threading.current_thread().name
            with self._lock:
                stopping = self._stop.is_set()
                if not stopping:
                    self._busy.add(name)
            if stopping:  # received while stopping: hand them back untouched
                self.invoker.release(self.handler)
                self._let_go(messages)
                self._hand_back(sqs, messages)
                return
            try:
                self._handle(sqs, messages)
            finally:
                self._busy.discard(name)

    def _hand_back(self, sqs: Any, messages: list[dict[str, Any]]) -> None:
        with contextlib.suppress(Exception):  # the emulator may be gone already
            if self._order is None:
                self._visible_now(sqs, messages)
            else:
                with self._receiving:
                    self._return(sqs, messages, now=True)

    def _visible_now(self, sqs: Any, messages: list[dict[str, Any]]) -> None:
        make_visible(sqs, self.url, [m["ReceiptHandle"] for m in messages])

    def _return(self, sqs: Any, messages: list[dict[str, Any]], *, now: bool) -> None:
        # FIFO, holding the turn: each group's later messages become visible at once, so only
        # the group's first message keeps it waiting (see the module docstring); that one too,
        # after the rest (the emulator takes a batch's entries in order), when ``now``.
        first, rest = heads(messages)
        if rest or (now and first):
            self._visible_now(sqs, rest + first if now else rest)

    def _handle(self, sqs: Any, messages: list[dict[str, Any]]) -> None:
        event = sqs_event([sqs_record(m, queue_arn=self.arn, region=self.region) for m in messages])
        noun = "message" if len(messages) == 1 else "messages"
        record = self.invoker.invoke(self.handler, event, slot_held=True,
                                     source=f"{self.trigger.queue.logical_name} "
                                            f"({len(messages)} {noun})",
                                     final=self._last_receives(sqs, messages))
        try:
            self._settle(sqs, messages, record)
        except Exception as exc:
            self._let_go(messages)
            self.errors.append(exc)

    def _last_receives(self, sqs: Any, messages: list[dict[str, Any]]) -> dict[str, GivenUp]:
        """Messages on their last receive: failing now, each moves to the dead-letter queue on the
        next receive (the queue's redrive policy says after how many and where)."""
        if self._redrive is None:
            try:
                raw = sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["RedrivePolicy"])
            except Exception as exc:  # the emulator answered oddly: asked again with the next batch
                self.errors.append(exc)
                return {}
            try:
                policy = json.loads(raw.get("Attributes", {}).get("RedrivePolicy") or "{}")
                self._redrive = (int(policy["maxReceiveCount"]),
                                 str(policy["deadLetterTargetArn"]).rsplit(":", 1)[-1])
            except (KeyError, ValueError, TypeError):
                self._redrive = (0, "")  # no dead-letter queue: failed messages come back until expiry
        limit, dlq = self._redrive
        final = {}
        for message in messages:
            count = int(message.get("Attributes", {}).get("ApproximateReceiveCount", 0))
            if limit and count >= limit:
                final[message["MessageId"]] = GivenUp(f"message {message['MessageId']}", count, dlq,
                                                      "last receive")
        return final

    def _receive(self, sqs: Any, count: int, idle: bool = False,
                 within_s: float | None = None) -> list[dict[str, Any]]:
        # One receive at a time per queue: moto's receive is not atomic (two at once can both try
        # to move a message to the DLQ, and the loser's messages stay invisible, or hand a FIFO
        # group's next message out while the one before is in hand). Short polls, and the turn
        # is never held while waiting: the watching poller backs off outside it (up to 0.25 s).
        if not self._receiving.acquire(timeout=-1 if within_s is None else max(0.0, within_s)):
            return []
        try:
            if self._stop.is_set():
                return []
            got = sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=min(10, count),
                                      WaitTimeSeconds=0, **_RECEIVE).get("Messages", [])
            fresh = self._admit(sqs, got)
        finally:
            self._receiving.release()
        if not got:
            if idle:
                self._idle_s = min(_MAX_IDLE_S, max(_MIN_IDLE_S, self._idle_s * 2))
                self._news.wait(self._idle_s)
                self._news.clear()
            return []
        self._idle_s = 0.0
        with self._found:
            self._found.notify_all()  # parked pollers: there is work
        return fresh

    def _admit(self, sqs: Any, got: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # Holding the turn. Drops messages another poller has in hand (handed out again after
        # their visibility timeout); in a FIFO queue, hands back those that came too early.
        back: list[dict[str, Any]] = []
        with self._lock:
            if self._order is None:
                fresh = [m for m in got if m["MessageId"] not in self._held]
            else:
                fresh, back = self._order.admit(got, self._held, lambda m: self._queued(sqs, m))
        if back:
            self._visible_now(sqs, back)
        with self._lock:
            self._held.update(m["MessageId"] for m in fresh)
        return fresh

    def _queued(self, sqs: Any, message: dict[str, Any]) -> bool:
        # Whether a message no handler has is still in the queue: changing its visibility fails
        # once it is gone. It is visible already, or due (a later message of its group came).
        try:
            sqs.change_message_visibility(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"],
                                          VisibilityTimeout=0)
        except Exception as exc:  # botocore's ClientError; another failure proves nothing
            code: object = getattr(exc, "response", {}).get("Error", {}).get("Code")
            return code != _GONE
        return True

    def _let_go(self, messages: list[dict[str, Any]]) -> None:
        with self._lock:
            self._held.difference_update(m["MessageId"] for m in messages)

    def _first(self, sqs: Any, size: int) -> list[dict[str, Any]]:
        # While the queue is empty one poller watches it; the others park until it finds work.
        if not self._watching.acquire(blocking=False):
            with self._found:
                self._found.wait(_PARKED_S)
            return self._receive(sqs, size)
        try:
            return self._receive(sqs, size, idle=True)
        finally:
            self._watching.release()

    def _collect(self, sqs: Any) -> list[dict[str, Any]]:
        size = self.trigger.batch_size
        batch = self._first(sqs, size)
        if not batch or not self.trigger.batching_window_s:
            return batch
        deadline = time.monotonic() + self.trigger.batching_window_s
        gathering = _Gathering(len(batch))
        with self._lock:
            self._gathering.add(gathering)
        try:
            while len(batch) < size and not gathering.ended.is_set() and not self._stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    more = self._receive(sqs, size - len(batch), within_s=remaining)
                except Exception as exc:  # keep what is in hand: those messages are held
                    self.errors.append(exc)
                    break
                if not more:
                    gathering.ended.wait(min(remaining, 0.05))
                batch.extend(more)
                with self._lock:
                    gathering.count = len(batch)
        finally:
            with self._lock:
                self._gathering.discard(gathering)
        return batch

    def _settle(self, sqs: Any, messages: list[dict[str, Any]], record: Invocation) -> None:
        failed = set(record.failed_ids)
        done = [m for m in messages if m["MessageId"] not in failed]
        back = [m for m in messages if m["MessageId"] in failed]
        if self._order is not None:
            with self._receiving:  # no receive between the deletes, hand-backs and bookkeeping
                self._delete(sqs, done)
                self._return(sqs, back, now=self.retry_now)
                with self._lock:
                    for message in done:
                        self._order.forget(message["MessageId"], _group(message))
                    self._order.returned(back)
                self._let_go(messages)
        else:
            self._delete(sqs, done)
            self._let_go(messages)
            if self.retry_now and back:
                self._visible_now(sqs, back)
        if self.retry_now and back:
            self._news.set()  # the watching poller receives them now, not after its back-off

    def _delete(self, sqs: Any, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start:start + 10]
            sqs.delete_message_batch(QueueUrl=self.url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
            ])


def sqs_sample(queue: str, bodies: list[str], *, attributes: Mapping[str, str] | None = None,
               region: str = "us-east-1", time: datetime | None = None,
               group_id: str | None = None) -> dict[str, Any]:
    """An SQS batch of ``bodies`` from ``queue``."""
    sent = int((time or datetime.now(UTC)).timestamp() * 1000)
    arn = f"arn:aws:sqs:{region}:{DUMMY_ACCOUNT}:{queue}"
    records = [
        sqs_record(sample_message(body, message_id=sample_id(queue, index, body), sent_ms=sent,
                                  attributes=attributes, group_id=group_id, position=index),
                   queue_arn=arn, region=region)
        for index, body in enumerate(bodies)
    ]
    return sqs_event(records)


def sqs_sample_for(handler: Handler, names: Mapping[str, str], region: str) -> dict[str, Any]:
    """The sample event of ``flowfn invoke`` for an SQS handler, naming its real queue when known."""
    trigger = handler.trigger
    assert isinstance(trigger, SqsTrigger)
    queue = names.get(trigger.queue.logical_name, trigger.queue.logical_name).rsplit("/", 1)[-1]
    return sqs_sample(queue, ['{"sample": true}'], region=region,
                      group_id="sample" if trigger.queue.fifo else None)
