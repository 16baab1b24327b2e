"""What every declared resource is: its grants (Access, Grant) and the Resource base."""

from __future__ import annotations

import enum
import os
import re
from typing import ClassVar

from flowfn._frozen import Frozen
from flowfn.errors import ConfigError, NotBoundError


class Access(enum.StrEnum):
    """What a grant lets a function do to a resource."""

    READ = "read"
    WRITE = "write"
    DELETE = "delete"
    LIST = "list"
    SEND = "send"
    CONSUME = "consume"
    READ_STREAM = "read_stream"
    PUT = "put"
    PUBLISH = "publish"
    PUT_EVENTS = "put_events"


class Grant(Frozen):
    """One permission a handler declares in ``uses=``: an access on a resource.

    ``prefix`` scopes bucket grants to keys that start with it ("" is the whole bucket).
    """

    resource: Resource
    access: Access
    prefix: str = ""

    def describe(self) -> str:
        scope = f" {self.prefix}*" if self.prefix else ""
        return f"{self.access.value} {self.resource.kind} {self.resource.logical_name}{scope}"


def code_ref(resource: Resource) -> str:
    """The resource as a fix hint writes it in code: its logical name when that is a Python name
    (``thumbnails``, the variable it is usually held in), else a declaration equal to it
    (``Bucket('shop-receipts')``: resources are equal by kind and logical name)."""
    name = resource.logical_name
    return name if name.isidentifier() else f"{type(resource).__name__}({name!r})"


def _env_suffix(logical_name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", logical_name.upper())


class Resource:
    """Base class of declared resources. Compared by kind and logical name."""

    kind: ClassVar[str] = "resource"
    #: The accesses a grant on this kind may ask for.
    accesses: ClassVar[frozenset[Access]]
    #: The environment variable's name, with ``{}`` for the logical name in capitals.
    env_format: ClassVar[str]
    logical_name: str
    existing: str | None

    @property
    def env_key(self) -> str:
        """The environment variable that carries this resource's physical name in a function."""
        return self.env_format.format(_env_suffix(self.logical_name))

    @property
    def managed(self) -> bool:
        """True when flowfn creates the resource; False for an existing one it only wires to."""
        return self.existing is None

    def _bound(self, key: str, what: str) -> str:
        value = os.environ.get(key)
        if value:
            return value
        function = os.environ.get("FLOWFN_FUNCTION")
        if function:  # inside a function: its handler uses what it neither is triggered by nor granted
            grants = ", ".join(f".{a.value}()" for a in Access if a in self.accesses)
            raise NotBoundError(
                f"{self!r} has no {what} in function {function!r}: flowfn binds it ({key}) only in a "
                f"function that is triggered by it or granted it in uses=[...]. Fix: grant it to "
                f"handler {function!r}, as uses=[...] with one of its grants: {grants}."
            )
        raise NotBoundError(
            f"{self!r} has no {what} bound here. flowfn binds it in the environment ({key}) of a "
            f"function that is triggered by it or granted it in uses=[...], when the function runs "
            f"in AWS, under `flowfn run-local` or under flowfn.testing. Outside such a function "
            f"(at import time, in `flowfn list`, in a plain unit test) no {what} exists yet. Fix: read "
            f"it inside the handler, not when the module is imported; in a plain unit test, run the "
            f"code through flowfn.testing or set {key} yourself."
        )

    def _identity(self) -> tuple[str, str]:
        return (self.kind, self.logical_name)


def _check_int(subject: str, argument: str, value: int, low: int, high: int, unit: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(subject, argument, f"{value!r} is not a whole number", "pass an int")
    if not low <= value <= high:
        raise ConfigError(
            subject,
            argument,
            f"{value} {unit} is outside what AWS accepts ({low}-{high})",
            f"choose a value between {low} and {high}",
        )
    return value
