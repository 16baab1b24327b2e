"""The app's HTTP API on this machine: requests become payload 2.0 events, results responses.

:class:`Router` picks the route as API Gateway does (the most specific match wins) and turns
the handler's payload 2.0 response into status, headers and body; flowfn.testing calls it
directly. :class:`HttpServer` serves it on 127.0.0.1 with a thread per connection, so requests
are handled concurrently and a failing handler answers 500 without stopping the server. At its
edges it answers as API Gateway does: bodies over 10 MB get 413 unread, malformed framing 400,
chunked bodies are decoded, and idle or slow clients are disconnected.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
import secrets
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from flowfn.app import App
from flowfn.function import Handler
from flowfn.local.invoker import Invocation, Invoker
from flowfn.triggers.http import HttpTrigger, http_event, match_path, route_priority

__all__ = ["CLIENT_TIMEOUT_S", "MAX_BODY_BYTES", "HttpResult", "HttpServer", "Router"]

#: API Gateway's payload limit: a larger request body is refused with 413, unread.
MAX_BODY_BYTES = 10 * 1024 * 1024
#: How long a connection may stay idle, and how long a request may take to arrive in full.
CLIENT_TIMEOUT_S = 20.0
_MAX_LINE = 65536  # the longest chunk-size or trailer line, as http.server limits header lines
_MAX_TRAILERS = 100
_LINGER_S = 1.0  # after a refusal, how long (and how much) of what the client still sends is dropped
_LINGER_BYTES = 2 * MAX_BODY_BYTES


@dataclass
class HttpResult:
    """A response as the client sees it."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    invocation: Invocation | None = None
    cookies: list[str] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), or None."""
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


def _plain(status: int, message: str, extra: list[tuple[str, str]] | None = None) -> HttpResult:
    body = json.dumps({"message": message}).encode()
    return HttpResult(status, [("content-type", "application/json"), *(extra or [])], body)


class Router:
    """Matches requests to ``@on_http`` handlers and runs them through the invoker."""

    def __init__(self, app: App, invoker: Invoker) -> None:
        self.invoker = invoker
        routes = [h for h in app.handlers if isinstance(h.trigger, HttpTrigger)]
        self.routes = sorted(routes, key=lambda h: route_priority(_trigger(h)))

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | list[str]:
        """The handler and path parameters for a request, or the methods the path allows."""
        allowed: list[str] = []
        for handler in self.routes:
            trigger = _trigger(handler)
            params = match_path(trigger, path)
            if params is None:
                continue
            if trigger.method in (method, "ANY"):
                return handler, params
            allowed.append(trigger.method)
        return allowed

    def handle(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes,
               source_ip: str = "127.0.0.1") -> HttpResult:
        """Serve one request: ``target`` is the path with its query string."""
        parts = urlsplit(target)
        path = unquote(parts.path) or "/"
        found = self.match(method.upper(), path)
        if isinstance(found, list):
            if found:
                return _plain(405, "Method Not Allowed", [("allow", ", ".join(sorted(set(found))))])
            return _plain(404, "Not Found")
        handler, params = found
        trigger = _trigger(handler)
        event = http_event(
            method=method, raw_path=parts.path or "/", raw_query=parts.query, headers=headers,
            body=body, route_key=trigger.route_key, path_params=params,
            request_id=secrets.token_urlsafe(12), time=datetime.now(UTC), source_ip=source_ip,
            account=self.invoker.bindings.target.account,
        )
        record = self.invoker.invoke(handler, event, source=f"{method.upper()} {parts.path}", wait=False)
        if record.outcome == "throttled":
            return _plain(429, "Too Many Requests")
        if record.outcome in ("error", "timeout") or not isinstance(record.result, dict):
            result = _plain(500, "Internal Server Error")  # as API Gateway answers a failed function
            result.invocation = record
            return result
        return _response(record.result, record)


def _trigger(handler: Handler) -> HttpTrigger:
    trigger = handler.trigger
    assert isinstance(trigger, HttpTrigger)
    return trigger


def _response(payload: dict[str, Any], record: Invocation) -> HttpResult:
    status = int(payload.get("statusCode", 200))
    headers = [(str(k), str(v)) for k, v in (payload.get("headers") or {}).items()]
    cookies = [str(c) for c in payload.get("cookies") or []]
    raw = payload.get("body")
    if raw is None:
        body = b""
    elif payload.get("isBase64Encoded"):
        body = base64.b64decode(raw)
    else:
        body = str(raw).encode("utf-8")
    return HttpResult(status, headers + [("set-cookie", c) for c in cookies], body, record, cookies)


class _Refused(Exception):
    """The request is answered ``status`` before its body is read, and its connection closed."""

    def __init__(self, status: int, details: str) -> None:
        super().__init__(status, details)
        self.status = status
        self.details = details


def _error(status: int, details: str | None) -> HttpResult:
    """An answer of the server itself: API Gateway's message for the status, and what was wrong."""
    payload = {"message": HTTPStatus(status).phrase, **({"details": details} if details else {})}
    return HttpResult(status, [("content-type", "application/json")], json.dumps(payload).encode())


