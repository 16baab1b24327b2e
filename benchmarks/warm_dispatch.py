"""Warm dispatch: what the runtime adds to each event over calling the plain function.

For each event kind, three things handle the same event in one process: a plain function that does
the work on the raw event dict with no framework (the baseline), flowfn's Lambda entry point
(``flowfn.runtime.handler``, with ``FLOWFN_APP`` and ``FLOWFN_FUNCTION`` set as a deployed function
has them) and Chalice's wrapper, each called as Lambda calls it. Overhead is each framework's time
per event minus the baseline's; the target is flowfn's overhead no more than Chalice's. SQS batches
are also run through Powertools' ``BatchProcessor``, what a user would otherwise reach for. Most
real handlers log: one more row times an S3 event whose handler writes one INFO line, through
flowfn's logger (one JSON line with the invocation's keys) and through Chalice's ``app.log`` (a line
of text)."""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import sys
import timeit
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus

from _common import HERE, Row

sys.path[:0] = [str(HERE / "apps")]

import events  # noqa: E402

import flowfn.runtime  # noqa: E402


def _plain_s3(event: dict[str, Any], context: Any) -> Any:
    return unquote_plus(event["Records"][0]["s3"]["object"]["key"])


def _plain_sqs(event: dict[str, Any], context: Any) -> Any:
    failures = []
    for record in event["Records"]:
        try:
            if record["body"] == "fail":
                raise ValueError("bad record")
        except Exception:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def _plain_schedule(event: dict[str, Any], context: Any) -> Any:
    return event["time"]


def _plain_http(event: dict[str, Any], context: Any) -> Any:
    body = event.get("body") or ""
    payload = {"id": event["pathParameters"]["id"], "size": len(body.encode())}
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps(payload), "isBase64Encoded": False}


PLAIN: dict[str, Callable[[dict[str, Any], Any], Any]] = {
    "s3": _plain_s3, "sqs": _plain_sqs, "schedule": _plain_schedule, "http": _plain_http,
}
CASES = {"s3": "S3 event", "sqs": "SQS batch of 10, 1 failing", "schedule": "scheduled event",
         "http": "HTTP request"}


#: How long one timing of a side runs at least: sub-microsecond events are timed in batches long
#: enough that the machine's other work evens out.
_TIMING_S = 0.01


def _side_by_side(plain: Callable[[], Any], ours: Callable[[], Any], theirs: Callable[[], Any],
                  number: int) -> tuple[float, float, float]:
    """Seconds per call of each side: the fastest of seven rounds, the three sides taking turns in
    each round, so that a burst of load falls on all of them alike. Each side is called once first
    (a first event pays lazy imports); a timing makes ``number`` calls, or more, to last _TIMING_S."""
    timers = [timeit.Timer(call) for call in (plain, ours, theirs)]
    for call in (plain, ours, theirs):
        call()
    number = max(number, int(_TIMING_S / max(timers[1].timeit(100) / 100, 1e-9)))
    best = [float("inf")] * 3
    for _ in range(7):
        for side, timer in enumerate(timers):
            best[side] = min(best[side], timer.timeit(number) / number)
    return best[0], best[1], best[2]


def _entry(module: str) -> Callable[[dict[str, Any], Any], Any]:
    """flowfn's Lambda entry point, the environment naming the handler ``handle`` of ``module``
    (a module of ``apps/``), as a deployed function's does."""
    os.environ.setdefault("AWS_REGION", "us-east-1")
    os.environ["FLOWFN_APP"], os.environ["FLOWFN_FUNCTION"] = module, "handle"
    return flowfn.runtime.handler


def measure(kind: str, number: int = 2000) -> tuple[float, float, float]:
    """Seconds per event: (plain, flowfn, chalice)."""
    entry = _entry(f"flowfn_{kind}")
    chalice_module = importlib.import_module(f"chalice_{kind}")
    chalice_entry = chalice_module.app if kind == "http" else chalice_module.handle
    if kind == "sqs":  # partial-failure reporting at work: one record of ten fails
        ours = theirs = events.sqs(failing=1)
    else:
        ours, theirs = events.FLOWFN_EVENTS[kind](), events.CHALICE_EVENTS[kind]()
    context = events.Context()
    plain = PLAIN[kind]
    # Both frameworks write their logs to stdout, as in Lambda; here the stream is discarded.
    with contextlib.redirect_stdout(io.StringIO()):
        return _side_by_side(lambda: plain(ours, context), lambda: entry(ours, context),
                             lambda: chalice_entry(theirs, context), number)


