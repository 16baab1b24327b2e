"""A refused declaration names the user's line (the decorator's), and the CLI prints just that."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from flowfn import App, Bucket, ConfigError, Queue, S3Event, S3Record, SqsBatch, SqsRecord
from flowfn.cli import cli

FLOWFN_DIR = str(Path(__file__).resolve().parents[2] / "flowfn")

APP = '''\
from flowfn import Bucket, on_s3, on_schedule


def helper():
    return 1


@on_schedule("rate(1 hour)")
def fine(): ...


@on_s3(
    Bucket("uploads"),
    memory_mb=64,
)
def thumbnail(record, context): ...
'''


def _list(path: Path) -> Any:
    return CliRunner().invoke(cli, ["list", str(path)], env={"COLUMNS": "300"})


def test_cli_prints_the_decorator_line_and_the_message_only(tmp_path: Path) -> None:
    target = tmp_path / "located_app.py"
    target.write_text(APP)
    result = _list(target)
    assert result.exit_code == 1
    out = " ".join(result.output.split())
    assert out.startswith(f"error: {target}:12: handler 'thumbnail', argument 'memory_mb': 64 MB is outside"), out
    assert "Traceback" not in out and "importing it failed" not in out and FLOWFN_DIR not in out


def test_the_error_names_our_decorator_among_stacked_ones(tmp_path: Path) -> None:
    target = tmp_path / "stacked_app.py"
    target.write_text(
        "from flowfn import on_schedule\n"
        "def keep(fn):\n"
        "    return fn\n"
        "@keep\n"
        "@on_schedule('cron(0 0 31 2 ? *)')\n"
        "@keep\n"
        "def tick(): ...\n"
    )
    result = _list(target)
    assert result.exit_code == 1
    assert f"error: {target}:5: handler 'tick', argument 'expression'" in " ".join(result.output.split())


def test_a_resource_refused_at_import_names_its_line(tmp_path: Path) -> None:
    target = tmp_path / "bucket_app.py"
    target.write_text("from flowfn import Bucket, on_s3\n\nuploads = Bucket('Bad_Name')\n")
    result = _list(target)
    assert result.exit_code == 1
    out = " ".join(result.output.split())
    assert f"error: {target}:3: Bucket('Bad_Name'), argument 'name'" in out, out
    assert "importing it failed" not in out


def test_an_app_method_names_the_callers_line() -> None:
    def handler(event: Any, context: Any) -> None: ...

    line = sys._getframe().f_lineno + 2
    with pytest.raises(ConfigError) as caught:
        App("t").on_schedule("rate(0 minutes)")(handler)
    assert caught.value.where == f"{__file__}:{line}"
    assert str(caught.value).startswith(f"{__file__}:{line}: handler 'handler', argument 'expression'")


# -- what an S3 (or SQS) handler is called with ------------------------------------------------


def test_s3_signature_error_says_per_record_unless_batch() -> None:
    def takes_nothing() -> None: ...

    with pytest.raises(ConfigError) as caught:
        App("t").on_s3(Bucket("uploads"))(takes_nothing)
    message = str(caught.value)
    assert "once per record" in message and "(record, context)" in message and "batch=True" in message
    with pytest.raises(ConfigError) as batch:
        App("t").on_s3(Bucket("uploads"), batch=True)(takes_nothing)
    assert "once per event" in str(batch.value) and "(event, context)" in str(batch.value)


def per_event(event: S3Event, context: Any) -> None: ...
def per_event_text(event: "S3Event", context: Any) -> None: ...  # noqa: UP037
def per_record(record: S3Record, context: Any) -> None: ...
def per_record_dotted(record: "flowfn.S3Record") -> None: ...  # type: ignore[name-defined]  # noqa: F821, UP037


@pytest.mark.parametrize("fn", [per_event, per_event_text])
def test_s3_event_annotation_needs_batch(fn: Any) -> None:
    with pytest.raises(ConfigError, match=r"annotated S3Event, but without batch=True .* S3Record"):
        App("t").on_s3(Bucket("uploads"))(fn)
    App("t").on_s3(Bucket("uploads"), batch=True)(fn)


@pytest.mark.parametrize("fn", [per_record, per_record_dotted])
def test_s3_record_annotation_refuses_batch(fn: Any) -> None:
    with pytest.raises(ConfigError, match=r"annotated S3Record, but with batch=True .* S3Event"):
        App("t").on_s3(Bucket("uploads"), batch=True)(fn)
    App("t").on_s3(Bucket("uploads"))(fn)


class Order(BaseModel):
    id: str


def sqs_batch(batch: SqsBatch) -> None: ...
def sqs_record(record: SqsRecord) -> None: ...


def test_sqs_annotations_fit_batch_and_model() -> None:
    with pytest.raises(ConfigError, match="annotated SqsBatch, but without batch=True"):
        App("t").on_sqs(Queue("jobs"))(sqs_batch)
    with pytest.raises(ConfigError, match="annotated SqsRecord, but with batch=True"):
        App("t").on_sqs(Queue("jobs"), batch=True)(sqs_record)
    with pytest.raises(ConfigError, match="annotated SqsRecord, but with model=Order"):
        App("t").on_sqs(Queue("jobs"), model=Order)(sqs_record)
    App("t").on_sqs(Queue("jobs"), batch=True)(sqs_batch)
    App("t").on_sqs(Queue("jobs"))(sqs_record)
