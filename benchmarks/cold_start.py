"""Cold start: what a deployed function does before answering its first event.

Each sample is a fresh interpreter that imports the function's entry point (as Lambda's runtime
does) and handles one event. flowfn's functions import ``flowfn.runtime`` and load the handler
module on the first event; Chalice's import the app module. Timed inside the interpreter, so
interpreter start-up (the same for both) is reported apart, as ``python -c pass``.
"""

from __future__ import annotations

import json
import random
import subprocess
import time

from _common import HERE, PYTHON, ROOT, Row, median, ms, run_python, spread_ms

KINDS = ("s3", "sqs", "schedule", "http")

_FLOWFN = """
import time, json, sys
sys.path[:0] = [{apps!r}, {bench!r}]
t0 = time.perf_counter()
import flowfn.runtime
t1 = time.perf_counter()
import events
event = events.FLOWFN_EVENTS[{kind!r}](); context = events.Context()
t2 = time.perf_counter()
flowfn.runtime.handler(event, context)
t3 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "first": t3 - t2, "total": (t1 - t0) + (t3 - t2)}}))
"""

_CHALICE = """
import time, json, sys, importlib
sys.path[:0] = [{apps!r}, {bench!r}]
t0 = time.perf_counter()
module = importlib.import_module("chalice_{kind}")
t1 = time.perf_counter()
import events
event = events.CHALICE_EVENTS[{kind!r}](); context = events.Context()
entry = module.app if {kind!r} == "http" else module.handle
t2 = time.perf_counter()
entry(event, context)
t3 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "first": t3 - t2, "total": (t1 - t0) + (t3 - t2)}}))
"""


def _sample(framework: str, kind: str) -> float:
    code = (_FLOWFN if framework == "flowfn" else _CHALICE).format(
        apps=str(HERE / "apps"), bench=str(HERE), kind=kind
    )
    env = {"FLOWFN_APP": f"flowfn_{kind}", "FLOWFN_FUNCTION": "handle", "AWS_REGION": "us-east-1",
           "POWERTOOLS_SERVICE_NAME": "bench", "FLOWFN_LOG_LEVEL": "WARNING"}
    return float(json.loads(run_python(code, env=env).strip().splitlines()[-1])["total"])


def _bare() -> float:
    start = time.perf_counter()
    subprocess.run([PYTHON, "-S", "-c", "pass"], check=True)
    return time.perf_counter() - start


def importtime_top(kind: str = "http", count: int = 8) -> list[str]:
    """The largest cumulative imports on flowfn's cold-start path, from ``-X importtime``."""
    code = _FLOWFN.format(apps=str(HERE / "apps"), bench=str(HERE), kind=kind)
    env = {"FLOWFN_APP": f"flowfn_{kind}", "FLOWFN_FUNCTION": "handle", "AWS_REGION": "us-east-1",
           "FLOWFN_LOG_LEVEL": "WARNING", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([PYTHON, "-X", "importtime", "-c", code], capture_output=True, text=True,
                         env=env, cwd=ROOT, check=True)
    rows = []
    seen_runtime = False
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line.split("|")
        try:
            cumulative = int(parts[1])
        except ValueError:
            continue
        name = parts[2].rstrip()
        seen_runtime = seen_runtime or "flowfn" in name
        if seen_runtime:
            rows.append((cumulative, name))
    rows.sort(reverse=True)
    return [f"{name.strip()} {c / 1000:.1f} ms" for c, name in rows[:count]]


def run(samples: int = 25) -> list[Row]:
    results: dict[tuple[str, str], list[float]] = {}
    order = [(f, k) for f in ("flowfn", "chalice") for k in KINDS]
    bare: list[float] = []
    for _ in range(samples):
        random.shuffle(order)  # interleaved, so drift in machine load hits both alike
        for framework, kind in order:
            results.setdefault((framework, kind), []).append(_sample(framework, kind))
        bare.append(_bare())
    rows = [Row("cold start", "python -S -c pass (process)", ms(median(bare)), spread_ms(bare))]
    for kind in KINDS:
        ours, theirs = results[("flowfn", kind)], results[("chalice", kind)]
        ratio = median(ours) / median(theirs)
        rows.append(Row("cold start", f"{kind}: import + first event", ms(median(ours)), spread_ms(ours),
                        f"chalice {ms(median(theirs))}", f"{ratio:.2f}", "ratio <= 1.0", ratio <= 1.0))
    return rows


if __name__ == "__main__":
    for row in run():
        print(" | ".join(row.cells()))
    print("largest imports on the flowfn path (http):")
    for line in importtime_top():
        print("  ", line)
