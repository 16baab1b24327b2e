"""What HTTP handlers return or raise as a newcomer writes it: Flask's (body, status) gets a 500 and
an error saying to return Response(body, status=...), instead of a 200 whose body is the tuple as a
JSON list; HTTPError(404) without a message answers 404 with the status's phrase, not a 500."""

from __future__ import annotations

import pytest

from flowfn import App, HTTPError, Request
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


def test_an_http_error_without_a_message_answers_its_status() -> None:
    app = App("errors")

    @app.on_http("GET", "/items/{item_id}")
    def item(request: Request) -> object:
        raise HTTPError(404)

    with run_app(app) as harness:
        missing = harness.get("/items/7")
        assert missing.status == 404
        assert missing.json() == {"message": "Not Found", "details": None}
        assert harness.failures() == []
