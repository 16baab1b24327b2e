"""Plain descriptions of an app for people: what each function is wired to and may touch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flowfn.app import App
from flowfn.function import Handler
from flowfn.triggers.schedule import ScheduleTrigger
from flowfn.triggers.sqs import SqsTrigger

_TRIGGER_ACCESS = {"s3": "read", "sqs": "consume"}


def access_lines(handler: Handler) -> list[str]:
    """One line per resource the function may touch, with how: ``uploads (bucket): read``."""
    touches: dict[tuple[str, str], list[str]] = {}
    trigger_access = _TRIGGER_ACCESS.get(handler.trigger.kind)
    for res in handler.trigger.resources():
        if trigger_access:
            touches.setdefault((res.kind, res.logical_name), []).append(f"{trigger_access} (trigger)")
    if isinstance(handler.trigger, SqsTrigger) and handler.trigger.queue.dlq is not None:
        dlq = handler.trigger.queue.dlq
        touches.setdefault((dlq.kind, dlq.logical_name), []).append("receives failures")
    for grant in handler.settings.uses:
        scope = f" {grant.prefix}*" if grant.prefix else ""
        touches.setdefault((grant.resource.kind, grant.resource.logical_name), []).append(
            grant.access.value + scope
        )
    return [f"{name} ({kind}): {', '.join(how)}" for (kind, name), how in touches.items()]


@dataclass(frozen=True)
class Row:
    function: str
    trigger: str
    touches: list[str]
    when: list[str]


def rows(app: App, now: datetime) -> list[Row]:
    """The rows of `flowfn list`: one per function, with schedule times counted from ``now``."""
    out = []
    for handler in app.handlers:
        when: list[str] = []
        if isinstance(handler.trigger, ScheduleTrigger):
            when.append(handler.trigger.english())
            handler.trigger.first_fire(now, f"handler {handler.name!r}")  # ConfigError when none
            when.extend(
                t.strftime("%Y-%m-%d %H:%M UTC") for t in handler.trigger.next_fires(now, 3)
            )
        out.append(Row(handler.name, handler.trigger.describe(), access_lines(handler), when))
    return out

