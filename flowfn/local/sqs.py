"""SQS event-source mapping: pollers that feed ``@on_sqs`` handlers as Lambda does.

Each handler gets a few poller threads (Lambda starts five; ``max_concurrency`` and reserved
concurrency cap them). A poller takes a concurrency slot, receives up to ``batch_size`` messages
within the batching window, invokes the handler with a Lambda-shaped event, deletes the
messages that succeeded and leaves the failed ones for the visibility timeout, after which they
are received again; the emulator moves a message to the dead-letter queue once it has been
received ``max_receive_count`` times. With ``retry_now`` (flowfn.testing) failed messages are made
visible again at once: the visibility timeout is fast-forwarded, not skipped.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from typing import Any

from flowfn.function import Handler
from flowfn.local.invoker import GivenUp, Invocation, Invoker
from flowfn.local.provision import Bindings
from flowfn.triggers.sqs import SqsTrigger, sqs_event, sqs_record

__all__ = ["DEFAULT_POLLERS", "SqsPoller", "make_visible"]

#: Concurrent batches per queue when neither max_concurrency nor reserved concurrency caps it.
DEFAULT_POLLERS = 5
_RECEIVE = {"AttributeNames": ["All"], "MessageAttributeNames": ["All"]}
#: How long the poller watching an empty queue waits between receives: doubling from 10 to 250 ms.
_MIN_IDLE_S, _MAX_IDLE_S = 0.01, 0.25
#: How long a parked poller waits for the watcher's news before trying a receive itself.
_PARKED_S = 2.0


def make_visible(sqs: Any, url: str, receipt_handles: list[str]) -> None:
    """Make received messages visible again at once (their visibility timeout set to 0)."""
    for start in range(0, len(receipt_handles), 10):
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
            for i, h in enumerate(receipt_handles[start:start + 10])
        ])


class SqsPoller:
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
        self.errors: list[BaseException] = []
        self._target = bindings.target
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._busy: set[str] = set()  # names of pollers handling a batch
        self._lock = threading.Lock()
        self._receiving = threading.Lock()
        self._watching = threading.Lock()
        self._found = threading.Condition()
        self._held: set[str] = set()  # ids of the messages pollers are handling
        self._idle_s = 0.0
        self._redrive: tuple[int, str] | None = None  # (maxReceiveCount, DLQ name), read once
        caps = [c for c in (trigger.max_concurrency, handler.settings.reserved_concurrency) if c is not None]
        self.pollers = min([DEFAULT_POLLERS, *caps])

    def queues(self) -> list[str]:
        return [self.url]

    def start(self) -> None:
        self._stop.clear()
        for index in range(self.pollers):
            thread = threading.Thread(target=self._loop, name=f"flowfn-sqs-{self.handler.name}-{index}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

    def signal_stop(self) -> None:
        """Stop taking new work; :meth:`stop` then waits for the work in hand."""
        with self._lock:
            self._stop.set()
        with self._found:
            self._found.notify_all()

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
        sqs = self._target.client("sqs")
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
            self._visible_now(sqs, messages)

    def _visible_now(self, sqs: Any, messages: list[dict[str, Any]]) -> None:
        make_visible(sqs, self.url, [m["ReceiptHandle"] for m in messages])

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
        finally:
            self._receiving.release()
        if not got:
            if idle:
                self._idle_s = min(_MAX_IDLE_S, max(_MIN_IDLE_S, self._idle_s * 2))
                self._stop.wait(self._idle_s)
            return []
        self._idle_s = 0.0
        with self._found:
            self._found.notify_all()  # parked pollers: there is work
        fresh = []
        with self._lock:
            for message in got:
                if message["MessageId"] not in self._held:  # another poller's, handed out again
                    self._held.add(message["MessageId"])
                    fresh.append(message)
        return fresh

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
        while len(batch) < size and not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                more = self._receive(sqs, size - len(batch), within_s=remaining)
            except Exception as exc:  # keep what is in hand: those messages are held
                self.errors.append(exc)
                break
            if not more:
                self._stop.wait(min(remaining, 0.05))
            batch.extend(more)
        return batch

    def _settle(self, sqs: Any, messages: list[dict[str, Any]], record: Invocation) -> None:
        failed = set(record.failed_ids)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start:start + 10]
            sqs.delete_message_batch(QueueUrl=self.url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
            ])
        self._let_go(messages)
        if self.retry_now and failed:
            self._visible_now(sqs, [m for m in messages if m["MessageId"] in failed])
