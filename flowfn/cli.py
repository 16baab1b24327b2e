"""The flowfn command line. The only module that prints or writes files for the user."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from flowfn.app import App
from flowfn.errors import AppLoadError, FlowfnError
from flowfn.loader import load_app

cli = typer.Typer(
    name="flowfn",
    help="Event-driven AWS Lambda applications from decorated Python functions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True)

AppArg = Annotated[
    str,
    typer.Argument(help="The app: a .py file, a package folder, or module:attribute.",
                   metavar="APP", show_default=False),
]


@cli.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print flowfn's version and exit.")] = False,
) -> None:
    """Event-driven AWS Lambda applications from decorated Python functions."""
    if version:
        from flowfn import __version__

        console.print(f"flowfn {__version__}")
        raise typer.Exit()


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr, the message as plain text (never markup: messages quote
    ``uses=[...]`` and ``[tool.flowfn]``), and return the exit to raise."""
    errors.print(Text.assemble(("error:", "bold red"), " ", message), highlight=False, soft_wrap=True)
    return typer.Exit(code)


def open_app(target: str) -> App:
    """Load the user's app, turning every loading failure into a clear one-line error. What the app
    prints or logs as it is imported goes to stderr: stdout is the command's (a graph, a table)."""
    import sys

    try:
        with redirect_stdout(sys.stderr):
            return load_app(target)
    except (AppLoadError, FlowfnError) as exc:
        raise fail(str(exc)) from None


@cli.command("list")
def list_command(app: AppArg) -> None:
    """List each function: its trigger, what it may touch, and when schedules fire."""
    application = open_app(app)
    from flowfn.describe import rows

    table = Table(title=f"{application.name}: {len(application.handlers)} functions",
                  show_lines=True, title_justify="left")
    table.add_column("function", style="bold")
    table.add_column("trigger")
    table.add_column("may touch")
    table.add_column("schedule (next fires)")
    try:
        listed = rows(application, datetime.now(UTC))
    except FlowfnError as exc:
        raise fail(str(exc)) from None
    for row in listed:
        table.add_row(*map(Text, (row.function, row.trigger, "\n".join(row.touches) or "-",
                                  "\n".join(row.when) or "-")))
    console.print(table)


# -- synth commands: synth, graph (flowfn/synth owns them) ----------------------------------


