from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flowfn.testing import Harness, run_app

APPS = Path(__file__).parent / "apps"


@pytest.fixture(scope="module")
def services() -> Iterator[Harness]:
    with run_app(str(APPS / "services.py"), http=True) as harness:
        yield harness


@pytest.fixture
def svc(services: Harness) -> Harness:
    services.clear()
    return services
