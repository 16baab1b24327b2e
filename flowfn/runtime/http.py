"""HTTP inside Lambda: the request an HTTP handler receives and the responses it returns.

Requests come from API Gateway HTTP API events (payload format 2.0); responses go back in the
same format. Nothing here imports pydantic: models are recognised by their methods.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import sys
from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from flowfn.errors import EventError
from flowfn.function import Handler
from flowfn.runtime.invoke import Runner, call, each_event
from flowfn.runtime.shape import as_dict, mapping, text

__all__ = ["HTTPError", "Request", "Response", "prepare_http", "render", "render_error", "request_id_of",
           "run_http"]

JSON_TYPE = "application/json"
TEXT_TYPE = "text/plain; charset=utf-8"
BINARY_TYPE = "application/octet-stream"

M = TypeVar("M")


class HTTPError(Exception):
    """Raise in an HTTP handler to answer with ``status`` (a 4xx or 5xx) and a JSON body.

    The body is ``{"message": message, "details": details}``; ``details`` must be JSON-serializable.
    Without a message, the status's own phrase is the message (``HTTPError(404)``: ``Not Found``).
    """

    def __init__(self, status: int, message: str | None = None, details: Any = None) -> None:
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError(f"HTTPError status {status!r} is not an error status; use 400-599")
        if message is None:
            from http import HTTPStatus  # only here: most errors name their message

            try:
                message = HTTPStatus(status).phrase
            except ValueError:  # a status without a registered phrase, such as 499
                message = "Error"
        super().__init__(status, message)
        self.status = status
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return f"{self.status} {self.message}"


class Request:
    """An HTTP request as API Gateway's HTTP API hands it to Lambda.

    ``method``: upper-case, e.g. ``GET``. ``path``: percent-decoded, as API Gateway delivers it
    (a client's ``/my%20photo`` is ``/my photo``; run-local does the same). ``route_key``: the
    matched route, e.g. ``GET /thumbnails/{name}``. ``path_params``: values the route's
    ``{parameters}`` captured. ``query``: query parameters, a repeated name holding its values
    joined by commas as API Gateway sends them (see :meth:`query_all`). ``headers``: lower-case
    names. ``cookies``: by name. ``body``: bytes, decoded from base64 when API Gateway encoded
    them. ``request_id``: API Gateway's request id. ``raw``: the event as Lambda received it.
    """

    __slots__ = ("body", "cookies", "headers", "method", "path", "path_params", "query", "raw",
                 "raw_query", "request_id", "route_key")

    def __init__(self, *, method: str = "GET", path: str = "/", route_key: str = "",
                 path_params: dict[str, str] | None = None, query: dict[str, str] | None = None,
                 headers: dict[str, str] | None = None, cookies: dict[str, str] | None = None,
                 body: bytes = b"", request_id: str = "", raw_query: str = "",
                 raw: dict[str, Any] | None = None) -> None:
        self.method = method
        self.path = path
        self.route_key = route_key
        self.path_params = path_params if path_params is not None else {}
        self.query = query if query is not None else {}
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.cookies = cookies if cookies is not None else {}
        self.body = body
        self.request_id = request_id
        self.raw_query = raw_query
        self.raw = raw if raw is not None else {}

    def __repr__(self) -> str:
        return f"Request({self.method} {self.path}, {len(self.body)} bytes, id={self.request_id!r})"

    @classmethod
    def from_raw(cls, event: Mapping[str, Any]) -> Request:
        """Build from an HTTP API payload 2.0 event; HTTPError(400) when its body cannot be read.

        A field of the wrong shape (a list where text belongs, headers that are no object ...) is
        an EventError naming it.
        """
        get = event.get
        context = mapping("http", "requestContext", get("requestContext"))
        http = mapping("http", "requestContext.http", context.get("http"))
        raw_body = get("body")
        if raw_body is None:
            body = b""
        elif get("isBase64Encoded"):
            try:
                body = base64.b64decode(text("http", "body", raw_body), validate=True)
            except ValueError:
                raise HTTPError(400, "the request body is not valid base64") from None
        else:
            body = text("http", "body", raw_body).encode("utf-8", "surrogatepass")
        cookies: dict[str, str] = {}
        raw_cookies = get("cookies") or ()
        if not isinstance(raw_cookies, (list, tuple)):
            raise EventError("http", "cookies", f"must be a list, got {type(raw_cookies).__name__}")
        for index, item in enumerate(raw_cookies):
            name, _, value = text("http", f"cookies[{index}]", item).partition("=")
            cookies[name.strip()] = value.strip()
        return cls(
            method=text("http", "requestContext.http.method", http.get("method")).upper(),
            path=text("http", "rawPath", get("rawPath") or http.get("path") or "/"),
            route_key=text("http", "routeKey", get("routeKey") or context.get("routeKey")),
            path_params=_strings("pathParameters", get("pathParameters")),
            query=_strings("queryStringParameters", get("queryStringParameters")),
            headers=_strings("headers", get("headers")),  # lowered by __init__
            cookies=cookies,
            body=body,
            request_id=request_id_of(event),
            raw_query=text("http", "rawQueryString", get("rawQueryString")),
            raw=as_dict(event),
        )

    @property
    def text(self) -> str:
        """The body decoded as UTF-8; HTTPError(400) when it is not."""
        try:
            return self.body.decode()
        except UnicodeDecodeError:
            raise HTTPError(400, "the request body is not UTF-8 text") from None

    def json(self) -> Any:
        """The body parsed as JSON; HTTPError(400) when it is empty or not JSON."""
        if not self.body:
            raise HTTPError(400, "the request has no body; send a JSON body")
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise HTTPError(400, "the request body is not valid JSON", str(exc)) from None
        except RecursionError:
            raise HTTPError(400, "the request body is not valid JSON",
                            "arrays or objects nested too deeply to parse") from None

    def parse(self, model: type[M]) -> M:
        """The JSON body validated into a pydantic ``model``.

        A body that is not JSON or does not match answers 422 with the field errors (pydantic's
        ValidationError, which the runtime turns into that response).
        """
        if not self.body:
            raise HTTPError(400, f"the request has no body; send a JSON {model.__name__}")
        validated: M = model.model_validate_json(self.body)  # type: ignore[attr-defined]
        return validated

    def query_all(self, name: str) -> list[str]:
        """Every value of query parameter ``name``, in order (``?tag=a&tag=b`` gives both)."""
        return [v for k, v in parse_qsl(self.raw_query, keep_blank_values=True) if k == name]

    def header(self, name: str, default: str | None = None) -> str | None:
        """A header's value by case-insensitive name."""
        return self.headers.get(name.lower(), default)

    @property
    def source_ip(self) -> str:
        """The client's IP address as API Gateway saw it."""
        return str(((self.raw.get("requestContext") or {}).get("http") or {}).get("sourceIp", ""))


def _strings(path: str, value: Any) -> dict[str, str]:
    return {str(k): text("http", f"{path}.{k}", v) for k, v in mapping("http", path, value).items()}


def request_id_of(event: Mapping[str, Any]) -> str:
    """API Gateway's request id in an HTTP API event ("" when it names none)."""
    context = mapping("http", "requestContext", event.get("requestContext"))
    return text("http", "requestContext.requestId", context.get("requestId"))


class Response:
    """An explicit HTTP response: status, headers, cookies and body.

    ``body`` follows the same rules as a handler's return value: a dict, list or pydantic model is
    sent as JSON, a str as text, bytes as binary (base64 to API Gateway), None as no body. A
    ``content-type`` in ``headers`` overrides the default type. ``cookies`` are ``Set-Cookie``
    values such as ``"session=abc; Secure; HttpOnly"``.
    """

    __slots__ = ("body", "cookies", "headers", "status")

    def __init__(self, body: Any = None, status: int = 200, headers: Mapping[str, str] | None = None,
                 cookies: list[str] | tuple[str, ...] | None = None) -> None:
        self.body = body
        self.status = status
        self.headers = headers
        self.cookies = cookies

    def __repr__(self) -> str:
        return f"Response(status={self.status}, body={self.body!r})"


def _is_model(value: Any) -> bool:
    return hasattr(value, "model_dump") and hasattr(type(value), "model_fields")


def json_default(value: Any) -> Any:
    """What json.dumps cannot encode itself: models, dates, decimals, sets and tuples."""
    if _is_model(value):
        return value.model_dump(mode="json")
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    decimal = sys.modules.get("decimal")  # a Decimal exists only once its module is imported
    if decimal is not None and isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _dumps(value: Any) -> str:
    return json.dumps(value, default=json_default, ensure_ascii=False, separators=(",", ":"))


def _encode(body: Any) -> tuple[str, bool, str | None]:
    """(body text, is base64, default content type) for a body value."""
    if body is None:
        return "", False, None
    if isinstance(body, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(body)).decode("ascii"), True, BINARY_TYPE
    if isinstance(body, str):
        return body, False, TEXT_TYPE
    return _dumps(body), False, JSON_TYPE


def _payload(status: int, body: Any, headers: Mapping[str, str] | None,
             cookies: list[str] | tuple[str, ...] | None) -> dict[str, Any]:
    text, b64, content_type = _encode(body)
    out_headers = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    if content_type and "content-type" not in out_headers:
        out_headers["content-type"] = content_type
    return {
        "statusCode": status,
        "headers": out_headers,
        "body": text,
        "isBase64Encoded": b64,
        "cookies": [str(c) for c in cookies or ()],
    }


def render(result: Any) -> dict[str, Any]:
    """A handler's return value as an HTTP API payload 2.0 response."""
    if isinstance(result, Response):
        status = result.status
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError(f"Response status {status!r} is not an HTTP status (100-599)")
        return _payload(status, result.body, result.headers, result.cookies)
    if result is None:
        return _payload(204, None, None, None)
    if type(result) is tuple and 2 <= len(result) <= 3 and type(result[1]) is int and 100 <= result[1] <= 599:
        raise ValueError(f"the handler returned a tuple (body, {result[1]}, ...) as Flask takes one, and "
                         f"flowfn would answer it as a JSON list with status 200. Fix: return "
                         f"Response(body, status={result[1]}, headers=...)")
    return _payload(200, result, None, None)


def validation_error(exc: BaseException) -> bool:
    """True for pydantic's ValidationError (checked without importing pydantic)."""
    core = sys.modules.get("pydantic_core")
    return core is not None and isinstance(exc, core.ValidationError)


def field_errors(exc: Any) -> list[dict[str, Any]]:
    """pydantic's errors, reduced to what a client may see: where, what, and the error type."""
    return [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def render_error(exc: BaseException, request_id: str) -> dict[str, Any]:
    """The response for an exception a handler raised (callers log unexpected ones)."""
    if isinstance(exc, HTTPError):
        return _payload(exc.status, {"message": exc.message, "details": exc.details}, None, None)
    if validation_error(exc):
        body = {"message": "Validation failed", "details": field_errors(exc)}
        return _payload(422, body, None, None)
    return _payload(500, {"message": "Internal Server Error", "requestId": request_id}, None, None)


def _request_id(context: object) -> str:
    return str(getattr(context, "aws_request_id", "") or "")


def run_http(handler: Handler, event: Mapping[str, Any], context: object) -> Any:
    try:
        request = Request.from_raw(event)  # a malformed event raises EventError: no request to answer
    except HTTPError as exc:  # a body that cannot be read: 400
        return render_error(exc, _request_id(context) or request_id_of(event))
    request_id = _request_id(context) or request.request_id
    try:
        return render(call(handler, request, context))
    except Exception as exc:
        from flowfn.runtime import log  # a failure's path: the logger and tracebacks load here
        from flowfn.runtime.stack import exception_keys

        if not validation_error(exc) and not isinstance(exc, HTTPError):
            log.current().error(f"handler {handler.name!r} raised {type(exc).__name__}; answering 500 "
                                "(traceback under 'exception')", **exception_keys(exc))
        try:
            return render_error(exc, request_id)
        except (TypeError, ValueError) as bad:  # an HTTPError whose details are not JSON
            log.current().error(f"cannot encode the error response: {bad} (traceback under 'exception')",
                                **exception_keys(bad))
            return render_error(RuntimeError(), request_id)


def prepare_http(handler: Handler) -> Runner:
    """The http adapter: what runs each event of ``handler``."""
    return each_event(run_http, handler)
