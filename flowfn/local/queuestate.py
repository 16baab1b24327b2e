"""Queued messages kept across ``flowfn run-local`` restarts.

The embedded emulator keeps its queues in memory, so a stop would lose every message still
queued and every dead letter. :func:`save` runs once the sources have stopped and in-flight
invocations have finished: it makes visible again the messages handlers failed on (their
visibility timeout would hide them from a read), reads every message of every queue, in queue
order, with its body, message attributes, FIFO group and deduplication ids and receive count, and
writes them as JSON. :func:`restore` runs at the next start, before any source: it sends them
again, in order.

SQS cannot set ``ApproximateReceiveCount`` on send. A restored message that had been received
``n`` times is received ``n`` times again right after it is sent (and hidden in between), so the
emulator's own count, the ``receive_count`` handlers see, and the redrive to the dead-letter queue
after ``max_receive_count`` receives all go on where they were. Messages received before are sent
before those never received (SQS keeps no order across receives anyway; in a FIFO group the ones
received come first). A FIFO group can block that replay (a message hidden holds its group):
such a message is restored with fewer receives, and the count is said. Neither a message's age
nor its retention period carries over: it counts from its restore. Messages the API cannot read
(delayed ones, ones another client holds) are not kept; how many is said at stop.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowfn.local.sqs import make_visible

__all__ = ["FILE", "Restored", "Saved", "restore", "save", "unsettled"]

#: The file in the app's state folder that holds the saved messages.
FILE = "queues.json"
_VERSION = 1
_HIDE_S = 600  # how long messages stay hidden while being read or replayed


@dataclass
class Saved:
    """What :func:`save` kept, per queue, and how many messages it could not read."""

    counts: dict[str, int] = field(default_factory=dict)
    unread: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class Restored:
    """What :func:`restore` sent again, per queue, and what it could not."""

    counts: dict[str, int] = field(default_factory=dict)
    #: Messages of queues the app no longer declares, per queue (kept in ``kept_in``).
    dropped: dict[str, int] = field(default_factory=dict)
    kept_in: Path | None = None
    #: Messages restored with fewer receives than they had.
    short: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def unsettled(messages: dict[str, tuple[str, str]], queue_urls: dict[str, str]) -> dict[str, list[str]]:
    """Receipt handles, per queue URL, of the messages whose last invocation failed.

    ``messages`` are the invoker's (:meth:`~flowfn.local.invoker.Invoker.unsettled`: message id ->
    queue ARN and receipt handle), ``queue_urls`` maps queue ARNs to URLs.
    """
    handles: dict[str, list[str]] = {}
    for arn, handle in messages.values():
        url = queue_urls.get(arn)
        if url is not None:
            handles.setdefault(url, []).append(handle)
    return handles


def _depth(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed"])["Attributes"]
    return sum(int(v) for v in attrs.values())


def _entry(message: dict[str, Any]) -> dict[str, Any]:
    attrs = message.get("Attributes", {})
    entry: dict[str, Any] = {
        "body": message["Body"],
        # This read was one receive more: the count it had is one less.
        "receive_count": max(0, int(attrs.get("ApproximateReceiveCount", "1")) - 1),
        "message_id": message["MessageId"],
    }
    for key, name in (("MessageGroupId", "group_id"), ("MessageDeduplicationId", "deduplication_id")):
        if key in attrs:
            entry[name] = attrs[key]
    if message.get("MessageAttributes"):
        entry["attributes"] = {
            name: {"DataType": value["DataType"],
                   **({"StringValue": value["StringValue"]} if "StringValue" in value else {}),
                   **({"BinaryValue": base64.b64encode(value["BinaryValue"]).decode()}
                      if "BinaryValue" in value else {})}
            for name, value in message["MessageAttributes"].items()
        }
    return entry


def save(sqs: Any, queues: dict[str, str], unsettled: dict[str, list[str]], path: Path) -> Saved:
    """Read every message of ``queues`` (name -> URL, read in that order: a queue before its
    dead-letter queue) into ``path``; see the module docstring. Nothing is written when every
    queue is empty."""
    for url, handles in unsettled.items():
        make_visible(sqs, url, handles)
    saved = Saved()
    everything: dict[str, list[dict[str, Any]]] = {}
    for name, url in queues.items():
        entries: list[dict[str, Any]] = []
        while True:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                      VisibilityTimeout=_HIDE_S, AttributeNames=["All"],
                                      MessageAttributeNames=["All"]).get("Messages", [])
            if not got:
                break
            entries.extend(_entry(m) for m in got)
        if entries:
            everything[name] = entries
            saved.counts[name] = len(entries)
    # What is left is what could not be read: all that was read is hidden, counted once.
    saved.unread = max(0, sum(_depth(sqs, url) for url in queues.values()) - saved.total)
    if everything:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps({"version": _VERSION, "queues": everything}, indent=1) + "\n")
        os.replace(temporary, path)
    return saved


def _send(sqs: Any, url: str, entries: list[dict[str, Any]], fifo: bool) -> list[str]:
    """Send ``entries`` in order; the new message ids, in the same order."""
    ids: list[str] = []
    for start in range(0, len(entries), 10):
        batch = []
        for index, entry in enumerate(entries[start:start + 10]):
            item: dict[str, Any] = {"Id": str(index), "MessageBody": entry["body"]}
            if fifo:
                item["MessageGroupId"] = entry.get("group_id", "flowfn-restored")
                if "deduplication_id" in entry:
                    item["MessageDeduplicationId"] = entry["deduplication_id"]
            else:
                item["DelaySeconds"] = 0  # restored messages have waited their delay already
            if entry.get("attributes"):
                item["MessageAttributes"] = {
                    name: {**value, **({"BinaryValue": base64.b64decode(value["BinaryValue"])}
                                       if "BinaryValue" in value else {})}
                    for name, value in entry["attributes"].items()
                }
            batch.append(item)
        answer = sqs.send_message_batch(QueueUrl=url, Entries=batch)
        if answer.get("Failed"):
            failure = answer["Failed"][0]
            raise RuntimeError(f"the emulator refused a restored message: {failure.get('Message')}")
        sent = {item["Id"]: item["MessageId"] for item in answer["Successful"]}
        ids.extend(sent[str(index)] for index in range(len(batch)))
    return ids


def _replay_receives(sqs: Any, url: str, wanted: dict[str, int]) -> int:
    """Receive each message of ``wanted`` (new id -> receives) that many times; returns how many
    ended with fewer."""
    got_count: dict[str, int] = dict.fromkeys(wanted, 0)
    handles: dict[str, str] = {}
    for round_ in range(1, max(wanted.values(), default=0) + 1):
        again: list[str] = []
        while True:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                      VisibilityTimeout=_HIDE_S).get("Messages", [])
            if not got:
                break
            for message in got:
                ident = message["MessageId"]
                handles[ident] = message["ReceiptHandle"]
                got_count[ident] = got_count.get(ident, 0) + 1
                if wanted.get(ident, 0) > round_:
                    again.append(message["ReceiptHandle"])
        make_visible(sqs, url, again)
    make_visible(sqs, url, list(handles.values()))
    return sum(1 for ident, count in wanted.items() if got_count[ident] < count)


def restore(sqs: Any, queues: dict[str, str], path: Path) -> Restored:
    """Send the messages saved in ``path`` to ``queues`` (name -> URL) again; see the module
    docstring. The file is removed once read; messages of queues the app no longer declares
    are moved to ``queues-not-restored.json`` beside it."""
    restored = Restored()
    if not path.exists():
        return restored
    data = json.loads(path.read_text())
    leftover: dict[str, list[dict[str, Any]]] = {}
    for name, entries in data.get("queues", {}).items():
        url = queues.get(name)
        if url is None:
            leftover[name] = entries
            restored.dropped[name] = len(entries)
            continue
        fifo = name.endswith(".fifo") or url.endswith(".fifo")
        received = [e for e in entries if e.get("receive_count", 0) > 0]
        ids = _send(sqs, url, received, fifo)
        restored.short += _replay_receives(sqs, url, {
            new: int(entry["receive_count"]) for new, entry in zip(ids, received, strict=True)})
        _send(sqs, url, [e for e in entries if e.get("receive_count", 0) <= 0], fifo)
        restored.counts[name] = len(entries)
    if leftover:
        restored.kept_in = path.with_name("queues-not-restored.json")
        if restored.kept_in.exists():  # kept from an earlier start: add to it
            earlier = json.loads(restored.kept_in.read_text()).get("queues", {})
            leftover = {name: [*earlier.get(name, []), *leftover.get(name, [])]
                        for name in {**earlier, **leftover}}
        restored.kept_in.write_text(json.dumps({"version": _VERSION, "queues": leftover}, indent=1) + "\n")
    path.unlink()
    return restored
