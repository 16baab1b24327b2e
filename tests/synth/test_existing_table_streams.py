"""Stream triggers on tables flowfn does not create: the stream's ARN, given once, checked, and used
as the mapping's source and the only stream the function may read."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from flowfn import App, ConfigError, Table
from flowfn.app import AppOrigin
from flowfn.synth import SynthOptions, render, synthesize

CODE, LAYERS = "code-0123456789abcdef.zip", {"arm64": "deps-arm.zip", "x86_64": "deps-x86.zip"}
ARN = "arn:aws:dynamodb:eu-west-1:210987654321:table/their-orders/stream/2024-03-01T10:20:30.456"
STREAM_READ = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]


def _template() -> dict[str, Any]:
    app = App("existing")
    app.origin = AppOrigin(root=".", module="app")
    ext = Table("ext", existing="their-orders", stream="new_image", stream_arn=ARN)

    @app.on_dynamodb_stream(ext, starting_position="trim_horizon")
    def on_change(record: object) -> None: ...

    @app.on_http("GET", "/changes", uses=[ext.read_stream()])
    def changes(request: object) -> dict[str, str]:
        return {}

    synth = synthesize(app, SynthOptions(python="3.11"), code_asset=CODE, layers=LAYERS)
    return json.loads(render(synth.template))


def _statements(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    role = template["Resources"][function + "Role"]
    return [st for p in role["Properties"]["Policies"] for st in p["PolicyDocument"]["Statement"]]


def test_the_mapping_reads_the_given_stream_a_parameter_defaulting_to_it() -> None:
    template = _template()
    assert "ExtTable" not in template["Resources"]  # never created
    parameter = template["Parameters"]["ExtTableStreamArn"]
    assert parameter["Type"] == "String" and parameter["Default"] == ARN
    assert parameter["AllowedPattern"].endswith(":table/their\\-orders/stream/.+")
    mapping = template["Resources"]["OnChangeMapping"]["Properties"]
    assert mapping["EventSourceArn"] == {"Ref": "ExtTableStreamArn"}
    assert mapping["StartingPosition"] == "TRIM_HORIZON"


def test_the_functions_read_that_stream_and_no_other() -> None:
    template = _template()
    for function in ("OnChange", "Changes"):
        (read,) = [st for st in _statements(template, function) if st["Action"] == STREAM_READ]
        assert read["Resource"] == [{"Ref": "ExtTableStreamArn"}], function
    assert "/stream/*" not in json.dumps(template)


def test_the_template_lints_clean(lint: Callable[[str], list[str]]) -> None:
    assert lint(json.dumps(_template())) == []


def test_without_stream_arn_the_trigger_is_refused_saying_where_to_find_it() -> None:
    app = App("unwired")
    with pytest.raises(ConfigError) as caught:
        app.on_dynamodb_stream(Table("ext", existing="their-orders", stream=True))(lambda record: None)
    assert caught.value.argument == "table"
    assert "stream_arn=" in caught.value.fix
    assert "`aws dynamodbstreams list-streams --table-name their-orders`" in caught.value.fix


@pytest.mark.parametrize(("kwargs", "argument", "problem"), [
    ({"key": "pk", "stream": True, "stream_arn": ARN}, "stream_arn", "gets its stream's ARN from the deployed"),
    ({"existing": "their-orders", "stream": True, "stream_arn": ARN.replace("/stream/", "/streams/")},
     "stream_arn", "is not a DynamoDB stream ARN"),
    ({"existing": "their-orders", "stream": True, "stream_arn": ARN.rsplit("/", 1)[0] + "/latest"},
     "stream_arn", "is not a DynamoDB stream ARN"),
    ({"existing": "their-orders", "stream": True, "stream_arn": 5}, "stream_arn", "5 is not a DynamoDB"),
    ({"existing": "other", "stream": True, "stream_arn": ARN}, "stream_arn",
     "it is the stream of table 'their-orders', not of 'other'"),
    ({"existing": "arn:aws:dynamodb:us-east-1:210987654321:table/their-orders", "stream": True,
      "stream_arn": ARN}, "stream_arn", "region or account differ"),
    ({"existing": "their-orders", "stream_arn": ARN}, "stream", "stream_arn is given but stream= is not"),
])
def test_stream_arn_mistakes_are_refused_with_a_fix(kwargs: dict[str, Any], argument: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Table("ext", **kwargs)
    assert (caught.value.subject, caught.value.argument) == ("Table('ext')", argument)
    assert problem in caught.value.problem and "Fix: " in str(caught.value)


def test_an_existing_table_given_by_arn_takes_its_own_streams_arn() -> None:
    table = Table("ext", existing="arn:aws:dynamodb:eu-west-1:210987654321:table/their-orders",
                  stream=True, stream_arn=ARN)
    assert (table.existing, table.stream_arn) == ("their-orders", ARN)


def test_a_nested_stack_gets_the_stream_arn_from_the_root_parameter(big_app_factory: Callable[..., App]) -> None:
    app = big_app_factory(120)
    app.on_dynamodb_stream(Table("ext", existing="their-orders", stream=True, stream_arn=ARN),
                           name="on_ext")(lambda record: None)
    synth = synthesize(app, SynthOptions(python="3.11"), code_asset=CODE, layers=LAYERS)
    (nested,) = [t for t in synth.nested.values() if "OnExtMapping" in t["Resources"]]
    assert nested["Parameters"]["ExtTableStreamArn"] == {"Type": "String"}
    assert nested["Resources"]["OnExtMapping"]["Properties"]["EventSourceArn"] == {"Ref": "ExtTableStreamArn"}
    (stack,) = [r for r in synth.template["Resources"].values()
                if r["Type"] == "AWS::CloudFormation::Stack" and "ExtTableStreamArn" in r["Properties"]["Parameters"]]
    assert stack["Properties"]["Parameters"]["ExtTableStreamArn"] == {"Ref": "ExtTableStreamArn"}
    assert synth.template["Parameters"]["ExtTableStreamArn"]["Default"] == ARN
