"""A small IAM policy evaluator for the statements flowfn generates.

Allow and Deny statements; ``Action`` and ``Resource`` as a string or a list, with ``*`` and
``?`` wildcards (actions compare without regard to case, resources exactly); the condition
operators ``StringLike`` and ``StringEquals`` (and their ``Not`` forms) on the request's keys.
As in AWS, an explicit Deny wins, and a request nothing allows is denied. A condition operator
this evaluator does not know never matches, so it can only deny more.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal

from flowfn.permissions.requests import Request

__all__ = ["Decision", "evaluate", "granted_by"]

Decision = Literal["allowed", "denied", "explicitly-denied"]


@lru_cache(maxsize=1024)
def _pattern(text: str, fold: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    return re.compile(body, re.IGNORECASE | re.DOTALL if fold else re.DOTALL)


def matches(pattern: str, value: str, *, fold: bool = False) -> bool:
    """True when ``value`` matches the IAM wildcard ``pattern``."""
    return _pattern(pattern, fold).fullmatch(value) is not None


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _condition_holds(condition: Mapping[str, Any], keys: Mapping[str, str]) -> bool:
    for operator, tests in condition.items():
        negate = operator.startswith("StringNot")
        base = operator.replace("Not", "", 1) if negate else operator
        if base not in ("StringLike", "StringEquals"):
            return False
        for key, wanted in tests.items():
            if key not in keys:
                if not negate:
                    return False
                continue
            found = any(matches(w, keys[key]) if base == "StringLike" else w == keys[key]
                        for w in _listed(wanted))
            if found == negate:
                return False
    return True


def _applies(statement: Mapping[str, Any], request: Request) -> bool:
    actions = _listed(statement.get("Action", []))
    resources = _listed(statement.get("Resource", []))
    return (any(matches(a, request.action, fold=True) for a in actions)
            and any(matches(r, request.resource) for r in resources)
            and _condition_holds(statement.get("Condition", {}), request.keys))


def evaluate(document: Mapping[str, Any], request: Request) -> Decision:
    """Whether the identity policy ``document`` allows ``request``."""
    allowed = False
    for statement in _listed_statements(document):
        if not _applies(statement, request):
            continue
        if statement.get("Effect") == "Deny":
            return "explicitly-denied"
        if statement.get("Effect") == "Allow":
            allowed = True
    return "allowed" if allowed else "denied"


def granted_by(document: Mapping[str, Any], request: Request) -> str | None:
    """The resource, as an Allow statement of ``document`` that applies to ``request`` names it
    (``arn:aws:s3:::notes/in/*`` for an object under ``in/``), or None when none does."""
    for statement in _listed_statements(document):
        if statement.get("Effect") == "Allow" and _applies(statement, request):
            return next(r for r in _listed(statement.get("Resource", [])) if matches(r, request.resource))
    return None


def _listed_statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, Mapping) else list(statements)
