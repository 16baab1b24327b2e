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
        super().__init__(f"{subject}, argument {argument!r}: {problem}. Fix: {fix}.")


class NotBoundError(FlowfnError, RuntimeError):
    """A resource's physical name was asked for where none is bound."""


class AppLoadError(FlowfnError):
    """An application could not be found or imported."""


class FrozenAppError(FlowfnError, RuntimeError):
    """A handler was added to an app that synth or run-local has already read."""

