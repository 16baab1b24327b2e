"""Synth at scale: time and template size for generated apps of 10, 100 and 1,000 handlers.

Apps mix all four trigger kinds. Each size is synthesized several times (interleaved with the
others) and the median taken; the target is linear growth: 1,000 handlers in no more than about
12 times the time of 100.
"""

from __future__ import annotations

import random
import time
from typing import Any

from _common import Row, median, ms, spread_ms

from flowfn import App, Bucket, Queue
from flowfn.app import AppOrigin
from flowfn.synth import SynthOptions, synthesize

SIZES = (10, 100, 1000)


def _handler(record: Any, context: Any) -> None:
    """Stands for a user's function; synth never calls it."""


def _request(request: Any) -> None:
    """Stands for a user's HTTP handler."""


def generated_app(count: int) -> App:
    """An app of ``count`` handlers, mixed as a large app would be.

    In every 10 handlers: 4 HTTP routes, 3 schedules, 2 S3 triggers (on ten shared buckets, by
    prefix) and 1 SQS consumer with a queue of its own.
    """
    app = App(f"scale{count}")
    shared = Bucket("shared-data")
    buckets = [Bucket(f"in-{b}") for b in range(10)]
    for i in range(count):
        kind = i % 10
        name = f"fn{i:04d}"
        if kind < 4:
            app.on_http("GET", f"/items{i}/{{id}}", name=name, uses=[shared.read(f"items/{i}/")])(_request)
        elif kind < 7:
            app.on_schedule(f"cron({i % 60} {i % 24} * * ? *)", name=name, uses=[shared.list()])(_handler)
        elif kind < 9:
            app.on_s3(buckets[i % 10], prefix=f"incoming/{i}/", name=name,
                      uses=[shared.write(f"out/{i}/")])(_handler)
        else:
            app.on_sqs(Queue(f"jobs-{i:04d}"), name=name, uses=[shared.read()])(_handler)
    app.origin = AppOrigin(root=".", module=f"scale{count}")
    return app


def _synth(app: App) -> tuple[float, int, int]:
    options = SynthOptions()
    start = time.perf_counter()
    result = synthesize(app, options, code_asset="code-0000000000000000.zip", layers={
        "arm64": "deps-arm64-0000000000000000.zip", "x86_64": "deps-x86_64-0000000000000000.zip"})
    files = result.files()
    elapsed = time.perf_counter() - start
    return elapsed, sum(len(b) for b in files.values()), len(files)


def run(rounds: int = 7) -> list[Row]:
    apps = {n: generated_app(n) for n in SIZES}
    times: dict[int, list[float]] = {n: [] for n in SIZES}
    sizes: dict[int, tuple[int, int]] = {}
    for _ in range(rounds):
        order = list(SIZES)
        random.shuffle(order)
        for n in order:
            elapsed, size, files = _synth(apps[n])
            times[n].append(elapsed)
            sizes[n] = (size, files)
    rows = []
    for n in SIZES:
        size, files = sizes[n]
        rows.append(Row("synth at scale", f"{n} handlers", ms(median(times[n])), spread_ms(times[n]),
                        f"{size / 1024:.0f} KiB in {files} template{'s' if files > 1 else ''}"))
    growth = median(times[1000]) / median(times[100])
    rows.append(Row("synth at scale", "1,000 vs 100 handlers", f"{growth:.1f}x", ratio=f"{growth:.1f}",
                    target="<= ~12x", met=growth <= 12.0))
    return rows


if __name__ == "__main__":
    for row in run():
        print(" | ".join(row.cells()))
