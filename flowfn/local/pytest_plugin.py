"""flowfn's pytest plugin (registered through the ``pytest11`` entry point): the ``flowfn_app``
fixture. See :mod:`flowfn.testing`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from flowfn.app import App
from flowfn.testing import Harness, run_app

__all__ = ["flowfn_app"]


@pytest.fixture
def flowfn_app() -> Iterator[Callable[..., Harness]]:
    """A factory: ``flowfn_app("path/to/app.py", **run_app_options)`` returns a running Harness.

    Everything it started stops when the test ends.
    """
    with ExitStack() as stack:

        def start(app: str | App, **options: Any) -> Harness:
            return stack.enter_context(run_app(app, **options))

        yield start
