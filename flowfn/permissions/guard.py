"""Holding each handler's AWS calls to the policy ``flowfn synth`` writes for its function.

While a local run is active, every botocore API call in the process (of clients made with
``boto3.client``, ``boto3.resource`` or a new session, at import time or before the run started
too) passes a check first. The check looks up which function is running in a context variable
the invoker sets for each invocation; outside an invocation (flowfn's own pollers, provisioning,
the mirror) it does nothing. Threads a handler starts inherit its context. The policy is the synth API's
(:func:`flowfn.synth.policy_for`) rendered with the local resources' ARNs; a call it does not
allow raises the ``ClientError`` AWS would raise, with what would allow it added.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from flowfn.app import App
from flowfn.function import Handler
from flowfn.local.provision import Bindings
from flowfn.permissions.evaluate import evaluate, granted_by
from flowfn.permissions.explain import fix_for
from flowfn.permissions.requests import Request, requests_for

if TYPE_CHECKING:
    from flowfn.synth.iam import Policy

# flowfn.synth is imported on a handler's first AWS call, not before: importing it (the whole
# synth package) would add tens of milliseconds to run-local's start.

__all__ = ["Call", "Guard", "Mode", "installed"]

Mode = Literal["enforce", "warn", "off"]
MODES: tuple[Mode, ...] = ("enforce", "warn", "off")

log = logging.getLogger("flowfn.permissions")


@dataclass(frozen=True)
class Call:
    """One authorization request a handler's call made, and what the policy said."""

    function: str
    operation: str
    action: str
    resource: str
    #: ``allowed``, ``denied`` or ``unchecked`` (an operation or service flowfn does not model).
    decision: str


@dataclass
class _Scope:
    guard: Guard
    handler: Handler
    #: The app the invocation started under: the policy read on its first AWS call is this app's.
    app: App
    _document: dict[str, Any] | None = None

    def document(self) -> dict[str, Any]:
        if self._document is None:
            self._document = self.guard.document(self.handler, self.app)
        return self._document


_SCOPE: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar("flowfn_permissions", default=None)


@dataclass
class Guard:
    """The policies of one local run's functions and the calls made against them."""

    app: App
    bindings: Bindings
    mode: Mode = "enforce"
    calls: list[Call] = field(default_factory=list)
    #: Record each distinct call once, and an allowed one by the resource as the grant that allowed
    #: it names it (a long run: the report needs no more, and a list of every call, or of every
    #: object key a handler wrote, would grow with every event handled).
    distinct: bool = False
    _seen: set[Call] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _documents: dict[str, dict[str, Any]] = field(default_factory=dict)

    def rebind(self, app: App, bindings: Bindings) -> None:
        """Read the policies of a reloaded app."""
        with self._lock:
            self.app, self.bindings = app, bindings
            self._documents.clear()

    def policy(self, handler: Handler) -> Policy:
        """The synth API's policy of ``handler``'s function."""
        from flowfn.synth.iam import policy_for

        return policy_for(self.app, handler)

    def document(self, handler: Handler, app: App | None = None) -> dict[str, Any]:
        """The policy document enforced on ``handler``: synth's policy with this run's ARNs, as
        the current app declares the function (or ``app``, the version an invocation started
        under before a reload; only the current app's documents are kept)."""
        with self._lock:
            app = app or self.app
            found = self._documents.get(handler.name) if app is self.app else None
        if found is None:
            from flowfn.synth.iam import concrete_arn, policy_for

            target = self.bindings.target
            physical = self.physical_names(handler)
            found = policy_for(app, handler).document(
                lambda t: concrete_arn(t, physical, region=target.region, account=target.account))
            with self._lock:
                if app is self.app:
                    self._documents[handler.name] = found
        return found

    def physical_names(self, handler: Handler) -> dict[tuple[str, str], str]:
        """What :func:`concrete_arn` needs: each resource's local name."""
        from flowfn.synth.iam import FAILED_EVENTS

        names: dict[tuple[str, str], str] = {}
        for logical, bucket in self.bindings.buckets.items():
            names[("bucket", logical)] = bucket
        for logical, url in self.bindings.queue_urls.items():
            names[("queue", logical)] = url.rstrip("/").rsplit("/", 1)[-1]
        names.setdefault(("queue", FAILED_EVENTS), FAILED_EVENTS)
        names.update(self.bindings.arns)
        names.update(self.bindings.names)
        names[("log-group", handler.name)] = f"/aws/lambda/{handler.settings.name}"
        return names

    def role_arn(self, handler: Handler) -> str:
        """The principal AWS names in an AccessDenied message for ``handler``'s function."""
        name = handler.settings.name
        return f"arn:aws:sts::{self.bindings.target.account}:assumed-role/{name}-role/{name}"

    @contextmanager
    def scope(self, handler: Handler) -> Iterator[None]:
        """Check the calls made in this context against ``handler``'s policy (unless the mode is
        ``off``). Threads started in it inherit the context: its policy and its environment. The
        policy is built on the function's first checked call: one that calls no AWS API never pays
        for it (nor does any function with the mode ``off``)."""
        token = _SCOPE.set(_Scope(self, handler, self.app))  # the policy is read on the first AWS call
        try:
            yield
        finally:
            _SCOPE.reset(token)

    def record(self, call: Call) -> None:
        with self._lock:
            if self.distinct:
                if call in self._seen:
                    return
                self._seen.add(call)
            self.calls.append(call)


