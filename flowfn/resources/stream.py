"""Kinesis data streams: ``Stream("clicks", shards=2)`` and their grants."""

from __future__ import annotations

import os
import re
from typing import ClassVar

from flowfn.errors import ConfigError
from flowfn.resources.base import Access, Grant, Resource, _check_int

_STREAM_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_STREAM_ARN = re.compile(r"^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream/(?P<name>[A-Za-z0-9_.-]+)$")


class Stream(Resource):
    """A Kinesis data stream the application uses.

    ``Stream("clicks", shards=2)`` declares a provisioned stream flowfn creates, encrypted with
    the AWS-managed key, keeping records ``retention_hours`` (24-8760). ``Stream("ext",
    existing="name-or-arn")`` refers to a stream flowfn does not create.
    """

    kind: ClassVar[str] = "stream"
    accesses: ClassVar[frozenset[Access]] = frozenset({Access.PUT, Access.READ})
    env_format: ClassVar[str] = "FLOWFN_STREAM_{}"

    def __init__(
        self, name: str, *, shards: int = 1, retention_hours: int = 24, existing: str | None = None,
    ) -> None:
        subject = f"Stream({name!r})"
        if not isinstance(name, str) or not _STREAM_NAME.fullmatch(name):
            raise ConfigError(subject, "name", f"{name!r} is not a valid Kinesis stream name",
                              "use 1-128 characters of letters, digits, '_', '-' and '.'")
        self.logical_name = name
        self.existing = None
        if existing is not None:
            if not isinstance(existing, str):
                raise ConfigError(subject, "existing", f"{existing!r} is not a string",
                                  "pass the existing stream's name or ARN as a str")
            match = _STREAM_ARN.match(existing)
            physical = match.group("name") if match else existing
            if not _STREAM_NAME.fullmatch(physical):
                raise ConfigError(subject, "existing", f"{existing!r} is not a stream name or ARN",
                                  "pass the stream's name or arn:aws:kinesis:...:stream/NAME")
            self.existing = physical
        self.shards = _check_int(subject, "shards", shards, 1, 500, "shards")
        self.retention_hours = _check_int(subject, "retention_hours", retention_hours, 24, 8760, "hours")

    def __repr__(self) -> str:
        if self.existing:
            return f"Stream({self.logical_name!r}, existing={self.existing!r})"
        return f"Stream({self.logical_name!r})"

    @property
    def name(self) -> str:
        """The stream's physical name, read from the running function's environment."""
        if self.existing and not os.environ.get(self.env_key):
            return self.existing
        return self._bound(self.env_key, "stream name")

    def put(self) -> Grant:
        """Grant putting records (``kinesis:PutRecord``, ``kinesis:PutRecords``)."""
        return Grant(self, Access.PUT)

    def read(self) -> Grant:
        """Grant reading the stream yourself (describe, shards, iterators, records)."""
        return Grant(self, Access.READ)
