"""flowfn synth and flowfn graph, through the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from flowfn.cli import cli

FIXTURE = str(Path(__file__).parent / "fixture_app" / "app.py")


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_synth_twice_writes_identical_files(tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["synth", FIXTURE, "--out", str(tmp_path / "a"), "--python", "3.11"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(cli, ["synth", FIXTURE, "--out", str(tmp_path / "b"), "--python", "3.11"])
    assert again.exit_code == 0, again.output
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert a == b
    code = [n for n in a if n.startswith("assets/code-")]
    assert len(code) == 1 and "template.json" in a
    template = json.loads(a["template.json"])
    key = template["Resources"]["ResizeFunction"]["Properties"]["Code"]["S3Key"]["Fn::Sub"]
    assert key == "${AssetPrefix}" + code[0].removeprefix("assets/")
    # The permissions table and the note about the unbuilt layer.
    assert "permissions of 11 functions" in first.output and "s3:GetObject" in first.output
    assert "not built; run with --bundle" in first.output


def test_synth_yaml_replaces_json_and_drops_stale_assets(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "out"
    assert runner.invoke(cli, ["synth", FIXTURE, "--out", str(out)]).exit_code == 0
    (out / "assets" / "code-0000000000000000.zip").write_bytes(b"old")
    (out / "assets" / "notes.txt").write_text("mine")
    result = runner.invoke(cli, ["synth", FIXTURE, "--out", str(out), "--format", "yaml"])
    assert result.exit_code == 0, result.output
    names = set(_tree(out))
    assert "template.yaml" in names and "template.json" not in names
    assert "assets/code-0000000000000000.zip" not in names and "assets/notes.txt" in names


def test_synth_errors_name_the_option(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["synth", FIXTURE, "--out", str(tmp_path), "--python", "2.7"])
    assert result.exit_code == 1
    assert "Python 2.7 is not a Lambda runtime" in result.output and "--python" in result.output
    result = CliRunner().invoke(cli, ["synth", FIXTURE, "--out", str(tmp_path), "--log-retention", "8"])
    assert result.exit_code == 1 and "--log-retention" in result.output


def test_graph_prints_or_writes_mermaid(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["graph", FIXTURE])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("flowchart LR\n") and "fn_Resize" in result.output
    target = tmp_path / "graph.mmd"
    assert CliRunner().invoke(cli, ["graph", FIXTURE, "--out", str(target)]).exit_code == 0
    assert target.read_text() == result.output
