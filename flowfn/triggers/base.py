"""What every trigger kind shares: the spec base class and how handlers are called."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from flowfn._frozen import Frozen
from flowfn.errors import ConfigError
from flowfn.resources import Resource

if TYPE_CHECKING:
    from datetime import datetime

#: How Lambda invokes a function of a trigger kind: synchronously (the caller waits for the
#: answer), asynchronously (an event queue retries a failed event, then drops it or hands it to a
#: failure destination) or by polling (an event-source mapping reads batches and retries them).
Invocation = Literal["sync", "async", "poll"]


#: Each trigger kind's decorator.
DECORATORS = {"s3": "@on_s3", "sqs": "@on_sqs", "schedule": "@on_schedule", "http": "@on_http",
              "sns": "@on_sns", "eventbridge": "@on_event", "kinesis": "@on_kinesis",
              "dynamodb": "@on_dynamodb_stream"}
#: The event types flowfn passes handlers, by class name: the trigger kind that passes each.
EVENT_TYPES = {"S3Record": "s3", "S3Event": "s3", "SqsRecord": "sqs", "SqsBatch": "sqs",
               "ScheduledEvent": "schedule", "Request": "http", "SnsRecord": "sns",
               "EventBridgeEvent": "eventbridge", "KinesisRecord": "kinesis", "KinesisBatch": "kinesis",
               "DynamoDbRecord": "dynamodb", "DynamoDbBatch": "dynamodb"}


class Trigger(Frozen):
    """Base class of the frozen, typed spec each trigger kind records."""

    kind: ClassVar[str] = "trigger"
    #: How Lambda invokes functions of this kind; synth, the local invoker and `flowfn list` read it.
    invocation: ClassVar[Invocation]
    #: What the runtime passes a handler of this kind, in order (the handler may take a prefix).
    passes: ClassVar[tuple[str, ...]] = ("event", "context")
    #: How many of ``passes`` a handler must take at least.
    min_args: ClassVar[int] = 1

    def resources(self) -> tuple[Resource, ...]:
        """The declared resources this trigger reads from (its source)."""
        return ()

    def destinations(self) -> tuple[Resource, ...]:
        """Declared resources the trigger's mapping sends to (a stream's on-failure queue); the app
        holds them, the function is not triggered by them."""
        return ()

    def describe(self) -> str:
        """A short human description, as `flowfn list` shows it (each kind adds its details)."""
        return self.kind

    def touches(self) -> list[tuple[Resource, str]]:
        """What the trigger itself lets the function touch, and how, as `flowfn list` shows it."""
        return []

    def when(self, now: datetime, subject: str) -> list[str]:
        """When the function runs, for people (schedules: in words, then the next times)."""
        return []

    def conflict(self, other: Trigger) -> str | None:
        """Why this trigger cannot coexist with ``other`` in one app, or None."""
        return None

    def check(self, subject: str, settings: Any) -> None:
        """Validate this trigger against the function's settings; raise ConfigError."""

    def arguments(self) -> tuple[tuple[str, ...], str]:
        """What the runtime passes the handler (it may take a prefix), and how it calls it, in words."""
        return self.passes, f"the {self.kind} trigger passes ({', '.join(self.passes)})"

    def check_handler(self, fn: Callable[..., Any], subject: str) -> None:
        """Validate the handler itself (beyond its arity) against this trigger; raise ConfigError."""

    def check_kind(self, fn: Callable[..., Any], subject: str) -> None:
        """Refuse a handler whose first parameter is annotated with another trigger kind's event type
        (``record: DynamoDbRecord`` on a Kinesis trigger): it would get this kind's instead."""
        found = first_annotation(fn)
        other = EVENT_TYPES.get(found[1]) if found is not None else None
        if found is None or other is None or other == self.kind or not _flowfns(fn, found[1]):
            return
        ours = " or ".join(name for name, kind in EVENT_TYPES.items() if kind == self.kind)
        raise ConfigError(subject, "fn", f"its parameter {found[0]!r} is annotated {found[1]}, what "
                          f"{DECORATORS[other]} passes, but {DECORATORS[self.kind]} passes {ours}",
                          f"annotate it {ours}, or use the {DECORATORS[other]} trigger it was written for")


