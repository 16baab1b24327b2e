"""The flowfn command line. The only module that prints or writes files for the user."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

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
    errors.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def open_app(target: str) -> App:
    """Load the user's app, turning every loading failure into a clear one-line error."""
    try:
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
    for row in rows(application, datetime.now(UTC)):
        table.add_row(row.function, row.trigger, "\n".join(row.touches) or "-",
                      "\n".join(row.when) or "-")
    console.print(table)


# -- synth commands: synth, graph (flowfn/synth owns them) ----------------------------------


def _python_default() -> str:
    import sys

    return f"{sys.version_info.major}.{sys.version_info.minor}"


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
) -> None:
    """Write the app's CloudFormation template and code assets to --out, and list each
    function's permissions.

    Upload the files under OUT/assets to an S3 bucket and deploy OUT/template.(json|yaml) with the
    parameters AssetBucket (that bucket) and AssetPrefix (the key prefix they went under).
    """
    application = open_app(app)
    from flowfn.synth import SynthOptions, synth_app
    from flowfn.synth.pipeline import ASSET_DIR, is_asset_name

    try:
        options = SynthOptions(python=python or _python_default(), log_retention_days=log_retention,
                               format=fmt)  # type: ignore[arg-type]
        output = synth_app(application, options, bundle=bundle, cache_dir=cache_dir, exclude=[out])
        files = output.files()
    except FlowfnError as exc:
        raise fail(str(exc)) from None
    assets = out / ASSET_DIR
    assets.mkdir(parents=True, exist_ok=True)
    for stale in sorted(assets.iterdir()):
        if is_asset_name(stale.name) and f"{ASSET_DIR}/{stale.name}" not in files:
            stale.unlink()
    for other in ("template.json", "template.yaml"):
        if other not in files and (out / other).exists():
            (out / other).unlink()
    for name, data in files.items():
        (out / name).write_bytes(data)
    synthesis = output.synthesis
    table = Table(title=f"{application.name}: permissions of {len(synthesis.policies)} functions",
                  show_lines=True, title_justify="left")
    table.add_column("function", style="bold")
    table.add_column("may", overflow="fold")
    table.add_column("on", overflow="fold")
    for name, policy in synthesis.policies.items():
        rows = policy.rows()
        table.add_row(name, "\n".join(r[0] for r in rows), "\n".join(r[1] for r in rows))
    console.print(table)
    nested = f" + {len(synthesis.nested)} nested stacks" if synthesis.nested else ""
    console.print(f"wrote {out / synthesis.template_file}{nested}, code asset {output.code.name}",
                  highlight=False)
    for name in output.missing_layers:
        console.print(f"[yellow]note:[/] dependency layer {name} not built; run with --bundle before "
                      "deploying", highlight=False)


@cli.command("graph")
def graph_command(
    app: AppArg,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write the Mermaid text to this file instead of printing it.",
        show_default=False)] = None,
) -> None:
    """Draw what triggers what as a Mermaid flowchart: buckets, queues, schedules and routes into
    functions, and functions into what they write or send to."""
    application = open_app(app)
    from flowfn.synth import mermaid

    text = mermaid(application)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text)
        console.print(f"wrote {out}", highlight=False)


# -- local commands: run-local, invoke, events (flowfn/local owns them) ---------------------


def main() -> None:
    """Console entry point."""
    cli()