@cli.command("synth")
def synth_command(
    app: AppArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the template and assets to.")]
    = Path("out"),
    fmt: Annotated[str, typer.Option("--format", help="Template format: json or yaml.")] = "json",
    python: Annotated[str | None, typer.Option(
        "--python", help="Python version of the functions, e.g. 3.12 [default: the one running flowfn]",
        show_default=False)] = None,
    bundle: Annotated[bool, typer.Option(
        "--bundle/--no-bundle",
        help="Also build the dependency layer (Powertools, pydantic, requirements.txt) with pip, as "
             "manylinux wheels for the functions' Python and architecture, cached in --cache-dir. "
             "Off by default: it needs a package index; the template is the same either way.")] = False,
    cache_dir: Annotated[Path | None, typer.Option(
        "--cache-dir", help="Wheel and layer cache [default: ~/.cache/flowfn]", show_default=False)] = None,
    log_retention: Annotated[int, typer.Option(
        "--log-retention", help="Days each function's log group keeps logs.")] = 30,
    bytecode: Annotated[bool, typer.Option(
        "--bytecode/--no-bytecode",
        help="Ship compiled .pyc files in the code asset, compiled by the --python interpreter (the "
             "running Python, or python3.X on the PATH), so cold starts skip compiling.")] = True,
    list_files: Annotated[bool, typer.Option(
        "--list-files", help="List every file of the code asset with its size.")] = False,
) -> None:
    """Write the app's CloudFormation template and code assets, and list each function's permissions.

    The code asset holds the app's Python modules and packages, the flowfn runtime, and the data
    files that include = [...] names in the tool.flowfn table of the app folder's pyproject.toml;
    never hidden files, keys, credentials, state or synth output.

    Upload the files under OUT/assets to an S3 bucket and deploy OUT/template.(json|yaml) with the
    parameters AssetBucket (that bucket) and AssetPrefix (the key prefix they went under).
    """
    if out.exists() and not out.is_dir():
        raise fail(f"--out {out} is a file; synth writes a folder of files. Name a folder (new or "
                   "existing), or move the file.", 2)
    application = open_app(app)
    from flowfn.synth import SynthOptions, current_python, synth_app
    from flowfn.synth.pipeline import ASSET_DIR, is_asset_name, source_only_note

    try:
        options = SynthOptions(python=python or current_python(), log_retention_days=log_retention,
                               format=fmt, bytecode=bytecode)  # type: ignore[arg-type]
        output = synth_app(application, options, bundle=bundle, cache_dir=cache_dir, exclude=[out])
        files = output.files()
    except FlowfnError as exc:
        raise fail(str(exc)) from None
    assets = out / ASSET_DIR
    try:
        assets.mkdir(parents=True, exist_ok=True)
        for stale in sorted(assets.iterdir()):
            if is_asset_name(stale.name) and f"{ASSET_DIR}/{stale.name}" not in files:
                stale.unlink()
        for other in ("template.json", "template.yaml"):
            if other not in files and (out / other).exists():
                (out / other).unlink()
        for name, data in files.items():
            (out / name).write_bytes(data)
    except OSError as exc:
        raise fail(f"--out {out}: cannot write {exc.filename or out} ({exc.strerror or exc}). Fix: name a "
                   "folder you can write to.", 2) from None
    synthesis = output.synthesis
    table = Table(title=f"{application.name}: permissions of {len(synthesis.policies)} functions",
                  show_lines=True, title_justify="left")
    table.add_column("function", style="bold")
    table.add_column("may", overflow="fold")
    table.add_column("on", overflow="fold")
    for name, policy in synthesis.policies.items():
        rows = policy.rows()
        table.add_row(Text(name), Text("\n".join(r[0] for r in rows)), Text("\n".join(r[1] for r in rows)))
    console.print(table)
    nested = f" + {len(synthesis.nested)} nested stacks" if synthesis.nested else ""
    console.print(f"wrote {out / synthesis.template_file}{nested}", highlight=False, markup=False,
                  soft_wrap=True)
    code = output.code
    if list_files:
        console.print(f"code asset {code.name}:", highlight=False, soft_wrap=True)
        for name, data in code.entries:
            console.print(f"  {len(data):>10,}  {name}", highlight=False, markup=False, soft_wrap=True)
    console.print(f"code asset {code.name}: {len(code.entries)} files, "
                  f"{_kilobytes(len(files[f'{ASSET_DIR}/{code.name}']))} "
                  f"({_kilobytes(code.size)} unzipped)", highlight=False, soft_wrap=True)
    note = source_only_note(options, output)
    if note:
        console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    for name in code.forced:
        console.print(f"[yellow]note:[/] {escape(name)} ships though it looks like a secret "
                      "(force_include)", highlight=False, soft_wrap=True)
    for link, target in code.left_out:
        console.print(f"[yellow]note:[/] left out {escape(link)}: a symlink to {escape(target)}",
                      highlight=False, soft_wrap=True)
    if code.undeclared:
        shown = ", ".join(code.undeclared[:5]) + (f" and {len(code.undeclared) - 5} more"
                                                  if len(code.undeclared) > 5 else "")
        note = f"files inside the app's packages that no [tool.flowfn] include names do not ship: {shown}"
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False, soft_wrap=True)
    for name in output.missing_layers:
        console.print(f"[yellow]note:[/] dependency layer {name} not built; run with --bundle before "
                      "deploying", highlight=False, soft_wrap=True)


def _kilobytes(size: int) -> str:
    return f"{size / 1000:.1f} kB"


@cli.command("graph")
def graph_command(
    app: AppArg,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write the Mermaid text to this file instead of printing it.",
        show_default=False)] = None,
) -> None:
    """Draw what triggers what, and what each function writes to, as a Mermaid flowchart.

    Buckets, queues, schedules and routes point into the functions they trigger; functions point
    into the buckets and queues they write or send to.
    """
    application = open_app(app)
    from flowfn.synth import mermaid

    text = mermaid(application)
    if out is None:
        typer.echo(text, nl=False)
    else:
        try:
            out.write_text(text)
        except OSError as exc:
            raise fail(f"--out {out}: {exc.strerror or exc}. Fix: name a file in a folder you can write "
                       "to.", 2) from None
        console.print(f"wrote {out}", highlight=False, markup=False)


# -- local commands (flowfn/local owns them): run-local; invoke and events in cli_invoke, cli_events --

StateDir = Annotated[Path, typer.Option("--state-dir", help="Where run-local keeps bucket folders and "
                                          "its state file.")]
