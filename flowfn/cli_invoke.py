"""``flowfn invoke``: one handler, once, with an event, as Lambda would run it.

Registered on the app of :mod:`flowfn.cli` when that module is imported."""

from __future__ import annotations

from contextlib import redirect_stdout
from pathlib import Path
from typing import Annotated

import typer

from flowfn.cli import (
    AppArg,
    EndpointOpt,
    PermissionsOpt,
    StateDir,
    check_environment,
    cli,
    errors,
    explained,
    fail,
    permissions_mode,
)
from flowfn.errors import AppLoadError, FlowfnError


@cli.command("invoke")
def invoke_command(
    app: AppArg,
    function: Annotated[str, typer.Argument(help="The handler's name.", show_default=False)],
    event: Annotated[str | None, typer.Option("--event", "-e", help="JSON event file ('-': stdin); "
                                              "default: a sample event for the trigger.",
                                              show_default=False)] = None,
    endpoint_url: EndpointOpt = None,
    state_dir: StateDir = Path(".flowfn"),
    permissions: PermissionsOpt = "enforce",
) -> None:
    """Invoke one handler once with an event, as Lambda would, and print what it returns.

    When `flowfn run-local` runs the same app, the invocation uses its emulator, so whatever the
    handler writes or sends flows on through the running app (this is how to fire a schedule from
    another terminal), whatever --state-dir it was started with. Otherwise an embedded emulator
    lives for this one invocation. Exits 1 when the invocation failed (an HTTP answer of 500 or
    more included).
    """
    import json
    import sys

    from flowfn.local.devserver import find_running
    from flowfn.local.engine import LocalApp, Options
    from flowfn.local.report import invocation_line
    from flowfn.local.samples import sample_for

    raw: dict[str, object] | None = None
    if event is not None:
        try:
            text = sys.stdin.read() if event == "-" else Path(event).read_text()
            loaded = json.loads(text)
        except OSError as exc:
            raise fail(f"--event {event}: {exc.strerror}. Give a JSON file, or '-' for stdin; "
                       "`flowfn events` prints samples.") from None
        except ValueError as exc:
            raise fail(f"--event {event}: not JSON ({exc}).") from None
        if not isinstance(loaded, dict):
            raise fail(f"--event {event}: a Lambda event is a JSON object, not {type(loaded).__name__}.")
        raw = loaded
    check_environment(endpoint_url)
    running = find_running(state_dir, app) if endpoint_url is None else None
    if running is not None:
        endpoint_url = running.endpoint_url
        errors.print(f"using the running run-local of {running.app} (pid {running.pid})", style="dim",
                     highlight=False)
    elif endpoint_url is None:
        errors.print("no run-local of this app is running: the invocation gets an emulator of its own, "
                     "gone with what the handler wrote once it returns", style="dim", highlight=False,
                     soft_wrap=True)
    options = Options(endpoint_url=endpoint_url, sources=False,
                      region=running.region if running else "us-east-1",
                      permissions=permissions_mode(permissions))
    try:
        # Log lines and prints, the app's and its handler's, go to stderr: stdout holds only what the
        # handler returned, for a pipe (`| jq .statusCode`) or a file.
        with redirect_stdout(sys.stderr), LocalApp(app, options) as local:
            try:
                handler = local.app.handler(function)
            except KeyError as exc:
                raise fail(f"{exc.args[0]}. Run `flowfn list {app}` to see them.") from None
            names = {**local.bindings.buckets, **local.bindings.queue_urls}
            payload = raw if raw is not None else sample_for(handler, names, local.target.region)
            record = local.invoker.invoke(handler, payload, source="flowfn invoke", trigger="invoke")
    except (AppLoadError, FlowfnError) as exc:
        raise fail(str(exc)) from None
    except Exception as exc:
        raise explained(exc, endpoint_url) from None
    errors.print(invocation_line(record), highlight=False, markup=False, soft_wrap=True)
    if record.result is not None or record.error is None:  # an HTTP 500 still answered
        print(json.dumps(record.result, indent=2, default=str))
    if not record.ok:  # raised, timed out, throttled, failed messages, or answered 500 or more
        raise typer.Exit(1)
