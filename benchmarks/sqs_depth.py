"""SQS at depth: what one message costs on the embedded emulator at 100 and at 10,000 messages.

At each depth the queue (standard, and FIFO with 20 message groups) is held steady: ten single
``SendMessage`` calls are timed as "send", then one ``ReceiveMessage`` of ten and one
``DeleteMessageBatch`` of them as "receive+delete", and the cycle repeats for about 0.4 s
(once at least). The queue is filled to its depth beforehand. A receive takes the oldest
messages, so the cycles take those fillers first and then the messages earlier cycles sent:
each message waits behind the depth's others, as in a queue consumed in order, and the
cycles do the same work at both depths (at 10,000 the HTTP cases only ever take fillers,
which are messages of the same kind).

Each pair of depths runs with flowfn's fixes to moto (``flowfn/local/moto_patches/``, what
``flowfn run-local`` and ``flowfn.testing`` run) and with moto as shipped, both on moto's
backend in this process and over the embedded HTTP server. A last case times ``PutObject`` on
a bucket whose notifications go to a queue of that depth (moto sends to it synchronously).
The ratio is messages per second at depth 10,000 over depth 100; 1.0 is no slowdown. With the
fixes, each figure is the median of five rounds, which depth goes first swapping each round (as shipped,
one round: it takes minutes at depth 10,000).

Each window starts with a full collection, outside its timing. Without it, the objects the
cases' messages leave in the collector's oldest generation set off a full pass over the whole
process about once a round (about 310,000 objects, 100-160 ms), inside whichever window ran
then: that window lost about a third of its rate, at either depth, and the rows moved by that
much from run to run (three runs of receive+delete in-process gave 1.06, 1.50 and 1.57; five
rounds of that case with the collector off, 0.90-0.97). The collector still runs within each
window on what the window makes, so its share that grows with depth (about 1 µs a message at
10,000) is counted.
"""

from __future__ import annotations

import gc
import time
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from _common import Row, median

from flowfn.local import inprocess, moto_patches
from flowfn.local.emulator import DUMMY_ACCOUNT, AwsTarget, EmbeddedMoto

DEPTHS = (100, 10_000)
BUDGET = 0.4  # seconds of cycles per measurement


def _fifo_fields(name: str, body: str) -> dict[str, str]:
    """A FIFO message's group (one of 20) and deduplication id; nothing for a standard queue."""
    if not name.endswith(".fifo"):
        return {}
    return {"MessageGroupId": f"g{zlib.crc32(body.encode()) % 20:02d}", "MessageDeduplicationId": body}


class _Backend:
    """The cycle's calls straight on moto's SQS backend, no HTTP."""

    def __init__(self, name: str) -> None:
        from moto.sqs.models import sqs_backends

        self.backend = sqs_backends[DUMMY_ACCOUNT]["us-east-1"]
        self.name = name

    def send(self, body: str) -> None:
        fields = _fifo_fields(self.name, body)
        self.backend.send_message(self.name, body, group_id=fields.get("MessageGroupId"),
                                  deduplication_id=fields.get("MessageDeduplicationId"))

    def receive_delete(self) -> int:
        got = self.backend.receive_message(self.name, 10, 0, 30)
        self.backend.delete_message_batch(self.name, [
            {"Id": str(i), "ReceiptHandle": m.receipt_handle} for i, m in enumerate(got)])
        return len(got)


