"""Plain descriptions of an app for people: what each function is wired to and may touch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flowfn.app import App
from flowfn.function import Handler


def access_lines(handler: Handler) -> list[str]:
    """One line per resource the function may touch, with how: ``uploads (bucket): read``."""
    touches: dict[tuple[str, str], list[str]] = {}
    for res, how in handler.trigger.touches():
        touches.setdefault((res.kind, res.logical_name), []).append(how)
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
    return [
        Row(h.name, h.trigger.describe(), access_lines(h), h.trigger.when(now, f"handler {h.name!r}"))
        for h in app.handlers
    ]
