"""Local end to end: the dispatcher on the embedded emulator, against the emulator's own limit.

- Latency from an S3 upload (a boto3 ``put_object`` on the emulator, as a handler or the mirror
  folder would do) to the ``@on_s3`` handler starting, sequentially, p50 and p99.
- Sustained SQS throughput through the dispatcher (send, poll, invoke, delete), against the raw
  limit measured on the same emulator in the same run: boto3 sending, receiving and deleting the
  same number of messages in batches of ten, with no handler.
"""

from __future__ import annotations

import time

from _common import HERE, Row, median, percentile

from flowfn.testing import run_app

APP = str(HERE / "apps" / "local_bench.py")


def _send_all(sqs: object, url: str, count: int) -> None:
    for start in range(0, count, 10):
        size = min(10, count - start)
        entries = [{"Id": str(i), "MessageBody": f'{{"n": {start + i}}}'} for i in range(size)]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)  # type: ignore[attr-defined]


def _raw_limit(sqs: object, url: str, count: int) -> float:
    """Messages per second of send + receive + delete on the emulator, no dispatcher."""
    start = time.perf_counter()
    _send_all(sqs, url, count)
    done = 0
    while done < count:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,  # type: ignore[attr-defined]
                                  WaitTimeSeconds=0).get("Messages", [])
        if got:
            sqs.delete_message_batch(QueueUrl=url, Entries=[  # type: ignore[attr-defined]
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
            done += len(got)
    return count / (time.perf_counter() - start)


def run(uploads: int = 100, messages: int = 300, rounds: int = 3) -> list[Row]:
    latencies: list[float] = []
    ours: list[float] = []
    raw: list[float] = []
    with run_app(APP) as app:
        started = app.app.handler("note").fn.__globals__["started"]
        s3 = app.client("s3")
        bucket = app.bucket_name("drops")
        for i in range(20):  # warm: first calls to each service are slow on the emulator
            s3.put_object(Bucket=bucket, Key=f"warm/{i}", Body=b"x")
        app.drain()
        for i in range(uploads):
            key = f"object-{i}.txt"
            t0 = time.perf_counter()
            s3.put_object(Bucket=bucket, Key=key, Body=b"x")
            while key not in started:
                time.sleep(0.0002)
            latencies.append(started[key] - t0)
        sqs = app.client("sqs")
        url = app.queue_url("work")
        raw_url = sqs.create_queue(QueueName="bench-raw-limit")["QueueUrl"]
        for _ in range(rounds):
            raw.append(_raw_limit(sqs, raw_url, messages))
            app.clear()
            start = time.perf_counter()
            _send_all(sqs, url, messages)
            app.drain()
            elapsed = time.perf_counter() - start
            handled = sum(len(inv.event.get("Records", [])) for inv in app.invocations("consume"))
            if handled < messages:
                raise RuntimeError(f"only {handled} of {messages} messages reached the handler")
            ours.append(messages / elapsed)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    ratio = median(ours) / median(raw)
    return [
        Row("local end to end", f"S3 upload to handler start, p50 ({uploads} uploads)",
            f"{p50 * 1000:.1f} ms", f"p99 {p99 * 1000:.1f} ms", target="p50 < 50 ms", met=p50 < 0.050),
        Row("local end to end", f"SQS throughput, {messages} messages", f"{median(ours):.0f} msg/s",
            f"range {min(ours):.0f}-{max(ours):.0f}", f"raw limit {median(raw):.0f} msg/s",
            f"{ratio:.2f}", ">= 0.80 of raw", ratio >= 0.80),
    ]


if __name__ == "__main__":
    for row in run():
        print(" | ".join(row.cells()))
