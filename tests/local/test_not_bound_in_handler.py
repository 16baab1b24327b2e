"""A handler that reads the name of a resource its function is neither triggered by nor granted
gets an error naming the handler and the grant to add, not the advice meant for code outside any
function (to run it under flowfn.testing, where it already runs)."""

from __future__ import annotations

import pytest

from flowfn import App, Bucket, Queue, Request
from flowfn.testing import run_app

pytestmark = pytest.mark.slow


def test_an_ungranted_resource_names_the_handler_and_the_grants(capsys: pytest.CaptureFixture[str]) -> None:
    app = App("ungranted")
    reports = Bucket("reports")
    jobs = Queue("jobs")

    @app.on_http("GET", "/latest", uses=[jobs.send()])
    def latest(request: Request) -> str:
        return reports.name

    with run_app(app) as harness:
        assert harness.get("/latest").status == 500
    out = capsys.readouterr().out
    assert "Bucket('reports') has no bucket name in function 'latest'" in out
    assert ("Fix: grant it to handler 'latest', as uses=[...] with one of its grants: .read(), .write(), "
            ".delete(), .list().") in out
