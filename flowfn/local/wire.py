"""HTTP/1.1 request framing at the local server's edge, as API Gateway enforces it.

How long a request body is (Content-Length or chunked, with API Gateway's 10 MB limit), its
chunked decoding, and a connection's reading side under the client timeout. Everything here
raises :class:`Refused` for a request the server must answer with an error and then close.
"""

from __future__ import annotations

import io
import re
import socket
import time
from collections.abc import Callable
from email.message import Message
from typing import Any

__all__ = ["CLIENT_TIMEOUT_S", "MAX_BODY_BYTES", "ClientReader", "Refused", "body_length", "read_chunked"]

#: API Gateway's payload limit: a larger request body is refused with 413, unread.
MAX_BODY_BYTES = 10 * 1024 * 1024
#: How long a connection may stay idle, and how long a request may take to arrive in full.
CLIENT_TIMEOUT_S = 20.0
_MAX_LINE = 65536  # the longest chunk-size or trailer line, as http.server limits header lines
_MAX_TRAILERS = 100
_TOO_LARGE_FIX = ("Send large files straight to S3 (for example with a presigned URL) and pass their key "
                  "instead.")


class Refused(Exception):
    """The request is answered ``status`` (with ``details``) before its body is read, and its
    connection closed."""

    def __init__(self, status: int, details: str) -> None:
        super().__init__(status, details)
        self.status = status
        self.details = details


def body_length(headers: Message) -> int | None:
    """The declared length of the request body, or None when it comes in chunks.

    Raises Refused: 400 for a malformed, negative or absurd Content-Length, or one sent with
    Transfer-Encoding; 413 for a body over API Gateway's limit; 501 for another transfer coding.
    """
    lengths = [v.strip() for v in headers.get_all("content-length") or ()]
    codings = [c.strip().lower() for v in headers.get_all("transfer-encoding") or () for c in v.split(",")]
    if codings:
        if codings != ["chunked"]:
            raise Refused(501, f"Transfer-Encoding {', '.join(codings)!r} is not supported; send the body "
                                "with a Content-Length or Transfer-Encoding: chunked")
        if lengths:
            raise Refused(400, "the request has both Content-Length and Transfer-Encoding; send one")
        return None
    if not lengths:
        return 0
    if len(set(lengths)) > 1 or not re.fullmatch(r"[0-9]{1,18}", lengths[0]):
        raise Refused(400, f"Content-Length {', '.join(lengths)!r} is not a number of bytes")
    length = int(lengths[0])
    if length > MAX_BODY_BYTES:
        raise Refused(413, f"the body is {length} bytes; API Gateway takes at most {MAX_BODY_BYTES} "
                           f"(10 MB). {_TOO_LARGE_FIX}")
    return length


def read_chunked(rfile: io.BufferedIOBase) -> bytes:
    """A ``Transfer-Encoding: chunked`` body, decoded; trailers are read and dropped."""
    parts: list[bytes] = []
    total = 0
    while True:
        line = _line(rfile, "chunk size")
        size_text = line.split(b";", 1)[0].strip()
        if not re.fullmatch(rb"[0-9A-Fa-f]{1,16}", size_text):
            raise Refused(400, f"malformed chunk size {line[:40].decode('latin-1')!r}")
        size = int(size_text, 16)
        if size == 0:
            break
        total += size
        if total > MAX_BODY_BYTES:
            raise Refused(413, f"the chunked body exceeds API Gateway's limit of {MAX_BODY_BYTES} bytes "
                               f"(10 MB). {_TOO_LARGE_FIX}")
        data = rfile.read(size)
        if len(data) < size:
            raise Refused(400, "the connection ended inside a chunk")
        if rfile.read(2) != b"\r\n":
            raise Refused(400, f"chunk data is not followed by CRLF after {size} bytes")
        parts.append(data)
    for _ in range(_MAX_TRAILERS):
        line = _line(rfile, "trailer")
        if not line.strip():
            return b"".join(parts)
        if b":" not in line:
            raise Refused(400, f"malformed trailer {line[:40].decode('latin-1')!r}")
    raise Refused(400, f"more than {_MAX_TRAILERS} trailers")


def _line(rfile: io.BufferedIOBase, what: str) -> bytes:
    line = rfile.readline(_MAX_LINE + 1)
    if len(line) > _MAX_LINE:
        raise Refused(400, f"a {what} line is longer than {_MAX_LINE} bytes")
    if not line.endswith(b"\n"):
        raise Refused(400, f"the connection ended before the chunked body did (reading a {what} line)")
    return line


class ClientReader(io.RawIOBase):
    """A connection's reading side, under the client timeout.

    Waiting for a request (the connection is idle) may take ``timeout_s``; from its first byte,
    the request must arrive in full (request line, headers, body) within ``timeout_s``.
    """

    def __init__(self, sock: socket.socket, timeout_s: float, admit: Callable[[ClientReader], bool]) -> None:
        super().__init__()
        self.sock = sock
        self.timeout_s = timeout_s
        self.admit = admit  # called before waiting for a request: False when the server stops
        self.deadline: float | None = None  # set while a request is being read
        self.timeout: float | None = None  # the socket's; set only when it changes (each set costs)
        self.idle = False
        self.expired = False  # a request under way ran out of time

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        timeout = self.timeout_s
        if self.deadline is None:
            if not self.admit(self):
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
            self.deadline = time.monotonic() + self.timeout_s
        return count

    def request_read(self) -> None:
        """The request is in: the handler's time is not the client's, and writes get the full timeout."""
        self.deadline = None
        self.set_timeout(self.timeout_s)

    def set_timeout(self, timeout: float) -> None:
        if timeout != self.timeout:
            self.sock.settimeout(timeout)
            self.timeout = timeout
