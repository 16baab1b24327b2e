"""The flowfn command line. The only module that prints or writes files for the user."""

from __future__ import annotations

from datetime import UTC, datetime
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


# -- local commands: run-local, invoke, events (flowfn/local owns them) ---------------------


def main() -> None:
    """Console entry point."""
    cli()
