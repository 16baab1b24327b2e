"""Secondary indexes of a DynamoDB table, ``Index("by_customer", key="customer")``, checked against
the rules DynamoDB applies when it creates the table."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from flowfn._frozen import Frozen
from flowfn.errors import ConfigError

__all__ = ["Index", "check_indexes", "check_key", "table_schema"]

_INDEX_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_ATTRIBUTE_TYPES = ("S", "N", "B")
_PROJECTIONS = ("all", "keys_only")
#: DynamoDB's limits: indexes per table, and projected non-key attributes (per index, per table).
MAX_GLOBAL, MAX_LOCAL, MAX_INCLUDED, MAX_INCLUDED_TOTAL = 20, 5, 20, 100

Key = tuple[str, str]


class Index(Frozen):
    """A secondary index of a :class:`~flowfn.Table`, declared in its ``indexes=`` or ``local_indexes=``.

    In ``indexes=[...]`` it is a global secondary index: ``key`` (its partition key) is required,
    ``sort_key`` optional. In ``local_indexes=[...]`` it is a local one: it shares the table's
    partition key (leave ``key`` out) and needs a ``sort_key``. A key is written as the table's: an
    attribute name (a string attribute) or ``(name, "S"|"N"|"B")``. ``projection`` is what the index
    copies from the table besides the keys: ``"all"`` (the default), ``"keys_only"``, or a list of
    attribute names. Query it with ``IndexName=`` set to ``name``.
    """

    #: The index's name (3-255 letters, digits, ``_``, ``-`` and ``.``), unique in its table.
    name: str
    #: Its partition key (a global index); a local index shares the table's.
    key: str | tuple[str, str] | None = None
    #: Its sort key (required for a local index).
    sort_key: str | tuple[str, str] | None = None
    #: ``"all"``, ``"keys_only"`` or the non-key attributes it copies (a list of names).
    projection: str | Sequence[str] = "all"

    @property
    def projected(self) -> tuple[str, ...]:
        """The non-key attributes an ``INCLUDE`` projection copies (empty for the other two)."""
        return () if isinstance(self.projection, str) else tuple(self.projection)

    @property
    def projection_type(self) -> str:
        """DynamoDB's name of the projection: ``ALL``, ``KEYS_ONLY`` or ``INCLUDE``."""
        return self.projection.upper() if isinstance(self.projection, str) else "INCLUDE"


def check_key(subject: str, argument: str, key: object, what: str = "") -> Key | None:
    """``key`` as ``(name, type)``: a bare name is a string attribute."""
    if key is None:
        return None
    if isinstance(key, str):
        key = (key, "S")
    if (
        not isinstance(key, tuple) or len(key) != 2 or not isinstance(key[0], str)
        or not 1 <= len(key[0]) <= 255 or key[1] not in _ATTRIBUTE_TYPES
    ):
        raise ConfigError(subject, argument, f"{what}{key!r} is not an attribute name or (name, type)",
                          "pass the attribute's name ('pk', a string key) or (name, 'S'|'N'|'B')")
    return (key[0], key[1])


def _listed(subject: str, argument: str, value: object) -> list[Index]:
    if value is None:
        return []
    if isinstance(value, Index) or not isinstance(value, list | tuple):
        raise ConfigError(subject, argument, f"{value!r} is not a list of Index",
                          f"pass a list: {argument}=[Index('by_customer', ...)]")
    for item in value:
        if not isinstance(item, Index):
            raise ConfigError(subject, argument, f"{item!r} is not an Index",
                              "declare each with Index('name', ...), imported from flowfn")
    return list(value)


def _projection(subject: str, argument: str, index: Index, keys: set[str]) -> str | tuple[str, ...]:
    what = f"index {index.name!r}"
    value = index.projection
    if isinstance(value, str):
        if value.lower() not in _PROJECTIONS:
            raise ConfigError(subject, argument, f"{what}: projection {value!r} is not 'all' or 'keys_only'",
                              "pass 'all', 'keys_only' or a list of the attribute names to copy")
        return value.lower()
    named = isinstance(value, list | tuple) and all(isinstance(a, str) and 1 <= len(a) <= 255 for a in value)
    if not named:
        raise ConfigError(subject, argument, f"{what}: projection {value!r} is not a list of attribute names",
                          "pass 'all', 'keys_only' or a list of the attribute names to copy")
    if not value:
        raise ConfigError(subject, argument, f"{what}: the projection lists no attribute",
                          "list the attributes to copy, or pass 'keys_only'")
    if len(value) > MAX_INCLUDED:
        raise ConfigError(subject, argument, f"{what}: the projection lists {len(value)} attributes, "
                          f"DynamoDB copies at most {MAX_INCLUDED} by name", "pass 'all' instead")
    doubles = sorted({a for a in value if value.count(a) > 1})
    if doubles:
        raise ConfigError(subject, argument, f"{what}: the projection lists {doubles[0]!r} twice",
                          "list each attribute once")
    keyed = [a for a in value if a in keys]
    if keyed:
        raise ConfigError(subject, argument, f"{what}: the projection lists key attribute {keyed[0]!r}",
                          "drop it: the table's and the index's keys are always copied")
    return tuple(value)


