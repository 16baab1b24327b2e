"""The app's HTTP API on this machine: requests become payload 2.0 events, results responses.

:class:`Router` picks the route as API Gateway does (the most specific match wins) and turns
the handler's payload 2.0 response into status, headers and body; flowfn.testing calls it
directly. :class:`HttpServer` serves it on 127.0.0.1 with a thread per request, so requests are
handled concurrently and a failing handler answers 500 without stopping the server.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from flowfn.app import App
from flowfn.function import Handler
from flowfn.local.invoker import Invocation, Invoker
from flowfn.triggers.http import HttpTrigger, api_gateway_path, http_event, match_path, route_priority

__all__ = ["HttpResult", "HttpServer", "Router"]


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


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            result = self.server.router.handle(self.command, self.path, list(self.headers.items()), body,
                                               self.client_address[0])
        except Exception:  # never let one request take the server down
            result = _plain(500, "Internal Server Error")
        self.send_response(result.status)
        for name, value in result.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(result.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(result.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: run-local prints one line per invocation instead."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    router: Router


class HttpServer:
    """The HTTP API on 127.0.0.1: ``port=0`` picks a free port."""

    def __init__(self, router: Router, port: int = 0, host: str = "127.0.0.1") -> None:
        self._server = _Server((host, port), _RequestHandler)
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
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
