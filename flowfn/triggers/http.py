"""API Gateway HTTP API routes: the trigger spec and its validation."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote

from flowfn.errors import ConfigError
from flowfn.triggers.base import Invocation, Trigger

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


class HttpTrigger(Trigger):
    """Run the handler for ``method`` requests on ``path`` of the app's HTTP API.

    ``path`` is an API Gateway route template: ``/thumbnails/{name}`` captures one segment and
    ``/files/{key+}`` the rest of the path. ``method`` may be ``ANY``.
    """

    kind: ClassVar[str] = "http"
    invocation: ClassVar[Invocation] = "sync"
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
    upper = method.upper() if isinstance(method, str) else None
    if upper not in HTTP_METHODS:
        raise ConfigError(subject, "method", f"{method!r} is not an HTTP method",
                          f"use one of {', '.join(HTTP_METHODS)}")
    if not isinstance(path, str):
        raise ConfigError(subject, "path", f"{path!r} is not a string",
                          "write a path such as '/thumbnails/{name}' or '/files/{key+}'")
    try:
        parse_path(path)
    except ValueError as exc:
        raise ConfigError(subject, "path", f"{path!r} is not a valid route: {exc}",
                          "write a path such as '/thumbnails/{name}' or '/files/{key+}'") from None
    return HttpTrigger(method=upper, path=path)


# -- AWS-exact events: API Gateway HTTP API, payload format 2.0 ----------------------------------

_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript",
               "application/x-www-form-urlencoded", "application/graphql")


_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def api_gateway_path(sent: str) -> str | None:
    """The path an HTTP API hands Lambda for the request path ``sent`` (as on the request line,
    percent-encoded), or None when API Gateway refuses the request (400 Bad Request).

    Measured on AWS (HTTP API, payload 2.0, ``$default`` stage; captures published with
    hotsock/voker's ingress probe, matching reports in hono#2156 and psoxy#827): ``rawPath`` and
    ``requestContext.http.path`` both hold the path decoded, not as sent (``/a%20b`` arrives as
    ``/a b``, ``/a%2Fb`` as ``/a/b``). A decoded ``?`` ends the path (``/q%3Fv`` arrives as ``/q``),
    what is still percent-encoded after that is decoded a second time (``/x%252Fy`` arrives as
    ``/x/y``), and a path whose second decoding finds a ``%`` not followed by two hex digits
    (``/p%25zz``) is refused. A malformed escape as sent (``/p%zz``) is refused the same way (not
    measured; the same decoder reads it). Routes match the delivered path, so path parameters are
    decoded too. On the ``$default`` stage (the one flowfn deploys) no stage prefix is added.
    """
    if _ESCAPE.search(sent):
        return None
    once = unquote(sent).partition("?")[0]
    if _ESCAPE.search(once):
        return None
    return unquote(once) or "/"


def match_path(trigger: HttpTrigger, path: str) -> dict[str, str] | None:
    """The path parameters when ``path`` (as requested, URL-decoded) fits the route, else None."""
    wanted = trigger.segments
    given = tuple(path[1:].split("/")) if path not in ("", "/") else ()
    params: dict[str, str] = {}
    for index, segment in enumerate(wanted):
        match = _PARAM.fullmatch(segment)
        if match and match["greedy"]:
            rest = given[index:]
            if not rest or not all(rest):
                return None
            params[match["name"]] = "/".join(rest)
            return params
        if index >= len(given) or not given[index]:
            return None
        if match:
            params[match["name"]] = given[index]
        elif segment != given[index]:
            return None
    return params if len(given) == len(wanted) else None


def route_priority(trigger: HttpTrigger) -> tuple[int, ...]:
    """Sort key that puts more specific routes first, as API Gateway chooses among matches."""
    rank = []
    for segment in trigger.segments:
        rank.append(2 if segment.endswith("+}") else 1 if segment.startswith("{") else 0)
    return (*rank, 3 if trigger.method == "ANY" else 0)


def is_text(content_type: str) -> bool:
    """True when API Gateway passes a body of this content type as text rather than base64."""
    lowered = content_type.lower()
    return lowered.startswith(_TEXT_TYPES) or "+json" in lowered or "+xml" in lowered


def http_event(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    route_key: str,
    path_params: dict[str, str],
    request_id: str,
    time: datetime,
    source_ip: str = "127.0.0.1",
    api_id: str = "local",
    account: str = "123456789012",
    domain: str | None = None,
) -> dict[str, Any]:
    """The event an HTTP API (payload 2.0) sends Lambda for one request.

    ``raw_path`` is the path as API Gateway delivers it (see :func:`api_gateway_path`); it fills
    ``rawPath`` and ``requestContext.http.path`` alike. ``raw_query`` stays as sent.
    Header names are lower-cased and repeated headers joined with commas; ``Cookie`` headers
    become the ``cookies`` list. A body that is not text (see :func:`is_text`) is base64-encoded.
    Keys AWS leaves out when empty (cookies, query, path parameters, body) are left out.
    """
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        joined[lowered] = f"{joined[lowered]},{value}" if lowered in joined else value
    host = domain or joined.get("host") or f"{api_id}.execute-api.localhost"
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = joined
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": account,
        "apiId": api_id,
        "domainName": host,
        "domainPrefix": host.split(".")[0],
        "http": {
            "method": method.upper(),
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": joined.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": time.astimezone(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(time.timestamp() * 1000),
    }
    encoded = False
    if body:
        text_body = is_text(joined.get("content-type", "text/plain"))
        if text_body:
            try:
                event["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                text_body = False
        if not text_body:
            event["body"] = base64.b64encode(body).decode()
            encoded = True
    if path_params:
        event["pathParameters"] = dict(path_params)
    event["isBase64Encoded"] = encoded
    return event
