"""DynamoDB tables: ``Table("orders", key="pk", stream=True)`` and their grants."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import ClassVar

from flowfn.errors import ConfigError
from flowfn.resources.base import Access, Grant, Resource
from flowfn.resources.index import Index, check_indexes, check_key

_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_TABLE_ARN = re.compile(
    r"^arn:(aws[a-z-]*):dynamodb:([a-z0-9-]+):(\d{12}):table/(?P<name>[A-Za-z0-9_.-]+)$")
_STREAM_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):dynamodb:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"table/(?P<name>[A-Za-z0-9_.-]{3,255})/stream/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$")
#: DynamoDB's stream view types, by the short names flowfn accepts.
STREAM_VIEWS = {
    "new_image": "NEW_IMAGE", "old_image": "OLD_IMAGE", "new_and_old_images": "NEW_AND_OLD_IMAGES",
    "keys_only": "KEYS_ONLY",
}


class Table(Resource):
    """A DynamoDB table the application uses.

    ``Table("orders", key="pk", sort_key=("at", "N"))`` declares a table flowfn creates with
    on-demand billing, encryption and point-in-time recovery. A key is an attribute name (a string
    attribute) or ``(name, "S"|"N"|"B")``. ``stream=`` turns on its DynamoDB stream with a view
    type: ``"new_and_old_images"`` (the default when a stream is wanted: ``stream=True``),
    ``"new_image"``, ``"old_image"`` or ``"keys_only"``.

    ``indexes=[Index("by_customer", key="customer", sort_key=("at", "N"))]`` declares global
    secondary indexes (at most 20), ``local_indexes=[Index("by_total", sort_key=("total", "N"))]``
    local ones (at most 5; they share the table's partition key and need its sort key); see
    :class:`~flowfn.Index`. ``read()`` then covers querying and scanning them too.

    ``Table("ext", existing="name-or-arn")`` refers to a table flowfn does not create (give
    ``stream=`` if its stream is on and used, ``key=``, ``sort_key=`` and its indexes to have the
    same table locally). A stream trigger on it needs ``stream_arn=``, the exact ARN of its stream
    (``arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL``), which
    ``aws dynamodbstreams list-streams --table-name NAME`` prints.
    """

    kind: ClassVar[str] = "table"
    accesses: ClassVar[frozenset[Access]] = frozenset({Access.READ, Access.WRITE, Access.READ_STREAM})
    env_format: ClassVar[str] = "FLOWFN_TABLE_{}"

    def __init__(
        self,
        name: str,
        *,
        key: str | tuple[str, str] | None = None,
        sort_key: str | tuple[str, str] | None = None,
        stream: bool | str = False,
        point_in_time_recovery: bool = True,
        existing: str | None = None,
        indexes: Sequence[Index] = (),
        local_indexes: Sequence[Index] = (),
        stream_arn: str | None = None,
    ) -> None:
        subject = f"Table({name!r})"
        if not isinstance(name, str) or not _TABLE_NAME.fullmatch(name):
            raise ConfigError(subject, "name", f"{name!r} is not a valid DynamoDB table name",
                              "use 3-255 characters of letters, digits, '_', '-' and '.'")
        self.logical_name = name
        self.existing = None
        if existing is not None:
            if not isinstance(existing, str):
                raise ConfigError(subject, "existing", f"{existing!r} is not a string",
                                  "pass the existing table's name or ARN as a str")
            match = _TABLE_ARN.match(existing)
            physical = match.group("name") if match else existing
            if not _TABLE_NAME.fullmatch(physical):
                raise ConfigError(subject, "existing", f"{existing!r} is not a table name or ARN",
                                  "pass the existing table's name or arn:aws:dynamodb:...:table/NAME")
            self.existing = physical
        self.key = check_key(subject, "key", key)
        if self.key is None and self.existing is None:
            raise ConfigError(subject, "key", "a table flowfn creates needs a partition key",
                              "pass key='pk' (or key=('pk', 'N') for a number)")
        self.sort_key = check_key(subject, "sort_key", sort_key)
        if self.sort_key is not None and self.key is not None and self.sort_key[0] == self.key[0]:
            raise ConfigError(subject, "sort_key", f"it repeats the partition key {self.key[0]!r}",
                              "name a different attribute, or drop sort_key")
        if stream is True:
            stream = "new_and_old_images"
        if stream is False:
            self.stream_view: str | None = None
        elif isinstance(stream, str) and stream.lower() in STREAM_VIEWS:
            self.stream_view = STREAM_VIEWS[stream.lower()]
        else:
            raise ConfigError(subject, "stream", f"{stream!r} is not a stream view type",
                              f"pass True or one of {', '.join(repr(v) for v in STREAM_VIEWS)}")
        if not isinstance(point_in_time_recovery, bool):
            raise ConfigError(subject, "point_in_time_recovery", f"{point_in_time_recovery!r} is not "
                              "True or False", "pass True or False")
        self.point_in_time_recovery = point_in_time_recovery
        #: The global and the local secondary indexes, keys as ``(name, type)``.
        self.global_indexes, self.local_indexes = check_indexes(
            subject, self.key, self.sort_key, indexes, local_indexes)
        #: The existing table's stream ARN, when given.
        self.stream_arn = self._check_stream_arn(subject, existing, stream_arn)

    def _check_stream_arn(self, subject: str, existing: str | None, arn: object) -> str | None:
        if arn is None:
            return None
        if self.existing is None:
            raise ConfigError(subject, "stream_arn", "a table flowfn creates gets its stream's ARN from the "
                              "deployed stack", "drop stream_arn (it is for existing= tables)")
        where = f"`aws dynamodbstreams list-streams --table-name {self.existing}` prints it"
        match = _STREAM_ARN.match(arn) if isinstance(arn, str) else None
        if match is None:
            raise ConfigError(subject, "stream_arn", f"{arn!r} is not a DynamoDB stream ARN",
                              f"pass arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL; {where}")
        if match.group("name") != self.existing:
            raise ConfigError(subject, "stream_arn", f"it is the stream of table {match.group('name')!r}, "
                              f"not of {self.existing!r}", f"pass the stream of {self.existing!r}; {where}")
        table = _TABLE_ARN.match(existing or "")
        if table is not None and table.group(1, 2, 3) != match.group("partition", "region", "account"):
            raise ConfigError(subject, "stream_arn", f"its partition, region or account differ from "
                              f"existing={existing!r}", f"pass the stream of that table; {where}")
        if self.stream_view is None:
            raise ConfigError(subject, "stream", "stream_arn is given but stream= is not",
                              "pass stream= the view type the stream was turned on with "
                              "('new_and_old_images', 'new_image', 'old_image' or 'keys_only')")
        return str(arn)

    def __repr__(self) -> str:
        if self.existing:
            return f"Table({self.logical_name!r}, existing={self.existing!r})"
        return f"Table({self.logical_name!r})"

    @property
    def all_indexes(self) -> tuple[Index, ...]:
        """Every secondary index, global ones first."""
        return (*self.global_indexes, *self.local_indexes)

    @property
    def name(self) -> str:
        """The table's physical name, read from the running function's environment."""
        if self.existing and not os.environ.get(self.env_key):
            return self.existing
        return self._bound(self.env_key, "table name")

    def read(self) -> Grant:
        """Grant reading items (get, batch get, query, scan) on the table and its indexes."""
        return Grant(self, Access.READ)

    def write(self) -> Grant:
        """Grant writing items (put, update, delete, batch write, conditional writes)."""
        return Grant(self, Access.WRITE)

    def read_stream(self) -> Grant:
        """Grant reading the table's DynamoDB stream yourself (describe, iterators, records)."""
        if self.stream_view is None:
            raise ConfigError(f"{self!r}.read_stream()", "stream", "the table has no stream",
                              f"declare it with Table({self.logical_name!r}, ..., stream=True)")
        return Grant(self, Access.READ_STREAM)
