"""The per-invocation view of os.environ."""

from __future__ import annotations

import os
import threading

import pytest

from flowfn.local import environ


@pytest.fixture
def real_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWFN_BUCKET_LEAK", "from-the-test")
    monkeypatch.setenv("AWS_PROFILE", "prod")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "https://s3.amazonaws.com")
    monkeypatch.setenv("KEEP_ME", "yes")


@pytest.mark.usefixtures("real_env")
def test_a_layer_shows_its_values_and_hides_the_rest() -> None:
    original = os.environ
    with environ.installed():
        assert os.environ is not original and isinstance(os.environ, type(original))
        assert os.environ["FLOWFN_BUCKET_LEAK"] == "from-the-test"  # outside an invocation: untouched
        with environ.layer({"FLOWFN_FUNCTION": "f", "AWS_ENDPOINT_URL": "http://127.0.0.1:1"}):
            assert os.environ["FLOWFN_FUNCTION"] == "f"
            assert os.getenv("FLOWFN_BUCKET_LEAK") is None
            assert "AWS_PROFILE" not in os.environ and "AWS_ENDPOINT_URL_S3" not in os.environ
            assert os.environ["KEEP_ME"] == "yes"
            keys = set(os.environ)
            assert "FLOWFN_FUNCTION" in keys and "FLOWFN_BUCKET_LEAK" not in keys
            assert len(os.environ) == len(keys) == len(os.environ.copy())
            os.environ["SET_INSIDE"] = "1"
            del os.environ["KEEP_ME"]
            assert os.environ.get("SET_INSIDE") == "1" and "KEEP_ME" not in os.environ
        assert "SET_INSIDE" not in os.environ and os.environ["KEEP_ME"] == "yes"  # stayed inside
        os.environ["SET_OUTSIDE"] = "2"
    assert os.environ is original
    assert os.environ.pop("SET_OUTSIDE") == "2"  # outside writes reach the real environment


def test_layers_are_per_thread_of_control() -> None:
    seen: dict[str, str | None] = {}
    barrier = threading.Barrier(2, timeout=5)

    def run(name: str) -> None:
        with environ.layer({"WHO": name}):
            barrier.wait()
            seen[name] = os.environ.get("WHO")

    with environ.installed():
        threads = [threading.Thread(target=run, args=(n,)) for n in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert os.environ.get("WHO") is None
    assert seen == {"a": "a", "b": "b"}


def test_the_handlers_session_made_before_any_run_reads_each_functions_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # botocore reads settings from the os.environ it found when its session was made: one made
    # outside a run must still see the running function's region and endpoint.
    from flowfn import App, Queue
    from flowfn.local import emulator
    from flowfn.testing import run_app

    monkeypatch.delitem(emulator._sessions, "handlers", raising=False)
    emulator.handler_session()
    app = App("early-session")
    jobs = Queue("jobs")

    @app.on_schedule("rate(1 day)", enabled=False, uses=[jobs.send()])
    def send() -> None:
        import boto3

        boto3.client("sqs").send_message(QueueUrl=jobs.url, MessageBody="hello")

    with run_app(app) as harness:
        assert harness.fire("send").ok
        assert harness.messages("jobs") == ["hello"]
