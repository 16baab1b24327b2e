"""What every trigger kind shares: the spec base class and how handlers are called."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from flowfn.errors import ConfigError
from flowfn.resources import Resource


@dataclass(frozen=True)
class Trigger:
    """Base class of the frozen, typed spec each trigger kind records."""

    kind: ClassVar[str] = "trigger"
    #: What the runtime passes a handler of this kind, in order (the handler may take a prefix).
    passes: ClassVar[tuple[str, ...]] = ("event", "context")
    #: How many of ``passes`` a handler must take at least.
    min_args: ClassVar[int] = 1

    def resources(self) -> tuple[Resource, ...]:
        """The declared resources this trigger reads from (its source)."""
        return ()

    def describe(self) -> str:
        """A short human description, as `flowfn list` shows it."""
        raise NotImplementedError

    def conflict(self, other: Trigger) -> str | None:
        """Why this trigger cannot coexist with ``other`` in one app, or None."""
        return None

    def check(self, subject: str, settings: Any) -> None:
        """Validate this trigger against the function's settings; raise ConfigError."""


def call_arity(fn: Callable[..., Any], trigger: Trigger, subject: str) -> int:
    """How many positional arguments to pass ``fn``, or ConfigError when it cannot take them."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError) as exc:  # builtins, some C callables
        raise ConfigError(subject, "fn", f"its signature cannot be read ({exc})", "decorate a plain "
                          "Python function") from exc
    positional = [
        p for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    required = [p for p in positional if p.default is inspect.Parameter.empty]
    varargs = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
    kw_required = [
        p.name for p in params
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty
    ]
    wanted = ", ".join(trigger.passes)
    shapes = " or ".join(
        f"({', '.join(trigger.passes[:n])})" for n in range(len(trigger.passes), trigger.min_args - 1, -1)
    )
    if kw_required:
        raise ConfigError(
            subject, "fn",
            f"it has required keyword-only parameters {kw_required}, which a {trigger.kind} "
            f"trigger never passes",
            f"give them defaults, or take {shapes}",
        )
    accepted = len(trigger.passes) if varargs else min(len(positional), len(trigger.passes))
    if len(required) > len(trigger.passes):
        raise ConfigError(
            subject, "fn",
            f"it requires {len(required)} positional arguments, but a {trigger.kind} trigger "
            f"passes only ({wanted})",
            f"take {shapes}",
        )
    if accepted < trigger.min_args:
        raise ConfigError(
            subject, "fn",
            f"it takes {len(positional)} positional arguments, but a {trigger.kind} trigger "
            f"passes ({wanted})",
            f"take {shapes}",
        )
    return accepted