class _Http:
    """The cycle's calls through boto3 and the embedded server."""

    def __init__(self, sqs: Any, url: str) -> None:
        self.sqs, self.url = sqs, url

    def send(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.url, MessageBody=body,
                              **_fifo_fields(self.url.rsplit("/", 1)[1], body))

    def receive_delete(self) -> int:
        got = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", [])
        if got:
            self.sqs.delete_message_batch(QueueUrl=self.url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
        return len(got)


def _fill(name: str, depth: int) -> None:
    calls = _Backend(name)
    for i in range(depth):
        calls.send(f'{{"filler": {i}}}')


def _cycles(calls: _Backend | _Http) -> tuple[float, float]:
    """Send and receive+delete rates (messages per second) at the queue's current depth."""
    gc.collect()  # a full pass owed to earlier cases would land in this window (see the docstring)
    sent = taken = 0
    send_time = take_time = 0.0
    started = time.perf_counter()
    while sent == 0 or time.perf_counter() - started < BUDGET:
        t0 = time.perf_counter()
        for i in range(10):
            calls.send(f'{{"n": {sent + i}}}')
        t1 = time.perf_counter()
        got = calls.receive_delete()
        t2 = time.perf_counter()
        if got != 10:
            raise RuntimeError(f"received {got} messages, expected 10")
        sent, taken = sent + 10, taken + got
        send_time, take_time = send_time + t1 - t0, take_time + t2 - t1
    return sent / send_time, taken / take_time


def _s3_puts(s3: Any, bucket: str, puts: int = 30) -> float:
    """``PutObject`` calls per second (each one sends to the notified queue, which grows)."""
    started = time.perf_counter()
    for count in range(puts):
        s3.put_object(Bucket=bucket, Key=f"k/{time.perf_counter_ns()}/{count}", Body=b"x")
    return puts / (time.perf_counter() - started)


def _setup(sqs: Any, s3: Any, depth: int) -> dict[str, Callable[[], tuple[float, ...]]]:
    """Queues (and a notifying bucket) filled to ``depth``; the measurements to take on them."""
    kinds = ("local", "http", "s3", "local-fifo", "http-fifo")
    names = {kind: f"depth-{kind}-{depth}" + (".fifo" if "fifo" in kind else "") for kind in kinds}
    urls = {kind: sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"} if "fifo" in kind
                                   else {})["QueueUrl"] for kind, name in names.items()}
    arn = sqs.get_queue_attributes(QueueUrl=urls["s3"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bucket = f"depth-bucket-{depth}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
    for name in names.values():
        _fill(name, depth)
    return {
        "in-process": lambda: _cycles(_Backend(names["local"])),
        "HTTP": lambda: _cycles(_Http(sqs, urls["http"])),
        "FIFO, in-process": lambda: _cycles(_Backend(names["local-fifo"])),
        "FIFO, HTTP": lambda: _cycles(_Http(sqs, urls["http-fifo"])),
        "S3": lambda: (_s3_puts(s3, bucket),),
    }


def _measure(patched: bool, rounds: int) -> dict[str, dict[int, float]]:
    """Median rates per case and depth, on a fresh embedded emulator; which depth goes first swaps."""
    samples: dict[str, dict[int, list[float]]] = {}
    emulator = EmbeddedMoto()
    emulator.start()
    inprocess.stop_serving(urlsplit(emulator.endpoint_url).netloc)  # the HTTP cases go over HTTP
    try:
        target = AwsTarget(emulator.endpoint_url)
        sqs, s3 = target.client("sqs"), target.client("s3")
        moto_patches.install()  # filling is not what is measured
        cases = {depth: _setup(sqs, s3, depth) for depth in (*DEPTHS, 0)}
        for run_case in cases.pop(0).values():  # warm: the first calls to a service are slow
            run_case()
        if not patched:
            moto_patches.uninstall()
        for round_number in range(rounds):
            # Which depth goes first swaps each round, so that a drift over the run (the server's
            # threads and sockets, the machine's load) weighs on both depths alike.
            for depth in DEPTHS if round_number % 2 == 0 else DEPTHS[::-1]:
                for where, run_case in cases[depth].items():
                    labels = ["send", "receive+delete"]
                    if where == "S3":
                        labels = ["PutObject to a notified queue"]
                    for label, rate in zip(labels, run_case(), strict=True):
                        samples.setdefault(f"{label}, {where}", {}).setdefault(depth, []).append(rate)
    finally:
        emulator.stop()
    return {case: {depth: median(values) for depth, values in by_depth.items()}
            for case, by_depth in samples.items()}


def _rate(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def run() -> list[Row]:
    fixed, shipped = _measure(patched=True, rounds=5), _measure(patched=False, rounds=1)
    low, high = DEPTHS
    rows = []
    for case, by_depth in fixed.items():
        ratio = by_depth[high] / by_depth[low]
        base = shipped[case]
        unit = "puts/s" if case.startswith("PutObject") else "msg/s"
        rows.append(Row(
            "sqs depth", f"{case}: depth {low:,} -> {high:,}",
            f"{_rate(by_depth[low])} -> {_rate(by_depth[high])} {unit}",
            reference=f"moto as shipped {_rate(base[low])} -> {_rate(base[high])} "
                      f"(ratio {base[high] / base[low]:.3f})",
            ratio=f"{ratio:.2f}", target="ratio >= 0.8", met=ratio >= 0.8))
    return rows


if __name__ == "__main__":
    for row in run():
        print(" | ".join(cell for cell in row.cells() if cell))
