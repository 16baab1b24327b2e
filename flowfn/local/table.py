"""Tables in the emulator: named by their logical name (or the existing name), with their indexes
and streams."""

from __future__ import annotations

import logging
from typing import Any

from flowfn.app import App
from flowfn.local.provision import Bindings
from flowfn.resources import Resource, Table
from flowfn.resources.index import table_schema

log = logging.getLogger("flowfn.local")


def table_name(res: Resource) -> str:
    """A table's local name: the existing table's name, or its logical name."""
    assert isinstance(res, Table)
    return res.existing or res.logical_name


def _schema(table: Table) -> dict[str, Any]:
    return table_schema(table.key or ("pk", "S"), table.sort_key, table.global_indexes, table.local_indexes)


def _add_indexes(ddb: Any, table: Table, name: str, found: dict[str, Any]) -> None:
    """Give a table the emulator already holds (from before a reload) the indexes declared since:
    global ones are added as DynamoDB adds them; a local one only comes with a new table (a
    warning says so, and the reload goes on)."""
    have = {i["IndexName"] for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")
            for i in found.get(key, [])}
    for lost in [i.name for i in table.local_indexes if i.name not in have]:
        log.warning("%r: table %r in the emulator has no local index %r, and DynamoDB adds local indexes "
                    "only when it creates a table; queries of it fail until run-local restarts (the "
                    "embedded emulator starts empty) or the table is deleted there", table, name, lost)
    schema = _schema(table)
    defined = {d["AttributeName"]: d for d in found.get("AttributeDefinitions", [])}
    for index in schema.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] in have:
            continue
        for d in schema["AttributeDefinitions"]:
            if any(k["AttributeName"] == d["AttributeName"] for k in index["KeySchema"]):
                defined.setdefault(d["AttributeName"], d)
        ddb.update_table(TableName=name, AttributeDefinitions=list(defined.values()),
                         GlobalSecondaryIndexUpdates=[{"Create": index}])


def provision_tables(app: App, out: Bindings, resources: list[Resource]) -> None:
    """Create the tables that do not exist yet (with their indexes and streams), and add global
    indexes and a stream declared since to those that do; record names and stream ARNs."""
    ddb = out.target.client("dynamodb")
    for table in resources:
        assert isinstance(table, Table)
        name = table_name(table)
        try:
            found: dict[str, Any] = ddb.describe_table(TableName=name)["Table"]
        except ddb.exceptions.ResourceNotFoundException:
            args: dict[str, Any] = {"TableName": name, **_schema(table), "BillingMode": "PAY_PER_REQUEST"}
            if table.stream_view is not None:
                args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream_view}
            found = ddb.create_table(**args)["TableDescription"]
        else:
            _add_indexes(ddb, table, name, found)
            streaming = found.get("StreamSpecification", {}).get("StreamEnabled")
            if table.stream_view is not None and not streaming:
                spec = {"StreamEnabled": True, "StreamViewType": table.stream_view}
                found = ddb.update_table(TableName=name, StreamSpecification=spec)["TableDescription"]
        out.names[("table", table.logical_name)] = name
        if found.get("LatestStreamArn"):
            out.arns[("table", table.logical_name)] = found["LatestStreamArn"]


def table_physical(bindings: Bindings, res: Resource) -> str:
    """What a function's environment carries for a table: its name."""
    return bindings.names[("table", res.logical_name)]
