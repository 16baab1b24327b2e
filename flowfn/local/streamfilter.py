"""Lambda's filter criteria for stream records: which records a mapping's ``filters`` let through.

Patterns as Lambda takes them: exact values (``null`` too), ``prefix``, ``suffix``, ``anything-but``,
``numeric``, ``exists`` and ``equals-ignore-case``, nested by field; a record passes when any filter
matches it. The trigger refuses anything else when it is declared.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["matches"]


def _match_value(pattern: Any, value: Any) -> bool:
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            _match_value(p, value.get(k, _MISSING)) for k, p in pattern.items())
    if not isinstance(pattern, list):
        return bool(pattern == value)
    return any(_match_one(p, value) for p in pattern)


_MISSING: Any = object()


def _match_one(rule: Any, value: Any) -> bool:
    if isinstance(rule, dict):
        if "exists" in rule:
            return (value is not _MISSING) == bool(rule["exists"])
        if value is _MISSING:
            return False
        if "prefix" in rule:
            return isinstance(value, str) and value.startswith(rule["prefix"])
        if "suffix" in rule:
            return isinstance(value, str) and value.endswith(rule["suffix"])
        if "anything-but" in rule:
            banned = rule["anything-but"]
            return value not in (banned if isinstance(banned, list) else [banned])
        if "equals-ignore-case" in rule:
            return isinstance(value, str) and value.lower() == str(rule["equals-ignore-case"]).lower()
        if "numeric" in rule:
            return isinstance(value, int | float) and _numeric(rule["numeric"], value)
        return False
    return bool(rule == value)


def _numeric(spec: list[Any], value: float) -> bool:
    ops: dict[str, Callable[[float, float], bool]] = {
        "=": lambda a, b: a == b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
    }
    return all(ops[spec[i]](value, spec[i + 1]) for i in range(0, len(spec) - 1, 2))


def matches(filters: tuple[str, ...], doc: dict[str, Any]) -> bool:
    """Whether a record passes Lambda's filter criteria (no filters: every record)."""
    return not filters or any(_match_value(json.loads(f), doc) for f in filters)
