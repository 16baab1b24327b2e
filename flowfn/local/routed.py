"""What the SNS and EventBridge sources share: the emulator matches, flowfn invokes.

moto delivers SNS messages and EventBridge events to SQS queues, applying filter policies and
event patterns as it does, but cannot invoke a function without docker. So each handler gets a
queue of its own in the emulator (subscribed to its topic with its filter policy, or targeted by
a rule with its pattern); this source reads those queues, rebuilds each delivery as the event
Lambda receives, and invokes the handler asynchronously (two retries, then the failure
destination), as SNS and EventBridge do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flowfn.function import Handler
from flowfn.local.invoker import Invoker
from flowfn.local.source import Source
from flowfn.local.sqs import make_visible

#: Rebuilds the event Lambda receives from one delivered SQS message body; None: already handed
#: over (a message that reached the handler by two of its routes).
Rebuild = Callable[[str], dict[str, Any] | None]


@dataclass
class Route:
    """One handler's delivery queue in the emulator."""

    handler: Handler
    queue_url: str
    rebuild: Rebuild
    #: What invocation records name as the source (``topic ready``, ``bus orders``).
    label: str
    #: The queue's name without the run's suffix: what survives a stop as (see Source.held).
    held_name: str = ""


class RoutedSource(Source):
    """Reads every route's queue and invokes its handler asynchronously with the rebuilt event."""

    name = "routed"

    def __init__(self, invoker: Invoker, sqs: Any) -> None:
        self.invoker = invoker
        self.routes: list[Route] = []
        self.errors: list[BaseException] = []
        self._sqs = sqs
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._busy = False
        self._idle_s = 0.0

    def queues(self) -> list[str]:
        return [r.queue_url for r in self.routes]

    def held(self) -> dict[str, str]:
        """Deliveries not handed over yet outlive a stop, and come back at the next start."""
        return {r.held_name: r.queue_url for r in self.routes if r.held_name}

    def start(self) -> None:
        if not self.routes:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"flowfn-{self.name}", daemon=True)
        self._thread.start()

    def signal_stop(self) -> None:
        with self._lock:
            self._stop.set()

    def stop(self) -> None:
        self.signal_stop()
        if self._thread is not None:
            while self._thread.is_alive() and self._busy:
                self._thread.join(0.05)
            self._thread.join(0.1)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if not self.poll():
                    self._idle_s = min(0.25, max(0.01, self._idle_s * 2))  # short polls, backing off
                    self._stop.wait(self._idle_s)
                else:
                    self._idle_s = 0.0
            except Exception as exc:  # the emulator went away or answered oddly: keep going
                self.errors.append(exc)
                self._stop.wait(0.2)

    def poll(self) -> int:
        """Hand every waiting delivery (up to 10 per route) to its handler; how many were read."""
        total = 0
        for route in self.routes:
            got = self._sqs.receive_message(QueueUrl=route.queue_url, MaxNumberOfMessages=10,
                                            WaitTimeSeconds=0)
            messages = got.get("Messages", [])
            with self._lock:
                if self._stop.is_set():
                    if messages:  # read while stopping: hand them back untouched
                        make_visible(self._sqs, route.queue_url, [m["ReceiptHandle"] for m in messages])
                    return total
                self._busy = True
            try:
                for message in messages:
                    self._deliver(route, message)
            finally:
                self._busy = False
            total += len(messages)
        return total

    def _deliver(self, route: Route, message: dict[str, Any]) -> None:
        try:
            event = route.rebuild(message["Body"])
        except (ValueError, KeyError, TypeError) as exc:  # not a delivery flowfn knows: said, not looped on
            self.errors.append(exc)
            self._sqs.delete_message(QueueUrl=route.queue_url, ReceiptHandle=message["ReceiptHandle"])
            return
        if event is None:
            self._sqs.delete_message(QueueUrl=route.queue_url, ReceiptHandle=message["ReceiptHandle"])
            return
        handler = route.handler
        if handler.settings.reserved_concurrency == 0:  # throttled for good: dropped, and said so
            self.invoker.drop(handler, event, source=route.label)
            delivered = True
        else:
            delivered = self.invoker.submit(handler, event, source=route.label, stop=self._stop)
        if delivered:  # else it comes back: stopping, it was not handed over
            self._sqs.delete_message(QueueUrl=route.queue_url, ReceiptHandle=message["ReceiptHandle"])
