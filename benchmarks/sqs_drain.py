"""SQS through the dispatcher at depth: draining 10,000 queued messages against draining 100.

An app with one ``@on_sqs`` handler (batches of ten, a handler that does nothing) runs under
flowfn's local engine, as ``flowfn.testing`` runs it. Before its pollers start, the queue is filled
to the depth on the emulator's backend in this process (filling is not what is measured). The
figure is messages per second from the sources' start until the last message was handled. The
reference drains a queue of the same depth with a bare loop of ``ReceiveMessage`` (ten) and
``DeleteMessageBatch`` through the same client (answered in-process, as the pollers' calls
are), nothing else, in the same run.

Two ratios per round: dispatcher at 10,000 over dispatcher at 100 (target: at least 0.8; the
dispatcher must not slow down as the queue deepens), and dispatcher over the bare loop at
10,000. Each figure is the median of ``ROUNDS`` rounds in which the depths alternate.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from _common import Row, median

from flowfn import App, Queue
from flowfn.local.emulator import DUMMY_ACCOUNT
from flowfn.local.engine import LocalApp, Options

DEPTHS = (100, 10_000)
ROUNDS = 3


def _fill(local: LocalApp, url: str, depth: int) -> None:
    from moto.sqs.models import sqs_backends

    backend = sqs_backends[DUMMY_ACCOUNT][local.target.region]
    name = url.rsplit("/", 1)[1]
    for i in range(depth):
        backend.send_message(name, f'{{"n": {i}}}')


def _bare(local: LocalApp, depth: int) -> float:
    """Messages per second of a bare receive + delete loop draining ``depth`` messages from a
    queue no poller reads, on the same emulator."""
    sqs = local.target.client("sqs")
    url = sqs.create_queue(QueueName="bare")["QueueUrl"]
    _fill(local, url, depth)
    taken = 0
    started = time.perf_counter()
    while taken < depth:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if got:
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
        taken += len(got)
    return depth / (time.perf_counter() - started)


def _case(depth: int) -> tuple[float, float]:
    """(dispatcher's messages per second, the bare loop's) draining ``depth`` messages."""
    app = App("bench")
    lock = threading.Lock()
    handled = [0]
    done = threading.Event()
    marks: dict[str, float] = {}

    @app.on_sqs(Queue("bench"), batch_size=10)
    def on_message(message: Any) -> None:
        with lock:
            handled[0] += 1
            if handled[0] == depth:
                marks["end"] = time.perf_counter()
                done.set()

    def ready(local: LocalApp) -> None:
        _fill(local, local.bindings.queue_urls["bench"], depth)
        marks["start"] = time.perf_counter()

    local = LocalApp(app, Options(on_ready=[ready], permissions="off"))
    local.start()
    try:
        if not done.wait(300):
            raise RuntimeError(f"handled {handled[0]} of {depth} messages")
        local.drain(60)
        return depth / (marks["end"] - marks["start"]), _bare(local, depth)
    finally:
        local.stop()


def run() -> list[Row]:
    low, high = DEPTHS
    ours: dict[int, list[float]] = {low: [], high: []}
    bare: dict[int, list[float]] = {low: [], high: []}
    for _ in range(ROUNDS):
        for depth in DEPTHS:
            mine, reference = _case(depth)
            ours[depth].append(mine)
            bare[depth].append(reference)
    depth_ratio = median([h / lo for h, lo in zip(ours[high], ours[low], strict=True)])
    bare_ratio = median([o / b for o, b in zip(ours[high], bare[high], strict=True)])
    return [
        Row("sqs drain", f"dispatcher draining {high:,} vs {low:,} queued messages",
            f"{median(ours[high]):,.0f} vs {median(ours[low]):,.0f} msg/s",
            spread=f"range {min(ours[high]):,.0f}-{max(ours[high]):,.0f} at {high:,}",
            ratio=f"{depth_ratio:.2f}", target=">= 0.8", met=depth_ratio >= 0.8),
        Row("sqs drain", f"dispatcher vs bare receive + delete, {high:,} queued",
            f"{median(ours[high]):,.0f} msg/s",
            reference=f"bare {median(bare[high]):,.0f} msg/s (at {low:,}: {median(bare[low]):,.0f})",
            ratio=f"{bare_ratio:.2f}"),
    ]


if __name__ == "__main__":
    for row in run():
        print(" | ".join(cell for cell in row.cells() if cell))
