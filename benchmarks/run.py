"""Run every benchmark and write the results table into benchmarks/README.md.

    make bench                      # all of them, then the table is rewritten
    python benchmarks/run.py cold   # only those whose name contains "cold"

Each benchmark also runs alone: ``python benchmarks/cold_start.py``.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cold_start
import dev_loop
import http_load
import local_e2e
import memory
import sqs_depth
import sqs_drain
import stream_e2e
import stream_pollers
import synth_scale
import warm_dispatch
from _common import HERE, Row

BENCHMARKS: list[tuple[str, Callable[[], list[Row]]]] = [
    ("cold start", cold_start.run),
    ("warm dispatch", warm_dispatch.run),
    ("local end to end", local_e2e.run),
    ("stream end to end", stream_e2e.run),
    ("sqs depth", sqs_depth.run),
    ("sqs drain", sqs_drain.run),
    ("stream pollers", stream_pollers.run),
    ("synth at scale", synth_scale.run),
    ("memory", memory.run),
    ("developer loop", dev_loop.run),
    ("http load", http_load.run),
]
START, END = "<!-- results:start -->", "<!-- results:end -->"
HEADER = ["benchmark", "case", "flowfn", "spread", "reference", "ratio", "target", ""]


def _versions() -> str:
    names = ["boto3", "moto", "aws-lambda-powertools", "pydantic", "chalice"]
    found = []
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{os.cpu_count()} cores, {cpu}; load average {load:.1f} at start"


def table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def write_readme(rows: list[Row], seconds: float, machine: str, imports: list[str]) -> None:
    readme = HERE / "README.md"
    text = readme.read_text()
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = "\n".join([
        START,
        f"Run {stamp} in {seconds:.0f} s. Machine: {machine}. Python {platform.python_version()}; "
        f"{_versions()}.",
        "",
        table(rows),
        "",
        "Largest imports on flowfn's cold-start path (HTTP function, from bytecode, `-X importtime`, "
        "cumulative): " + "; ".join(imports) + ".",
        END,
    ])
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    readme.write_text(head + block + tail)


def main(selected: list[str]) -> None:
    machine = _machine()
    rows: list[Row] = []
    started = time.perf_counter()
    for name, bench in BENCHMARKS:
        if selected and not any(s in name for s in selected):
            continue
        print(f"== {name}", flush=True)
        t0 = time.perf_counter()
        got = bench()
        for row in got:
            print("   " + " | ".join(cell for cell in row.cells() if cell), flush=True)
        print(f"   ({time.perf_counter() - t0:.0f} s)", flush=True)
        rows.extend(got)
    imports = cold_start.importtime_top()
    print("largest imports on flowfn's cold-start path (HTTP function, -X importtime):")
    for line in imports:
        print("   " + line)
    seconds = time.perf_counter() - started
    if not selected:
        write_readme(rows, seconds, machine, imports)
        print(f"wrote {HERE / 'README.md'} ({seconds:.0f} s)")


if __name__ == "__main__":
    main(sys.argv[1:])
