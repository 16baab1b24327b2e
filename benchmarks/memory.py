"""Memory: peak resident memory of ``flowfn run-local`` with each example loaded and exercised.

Each example runs in its own ``flowfn run-local`` process (its own embedded emulator, as a user
runs it). After it is ready it is given work: an image dropped into the thumbnail example's
uploads folder (until its thumbnail appears), events posted to the stream example, and the cron
example left to its schedules. The peak (VmHWM) of each process is read before it stops.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import urllib.request
from pathlib import Path

from _common import ROOT, Row, RunLocal, free_port

EXAMPLES = ("thumbnail", "stream", "cron")


def _exercise(name: str, state: Path, port: int) -> None:
    if name == "thumbnail":
        incoming = state / "thumbnail" / "buckets" / "uploads" / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "examples" / "thumbnail" / "sample.jpg", incoming / "sample.jpg")
        out = state / "thumbnail" / "buckets" / "thumbnails"
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline and not any(p.is_file() for p in out.rglob("*")):
            time.sleep(0.05)
        if not any(p.is_file() for p in out.rglob("*")):
            raise RuntimeError("the thumbnail never appeared")
    elif name == "stream":
        body = "\n".join(json.dumps({"id": f"e-{i}", "key": f"k{i % 7}", "value": i,
                                     "ts": "2026-11-22T10:00:00Z"})
                         for i in range(500)).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/events", data=body, method="POST",
                                         headers={"content-type": "application/x-ndjson"})
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
        time.sleep(3)  # let the queue's batches run


def run() -> list[Row]:
    rows = []
    total = 0
    for name in EXAMPLES:
        with tempfile.TemporaryDirectory(prefix="flowfn-memory-") as tmp:
            state = Path(tmp) / ".flowfn"
            port = free_port()
            proc = RunLocal(ROOT / "examples" / name / "app.py", state, port)
            try:
                proc.wait_for(RunLocal.READY)
                _exercise(name, state, port)
                peak = proc.peak_rss_kib()
            finally:
                proc.stop()
        total += peak
        rows.append(Row("memory", f"run-local {name} example, peak RSS", f"{peak / 1024:.0f} MiB"))
    rows.append(Row("memory", "all three examples, sum of peaks", f"{total / 1024:.0f} MiB"))
    return rows


if __name__ == "__main__":
    for row in run():
        print(" | ".join(row.cells()))
