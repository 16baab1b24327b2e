"""Schedules: ``@on_schedule`` handlers fire at the times EventBridge would fire them.

Fire times come from the trigger itself (``ScheduleTrigger.next_fires``: flowfn's own EventBridge
cron parser, cross-checked against aws-croniter in the tests; fixed steps from the start for rate).
Under ``flowfn run-local`` a thread waits for the next fire on the wall clock; under
flowfn.testing the test moves a virtual clock with :meth:`advance`, and each fire due in between
runs in time order, without sleeping (a failed fire is retried as EventBridge's invocations are,
without the minutes between). Any handler can be fired now.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from flowfn.app import App
from flowfn.function import Handler
from flowfn.local.emulator import DUMMY_ACCOUNT
from flowfn.local.invoker import Invocation, Invoker
from flowfn.local.provision import Bindings
from flowfn.local.source import Source, sample_id
from flowfn.triggers.schedule import ScheduleTrigger, schedule_arn, scheduled_event

__all__ = ["ScheduleSource"]


class ScheduleSource(Source):
    """Keeps each schedule's next fire time and fires handlers when it comes."""

    def __init__(self, app: App, invoker: Invoker, bindings: Bindings, *, start: datetime,
                 offset: timedelta = timedelta(), wall: bool = True) -> None:
        self.invoker = invoker
        #: Whether schedules fire on the (shifted) wall clock once started; False: a virtual clock
        #: that only advances when told to (flowfn.testing).
        self.wall = wall
        #: How far the wall clock of run-local is shifted (``--clock-start``).
        self.offset = offset
        self.bindings = bindings
        self.handlers = {h.name: h for h in app.handlers if isinstance(h.trigger, ScheduleTrigger)}
        self.now = start.astimezone(UTC)
        self._next: dict[str, datetime] = {
            name: self._trigger(handler).first_fire(self.now, f"handler {name!r}")
            for name, handler in self.handlers.items() if self._trigger(handler).enabled
        }
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def _trigger(handler: Handler) -> ScheduleTrigger:
        trigger = handler.trigger
        assert isinstance(trigger, ScheduleTrigger)
        return trigger

    def _after(self, handler: Handler, moment: datetime) -> datetime | None:
        fires = self._trigger(handler).next_fires(moment, 1)
        return fires[0] if fires else None  # None: a cron schedule whose years ran out

    def queues(self) -> list[str]:
        return []

    def next_fires(self) -> dict[str, datetime]:
        """The next fire time of every enabled schedule, by function name."""
        with self._lock:
            return dict(sorted(self._next.items(), key=lambda item: item[1]))

    def event(self, handler: Handler, at: datetime) -> dict[str, object]:
        """The scheduled event ``handler`` receives when it fires at ``at``."""
        target = self.bindings.target
        arn = schedule_arn(self._trigger(handler), handler.name, region=target.region,
                           account=target.account)
        return scheduled_event(rule_arn=arn, time=at, event_id=str(uuid.uuid4()),
                               region=target.region, account=target.account)

    def handler(self, name: str) -> Handler:
        try:
            return self.handlers[name]
        except KeyError:
            known = ", ".join(self.handlers) or "none"
            raise KeyError(f"no schedule handler named {name!r} (schedules: {known})") from None

    # -- wall clock (run-local) -------------------------------------------------------------------

    def start(self) -> None:
        if not self.wall or not self.handlers:
            return  # a virtual clock fires only when advanced
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="flowfn-schedule", daemon=True)
        self._thread.start()

    def signal_stop(self) -> None:
        """Stop taking new work; :meth:`stop` then waits for the work in hand."""
        self._stop.set()
        self._wake.set()

    def stop(self) -> None:
        self.signal_stop()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            upcoming = self.next_fires()
            if not upcoming:
                self._stop.wait()
                return
            soonest = min(upcoming.values())
            delay = (soonest - self.wall_now()).total_seconds()
            if delay > 0:
                self._wake.clear()
                self._wake.wait(min(delay, 3600))
                continue
            for name, at in self._due(self.wall_now()):
                handler = self.handlers[name]
                self.invoker.submit(handler, self.event(handler, at), source=f"{at:%H:%M:%S} UTC",
                                    stop=self._stop)

    def wall_now(self) -> datetime:
        """The wall clock's time as schedules see it (shifted by ``offset``)."""
        return datetime.now(UTC) + self.offset

    def _due(self, until: datetime) -> list[tuple[str, datetime]]:
        """Fires due up to ``until``, in time order; advances each schedule past them."""
        fires: list[tuple[str, datetime]] = []
        with self._lock:
            for name, at in list(self._next.items()):
                upcoming: datetime | None = at
                while upcoming is not None and upcoming <= until:
                    fires.append((name, upcoming))
                    upcoming = self._after(self.handlers[name], upcoming)
                if upcoming is None:
                    del self._next[name]
                else:
                    self._next[name] = upcoming
            self.now = max(self.now, until)
        return sorted(fires, key=lambda fire: (fire[1], fire[0]))

    # -- on demand and virtual time (flowfn.testing) ----------------------------------------------

    def fire(self, name: str, at: datetime | None = None) -> Invocation:
        """Fire the schedule handler ``name`` now (or as if at ``at``) and wait for it."""
        handler = self.handler(name)
        moment = at or self.wall_now()
        return self.invoker.invoke(handler, self.event(handler, moment), source="fired on demand")

    def advance_to(self, until: datetime, settle: Callable[[], None] | None = None) -> list[Invocation]:
        """Move the virtual clock to ``until``, running every fire due on the way in time order,
        each with the retries of an asynchronous invocation; returns the record of every attempt.

        ``settle`` runs after each fire (flowfn.testing drains there, so each fire sees the
        effects of the previous ones).
        """
        until = until.astimezone(UTC)
        if until < self.now:
            raise ValueError(f"the clock cannot go back: it is {self.now:%Y-%m-%d %H:%M:%S} UTC")
        done = []
        for name, at in self._due(until):
            handler = self.handlers[name]
            # EventBridge invokes asynchronously: a failed fire is retried as under run-local.
            done.extend(self.invoker.invoke_async(handler, self.event(handler, at),
                                                  source=f"{at:%Y-%m-%d %H:%M:%S} UTC"))
            if settle is not None:
                settle()
        return done


def schedule_sample(rule: str, *, time: datetime | None = None, region: str = "us-east-1",
                    zoned: bool = False) -> dict[str, Any]:
    """A scheduled event from the rule (or, ``zoned``, Scheduler schedule) named ``rule``."""
    trigger = ScheduleTrigger(expression="rate(1 hour)", timezone="UTC" if zoned else None)
    moment = time or datetime.now(UTC)
    arn = schedule_arn(trigger, rule, region=region, account=DUMMY_ACCOUNT)
    return scheduled_event(rule_arn=arn, time=moment, event_id=sample_id(rule, moment.isoformat()),
                           region=region, account=DUMMY_ACCOUNT)


def schedule_sample_for(handler: Handler, names: Mapping[str, str], region: str) -> dict[str, Any]:
    """The sample event of ``flowfn invoke`` for a schedule handler."""
    trigger = handler.trigger
    assert isinstance(trigger, ScheduleTrigger)
    return schedule_sample(handler.name, region=region, zoned=trigger.timezone is not None)