EndpointOpt = Annotated[str | None, typer.Option(
    "--endpoint-url", help="Use this emulator (LocalStack, a moto server) instead of the embedded one.",
    show_default=False)]
PermissionsOpt = Annotated[str, typer.Option(
    "--permissions", help="Hold each handler's AWS calls to the policy `flowfn synth` writes for its "
    "function: enforce (a call it does not allow fails with AWS's AccessDenied), warn (log and "
    "allow) or off.")]


def permissions_mode(mode: str) -> str:
    from flowfn.permissions import MODES

    if mode not in MODES:
        raise fail(f"--permissions {mode}: not a mode; use one of {', '.join(MODES)}", 2)
    return mode


@cli.command("run-local")
def run_local_command(
    app: AppArg,
    port: Annotated[int, typer.Option("--port", help="Port of the HTTP API on 127.0.0.1 (0: any free "
                                      "one).")] = 8000,
    endpoint_url: EndpointOpt = None,
    region: Annotated[str, typer.Option("--region", help="Region of the emulator.")] = "us-east-1",
    state_dir: StateDir = Path(".flowfn"),
    mirror: Annotated[bool, typer.Option("--mirror/--no-mirror", help="Mirror each bucket to a "
                                         "folder.")] = True,
    reload: Annotated[bool, typer.Option("--reload/--no-reload", help="Reload when the app's code "
                                         "changes.")] = True,
    json_lines: Annotated[bool, typer.Option("--json", help="One JSON object per invocation on "
                                             "stdout (beside the handlers' own JSON log lines, "
                                             "which have a 'level'); the banner on stderr.")] = False,
    clock_start: Annotated[str | None, typer.Option(
        "--clock-start", help="Start the schedules' clock at this time (ISO 8601) and run it on from "
        "there, to see tonight's cron run in a minute.", show_default=False)] = None,
    permissions: PermissionsOpt = "enforce",
    permissions_report: Annotated[bool, typer.Option(
        "--permissions-report", help="At exit, list per function the AWS actions and resources its "
        "calls used beside those granted: grants never used, calls denied, calls not checked.")] = False,
) -> None:
    """Run the whole app on this machine, against an embedded AWS emulator.

    Uploads, messages, schedules and HTTP requests reach their handlers as in AWS; each bucket is
    mirrored to a folder; one line is printed per invocation, and one per event given up after
    its last attempt. No call leaves the machine unless --endpoint-url names another emulator.
    """
    import json
    import signal
    import sys
    import threading

    from flowfn.local.devserver import DevServer, state_dir_problem
    from flowfn.local.invoker import Invocation
    from flowfn.local.report import banner, given_up_lines, invocation_line, invocation_record

    if not 0 <= port <= 65535:
        raise fail(f"--port {port} is not a port; give one from 1 to 65535, or 0 for any free one", 2)
    start = iso_time(clock_start, "--clock-start", code=2)
    mode = permissions_mode(permissions)
    check_environment(endpoint_url)
    problem = state_dir_problem(state_dir, app)
    if problem is not None:
        raise fail(problem, 2)
    out = errors if json_lines else console
    printing = threading.Lock()

    def line(inv: Invocation) -> None:
        with printing:  # invocations end on many threads; one whole line at a time
            if json_lines:  # one write: handlers' log lines go to stdout from other threads
                sys.stdout.write(json.dumps(invocation_record(inv)) + "\n")
                sys.stdout.flush()
                return
            style = "green" if inv.outcome == "ok" else "red"
            for text in (invocation_line(inv), *given_up_lines(inv)):
                console.print(text, style=style, highlight=False, markup=False, soft_wrap=True)

    def report(message: str) -> None:
        out.print(message, style="dim", highlight=False, markup=False, soft_wrap=True)

    server = DevServer(app, state_dir=state_dir, http_port=port, endpoint_url=endpoint_url,
                       region=region, mirror=mirror, reload=reload, clock_start=start,
                       on_invocation=line, report=report)
    server.local.options.permissions = mode
    try:
        with _collector_paused():
            server.start()
    except OSError as exc:
        if exc.filename is not None:  # a file or folder, not the port
            raise fail(f"run-local cannot use {exc.filename} ({exc.strerror or exc}). Fix: check that "
                       f"--state-dir {state_dir} and the folders in it can be written to.", 2) from None
        raise fail(f"cannot serve the HTTP API on 127.0.0.1:{port} ({exc.strerror or exc}); "
                   "choose another --port, or --port 0 for any free one", 2) from None
    except (AppLoadError, FlowfnError) as exc:
        raise fail(str(exc)) from None
    except Exception as exc:
        raise explained(exc, endpoint_url) from None
    info = server.describe()
    interactive = sys.stdin is not None and sys.stdin.isatty()
    custom_dir = None if state_dir == Path(".flowfn") else str(state_dir)
    for text in banner(server.local.app.name or "app", app, info, server.local.schedules.wall_now(),
                       state_dir=custom_dir, interactive=interactive):
        out.print(text, highlight=False, markup=False, soft_wrap=True)

    def stop(signum: int, frame: object) -> None:
        if server.stopping:
            raise KeyboardInterrupt  # a second Ctrl-C: stop waiting
        out.print("stopping: in-flight invocations finish, unhandled messages stay queued",
                  highlight=False, markup=False)
        server.request_stop()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    def commands() -> None:
        for raw in sys.stdin:
            words = raw.split()
            if len(words) == 2 and words[0] == "fire":
                try:
                    server.fire(words[1])
                except KeyError as exc:
                    report(str(exc.args[0]))
            elif words:
                report("commands: fire NAME (fire a schedule now)")

    if interactive:
        threading.Thread(target=commands, name="flowfn-stdin", daemon=True).start()
    try:
        server.wait()
    finally:
        server.stop()
    for function, source, tries in server.local.invoker.unretried:
        attempts = "attempt" if tries == 1 else "attempts"
        out.print(f"{function}: gave up on {source} after {tries} failed {attempts}: its retry was not "
                  "due before the stop, so it is dropped", style="red", highlight=False, markup=False,
                  soft_wrap=True)
    guard = server.local.invoker.guard
    if permissions_report and guard is not None:
        from flowfn.permissions import format_report

        out.print(format_report(guard), highlight=False, markup=False, soft_wrap=True)
    out.print("stopped", highlight=False)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while run-local starts, and what start made kept
    out of its later passes.

    Starting makes a few hundred thousand objects that live as long as the run (boto3's and
    moto's service models, moto's backends) and almost no garbage; the collector would go over
    them again and again while they are made, about a tenth of the start.
    """
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    except BaseException:
        if enabled:
            gc.enable()
        raise
    gc.freeze()  # what start made stays; later collections skip it
    if enabled:
        gc.enable()


def check_environment(endpoint_url: str | None) -> None:
    """The --endpoint-url and AWS profile checks run-local and invoke make before starting."""
    from flowfn.local.emulator import check_endpoint
    from flowfn.local.preflight import check_profile

    try:
        if endpoint_url is not None:
            check_endpoint(endpoint_url)
        check_profile()
    except FlowfnError as exc:
        raise fail(str(exc), 2) from None


def explained(exc: Exception, endpoint_url: str | None) -> Exception:
    """One line for a mistake in the environment found while starting (exit 2); else ``exc`` itself."""
    from flowfn.local.preflight import explain

    problem = explain(exc, endpoint_url)
    return fail(str(problem), 2) if problem is not None else exc


def iso_time(time: str | None, option: str = "--time", code: int = 1) -> datetime | None:
    """``time`` (ISO 8601) as an aware datetime, UTC when it names no zone; None stays None.

    A bad value ends the command with one line naming ``option``, exit ``code``.
    """
    if time is None:
        return None
    try:
        parsed = datetime.fromisoformat(time.replace("Z", "+00:00"))
    except ValueError:
        raise fail(f"{option} {time!r} is not an ISO 8601 time, such as 2025-01-31T03:00:00Z",
                   code) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)




from flowfn import cli_deploy as _cli_deploy  # noqa: E402, F401  (deploy, bootstrap, destroy, logs)
from flowfn import cli_events as _cli_events  # noqa: E402, F401  (events s3, sqs, ...)
from flowfn import cli_invoke as _cli_invoke  # noqa: E402, F401  (invoke)


def main() -> None:
    """Console entry point: a FlowfnError that no command turned into a line still gets one. A
    plain ``run-local`` command line skips typer's parsing (see :mod:`flowfn.cli_direct`)."""
    from flowfn.cli_direct import direct_call, run_as_typer

    call = direct_call({"run-local": run_local_command})
    try:
        if call is None:
            cli()
        else:
            run_as_typer(_root, call)
    except FlowfnError as exc:
        raise SystemExit(fail(str(exc), 2).exit_code) from None
