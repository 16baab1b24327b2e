"""Options of one synthesis."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Literal

from flowfn.synth.context import SynthError

#: Python versions Lambda runs, oldest first.
LAMBDA_PYTHONS = ("3.10", "3.11", "3.12", "3.13", "3.14")
#: CloudWatch Logs' allowed retention periods, in days.
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                  2557, 2922, 3288, 3653)


def current_python() -> str:
    """The Python version flowfn runs under, as ``3.11``: the default for functions."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


@dataclass(frozen=True)
class SynthOptions:
    """How to synthesize: the functions' Python version, log retention, output format.

    ``failure_destination`` gives asynchronously invoked functions (S3, schedules) an on-failure
    destination queue, so an event that still fails after Lambda's two retries is kept.
    ``bytecode`` ships compiled ``.pyc`` files beside the sources, compiled by the functions' Python
    when it is the one synthesizing or is installed as ``python3.X`` on the PATH (Lambda's task root
    is read-only: without them every cold start compiles).
    """

    python: str = "3.11"
    log_retention_days: int = 30
    format: Literal["json", "yaml"] = "json"
    failure_destination: bool = True
    bytecode: bool = True

    def __post_init__(self) -> None:
        if self.python not in LAMBDA_PYTHONS:
            raise SynthError(f"Python {self.python} is not a Lambda runtime; choose one of "
                             f"{', '.join(LAMBDA_PYTHONS)} (--python)")
        if self.log_retention_days not in RETENTION_DAYS:
            raise SynthError(f"{self.log_retention_days} days is not a CloudWatch Logs retention period; "
                             f"choose one of {', '.join(map(str, RETENTION_DAYS))} (--log-retention)")
        if self.format not in ("json", "yaml"):
            raise SynthError(f"{self.format!r} is not a template format; use json or yaml (--format)")

    @property
    def runtime(self) -> str:
        return "python" + self.python
