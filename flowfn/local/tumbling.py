"""Tumbling windows of a stream mapping (``tumbling_window_s``): each shard's open window and its state.

Per shard, as Lambda does: a record belongs to the window its arrival time falls in (windows of
``tumbling_window_s`` seconds starting at whole multiples of it); a batch holds records of one
window only. Each invocation gets the state the window's previous invocation returned (``{}`` at
its first); a partial response's state goes on, a failed invocation's does not (its retry gets the
state it got). When the window has ended on the poller's clock (nothing more of it to read), or a
record of a later window comes first, the window's final invocation is made: no records,
``isFinalInvokeForWindow`` true. It is retried like a failed batch, blocking the shard, until it
succeeds or ``max_retries`` is spent (then the state is dropped); after it the state is dropped and
the shard's checkpoint moves past the window's records. So a run stopped mid-window reads that
window again from its start, with a fresh state, rather than losing what it had aggregated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flowfn.local.invoker import GivenUp, Invocation
from flowfn.triggers.streaming import window_event, window_of

if TYPE_CHECKING:
    from flowfn.local.shards import Raw, ShardPoller

__all__ = ["OpenWindow", "Windows", "windowed_sample"]


@dataclass
class OpenWindow:
    """A shard's window with records handled and its final invocation still owed."""

    start: float
    end: float
    state: dict[str, Any] = field(default_factory=dict)
    #: The emulator's sequence number of the last record done in it: the checkpoint once it closes.
    last: str | None = None
    #: Failed final invocations so far.
    attempts: int = 0

    def label(self) -> str:
        def clock(seconds: float) -> str:
            return datetime.fromtimestamp(seconds, UTC).strftime("%H:%M:%S")

        return f"window {clock(self.start)}-{clock(self.end)}"


class Windows:
    """The open tumbling windows of one mapping, by shard."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self.open: dict[str, OpenWindow] = {}

    def cut(self, batch: list[Raw]) -> list[Raw]:
        """The batch's leading records that share the first one's window."""
        start = window_of(batch[0].arrival, self.seconds)[0]
        for index, record in enumerate(batch):
            if window_of(record.arrival, self.seconds)[0] != start:
                return batch[:index]
        return batch

    def due(self, shard: str, batch: list[Raw], now: float) -> bool:
        """Whether the shard's open window must close first: its end has passed with nothing more
        of it to read, or the next batch belongs to a later window."""
        found = self.open.get(shard)
        if found is None:
            return False
        if batch:
            return window_of(batch[0].arrival, self.seconds)[0] != found.start
        return found.end <= now

    def event(self, poller: ShardPoller, shard: str, records: list[Raw]) -> dict[str, Any]:
        """The event of a batch of the shard's window (opened here when it is the first)."""
        start, end = window_of(records[0].arrival, self.seconds)
        found = self.open.get(shard)
        if found is None or found.start != start:
            found = self.open[shard] = OpenWindow(start, end)
        return window_event(poller.reader.batch_event([r.event for r in records]), window=(start, end),
                            state=_carried(found.state), shard_id=shard,
                            source_arn=poller.reader.source_arn, final=False)

    def keep(self, shard: str, record: Invocation) -> None:
        """Carry the state an invocation returned on (a failed invocation's is not kept)."""
        result = record.result
        found = self.open.get(shard)
        if found is not None and record.outcome in ("ok", "partial") and isinstance(result, dict):
            state = result.get("state")
            if isinstance(state, dict):
                found.state = state

    def checkpoint(self, shard: str, raw_seq: str) -> bool:
        """Hold a checkpoint back while the shard's window is open (True: held)."""
        found = self.open.get(shard)
        if found is None:
            return False
        found.last = raw_seq
        return True

    def pending(self) -> int:
        """Final invocations still owed."""
        return len(self.open)

    def waiting(self, handler: str, now: float) -> list[str]:
        """Each open window, for people: what a drain that timed out was waiting for."""
        return [f"handler {handler!r} has the {found.label()} UTC of {shard} open, its final "
                f"invocation due in {max(0.0, found.end - now):.0f}s" for shard, found in self.open.items()]

    def close(self, poller: ShardPoller, shard: str) -> bool:
        """Make the shard's window's final invocation; True when the window closed (it succeeded,
        or its retries are spent), False when it is to be retried."""
        found = self.open[shard]
        event = window_event(poller.reader.batch_event([]), window=(found.start, found.end),
                             state=_carried(found.state), shard_id=shard,
                             source_arn=poller.reader.source_arn, final=True)
        retry = f", retry {found.attempts}, shard blocked" if found.attempts else ""
        record = poller.invoker.invoke(poller.handler, event, hold=True,
                                       source=f"{poller.label} {shard} ({found.label()} ends{retry})")
        if not failed(record, windowed=True):
            poller.invoker.publish(record)
            self._closed(poller, shard)
            return True
        found.attempts += 1
        limit = poller.trigger.max_retries
        if limit is not None and found.attempts > limit:
            given = GivenUp(f"{poller.label} {shard} {found.label()} (its final invocation)", found.attempts,
                            "dropped (the window's state; no records to send)", "retries spent")
            poller.invoker.publish(replace(record, given_up=(given,)))
            self._closed(poller, shard)
            return True
        poller.invoker.publish(record)
        poller.blocked[shard] = found.attempts
        return False

    def _closed(self, poller: ShardPoller, shard: str) -> None:
        found = self.open.pop(shard)
        poller.blocked.pop(shard, None)
        if found.last is not None:
            poller.checkpoints.set(shard, found.last)


def windowed_sample(event: dict[str, Any], trigger: Any, shard: str) -> dict[str, Any]:
    """A sample event (``flowfn invoke``) as a windowed mapping sends it: the window of now, first
    invocation, empty state. An unwindowed trigger's sample is returned as it is."""
    seconds = getattr(trigger, "tumbling_window_s", 0)
    if not seconds:
        return event
    records = event["Records"]
    arrival = datetime.now(UTC).timestamp()
    return window_event(event, window=window_of(arrival, seconds), state={}, shard_id=shard,
                        source_arn=records[0]["eventSourceARN"] if records else "", final=False)


def _carried(state: dict[str, Any]) -> dict[str, Any]:
    """The state as the next invocation gets it: through JSON, as Lambda carries it (keys as strings)."""
    carried: dict[str, Any] = json.loads(json.dumps(state))
    return carried


def failed(record: Invocation, *, windowed: bool) -> bool:
    """Whether a final invocation failed: a function error, a reported record (it has none), or a
    response without ``state``, which Lambda counts as a failed invocation."""
    if record.outcome != "ok":
        return True
    result = record.result
    return windowed and not (isinstance(result, dict) and isinstance(result.get("state"), dict))
