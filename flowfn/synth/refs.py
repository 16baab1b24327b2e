"""CloudFormation intrinsic functions, and placeholders for values a stack may get from its parent.

Wiring code writes plain template fragments. Where a fragment needs a value that lives elsewhere
(a bucket's name, a queue's ARN, the code asset's key) it holds a :class:`Shared` placeholder;
where the root stack needs a value of a function (its ARN) it holds an :class:`Exported` one.
Placing a handler inline or in a nested stack then resolves the placeholders (:func:`resolve`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Json = Any


def ref(name: str) -> dict[str, Any]:
    return {"Ref": name}


def getatt(logical_id: str, attribute: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, attribute]}


def join(parts: list[Any], sep: str = "") -> dict[str, Any]:
    return {"Fn::Join": [sep, parts]}


def sub(text: str) -> dict[str, Any]:
    return {"Fn::Sub": text}


PARTITION = ref("AWS::Partition")
REGION = ref("AWS::Region")
ACCOUNT = ref("AWS::AccountId")

#: The last 12 hex digits of the stack's id: unique per stack, known before any resource exists.
STACK_SUFFIX = {"Fn::Select": [4, {"Fn::Split": ["-", {"Fn::Select": [2, {"Fn::Split": [
    "/", ref("AWS::StackId")]}]}]}]}


@dataclass(frozen=True)
class Shared:
    """A value the root stack owns (``key`` names it); a nested stack gets it as a parameter."""

    key: str


@dataclass(frozen=True)
class Exported:
    """A value of a handler-owned resource that the root stack reads (for example a function ARN)."""

    logical_id: str
    attribute: str

    @property
    def output(self) -> str:
        return self.logical_id + self.attribute.replace(".", "")


def resolve(value: Json, fn: Callable[[Shared | Exported], Json]) -> Json:
    """A copy of ``value`` with every placeholder replaced by ``fn(placeholder)``."""
    if isinstance(value, Shared | Exported):
        return fn(value)
    if isinstance(value, dict):
        return {k: resolve(v, fn) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(v, fn) for v in value]
    return value


def placeholders(value: Json) -> list[Shared | Exported]:
    """Every placeholder in ``value``, in document order."""
    found: list[Shared | Exported] = []
    resolve(value, lambda p: found.append(p))
    return found


def references(value: Json) -> set[str]:
    """Logical ids ``value`` points at through Ref, Fn::GetAtt and ${...} in Fn::Sub."""
    out: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                out.add(inner)
            elif key == "Fn::GetAtt" and isinstance(inner, list):
                out.add(str(inner[0]))
            elif key == "Fn::Sub":
                text = inner if isinstance(inner, str) else inner[0]
                for part in text.split("${")[1:]:
                    out.add(part.split("}")[0].split(".")[0])
                if not isinstance(inner, str):
                    out |= references(inner[1])
            else:
                out |= references(inner)
    elif isinstance(value, list):
        for inner in value:
            out |= references(inner)
    return {name for name in out if not name.startswith("AWS::")}
