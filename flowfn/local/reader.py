"""Sources that one thread feeds from emulator queues: S3 notifications, SNS and EventBridge
deliveries. The thread polls with short receives, backing off from 10 to 250 ms while the queues
are empty, and polls again at once when a request from this process changes the emulator (see
:func:`flowfn.local.inprocess.watch`); a stop waits for the messages in hand and hands back any
read while stopping."""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable
from typing import Any

from flowfn.local import inprocess
from flowfn.local.faults import Faults
from flowfn.local.source import Source
from flowfn.local.sqs import make_visible

__all__ = ["QueueReader"]

_MIN_IDLE_S, _MAX_IDLE_S = 0.01, 0.25


class QueueReader(Source, abc.ABC):
    """A source whose one thread calls :meth:`poll` until the run stops."""

    #: Names the thread: ``flowfn-<name>``.
    name = "reader"

    def __init__(self, sqs: Any) -> None:
        self.errors = Faults(f"flowfn's {self.name} delivery reader")
        self._sqs = sqs
        self._stop = threading.Event()
        self._news = threading.Event()  # set by a change made from this process, and by stop
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._busy = False
        self._idle_s = 0.0

    @abc.abstractmethod
    def poll(self) -> int:
        """Handle the messages waiting; returns how many were read."""

    def start(self) -> None:
        self._stop.clear()
        inprocess.watch(self._news)  # an upload or a publish from this process wakes the thread
        self._thread = threading.Thread(target=self._loop, name=f"flowfn-{self.name}", daemon=True)
        self._thread.start()

    def signal_stop(self) -> None:
        """Stop taking new work; :meth:`stop` then waits for the work in hand."""
        with self._lock:
            self._stop.set()
        inprocess.unwatch(self._news)
        self._news.set()

    def stop(self) -> None:
        """Stop reading; a poll in progress is not waited for (it hands its messages back)."""
        self.signal_stop()
        if self._thread is not None:
            while self._thread.is_alive() and self._busy:
                self._thread.join(0.05)
            self._thread.join(0.1)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.poll():
                    self._idle_s = 0.0
                else:  # short polls, backing off
                    self._idle_s = min(_MAX_IDLE_S, max(_MIN_IDLE_S, self._idle_s * 2))
                    self._news.wait(self._idle_s)
                    self._news.clear()
            except Exception as exc:  # the emulator went away or answered oddly: keep going
                self.errors.append(exc)
                self._stop.wait(0.2)

    def _take(self, url: str, messages: list[dict[str, Any]],
              handle: Callable[[list[dict[str, Any]]], None]) -> bool:
        """Handle ``messages`` read from ``url``; False when stopping (they are handed back untouched)."""
        with self._lock:
            if self._stop.is_set():
                if messages:
                    make_visible(self._sqs, url, [m["ReceiptHandle"] for m in messages])
                return False
            self._busy = True
        try:
            handle(messages)
        finally:
            self._busy = False
        return True
