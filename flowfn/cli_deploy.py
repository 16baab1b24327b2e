"""The deploy commands of the command line: deploy, bootstrap, destroy and logs (flowfn/deploy owns
them). Registered on the app of :mod:`flowfn.cli` when that module is imported."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from flowfn.cli import AppArg, cli, console, errors, fail, open_app
from flowfn.errors import FlowfnError

if TYPE_CHECKING:
    from flowfn.deploy.aws import Aws
    from flowfn.deploy.changes import Plan
    from flowfn.deploy.events import Event

StackOpt = Annotated[str, typer.Option("--stack", help="The CloudFormation stack's name.",
                                       show_default=False)]
RegionOpt = Annotated[str | None, typer.Option(
    "--region", help="AWS region (default: the profile's, or AWS_REGION)", show_default=False)]
ProfileOpt = Annotated[str | None, typer.Option(
    "--profile", help="AWS profile of the credentials (default: AWS_PROFILE, or the default chain)",
    show_default=False)]
EndpointOpt = Annotated[str | None, typer.Option(
    "--endpoint-url", help="Send every AWS call to this endpoint (an emulator such as moto or "
    "LocalStack).", show_default=False)]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking (needed when stdin is "
                                      "not a terminal).")]


def _print(text: str, style: str | None = None, *, err: bool = False) -> None:
    (errors if err else console).print(text, style=style, highlight=False, markup=False, soft_wrap=True)


@contextmanager
def _aws_errors(endpoint_url: str | None) -> Iterator[None]:
    """One line and an exit code for what goes wrong talking to AWS; never a traceback."""
    from flowfn.deploy.aws import UserError, error_code, error_message, explain

    try:
        yield
    except typer.Exit:
        raise
    except UserError as exc:
        raise fail(str(exc), 2) from None
    except FlowfnError as exc:
        raise fail(str(exc), 1) from None
    except Exception as exc:
        problem = explain(exc, endpoint_url)
        if problem is not None:
            raise fail(str(problem), 2) from None
        code = error_code(exc)
        if not code:
            raise
        operation = getattr(exc, "operation_name", "an AWS call")
        raise fail(f"{operation} failed: {code}: {error_message(exc)}", 1) from None


def _connect(region: str | None, profile: str | None, endpoint_url: str | None) -> Aws:
    from flowfn.deploy.aws import connect

    return connect(region, profile, endpoint_url)


def _interactive() -> bool:
    """True when stdin is a terminal a question can be answered on."""
    return sys.stdin is not None and sys.stdin.isatty()


def _confirm(question: str, yes: bool, on_no: Callable[[], None]) -> None:
    """Ask ``question`` unless ``--yes``; refuse when stdin is not a terminal to ask on."""
    if yes:
        return
    if not _interactive():
        on_no()
        raise fail(f"{question} needs an answer, and stdin is not a terminal. Fix: pass --yes to "
                   "go ahead without asking.", 2)
    if not typer.confirm(question, default=False):
        on_no()
        _print("cancelled: nothing changed", err=True)
        raise typer.Exit(1)


def _show_plan(plan: Plan) -> None:
    verb = "create" if plan.kind == "CREATE" else "update"
    _print(f"change set to {verb} stack {plan.stack}: {plan.counts()}")
    styles = {"+": "green", "~": "yellow", "-": "red"}
    for change in plan.changes:
        line = change.line()
        _print(f"  {line}", styles.get(line[0]))
    for warning in plan.warnings:
        _print(f"warning: {warning}", "bold red")


class _Progress:
    """Each resource event as a line; in a terminal, a bar of the resources done under them."""

    def __init__(self, stack: str, total: int) -> None:
        self.stack = stack
        self.done: set[str] = set()
        self.bar: Any = None
        if console.is_terminal and total:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

            self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                MofNCompleteColumn(), console=console, transient=True)
            self.task = self.bar.add_task(stack, total=total)

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def event(self, event: Event) -> None:
        failed = event.status.endswith("FAILED")
        _print(event.line(), "red" if failed else ("green" if event.status.endswith("COMPLETE") else None))
        if event.logical_id != self.stack and not event.status.endswith("IN_PROGRESS"):
            self.done.add(event.logical_id)
            if self.bar is not None:
                self.bar.update(self.task, completed=len(self.done))


_SUCCESS = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE")


def _execute(aws: Aws, plan: Plan, clear: str) -> None:
    """Execute the change set, follow it to its end, and on failure name the first failed resource."""
    from flowfn.deploy.events import first_failure, follow, latest_event_id

    since = latest_event_id(aws, plan.stack_id)
    aws.cloudformation.execute_change_set(ChangeSetName=plan.name, StackName=plan.stack_id)
    try:
        with _Progress(plan.stack, len(plan.changes)) as progress:
            status, events = follow(aws, plan.stack_id, since, progress.event)
    except KeyboardInterrupt:
        _print(f"stopped following {plan.stack}: CloudFormation carries on with the change set; its events "
               "are in the CloudFormation console", err=True)
        raise typer.Exit(130) from None
    if status in _SUCCESS:
        _print(f"stack {plan.stack}: {status}", "bold green")
        return
    failure = first_failure(aws, events, plan.stack_id)
    cause = failure.line() if failure else "CloudFormation named no failed resource; see the stack's events"
    _print(f"deploy failed: {cause}", "bold red", err=True)
    if status == "ROLLBACK_COMPLETE":
        _print(f"the stack {plan.stack} is left in ROLLBACK_COMPLETE (its first create was rolled back) and "
               f"cannot be updated; fix the cause, delete it with `{clear}`, and deploy again", err=True)
    elif status == "UPDATE_ROLLBACK_COMPLETE":
        _print(f"the stack {plan.stack} is rolled back to what it was before this deploy", err=True)
    else:
        _print(f"the stack {plan.stack} ended in {status}", err=True)
    raise typer.Exit(1)


def _show_outputs(aws: Aws, stack: str) -> None:
    from flowfn.deploy.outputs import stack_outputs

    pairs = stack_outputs(aws, stack)
    if pairs:
        _print("outputs:")
        width = max(len(k) for k, _ in pairs)
        for key, value in pairs:
            _print(f"  {key:<{width}}  {value}")


def _apply(aws: Aws, stack: str, kind: str, template: dict[str, str], parameters: dict[str, str], *,
           tags: dict[str, str], yes: bool, dry_run: bool, clear: str) -> None:
    """Create the change set, show it, ask, execute and follow it, and print the outputs."""
    from flowfn.deploy.changes import create_plan, discard

    plan = create_plan(aws, stack, kind, template, parameters, tags=tags)
    if plan is None:
        _print(f"no changes: stack {stack} is up to date")
        if kind == "UPDATE":
            _show_outputs(aws, stack)
        return
    _show_plan(plan)
    if dry_run:
        discard(aws, plan)
        _print("dry run: the change set is deleted, nothing was executed")
        return
    _confirm(f"Deploy these changes to {stack}?", yes, lambda: discard(aws, plan))
    _execute(aws, plan, clear)
    _show_outputs(aws, plan.stack_id)


@cli.command("deploy")
def deploy_command(
    app: AppArg,
    stack: StackOpt,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    asset_bucket: Annotated[str | None, typer.Option(
        "--asset-bucket", help="Bucket for the code, layers and nested templates (default: the one "
        "`flowfn bootstrap` made in the region)", show_default=False)] = None,
    yes: YesOpt = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the change set, then delete it "
                                          "without executing it.")] = False,
    python: Annotated[str | None, typer.Option(
        "--python", help="Python version of the functions (default: the one running flowfn)",
        show_default=False)] = None,
    cache_dir: Annotated[Path | None, typer.Option(
        "--cache-dir", help="Wheel and layer cache (default: ~/.cache/flowfn)", show_default=False)] = None,
    log_retention: Annotated[int, typer.Option("--log-retention", help="Days each function's log group "
                                               "keeps logs.")] = 30,
) -> None:
    """Deploy the app to AWS through a CloudFormation change set.

    Synthesizes the app, builds its dependency layer (pip, cached), uploads the assets that are not
    in the asset bucket yet, shows what the change set adds, modifies and removes (warning before
    a bucket, table, stream or queue is replaced or removed), asks, executes it and follows the
    stack's events, then prints the stack's outputs. A failure names the first resource that
    failed and why, and exits 1. --dry-run stops after showing the change set.
    """
    from flowfn.deploy.assets import INLINE_TEMPLATE_BYTES, upload_assets, upload_template
    from flowfn.deploy.assets import asset_bucket as find_bucket
    from flowfn.deploy.changes import check_deployable, stack_state
    from flowfn.deploy.outputs import APP_TAG
    from flowfn.synth import SynthOptions, current_python, synth_app
    from flowfn.synth.pipeline import ASSET_DIR, source_only_note

    application = open_app(app)
    clear = f"flowfn destroy {app} --stack {stack}"
    with _aws_errors(endpoint_url):
        aws = _connect(region, profile, endpoint_url)
        kind = check_deployable(stack_state(aws, stack), stack, clear)
        bucket = find_bucket(aws, asset_bucket)
        options = SynthOptions(python=python or current_python(), log_retention_days=log_retention)
        output = synth_app(application, options, bundle=True, cache_dir=cache_dir)
        note = source_only_note(options, output)
        if note:
            _print(f"note: {note}", "yellow")
        files = output.files()
        template_name = output.synthesis.template_file
        prefix = f"{application.name or 'app'}/"
        assets = {n.removeprefix(f"{ASSET_DIR}/"): d for n, d in files.items() if n != template_name}
        uploaded = upload_assets(aws, bucket, prefix, assets,
                                 lambda key, size: _print(f"uploading s3://{bucket}/{key} ({size:,} bytes)"))
        if uploaded.present:
            _print(f"{len(uploaded.present)} assets already in s3://{bucket}/{prefix}")
        body = files[template_name]
        template = {"TemplateBody": body.decode()}
        if len(body) > INLINE_TEMPLATE_BYTES:  # CloudFormation reads a larger one from S3
            template = {"TemplateURL": upload_template(aws, bucket, prefix, body, options.format)}
            _print(f"template ({len(body):,} bytes, over {INLINE_TEMPLATE_BYTES:,} inline) at "
                   f"{template['TemplateURL']}")
        _apply(aws, stack, kind, template, {"AssetBucket": bucket, "AssetPrefix": prefix},
               tags={APP_TAG: application.name or "app"}, yes=yes, dry_run=dry_run, clear=clear)


@cli.command("bootstrap")
def bootstrap_command(
    stack: Annotated[str, typer.Option("--stack", help="Name of the bootstrap stack.")] = "flowfn-bootstrap",
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    retention_days: Annotated[int, typer.Option("--asset-retention-days", help="Days an asset is kept "
                                                "after its upload.")] = 365,
    yes: YesOpt = False,
) -> None:
    """Create (or update) the asset bucket flowfn deploy uploads to, once per account and region.

    The bucket is encrypted, versioned, blocks public access, accepts TLS only, expires assets
    after --asset-retention-days, and is kept when the stack is deleted.
    """
    from flowfn.deploy.bootstrap import render
    from flowfn.deploy.changes import check_deployable, stack_state

    clear = f"aws cloudformation delete-stack --stack-name {stack}"
    with _aws_errors(endpoint_url):
        aws = _connect(region, profile, endpoint_url)
        kind = check_deployable(stack_state(aws, stack), stack, clear)
        _apply(aws, stack, kind, {"TemplateBody": render()}, {"AssetRetentionDays": str(retention_days)},
               tags={"flowfn:bootstrap": "1"}, yes=yes, dry_run=False, clear=clear)


@cli.command("destroy")
def destroy_command(
    app: AppArg,
    stack: StackOpt,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    yes: YesOpt = False,
    empty_buckets: Annotated[bool, typer.Option(
        "--empty-buckets", help="Delete the objects of the app's buckets too, then the buckets.")] = False,
) -> None:
    """Delete the app's stack.

    The app's buckets outlive their stack (DeletionPolicy Retain): an empty one is deleted after
    the stack; one that still holds objects is reported and kept, unless --empty-buckets.
    """
    from flowfn.deploy.changes import stack_state
    from flowfn.deploy.destroy import clean_buckets, stack_buckets
    from flowfn.deploy.events import first_failure, follow, latest_event_id
    from flowfn.deploy.outputs import APP_TAG

    application = open_app(app)
    with _aws_errors(endpoint_url):
        aws = _connect(region, profile, endpoint_url)
        state = stack_state(aws, stack)
        if state is None:
            raise fail(f"no stack {stack} in {aws.region}: nothing to destroy. Fix: name the --stack "
                       "and --region it was deployed to.", 2)
        tags = {t["Key"]: t["Value"] for t in state.get("Tags") or []}
        owner = tags.get(APP_TAG)
        if owner is not None and owner != (application.name or "app"):
            raise fail(f"the stack {stack} holds the app {owner!r}, not "
                       f"{application.name or 'app'!r}. Fix: name the right --stack or APP.", 2)
        stack_id = str(state["StackId"])
        buckets = stack_buckets(aws, stack_id)
        _print(f"stack {stack} ({state['StackStatus']}) and its {len(buckets)} buckets"
               + (", emptied first" if empty_buckets else " (kept if they hold objects)"))
        _confirm(f"Delete stack {stack}?", yes, lambda: None)
        since = latest_event_id(aws, stack_id)
        aws.cloudformation.delete_stack(StackName=stack_id)
        with _Progress(stack, 0) as progress:
            status, events = follow(aws, stack_id, since, progress.event)
        if status != "DELETE_COMPLETE":
            failure = first_failure(aws, events, stack_id)
            cause = failure.line() if failure else f"the stack ended in {status}"
            raise fail(f"destroy failed: {cause}", 1)
        _print(f"stack {stack}: DELETE_COMPLETE", "bold green")
        cleanup = clean_buckets(aws, buckets, empty=empty_buckets)
        for left in cleanup.emptied:
            _print(f"emptied bucket {left.name} ({left.objects} objects and versions)")
        for name in cleanup.deleted:
            _print(f"deleted bucket {name}")
        for left in cleanup.kept:
            more = "+" if left.objects >= 1000 else ""
            _print(f"kept bucket {left.name}: it holds {left.objects}{more} objects. Fix: copy out what you "
                   f"need, then run `flowfn destroy {app} --stack {stack} --empty-buckets` again, or "
                   f"`aws s3 rb s3://{left.name} --force`", "yellow")


def _no_stack(message: str) -> NoReturn:
    raise fail(message, 2)


@cli.command("logs")
def logs_command(
    app: AppArg,
    function: Annotated[str, typer.Argument(help="The handler's name.", metavar="FUNCTION",
                                            show_default=False)],
    stack: Annotated[str | None, typer.Option(
        "--stack", help="The app's stack (default: the one stack flowfn deploy made for the app)",
        show_default=False)] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines (Ctrl-C "
                                         "stops).")] = False,
    since: Annotated[str, typer.Option("--since", help="From this long ago (30s, 10m, 2h, 1d) or this "
                                       "ISO 8601 time.")] = "10m",
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
) -> None:
    """Print a deployed function's log lines: flowfn's JSON lines as time, level, message and keys,
    with the traceback of an error below it."""
    from datetime import UTC, datetime

    from flowfn.deploy.logs import format_line, log_group, parse_since, read_logs
    from flowfn.deploy.outputs import app_stacks

    application = open_app(app)
    names = [h.name for h in application.handlers]
    with _aws_errors(endpoint_url):
        start = parse_since(since, datetime.now(UTC))
        aws = _connect(region, profile, endpoint_url)
        if stack is None:
            found = app_stacks(aws, application.name or "app")
            if len(found) != 1:
                _no_stack(f"{len(found) or 'no'} stacks of the app {application.name!r} in {aws.region}"
                          + (f" ({', '.join(found)})" if found else "") + ". Fix: name one with --stack.")
            stack = found[0]
        group = log_group(aws, stack, names, function)
        try:
            for event in read_logs(aws, group, start, follow=follow):
                for line in format_line(event):
                    _print(line)
        except KeyboardInterrupt:
            return