def _body_length(headers: Message) -> int | None:
    """The declared length of the request body, or None when it comes in chunks.

    Raises _Refused: 400 for a malformed, negative or absurd Content-Length, or one sent with
    Transfer-Encoding; 413 for a body over API Gateway's limit; 501 for another transfer coding.
    """
    lengths = [v.strip() for v in headers.get_all("content-length") or ()]
    codings = [c.strip().lower() for v in headers.get_all("transfer-encoding") or () for c in v.split(",")]
    if codings:
        if codings != ["chunked"]:
            raise _Refused(501, f"Transfer-Encoding {', '.join(codings)!r} is not supported; send the body "
                                "with a Content-Length or Transfer-Encoding: chunked")
        if lengths:
            raise _Refused(400, "the request has both Content-Length and Transfer-Encoding; send one")
        return None
    if not lengths:
        return 0
    if len(set(lengths)) > 1 or not re.fullmatch(r"[0-9]{1,18}", lengths[0]):
        raise _Refused(400, f"Content-Length {', '.join(lengths)!r} is not a number of bytes")
    length = int(lengths[0])
    if length > MAX_BODY_BYTES:
        raise _Refused(413, f"the body is {length} bytes; API Gateway takes at most {MAX_BODY_BYTES}")
    return length


def _read_chunked(rfile: io.BufferedIOBase) -> bytes:
    """A ``Transfer-Encoding: chunked`` body, decoded; trailers are read and dropped."""
    parts: list[bytes] = []
    total = 0
    while True:
        line = _line(rfile, "chunk size")
        size_text = line.split(b";", 1)[0].strip()
        if not re.fullmatch(rb"[0-9A-Fa-f]{1,16}", size_text):
            raise _Refused(400, f"malformed chunk size {line[:40].decode('latin-1')!r}")
        size = int(size_text, 16)
        if size == 0:
            break
        total += size
        if total > MAX_BODY_BYTES:
            raise _Refused(413, f"the chunked body exceeds API Gateway's limit of {MAX_BODY_BYTES} bytes")
        data = rfile.read(size)
        if len(data) < size:
            raise _Refused(400, "the connection ended inside a chunk")
        if rfile.read(2) != b"\r\n":
            raise _Refused(400, f"chunk data is not followed by CRLF after {size} bytes")
        parts.append(data)
    for _ in range(_MAX_TRAILERS):
        line = _line(rfile, "trailer")
        if not line.strip():
            return b"".join(parts)
        if b":" not in line:
            raise _Refused(400, f"malformed trailer {line[:40].decode('latin-1')!r}")
    raise _Refused(400, f"more than {_MAX_TRAILERS} trailers")


def _line(rfile: io.BufferedIOBase, what: str) -> bytes:
    line = rfile.readline(_MAX_LINE + 1)
    if len(line) > _MAX_LINE:
        raise _Refused(400, f"a {what} line is longer than {_MAX_LINE} bytes")
    if not line.endswith(b"\n"):
        raise _Refused(400, f"the connection ended before the chunked body did (reading a {what} line)")
    return line


