"""flowfn synth and flowfn graph, through the command line."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
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


def test_synth_prints_the_code_assets_file_count_and_size(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["synth", FIXTURE, "--out", str(tmp_path), "--no-bytecode"])
    assert result.exit_code == 0, result.output
    [code] = (tmp_path / "assets").glob("code-*.zip")
    with zipfile.ZipFile(code) as zf:
        names = zf.namelist()
        unzipped = sum(i.file_size for i in zf.infolist())
    zipped = code.stat().st_size
    assert (f"code asset {code.name}: {len(names)} files, {zipped / 1000:.1f} kB "
            f"({unzipped / 1000:.1f} kB unzipped)") in result.output
    assert "flowfn/runtime/invoke.py" not in result.output  # listed only when asked


def test_synth_says_when_the_code_ships_as_source_only(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from flowfn.synth.options import LAMBDA_PYTHONS, current_python

    other = next(v for v in LAMBDA_PYTHONS if v != current_python())
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no python3.X to compile with
    result = CliRunner().invoke(cli, ["synth", FIXTURE, "--out", str(tmp_path / "out"), "--python", other])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert f"the code ships as source only: no Python {other} here" in said
    assert f"Install Python {other} and synth again" in said
    [code] = (tmp_path / "out" / "assets").glob("code-*.zip")
    with zipfile.ZipFile(code) as zf:
        assert not [n for n in zf.namelist() if n.endswith(".pyc")]
    for quiet in (["--no-bytecode"], ["--python", current_python()]):
        result = CliRunner().invoke(cli, ["synth", FIXTURE, "--out", str(tmp_path / "out2"), *quiet])
        assert result.exit_code == 0, result.output
        assert "ships as source only" not in result.output


def test_synth_list_files_lists_every_file_of_the_code_asset(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["synth", FIXTURE, "--out", str(tmp_path), "--list-files"])
    assert result.exit_code == 0, result.output
    [code] = (tmp_path / "assets").glob("code-*.zip")
    with zipfile.ZipFile(code) as zf:
        listed = {i.filename: i.file_size for i in zf.infolist()}
    output = result.output.splitlines()
    first = output.index(f"code asset {code.name}:") + 1
    rows = [line.split() for line in output[first:first + len(listed) + 1]]
    lines = {row[1]: row[0] for row in rows[:-1]}
    assert lines == {name: f"{size:,}" for name, size in listed.items()}
    assert rows[-1][:3] == ["code", "asset", f"{code.name}:"]  # the summary follows the list
    assert "app.py" in lines and "requirements.txt" not in lines


def test_synth_refuses_a_declared_secret_and_notes_what_it_left_out(tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "config").mkdir(parents=True)
    (app / "beacon.py").write_text("from flowfn import on_schedule\n\n@on_schedule('rate(1 hour)')\n"
                                "def tick():\n    return 1\n")
    (app / "config" / "ca.pem").write_text("cert")
    (app / "config" / "settings.json").write_text("{}")
    (app / "beaconlib" / "templates").mkdir(parents=True)
    (app / "beaconlib" / "__init__.py").write_text("")
    (app / "beaconlib" / "templates" / "page.html").write_text("<p>")
    (tmp_path / "elsewhere.json").write_text("{}")
    (app / "config" / "linked.json").symlink_to(tmp_path / "elsewhere.json")
    (app / "pyproject.toml").write_text('[tool.flowfn]\ninclude = ["config"]\n')
    target, out = str(app / "beacon.py"), str(tmp_path / "out")
    refused = CliRunner().invoke(cli, ["synth", target, "--out", out])
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "'config' matches config/ca.pem" in refused.output
    assert 'name it under [tool.flowfn] as force_include = ["config/ca.pem"]' in refused.output
    (app / "pyproject.toml").write_text('[tool.flowfn]\ninclude = ["config"]\nforce_include = ["config/ca.pem"]\n')
    forced = CliRunner().invoke(cli, ["synth", target, "--out", out])
    assert forced.exit_code == 0, forced.output
    assert "config/ca.pem ships though it looks like a secret (force_include)" in forced.output
    assert f"left out config/linked.json: a symlink to {tmp_path / 'elsewhere.json'}" in forced.output
    assert ("files inside the app's packages that no [tool.flowfn] include names do not ship: "
            "beaconlib/templates/page.html") in forced.output


SUBSCRIBED = """
from flowfn import App, Queue, Topic

app = App("subscribed")
ledger = Queue("ledger.fifo")
entries = Topic("entries.fifo", queues=[ledger])


@app.on_schedule("rate(1 hour)", uses=[entries.publish()])
def publish():
    pass


@app.on_sqs(ledger)
def book(record):
    pass
"""


def test_graph_draws_a_topic_into_the_queues_subscribed_to_it(tmp_path: Path) -> None:
    module = tmp_path / "subscribed.py"
    module.write_text(SUBSCRIBED)
    result = CliRunner().invoke(cli, ["graph", str(module)])
    assert result.exit_code == 0, result.output
    assert 'topic_EntriesFifo -->|"subscribed"| queue_LedgerFifo' in result.output
    assert 'queue_LedgerFifo -->|"batch 10"| fn_Book' in result.output
