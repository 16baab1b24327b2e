"""Shared pieces of the benchmarks: statistics, fresh-interpreter timing and result rows."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable


@dataclass
class Row:
    """One line of the results table."""

    benchmark: str
    case: str
    value: str
    spread: str = ""
    reference: str = ""
    ratio: str = ""
    target: str = ""
    met: bool | None = None
    notes: list[str] = field(default_factory=list)

    def cells(self) -> list[str]:
        verdict = {True: "met", False: "**missed**", None: ""}[self.met]
        return [self.benchmark, self.case, self.value, self.spread, self.reference, self.ratio,
                self.target, verdict]


def median(values: list[float]) -> float:
    return statistics.median(values)


def iqr(values: list[float]) -> tuple[float, float]:
    """The 25th and 75th percentiles."""
    if len(values) < 4:
        return min(values), max(values)
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def ms(value: float) -> str:
    return f"{value * 1000:.1f} ms"


def spread_ms(values: list[float]) -> str:
    low, high = iqr(values)
    return f"IQR {low * 1000:.1f}-{high * 1000:.1f} ms"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RunLocal:
    """``flowfn run-local APP`` in a subprocess, with its stdout collected in the background."""

    READY = "Ctrl-C stops"

    def __init__(self, app: Path, state_dir: Path, port: int = 0, *extra: str) -> None:
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [str(Path(PYTHON).parent / "flowfn"), "run-local", str(app), "--port", str(port),
             "--state-dir", str(state_dir), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
            cwd=state_dir.parent, env={**os.environ, "COLUMNS": "200"},
        )
        self.lines: list[tuple[float, str]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append((time.perf_counter(), line.rstrip("\n")))

    def wait_for(self, text: str, timeout: float = 30.0) -> float:
        """Seconds from start until a line containing ``text`` was printed."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            for at, line in list(self.lines):
                if text in line:
                    return at - self.started
            if self.proc.poll() is not None:
                break
            time.sleep(0.005)
        raise RuntimeError(f"run-local never printed {text!r}:\n" + "\n".join(line for _, line in self.lines))

    def peak_rss_kib(self) -> int:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))

    def stop(self) -> None:
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()
