"""The registry: an App records handlers and the resources they use.

Decorators record a frozen spec and return the function unchanged; each is sugar for one call
to :meth:`App.add`. The module-level decorators (``flowfn.on_s3`` ...) register into an app
kept in the decorated function's own module, so a plain module needs no ``App()`` of its own and
two modules never share one by accident.
"""

from __future__ import annotations

import os.path
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from flowfn._frozen import Frozen
from flowfn.decorators import AppDecorators, F
from flowfn.errors import ConfigError, FrozenAppError
from flowfn.function import FunctionSettings, Handler, make_settings
from flowfn.resources import Resource
from flowfn.triggers.base import Trigger, call_arity

if TYPE_CHECKING:
    from flowfn.resources import Bucket, Queue, Topic

# A resource is told by its kind's name while the app registers handlers, and each decorator
# imports its own kind's spec module: a deployed function loads its own kinds only.

__all__ = ["App", "AppOrigin", "F"]

#: Where a module keeps the app its module-level decorators fill.
MODULE_APP_ATTR = "__flowfn_app__"


class AppOrigin(Frozen):
    """Where an app was loaded from: the folder to package and the module to import."""

    root: str
    module: str
    attr: str | None = None

    @property
    def target(self) -> str:
        return f"{self.module}:{self.attr}" if self.attr else self.module


def _is_queue(res: object) -> bool:
    return getattr(res, "kind", None) == "queue"


def _resource_config(res: Resource) -> tuple[Any, ...]:
    if _is_queue(res):
        queue = cast("Queue", res)
        return (queue.existing, queue.max_receive_count, queue.visibility_timeout_s, queue.retention_s,
                queue.delay_s, queue.content_based_deduplication)
    if res.kind == "topic":
        topic = cast("Topic", res)
        return (topic.existing, topic.content_based_deduplication,
                tuple(q.logical_name for q in topic.queues))
    return (res.existing,)