def measure_batch(failing: int, number: int = 2000) -> tuple[float, float, float]:
    """Seconds per SQS batch of ten with ``failing`` failed records: (plain, flowfn, Powertools'
    ``BatchProcessor``). flowfn logs each failed record as an ERROR line; Powertools logs nothing."""
    entry = _entry("flowfn_sqs")
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "bench")
    theirs = importlib.import_module("powertools_sqs").handle
    event, context = events.sqs(failing=failing), events.Context()
    with contextlib.redirect_stdout(io.StringIO()):
        return _side_by_side(lambda: _plain_sqs(event, context), lambda: entry(event, context),
                             lambda: theirs(event, context), number)


def measure_logged(number: int = 2000) -> tuple[float, float, float]:
    """Seconds per S3 event whose handler writes one INFO line: (plain, flowfn, chalice)."""
    entry = _entry("flowfn_s3_log")
    chalice_module = importlib.import_module("chalice_s3_log")
    chalice_entry = chalice_module.handle
    ours, theirs, context = events.FLOWFN_EVENTS["s3"](), events.CHALICE_EVENTS["s3"](), events.Context()
    with contextlib.redirect_stdout(io.StringIO()) as sink:
        for stream_handler in chalice_module.app.log.handlers:  # made with the sys.stdout of its import
            stream_handler.setStream(sink)
        results = _side_by_side(lambda: _plain_s3(ours, context), lambda: entry(ours, context),
                                lambda: chalice_entry(theirs, context), number)
        written = sink.getvalue()
        if '"function":"handle"' not in written or "resized incoming/" not in written:
            raise RuntimeError("the handlers' log lines were not written")
        sink.truncate(0)
    return results


def _logged_row() -> Row:
    plain, ours, theirs = measure_logged()
    return Row(
        "warm dispatch", "S3 event, handler writes one log line: per event", f"{ours * 1e6:.1f} µs",
        f"plain {plain * 1e6:.1f} µs (no line)", f"chalice {theirs * 1e6:.1f} µs (app.log.info, text)",
        f"{ours / theirs:.2f}",
    )


def _powertools_rows() -> list[Row]:
    rows = []
    for failing, case in ((0, "SQS batch of 10, none failing"), (1, "SQS batch of 10, 1 failing")):
        plain, ours, theirs = measure_batch(failing)
        our_overhead, their_overhead = ours - plain, theirs - plain
        ratio = our_overhead / their_overhead if their_overhead > 0 else float("inf")
        rows.append(Row(
            "warm dispatch", f"{case}: overhead per batch, against Powertools' BatchProcessor",
            f"{our_overhead * 1e6:.1f} µs", f"plain {plain * 1e6:.1f} µs",
            f"powertools {their_overhead * 1e6:.1f} µs", f"{ratio:.2f}", "ratio <= 1.0", ratio <= 1.0,
        ))
    return rows


def run() -> list[Row]:
    rows = []
    for kind in ("s3", "sqs", "schedule", "http"):
        plain, ours, theirs = measure(kind)
        our_overhead, their_overhead = ours - plain, theirs - plain
        ratio = our_overhead / their_overhead if their_overhead > 0 else float("inf")
        rows.append(Row(
            "warm dispatch", f"{CASES[kind]}: overhead per event",
            f"{our_overhead * 1e6:.1f} µs", f"plain {plain * 1e6:.1f} µs",
            f"chalice {their_overhead * 1e6:.1f} µs", f"{ratio:.2f}", "ratio <= 1.0", ratio <= 1.0,
        ))
        if kind == "s3":
            rows.append(_logged_row())
        if kind == "sqs":
            rows.extend(_powertools_rows())
    return rows


if __name__ == "__main__":
    for row in run():
        print(" | ".join(row.cells()))
