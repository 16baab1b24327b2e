"""The app's HTTP API on this machine: requests become payload 2.0 events, results responses.

:class:`Router` picks the route as API Gateway does (the most specific match wins) and turns
the handler's payload 2.0 response into status, headers and body; flowfn.testing calls it
directly. :class:`HttpServer` serves it on 127.0.0.1 with a thread per open connection (reused
from one connection to the next), so requests are handled concurrently and a failing handler
answers 500 without stopping the server. At its edges it answers as API Gateway does (see
``wire``): bodies over 10 MB get 413 unread, malformed framing 400, chunked bodies are decoded,
and idle or slow clients are disconnected.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import queue
import secrets
import socket
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from flowfn.app import App
from flowfn.function import Handler
from flowfn.local.emulator import DUMMY_ACCOUNT
from flowfn.local.invoker import Invocation, Invoker
from flowfn.local.source import Source, sample_id
from flowfn.local.wire import (
    CLIENT_TIMEOUT_S,
    MAX_BODY_BYTES,
    ClientReader,
    Refused,
    body_length,
    read_chunked,
)
from flowfn.triggers.http import HttpTrigger, api_gateway_path, http_event, match_path, route_priority

__all__ = ["CLIENT_TIMEOUT_S", "MAX_BODY_BYTES", "HttpResult", "HttpServer", "Router"]

_LINGER_S = 2.0  # after a refusal, how long (and how much) of what the client still sends is dropped
_LINGER_BYTES = 2 * MAX_BODY_BYTES
_SPARE_WORKERS = 8  # connection threads kept waiting for the next connection
_MAX_IDLE_WORKERS = 64  # beyond this many waiting, a thread whose connection closed ends


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


class Router(Source):
    """Matches requests to ``@on_http`` handlers and runs them through the invoker (the source of
    HTTP invocations: the app's HTTP server, or flowfn.testing, hands it requests)."""

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
        path = api_gateway_path(parts.path or "/")  # what API Gateway routes on and hands Lambda
        if path is None:
            return _plain(400, "Bad Request")
        found = self.match(method.upper(), path)
        if isinstance(found, list):
            if found:
                return _plain(405, "Method Not Allowed", [("allow", ", ".join(sorted(set(found))))])
            return _plain(404, "Not Found")
        handler, params = found
        trigger = _trigger(handler)
        event = http_event(
            method=method, raw_path=path, raw_query=parts.query, headers=headers,
            body=body, route_key=trigger.route_key, path_params=params,
            request_id=secrets.token_urlsafe(12), time=datetime.now(UTC), source_ip=source_ip,
            account=self.invoker.bindings.target.account,
        )
        record = self.invoker.invoke(handler, event, source=f"{method.upper()} {parts.path}", wait=False)
        if record.outcome == "throttled":
            return _plain(429, "Too Many Requests")
        if not isinstance(record.result, dict):  # failed with no answer: raised, timed out
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


def _error(status: int, details: str | None) -> HttpResult:
    """An answer of the server itself: API Gateway's message for the status, and what was wrong."""
    payload = {"message": HTTPStatus(status).phrase, **({"details": details} if details else {})}
    return HttpResult(status, [("content-type", "application/json")], json.dumps(payload).encode())


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    wbufsize = -1  # headers and body leave in one write (flushed after each request)
    disable_nagle_algorithm = True
    reader: ClientReader

    def setup(self) -> None:
        super().setup()
        self.rfile.close()
        self.reader = ClientReader(self.connection, self.server.client_timeout_s, self.server.admit)
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
            body_length(self.headers)
        except Refused as refused:
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
            length = body_length(self.headers)
            body = read_chunked(self.rfile) if length is None else self.rfile.read(length) if length else b""
            if length and len(body) < length:
                raise Refused(400, f"the connection ended after {len(body)} of {length} body bytes")
        except Refused as refused:
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

    def _refuse(self, refused: Refused) -> None:
        """Answer before the body is read, then close without reading it into memory.

        The client may still be sending: what arrives in the next two seconds (up to 20 MB) is read
        and dropped, so that closing does not reset the connection before the client has read the
        answer.
        """
        self._answer(_error(refused.status, refused.details), close=True)
        self.wfile.flush()
        end, left = time.monotonic() + _LINGER_S, _LINGER_BYTES
        try:
            self.connection.shutdown(socket.SHUT_WR)
            while left > 0 and (wait := end - time.monotonic()) > 0:
                self.connection.settimeout(wait)
                chunk = self.connection.recv(1 << 20)  # dropped at once: memory stays flat
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
        # Set before binding: a port in use makes socketserver call server_close, which reads them.
        self.client_timeout_s = client_timeout_s
        self._lock = threading.Lock()
        self._readers: set[ClientReader] = set()
        self._stopping = False
        self._work: queue.SimpleQueue[tuple[Any, Any] | None] = queue.SimpleQueue()
        self._waiting = 0  # workers waiting for a connection, or started to
        self._workers: set[threading.Thread] = set()
        self._ended: list[threading.Thread] = []  # workers that ended while stopping, to join
        self._changed = threading.Condition(self._lock)
        super().__init__(address, _RequestHandler)

    def start_workers(self) -> None:
        with self._lock:
            self._waiting += _SPARE_WORKERS
        self._spawn(_SPARE_WORKERS)

    def _spawn(self, count: int) -> None:
        for _ in range(count):
            worker = threading.Thread(target=self._work_loop, name=f"flowfn-http-{self.server_address[1]}",
                                      daemon=True)
            with self._lock:
                if self._stopping:
                    return
                self._workers.add(worker)
            try:
                worker.start()
            except RuntimeError:  # no more threads: the workers there are serve the queue
                with self._lock:
                    self._workers.discard(worker)
                    self._waiting -= 1
                    self._changed.notify_all()
                return

    def process_request(self, request: Any, client_address: Any) -> None:
        """Queue the connection for a waiting worker thread.

        The accept loop never starts a thread (under load, starting one waits for the interpreter
        lock several times): a worker that takes a connection first starts replacements when
        fewer than ``_SPARE_WORKERS`` are left waiting, so a burst of connections is spread over
        many threads at once.
        """
        self._work.put((request, client_address))

    def _work_loop(self) -> None:
        while (item := self._work.get()) is not None:
            with self._lock:
                self._waiting -= 1
                missing = 0 if self._stopping else max(0, _SPARE_WORKERS - self._waiting)
                self._waiting += missing
            self._spawn(missing)
            self.process_request_thread(*item)  # handles, reports errors, closes the connection
            with self._lock:
                if self._stopping or self._waiting >= _MAX_IDLE_WORKERS:
                    break
                self._waiting += 1
        with self._lock:
            self._workers.discard(threading.current_thread())
            if self._stopping:
                self._ended.append(threading.current_thread())
                self._changed.notify_all()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-answer is no error of the server's: nothing to print."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def track(self, reader: ClientReader, live: bool) -> None:
        with self._lock:
            if live:
                self._readers.add(reader)
            else:
                self._readers.discard(reader)

    def admit(self, reader: ClientReader) -> bool:
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
            for _ in self._workers:  # every worker waiting, or about to, ends
                self._work.put(None)

    def server_close(self) -> None:
        """Close the listening socket and wait for every connection's worker to end."""
        super().server_close()
        with self._lock:
            while self._workers:  # some may not have started yet: they end at once when they do
                self._changed.wait()
            ended, self._ended = self._ended, []
        for worker in ended:
            worker.join()


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
        self._server.start_workers()
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


def http_sample(method: str, path: str, *, route: str | None = None, body: str = "",
                headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
                time: datetime | None = None) -> dict[str, Any]:
    """An HTTP API (payload 2.0) request for ``path`` as a client sends it (percent-encoded, with
    an optional query string); ``route`` (``GET /items/{id}``) fills path parameters. The path is
    decoded as API Gateway and run-local decode it; ``headers`` may repeat a name."""
    parts = urlsplit(path)
    delivered = api_gateway_path(parts.path or "/")
    if delivered is None:
        raise ValueError(f"API Gateway answers 400 Bad Request to path {parts.path!r}: it decodes a path "
                         "twice, and the second time finds a '%' not followed by two hex digits; "
                         "write a literal '%' as %2525")
    route_key = route or f"{method.upper()} {delivered}"
    params: dict[str, str] = {}
    if route:
        route_method, _, route_path = route.partition(" ")
        found = match_path(HttpTrigger(method=route_method, path=route_path), delivered)
        if found is None:
            raise ValueError(f"path {delivered!r} does not match route {route!r}; give a --path the "
                             "route matches, percent-encoded as a client sends it")
        params = found
    pairs = list(headers.items() if isinstance(headers, Mapping) else headers or [])
    if body and not any(k.lower() == "content-type" for k, _ in pairs):
        pairs.append(("content-type", "application/json" if body.lstrip().startswith(("{", "["))
                      else "text/plain"))
    if not any(k.lower() == "user-agent" for k, _ in pairs):
        pairs.append(("user-agent", "flowfn"))
    moment = time or datetime.now(UTC)
    return http_event(method=method.upper(), raw_path=delivered, raw_query=parts.query, headers=pairs,
                      body=body.encode(), route_key=route_key, path_params=params,
                      request_id=sample_id(method, path, moment.isoformat())[:18], time=moment,
                      account=DUMMY_ACCOUNT)


def http_sample_for(handler: Handler, names: Mapping[str, str], region: str) -> dict[str, Any]:
    """The sample event of ``flowfn invoke`` for an HTTP handler."""
    trigger = handler.trigger
    assert isinstance(trigger, HttpTrigger)
    path = "/" + "/".join("sample" if s.startswith("{") else s for s in trigger.segments)
    method = "GET" if trigger.method == "ANY" else trigger.method
    return http_sample(method, path, route=f"{trigger.method} {trigger.path}")