class App(AppDecorators):
    """A flowfn application: the registry of handlers and declared resources.

    ``App("shop")`` names the application (the stack and local state take that name). Register
    handlers with the decorator methods (:class:`~flowfn.decorators.AppDecorators`) or :meth:`add`.
    """

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self.origin: AppOrigin | None = None
        self._handlers: dict[str, Handler] = {}
        self._resources: dict[tuple[str, str], Resource] = {}
        self._all: tuple[Resource, ...] | None = None  # all_resources(), until a resource is added
        self._consumers: dict[tuple[str, str], Handler] | None = None  # consumer_of(), till an add()
        self._frozen = False

    def __repr__(self) -> str:
        return f"App({self.name!r}, {len(self._handlers)} handlers)"

    # -- the registry -------------------------------------------------------------------------

    @property
    def handlers(self) -> tuple[Handler, ...]:
        """Registered handlers, in registration order."""
        return tuple(self._handlers.values())

    @property
    def resources(self) -> tuple[Resource, ...]:
        """Declared resources (without dead-letter queues), in declaration order."""
        return tuple(self._resources.values())

    def all_resources(self) -> tuple[Resource, ...]:
        """Declared resources followed, for each queue, by its dead-letter queue."""
        if self._all is not None:
            return self._all
        out: dict[tuple[str, str], Resource] = {}
        for res in self._resources.values():
            out.setdefault((res.kind, res.logical_name), res)
            dlq = cast("Queue", res).dlq if _is_queue(res) else None
            if dlq is not None:
                # A handler granted a dead-letter queue directly declares it too: list it once.
                out.setdefault((dlq.kind, dlq.logical_name), dlq)
        self._all = tuple(out.values())
        return self._all

    def buckets(self) -> tuple[Bucket, ...]:
        from flowfn.resources import Bucket

        return tuple(r for r in self._resources.values() if isinstance(r, Bucket))

    def queues(self) -> tuple[Queue, ...]:
        """Declared queues and their dead-letter queues."""
        from flowfn.resources import Queue

        return tuple(r for r in self.all_resources() if isinstance(r, Queue))

    def handler(self, name: str) -> Handler:
        """The handler registered under ``name``; KeyError names the ones that exist."""
        try:
            return self._handlers[name]
        except KeyError:
            known = ", ".join(self._handlers) or "none"
            raise KeyError(f"no handler named {name!r} in {self!r} (handlers: {known})") from None

    def consumer_of(self, queue: Queue) -> Handler | None:
        """The handler whose trigger consumes ``queue`` (reads it by polling), if any."""
        consumers = self._consumers
        if consumers is None:  # worked out once for all queues: synth asks for every queue
            consumers = {}
            for handler in self._handlers.values():
                trigger = handler.trigger
                if trigger.invocation == "poll":
                    for r in trigger.resources():
                        consumers.setdefault((r.kind, r.logical_name), handler)
            self._consumers = consumers
        return consumers.get((queue.kind, queue.logical_name))

    def visibility_timeout(self, queue: Queue) -> int:
        """A queue's visibility timeout: as declared, else six times its consumer's timeout (AWS's
        advice), else SQS's default of 30 s."""
        from flowfn.resources.queue import DEFAULT_VISIBILITY_TIMEOUT_S, MAX_VISIBILITY_TIMEOUT_S

        if queue.visibility_timeout_s is not None:
            return queue.visibility_timeout_s
        consumer = self.consumer_of(queue)
        if consumer is None:
            return DEFAULT_VISIBILITY_TIMEOUT_S
        return min(6 * consumer.settings.timeout_s, MAX_VISIBILITY_TIMEOUT_S)

    @property
    def frozen(self) -> bool:
        return self._frozen

    def freeze(self) -> App:
        """Refuse further registrations; synth and run-local call this once they read the app."""
        self._frozen = True
        return self

    def declare(self, *resources: Resource) -> None:
        """Declare resources that no handler references (they are still created)."""
        for res in resources:
            if not isinstance(res, Resource):
                raise ConfigError(f"{self!r}.declare()", "resources", f"{res!r} is not a resource",
                                  "pass Bucket(...), Queue(...), Topic(...) or EventBus(...) objects")
            self._add_resource(res, f"{self!r}.declare()")

    def _add_resource(self, res: Resource, subject: str) -> None:
        key = (res.kind, res.logical_name)
        known = self._resources.get(key)
        if known is None:
            for other in self.all_resources():
                if other.env_key == res.env_key and other.logical_name != res.logical_name:
                    raise ConfigError(
                        subject, "resources",
                        f"{res!r} and {other!r} map to the same environment variable {res.env_key}",
                        "rename one of them",
                    )
            self._resources[key] = res
            self._all = None
            if res.kind == "topic":  # the queues subscribed to it are the app's too
                for queue in cast("Topic", res).queues:
                    self._add_resource(queue, subject)
        elif known is not res and _resource_config(known) != _resource_config(res):
            raise ConfigError(
                subject, "resources",
                f"two different declarations of {res.kind} {res.logical_name!r} disagree",
                "declare it once and import that object wherever it is used",
            )

    def add(
        self,
        fn: Callable[..., Any],
        trigger: Trigger,
        settings: FunctionSettings,
    ) -> Handler:
        """Register ``fn`` to run on ``trigger`` with ``settings``. The decorators call this."""
        subject = f"handler {settings.name!r}"
        if self._frozen:
            raise FrozenAppError(
                f"{subject}: {self!r} was already read by synth or run-local; register every "
                "handler at import time, before the app is used"
            )
        if not callable(fn):
            raise ConfigError(subject, "fn", f"{fn!r} is not callable", "decorate a function")
        arity = call_arity(fn, trigger, subject)
        trigger.check_kind(fn, subject)
        trigger.check_handler(fn, subject)
        trigger.check(subject, settings)
        existing = self._handlers.get(settings.name)
        if existing is not None and existing.fn is fn and existing.trigger != trigger:  # two decorators
            raise ConfigError(
                subject, "name",
                f"the function is already handler {settings.name!r} on {existing.trigger.describe()}, and a "
                "handler has one trigger",
                f"give this trigger a handler of its own: name={settings.name + '_' + trigger.kind!r}",
            )
        replacing = existing is not None and (existing.module, existing.qualname) == (
            fn.__module__, fn.__qualname__
        )
        if existing is not None and not replacing:
            raise ConfigError(
                subject, "name",
                f"{existing.module}.{existing.qualname} is already registered under that name",
                "give one of them another name with name='...'",
            )
        for other in self._handlers.values():
            if other.name == settings.name:
                continue
            why = trigger.conflict(other.trigger)
            if why:
                raise ConfigError(subject, trigger.kind, f"it and handler {other.name!r} {why}",
                                  "change one of the two triggers, or merge the handlers")
        failed = settings.on_failure
        if failed is not None and not (isinstance(failed, Resource) and _is_queue(failed)
                                       and not cast("Queue", failed).fifo):
            raise ConfigError(
                subject, "on_failure",
                f"{failed!r} is not a standard Queue (Lambda sends failed events to a standard queue)",
                "pass a Queue(...) to receive the events the function gives up on, or leave it out for "
                "the app's queue of failed events",
            )
        if settings.async_settings and trigger.invocation != "async":
            raise ConfigError(
                subject, "retries" if settings.retries is not None else
                "max_event_age_s" if settings.max_event_age_s is not None else "on_failure",
                f"a {trigger.kind} trigger does not invoke the function asynchronously, so Lambda has no "
                "retries, event age or failure destination for it",
                "drop the setting (S3, schedule, SNS and EventBridge triggers take it)",
            )
        failure = (settings.on_failure,) if settings.on_failure is not None else ()
        for res in (*trigger.resources(), *trigger.destinations(), *(g.resource for g in settings.uses),
                    *failure):
            self._add_resource(res, subject)
        handler = Handler(fn=fn, trigger=trigger, settings=settings, arity=arity)
        self._handlers[settings.name] = handler
        self._consumers = None
        return handler

    def merge(self, other: App) -> None:
        """Add every resource and handler of ``other`` (as one app spread over modules)."""
        for res in other.resources:
            self._add_resource(res, f"{other!r}")
        for handler in other.handlers:
            try:
                self.add(handler.fn, handler.trigger, handler.settings)
            except ConfigError as exc:  # a clash with another module's handler: name this one's line
                code = getattr(handler.fn, "__code__", None)
                if code is not None:
                    exc.locate(code.co_filename, code.co_firstlineno)  # its first decorator's line
                raise

    # -- registering decorated functions (the decorators are AppDecorators') ----------------

    def _register(self, fn: F, name: str | None, build: Callable[[str], Trigger],
                  settings: dict[str, Any]) -> F:
        try:
            fn_name = _handler_name(fn, name)
            subject = f"handler {fn_name!r}"
            trigger = build(subject)
            self.add(fn, trigger, make_settings(name=fn_name, **settings))
        except ConfigError as exc:
            exc.locate(*_user_line(fn))
            raise
        return fn

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _user_line(fn: Any) -> tuple[str, int]:
    """The file and line of the first caller outside flowfn: the decorator's line, for a handler
    declared with one (else the function's own first line)."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_PACKAGE_DIR):
            return filename, frame.f_lineno
        frame = frame.f_back  # type: ignore[assignment]
    code = getattr(fn, "__code__", None)
    return (code.co_filename, code.co_firstlineno) if code is not None else ("<unknown>", 0)


def _handler_name(fn: Any, name: object) -> str:
    if name is None:
        return str(getattr(fn, "__name__", None) or repr(fn))
    if not isinstance(name, str):
        raise ConfigError(f"handler {getattr(fn, '__name__', fn)!r}", "name", f"{name!r} is not a string",
                          "pass name='...' with 1-64 letters, digits, '-' or '_'")
    return name


def module_app(namespace: dict[str, Any]) -> App:
    """The app that module-level decorators fill, kept in the module's own namespace."""
    app = namespace.get(MODULE_APP_ATTR)
    if not isinstance(app, App):
        module = str(namespace.get("__name__", "app"))
        app = App(module.rsplit(".", 1)[-1])
        namespace[MODULE_APP_ATTR] = app
    return app


class _ModuleApps(App):
    """Stands behind the module-level decorators: registers into the function's module app."""

    def _register(self, fn: F, name: str | None, build: Callable[[str], Trigger],
                  settings: dict[str, Any]) -> F:
        namespace = getattr(fn, "__globals__", None)
        if not isinstance(namespace, dict):
            error = ConfigError(f"handler {fn!r}", "fn", "it is not a plain Python function",
                                "decorate a function defined with def")
            error.locate(*_user_line(fn))
            raise error
        return module_app(namespace)._register(fn, name, build, settings)


_module_apps = _ModuleApps("module apps")

#: Module-level decorators: the same as App's, registering into the decorated function's module.
on_s3 = _module_apps.on_s3
on_sqs = _module_apps.on_sqs
on_schedule = _module_apps.on_schedule
on_http = _module_apps.on_http
on_kinesis = _module_apps.on_kinesis
on_dynamodb_stream = _module_apps.on_dynamodb_stream
on_sns = _module_apps.on_sns
on_event = _module_apps.on_event
