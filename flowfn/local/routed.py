"""What the SNS and EventBridge sources share: the emulator matches, flowfn invokes.

moto delivers SNS messages and EventBridge events to SQS queues, applying filter policies and
event patterns as it does, but cannot invoke a function without docker. So each handler gets a
queue of its own in the emulator (subscribed to its topic with its filter policy, or targeted by
a rule with its pattern); this source reads those queues, rebuilds each delivery as the event
Lambda receives, and invokes the handler asynchronously (two retries, then the failure
destination), as SNS and EventBridge do.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flowfn.function import Handler
from flowfn.local.invoker import Invoker
from flowfn.local.reader import QueueReader

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


class RoutedSource(QueueReader):
    """Reads every route's queue and invokes its handler asynchronously with the rebuilt event."""

    name = "routed"

    def __init__(self, invoker: Invoker, sqs: Any) -> None:
        super().__init__(sqs)
        self.invoker = invoker
        self.routes: list[Route] = []

    def queues(self) -> list[str]:
        return [r.queue_url for r in self.routes]

    def held(self) -> dict[str, str]:
        """Deliveries not handed over yet outlive a stop, and come back at the next start."""
        return {r.held_name: r.queue_url for r in self.routes if r.held_name}

    def start(self) -> None:
        if self.routes:
            super().start()

    def poll(self) -> int:
        """Hand every waiting delivery (up to 10 per route) to its handler; how many were read."""
        total = 0
        for route in self.routes:
            got = self._sqs.receive_message(QueueUrl=route.queue_url, MaxNumberOfMessages=10,
                                            WaitTimeSeconds=0)
            messages = got.get("Messages", [])
            if not self._take(route.queue_url, messages, functools.partial(self._deliver_all, route)):
                return total
            total += len(messages)
        return total

    def _deliver_all(self, route: Route, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            self._deliver(route, message)

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
