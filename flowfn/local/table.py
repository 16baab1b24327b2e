"""Tables in the emulator: named by their logical name (or the existing name), with their indexes
and streams."""

from __future__ import annotations

from typing import Any

from flowfn.app import App
from flowfn.local.provision import Bindings
from flowfn.resources import Resource, Table
from flowfn.resources.index import table_schema


def table_name(res: Resource) -> str:
    """A table's local name: the existing table's name, or its logical name."""
    assert isinstance(res, Table)
    return res.existing or res.logical_name


def provision_tables(app: App, out: Bindings, resources: list[Resource]) -> None:
    """Create the tables that do not exist yet (with their streams); record names and stream ARNs."""
    ddb = out.target.client("dynamodb")
    for table in resources:
        assert isinstance(table, Table)
        name = table_name(table)
        try:
            found: dict[str, Any] = ddb.describe_table(TableName=name)["Table"]
        except ddb.exceptions.ResourceNotFoundException:
            schema = table_schema(table.key or ("pk", "S"), table.sort_key, table.global_indexes,
                                  table.local_indexes)
            args: dict[str, Any] = {"TableName": name, **schema, "BillingMode": "PAY_PER_REQUEST"}
            if table.stream_view is not None:
                args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream_view}
            found = ddb.create_table(**args)["TableDescription"]
        out.names[("table", table.logical_name)] = name
        if found.get("LatestStreamArn"):
            out.arns[("table", table.logical_name)] = found["LatestStreamArn"]


def table_physical(bindings: Bindings, res: Resource) -> str:
    """What a function's environment carries for a table: its name."""
    return bindings.names[("table", res.logical_name)]