def _check(client: Any, params: Any, model: Any, **_: Any) -> None:
    scope = _SCOPE.get()
    if scope is None or scope.guard.mode == "off":
        return
    guard, handler = scope.guard, scope.handler
    service, operation = model.service_model.service_name, model.name
    region = client.meta.region_name or guard.bindings.target.region
    found = requests_for(service, operation, params or {}, region=region,
                         account=guard.bindings.target.account)
    if found is None:
        guard.record(Call(handler.name, f"{service}:{operation}", "", "", "unchecked"))
        log.warning("flowfn does not check %s:%s; handler %r called it unchecked", service, operation,
                    handler.name)
        return
    for request in found:
        decision = evaluate(scope.document(), request)
        allowed = decision == "allowed"
        resource = request.resource
        if allowed and guard.distinct:
            resource = granted_by(scope.document(), request) or resource
        guard.record(Call(handler.name, f"{service}:{operation}", request.action, resource,
                          "allowed" if allowed else "denied"))
        if allowed:
            continue
        message = _denied_message(guard, handler, service, request, decision)
        if guard.mode == "warn":
            log.warning("would be denied in AWS: %s", message)
            continue
        code = "AuthorizationError" if service == "sns" else (
            "AccessDenied" if service in ("s3", "sqs") else "AccessDeniedException")
        error = {"Error": {"Code": code, "Message": message},
                 "ResponseMetadata": {"HTTPStatusCode": 403}}
        raise client.exceptions.from_code(code)(error, operation)


def _denied_message(guard: Guard, handler: Handler, service: str, request: Request, decision: str) -> str:
    because = ("an explicit deny in an identity-based policy" if decision == "explicitly-denied"
               else f"no identity-based policy allows the {request.action} action")
    action = request.action.replace("sns:", "SNS:") if service == "sns" else request.action
    fix = fix_for(guard.app, guard.bindings, handler, request)
    return (f"User: {guard.role_arn(handler)} is not authorized to perform: {action} on resource: "
            f"\"{request.resource}\" because {because}. flowfn: {fix}")


_install_lock = threading.Lock()
_users = 0
_saved: dict[str, Any] = {}


def _patched_call(original: Any) -> Any:
    def _make_api_call(self: Any, operation_name: str, api_params: Any) -> Any:
        if _SCOPE.get() is not None:
            _check(self, api_params, self._service_model.operation_model(operation_name))
        return original(self, operation_name, api_params)

    return _make_api_call


def _patched_start(original: Any) -> Any:
    def start(self: threading.Thread) -> None:
        if _SCOPE.get() is not None:  # a thread a handler starts runs under its function's policy
            context = contextvars.copy_context()
            run = self.run
            self.run = lambda: context.run(run)  # type: ignore[method-assign]
        original(self)

    return start


@contextmanager
def installed() -> Iterator[None]:
    """Hook botocore's API calls and thread starts for the duration (re-entrant)."""
    import botocore.client

    global _users
    with _install_lock:
        if _users == 0:
            _saved["call"] = getattr(botocore.client.BaseClient, "_make_api_call")  # noqa: B009
            _saved["start"] = threading.Thread.start
            setattr(botocore.client.BaseClient, "_make_api_call", _patched_call(_saved["call"]))  # noqa: B010
            threading.Thread.start = _patched_start(_saved["start"])  # type: ignore[method-assign]
        _users += 1
    try:
        yield
    finally:
        with _install_lock:
            _users -= 1
            if _users == 0:
                setattr(botocore.client.BaseClient, "_make_api_call", _saved.pop("call"))  # noqa: B010
                threading.Thread.start = _saved.pop("start")  # type: ignore[method-assign]
