"""`flowfn events kinesis|dynamodb --window`: windowed samples a windowed handler runs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamModel, KinesisDataStreamModel
from typer.testing import CliRunner

from flowfn import App, KinesisBatch, Stream
from flowfn.cli import cli
from flowfn.runtime import dispatch

runner = CliRunner()


@pytest.mark.parametrize(("args", "model"), [
    (["kinesis", "--window", "120", "--state", '{"a": 2}', "--time", "2020-12-09T07:05:35Z"],
     KinesisDataStreamModel),
    (["dynamodb", "--window", "60", "--final", "--time", "2020-12-09T07:05:35Z"], DynamoDBStreamModel),
])
def test_a_windowed_sample_has_lambdas_fields_and_powertools_reads_it(args: list[str], model: Any) -> None:
    result = runner.invoke(cli, ["events", *args])
    assert result.exit_code == 0, result.output
    event = json.loads(result.stdout)
    model.model_validate(event)
    assert event["window"]["start"] in ("2020-12-09T07:04:00Z", "2020-12-09T07:05:00Z")
    assert event["isFinalInvokeForWindow"] == ("--final" in args) and event["isWindowTerminatedEarly"] is False
    assert (event["Records"] == []) == ("--final" in args)


def test_a_windowed_sample_runs_a_windowed_handler() -> None:
    app = App("w")

    @app.on_kinesis(Stream("clicks"), batch=True, tumbling_window_s=120)
    def per_key(batch: KinesisBatch) -> None:
        for record in batch:
            batch.state[record.partition_key] = batch.state.get(record.partition_key, 0) + 1

    result = runner.invoke(cli, ["events", "kinesis", "--window", "120", "--state", '{"key-1": 4}'])
    answer = dispatch(app.handler("per_key"), json.loads(result.stdout), None)
    assert answer == {"state": {"key-1": 5}, "batchItemFailures": []}


@pytest.mark.parametrize(("args", "says"), [
    (["kinesis", "--final"], "add --window SECONDS"),
    (["kinesis", "--state", '{"a": 1}'], "add --window SECONDS"),
    (["dynamodb", "--window", "901"], "1-900 seconds"),
    (["kinesis", "--window", "60", "--state", "[1]"], "JSON object"),
    (["kinesis", "--window", "60", "--state", "{"], "not JSON"),
])
def test_window_options_explain_a_mistake(args: list[str], says: str) -> None:
    result = runner.invoke(cli, ["events", *args])
    assert result.exit_code == 1 and says in result.stderr and "Traceback" not in result.output
