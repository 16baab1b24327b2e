"""The registry: an App records handlers and the resources they use.

Decorators record a frozen spec and return the function unchanged; each is sugar for one call
to :meth:`App.add`. The module-level decorators (``flowfn.on_s3`` ...) register into an app
kept in the decorated function's own module, so a plain module needs no ``App()`` of its own and
two modules never share one by accident.
"""

from __future__ import annotations

import os.path
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flowfn._frozen import Frozen
from flowfn.errors import ConfigError, FrozenAppError
from flowfn.function import FunctionSettings, Handler, make_settings
from flowfn.resources import Grant, Resource
from flowfn.triggers.base import Trigger, call_arity

if TYPE_CHECKING:
    from flowfn.resources import Bucket, EventBus, Queue, Stream, Table, Topic

# Each decorator imports its own kind's spec module when it is used, and a resource is told by its
# kind's name while the app registers handlers: a deployed function loads its own kinds only.

__all__ = ["App", "AppOrigin", "F"]

F = TypeVar("F", bound=Callable[..., Any])

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


class App:
    """A flowfn application: the registry of handlers and declared resources.

    ``App("shop")`` names the application (the stack and local state take that name). Register
    handlers with the decorator methods or :meth:`add`.
    """

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self.origin: AppOrigin | None = None
        self._handlers: dict[str, Handler] = {}
        self._resources: dict[tuple[str, str], Resource] = {}
        self._all: tuple[Resource, ...] | None = None  # all_resources(), until a resource is added
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
        key = (queue.kind, queue.logical_name)
        for handler in self._handlers.values():
            trigger = handler.trigger
            read = {(r.kind, r.logical_name) for r in trigger.resources()}
            if trigger.invocation == "poll" and key in read:
                return handler
        return None

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

    # -- decorators ---------------------------------------------------------------------------

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

    def on_s3(
        self,
        bucket: Bucket,
        *,
        events: Iterable[str] | str = ("created",),
        prefix: str = "",
        suffix: str = "",
        batch: bool = False,
        name: str | None = None,
        memory_mb: int = 256,
        timeout_s: int = 30,
        ephemeral_storage_mb: int = 512,
        environment: Mapping[str, str] | None = None,
        reserved_concurrency: int | None = None,
        architecture: str = "arm64",
        log_level: str = "INFO",
        uses: Iterable[Grant] | None = None,
        retries: int | None = None,
        max_event_age_s: int | None = None,
        on_failure: Queue | None = None,
    ) -> Callable[[F], F]:
        """Run the decorated function when objects in ``bucket`` change.

        ``events``: ``"created"``, ``"removed"`` or S3 names such as ``"s3:ObjectCreated:Put"``.
        ``prefix``/``suffix``: key filters. The function takes ``(record, context)``, one S3 record
        at a time, or the whole S3 event with ``batch=True``. Function settings as in :meth:`add`.
        Invoked asynchronously: ``retries`` (0-2, default 2), ``max_event_age_s`` (60-21600) and
        ``on_failure`` (a Queue; default the app's queue of failed events) say what Lambda does
        with a failed event.
        """
        def decorator(fn: F) -> F:
            from flowfn.triggers.s3 import make_s3_trigger

            return self._register(
                fn, name, lambda subject: make_s3_trigger(bucket, events, prefix, suffix, batch, subject),
                dict(memory_mb=memory_mb, timeout_s=timeout_s,
                     ephemeral_storage_mb=ephemeral_storage_mb, environment=environment,
                     reserved_concurrency=reserved_concurrency, architecture=architecture,
                     log_level=log_level, uses=uses, retries=retries,
                     max_event_age_s=max_event_age_s, on_failure=on_failure),
            )

        return decorator

    def on_sqs(
        self,
        queue: Queue,
        *,
        batch_size: int = 10,
        batching_window_s: int = 0,
        batch: bool = False,
        model: type[Any] | None = None,
        max_concurrency: int | None = None,
        name: str | None = None,
        memory_mb: int = 256,
        timeout_s: int = 30,
        ephemeral_storage_mb: int = 512,
        environment: Mapping[str, str] | None = None,
        reserved_concurrency: int | None = None,
        architecture: str = "arm64",
        log_level: str = "INFO",
        uses: Iterable[Grant] | None = None,
    ) -> Callable[[F], F]:
        """Run the decorated function on messages from ``queue``.

        The function takes ``(record, context)`` one message at a time (a raising record is
        reported failed and retried alone), or the whole batch with ``batch=True``. With
        ``model=`` each body is validated into that pydantic model first.
        """

        def decorator(fn: F) -> F:
            from flowfn.triggers.sqs import make_sqs_trigger

            return self._register(
                fn, name,
                lambda subject: make_sqs_trigger(queue, batch_size, batching_window_s, batch, model,
                                                 max_concurrency, subject),
                dict(memory_mb=memory_mb, timeout_s=timeout_s,
                     ephemeral_storage_mb=ephemeral_storage_mb, environment=environment,
                     reserved_concurrency=reserved_concurrency, architecture=architecture,
                     log_level=log_level, uses=uses),
            )

        return decorator

    def on_kinesis(
        self,
        stream: Stream,
        *,
        batch_size: int = 100,
        batching_window_s: int = 0,
        starting_position: str = "latest",
        starting_timestamp: float | None = None,
        bisect_on_error: bool = False,
        max_retries: int | None = None,
        max_record_age_s: int | None = None,
        parallelization: int = 1,
        on_failure: Queue | None = None,
        filters: Iterable[Mapping[str, Any]] | None = None,
        batch: bool = False,
        model: type[Any] | None = None,
        tumbling_window_s: int = 0,
        name: str | None = None,
        memory_mb: int = 256,
        timeout_s: int = 30,
        ephemeral_storage_mb: int = 512,
        environment: Mapping[str, str] | None = None,
        reserved_concurrency: int | None = None,
        architecture: str = "arm64",
        log_level: str = "INFO",
        uses: Iterable[Grant] | None = None,
    ) -> Callable[[F], F]:
        """Run the decorated function on records of a Kinesis ``stream``, shard by shard, in order.

        The function takes ``(record, context)`` one record at a time (a raising record is reported
        failed; it and the records after it in its shard are retried), or the whole batch with
        ``batch=True`` (raising fails the invocation, and the whole batch is retried). ``model=``
        validates each record's JSON data first. The mapping's settings (``batch_size`` ...
        ``filters``) are described on :class:`~flowfn.triggers.streaming.StreamSettings`.

        Lambda halves a batch (``bisect_on_error``) only when the invocation fails, never on a
        reported record. So with ``bisect_on_error``, a record that fails as the first of a batch
        of more than one fails the invocation (``StreamRecordFailed``): the batch is halved until
        the record is alone, and after ``max_retries`` only it goes to ``on_failure``. Without
        ``bisect_on_error`` (or with ``max_retries=0``, which leaves no retry to start a bisect
        from), a retried batch starts at the failed record, and after ``max_retries`` it is given
        up whole: the records after the failed one in it are never handled.

        ``tumbling_window_s`` (with ``batch=True``) aggregates each shard over windows of that many
        seconds: the batch carries the window's ``state`` from one invocation to the next, and the
        window's last invocation, when it ends, has ``batch.is_final`` (see ``StreamBatch``).
        """
        settings = dict(batch_size=batch_size, batching_window_s=batching_window_s,
                        starting_position=starting_position, starting_timestamp=starting_timestamp,
                        bisect_on_error=bisect_on_error, max_retries=max_retries,
                        max_record_age_s=max_record_age_s, parallelization=parallelization,
                        on_failure=on_failure, batch=batch, model=model,
                        tumbling_window_s=tumbling_window_s)

        def decorator(fn: F) -> F:
            from flowfn.triggers.kinesis import make_kinesis_trigger

            return self._register(
                fn, name, lambda subject: make_kinesis_trigger(stream, subject, filters, **settings),
                dict(memory_mb=memory_mb, timeout_s=timeout_s,
                     ephemeral_storage_mb=ephemeral_storage_mb, environment=environment,
                     reserved_concurrency=reserved_concurrency, architecture=architecture,
                     log_level=log_level, uses=uses),
            )

        return decorator

    def on_dynamodb_stream(
        self,
        table: Table,
        *,
        batch_size: int = 100,
        batching_window_s: int = 0,
        starting_position: str = "latest",
        bisect_on_error: bool = False,
        max_retries: int | None = None,
        max_record_age_s: int | None = None,
        parallelization: int = 1,
        on_failure: Queue | None = None,
        filters: Iterable[Mapping[str, Any]] | None = None,
        batch: bool = False,
        model: type[Any] | None = None,
        tumbling_window_s: int = 0,
        name: str | None = None,
        memory_mb: int = 256,
        timeout_s: int = 30,
        ephemeral_storage_mb: int = 512,
        environment: Mapping[str, str] | None = None,
        reserved_concurrency: int | None = None,
        architecture: str = "arm64",
        log_level: str = "INFO",
        uses: Iterable[Grant] | None = None,
    ) -> Callable[[F], F]:
        """Run the decorated function on changes to ``table`` (declared with ``stream=``), in order.

        The function takes ``(record, context)`` one change at a time (a raising record is reported
        failed; it and the records after it in its shard are retried), or the whole batch with
        ``batch=True`` (raising fails the invocation, and the whole batch is retried). ``model=``
        validates each new image first. The mapping's settings are described on
        :class:`~flowfn.triggers.streaming.StreamSettings`.

        Lambda halves a batch (``bisect_on_error``) only when the invocation fails, never on a
        reported record. So with ``bisect_on_error``, a record that fails as the first of a batch
        of more than one fails the invocation (``StreamRecordFailed``): the batch is halved until
        the record is alone, and after ``max_retries`` only it goes to ``on_failure``. Without
        ``bisect_on_error`` (or with ``max_retries=0``, which leaves no retry to start a bisect
        from), a retried batch starts at the failed record, and after ``max_retries`` it is given
        up whole: the records after the failed one in it are never handled.

        ``tumbling_window_s`` (with ``batch=True``) aggregates each shard over windows of that many
        seconds: the batch carries the window's ``state`` from one invocation to the next, and the
        window's last invocation, when it ends, has ``batch.is_final`` (see ``StreamBatch``).
        """
        settings = dict(batch_size=batch_size, batching_window_s=batching_window_s,
                        starting_position=starting_position, starting_timestamp=None,
                        bisect_on_error=bisect_on_error, max_retries=max_retries,
                        max_record_age_s=max_record_age_s, parallelization=parallelization,
                        on_failure=on_failure, batch=batch, model=model,
                        tumbling_window_s=tumbling_window_s)

        def decorator(fn: F) -> F:
            from flowfn.triggers.dynamodb import make_dynamodb_trigger

            return self._register(
                fn, name, lambda subject: make_dynamodb_trigger(table, subject, filters, **settings),
                dict(memory_mb=memory_mb, timeout_s=timeout_s,
                     ephemeral_storage_mb=ephemeral_storage_mb, environment=environment,
                     reserved_concurrency=reserved_concurrency, architecture=architecture,
                     log_level=log_level, uses=uses),
            )

        return decorator

    def on_schedule(
        self,
        expression: str,
        *,
        timezone: str | None = None,
        enabled: bool = True,
        name: str | None = None,
        memory_mb: int = 256,
        timeout_s: int = 30,
        ephemeral_storage_mb: int = 512,
        environment: Mapping[str, str] | None = None,
        reserved_concurrency: int | None = None,
        architecture: str = "arm64",
        log_level: str = "INFO",
        uses: Iterable[Grant] | None = None,
        retries: int | None = None,
        max_event_age_s: int | None = None,
        on_failure: Queue | None = None,
    ) -> Callable[[F], F]:
        """Run the decorated function on an EventBridge schedule.

        ``expression`` is ``cron(minutes hours day-of-month month day-of-week year)`` as EventBridge
        reads it (1=Sunday, ``?`` in one day field) or ``rate(5 minutes)``. Times are UTC unless
        ``timezone`` names an IANA zone. The function takes ``(event, context)``, ``(event)`` or
        nothing. ``retries``, ``max_event_age_s`` and ``on_failure`` as in :meth:`on_s3`.
        """

        def decorator(fn: F) -> F:
            from flowfn.triggers.schedule import make_schedule_trigger

            return self._register(
                fn, name, lambda subject: make_schedule_trigger(expression, timezone, enabled, subject),
                dict(memory_mb=memory_mb, timeout_s=timeout_s,
                     ephemeral_storage_mb=ephemeral_storage_mb, environment=environment,
                     reserved_concurrency=reserved_concurrency, architecture=architecture,
                     log_level=log_level, uses=uses, retries=retries,
                     max_event_age_s=max_event_age_s, on_failure=on_failure),
            )

        return decorator

    def on_http(
        self,
        method: str,
        path: str,
        *,
        name: str | None = None,
        memory_mb: int = 256,
        timeout_s: int = 30,
        ephemeral_storage_mb: int = 512,
        environment: Mapping[str, str] | None = None,
        reserved_concurrency: int | None = None,
        architecture: str = "arm64",
        log_level: str = "INFO",
        uses: Iterable[Grant] | None = None,
    ) -> Callable[[F], F]:
        """Serve ``method`` requests on ``path`` of the app's HTTP API with the decorated function.

        ``path`` is a route template such as ``/thumbnails/{name}`` or ``/files/{key+}``. The
        function takes ``(request)`` or ``(request, context)`` and returns a dict, a pydantic
        model, a string or a ``Response``.
        """

        def decorator(fn: F) -> F:
            from flowfn.triggers.http import make_http_trigger

            return self._register(
                fn, name, lambda subject: make_http_trigger(method, path, subject),
                dict(memory_mb=memory_mb, timeout_s=timeout_s,
                     ephemeral_storage_mb=ephemeral_storage_mb, environment=environment,
                     reserved_concurrency=reserved_concurrency, architecture=architecture,
                     log_level=log_level, uses=uses),
            )

        return decorator

    def on_sns(
        self,
        topic: Topic,
        *,
        filter_policy: Mapping[str, Any] | None = None,
        filter_scope: str = "attributes",
        model: type[Any] | None = None,
        name: str | None = None,
        memory_mb: int = 256,
        timeout_s: int = 30,
        ephemeral_storage_mb: int = 512,
        environment: Mapping[str, str] | None = None,
        reserved_concurrency: int | None = None,
        architecture: str = "arm64",
        log_level: str = "INFO",
        uses: Iterable[Grant] | None = None,
        retries: int | None = None,
        max_event_age_s: int | None = None,
        on_failure: Queue | None = None,
    ) -> Callable[[F], F]:
        """Run the decorated function on each message published to ``topic`` (a standard topic).

        ``filter_policy`` is an SNS filter policy (``{"kind": ["thumbnail"], "size": [{"numeric":
        [">", 0]}]}``) on the message attributes, or with ``filter_scope="body"`` on the JSON
        message. The function takes ``(record, context)`` with an ``SnsRecord``, or with ``model=``
        (a pydantic model) the message validated into it. Lambda invokes it asynchronously: a
        failure is retried twice, then sent to the app's queue of failed events (``retries``,
        ``max_event_age_s`` and ``on_failure`` as in :meth:`on_s3`).
        """

        def decorator(fn: F) -> F:
            from flowfn.triggers.sns import make_sns_trigger

            return self._register(
                fn, name,
                lambda subject: make_sns_trigger(topic, filter_policy, filter_scope, model, subject),
                dict(memory_mb=memory_mb, timeout_s=timeout_s,
                     ephemeral_storage_mb=ephemeral_storage_mb, environment=environment,
                     reserved_concurrency=reserved_concurrency, architecture=architecture,
                     log_level=log_level, uses=uses, retries=retries,
                     max_event_age_s=max_event_age_s, on_failure=on_failure),
            )

        return decorator

    def on_event(
        self,
        pattern: Mapping[str, Any],
        *,
        bus: EventBus | None = None,
        model: type[Any] | None = None,
        name: str | None = None,
        memory_mb: int = 256,
        timeout_s: int = 30,
        ephemeral_storage_mb: int = 512,
        environment: Mapping[str, str] | None = None,
        reserved_concurrency: int | None = None,
        architecture: str = "arm64",
        log_level: str = "INFO",
        uses: Iterable[Grant] | None = None,
        retries: int | None = None,
        max_event_age_s: int | None = None,
        on_failure: Queue | None = None,
    ) -> Callable[[F], F]:
        """Run the decorated function on each event on ``bus`` (the default bus when left out)
        that matches ``pattern``, an EventBridge event pattern such as ``{"source": ["shop"],
        "detail": {"total": [{"numeric": [">", 100]}]}}`` (checked now: known operators only,
        AWS's limits). The function takes ``(event, context)`` with an ``EventBridgeEvent``, whose
        ``detail`` is validated into ``model=`` (a pydantic model) when given. Invoked
        asynchronously, like ``on_sns``.
        """

        def decorator(fn: F) -> F:
            from flowfn.triggers.eventbridge import make_eventbridge_trigger

            return self._register(
                fn, name, lambda subject: make_eventbridge_trigger(pattern, bus, model, subject),
                dict(memory_mb=memory_mb, timeout_s=timeout_s,
                     ephemeral_storage_mb=ephemeral_storage_mb, environment=environment,
                     reserved_concurrency=reserved_concurrency, architecture=architecture,
                     log_level=log_level, uses=uses, retries=retries,
                     max_event_age_s=max_event_age_s, on_failure=on_failure),
            )

        return decorator


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
