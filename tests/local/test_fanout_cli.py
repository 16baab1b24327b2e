"""SNS and EventBridge in the CLI: sample events shaped as AWS's (passing Powertools' models),
and list, graph and invoke on an app that fans out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SnsModel
from typer.testing import CliRunner

from flowfn.cli import cli

from .conftest import APPS

REFERENCE = Path(__file__).resolve().parents[1] / "aws_events"
APP = str(APPS / "fanout_app.py")
runner = CliRunner()


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def _events(*args: str) -> Any:
    result = runner.invoke(cli, ["events", *args])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_sns_sample_matches_aws_and_powertools() -> None:
    event = _events("sns", "--message", "hi", "--subject", "s", "--attribute", "Test=TestString")
    reference = json.loads((REFERENCE / "snsEvent.json").read_text())
    del reference["Records"][0]["Sns"]["MessageAttributes"]["TestBinary"]
    assert _shape(event) == _shape(reference)
    record = SnsModel.model_validate(event).Records[0].Sns
    assert record.Message == "hi" and record.Subject == "s"


def test_eventbridge_sample_matches_aws_and_powertools() -> None:
    event = _events("eventbridge", "--source", "shop", "--detail-type", "Placed", "--detail", '{"id": 1}',
                    "--resource", "arn:aws:s3:::x")
    reference = json.loads((REFERENCE / "eventBridgeEvent.json").read_text())
    del reference["replay-name"]  # only events replayed from an archive carry it
    reference["detail"] = {"id": 1}
    assert _shape(event) == _shape(reference)
    parsed = EventBridgeModel.model_validate(event)
    assert parsed.source == "shop" and parsed.detail == {"id": 1}


@pytest.mark.parametrize("detail", ["[1]", "nope"])
def test_a_bad_detail_is_one_clear_error(detail: str) -> None:
    result = runner.invoke(cli, ["events", "eventbridge", "--detail", detail])
    assert result.exit_code == 1 and "--detail" in result.stderr and "Traceback" not in result.stderr


def test_list_and_graph_show_subscriptions_and_rules() -> None:
    listed = runner.invoke(cli, ["list", APP], env={"COLUMNS": "300"})
    assert listed.exit_code == 0, listed.stderr
    assert 'sns ready filter attributes {"kind":["image"]}' in listed.stdout
    assert 'eventbridge orders {"detail-type":["Order Placed"]' in listed.stdout
    graph = runner.invoke(cli, ["graph", APP])
    assert graph.exit_code == 0, graph.stderr
    assert 'fn_Announce -->|"publish"| topic_Ready' in graph.stdout
    assert "topic_Ready -->" in graph.stdout and "eventbus_Orders -->" in graph.stdout


def test_invoke_runs_a_subscriber_with_its_sample(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["invoke", APP, "notify", "--state-dir", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    routed = runner.invoke(cli, ["invoke", APP, "placed", "--state-dir", str(tmp_path)])
    # The sample has an empty detail: the handler's KeyError is reported as a failed invocation.
    assert routed.exit_code != 0 and "KeyError" in routed.stdout + routed.stderr
