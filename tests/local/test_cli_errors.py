"""A user's mistake on the command line is one line saying what is wrong and how to fix it, exit code 2."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowfn.errors import FlowfnError
from flowfn.testing import run_app

from .conftest import APPS
from .test_cli import CLI

APP = str(APPS / "failing_app.py")
runner = CliRunner()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def one_line_error(args: list[str], *words: str) -> str:
    from flowfn.cli import cli

    result = runner.invoke(cli, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "Traceback" not in result.output
    for word in words:
        assert word in line
    return line


@pytest.fixture
def no_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    names = {"AWS_PROFILE": "flowfn-no-such-profile", "AWS_CONFIG_FILE": str(tmp_path / "config"),
             "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials")}
    for name, value in names.items():
        monkeypatch.setenv(name, value)
    return names


def test_run_local_refuses_a_real_aws_endpoint_in_one_line(tmp_path: Path) -> None:
    one_line_error(["run-local", APP, "--endpoint-url", "https://sqs.us-east-1.amazonaws.com",
                    "--state-dir", str(tmp_path)], "real AWS endpoint", "flowfn synth")


def test_an_endpoint_with_nothing_listening_is_named(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    for command in (["run-local", APP, "--port", "0", "--no-mirror", "--no-reload"], ["invoke", APP, "fail"]):
        one_line_error([*command, "--endpoint-url", url, "--state-dir", str(tmp_path)],
                       url, "--endpoint-url")


@pytest.mark.parametrize("port", ["-5", "70000"])
def test_a_port_out_of_range(tmp_path: Path, port: str) -> None:
    one_line_error(["run-local", APP, "--port", port, "--state-dir", str(tmp_path)], f"--port {port}", "0")


def test_a_bad_clock_start_names_its_option(tmp_path: Path) -> None:
    line = one_line_error(["run-local", APP, "--clock-start", "tonight", "--state-dir", str(tmp_path)],
                          "--clock-start", "2025-01-31T03:00:00Z")
    assert "--time" not in line


def test_synth_out_naming_a_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text("not a folder")
    one_line_error(["synth", APP, "--out", str(out)], f"--out {out}", "folder")
    assert out.read_text() == "not a folder"


def test_a_missing_aws_profile_is_one_line_for_invoke_and_an_error_for_run_app(
        tmp_path: Path, no_profile: dict[str, str]) -> None:
    one_line_error(["invoke", APP, "fail", "--state-dir", str(tmp_path)],
                   "AWS_PROFILE", "flowfn-no-such-profile", "unset AWS_PROFILE")
    with pytest.raises(FlowfnError, match="AWS_PROFILE names the profile 'flowfn-no-such-profile'"), \
            run_app(APP):
        pass


def test_a_missing_aws_profile_stops_run_local_in_one_line(tmp_path: Path, no_profile: dict[str, str]) -> None:
    # A process of its own: the check must not depend on what an earlier test left cached.
    env = {**os.environ, **no_profile}
    done = subprocess.run([*CLI, "run-local", APP, "--port", "0", "--no-reload", "--no-mirror",
                           "--state-dir", str(tmp_path)], capture_output=True, text=True, env=env,
                          timeout=60, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: AWS_PROFILE names the profile 'flowfn-no-such-profile'")


def test_a_run_local_that_fails_to_start_leaves_the_garbage_collector_on(tmp_path: Path) -> None:
    import gc

    assert gc.isenabled()
    url = f"http://127.0.0.1:{closed_port()}"
    one_line_error(["run-local", APP, "--port", "0", "--no-mirror", "--no-reload", "--endpoint-url", url,
                    "--state-dir", str(tmp_path)], url)
    assert gc.isenabled()
