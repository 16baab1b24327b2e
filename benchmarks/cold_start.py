"""Cold start: what a deployed function does before answering its first event.

Each sample is a fresh interpreter laid out as Lambda lays out a function: a task root holding
the framework's package and the handler module, the interpreter started without ``site`` (no
editable-install hooks or .pth files run before the timer), and the function's dependencies
after the task root on ``sys.path``. It imports the entry point as Lambda's runtime does and
handles one event: flowfn's functions import ``flowfn.runtime`` and look up its ``handler`` (the
lookup, which Lambda makes in its init phase, loads the handler module), Chalice's import the app
module. Two conditions, both frameworks alike:
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

import events
from _common import HERE, PYTHON, ROOT, Row, median, ms, spread_ms

KINDS = ("s3", "sqs", "schedule", "http")
MODES = ("bytecode", "source")

#: The Lambda context object, as both frameworks receive it (defined in the sample itself, so that
#: nothing of either framework is imported outside the timed import and first event).
_CONTEXT = """
class Context:
    function_name = "bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    memory_limit_in_mb = 256
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "2026/11/22/[$LATEST]abc"

    def get_remaining_time_in_millis(self):
        return 30_000
"""

_FLOWFN = _CONTEXT + """
import time, sys
sys.path[:0] = [{root!r}]
sys.path.append({site!r})
t0 = time.perf_counter()
import flowfn.runtime
t1 = time.perf_counter()
import json
event = json.load(open({event!r})); context = Context()
t2 = time.perf_counter()
flowfn.runtime.handler(event, context)
t3 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "first": t3 - t2, "total": (t1 - t0) + (t3 - t2)}}))
"""

_CHALICE = _CONTEXT + """
import time, sys, importlib
sys.path[:0] = [{root!r}]
sys.path.append({site!r})
t0 = time.perf_counter()
module = importlib.import_module("chalice_{kind}")
t1 = time.perf_counter()
import json
event = json.load(open({event!r})); context = Context()
entry = module.app if {kind!r} == "http" else module.handle
t2 = time.perf_counter()
entry(event, context)
t3 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "first": t3 - t2, "total": (t1 - t0) + (t3 - t2)}}))
"""

SITE = sysconfig.get_paths()["purelib"]


def task_roots(base: Path) -> dict[str, Path]:
    """One Lambda-like task root per mode: flowfn, chalice, the handler modules and each kind's event.

    The events are built here (benchmarks/events.py imports flowfn's event builders) and written as
    JSON, so a sample loads nothing of either framework beyond what its function does itself.
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
        for kind in KINDS:
            for framework, built in (("flowfn", events.FLOWFN_EVENTS), ("chalice", events.CHALICE_EVENTS)):
                (root / f"event-{framework}-{kind}.json").write_text(json.dumps(built[kind]()))
        if mode == "bytecode":
            compileall.compile_dir(str(root), quiet=1, invalidation_mode=None)
        roots[mode] = root
    return roots


def _sample(framework: str, kind: str, root: Path, mode: str) -> float:
    code = (_FLOWFN if framework == "flowfn" else _CHALICE).format(
        root=str(root), site=SITE, kind=kind, event=str(root / f"event-{framework}-{kind}.json"))
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
        event = str(root / f"event-flowfn-{kind}.json")
        code = _FLOWFN.format(root=str(root), site=SITE, kind=kind, event=event)
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
