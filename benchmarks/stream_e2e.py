"""The stream example's end-to-end test, timed: 2,101 events (200 in a JSON-lines file, 1,800 over
``POST /events``, one more bad one and 100 resent), about one in sixteen bad, through the example's
queue until ``drain()`` returns; each good event counted once, each bad one in the dead-letter
queue (checked after every run).

The figure is the time from the first event sent to the end of ``drain()`` (the test's own
stopwatch; starting the app takes about 2 s more). The reference is the same events sent the way
the test sent them before, in waves of 400 with a drain after each, with the two things that made
that slow switched off: drain() waiting every batching window out (``end_windows=False``) and
every call to the embedded emulator going over HTTP (the in-process path of
``flowfn.local.inprocess`` turned off). Two more rows send everything at once with one of them off.
"""

from __future__ import annotations

import importlib.util
import io
import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, redirect_stdout
from types import ModuleType
from urllib.parse import urlsplit

from _common import ROOT, Row, median

from flowfn.local import inprocess
from flowfn.testing import Harness, run_app

APP = str(ROOT / "examples" / "stream" / "app.py")
#: Runs of the current way (its figure is their median); the slower variants run once each.
ROUNDS = 3
TARGET_S = 10.0


def _test_module() -> ModuleType:
    """tests/e2e/test_stream_e2e.py, for its event generator and sizes."""
    path = ROOT / "tests" / "e2e" / "test_stream_e2e.py"
    spec = importlib.util.spec_from_file_location("_stream_e2e", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def _over_http(harness: Harness) -> Iterator[None]:
    netloc = urlsplit(harness.local.emulator.endpoint_url).netloc
    app = inprocess.stop_serving(netloc)
    try:
        yield
    finally:
        if app is not None:
            inprocess.serve(netloc, app)


def _run(test: ModuleType, *, waves: int | None, end_windows: bool, in_process: bool) -> float:
    lines, good, bad = test.make_stream(seed=7)
    with run_app(APP) as harness:
        with nullcontext() if in_process else _over_http(harness):
            started = time.perf_counter()
            harness.upload("inbox", "incoming/batch-1.jsonl", "\n".join(lines[:test.FILE_EVENTS]) + "\n")
            step = waves or test.PER_POST
            if waves:
                harness.local.drain(60, end_windows=end_windows)
            for first in range(test.FILE_EVENTS, test.EVENTS, step):
                harness.post("/events", body="\n".join(lines[first:first + step]))
                if waves:
                    harness.local.drain(60, end_windows=end_windows)
            resent = [lines[index] for index in range(300) if f"e{index}" in good][:100]
            harness.post("/events", json={"not": "an event"})
            harness.post("/events", body="\n".join(resent))
            harness.local.drain(300, end_windows=end_windows)
            elapsed = time.perf_counter() - started
        docs = [json.loads(harness.download("aggregates", key)) for key in harness.keys("aggregates")]
        counted = Counter(eid for doc in docs for eid in doc["event_ids"])
        if set(counted) != set(good) or max(counted.values()) != 1:
            missing = set(good) - set(counted)
            twice = sorted(e for e, n in counted.items() if n > 1)
            raise RuntimeError(f"the good events were not each counted once: {len(missing)} missing "
                               f"({sorted(missing)[:5]}), {len(twice)} counted more than once ({twice[:5]})")
        if Counter(harness.messages("events-dlq")) != Counter([*bad, json.dumps({"not": "an event"})]):
            raise RuntimeError("the dead-letter queue does not hold exactly the bad events")
    return elapsed


def run() -> list[Row]:
    test = _test_module()
    with redirect_stdout(io.StringIO()):  # the example's handlers log each bad event, as in Lambda
        now = [_run(test, waves=None, end_windows=True, in_process=True) for _ in range(ROUNDS)]
        before = _run(test, waves=400, end_windows=False, in_process=False)
        no_cut = _run(test, waves=None, end_windows=False, in_process=True)
        no_inproc = _run(test, waves=None, end_windows=True, in_process=False)
    ours = median(now)
    case = "stream example, 2,101 events to drained"
    return [
        Row("stream end to end", f"{case}: all sent, one drain()", f"{ours:.1f} s",
            f"range {min(now):.1f}-{max(now):.1f} s ({ROUNDS} runs)",
            f"before {before:.1f} s (waves of 400, windows waited out, HTTP)", f"{ours / before:.2f}",
            f"< {TARGET_S:g} s", ours < TARGET_S),
        Row("stream end to end", f"{case}: all sent, windows waited out", f"{no_cut:.1f} s", "1 run"),
        Row("stream end to end", f"{case}: all sent, every call over HTTP", f"{no_inproc:.1f} s", "1 run"),
    ]


if __name__ == "__main__":
    for row in run():
        print(" | ".join(cell for cell in row.cells() if cell))
