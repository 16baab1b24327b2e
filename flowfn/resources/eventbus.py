"""EventBridge buses: ``EventBus("orders")``, the default bus, and the grant to put events."""

from __future__ import annotations

import re
from typing import ClassVar

from flowfn.errors import ConfigError
from flowfn.resources.base import Access, Grant, Resource

_BUS_NAME = re.compile(r"[A-Za-z0-9._/-]{1,256}")
_BUS_ARN = re.compile(r"^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/(?P<name>[A-Za-z0-9._/-]+)$")


class EventBus(Resource):
    """An EventBridge event bus: events put on it reach every rule whose pattern they match.

    ``EventBus("orders")`` declares a custom bus flowfn creates; ``EventBus("default")`` (or
    ``EventBus()``) is the account's default bus, which always exists. ``EventBus("audit",
    existing="arn:aws:events:...:event-bus/audit")`` refers to a bus that exists (by ARN or name).
    Handlers subscribe with ``@on_event(pattern, bus=bus)``; a handler granted ``bus.put_events()``
    puts events with ``boto3.client("events").put_events(Entries=[{..., "EventBusName": bus.name}])``.
    """

    kind: ClassVar[str] = "eventbus"
    accesses: ClassVar[frozenset[Access]] = frozenset({Access.PUT_EVENTS})
    env_format: ClassVar[str] = "FLOWFN_EVENTBUS_{}_ARN"

    def __init__(self, name: str = "default", *, existing: str | None = None) -> None:
        subject = f"EventBus({name!r})"
        if not isinstance(name, str) or not _BUS_NAME.fullmatch(name):
            raise ConfigError(subject, "name", f"{name!r} is not a valid event bus name",
                              "use 1-256 letters, digits and '.', '-', '_', '/'")
        if name.startswith("aws."):
            raise ConfigError(subject, "name", "names starting with 'aws.' are AWS's own (partner buses)",
                              "choose another name")
        self.logical_name = name
        self.existing = None
        physical = name
        if existing is not None:
            if not isinstance(existing, str):
                raise ConfigError(subject, "existing", f"{existing!r} is not a string",
                                  "pass the existing bus's ARN or name as a str")
            match = _BUS_ARN.match(existing)
            physical = match.group("name") if match else existing
            if not _BUS_NAME.fullmatch(physical):
                raise ConfigError(subject, "existing", f"{existing!r} is neither an event bus ARN nor a name",
                                  "pass arn:aws:events:<region>:<account>:event-bus/<name>, or its name")
            self.existing = existing
        elif name == "default":
            self.existing = "default"  # the account's own bus: flowfn never creates or deletes it
        self._existing_name = physical if self.existing is not None else None

    def __repr__(self) -> str:
        if self.existing and self.existing != "default":
            return f"EventBus({self.logical_name!r}, existing={self.existing!r})"
        return f"EventBus({self.logical_name!r})"

    @property
    def existing_name(self) -> str | None:
        """The physical name of an existing bus (``default`` for the default bus)."""
        return self._existing_name

    @property
    def arn(self) -> str:
        """The bus's ARN, read from the running function's environment."""
        return self._bound(self.env_key, "event bus ARN")

    @property
    def name(self) -> str:
        """The bus's physical name (what ``put_events`` takes as ``EventBusName``)."""
        return self.arn.split(":event-bus/", 1)[-1]

    def put_events(self) -> Grant:
        """Grant putting events on this bus (``events:PutEvents`` on its ARN)."""
        return Grant(self, Access.PUT_EVENTS)
