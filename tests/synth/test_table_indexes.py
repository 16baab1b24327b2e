"""Secondary indexes of tables: checked as declared, in the template, and in each read grant's IAM."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowfn import App, ConfigError, Index, Table
from flowfn.app import AppOrigin
from flowfn.resources.index import table_schema
from flowfn.synth import SynthOptions, render, synthesize
from flowfn.synth.iam import policy_for

CODE, LAYERS = "code-0123456789abcdef.zip", {"arm64": "deps-arm.zip", "x86_64": "deps-x86.zip"}
READ = ["dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable", "dynamodb:GetItem",
        "dynamodb:Query", "dynamodb:Scan"]


def _orders() -> Table:
    return Table("orders", key="pk", sort_key="sk", indexes=[
        Index("by_customer", key="customer", sort_key=("at", "N")),
        Index("by_status", key="status", projection="keys_only"),
        Index("by_sku", key="sku", sort_key=("at", "N"), projection=["total", "customer"]),
    ], local_indexes=[Index("by_total", sort_key=("total", "N"), projection=["status"])])


def _app(*tables: Table, write_only: Table | None = None) -> App:
    app = App("indexed")
    app.origin = AppOrigin(root=".", module="app")

    @app.on_http("GET", "/orders", uses=[t.read() for t in tables])
    def list_orders(request: object) -> dict[str, str]:
        return {}

    if write_only is not None:
        @app.on_http("POST", "/orders", uses=[write_only.write()])
        def add_order(request: object) -> dict[str, str]:
            return {}

    return app


def _template(app: App) -> dict[str, Any]:
    synth = synthesize(app, SynthOptions(python="3.11"), code_asset=CODE, layers=LAYERS)
    return json.loads(render(synth.template))


def _policy(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    role = template["Resources"][function + "Role"]
    return [st for p in role["Properties"]["Policies"] for st in p["PolicyDocument"]["Statement"]]


def test_indexes_are_declared_with_each_key_attribute_defined_once() -> None:
    props = _template(_app(_orders()))["Resources"]["OrdersTable"]["Properties"]
    assert props["AttributeDefinitions"] == [
        {"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"},
        {"AttributeName": "customer", "AttributeType": "S"}, {"AttributeName": "at", "AttributeType": "N"},
        {"AttributeName": "status", "AttributeType": "S"}, {"AttributeName": "sku", "AttributeType": "S"},
        {"AttributeName": "total", "AttributeType": "N"}]
    assert props["GlobalSecondaryIndexes"] == [
        {"IndexName": "by_customer", "Projection": {"ProjectionType": "ALL"},
         "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}]},
        {"IndexName": "by_status", "Projection": {"ProjectionType": "KEYS_ONLY"},
         "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}]},
        {"IndexName": "by_sku", "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total", "customer"]},
         "KeySchema": [{"AttributeName": "sku", "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}]},
    ]
    assert props["LocalSecondaryIndexes"] == [
        {"IndexName": "by_total", "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["status"]},
         "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "total", "KeyType": "RANGE"}]}]


def test_a_table_without_indexes_keeps_its_template_and_a_read_grant_only_the_table() -> None:
    template = _template(_app(Table("plain", key="pk")))
    props = template["Resources"]["PlainTable"]["Properties"]
    assert "GlobalSecondaryIndexes" not in props and "LocalSecondaryIndexes" not in props
    (read,) = [st for st in _policy(template, "ListOrders") if "dynamodb:Query" in st["Action"]]
    assert "/index/" not in json.dumps(read["Resource"])


def test_read_covers_the_table_and_its_indexes_write_only_the_table() -> None:
    orders = _orders()
    template = _template(_app(orders, write_only=orders))
    (read,) = [st for st in _policy(template, "ListOrders") if "dynamodb:Query" in st["Action"]]
    assert read["Action"] == READ
    table_arn = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":dynamodb:", {"Ref": "AWS::Region"},
                                   ":", {"Ref": "AWS::AccountId"}, ":table/", {"Ref": "OrdersTable"}]]}
    assert read["Resource"] == [table_arn, {"Fn::Join": ["", [table_arn, "/index/*"]]}]
    (write,) = [st for st in _policy(template, "AddOrder") if "dynamodb:PutItem" in st["Action"]]
    assert write["Resource"] == [table_arn]


def test_read_on_an_existing_table_always_covers_its_indexes() -> None:
    app = _app(Table("ext", existing="their-orders"))
    rows = dict(policy_for(app, app.handler("list_orders")).rows())
    assert rows[", ".join(READ)] == "table ext, table-index ext"
    (read,) = [st for st in _policy(_template(app), "ListOrders") if "dynamodb:Query" in st["Action"]]
    assert read["Resource"][1] == {"Fn::Join": ["", [{"Fn::Join": ["", [
        "arn:", {"Ref": "AWS::Partition"}, ":dynamodb:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"},
        ":table/", "their-orders"]]}, "/index/*"]]}


def test_a_template_with_indexes_lints_clean(lint: Callable[[str], list[str]]) -> None:
    assert lint(json.dumps(_template(_app(_orders(), Table("ext", existing="their-orders"))))) == []


def _index(name: str = "by_x", **kwargs: Any) -> Index:
    return Index(name, **{"key": "x", **kwargs})


@pytest.mark.parametrize(("kwargs", "argument", "problem"), [
    ({"indexes": [_index("ab")]}, "indexes", "'ab' is not a valid index name"),
    ({"indexes": [_index("by x")]}, "indexes", "'by x' is not a valid index name"),
    ({"indexes": [_index("i" * 256)]}, "indexes", "is not a valid index name"),
    ({"indexes": _index()}, "indexes", "is not a list of Index"),
    ({"indexes": ["by_x"]}, "indexes", "'by_x' is not an Index"),
    ({"indexes": [_index(f"by_{i:02}") for i in range(21)]}, "indexes", "21 global indexes"),
    ({"local_indexes": [Index(f"lsi{i}", sort_key=f"a{i}") for i in range(6)]}, "local_indexes",
     "6 local indexes"),
    ({"indexes": [Index("by_x")]}, "indexes", "a global index needs a partition key"),
    ({"indexes": [_index(key=("x", "BOOL"))]}, "indexes", "index 'by_x': key ('x', 'BOOL') is not"),
    ({"indexes": [_index(sort_key="x")]}, "indexes", "sort_key repeats the partition key 'x'"),
    ({"local_indexes": [Index("lsi", key="other", sort_key="a")]}, "local_indexes",
     "shares the table's partition key 'pk', not 'other'"),
    ({"local_indexes": [Index("lsi")]}, "local_indexes", "a local index needs a sort_key"),
    ({"local_indexes": [Index("lsi", sort_key="sk")]}, "local_indexes", "the table's own sort key 'sk'"),
    ({"indexes": [_index(), _index()]}, "indexes", "two indexes are named 'by_x'"),
    ({"indexes": [_index()], "local_indexes": [Index("by_x", sort_key="a")]}, "local_indexes",
     "two indexes are named 'by_x'"),
    ({"indexes": [_index(key=("sk", "N"))]}, "indexes", "types attribute 'sk' 'N', the table types it 'S'"),
    ({"indexes": [_index("by_a", key=("x", "N")), _index("by_b", key=("x", "B"))]}, "indexes",
     "index 'by_b' types attribute 'x' 'B', index 'by_a' types it 'N'"),
    ({"indexes": [_index(projection="everything")]}, "indexes", "projection 'everything' is not"),
    ({"indexes": [_index(projection=[])]}, "indexes", "the projection lists no attribute"),
    ({"indexes": [_index(projection=["a", 1])]}, "indexes", "is not a list of attribute names"),
    ({"indexes": [_index(projection=["a", "a"])]}, "indexes", "lists 'a' twice"),
    ({"indexes": [_index(projection=["sk"])]}, "indexes", "lists key attribute 'sk'"),
    ({"indexes": [_index(projection=[f"a{i}" for i in range(21)])]}, "indexes", "lists 21 attributes"),
    ({"indexes": [_index(f"by_{i}", projection=[f"a{j}" for j in range(20)]) for i in range(5)],
      "local_indexes": [Index("lsi", sort_key="n", projection=["z"])]}, "indexes", "copy 101 attributes"),
])
def test_index_mistakes_are_refused_naming_the_table_the_argument_and_the_fix(
    kwargs: dict[str, Any], argument: str, problem: str,
) -> None:
    with pytest.raises(ConfigError) as caught:
        Table("orders", key="pk", sort_key="sk", **kwargs)
    error = caught.value
    assert (error.subject, error.argument) == ("Table('orders')", argument)
    assert problem in error.problem and error.fix
    assert str(error).startswith(f"Table('orders'), argument {argument!r}: ") and ". Fix: " in str(error)


def test_a_local_index_needs_a_table_with_a_sort_key() -> None:
    with pytest.raises(ConfigError, match=r"argument 'local_indexes': index 'lsi': a local index needs the "
                                          r"table's partition and sort keys, and the table declares no "
                                          r"sort_key\. Fix: give the table a sort_key="):
        Table("orders", key="pk", local_indexes=[Index("lsi", sort_key="at")])
    with pytest.raises(ConfigError, match=r"the table declares no key and no sort_key\."):
        Table("ext", existing="their-orders", local_indexes=[Index("lsi", sort_key="at")])


def test_the_limits_themselves_are_accepted() -> None:
    table = Table("orders", key="pk", sort_key="sk",
                  indexes=[_index(f"by_{i:02}", projection=[f"a{j}" for j in range(5)]) for i in range(20)],
                  local_indexes=[Index(f"lsi{i}", key="pk", sort_key=f"s{i}") for i in range(5)])
    assert len(table.global_indexes) == 20 and len(table.local_indexes) == 5
    assert table.local_indexes[0].key == ("pk", "S") and table.global_indexes[0].projected == (
        "a0", "a1", "a2", "a3", "a4")


#: Mostly plausible keys and indexes (so that many tables validate and their schema is checked),
#: with wrong values of every sort among them.
_good: list[Any] = ["customer", "at", "total", ("at", "N"), ("total", "N"), ("customer", "S"), "pk",
                   ("sk", "S")]
_keys = st.sampled_from([*_good, *_good, None, "", "x" * 256, ("pk", "BOOL"), ("at",), 7, ["pk"]])
_projections = st.sampled_from(["all", "KEYS_ONLY", "keys_only", ["note"], ["status", "note"], "include", "",
                                [], ["note", "note"], ["pk"], [1], None])
_indexes = st.builds(Index, st.sampled_from(["by_a", "by_b", "by_c", "by_d", "by_e", "by.f", "by-g", "ab", "by a", 7]),
                     _keys, st.one_of(st.none(), _keys), _projections)
_plausible = st.builds(Index, st.sampled_from(["by_a", "by_b", "by.c", "by-d"]), st.sampled_from(_good),
                       st.one_of(st.none(), st.sampled_from(_good)),
                       st.sampled_from(["all", "keys_only", ["note"], ["status", "note"]]))
_lists = st.integers(0, 3).flatmap(lambda n: st.lists(_plausible, max_size=3, unique_by=lambda i: i.name) if n
                                   else st.one_of(st.lists(_indexes, max_size=3), st.none(), _indexes,
                                                  st.text(max_size=3)))
_local = st.builds(Index, st.sampled_from(["lsi_a", "lsi_b", "by_a"]), st.sampled_from([None, None, "pk", "at"]),
                   st.sampled_from(_good), st.sampled_from(["all", "keys_only", ["note"]]))
_local_lists = st.integers(0, 3).flatmap(
    lambda n: st.none() if n == 0 else _lists if n == 1 else st.lists(_local, max_size=2, unique_by=lambda i: i.name))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.sampled_from(["pk", "pk", ("pk", "N")]), st.sampled_from(["sk", "sk", ("at", "N"), None]),
       _lists, _local_lists)
def test_any_index_declaration_is_a_valid_schema_or_one_config_error(
    key: Any, sort_key: Any, indexes: Any, local_indexes: Any,
) -> None:
    try:
        table = Table("fuzzed", key=key, sort_key=sort_key, indexes=indexes, local_indexes=local_indexes)
    except ConfigError as error:
        assert error.subject == "Table('fuzzed')" and error.fix
        return
    assert table.key is not None
    schema = table_schema(table.key, table.sort_key, table.global_indexes, table.local_indexes)
    defined = [d["AttributeName"] for d in schema["AttributeDefinitions"]]
    used = [k["AttributeName"] for part in (schema, *schema.get("GlobalSecondaryIndexes", []),
                                            *schema.get("LocalSecondaryIndexes", [])) for k in part["KeySchema"]]
    assert sorted(defined) == sorted(set(used))  # each once, none unused
    names = [i["IndexName"] for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes") for i in schema.get(key, [])]
    assert len(names) == len(set(names))
