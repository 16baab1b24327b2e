"""The virtual schedule clock and the HTTP API, through flowfn.testing and a real socket."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime

import pytest

from flowfn.testing import Harness

pytestmark = pytest.mark.slow


def test_the_clock_fires_schedules_at_their_eventbridge_times(svc: Harness) -> None:
    assert svc.clock.now == datetime(2025, 1, 1, tzinfo=UTC)
    fired = svc.clock.advance(hours=4)
    nightly = [i for i in fired if i.function == "nightly"]
    assert [i.event["time"] for i in nightly] == ["2025-01-01T03:00:00Z"]
    assert nightly[0].result["function"] == "nightly"
    assert 0 < nightly[0].result["remaining_ms"] <= 30_000
    quarters = [i.result for i in fired if i.function == "every_quarter"]
    assert len(quarters) == 16 and quarters[0] == "2025-01-01T00:15:00+00:00"
    assert all(i.function != "manual" for i in fired)  # disabled: fires only on demand
    assert svc.clock.now == datetime(2025, 1, 1, 4, tzinfo=UTC)
    assert svc.clock.next_fires()["nightly"] == datetime(2025, 1, 2, 3, tzinfo=UTC)
    assert svc.fire("manual").result == "ran"


def test_routes_params_errors_and_methods(svc: Harness) -> None:
    assert svc.get("/items/7?q=a%20b").json() == {"id": "7", "q": "a b"}
    missing = svc.get("/items/missing")
    assert missing.status == 404
    assert missing.json() == {"message": "no such item", "details": {"item_id": "missing"}}
    created = svc.post("/items", json={"name": "x"})
    assert created.status == 201 and created.json() == {"created": {"name": "x"}}
    assert created.header("x-request") == created.invocation.request_id  # type: ignore[union-attr]
    assert svc.get("/files/a/b/c.txt").text == "a/b/c.txt"
    boom = svc.get("/boom")
    assert boom.status == 500 and "secret" not in boom.text
    assert svc.request("DELETE", "/items/1").status == 405
    assert svc.get("/nowhere").status == 404


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_the_server_serves_concurrent_requests_concurrently(svc: Harness) -> None:
    # The handler waits at a barrier of four: it only returns if four requests run at once.
    results: list[tuple[int, bytes]] = []
    threads = [threading.Thread(target=lambda: results.append(_get(f"{svc.http_url}/together")))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in results] == [200] * 4
    assert json.loads(results[0][1]) == {"ok": True}
    status, body = _get(f"{svc.http_url}/boom")  # a failing handler does not stop the server
    assert status == 500 and json.loads(body)["message"] == "Internal Server Error"
    assert _get(f"{svc.http_url}/items/9")[0] == 200


def test_reserved_concurrency_throttles_http(svc: Harness) -> None:
    module = svc.app.handler("single").fn.__globals__
    first: list[tuple[int, bytes]] = []
    thread = threading.Thread(target=lambda: first.append(_get(f"{svc.http_url}/single")))
    thread.start()
    assert module["entered"].wait(10)
    try:
        assert svc.get("/single").status == 429
    finally:
        module["release"].set()
        thread.join()
    assert first[0][0] == 200
