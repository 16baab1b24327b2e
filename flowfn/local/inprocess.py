"""Requests to the embedded emulator from this process, answered without a socket.

moto's threaded server answers each request on a new connection (werkzeug's server closes it
after one answer) in a new thread: a boto3 call to it from this process paid a TCP connect, a
thread start and the HTTP parsing on both sides, about 3-4 ms, more than moto's own work for most
SQS and S3 calls. A botocore ``before-send`` handler (:func:`send`, on every session flowfn makes,
so on flowfn's own clients and on handlers' ``boto3.client(...)``) hands the prepared request to
the WSGI application the server runs instead, with the environment the server would have built
for it, and returns that application's answer. The routing, moto's code and the bytes answered
are the server's; only the socket is left out. The server still listens, for other processes.

The application runs in a worker thread while the caller waits, as it would run in a server
thread, and in an empty ``contextvars`` context, as a server thread does (never in the calling
handler's environment or policy scope): a caller stopped mid-call (a timed-out handler,
interrupted by an exception raised in its thread) leaves the request to finish whole, never
half-applied. Requests to any other endpoint (another emulator, a stopped one) are left to
botocore's HTTP.
"""

from __future__ import annotations

import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from typing import Any
from urllib.parse import urlsplit

__all__ = ["send", "serve", "served", "stop_serving", "unwatch", "watch"]

#: Worker threads answering requests at most (made as needed; moto's server starts one per request,
#: unbounded): enough that handlers long-polling queues never hold up other calls.
_WORKERS = 256
_lock = threading.Lock()
_apps: dict[str, Any] = {}  # "127.0.0.1:port" -> the WSGI application served there
_pool: list[ThreadPoolExecutor] = []
_watchers: set[threading.Event] = set()
#: Operations that change nothing: answering them wakes no poller.
_READS = ("Receive", "Get", "List", "Describe", "Scan", "Query", "Head", "BatchGet", "Lookup")
_READ_ACTIONS = tuple(f"Action={name}".encode() for name in _READS)


def watch(event: threading.Event) -> None:
    """Set ``event`` whenever a request answered in-process may have changed the emulator's state
    (a send, a put, a publish, a delete: anything but a read). An idle poller waits on it instead of
    sleeping out its back-off, so a message sent from this process is received at once."""
    with _lock:
        _watchers.add(event)


def unwatch(event: threading.Event) -> None:
    """Stop setting ``event``."""
    with _lock:
        _watchers.discard(event)


def _changes(request: Any, body: bytes) -> bool:
    """Whether ``request`` may change state: its operation is not a read (JSON protocols name it in
    ``X-Amz-Target``, query protocols in the body's ``Action``, REST ones by method)."""
    target = request.headers.get("X-Amz-Target")
    if target:
        name = (target.decode() if isinstance(target, bytes) else str(target)).rsplit(".", 1)[-1]
        return not name.startswith(_READS)
    if body.startswith(b"Action="):
        return not body.startswith(_READ_ACTIONS)
    return str(request.method).upper() not in ("GET", "HEAD")


def serve(netloc: str, app: Any) -> None:
    """Answer requests for ``netloc`` (``host:port``) with the WSGI application ``app``."""
    with _lock:
        _apps[netloc] = app


def stop_serving(netloc: str) -> Any:
    """Leave requests for ``netloc`` to HTTP again; the last one out stops the worker threads.
    Returns the application that answered them (None if none did)."""
    with _lock:
        app = _apps.pop(netloc, None)
        pool = _pool.pop() if not _apps and _pool else None
    if pool is not None:
        pool.shutdown(wait=True)
    return app


def served() -> list[str]:
    """The ``host:port`` addresses answered in-process now."""
    with _lock:
        return list(_apps)


class _Body(BytesIO):
    """An answer's body as botocore reads a socket's: ``read()`` and ``stream()``."""

    def stream(self, **_: Any) -> Any:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


def _payload(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode()
    if hasattr(body, "read"):
        data = body.read()
        return data.encode() if isinstance(data, str) else bytes(data)
    return b"".join(part.encode() if isinstance(part, str) else bytes(part) for part in body)


def _environ(request: Any, parts: Any, body: bytes) -> dict[str, Any]:
    """The WSGI environment moto's server builds for ``request`` (see ``MotoRequestHandler``):
    headers with an underscore are dropped, as werkzeug's server drops them, except S3 metadata
    headers, whose spelling moto keeps."""
    from moto.core.request import (
        PRESERVED_HEADER_NAMES_ENVIRON_KEY,
        environ_key_for_header,
        should_preserve_original_header_name,
    )
    from werkzeug.test import EnvironBuilder

    headers = [(name, value.decode("latin-1") if isinstance(value, bytes) else str(value))
               for name, value in request.headers.items()]
    builder = EnvironBuilder(
        method=request.method, path=parts.path, query_string=parts.query,
        base_url=f"{parts.scheme}://{parts.netloc}", data=body,
        headers=[(n, v) for n, v in headers if "_" not in n],
    )
    try:
        environ: dict[str, Any] = builder.get_environ()
    finally:
        builder.close()
    environ["REMOTE_ADDR"] = "127.0.0.1"
    dashed = {environ_key_for_header(n) for n, _ in headers if "_" not in n}
    names: dict[str, str] = {}
    values: dict[str, list[str]] = {}
    for name, value in headers:
        key = environ_key_for_header(name)
        if should_preserve_original_header_name(name) and key not in dashed:
            names.setdefault(key, name)
            values.setdefault(key, []).append(value.replace("\r\n", ""))
    for key, found in values.items():
        environ[key] = ",".join(found)
    environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = names
    return environ


def _answer(app: Any, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    from werkzeug.test import run_wsgi_app

    body, status, headers = run_wsgi_app(app, environ, buffered=True)
    try:
        data = b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return int(status.split(" ", 1)[0]), list(headers.items()), data


def send(**kwargs: Any) -> Any:
    """botocore's ``before-send`` hook: the answer to ``request`` when its address is served
    in-process (an ``AWSResponse``), or None to let botocore send it over HTTP."""
    request = kwargs["request"]
    parts = urlsplit(request.url)
    with _lock:
        app = _apps.get(parts.netloc)
        if app is None:
            return None
        if not _pool:
            _pool.append(ThreadPoolExecutor(_WORKERS, thread_name_prefix="flowfn-emulator"))
        pool = _pool[0]
    from botocore.awsrequest import AWSResponse
    from botocore.compat import HTTPHeaders

    body = _payload(request.body)
    environ = _environ(request, parts, body)
    try:
        future = pool.submit(contextvars.Context().run, _answer, app, environ)
    except RuntimeError:  # the emulator stopped meanwhile: HTTP finds nothing listening either
        return None
    status, headers, data = future.result()
    if _watchers and _changes(request, body):
        with _lock:
            woken = list(_watchers)
        for event in woken:
            event.set()
    answered = HTTPHeaders()
    for name, value in headers:
        answered[name] = value
    return AWSResponse(request.url, status, answered, _Body(data))
