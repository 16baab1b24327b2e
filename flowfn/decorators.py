"""The decorator methods of an App, one per trigger kind.

Each builds its kind's frozen trigger spec (importing that kind's spec module when it is used, so a
deployed function loads its own kinds only) and registers the function through the app's
``_register``, which turns the function settings into a ``FunctionSettings`` and calls
:meth:`flowfn.app.App.add`. The function itself is returned unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from flowfn.resources import Bucket, EventBus, Grant, Queue, Stream, Table, Topic
    from flowfn.triggers.base import Trigger

__all__ = ["AppDecorators", "F"]

F = TypeVar("F", bound=Callable[..., Any])


class AppDecorators:
    """``on_s3``, ``on_sqs`` ... : the decorators :class:`flowfn.app.App` offers."""

    __slots__ = ()

    if TYPE_CHECKING:  # App's: registers ``fn`` under ``name`` with the trigger ``build(subject)`` makes
        def _register(self, fn: F, name: str | None, build: Callable[[str], Trigger],
                      settings: dict[str, Any]) -> F: ...

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
