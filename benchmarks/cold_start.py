"""Cold start: what a deployed function does before answering its first event.

Each sample is a fresh interpreter laid out as Lambda lays out a function: a task root holding
the framework's package and the handler module, the interpreter started without ``site`` (no
editable-install hooks or .pth files run before the timer), and the function's dependencies
after the task root on ``sys.path``. It imports the entry point as Lambda's runtime does and
handles one event: flowfn's functions import ``flowfn.runtime`` (which loads the handler module
on the first event), Chalice's import the app module. Two conditions, both frameworks alike:
``bytecode`` (the task root ships compiled ``.pyc`` files) and ``source`` (it ships ``.py``
only; Lambda's task root is read-only, so such a function compiles on every cold start).
Interpreter start-up, the same for both, is reported apart as ``python -S -c pass``.
"""

from __future__ import annotations

import compileall
import json
import random
import shutil
import subprocess
import sysconfig
import tempfile
import time
from pathlib import Path

from _common import HERE, PYTHON, ROOT, Row, median, ms, spread_ms

KINDS = ("s3", "sqs", "schedule", "http")
MODES = ("bytecode", "source")

_FLOWFN = """
import time, json, sys
sys.path[:0] = [{root!r}]
sys.path.append({site!r})
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
sys.path[:0] = [{root!r}]
sys.path.append({site!r})
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

SITE = sysconfig.get_paths()["purelib"]


def task_roots(base: Path) -> dict[str, Path]:
    """One Lambda-like task root per mode: flowfn, chalice, the handler modules, the event helpers.

    The event helpers (benchmarks/events.py) import flowfn's event builders; they load after the
    timed import, so they never count.
    """
    roots = {}
    for mode in MODES:
        root = base / mode
        shutil.copytree(ROOT / "flowfn", root / "flowfn",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        shutil.copytree(Path(SITE) / "chalice", root / "chalice",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for module in (HERE / "apps").glob("*.py"):
            shutil.copy(module, root / module.name)
        shutil.copy(HERE / "events.py", root / "events.py")
        if mode == "bytecode":
            compileall.compile_dir(str(root), quiet=1, invalidation_mode=None)
        roots[mode] = root
    return roots


def _sample(framework: str, kind: str, root: Path, mode: str) -> float:
    code = (_FLOWFN if framework == "flowfn" else _CHALICE).format(root=str(root), site=SITE, kind=kind)
    env = {"FLOWFN_APP": f"flowfn_{kind}", "FLOWFN_FUNCTION": "handle", "AWS_REGION": "us-east-1",
           "FLOWFN_LOG_LEVEL": "WARNING", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    if mode == "source":
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    out = subprocess.run([PYTHON, "-S", "-c", code], capture_output=True, text=True, env=env,
                         cwd=root, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"cold start sample failed ({framework} {kind} {mode}):\n{out.stderr}")
    return float(json.loads(out.stdout.strip().splitlines()[-1])["total"])


def _bare() -> float:
    start = time.perf_counter()
    subprocess.run([PYTHON, "-S", "-c", "pass"], check=True)
    return time.perf_counter() - start


def importtime_top(kind: str = "http", count: int = 8) -> list[str]:
    """The largest cumulative imports on flowfn's cold-start path, from ``-X importtime``."""
    with tempfile.TemporaryDirectory(prefix="flowfn-bench-") as tmp:
        root = task_roots(Path(tmp))["bytecode"]
        code = _FLOWFN.format(root=str(root), site=SITE, kind=kind)
        env = {"FLOWFN_APP": f"flowfn_{kind}", "FLOWFN_FUNCTION": "handle", "AWS_REGION": "us-east-1",
               "FLOWFN_LOG_LEVEL": "WARNING", "PATH": "/usr/bin:/bin"}
        out = subprocess.run([PYTHON, "-S", "-X", "importtime", "-c", code], capture_output=True,
                             text=True, env=env, cwd=root, check=True)
    rows = []
    for line in out.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        rows.append((int(parts[1]), parts[2].strip()))
    flowfn_rows = [r for r in rows if r[1].startswith("flowfn")] + [
        r for r in rows if not r[1].startswith(("flowfn", "events", "encodings"))]
    flowfn_rows.sort(reverse=True)
    return [f"{name} {c / 1000:.1f} ms" for c, name in flowfn_rows[:count]]


def run(samples: int = 21) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="flowfn-bench-") as tmp:
        roots = task_roots(Path(tmp))
        results: dict[tuple[str, str, str], list[float]] = {}
        order = [(f, k, m) for f in ("flowfn", "chalice") for k in KINDS for m in MODES]
        bare: list[float] = []
        for _ in range(samples):
            random.shuffle(order)  # interleaved, so drift in machine load hits both alike
            for framework, kind, mode in order:
                value = _sample(framework, kind, roots[mode], mode)
                results.setdefault((framework, kind, mode), []).append(value)
            bare.append(_bare())
    rows.append(Row("cold start", "python -S -c pass (whole process)", ms(median(bare)), spread_ms(bare)))
    for mode in MODES:
        for kind in KINDS:
            ours, theirs = results[("flowfn", kind, mode)], results[("chalice", kind, mode)]
            ratio = median(ours) / median(theirs)
            rows.append(Row("cold start", f"{kind}, from {mode}: import + first event", ms(median(ours)),
                            spread_ms(ours), f"chalice {ms(median(theirs))}", f"{ratio:.2f}",
                            "ratio <= 1.0", ratio <= 1.0))
    return rows


if __name__ == "__main__":
    for row in run():
        print(" | ".join(row.cells()))
    print("largest imports on the flowfn path (http):")
    for line in importtime_top():
        print("  ", line)
