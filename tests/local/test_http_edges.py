"""The local HTTP server at its edges, over raw sockets: it answers as API Gateway does.

Bodies over 10 MB get 413 unread, malformed framing 400, chunked bodies are decoded, idle and
slow clients are disconnected, deeply nested JSON is a 400, and many clients at once are served.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowfn import App
from flowfn.local.http import MAX_BODY_BYTES, HttpServer
from flowfn.testing import Harness, run_app

app = App("edges")


@app.on_http("POST", "/echo")
def echo(request):
    return {"length": len(request.body), "sha256": hashlib.sha256(request.body).hexdigest()}


@app.on_http("POST", "/json")
def parse_json(request):
    return {"type": type(request.json()).__name__}


@app.on_http("GET", "/ping")
def ping(request):
    return "pong"


@app.on_http("GET", "/slow")
def slow(request):
    time.sleep(0.2)
    return "x" * 100_000


Response = tuple[int, dict[str, str], bytes]


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    with run_app(app) as running:
        yield running


def _serve(harness: Harness, **options: Any) -> Iterator[tuple[str, int]]:
    server = HttpServer(harness.local.router, **options)
    server.start()
    try:
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        yield host, int(port)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def address(harness: Harness) -> Iterator[tuple[str, int]]:
    yield from _serve(harness)


@pytest.fixture
def impatient(harness: Harness) -> Iterator[tuple[str, int]]:
    """A server whose client timeout is 0.3 s."""
    yield from _serve(harness, client_timeout_s=0.3)


class Client:
    """One raw connection: bytes in, responses parsed one after the other."""

    def __init__(self, address: tuple[str, int], timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(address, timeout=timeout)
        self.file = self.sock.makefile("rb")

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()
        self.sock.close()

    def send(self, data: bytes) -> Client:
        self.sock.sendall(data)
        return self

    def response(self) -> Response:
        status_line = self.file.readline()
        assert status_line, "the server closed the connection without an answer"
        headers: dict[str, str] = {}
        while (line := self.file.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = self.file.read(int(headers.get("content-length", "0")))
        return int(status_line.split()[1]), headers, body

    def closed_by_server(self) -> bool:
        return self.file.read() == b""


def post(path: str, headers: str, body: bytes = b"") -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: local\r\n{headers}\r\n".encode() + body


# -- body size ----------------------------------------------------------------------------------


def test_a_declared_body_over_10_mb_gets_413_before_it_is_sent(address: tuple[str, int]) -> None:
    with Client(address) as client:
        status, headers, body = client.send(post("/echo", f"Content-Length: {11 * 1024 * 1024}\r\n")).response()
        assert status == 413 and headers["connection"] == "close"
        assert json.loads(body) == {"message": "Request Entity Too Large", "details": (
            f"the body is {11 * 1024 * 1024} bytes; API Gateway takes at most {MAX_BODY_BYTES} (10 MB). "
            "Send large files straight to S3 (for example with a presigned URL) and pass their key instead.")}
        assert client.closed_by_server()


def test_a_client_expecting_100_continue_gets_the_413_instead(address: tuple[str, int]) -> None:
    with Client(address) as client:
        client.send(post("/echo", f"Content-Length: {MAX_BODY_BYTES + 1}\r\nExpect: 100-continue\r\n"))
        assert client.response()[0] == 413
        assert client.closed_by_server()


def test_a_client_expecting_100_continue_gets_it_then_sends_its_body(address: tuple[str, int]) -> None:
    with Client(address) as client:
        client.send(post("/echo", "Content-Length: 5\r\nExpect: 100-continue\r\n"))
        assert client.file.readline().startswith(b"HTTP/1.1 100")
        assert client.file.readline() == b"\r\n"
        status, _, body = client.send(b"hello").response()
        assert status == 200 and json.loads(body)["length"] == 5


def test_a_client_that_sends_a_body_over_10_mb_reads_413(address: tuple[str, int]) -> None:
    conn = http.client.HTTPConnection(*address, timeout=30)
    try:
        conn.request("POST", "/echo", body=b"x" * (MAX_BODY_BYTES + 1))
        assert conn.getresponse().status == 413
    finally:
        conn.close()


def test_a_body_under_the_limit_arrives_whole(address: tuple[str, int]) -> None:
    data = bytes(range(256)) * 4096  # 1 MB
    with Client(address) as client:
        status, _, body = client.send(post("/echo", f"Content-Length: {len(data)}\r\n", data)).response()
        assert status == 200
        assert json.loads(body) == {"length": len(data), "sha256": hashlib.sha256(data).hexdigest()}


@pytest.mark.parametrize("length", [
    "abc", "-1", "+5", "1e3", " 5 5", "0x10", "99999999999999999999999999999999", "5\r\nContent-Length: 6",
])
def test_a_malformed_content_length_gets_400(address: tuple[str, int], length: str) -> None:
    with Client(address) as client:
        status, headers, body = client.send(post("/echo", f"Content-Length: {length}\r\n", b"hello")).response()
        assert status == 400 and headers["connection"] == "close"
        assert json.loads(body)["message"] == "Bad Request"
        assert "Content-Length" in json.loads(body)["details"]
        assert client.closed_by_server()


def test_a_body_cut_short_gets_400(address: tuple[str, int]) -> None:
    with Client(address) as client:
        client.send(post("/echo", "Content-Length: 10\r\n", b"short"))
        client.sock.shutdown(socket.SHUT_WR)
        status, _, body = client.response()
        assert status == 400 and "5 of 10" in json.loads(body)["details"]


# -- chunked bodies -----------------------------------------------------------------------------


def test_a_chunked_body_is_decoded_and_the_connection_stays_usable(address: tuple[str, int]) -> None:
    chunks = b"5\r\nhello\r\n6;name=value\r\n world\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"
    with Client(address) as client:
        client.send(post("/echo", "Transfer-Encoding: chunked\r\n", chunks) + b"GET /ping HTTP/1.1\r\n\r\n")
        status, _, body = client.response()
        assert status == 200
        assert json.loads(body) == {"length": 11, "sha256": hashlib.sha256(b"hello world").hexdigest()}
        assert client.response()[::2] == (200, b"pong")  # the next request, not the chunk lines


@pytest.mark.parametrize("chunks", [
    b"zz\r\nhello\r\n0\r\n\r\n",                 # not hexadecimal
    b"-5\r\nhello\r\n0\r\n\r\n",                 # negative
    b"0x5\r\nhello\r\n0\r\n\r\n",                # a prefix
    b"11111111111111111\r\nhello\r\n0\r\n\r\n",  # absurdly large
    b"\r\nhello\r\n0\r\n\r\n",                   # missing
    b"5\r\nhelloXX0\r\n\r\n",                    # data longer than its size
    b"5\r\nhello\r\n0\r\nno colon here\r\n\r\n",  # a trailer that is no header
])
def test_a_malformed_chunked_body_gets_400(address: tuple[str, int], chunks: bytes) -> None:
    with Client(address) as client:
        status, headers, _ = client.send(post("/echo", "Transfer-Encoding: chunked\r\n", chunks)).response()
        assert status == 400 and headers["connection"] == "close"
        assert client.closed_by_server()


def test_a_chunked_body_over_10_mb_gets_413_unread(address: tuple[str, int]) -> None:
    with Client(address) as client:
        client.send(post("/echo", "Transfer-Encoding: chunked\r\n", f"{MAX_BODY_BYTES + 1:x}\r\n".encode()))
        assert client.response()[0] == 413
        assert client.closed_by_server()


@pytest.mark.parametrize(("headers", "status"), [
    ("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", 400),
    ("Transfer-Encoding: gzip, chunked\r\n", 501),
])
def test_conflicting_or_unknown_framing_is_refused(address: tuple[str, int], headers: str, status: int) -> None:
    with Client(address) as client:
        assert client.send(post("/echo", headers, b"5\r\nhello\r\n0\r\n\r\n")).response()[0] == status
        assert client.closed_by_server()


# -- slow and idle clients ----------------------------------------------------------------------


def test_an_idle_connection_is_closed(impatient: tuple[str, int]) -> None:
    with Client(impatient) as client:
        assert client.send(b"GET /ping HTTP/1.1\r\n\r\n").response()[::2] == (200, b"pong")
        assert client.closed_by_server()  # then nothing more is sent


def test_a_client_that_never_sends_is_closed(impatient: tuple[str, int]) -> None:
    with Client(impatient) as client:
        assert client.closed_by_server()


def test_a_request_that_stalls_midway_gets_408(impatient: tuple[str, int]) -> None:
    with Client(impatient) as client:
        status, headers, body = client.send(post("/echo", "Content-Length: 10\r\n", b"abc")).response()
        assert status == 408 and headers["connection"] == "close"
        assert "0.3s" in json.loads(body)["details"]
        assert client.closed_by_server()


def test_a_client_that_trickles_its_headers_gets_408(impatient: tuple[str, int]) -> None:
    with Client(impatient) as client:
        client.send(b"GET /ping HTTP/1.1\r\n")
        for n in range(100):  # one header line every 50 ms, never idle for 0.3 s, until the server answers
            if select.select([client.sock], [], [], 0)[0]:
                break
            try:
                client.send(f"X-Slow-{n}: 1\r\n".encode())
            except OSError:
                break
            time.sleep(0.05)
        assert client.response()[0] == 408


def test_a_client_that_leaves_before_its_answer_leaves_no_traceback(
        harness: Harness, address: tuple[str, int], capfd: pytest.CaptureFixture[str]) -> None:
    before = len(harness.invocations("slow"))
    for _ in range(2):
        with Client(address) as client:
            client.send(b"GET /slow HTTP/1.1\r\n\r\n")
            client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset
    deadline = time.monotonic() + 30
    while len(harness.invocations("slow")) < before + 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # the answers are written to the closed connections
    with Client(address) as client:
        assert client.send(b"GET /ping HTTP/1.1\r\n\r\n").response()[0] == 200
    assert "Traceback" not in capfd.readouterr().err


def test_stopping_closes_idle_connections_and_finishes_answers_under_way(harness: Harness) -> None:
    server = HttpServer(harness.local.router)
    server.start()
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    with Client((host, int(port))) as idle, Client((host, int(port))) as busy:
        assert idle.send(b"GET /ping HTTP/1.1\r\n\r\n").response()[0] == 200  # kept alive
        busy.send(b"GET /slow HTTP/1.1\r\n\r\n")
        deadline = time.monotonic() + 30
        while not harness.local.invoker.inflight:  # the handler has started
            assert time.monotonic() < deadline
            time.sleep(0.005)
        stopping = threading.Thread(target=server.stop, daemon=True)
        stopping.start()
        status, _, body = busy.response()
        assert (status, len(body)) == (200, 100_000)
        stopping.join(30)
        assert not stopping.is_alive()
        assert idle.closed_by_server() and busy.closed_by_server()
    assert not [t for t in threading.enumerate() if t.name == f"flowfn-http-{port}"]  # nothing left running


# -- JSON and load ------------------------------------------------------------------------------


def test_deeply_nested_json_gets_400_not_500(address: tuple[str, int]) -> None:
    nested = b"[" * 100_000 + b"]" * 100_000
    with Client(address) as client:
        status, _, body = client.send(post("/json", f"Content-Length: {len(nested)}\r\n", nested)).response()
        assert status == 400
        assert json.loads(body) == {"message": "the request body is not valid JSON",
                                    "details": "arrays or objects nested too deeply to parse"}
        shallow = b"[[1]]"
        status, _, body = client.send(post("/json", "Content-Length: 5\r\n", shallow)).response()
        assert (status, json.loads(body)) == (200, {"type": "list"})


def test_50_concurrent_clients_are_all_served(address: tuple[str, int]) -> None:
    errors: list[str] = []
    start = threading.Barrier(50, timeout=30)

    def client() -> None:
        conn = http.client.HTTPConnection(*address, timeout=30)
        try:
            start.wait()
            for _ in range(4):
                conn.request("GET", "/ping")
                response = conn.getresponse()
                if (response.status, response.read()) != (200, b"pong"):
                    errors.append(f"status {response.status}")
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            conn.close()

    threads = [threading.Thread(target=client) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


PING_APP = """
from flowfn import App
app = App("backlog")

