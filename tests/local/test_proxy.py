"""Emulator traffic stays on the machine: with HTTP(S)_PROXY set, loopback endpoints bypass the proxy.

A fake proxy on 127.0.0.1 records every connection it gets. flowfn's own clients, handlers' plain
``boto3.client(...)`` calls and a ``flowfn invoke`` subprocess must reach the embedded emulator
without it, while a handler's client of a remote endpoint still goes through it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from flowfn import App, Bucket, Queue
from flowfn.local import environ
from flowfn.local.emulator import is_loopback
from flowfn.testing import run_app

from .conftest import APPS

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


class FakeProxy:
    """A socket server on 127.0.0.1 that records the first line of each connection and answers 502."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.sock.settimeout(0.05)
        self.seen: list[str] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    first = conn.recv(4096).split(b"\r\n", 1)[0]
                except OSError:
                    first = b"(no request)"
                # Recorded before the answer: the client may assert on it as soon as it has the 502.
                self.seen.append(first.decode("latin-1"))
                with contextlib.suppress(OSError):
                    conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProxy]:
    fake = FakeProxy()
    for name in PROXY_VARIABLES:
        monkeypatch.setenv(name, fake.url)
        monkeypatch.setenv(name.lower(), fake.url)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("NO_PROXY", "corp.example")  # the user's own list survives
    try:
        yield fake
    finally:
        fake.close()


app = App("proxied")
notes = Bucket("proxied-notes")
work = Queue("proxied-work")
REMOTE = "http://emulator.example:4566"


@app.on_http("POST", "/notes/{name}", uses=[notes.write(), work.send()])
def write_note(request):
    name = request.path_params["name"]
    boto3.client("s3").put_object(Bucket=notes.name, Key=name, Body=request.body)
    boto3.client("sqs").send_message(QueueUrl=work.url, MessageBody=name)
    return {"no_proxy": os.environ["no_proxy"], "NO_PROXY": os.environ["NO_PROXY"]}


@app.on_sqs(work, uses=[notes.read(), notes.write()])
def copy_note(record):
    s3 = boto3.client("s3")
    body = s3.get_object(Bucket=notes.name, Key=record.body)["Body"].read()
    s3.put_object(Bucket=notes.name, Key=f"copies/{record.body}", Body=body)


@app.on_http("GET", "/remote")
def call_remote(request):
    client = boto3.client("s3", endpoint_url=REMOTE, config=Config(retries={"total_max_attempts": 1}))
    try:
        client.list_buckets()
    except Exception as exc:  # the fake proxy answers 502
        return {"error": type(exc).__name__}
    return {"error": None}


def _request(url: str, method: str, path: str, body: bytes) -> tuple[int, bytes]:
    """A request straight to the local server (http.client ignores proxy variables)."""
    parts = url.split("//", 1)[1]
    host, port = parts.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=15)
    try:
        conn.request(method, path, body=body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_flowfn_testing_and_handlers_reach_the_emulator_without_the_proxy(proxy: FakeProxy) -> None:
    # /remote lists buckets, which no grant allows: this test is about proxies, not grants.
    with run_app(app, http=True, permissions="off") as harness:
        assert harness.http_url is not None
        status, body = _request(harness.http_url, "POST", "/notes/a.txt", b"hello")
        assert status == 200, body
        seen_by_handler = json.loads(body)
        harness.drain()
        assert harness.download(notes, "copies/a.txt") == b"hello"
        assert harness.failures() == []

        # The handler sees the loopback hosts on top of the user's own list, in both spellings.
        for key in ("no_proxy", "NO_PROXY"):
            names = seen_by_handler[key].split(",")
            assert names[0] == "corp.example" and {"127.0.0.1", "localhost"} <= set(names)
        assert proxy.seen == []

        # A remote endpoint still goes through the user's proxy.
        assert harness.get("/remote").json() == {"error": "ClientError"}
        assert len(proxy.seen) == 1 and "emulator.example:4566" in proxy.seen[0]
    assert os.environ["NO_PROXY"] == "corp.example" and "no_proxy" not in os.environ


@pytest.mark.slow
def test_flowfn_invoke_reaches_its_emulator_without_the_proxy(proxy: FakeProxy, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("AWS_ENDPOINT_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", "from flowfn.cli import main; main()", "invoke", str(APPS / "cli_app.py"),
         "nightly", "--state-dir", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stderr.splitlines() if "nightly" in line)
    assert line.split()[-1] == "ok", done.stderr  # its put_object reached the emulator
    assert proxy.seen == []


NOTES_APP = """
import boto3
from flowfn import App, Bucket

app = App("proxynotes")
notes = Bucket("proxy-notes")

@app.on_http("PUT", "/notes/{name}", uses=[notes.write()])
def put_note(request):
    boto3.client("s3").put_object(Bucket=notes.name, Key=request.path_params["name"], Body=request.body)
    return {"stored": request.path_params["name"]}
"""


@pytest.mark.slow
def test_run_local_serves_and_mirrors_without_the_proxy(proxy: FakeProxy, tmp_path: Path) -> None:
    (tmp_path / "notes.py").write_text(NOTES_APP)
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from flowfn.cli import main; main()", "run-local", "notes.py", "--port", "0",
         "--json", "--no-reload", "--state-dir", "state"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        run = tmp_path / "state" / "proxynotes" / "run.json"
        mirrored = tmp_path / "state" / "proxynotes" / "buckets" / "proxy-notes" / "a.txt"
        deadline = time.monotonic() + 60
        while not (run.exists() and run.read_text().strip()):
            assert proc.poll() is None and time.monotonic() < deadline, "run-local did not start"
            time.sleep(0.05)
        status, body = _request(json.loads(run.read_text())["http_url"], "PUT", "/notes/a.txt", b"hello")
        assert status == 200, body
        while not (mirrored.exists() and mirrored.read_bytes() == b"hello"):  # the mirror's own client
            assert proc.poll() is None and time.monotonic() < deadline, "the object was not mirrored"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert proc.returncode == 0, err
    assert proxy.seen == []


@pytest.mark.parametrize(("real", "expected_start"), [
    ({"NO_PROXY": "*"}, "*"),
    ({"no_proxy": "lower.example", "NO_PROXY": "upper.example"}, "lower.example,localhost"),
    ({"no_proxy": "", "NO_PROXY": "upper.example"}, "localhost"),
    ({}, "localhost,127.0.0.1,::1,[::1],127.0.0.5"),
])
def test_no_proxy_inside_a_layer_adds_the_loopback_hosts_to_the_users_list(
        monkeypatch: pytest.MonkeyPatch, real: dict[str, str], expected_start: str) -> None:
    for key in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(key, raising=False)
    for key, value in real.items():
        monkeypatch.setenv(key, value)
    with environ.installed(), environ.layer({"AWS_ENDPOINT_URL": "http://127.0.0.5:4566"}):
        assert os.environ["no_proxy"] == os.environ["NO_PROXY"]
        assert os.environ["no_proxy"].startswith(expected_start)
        assert sum(1 for key in os.environ if key in ("NO_PROXY", "no_proxy")) == 2


@pytest.mark.parametrize(("host", "local"), [
    ("127.0.0.1", True), ("127.1.2.3", True), ("localhost", True), ("api.localhost", True), ("::1", True),
    ("[::1]", True), ("0.0.0.0", True), ("LOCALHOST", True),
    ("10.0.0.1", False), ("emulator.example", False), ("localhost.example.com", False), ("", False),
])
def test_loopback_hosts(host: str, local: bool) -> None:
    assert is_loopback(host) is local
