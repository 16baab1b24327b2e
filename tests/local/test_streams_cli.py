"""The CLI with stream kinds: samples Powertools accepts, `list`, `graph` and `invoke`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamModel, KinesisDataStreamModel
from typer.testing import CliRunner

from flowfn.cli import cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "streams" / "app.py"
runner = CliRunner()


@pytest.mark.parametrize(("args", "model"), [
    (["kinesis", "--data", "one", "--data", "{\"n\": 2}", "--stream", "clicks"], KinesisDataStreamModel),
    (["dynamodb", "--table", "orders", "--event", "MODIFY", "--new", "{\"n\": 2, \"x\": 1.5}"],
     DynamoDBStreamModel),
    (["dynamodb", "--event", "REMOVE"], DynamoDBStreamModel),
])
def test_events_print_stream_samples_powertools_accepts(args: list[str], model: Any) -> None:
    result = runner.invoke(cli, ["events", *args])
    assert result.exit_code == 0, result.output
    model.model_validate(json.loads(result.stdout))


def test_dynamodb_sample_images_carry_dynamodb_types() -> None:
    result = runner.invoke(cli, ["events", "dynamodb", "--event", "MODIFY", "--new", '{"n": 2, "x": 1.5}'])
    image = json.loads(result.stdout)["Records"][0]["dynamodb"]["NewImage"]
    assert image == {"pk": {"S": "item-1"}, "n": {"N": "2"}, "x": {"N": "1.5"}}


def test_events_explain_bad_stream_input() -> None:
    bad = runner.invoke(cli, ["events", "dynamodb", "--event", "UPSERT"])
    assert bad.exit_code == 1 and "INSERT, MODIFY or REMOVE" in bad.stderr
    bad_image = runner.invoke(cli, ["events", "dynamodb", "--new", "[1]"])
    assert bad_image.exit_code == 1 and "JSON object" in bad_image.stderr


def test_list_and_graph_show_stream_triggers() -> None:
    listed = runner.invoke(cli, ["list", str(EXAMPLE)], env={"COLUMNS": "250"})
    assert listed.exit_code == 0, listed.output
    assert "kinesis events (batch 100, from trim_horizon, bisect, retries 2, failures to bad-batches)" \
        in listed.stdout
    assert "dynamodb stream minutes (batch 100, from trim_horizon, 1 filter(s))" in listed.stdout
    graph = runner.invoke(cli, ["graph", str(EXAMPLE)])
    assert graph.exit_code == 0, graph.output
    assert 'stream_Events -->|"batch 100, bisect"| fn_Aggregate' in graph.stdout
    assert 'table_Minutes -->|"stream, batch 100"| fn_Alert' in graph.stdout


@pytest.mark.slow
def test_invoke_runs_a_stream_handler_with_its_sample(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["invoke", str(EXAMPLE), "alert", "--state-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert '"batchItemFailures": []' in result.stdout


SORTED = """
from flowfn import App, DynamoDbRecord, Table

app = App("sorted")
orders = Table("orders", key="pk", sort_key=("at", "N"), stream=True)


@app.on_dynamodb_stream(orders)
def on_change(record: DynamoDbRecord) -> None:
    assert record.keys == {"pk": "sample", "at": 1}, record.keys
"""


@pytest.mark.slow
def test_invokes_sample_change_has_the_tables_partition_and_sort_key(tmp_path: Path) -> None:
    module = tmp_path / "sorted_app.py"
    module.write_text(SORTED)
    result = runner.invoke(cli, ["invoke", str(module), "on_change", "--state-dir", str(tmp_path / "state")])
    assert result.exit_code == 0, result.output
    assert '"batchItemFailures": []' in result.stdout
