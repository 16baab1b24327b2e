"""API Gateway HTTP API routes: the trigger spec and its validation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from flowfn.errors import ConfigError
from flowfn.triggers.base import Trigger

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
_LITERAL = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@-]+")
_PARAM = re.compile(r"\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<greedy>\+?)\}")


def parse_path(path: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split a route template into (segments, parameter names), or raise ValueError."""
    if not path.startswith("/"):
        raise ValueError("it must start with '/'")
    if path == "/":
        return (), ()
    if path.endswith("/"):
        raise ValueError("it must not end with '/'")
    segments = tuple(path[1:].split("/"))
    params: list[str] = []
    for index, segment in enumerate(segments):
        if not segment:
            raise ValueError("it has an empty segment ('//')")
        match = _PARAM.fullmatch(segment)
        if match:
            if match["greedy"] and index != len(segments) - 1:
                raise ValueError(f"the greedy parameter {segment} must be the last segment")
            if match["name"] in params:
                raise ValueError(f"the parameter {{{match['name']}}} appears twice")
            params.append(match["name"])
        elif "{" in segment or "}" in segment:
            raise ValueError(f"segment {segment!r} is not a literal or a whole {{name}} parameter")
        elif not _LITERAL.fullmatch(segment):
            raise ValueError(f"segment {segment!r} has characters a route cannot hold")
    return segments, tuple(params)


@dataclass(frozen=True)
class HttpTrigger(Trigger):
    """Run the handler for ``method`` requests on ``path`` of the app's HTTP API.

    ``path`` is an API Gateway route template: ``/thumbnails/{name}`` captures one segment and
    ``/files/{key+}`` the rest of the path. ``method`` may be ``ANY``.
    """

    kind: ClassVar[str] = "http"
    passes: ClassVar[tuple[str, ...]] = ("request", "context")
    method: str
    path: str

    @property
    def route_key(self) -> str:
        """API Gateway's route key, for example ``GET /thumbnails/{name}``."""
        return f"{self.method} {self.path}"

    @property
    def segments(self) -> tuple[str, ...]:
        return parse_path(self.path)[0]

    @property
    def shape(self) -> str:
        """The path with parameter names erased: two routes of one shape clash."""
        return "/" + "/".join(
            ("{+}" if seg.endswith("+}") else "{}") if seg.startswith("{") else seg
            for seg in self.segments
        )

    def describe(self) -> str:
        return f"http {self.route_key}"

    def conflict(self, other: Trigger) -> str | None:
        if isinstance(other, HttpTrigger) and other.method == self.method and other.shape == self.shape:
            same = "the same route" if other.path == self.path else f"routes of one shape ({other.path})"
            return f"both serve {self.method} on {same}; API Gateway keeps one route per key"
        return None


def make_http_trigger(method: str, path: str, subject: str) -> HttpTrigger:
    upper = method.upper() if isinstance(method, str) else method
    if upper not in HTTP_METHODS:
        raise ConfigError(subject, "method", f"{method!r} is not an HTTP method",
                          f"use one of {', '.join(HTTP_METHODS)}")
    try:
        parse_path(path)
    except ValueError as exc:
        raise ConfigError(subject, "path", f"{path!r} is not a valid route: {exc}",
                          "write a path such as '/thumbnails/{name}' or '/files/{key+}'") from None
    return HttpTrigger(method=upper, path=path)
