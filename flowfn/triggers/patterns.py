"""SNS filter policies, EventBridge event patterns and Lambda's filter criteria for stream records:
validated as AWS validates them (pure).

Both are JSON objects whose leaves are lists of conditions: a string, a number (or, in an
EventBridge pattern, null) matches that value; an object is an operator. AWS refuses unknown
operators and oversized policies when the subscription or rule is created, that is at deploy;
flowfn refuses them when the handler is declared, naming the key and the operator.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flowfn.errors import ConfigError

#: Operators each kind of matcher accepts.
SNS_OPERATORS = frozenset({"prefix", "suffix", "anything-but", "numeric", "exists", "equals-ignore-case"})
EVENT_OPERATORS = frozenset({"prefix", "suffix", "anything-but", "numeric", "exists", "equals-ignore-case",
                             "cidr", "wildcard"})
#: Lambda's filter criteria on stream records: equals (true, false and null too), ``anything-but`` a
#: value or values, numeric, exists, prefix, suffix, equals-ignore-case; a list of values is its "or".
FILTER_OPERATORS = frozenset({"prefix", "suffix", "anything-but", "numeric", "exists", "equals-ignore-case"})
#: SNS: at most 5 keys and 150 combinations per policy, 256 KB in all.
SNS_MAX_KEYS, SNS_MAX_COMBINATIONS = 5, 150
#: EventBridge: a rule's pattern is at most 4096 characters.
EVENT_PATTERN_MAX = 4096
_NUMERIC_OPS = {"<", "<=", "=", ">", ">="}
_NUMERIC_LIMIT = 1e9


class _Checker:
    def __init__(self, subject: str, argument: str, operators: frozenset[str], what: str,
                 nulls: bool, bools: bool = False) -> None:
        self.subject, self.argument, self.operators, self.what, self.nulls, self.bools = (
            subject, argument, operators, what, nulls, bools)
        self.leaves: list[int] = []  # the number of conditions of each leaf key

    def fail(self, path: str, problem: str, fix: str) -> ConfigError:
        where = f" at {path}" if path else ""
        return ConfigError(self.subject, self.argument, f"{problem}{where}", fix)

    def obj(self, value: Any, path: str) -> None:
        if not isinstance(value, Mapping) or not value:
            raise self.fail(path, f"{self.what} must be a non-empty JSON object (a dict), got {value!r}",
                            'write it as {"key": ["value", ...]}')
        for key, inner in value.items():
            if not isinstance(key, str):
                raise self.fail(path, f"key {key!r} is not a string", "use string keys")
            where = f"{path}.{key}" if path else key
            if key == "$or":
                if "$or" not in self.operators:
                    raise self.fail(where, f"a {self.what} has no '$or'",
                                    "pass each alternative as a pattern of its own in the list: a record "
                                    "passes when any pattern matches it")
                self.either(inner, where)
            elif isinstance(inner, Mapping):
                self.obj(inner, where)
            elif isinstance(inner, list):
                self.leaf(inner, where)
            else:
                raise self.fail(where, f"{inner!r} is neither a list of conditions nor a nested object",
                                f'wrap the value in a list: "{key}": [{json.dumps(inner)}]')

    def either(self, value: Any, path: str) -> None:
        if not isinstance(value, list) or len(value) < 2:
            raise self.fail(path, "'$or' takes a list of at least two objects", 'write "$or": [{...}, {...}]')
        for i, alternative in enumerate(value):
            self.obj(alternative, f"{path}[{i}]")

    def leaf(self, conditions: list[Any], path: str) -> None:
        if not conditions:
            raise self.fail(path, "an empty list matches nothing", "list at least one value or operator")
        for condition in conditions:
            if (isinstance(condition, bool) and not self.bools) or (condition is None and not self.nulls):
                raise self.fail(path, f"{condition!r} is not a value a {self.what} matches",
                                'match strings or numbers, or use {"exists": true|false}')
            if condition is None or isinstance(condition, (str, int, float)):
                continue
            if not isinstance(condition, Mapping) or len(condition) != 1:
                raise self.fail(path, f"{condition!r} is not a value or a one-key operator object",
                                'write operators as {"prefix": "img-"}, {"numeric": [">", 0]} ...')
            self.operator(next(iter(condition)), next(iter(condition.values())), path)
        self.leaves.append(len(conditions))

    def operator(self, name: Any, arg: Any, path: str) -> None:
        if name not in self.operators or name == "$or":
            known = ", ".join(sorted(self.operators - {"$or"}))
            raise self.fail(path, f"{name!r} is not an operator a {self.what} accepts",
                            f"use one of {known}")
        if name in ("prefix", "suffix", "equals-ignore-case", "wildcard", "cidr"):
            nested = isinstance(arg, Mapping) and set(arg) == {"equals-ignore-case"}
            if nested and name in ("prefix", "suffix") and self.what == "event pattern":
                return
            if not isinstance(arg, str) or (name != "cidr" and not arg and name != "equals-ignore-case"):
                raise self.fail(path, f'{{"{name}": {json.dumps(arg)}}} needs a non-empty string',
                                f'write {{"{name}": "text"}}')
        elif name == "exists":
            if not isinstance(arg, bool):
                raise self.fail(path, f'{{"exists": {json.dumps(arg)}}} takes true or false',
                                'write {"exists": true} or {"exists": false}')
        elif name == "numeric":
            self.numeric(arg, path)
        elif name == "anything-but":
            self.anything_but(arg, path)

    def numeric(self, arg: Any, path: str) -> None:
        fix = 'write {"numeric": [">", 0, "<=", 5]}: one or two (operator, number) pairs'
        if not isinstance(arg, list) or len(arg) not in (2, 4):
            raise self.fail(path, f'{{"numeric": {json.dumps(arg)}}} is malformed', fix)
        for op, number in zip(arg[::2], arg[1::2], strict=True):
            if op not in _NUMERIC_OPS or isinstance(number, bool) or not isinstance(number, (int, float)):
                raise self.fail(path, f'{{"numeric": {json.dumps(arg)}}} is malformed', fix)
            if abs(number) > _NUMERIC_LIMIT:
                raise self.fail(path, f"{number} is outside the numbers AWS matches (-1e9 to 1e9)", fix)
        if len(arg) == 4 and (arg[0] not in (">", ">=") or arg[2] not in ("<", "<=") or arg[1] >= arg[3]):
            raise self.fail(path, f'{{"numeric": {json.dumps(arg)}}} is not a range',
                            'give the lower bound first: [">", 0, "<", 10]')

    def anything_but(self, arg: Any, path: str) -> None:
        if isinstance(arg, Mapping):
            if self.what == "filter pattern":  # Lambda's filters take values only
                raise self.fail(path, f'{{"anything-but": {json.dumps(arg)}}} is not a filter Lambda takes',
                                'write {"anything-but": "x"} or {"anything-but": ["x", "y"]}')
            if len(arg) == 1 and next(iter(arg)) in ("prefix", "suffix", "equals-ignore-case") \
                    and isinstance(next(iter(arg.values())), (str, list)):
                return
            raise self.fail(path, f'{{"anything-but": {json.dumps(arg)}}} is malformed',
                            'write {"anything-but": "x"}, {"anything-but": ["x", "y"]} or '
                            '{"anything-but": {"prefix": "x"}}')
        values = arg if isinstance(arg, list) else [arg]
        if not values or not all(isinstance(v, (str, int, float)) and not isinstance(v, bool)
                                 for v in values):
            raise self.fail(path, f'{{"anything-but": {json.dumps(arg)}}} needs strings or numbers',
                            'write {"anything-but": ["x", "y"]}')


def canonical(value: Mapping[str, Any]) -> str:
    """The policy or pattern as sorted, compact JSON (what a frozen spec keeps)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def alternatives(policy: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``$or``-free policies whose union ``policy`` matches (``{"a": [1], "$or": [P, Q]}`` is
    ``{"a": [1], **P}`` or ``{"a": [1], **Q}``). ValueError names a key that an alternative would
    constrain twice (not expressible without ``$or``)."""
    results: list[dict[str, Any]] = [{}]
    for key, value in policy.items():
        if key == "$or":
            options = [alt for sub in value for alt in alternatives(sub)]
        elif isinstance(value, Mapping):
            options = [{key: alt} for alt in alternatives(value)]
        else:
            options = [{key: value}]
        results = [_merge(result, option) for result in results for option in options]
    return results


def _merge(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    out = dict(left)
    for key, value in right.items():
        if key not in out:
            out[key] = value
        elif isinstance(out[key], dict) and isinstance(value, dict):
            out[key] = _merge(out[key], value)
        else:
            raise ValueError(key)
    return out


def _leaves(policy: Mapping[str, Any]) -> list[int]:
    found: list[int] = []
    for value in policy.values():
        found.extend(_leaves(value) if isinstance(value, Mapping) else [len(value)])
    return found


def check_filter_policy(policy: Any, scope: str, subject: str) -> str:
    """Validate an SNS filter policy for ``scope`` (attributes or body); return it as JSON."""
    checker = _Checker(subject, "filter_policy", SNS_OPERATORS | {"$or"}, "filter policy", nulls=False)
    checker.obj(policy, "")
    try:
        each = alternatives(policy)
    except ValueError as exc:
        raise checker.fail("", f"key {exc} is constrained both inside and outside a '$or'",
                           "move the key's values into each alternative of the '$or'") from None
    if scope == "attributes" and any(isinstance(v, Mapping) for alt in each for v in alt.values()):
        raise checker.fail("", "a policy on message attributes is flat (attributes have no nesting)",
                           'nest keys only with filter_scope="body", which matches the JSON message')
    keys = max(len(_leaves(alt)) for alt in each)
    if keys > SNS_MAX_KEYS:
        raise checker.fail("", f"it filters on {keys} keys; SNS allows {SNS_MAX_KEYS}",
                           "filter on fewer keys, and check the rest in the handler")
    combinations = 0
    for alt in each:
        product = 1
        for count in _leaves(alt):
            product *= count
        combinations += product
    if combinations > SNS_MAX_COMBINATIONS:
        raise checker.fail("", f"it has {combinations} combinations of values; SNS allows "
                           f"{SNS_MAX_COMBINATIONS}", "list fewer values per key")
    text = canonical(policy)
    if len(text.encode()) > 256 * 1024:
        raise checker.fail("", "it is over SNS's 256 KB", "shorten it")
    return text


def check_event_pattern(pattern: Any, subject: str) -> str:
    """Validate an EventBridge event pattern; return it as JSON."""
    checker = _Checker(subject, "pattern", EVENT_OPERATORS | {"$or"}, "event pattern", nulls=True)
    checker.obj(pattern, "")
    text = canonical(pattern)
    if len(text) > EVENT_PATTERN_MAX:
        raise checker.fail("", f"it is {len(text)} characters; a rule's pattern may have "
                           f"{EVENT_PATTERN_MAX}", "match on fewer values, and check the rest in the handler")
    return text


def check_filter_pattern(pattern: Any, subject: str) -> None:
    """Validate one of a stream trigger's ``filters`` (Lambda's filter criteria)."""
    checker = _Checker(subject, "filters", FILTER_OPERATORS, "filter pattern", nulls=True, bools=True)
    checker.obj(pattern, "")