class _ClientReader(io.RawIOBase):
    """A connection's reading side, under the client timeout.

    Waiting for a request (the connection is idle) may take ``client_timeout_s``; from its first
    byte, the request must arrive in full (request line, headers, body) within ``client_timeout_s``.
    """

    def __init__(self, sock: socket.socket, server: _Server) -> None:
        super().__init__()
        self.sock = sock
        self.server = server
        self.deadline: float | None = None  # set while a request is being read
        self.timeout: float | None = None  # the socket's; set only when it changes (each set costs)
        self.idle = False
        self.expired = False  # a request under way ran out of time

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        timeout = self.server.client_timeout_s
        if self.deadline is None:
            if not self.server.admit(self):
                return 0  # the server stops: no new request on this connection
        else:
            timeout = self.deadline - time.monotonic()
            if timeout <= 0:
                self.expired = True
                raise TimeoutError("the request did not arrive in time")
        self.set_timeout(timeout)
        try:
            count = self.sock.recv_into(buffer)
        except TimeoutError:
            self.expired = self.deadline is not None
            raise
        finally:
            self.idle = False
        if count and self.deadline is None:
            self.deadline = time.monotonic() + self.server.client_timeout_s
        return count

    def request_read(self) -> None:
        """The request is in: the handler's time is not the client's, and writes get the full timeout."""
        self.deadline = None
        self.set_timeout(self.server.client_timeout_s)

    def set_timeout(self, timeout: float) -> None:
        if timeout != self.timeout:
            self.sock.settimeout(timeout)
            self.timeout = timeout


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    wbufsize = -1  # headers and body leave in one write (flushed after each request)
    disable_nagle_algorithm = True
    reader: _ClientReader

    def setup(self) -> None:
        super().setup()
        self.rfile.close()
        self.reader = _ClientReader(self.connection, self.server)
        self.rfile = io.BufferedReader(self.reader, 65536)
        self.server.track(self.reader, True)

    def finish(self) -> None:
        self.server.track(self.reader, False)
        super().finish()

    def handle_one_request(self) -> None:
        super().handle_one_request()  # a timed-out read closes the connection
        if self.reader.expired:
            self.reader.expired = False
            self.close_connection = True
            body = json.dumps({"message": "Request Timeout", "details": (
                f"the request did not arrive in full within {self.server.client_timeout_s:g}s")}).encode()
            head = (f"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                    f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode()
            try:
                self.connection.settimeout(1.0)
                self.connection.sendall(head + body)
            except OSError:
                pass

    def handle_expect_100(self) -> bool:
        """Answer ``Expect: 100-continue`` with the refusal when the body would be refused anyway."""
        try:
            _body_length(self.headers)
        except _Refused as refused:
            self._refuse(refused)
            return False
        super().handle_expect_100()
        self.wfile.flush()  # the client waits for it before sending the body
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors http.server finds (a bad request line, too many headers): JSON, as API Gateway answers."""
        self._answer(_error(code, message), close=True)

    def _serve(self) -> None:
        try:
            length = _body_length(self.headers)
            body = _read_chunked(self.rfile) if length is None else self.rfile.read(length) if length else b""
            if length and len(body) < length:
                raise _Refused(400, f"the connection ended after {len(body)} of {length} body bytes")
        except _Refused as refused:
            self._refuse(refused)
            return
        self.reader.request_read()
        try:
            result = self.server.router.handle(self.command, self.path, list(self.headers.items()), body,
                                               self.client_address[0])
        except Exception:  # never let one request take the server down
            result = _plain(500, "Internal Server Error")
        self._answer(result)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def _answer(self, result: HttpResult, close: bool = False) -> None:
        self.send_response(result.status)
        for name, value in result.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(result.body)))
        if close:
            self.send_header("connection", "close")  # also sets close_connection
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(result.body)

    def _refuse(self, refused: _Refused) -> None:
        """Answer before the body is read, then close without reading it into memory.

        The client may still be sending: what arrives in the next second is read and dropped, so
        that closing does not reset the connection before the client has read the answer.
        """
        self._answer(_error(refused.status, refused.details), close=True)
        self.wfile.flush()
        end, left = time.monotonic() + _LINGER_S, _LINGER_BYTES
        try:
            self.connection.shutdown(socket.SHUT_WR)
            while left > 0 and (wait := end - time.monotonic()) > 0:
                self.connection.settimeout(wait)
                chunk = self.connection.recv(65536)
                if not chunk:
                    break
                left -= len(chunk)
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: run-local prints one line per invocation instead."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # socketserver's 5 drops connections when 50 clients arrive at once
    router: Router

    def __init__(self, address: tuple[str, int], client_timeout_s: float) -> None:
        super().__init__(address, _RequestHandler)
        self.client_timeout_s = client_timeout_s
        self._lock = threading.Lock()
        self._readers: set[_ClientReader] = set()
        self._stopping = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-answer is no error of the server's: nothing to print."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def track(self, reader: _ClientReader, live: bool) -> None:
        with self._lock:
            if live:
                self._readers.add(reader)
            else:
                self._readers.discard(reader)

    def admit(self, reader: _ClientReader) -> bool:
        """A connection starts waiting for its next request; False once the server stops."""
        with self._lock:
            reader.idle = not self._stopping
            return reader.idle

    def close_idle(self) -> None:
        """Stop taking requests: close idle connections now, busy ones after their response."""
        with self._lock:
            self._stopping = True
            for reader in self._readers:
                if reader.idle:
                    with contextlib.suppress(OSError):
                        reader.sock.shutdown(socket.SHUT_RDWR)


class HttpServer:
    """The HTTP API on 127.0.0.1: ``port=0`` picks a free port.

    At its edges it behaves as API Gateway: a body over 10 MB is refused with 413 before it is
    read, a malformed Content-Length or chunked body gets 400, chunked bodies are decoded, and a
    client that keeps a connection idle, or takes longer to send a request, than
    ``client_timeout_s`` (default 20 s) is disconnected (408 when a request was under way).
    """

    def __init__(self, router: Router, port: int = 0, host: str = "127.0.0.1",
                 client_timeout_s: float = CLIENT_TIMEOUT_S) -> None:
        self._server = _Server((host, port), client_timeout_s)
        self._server.router = router
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def router(self) -> Router:
        return self._server.router

    @router.setter
    def router(self, router: Router) -> None:
        self._server.router = router

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="flowfn-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop taking connections, close idle ones, and return once every answer under way is sent."""
        self._server.shutdown()
        self._server.close_idle()
        self._server.server_close()  # joins the connection threads
        if self._thread is not None:
            self._thread.join()
            self._thread = None
