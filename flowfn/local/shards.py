"""Stream event-source mappings (Kinesis, DynamoDB Streams): a poller per shard, as Lambda reads.

flowfn polls the emulator's stream APIs itself (never the emulator's own event-source mappings).
Per shard, in order: a batch of up to ``batch_size`` records, waiting up to the batching window to
fill it; on success the checkpoint moves past the batch; on a partial response it moves to just
before the lowest failed record, and the retry is the batch from that record on. A failing batch
blocks its shard: retried until ``max_retries`` or ``max_record_age_s``, then its metadata goes to
the on-failure queue in AWS's shape (``functionError`` when the last attempt was a function error)
and the shard moves on. With ``bisect_on_error``, a function error (the invocation raised or timed
out) splits the batch in two instead, the first half run first, using up no retry; a partial
response never does. Records older than ``max_record_age_s`` are given up so without being
handled; the younger ones after them are delivered. ``parallelization`` runs a batch's partition
keys in that many groups at once, each in order. A batch's event stays within Lambda's 6 MB
payload. Shards made by resharding are found as they appear (:class:`~flowfn.local.shardreader.Lineage`)
and read once their parents are read to their end. Checkpoints can be kept in a file, so a restarted
run resumes. The last attempt at a batch given up lists it in its record's ``given_up`` (records
given up without an invocation get an ``expired`` record of their own). Tumbling windows
(``tumbling_window_s``) are kept in :mod:`flowfn.local.tumbling`.

``drain()`` ends a batching window (:meth:`ShardPoller.end_windows`) when nothing else can arrive:
no invocation runs, and every record not done is in a batch being gathered on a shard the emulator
holds nothing more of (:meth:`ShardPoller.gathering`). Run-local's windows run in real time.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from flowfn.function import Handler
from flowfn.local.checkpoints import Checkpoints, checkpoint_file
from flowfn.local.faults import Faults
from flowfn.local.invoker import GivenUp, Invocation, Invoker
from flowfn.local.shardreader import (
    Lineage,
    Raw,
    ShardReader,
    failed_from,
    iterator_expired,
    stamp_ms,
    within_payload,
)
from flowfn.local.source import STREAM_RECORDS, Source
from flowfn.local.streamfilter import matches
from flowfn.local.tumbling import Windows

__all__ = ["Checkpoints", "Raw", "ShardPoller", "ShardReader", "checkpoint_file", "matches", "stamp_ms"]

#: How long a shard's poller waits between reads of an empty shard: doubling from 10 to 250 ms.
_MIN_IDLE_S, _MAX_IDLE_S = 0.01, 0.25
#: Why records are given up, for people, by the on-failure metadata's condition.
_REASONS = {"RetryAttemptsExhausted": "retries spent", "RecordAgeExceeded": "older than max_record_age_s"}
#: Records read at once (AWS's GetRecords takes up to 10,000; a batch is at most 10,000).
_READ = 1_000


class ShardPoller(Source):
    """Reads one handler's stream, a thread per shard, and invokes it with Lambda's semantics."""

    def __init__(self, handler: Handler, invoker: Invoker, reader: ShardReader, *, retry_now: bool,
                 send_failure: Callable[[dict[str, Any]], None] | None,
                 checkpoints: Checkpoints, label: str) -> None:
        self.handler = handler
        self.trigger: Any = handler.trigger
        self.invoker = invoker
        self.reader = reader
        self.retry_now = retry_now
        self.send_failure = send_failure
        self.checkpoints = checkpoints
        self.label = label
        self.errors = Faults(f"handler {handler.name!r}'s poller of {reader.kind} {label!r}")
        #: Added to the wall clock when records' ages are judged (flowfn.testing moves it on).
        self.skew_s = 0.0
        #: Shards whose failing batch blocks them, -> the number of attempts so far.
        self.blocked: dict[str, int] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._iterators: dict[str, str] = {}
        self._read_to: dict[str, str] = {}  # shard -> the emulator's number of the last record read
        self._buffers: dict[str, list[Raw]] = {}
        self._caught_up: dict[str, bool] = {}  # shard -> its last read found nothing new
        self._gathering: dict[str, threading.Event] = {}  # shard -> its batch's window was ended
        self._quiet: list[threading.Event] = []  # windows gathering() found nothing more could fill
        self._lock = threading.Lock()
        self.lineage = Lineage(reader.shards)
        seconds = getattr(self.trigger, "tumbling_window_s", 0)
        #: The open tumbling windows by shard (None: the mapping has none).
        self.windows = Windows(seconds) if seconds else None

    # -- the Source protocol ---------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self.lineage = Lineage(self.reader.shards)
        for info in self.lineage.refresh(now=True):
            self._open(info.id, found=False)

    def _open(self, shard: str, found: bool) -> None:
        """Start reading ``shard`` (``found``: a shard resharding made while the mapping ran, read
        from its start) once its parents are read to their end."""
        after = self._resume_after(shard, found)
        position, timestamp = self.trigger.starting_position, self.trigger.starting_timestamp
        if after is None and (found or self.checkpoints.get(shard) is not None):  # all the shard holds
            position, timestamp = "trim_horizon", None
        iterator = self.reader.iterator(shard, after, position, timestamp)
        with self._lock:
            self._buffers[shard] = []
            self._iterators[shard] = iterator
        thread = threading.Thread(target=self._loop, args=(shard,), daemon=True,
                                  name=f"flowfn-{self.reader.kind}-{self.handler.name}-{shard}")
        thread.start()
        self._threads.append(thread)

    def _discover(self, now: bool = False) -> None:
        """Start reading the shards resharding made since the stream was last listed."""
        if self._stop.is_set():
            return
        for info in self.lineage.refresh(now):
            self._open(info.id, found=True)

    def _resume_after(self, shard: str, found: bool = False) -> str | None:
        """The shard's checkpoint. A mapping starting at ``latest`` that has none yet keeps where
        it starts as its checkpoint (the last record in the shard), as Lambda does once it is
        created: a restarted run resumes there rather than at what is latest then.

        A checkpoint past the shard's last record (the file outlived the stream's records: a run
        that was killed saved none, and the new stream numbers its records from the start again)
        is taken back to that record, else the records numbered up to it would be passed over."""
        after = self.checkpoints.get(shard)
        if after is not None:
            if int(after) < 1:
                return after
            at = self.reader.iterator(shard, str(int(after) - 1), "trim_horizon", None)
            if self.reader.read(at, 1)[2] is not None:
                return after  # the shard holds the checkpoint's record, or later ones: the usual resume
            return self._last(shard)  # every record it holds is older (None: it holds none)
        if found or self.trigger.starting_position != "latest":
            return after
        after = self._last(shard)
        if after is not None:
            self.checkpoints.set(shard, after)
        return after

    def _last(self, shard: str) -> str | None:
        """The emulator's sequence number of the shard's last record (None: it holds none)."""
        iterator, after = self.reader.iterator(shard, None, "trim_horizon", None), None
        while True:
            _, iterator, last = self.reader.read(iterator, _READ)
            if last is None:
                return after
            after = last

    def signal_stop(self) -> None:
        self._stop.set()

    def stop(self) -> None:
        self.signal_stop()
        for thread in self._threads:
            thread.join()
        self._threads.clear()

    def pending(self) -> int:
        """Records read and not done yet; else one for a shard whose poller has not caught up, or
        that has records not read yet (the emulator is asked only when its poller has caught up:
        a read costs the emulator as much as the poller's own). An open tumbling window counts
        until its final invocation is made."""
        with contextlib.suppress(Exception):  # the emulator answered oddly: the shards known are read on
            self._discover(now=True)
        count = self.windows.pending() if self.windows is not None else 0
        for shard, iterator in list(self._iterators.items()):
            held = len(self._buffers.get(shard, ()))
            count += held
            if held:
                continue
            if not self._caught_up.get(shard, False):
                count += 1  # its poller reads on: it finds more, or catches up
                continue
            with contextlib.suppress(Exception):
                if self.reader.read(iterator, 1)[2] is not None:
                    count += 1
        return count

    def reading(self) -> bool:
        """Whether a shard's poller is reading on (it has not found the end of its shard yet)."""
        return not all(self._caught_up.get(shard, False) for shard in list(self._iterators))

    def gathering(self) -> dict[str, int]:
        """Records in batches waiting out their batching window on shards read to their end (the
        emulator holds nothing after what the batch's poller has read), as ``STREAM_RECORDS``;
        :meth:`end_windows` ends the windows of those batches."""
        count, quiet = 0, []
        with self._lock:
            gathering = [(ended, len(self._buffers[shard]), self._iterators[shard])
                         for shard, ended in self._gathering.items()]
        for ended, held, iterator in gathering:
            with contextlib.suppress(Exception):  # the emulator answered oddly: not known to be at the end
                if self.reader.read(iterator, 1)[2] is None:  # else its poller reads on
                    count += held
                    quiet.append(ended)
        with self._lock:
            self._quiet = quiet
        return {STREAM_RECORDS: count} if quiet else {}

    def end_windows(self) -> None:
        """Hand the batches :meth:`gathering` last found at the end of their shards to the handler
        now, as they are."""
        with self._lock:
            quiet, self._quiet = self._quiet, []
        for ended in quiet:
            ended.set()

    # -- one shard ---------------------------------------------------------------------------------

    def _now(self) -> float:
        return time.time() + self.skew_s

    def _fill(self, shard: str, want: int) -> None:
        buffer = self._buffers[shard]
        renewed = False
        while len(buffer) < want:
            try:
                records, nxt, last = self.reader.read(self._iterators[shard], _READ)
            except Exception as exc:
                if renewed or not iterator_expired(exc):
                    raise
                self._renew(shard)  # its iterator aged out while the shard was blocked
                renewed = True
                continue
            if last is None:
                if not self._caught_up.get(shard, False):
                    self._caught_up[shard] = True
                    self.invoker.nudge()  # a drain need not wait for its next look to see it
                return
            self._caught_up[shard] = False
            self._read_to[shard] = last
            filters = self.trigger.filters
            kept = [r for r in records if matches(filters, self.reader.doc(r))] if filters else records
            with self._lock:
                buffer.extend(kept)
                self._iterators[shard] = nxt
            if not buffer:
                self._checkpoint(shard, last)  # all filtered out: passed over

    def _renew(self, shard: str) -> None:
        """A new iterator for ``shard``, just after the last record read (else where the poller
        started): DynamoDB Streams honours an iterator for 15 minutes, and a blocked shard is not
        read while its failing batch is retried."""
        after = self._read_to.get(shard) or self.checkpoints.get(shard)
        iterator = self.reader.iterator(shard, after, self.trigger.starting_position,
                                        self.trigger.starting_timestamp)
        with self._lock:
            self._iterators[shard] = iterator

    def _collect(self, shard: str, size: int) -> list[Raw]:
        self._fill(shard, size)
        buffer = self._buffers[shard]
        window = self.trigger.batching_window_s
        if window and buffer and len(buffer) < size:
            deadline = time.monotonic() + window
            ended = threading.Event()
            with self._lock:
                self._gathering[shard] = ended
            try:
                while len(buffer) < size and not ended.is_set() and not self._stop.is_set():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    ended.wait(min(remaining, 0.05))
                    self._fill(shard, size)
            finally:
                with self._lock:
                    del self._gathering[shard]
        return within_payload(buffer[:size])

    def _loop(self, shard: str) -> None:
        if self.lineage.wait_for_parents(shard, self._stop):
            self._read(shard)

    def _ended(self, shard: str) -> bool:
        """Whether the shard is closed and read to its end (its children may be read then)."""
        if not self.lineage.closed(shard) or (self.windows is not None and shard in self.windows.open):
            return False
        self._fill(shard, 1)  # what was put before it closed and not read yet
        if self._buffers[shard]:
            return False
        self.lineage.end(shard)
        with self._lock:
            del self._iterators[shard], self._buffers[shard]
        return True

    def _read(self, shard: str) -> None:
        idle = 0.0
        # The batches still due from a failed batch, the next one last: (its size, whether it is a
        # half of a bisected batch). A retry after a partial failure holds the records from the
        # lowest failed one; a function error under bisect_on_error leaves the batch's two halves.
        plan: list[tuple[int, bool]] = []
        attempts = 0
        while not self._stop.is_set():
            try:
                batch = (self._buffers[shard][:plan[-1][0]] if plan
                         else self._collect(shard, self.trigger.batch_size))
            except Exception as exc:  # the emulator went away or answered oddly: keep going
                self.errors.append(exc)
                self._stop.wait(0.2)
                continue
            windows = self.windows
            if windows is not None:
                batch = windows.cut(batch) if batch else batch
                if windows.due(shard, batch, self._now()):
                    if not windows.close(self, shard) and not self.retry_now:
                        self._stop.wait(min(5.0, 0.05 * 2 ** min(self.blocked.get(shard, 1), 7)))
                    continue
            if not batch:
                plan.clear()
                try:
                    self._discover()
                    if self._ended(shard):
                        return
                except Exception as exc:  # the emulator went away or answered oddly: keep going
                    self.errors.append(exc)
                idle = min(_MAX_IDLE_S, max(_MIN_IDLE_S, idle * 2))
                self._stop.wait(idle)
                continue
            idle = 0.0
            bisected = bool(plan) and plan[-1][1]
            stale = self._expired(batch)
            if stale:  # given up unhandled; the younger records after them are read on
                self._give_up(shard, batch[:stale], attempts, "RecordAgeExceeded", None)
                attempts = 0
                if plan:
                    size = plan.pop()[0] - stale
                    if size > 0:
                        plan.append((size, bisected))
                continue
            results, records = self._invoke(shard, batch, attempts, bisected)
            retry = [r for r in batch if r.seq in results]
            done = [r for r in batch if r.seq not in results]
            if plan:
                plan.pop()
            if not retry:
                self._publish(records)
                self._done(shard, done)
                attempts = 0
                self.blocked.pop(shard, None)
                continue
            last = results[retry[0].seq]
            if self.trigger.bisect_on_error and len(retry) > 1 and last.outcome in ("error", "timeout"):
                # Halved on a function error only, the first half first; this uses up no retries.
                half = (len(retry) + 1) // 2
                plan += [(len(retry) - half, True), (half, True)]
            else:  # a partial response (or a function error, unbisected): retried from the failed record
                attempts += 1
                limit = self.trigger.max_retries
                if limit is not None and attempts > limit:
                    self._done(shard, done)
                    self._give_up(shard, retry, attempts, "RetryAttemptsExhausted", last, records)
                    attempts = 0
                    continue
                plan.append((len(retry), bisected))
            self._publish(records)
            self._done(shard, done)
            self.blocked[shard] = attempts
            if not self.retry_now:
                self._stop.wait(min(5.0, 0.05 * 2 ** min(attempts, 7)))

    def _expired(self, batch: list[Raw]) -> int:
        """How many of the batch's first records are older than ``max_record_age_s`` (a shard's
        records arrive in order, so the old ones lead)."""
        age = self.trigger.max_record_age_s
        if age is None:
            return 0
        now = self._now()
        return next((i for i, r in enumerate(batch) if now - r.arrival <= age), len(batch))

    def _invoke(self, shard: str, batch: list[Raw], attempts: int,
                bisected: bool) -> tuple[dict[str, Invocation], list[Invocation]]:
        """Run the batch (in partition-key groups with parallelization): the records to retry (in
        order), each with the invocation that failed it, and the invocations' records, held for
        :meth:`_publish` (in the order they ended)."""
        groups: list[list[Raw]] = [batch]
        factor = self.trigger.parallelization
        windows = self.windows
        if factor > 1 and windows is None:  # a window's state is the shard's: its batches run one at a time
            split: dict[int, list[Raw]] = {}
            for record in batch:
                split.setdefault(zlib.crc32(record.key.encode()) % factor, []).append(record)
            groups = list(split.values())
        failed: dict[str, Invocation] = {}
        records: list[Invocation] = []
        state = ", bisected" if bisected else ""
        state += f", retry {attempts}, shard blocked" if attempts else ""

        def run(group: list[Raw]) -> None:
            noun = "record" if len(group) == 1 else "records"
            event = (self.reader.batch_event([r.event for r in group]) if windows is None
                     else windows.event(self, shard, group))
            record = self.invoker.invoke(self.handler, event,
                                         source=f"{self.label} {shard} ({len(group)} {noun}{state})",
                                         hold=True)
            with self._lock:
                records.append(record)
            if windows is not None:
                windows.keep(shard, record)
            start = failed_from(record, group, windows is not None)
            for raw in group[start:] if start is not None else ():
                failed[raw.seq] = record

        if len(groups) == 1:
            run(groups[0])
        else:
            threads = [threading.Thread(target=run, args=(g,), daemon=True) for g in groups]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        return failed, records

    def _publish(self, records: Sequence[Invocation], last: Invocation | None = None,
                 given_up: GivenUp | None = None) -> None:
        """Publish the batch's invocations; ``last``, the one after which records were given up,
        says so (``given_up``)."""
        for record in records:
            if record is last and given_up is not None:
                record = replace(record, given_up=(given_up,))
            self.invoker.publish(record)

    def _done(self, shard: str, done: list[Raw]) -> None:
        if not done:
            return
        with self._lock:
            buffer = self._buffers[shard]
            if len(buffer) >= len(done) and all(a is b for a, b in zip(done, buffer, strict=False)):
                del buffer[:len(done)]  # the usual case: the batch was the buffer's head, all done
                last = done[-1]  # a shard's records are in order
            else:
                gone = {r.seq for r in done}
                buffer[:] = [r for r in buffer if r.seq not in gone]
                last = max(done, key=lambda r: int(r.raw_seq))
        # The checkpoint: just before the first record still due, else the last one done.
        remaining = self._buffers[shard]
        if not remaining or int(remaining[0].raw_seq) > int(last.raw_seq):
            self._checkpoint(shard, last.raw_seq)

    def _checkpoint(self, shard: str, raw_seq: str) -> None:
        # Within an open tumbling window the checkpoint waits for the window's final invocation.
        if self.windows is None or not self.windows.checkpoint(shard, raw_seq):
            self.checkpoints.set(shard, raw_seq)

    def _give_up(self, shard: str, records: list[Raw], attempts: int, condition: str,
                 record: Invocation | None, published: Sequence[Invocation] = ()) -> None:
        """Send ``records``' metadata to the on-failure queue (if any) and move the shard past them;
        ``published``: the last attempt's invocations, published saying so."""
        queue = self.trigger.on_failure
        destination = queue.logical_name if queue is not None else "discarded"
        if self.send_failure is not None:
            try:
                self.send_failure(self._failure_message(shard, records, attempts, condition, record))
            except Exception as exc:  # the queue is gone or the emulator answered oddly: say so, go on
                self.errors.append(exc)
                destination = f"lost (sending to {destination} failed: {exc})"
        span = (f"record {records[0].seq}" if len(records) == 1
                else f"records {records[0].seq}-{records[-1].seq} ({len(records)} records)")
        given = GivenUp(f"{self.label} {shard} {span}", attempts, destination, _REASONS[condition])
        if record is None:  # no invocation gave them up: said so on a record of its own
            noun = "record" if len(records) == 1 else "records"
            self.invoker.expire(self.handler, self.reader.batch_event([r.event for r in records]),
                                f"{self.label} {shard} ({len(records)} {noun})", given)
        self._publish(published, record, given)
        self._done(shard, records)
        self.blocked.pop(shard, None)

    def _failure_message(self, shard: str, records: list[Raw], attempts: int, condition: str,
                         record: Invocation | None) -> dict[str, Any]:
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if record is not None and record.outcome in ("error", "timeout"):
            response["functionError"] = "Unhandled"
        return {
            "requestContext": {
                "requestId": record.request_id if record is not None else str(uuid.uuid4()),
                "functionArn": self.invoker_function_arn(),
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "responseContext": response,
            "version": "1.0",
            "timestamp": stamp_ms(self._now()),
            self.reader.batch_info(): {
                "shardId": shard,
                "startSequenceNumber": records[0].seq,
                "endSequenceNumber": records[-1].seq,
                "approximateArrivalOfFirstRecord": self.reader.arrival_stamp(records[0].arrival),
                "approximateArrivalOfLastRecord": self.reader.arrival_stamp(records[-1].arrival),
                "batchSize": len(records),
                "streamArn": self.reader.source_arn,
            },
        }

    def invoker_function_arn(self) -> str:
        """The function's ARN in the emulator's account and region."""
        target = self.invoker.bindings.target
        return f"arn:aws:lambda:{target.region}:{target.account}:function:{self.handler.settings.name}"
