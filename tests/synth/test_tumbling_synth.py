"""Tumbling windows on stream mappings: validated when declared, written to the mapping."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from flowfn import App, ConfigError, DynamoDbBatch, KinesisBatch, Stream, Table
from flowfn.app import AppOrigin
from flowfn.synth import SynthOptions, render, synthesize
from flowfn.synth.graph import mermaid

CODE, LAYERS = "code-0123456789abcdef.zip", {"arm64": "deps-arm.zip", "x86_64": "deps-x86.zip"}


def _app() -> App:
    app = App("windows")
    app.origin = AppOrigin(root=".", module="app")
    clicks = Stream("clicks")
    orders = Table("orders", key="pk", stream="new_image")

    @app.on_kinesis(clicks, batch=True, tumbling_window_s=120)
    def per_minute(batch: KinesisBatch) -> None: ...

    @app.on_dynamodb_stream(orders, batch=True, tumbling_window_s=900, starting_position="trim_horizon")
    def per_quarter(batch: DynamoDbBatch) -> None: ...

    @app.on_kinesis(clicks, batch=True)
    def plain(batch: KinesisBatch) -> None: ...

    return app


def _mappings() -> dict[str, dict[str, Any]]:
    synth = synthesize(_app(), SynthOptions(python="3.11"), code_asset=CODE, layers=LAYERS)
    template = json.loads(render(synth.template))
    found = {}
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Lambda::EventSourceMapping":
            props = resource["Properties"]
            found[json.dumps(props["FunctionName"])] = props
    return {next(n for n in ("per_minute", "per_quarter", "plain") if n.replace("_", "") in k.lower()
                 .replace("_", "")): v for k, v in found.items()}


def test_the_mapping_carries_the_window_and_a_mapping_without_one_leaves_it_out() -> None:
    mappings = _mappings()
    assert mappings["per_minute"]["TumblingWindowInSeconds"] == 120
    assert mappings["per_quarter"]["TumblingWindowInSeconds"] == 900
    assert "TumblingWindowInSeconds" not in mappings["plain"]
    assert mappings["per_minute"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_a_windowed_template_lints_clean(lint: Callable[[str], list[str]]) -> None:
    synth = synthesize(_app(), SynthOptions(python="3.11"), code_asset=CODE, layers=LAYERS)
    assert lint(render(synth.template)) == []


def test_list_and_graph_name_the_window() -> None:
    app = _app()
    assert "tumbling window 120s" in app.handler("per_minute").trigger.describe()
    assert "window 120s" in mermaid(app)


@pytest.mark.parametrize("value", [-1, 901, 1.5, True, "60"])
def test_a_window_outside_0_to_900_whole_seconds_is_refused(value: Any) -> None:
    app = App("bad")
    with pytest.raises(ConfigError) as caught:
        app.on_kinesis(Stream("s"), batch=True, tumbling_window_s=value)(lambda batch: None)
    assert caught.value.argument == "tumbling_window_s" and "0-900" in str(caught.value)
    assert "'<lambda>'" in str(caught.value) and "Fix:" in str(caught.value)


def test_a_window_needs_a_batch_handler() -> None:
    app = App("bad")

    def count(record: object) -> None: ...

    with pytest.raises(ConfigError, match=r"handler 'count'.*tumbling_window_s.*Fix: pass batch=True"):
        app.on_dynamodb_stream(Table("tab", key="pk", stream=True), tumbling_window_s=60)(count)


def test_zero_means_no_window() -> None:
    app = App("zero")

    @app.on_kinesis(Stream("s"), tumbling_window_s=0)
    def each(record: object) -> None: ...

    assert app.handler("each").trigger.tumbling_window_s == 0  # type: ignore[attr-defined]