def first_annotation(fn: Callable[..., Any]) -> tuple[str, str] | None:
    """The name of ``fn``'s first positional parameter and its annotation's bare class name
    (``"S3Event"`` for ``S3Event``, ``"flowfn.S3Event"`` or ``"S3Event | None"``), if it has one."""
    code = getattr(fn, "__code__", None)
    annotations = getattr(fn, "__annotations__", None)
    if code is None or not code.co_argcount or not isinstance(annotations, dict):
        return None
    name = code.co_varnames[0]
    annotation = annotations.get(name)
    if annotation is None:
        return None
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    bare = str(text).split("|")[0].strip().strip("'\"").rsplit(".", 1)[-1]
    return (name, bare) if bare else None


def _flowfns(fn: Callable[..., Any], name: str) -> bool:
    """Whether the class ``name`` of ``fn``'s first annotation is flowfn's (not an app's own model)."""
    annotation = fn.__annotations__.get(fn.__code__.co_varnames[0])
    if isinstance(annotation, str):
        text = annotation.split("|")[0].strip().strip("'\"")
        if "." in text:
            return text.startswith("flowfn.")
        annotation = getattr(fn, "__globals__", {}).get(name)
    return isinstance(annotation, type) and annotation.__module__.startswith("flowfn.")


class _Shape:
    """The positional-parameter shape of a callable: what call_arity needs to know."""

    def __init__(self, positional: int, required: int, varargs: bool, kw_required: list[str]) -> None:
        self.positional, self.required = positional, required
        self.varargs, self.kw_required = varargs, kw_required


_VARARGS = 0x04  # CO_VARARGS


def _shape(fn: Callable[..., Any], subject: str) -> _Shape:
    code = getattr(fn, "__code__", None)
    if code is not None and not hasattr(fn, "__wrapped__") and not hasattr(fn, "__signature__"):
        # A plain function: read its code object (importing inspect costs a cold start ~10 ms).
        positional = code.co_argcount
        defaults = len(getattr(fn, "__defaults__", None) or ())
        kw_names = code.co_varnames[positional:positional + code.co_kwonlyargcount]
        kw_defaults = getattr(fn, "__kwdefaults__", None) or {}
        return _Shape(positional, positional - defaults, bool(code.co_flags & _VARARGS),
                      [n for n in kw_names if n not in kw_defaults])
    import inspect

    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError) as exc:  # builtins, some C callables
        raise ConfigError(subject, "fn", f"its signature cannot be read ({exc})",
                          "decorate a plain Python function") from exc
    empty = inspect.Parameter.empty
    positional = [
        p for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    return _Shape(
        len(positional),
        len([p for p in positional if p.default is empty]),
        any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params),
        [p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is empty],
    )


def call_arity(fn: Callable[..., Any], trigger: Trigger, subject: str) -> int:
    """How many positional arguments to pass ``fn``, or ConfigError when it cannot take them."""
    shape = _shape(fn, subject)
    passes, how = trigger.arguments()
    shapes = " or ".join(
        f"({', '.join(passes[:n])})" for n in range(len(passes), trigger.min_args - 1, -1)
    )
    if shape.kw_required:
        raise ConfigError(
            subject, "fn",
            f"it has required keyword-only parameters {shape.kw_required}, which are never passed: {how}",
            f"give them defaults, or take {shapes}",
        )
    accepted = len(passes) if shape.varargs else min(shape.positional, len(passes))
    if shape.required > len(passes):
        raise ConfigError(
            subject, "fn", f"it requires {shape.required} positional arguments, but {how}", f"take {shapes}",
        )
    if accepted < trigger.min_args:
        raise ConfigError(
            subject, "fn", f"it takes {shape.positional} positional arguments, but {how}", f"take {shapes}",
        )
    return accepted
