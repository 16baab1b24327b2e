"""Synth behaviours that other tests only imply: what the layer ships, the default Python, synth
without the network, and the template body size limit."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flowfn.cli import cli
from flowfn.loader import load_app
from flowfn.synth import SynthOptions, current_python, synth_app
from flowfn.synth.bundle import requirement_name
from flowfn.synth.pipeline import runtime_requirements
from flowfn.synth.split import MAX_TEMPLATE_BYTES, problems

ROOT = Path(__file__).resolve().parents[2]
THUMBNAIL = ROOT / "examples" / "thumbnail" / "app.py"


def test_the_layer_ships_powertools_pydantic_and_the_apps_requirements_but_not_boto3() -> None:
    assert [requirement_name(r) for r in runtime_requirements()] == ["aws-lambda-powertools", "pydantic"]
    output = synth_app(load_app(str(THUMBNAIL), fresh=True), SynthOptions(python="3.11", bytecode=False))
    for spec in output.specs.values():
        names = [requirement_name(r) for r in spec.requirements]
        assert names == ["aws-lambda-powertools", "pydantic", "pillow"]
        assert "boto3" not in names and "botocore" not in names


def test_synth_defaults_to_the_running_python(tmp_path: Path) -> None:
    app = tmp_path / "svc.py"
    app.write_text("from flowfn import on_schedule\n@on_schedule('rate(1 hour)')\ndef tick(): ...\n")
    result = CliRunner().invoke(cli, ["synth", str(app), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    template = json.loads((tmp_path / "out" / "template.json").read_text())
    runtimes = {r["Properties"]["Runtime"] for r in template["Resources"].values()
                if r["Type"] == "AWS::Lambda::Function"}
    assert runtimes == {f"python{current_python()}"}


def test_synth_without_bundle_never_runs_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_subprocess(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"synth started a process: {args}")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    monkeypatch.setattr(subprocess, "Popen", no_subprocess)
    output = synth_app(load_app(str(THUMBNAIL), fresh=True), SynthOptions(python="3.11", bytecode=False))
    assert output.layers == {} and output.synthesis.files()


def test_a_template_body_over_the_limit_is_named() -> None:
    found = problems({"Resources": {"A": {}}}, MAX_TEMPLATE_BYTES + 1)
    assert found == [f"{MAX_TEMPLATE_BYTES + 1} bytes of template, over CloudFormation's {MAX_TEMPLATE_BYTES}"]
    assert problems({"Resources": {"A": {}}}, MAX_TEMPLATE_BYTES) == []
