"""`invocations()` refuses a function the app does not have and an outcome there is none of: a
misspelt filter found nothing, so an assertion that nothing failed passed whatever happened."""

from __future__ import annotations

import pytest

from flowfn import App, Request
from flowfn.testing import run_app

pytestmark = pytest.mark.slow


def test_a_misspelt_filter_is_refused() -> None:
    app = App("filters")

    @app.on_http("GET", "/health")
    def health(request: Request) -> str:
        raise RuntimeError("down")

    with run_app(app) as harness:
        harness.get("/health")
        assert [i.outcome for i in harness.invocations("health")] == ["error"]
        with pytest.raises(KeyError, match=r"the app has no function 'helth' \(functions: health\)"):
            harness.invocations("helth")
        with pytest.raises(ValueError, match=r"'failed' is not an outcome; use one of ok, error, timeout"):
            harness.invocations(outcome="failed")
