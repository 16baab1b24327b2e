"""An HTTP handler that returns Flask's (body, status) gets a 500 and an error saying to return
Response(body, status=...), instead of a 200 whose body is the tuple as a JSON list."""

from __future__ import annotations

import pytest

from flowfn import App, Request
from flowfn.testing import run_app

pytestmark = pytest.mark.slow


def test_a_flask_style_tuple_is_refused_with_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    app = App("tuples")

    @app.on_http("POST", "/items")
    def create(request: Request) -> object:
        return {"id": 7}, 201

    @app.on_http("GET", "/pair")
    def pair(request: Request) -> object:
        return "a", "b"  # not a status: a JSON list, as before

    with run_app(app) as harness:
        refused = harness.post("/items", json={})
        assert refused.status == 500
        assert harness.failures()[0].function == "create"
        assert harness.get("/pair").json() == ["a", "b"]
    out = capsys.readouterr().out
    assert "the handler returned a tuple (body, 201, ...) as Flask takes one" in out
    assert "Fix: return Response(body, status=201, headers=...)" in out
