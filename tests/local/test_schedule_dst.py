"""A schedule in a time zone fires as EventBridge Scheduler's does across daylight saving: a local
time the spring change skips does not fire that day, and a local time the autumn change repeats
fires once, never again an hour later (nor in the past, for a clock started inside that hour)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flowfn import App, ScheduledEvent
from flowfn.testing import run_app

pytestmark = pytest.mark.slow


def zoned(expression: str) -> App:
    app = App("dst")

    @app.on_schedule(expression, timezone="Europe/Berlin")
    def tick(event: ScheduledEvent) -> str:
        return event.time.isoformat()

    return app


def test_a_local_time_the_spring_change_skips_does_not_fire() -> None:
    # 2025-03-30: Berlin's clocks go from 02:00 to 03:00, so there is no 02:30 that day.
    with run_app(zoned("cron(30 2 * * ? *)"), start=datetime(2025, 3, 29, 12, tzinfo=UTC)) as app:
        fired = app.clock.advance(days=3)
        assert [i.result for i in fired] == ["2025-03-31T00:30:00+00:00", "2025-04-01T00:30:00+00:00"]


def test_a_local_time_the_autumn_change_repeats_fires_once() -> None:
    # 2025-10-26: Berlin's clocks go from 03:00 back to 02:00; 01:20 UTC is the second 02:20.
    start = datetime(2025, 10, 26, 1, 20, tzinfo=UTC)
    with run_app(zoned("cron(*/15 * * * ? *)"), start=start) as app:
        assert app.clock.next_fires() == {"tick": datetime(2025, 10, 26, 2, tzinfo=UTC)}
        fired = app.clock.advance(minutes=45)
        assert [i.result for i in fired] == ["2025-10-26T02:00:00+00:00"]
