"""The stream example end to end: thousands of events, a share of them bad, through the real queue.

Every good event must be counted exactly once in the aggregates, even when it is sent twice, and
every bad one must sit in the dead-letter queue; nothing may be lost or counted twice.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowfn.testing import Harness, run_app

pytestmark = pytest.mark.slow

#: Events sent in all; about one in sixteen is bad. All are sent before one drain().
EVENTS = 2000
#: Events per POST: the most the example's endpoint takes in one request.
PER_POST = 1000
#: Events that arrive as a JSON-lines file instead of over HTTP.
FILE_EVENTS = 200
KEYS = ("sensor-a", "sensor-b", "sensor-c", "pump-1")


def bad_line(rnd: random.Random, index: int) -> str:
    kind = index % 6
    if kind == 0:
        return f'{{"id": "e{index}", "key": "sensor-a", "ts":'         # cut off mid-object
    if kind == 1:
        return json.dumps({"id": f"e{index}", "key": "sensor-a"})      # no ts, no value
    if kind == 2:
        return json.dumps({"id": f"e{index}", "key": "no spaces allowed", "ts": "2025-01-01T00:00:00Z",
                           "value": 1})
    if kind == 3:
        return json.dumps({"id": f"e{index}", "key": "pump-1", "ts": "2025-01-01T00:00:00", "value": 1})
    if kind == 4:
        return f'{{"id": "e{index}", "key": "pump-1", "ts": "2025-01-01T00:00:00Z", "value": NaN}}'
    return f"plain text line {rnd.random()}"


def make_stream(seed: int) -> tuple[list[str], dict[str, tuple[str, str, float]], list[str]]:
    """(lines to send, good id -> (key, minute, value), bad lines)."""
    rnd = random.Random(seed)
    lines: list[str] = []
    good: dict[str, tuple[str, str, float]] = {}
    bad: list[str] = []
    for index in range(EVENTS):
        if rnd.random() < 1 / 16:
            line = bad_line(rnd, index)
            bad.append(line)
        else:
            key = rnd.choice(KEYS)
            minute, second = rnd.randrange(3), rnd.randrange(60)
            value = round(rnd.uniform(-50, 50), 3)
            line = json.dumps({"id": f"e{index}", "key": key, "ts": f"2025-01-01T09:0{minute}:{second:02}Z",
                               "value": value})
            good[f"e{index}"] = (key, f"2025-01-01T09:0{minute}:00Z", value)
        lines.append(line)
    return lines, good, bad


@pytest.fixture
def harness(examples_dir: Path, restore_imports: None) -> Iterator[Harness]:
    with run_app(str(examples_dir / "stream" / "app.py")) as running:
        yield running


def aggregates(harness: Harness) -> list[dict[str, Any]]:
    return [json.loads(harness.download("aggregates", key)) for key in harness.keys("aggregates")]


def test_every_event_is_counted_once_or_dead_lettered(harness: Harness) -> None:
    lines, good, bad = make_stream(seed=7)
    started = time.perf_counter()
    harness.upload("inbox", "incoming/batch-1.jsonl", "\n".join(lines[:FILE_EVENTS]) + "\n")
    for start in range(FILE_EVENTS, EVENTS, PER_POST):
        posted = lines[start:start + PER_POST]
        response = harness.post("/events", body="\n".join(posted))
        assert response.status == 202 and response.json() == {"queued": len(posted)}
    # A producer resends events it is unsure about: same ids, counted once, even while the first
    # copies are still in the queue.
    resent = [lines[index] for index in range(300) if f"e{index}" in good][:100]
    assert harness.post("/events", json={"not": "an event"}).status == 202  # one more bad one
    bad.append(json.dumps({"not": "an event"}))
    assert harness.post("/events", body="\n".join(resent)).status == 202
    harness.drain()
    elapsed = time.perf_counter() - started
    sent = EVENTS + len(resent) + 1
    print(f"\nstream: {sent} events ({len(bad)} bad, {len(resent)} resent) in {elapsed:.1f} s, "
          f"{sent / elapsed:.0f} events/s, {len(harness.invocations('aggregate'))} batches")

    docs = aggregates(harness)
    counted = Counter(eid for doc in docs for eid in doc["event_ids"])
    assert set(counted) == set(good), "every good event is counted, and nothing else"
    assert max(counted.values()) == 1, "no event is counted twice"
    for doc in docs:
        values = [good[eid][2] for eid in doc["event_ids"]]
        assert all(good[eid][:2] == (doc["key"], doc["minute"]) for eid in doc["event_ids"])
        assert doc["count"] == len(values)
        assert math.isclose(doc["sum"], math.fsum(values), abs_tol=1e-6)
        assert (doc["min"], doc["max"]) == (min(values), max(values))

    dead = Counter(harness.messages("events-dlq"))
    assert dead == Counter(bad), f"missing: {Counter(bad) - dead}, unexpected: {dead - Counter(bad)}"
    assert {r.outcome for r in harness.invocations("aggregate")} <= {"ok", "partial"}
    assert all(r.ok for r in harness.invocations("post_events") + harness.invocations("read_file"))

    peek = harness.get("/dead-letters")
    assert peek.status == 200
    shown = peek.json()["messages"]
    assert shown and all(m["body"] in bad and m["receives"] >= 1 for m in shown)
    assert all(m["source"].startswith(("http ", f"s3://{harness.bucket_name('inbox')}/incoming/batch-1.jsonl:"))
               for m in shown)
    minutes = harness.get("/aggregates/pump-1").json()["minutes"]
    assert sum(m["count"] for m in minutes) == sum(1 for k, _, _ in good.values() if k == "pump-1")
