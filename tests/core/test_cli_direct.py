"""run-local's command line read without typer: the same call typer makes, or typer's own answer."""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from typer.testing import CliRunner

from flowfn.cli import run_local_command
from flowfn.cli_direct import direct_call

COMMANDS = {"run-local": run_local_command}

#: Command lines the direct reading takes: every option of run-local, in either order and spelling.
TAKEN = [
    ["app.py"],
    ["svc/app.py", "--port", "0", "--no-reload"],
    ["--port=8123", "app.py", "--state-dir", "/tmp/state", "--json"],
    ["pkg.mod:app", "--endpoint-url", "http://127.0.0.1:4566", "--region", "eu-west-1", "--no-mirror"],
    ["app.py", "--mirror", "--reload", "--clock-start", "2025-01-31T03:00:00Z", "--permissions", "warn",
     "--permissions-report", "--port", "65535"],
    ["app.py", "--permissions=off", "--region=us-west-2", "--state-dir=.state"],
]
#: Command lines left to typer: help, mistakes, and values typer must judge.
LEFT = [
    [],
    ["--help"],
    ["app.py", "--help"],
    ["app.py", "other.py"],
    ["app.py", "--port"],
    ["app.py", "--port", "-5"],
    ["app.py", "--port", "eight"],
    ["app.py", "--port", "08"],
    ["app.py", "--port", " 8"],
    ["app.py", "--port", "1", "--port", "2"],
    ["app.py", "--json=yes"],
    ["app.py", "--no-json"],
    ["app.py", "--nope"],
    ["app.py", "-p", "8"],
    ["app.py", "--region", ""],
    ["app.py", "--", "--port"],
    ["-", "--port", "0"],
]


def typer_call(args: list[str]) -> tuple[int, dict[str, Any]]:
    """The exit code and the arguments typer calls run-local's function with for ``args``."""
    seen: dict[str, Any] = {}

    @functools.wraps(run_local_command)
    def capture(**kwargs: Any) -> None:
        seen.update(kwargs)

    app = typer.Typer()
    app.callback()(lambda: None)  # a group, so the command is named as on flowfn's command line
    app.command("run-local")(capture)
    result = CliRunner().invoke(app, ["run-local", *args])
    return result.exit_code, seen


def with_defaults(keywords: dict[str, Any]) -> dict[str, Any]:
    params = inspect.signature(run_local_command).parameters
    return {name: keywords.get(name, p.default) for name, p in params.items()}


@pytest.mark.parametrize("args", TAKEN, ids=" ".join)
def test_a_plain_command_line_is_called_as_typer_calls_it(args: list[str]) -> None:
    call = direct_call(COMMANDS, ["run-local", *args])
    assert isinstance(call, functools.partial)
    code, expected = typer_call(args)
    assert code == 0
    assert with_defaults(call.keywords) == expected
    assert {type(v) for v in expected.values()} <= {str, int, bool, type(None), type(Path())}


@pytest.mark.parametrize("args", LEFT, ids=" ".join)
def test_anything_else_is_left_to_typer(args: list[str]) -> None:
    assert direct_call(COMMANDS, ["run-local", *args]) is None


def test_a_parameter_typer_must_handle_leaves_the_whole_command_to_typer() -> None:
    def checked(port: Annotated[int, typer.Option("--port", min=1)] = 8000) -> None: ...

    def from_env(region: Annotated[str, typer.Option("--region", envvar="AWS_REGION")] = "x") -> None: ...

    def unnamed(region: Annotated[str, typer.Option(help="derived spelling")] = "x") -> None: ...

    def listed(items: Annotated[list[str], typer.Option("--item")]) -> None: ...

    for fn in (checked, from_env, unnamed, listed):
        assert direct_call({"cmd": fn}, ["cmd"]) is None


def test_other_commands_and_shell_completion_go_to_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    assert direct_call(COMMANDS, ["synth", "app.py"]) is None
    assert direct_call(COMMANDS, []) is None
    monkeypatch.setattr("sys.argv", ["flowfn", "run-local", "app.py"])
    assert direct_call(COMMANDS) is not None
    monkeypatch.setenv("_FLOWFN_COMPLETE", "bash_source")
    assert direct_call(COMMANDS) is None


def test_a_direct_call_ends_as_typer_ends_a_command() -> None:
    from flowfn.cli_direct import run_as_typer

    ran: list[str] = []
    run_as_typer(lambda: ran.append("root"), lambda: ran.append("command"))
    assert ran == ["root", "command"]

    def refused() -> None:
        raise typer.Exit(2)

    def interrupted() -> None:
        raise KeyboardInterrupt

    for call, code in ((refused, 2), (interrupted, 130)):
        with pytest.raises(SystemExit) as ended:
            run_as_typer(lambda: None, call)
        assert ended.value.code == code
