"""Errors flowfn raises. Every message names what is wrong and how to fix it."""

from __future__ import annotations


class FlowfnError(Exception):
    """Base class of every error flowfn raises on purpose."""


class ConfigError(FlowfnError, ValueError):
    """A handler or resource declaration that AWS would reject, or that cannot work.

    Raised when the handler is registered, so the mistake surfaces on import, not at deploy.
    """

    def __init__(self, subject: str, argument: str, problem: str, fix: str) -> None:
        self.subject = subject
        self.argument = argument
        self.problem = problem
        self.fix = fix
        #: ``file:line`` of the user's code that made the declaration (a handler's decorator), if known.
        self.where: str | None = None
        super().__init__(f"{subject}, argument {argument!r}: {problem}. Fix: {fix}.")

    def locate(self, filename: str, line: int) -> None:
        """Name the line of the user's code the declaration was made on; the message starts with it."""
        if self.where is None:
            self.where = f"{filename}:{line}"
            self.args = (f"{self.where}: {self.args[0]}",)


class NotBoundError(FlowfnError, RuntimeError):
    """A resource's physical name was asked for where none is bound."""


class AppLoadError(FlowfnError):
    """An application could not be found or imported."""


class FrozenAppError(FlowfnError, RuntimeError):
    """A handler was added to an app that synth or run-local has already read."""



class EventError(FlowfnError, ValueError):
    """An event whose shape does not fit the function's trigger: not what Lambda delivers to it.

    ``kind`` is the trigger kind (``"sqs"``), ``path`` the field (``"Records[0].messageId"``, "" for
    the event itself) and ``problem`` what is wrong with it.
    """

    def __init__(self, kind: str, path: str, problem: str) -> None:
        self.kind = kind
        self.path = path
        self.problem = problem
        super().__init__(
            f"{kind} event: {path or 'the event'} {problem}. Fix: pass the event Lambda delivers "
            f"for this trigger (`flowfn events {kind}` prints one)."
        )

    def at(self, prefix: str) -> EventError:
        """The same error for a field under ``prefix`` (``Records[2]``)."""
        return EventError(self.kind, f"{prefix}.{self.path}" if self.path else prefix, self.problem)
