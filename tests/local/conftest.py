from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from flowfn.testing import Harness, run_app

APPS = Path(__file__).parent / "apps"
#: The flowfn command line, as a subprocess runs it.
CLI = [sys.executable, "-c", "from flowfn.cli import main; main()"]


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """What ``condition`` returns once it is truthy; AssertionError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def services() -> Iterator[Harness]:
    with run_app(str(APPS / "services.py"), http=True) as harness:
        yield harness


@pytest.fixture
def svc(services: Harness) -> Harness:
    services.clear()
    return services
