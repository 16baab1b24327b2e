"""Shared pieces of the benchmarks: statistics, fresh-interpreter timing and result rows."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
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


def run_python(code: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """Run ``code`` in a fresh interpreter (no site customisation beyond the venv's) and return stdout."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("PYTHONPROFILEIMPORTTIME", None)
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, env=full_env,
                         cwd=cwd, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark subprocess failed:\n{out.stderr}")
    return out.stdout


def load_json_line(text: str) -> dict[str, float]:
    line = [ln for ln in text.splitlines() if ln.startswith("{")][-1]
    return dict(json.loads(line))
