"""The whole application on this machine: emulator, resources, sources and invoker together.

:class:`LocalApp` is what ``flowfn run-local`` and ``flowfn.testing`` run. It starts the emulator
(the embedded moto server unless an endpoint is named), imports the app with boto3 pointed at
it, creates every bucket, queue and DLQ, and starts one source per trigger kind, chosen from a
typed table. :meth:`LocalApp.drain` waits until every consumed queue is empty and nothing runs.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from flowfn.app import App
from flowfn.errors import FlowfnError
from flowfn.function import Handler
from flowfn.local import environ, heap
from flowfn.local.emulator import (
    AwsTarget,
    EmbeddedMoto,
    Emulator,
    claim,
    endpoint_for,
    handler_session,
    release,
)
from flowfn.local.http import HttpServer, Router
from flowfn.local.invoker import Invocation, Invoker
from flowfn.local.kinds import TABLE, SourceContext
from flowfn.local.provision import Bindings, teardown
from flowfn.local.resource_kinds import local_name, provision
from flowfn.local.s3 import ObjectChange
from flowfn.local.schedule import ScheduleSource
from flowfn.local.source import STREAM_RECORDS, Source

__all__ = ["DrainTimeout", "LocalApp", "Options", "Source"]


class DrainTimeout(FlowfnError, TimeoutError):
    """The app did not become idle in time; the message says what was still pending."""


@dataclass
class Options:
    """How a local run behaves."""

    #: Another emulator's URL; None starts the embedded moto server.
    endpoint_url: str | None = None
    region: str = "us-east-1"
    #: Make failed SQS messages visible again at once and retry failed asynchronous invocations
    #: without waiting (flowfn.testing fast-forwards time).
    retry_now: bool = False
    #: Retries of a failed asynchronous invocation (S3, schedule); Lambda's default is 2.
    async_retries: int = 2
    #: Start of a virtual schedule clock; None runs schedules on the wall clock.
    clock_start: datetime | None = None
    #: The time the wall clock of schedules shows once they start (run-local's ``--clock-start``);
    #: it runs on at normal speed from there.
    wall_clock_start: datetime | None = None
    #: Serve the HTTP API on this port (0: a free one) when the app has routes; None serves no socket.
    http_port: int | None = None
    #: Called with every finished invocation.
    listeners: list[Callable[[Invocation], None]] = field(default_factory=list)
    #: Called with every object written to or removed from a bucket.
    observers: list[Callable[[ObjectChange], None]] = field(default_factory=list)
    #: Start the sources (pollers, notifications, wall-clock schedules); False only provisions,
    #: for one-off invocations next to a running app.
    sources: bool = True
    #: Called after the emulator has the buckets, before notifications start (the mirror seeds here).
    on_provisioned: list[Callable[[LocalApp], None]] = field(default_factory=list)
    #: Called once every queue exists and notifications are on, before any source starts (after
    #: a reload too); run-local restores saved messages here.
    on_ready: list[Callable[[LocalApp], None]] = field(default_factory=list)
    #: Called on stop once sources have stopped, in-flight invocations have finished and observers
    #: have seen the objects they wrote, while the emulator still runs; run-local saves queues here.
    on_stopped: list[Callable[[LocalApp], None]] = field(default_factory=list)
    #: Hold handlers' AWS calls to their functions' policies: ``enforce`` (a call the policy does
    #: not allow fails as in AWS), ``warn`` (logged, allowed) or ``off``.
    permissions: str = "enforce"
    #: Where stream pollers keep their checkpoints, under the app's name (None: in memory only).
    state_dir: Path | None = None
    #: Keep every finished invocation's record and every AWS call a handler made (``flowfn.testing``
    #: reads them). A long run (run-local) keeps no records, only the SQS messages whose last
    #: invocation failed (:meth:`Invoker.unsettled`), and each distinct call once: otherwise both
    #: would grow with every event it handles.
    keep_records: bool = True
    #: Leave what exists once the app is loaded (modules, service models, the emulator) out of the
    #: garbage collector's full passes while it runs (:mod:`flowfn.local.heap`), as a long run
    #: (run-local) does; a reload collects the old code's garbage and freezes again. Off by
    #: default: a test process's collector is its own.
    freeze_heap: bool = False


S = TypeVar("S", bound=Source)


class LocalApp:
    """An app running locally. Use as a context manager, or call start() and stop()."""

    def __init__(self, app: str | App, options: Options | None = None) -> None:
        self.spec = app
        self.options = options or Options()
        self.emulator: Emulator = endpoint_for(self.options.endpoint_url)
        self._stack = contextlib.ExitStack()
        self._sources: list[Source] = []
        self._app: App | None = None
        self._target: AwsTarget | None = None
        self._bindings: Bindings | None = None
        self._invoker: Invoker | None = None
        #: Every kind's sources, started or not, by trigger kind (see flowfn.local.kinds).
        self._made: dict[type, list[Source]] = {}
        self._server: HttpServer | None = None
        self._server_stopped = False
        self._sqs: Any = None
        self._clock_offset: timedelta | None = None
        self._token = secrets.token_hex(4)
        self._frozen = False

    # -- what is running ------------------------------------------------------------------------

    def _need(self, value: Any, what: str) -> Any:
        if value is None:
            raise FlowfnError(f"the local app is not started; {what} exists once start() ran")
        return value

    @property
    def app(self) -> App:
        return self._need(self._app, "the app")  # type: ignore[no-any-return]

    @property
    def target(self) -> AwsTarget:
        return self._need(self._target, "the emulator")  # type: ignore[no-any-return]

    @property
    def bindings(self) -> Bindings:
        return self._need(self._bindings, "resource names")  # type: ignore[no-any-return]

    @property
    def invoker(self) -> Invoker:
        return self._need(self._invoker, "the invoker")  # type: ignore[no-any-return]

    def source(self, cls: type[S]) -> S:
        """The source of class ``cls`` the kinds' table made for this run (the first, when several)."""
        for sources in self._made.values():
            for source in sources:
                if isinstance(source, cls):
                    return source
        raise FlowfnError(f"the local app is not started; its {cls.__name__} exists once start() ran")

    @property
    def schedules(self) -> ScheduleSource:
        """The schedules' source, with its clock (flowfn.testing's Clock and ``fire`` use it)."""
        return self.source(ScheduleSource)

    @property
    def router(self) -> Router:
        """The HTTP routes' source: the HTTP server and flowfn.testing hand it requests."""
        return self.source(Router)

    @property
    def http_url(self) -> str | None:
        return self._server.url if self._server is not None else None

    # -- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> LocalApp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalApp:
        """Start the emulator, import and provision the app, and start its sources."""
        from flowfn.permissions import MODES

        if self.options.permissions not in MODES:
            raise FlowfnError(f"permissions={self.options.permissions!r} is not a mode. "
                              f"Fix: use one of {', '.join(MODES)}")
        try:
            self._stack.enter_context(environ.installed())
            self._stack.callback(_use_handler_session())
            from flowfn.permissions import installed  # threads a handler starts inherit its context

            self._stack.enter_context(installed())
            self.emulator.start()
            self._stack.callback(self.emulator.stop)
            self._target = AwsTarget(self.emulator.endpoint_url, region=self.options.region)
            self._invoker = Invoker(App("loading"), Bindings(self._target), self.options.listeners,
                                    keep_records=self.options.keep_records)
            delays = (0.0, 0.0) if self.options.retry_now else (60.0, 120.0)
            self._invoker.async_retry_delays = tuple(
                delays[min(i, len(delays) - 1)] for i in range(self.options.async_retries))
            self._load()
            if self.options.http_port is not None and self.router.routes:
                self._server = HttpServer(self.router, self.options.http_port)
                self._server.start()
                self._stack.callback(self._stop_server)
            self._stack.callback(self._shutdown)
        except BaseException:
            self.stop()
            raise
        return self

    def _import(self) -> App:
        from flowfn.loader import load_app

        with environ.layer(self.target.environment()):
            app = self.spec if isinstance(self.spec, App) else load_app(self.spec, fresh=True)
        return app.freeze()

    def _load(self, app: App | None = None) -> None:
        app = app or self._import()
        if self.emulator.embedded:
            if self._app is None:
                self._stack.callback(release, self)
                self._stack.callback(self._clean_shared_state)
            claim({f"{res.kind} {local_name(res)!r}" for res in app.all_resources()}, self)
        with environ.layer(self.target.environment()):
            self._bindings = provision(app, self.target, self._bindings)
        self._app = app
        invoker = self.invoker
        invoker.app, invoker.bindings = app, self.bindings
        self._guard(app)
        for hook in self.options.on_provisioned:
            hook(self)
        if self._clock_offset is None:
            wall = self.options.wall_clock_start
            self._clock_offset = wall - datetime.now(UTC) if wall is not None else timedelta()
        by_kind: dict[type, list[Handler]] = {kind: [] for kind in TABLE}
        for handler in app.handlers:
            if type(handler.trigger) not in by_kind:
                raise FlowfnError(f"run-local cannot run {type(handler.trigger).__name__} triggers yet "
                                  f"(handler {handler.name!r})")
            by_kind[type(handler.trigger)].append(handler)
        previous, self._made = self._made, {}
        state_dir = None if self.options.state_dir is None else self.options.state_dir / (app.name or "app")
        for kind, local_kind in TABLE.items():
            context = SourceContext(
                app, invoker, self.bindings, starts=self.options.sources, retry_now=self.options.retry_now,
                run=self._token, observers=self.options.observers, clock_start=self.options.clock_start,
                clock_offset=self._clock_offset, previous=previous.get(kind, []),
                state_dir=state_dir)
            self._made[kind] = local_kind.source(context, by_kind[kind])
        if self._server is not None:
            self._server.router = self.router
        if not self.options.sources:
            return
        if self.options.freeze_heap and not self._frozen:
            heap.freeze()  # before the hooks: what they write is the run's data, not start-up's
            self._frozen = True
            self._stack.callback(self._thaw)
        for hook in self.options.on_ready:
            hook(self)
        sources = [source for made in self._made.values() for source in made]
        for source in sources:
            source.start()
        self._sources = sources

    def _thaw(self) -> None:
        self._frozen = False
        heap.thaw()

    def _guard(self, app: App) -> None:
        from flowfn.permissions import Guard

        mode = self.options.permissions
        if self.invoker.guard is None:
            self.invoker.guard = Guard(app, self.bindings, mode,  # type: ignore[arg-type]
                                       distinct=not self.options.keep_records)
        else:
            self.invoker.guard.rebind(app, self.bindings)

    def _stop_sources(self, final: bool = False) -> None:
        for source in self._sources:  # all stop receiving at once; then each is joined
            source.signal_stop()
        if final:
            self._stop_server()  # no request starts while the running ones finish
        for source in reversed(self._sources):
            source.stop()
        self._sources = []
        if self._invoker is not None:
            # Asynchronous invocations in flight finish (each within its function's timeout).
            limit = max((h.settings.timeout_s for h in self._app.handlers), default=0) if self._app else 0
            deadline = time.monotonic() + limit + 1
            while self._invoker.inflight and time.monotonic() < deadline:
                self._invoker.wait_change(0.05)
            self._invoker.join_abandoned(2.0)

    def _shutdown(self) -> None:
        """The final stop: sources stop taking work and in-flight invocations finish; then the
        objects those wrote meanwhile reach the observers (the mirror), from notifications left
        queued for the next start; then the ``on_stopped`` hooks run."""
        running = bool(self._sources)
        self._stop_sources(final=True)
        if running:
            for made in self._made.values():
                for source in made:
                    source.settle()
        for hook in self.options.on_stopped:
            hook(self)

    def held_queues(self) -> dict[str, str]:
        """Queues whose messages outlive a stop, name -> URL: the app's queues, then their
        dead-letter queues, then the sources' own (flowfn's S3 notification queue, as
        ``NOTIFICATION_QUEUE``)."""
        queues = sorted(self.app.queues(), key=lambda q: q.is_dlq)
        held = {q.logical_name: self.bindings.queue_urls[q.logical_name] for q in queues}
        for made in self._made.values():
            for source in made:
                held.update(source.held())
        return held

    def _clean_shared_state(self) -> None:
        # Another embedded run keeps the process-wide state alive: leave nothing behind in it.
        if isinstance(self.emulator, EmbeddedMoto) and EmbeddedMoto.shared() and self._bindings:
            own = [url for made in self._made.values() for source in made for url in source.held().values()]
            teardown(self._bindings, own)

    def _stop_server(self) -> None:
        if self._server is not None and not self._server_stopped:
            self._server_stopped = True
            self._server.stop()

    def stop(self) -> None:
        """Stop sources (in-flight invocations finish first), the HTTP server and the emulator."""
        self._stack.close()

    def reload(self) -> App:
        """Re-import the app's code and restart its sources; buckets and queues are kept.

        The new code is imported first: when that fails (a syntax error, say) the error is
        raised and the running version keeps running.
        """
        app = self._import()
        self._stop_sources()
        self._load(app)
        if self._frozen:
            heap.refreeze()  # the old code is garbage now: collected, not kept frozen
        return app

    # -- idleness -------------------------------------------------------------------------------

    def sources(self) -> list[Source]:
        """The running sources."""
        return list(self._sources)

    def pending_queues(self) -> list[str]:
        """URLs of queues someone consumes: flowfn's notification queue and every @on_sqs queue."""
        urls: list[str] = []
        for source in self._sources:
            urls.extend(source.queues())
        return urls

    def queue_depths(self, urls: list[str] | None = None) -> dict[str, int]:
        """Messages waiting, in flight or delayed, per queue URL."""
        if self._sqs is None:
            self._sqs = self.target.client("sqs")
        sqs = self._sqs
        depths = {}
        for url in urls if urls is not None else self.pending_queues():
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ])["Attributes"]
            depths[url] = sum(int(v) for v in attrs.values())
        return depths

    def drain(self, timeout: float = 60.0, *, end_windows: bool = True) -> None:
        """Wait until every consumed queue is empty and no invocation runs.

        While it waits, nothing but the app itself can send: when no invocation runs and every
        message waiting (every stream record not done) sits in a batch being gathered (on a shard
        read to its end), those batches' batching windows end at once (``end_windows``), since
        waiting them out could gather nothing more.

        Raises DrainTimeout, naming what is still pending, after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        invoker = self.invoker
        while True:
            running, generation = invoker.activity()
            # A source still reading in (a shard not read to its end) keeps the drain going and no
            # window can end: nothing to ask the emulator, whose answers would cost the pollers' time.
            if running == 0 and not any(source.reading() for source in self._sources):
                depths = self.queue_depths()
                held = sum(source.pending() for source in self._sources)
                if held:
                    depths[STREAM_RECORDS] = held
                if not any(depths.values()) and invoker.activity() == (0, generation):
                    return
                if end_windows:
                    self._end_windows(depths, generation)
            else:
                depths = {}
            if time.monotonic() > deadline:
                waiting = ", ".join(f"{url.rsplit('/', 1)[-1]}: {n}" for url, n in depths.items() if n)
                raise DrainTimeout(
                    f"the app was still busy after {timeout:g}s ({running} invocations running"
                    + (f"; messages in {waiting}" if waiting else "") + "). A handler may loop "
                    "(each run triggering the next) or wait on something; look at the records of "
                    "its invocations, or give drain() a longer timeout."
                )
            invoker.wait_change(0.02 if running else 0.01)

    def _end_windows(self, depths: dict[str, int], generation: int) -> None:
        # Read after ``depths``: a message counted there but not yet in a gathering batch (just
        # received, or handed back) makes the two differ, and the windows go on.
        gathering: dict[str, int] = {}
        for source in self._sources:
            for url, count in source.gathering().items():
                gathering[url] = gathering.get(url, 0) + count
        quiet = bool(gathering) and all(count == gathering.get(url, 0) for url, count in depths.items())
        if quiet and self.invoker.activity() == (0, generation):
            for source in self._sources:
                source.end_windows()


def _use_handler_session() -> Callable[[], None]:
    """Make boto3's default session the warmed one for handlers; returns how to undo it, so the
    dummy credentials never outlive the run."""
    import boto3

    before = boto3.DEFAULT_SESSION
    boto3.DEFAULT_SESSION = handler_session()

    def restore() -> None:
        boto3.DEFAULT_SESSION = before

    return restore