def _one(
    subject: str, argument: str, index: Index, table_key: Key | None, table_sort_key: Key | None, *,
    local: bool,
) -> Index:
    if not isinstance(index.name, str) or not _INDEX_NAME.fullmatch(index.name):
        raise ConfigError(subject, argument, f"{index.name!r} is not a valid index name",
                          "use 3-255 characters of letters, digits, '_', '-' and '.'")
    what = f"index {index.name!r}: "
    key = check_key(subject, argument, index.key, what + "key ")
    sort_key = check_key(subject, argument, index.sort_key, what + "sort_key ")
    if local:
        if table_key is None or table_sort_key is None:
            missing = "sort_key" if table_key is not None else "key and no sort_key"
            raise ConfigError(subject, argument, f"{what}a local index needs the table's partition and "
                              f"sort keys, and the table declares no {missing}",
                              "give the table a sort_key= (and key=), or make it a global index "
                              "(indexes=[...])")
        if key is not None and key != table_key:
            raise ConfigError(subject, argument, f"{what}a local index shares the table's partition key "
                              f"{table_key[0]!r}, not {key[0]!r}",
                              "leave key out, or make it a global index (indexes=[...])")
        if sort_key is None:
            raise ConfigError(subject, argument, f"{what}a local index needs a sort_key",
                              "pass sort_key='attribute' (the table's other order of its items)")
        if sort_key[0] == table_sort_key[0]:
            raise ConfigError(subject, argument, f"{what}its sort_key is the table's own sort key "
                              f"{sort_key[0]!r}: it would order items as the table does",
                              "name another attribute, or drop the index")
        key = table_key
    elif key is None:
        raise ConfigError(subject, argument, f"{what}a global index needs a partition key",
                          "pass key='attribute' (or key=('attribute', 'N') for a number)")
    if sort_key is not None and sort_key[0] == key[0]:
        raise ConfigError(subject, argument, f"{what}sort_key repeats the partition key {key[0]!r}",
                          "name a different attribute, or drop sort_key")
    keys = {k[0] for k in (table_key, table_sort_key, key, sort_key) if k is not None}
    projection = _projection(subject, argument, index, keys)
    return Index(index.name, key, sort_key, projection)


def check_indexes(
    subject: str, table_key: Key | None, table_sort_key: Key | None, indexes: object, local_indexes: object,
) -> tuple[tuple[Index, ...], tuple[Index, ...]]:
    """The table's global and local indexes, each with its keys as ``(name, type)``; every rule
    DynamoDB checks when it creates the table is checked here."""
    groups: list[tuple[Index, ...]] = []
    for argument, value, local, limit in (("indexes", indexes, False, MAX_GLOBAL),
                                          ("local_indexes", local_indexes, True, MAX_LOCAL)):
        listed = _listed(subject, argument, value)
        if len(listed) > limit:
            raise ConfigError(subject, argument, f"{len(listed)} {'local' if local else 'global'} indexes, "
                              f"DynamoDB allows at most {limit} on a table",
                              "drop some, or keep them in another table")
        groups.append(tuple(_one(subject, argument, i, table_key, table_sort_key, local=local)
                            for i in listed))
    global_, local_ = groups
    names: set[str] = set()
    types = {k[0]: (k[1], "the table") for k in (table_key, table_sort_key) if k is not None}
    for argument, group in (("indexes", global_), ("local_indexes", local_)):
        for index in group:
            if index.name in names:
                raise ConfigError(subject, argument, f"two indexes are named {index.name!r}",
                                  "give each index of a table its own name")
            names.add(index.name)
            for key in (index.key, index.sort_key):
                if not isinstance(key, tuple):
                    continue
                known, where = types.setdefault(key[0], (key[1], f"index {index.name!r}"))
                if known != key[1]:
                    raise ConfigError(subject, argument, f"index {index.name!r} types attribute {key[0]!r} "
                                      f"{key[1]!r}, {where} types it {known!r}",
                                      "an attribute has one type in a table: use the same in every key")
    total = sum(len(i.projected) for i in (*global_, *local_))
    if total > MAX_INCLUDED_TOTAL:
        raise ConfigError(subject, "indexes", f"the indexes copy {total} attributes by name, DynamoDB "
                          f"allows at most {MAX_INCLUDED_TOTAL} on a table (summed over its indexes)",
                          "pass projection='all' for the indexes that copy the most")
    return global_, local_


def _key_schema(key: Key, sort_key: Key | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": key[0], "KeyType": "HASH"}]
    if sort_key is not None:
        schema.append({"AttributeName": sort_key[0], "KeyType": "RANGE"})
    return schema


def _index(index: Index) -> dict[str, Any]:
    assert isinstance(index.key, tuple)  # checked: (name, type)
    assert index.sort_key is None or isinstance(index.sort_key, tuple)
    projection: dict[str, Any] = {"ProjectionType": index.projection_type}
    if index.projected:
        projection["NonKeyAttributes"] = list(index.projected)
    return {"IndexName": index.name, "KeySchema": _key_schema(index.key, index.sort_key),
            "Projection": projection}


def table_schema(
    key: Key, sort_key: Key | None, global_indexes: Sequence[Index], local_indexes: Sequence[Index],
) -> dict[str, Any]:
    """A table's keys and checked indexes as CreateTable and CloudFormation take them: each key
    attribute defined once (both refuse an attribute defined twice, or never used in a key)."""
    types = {key[0]: key[1]}
    indexes = (*global_indexes, *local_indexes)
    for k in (sort_key, *(k for i in indexes for k in (i.key, i.sort_key))):
        if isinstance(k, tuple):
            types.setdefault(k[0], k[1])
    out: dict[str, Any] = {
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in types.items()],
        "KeySchema": _key_schema(key, sort_key),
    }
    if global_indexes:
        out["GlobalSecondaryIndexes"] = [_index(i) for i in global_indexes]
    if local_indexes:
        out["LocalSecondaryIndexes"] = [_index(i) for i in local_indexes]
    return out
