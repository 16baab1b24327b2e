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


def test_run_local_fans_out_and_routes(tmp_path: Path) -> None:
    # S3 -> announce -> topic -> index and notify -> queue -> store_index; and an event routed by pattern.
    import os
    import signal
    import subprocess
    import sys
    import threading

    import boto3

    from .test_cli import wait_for

    state = tmp_path / "state"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("AWS_ENDPOINT_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from flowfn.cli import main; main()", "run-local", APP, "--port", "0",
         "--json", "--no-reload", "--state-dir", str(state)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    lines: list[dict[str, Any]] = []

    def read() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            try:
                item = json.loads(raw)
            except ValueError:
                continue
            if isinstance(item, dict) and "outcome" in item and "function" in item:
                lines.append(item)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        run = state / "fanout" / "run.json"
        endpoint = json.loads(wait_for(lambda: run.exists() and run.read_text().strip(), 60,
                                       "run-local to start"))["endpoint_url"]
        client = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")
        boto3.client("s3", **client).put_object(Bucket="uploads", Key="cat.jpg", Body=b"x")
        boto3.client("events", **client).put_events(Entries=[{
            "Source": "shop.orders", "DetailType": "Order Placed", "EventBusName": "orders",
            "Detail": json.dumps({"id": 7, "total": 500, "country": "US"})}])
        wanted = {"announce", "index", "notify", "store_index", "placed", "big_orders", "abroad"}
        wait_for(lambda: wanted <= {s["function"] for s in lines}, 60, "the chain to run")
        assert all(s["outcome"] == "ok" for s in lines), lines
        assert {s["function"] for s in lines} == wanted
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        reader.join(5)
    assert proc.returncode == 0, err