@app.on_http("GET", "/ping")
def ping(request):
    return "pong"
"""


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.slow
def test_the_listen_backlog_holds_50_clients_arriving_at_once(tmp_path: Path) -> None:
    (tmp_path / "ping.py").write_text(PING_APP)
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from flowfn.cli import main; main()", "run-local", "ping.py", "--port", "0",
         "--json", "--no-reload", "--state-dir", "state"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    clients: list[socket.socket] = []
    try:
        run = tmp_path / "state" / "backlog" / "run.json"
        deadline = time.monotonic() + 60
        while not (run.exists() and run.read_text().strip()):
            assert proc.poll() is None and time.monotonic() < deadline, "run-local did not start"
            time.sleep(0.05)
        host, port = json.loads(run.read_text())["http_url"].removeprefix("http://").rsplit(":", 1)
        # While the server accepts nothing, only the kernel's listen queue holds new connections:
        # a connection beyond it stays half-open (its SYN dropped) however long one waits.
        proc.send_signal(signal.SIGSTOP)
        try:
            for _ in range(50):
                sock = socket.socket()
                sock.setblocking(False)
                clients.append(sock)
                sock.connect_ex((host, int(port)))
            time.sleep(0.5)  # loopback handshakes take microseconds; a dropped SYN is retried after 1 s
            _, connected, _ = select.select([], clients, [], 0)
        finally:
            proc.send_signal(signal.SIGCONT)
        assert len(connected) == 50
        for sock in clients:
            sock.setblocking(True)
            sock.settimeout(30)
            sock.sendall(b"GET /ping HTTP/1.1\r\nConnection: close\r\n\r\n")
        answers = [_read_all(sock) for sock in clients]
        assert all(a.startswith(b"HTTP/1.1 200") and a.endswith(b"pong") for a in answers)
    finally:
        for sock in clients:
            sock.close()
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def test_errors_http_server_finds_are_json(address: tuple[str, int]) -> None:
    many = "".join(f"X-{n}: 1\r\n" for n in range(101))
    with Client(address) as client:
        status, headers, body = client.send(f"GET /ping HTTP/1.1\r\n{many}\r\n".encode()).response()
        assert status == 431 and headers["content-type"] == "application/json"
        assert json.loads(body)["message"] == "Request Header Fields Too Large"
