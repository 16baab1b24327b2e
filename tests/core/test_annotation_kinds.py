"""A handler annotated with another trigger kind's event type is refused when declared; an app's own
class of the same name is not flowfn's, and passes."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from flowfn import (
    App,
    AppLoadError,
    ConfigError,
    DynamoDbRecord,
    KinesisBatch,
    Queue,
    SqsRecord,
    Stream,
    Table,
    Topic,
)
from flowfn.loader import load_app


def test_a_kinesis_handler_annotated_for_a_table_stream_is_refused() -> None:
    def on_click(record: DynamoDbRecord) -> None: ...

    with pytest.raises(ConfigError, match=r"handler 'on_click', argument 'fn': its parameter 'record' is "
                       r"annotated DynamoDbRecord, what @on_dynamodb_stream passes, but @on_kinesis passes "
                       r"KinesisRecord or KinesisBatch\. Fix: annotate it KinesisRecord or KinesisBatch"):
        App("k").on_kinesis(Stream("clicks"))(on_click)


def test_an_sns_handler_annotated_as_an_sqs_record_is_refused() -> None:
    def on_alert(record: SqsRecord, context: object) -> None: ...

    with pytest.raises(ConfigError, match="annotated SqsRecord, what @on_sqs passes, but @on_sns passes SnsRecord"):
        App("s").on_sns(Topic("alerts"))(on_alert)


MODULE = """
from __future__ import annotations

from pydantic import BaseModel

from flowfn import App, Queue, Table

app = App("own")


class Request(BaseModel):  # the app's own model, named as flowfn's HTTP request is
    n: int


@app.on_sqs(Queue("requests"), model=Request)
def handle(request: Request) -> None:
    pass


@app.on_dynamodb_stream(Table("orders", key="pk", stream=True))
def on_change(record: flowfn.KinesisRecord) -> None:
    pass
"""


def test_an_apps_own_class_named_as_a_flowfn_type_is_not_mistaken_for_it(tmp_path: Path) -> None:
    module = tmp_path / "own.py"
    module.write_text(MODULE.replace("from flowfn import App", "import flowfn\nfrom flowfn import App"))
    with pytest.raises(AppLoadError, match="'record' is annotated KinesisRecord, what @on_kinesis passes"):
        load_app(str(module))
    module.write_text(MODULE.replace("record: flowfn.KinesisRecord", "record: flowfn.DynamoDbRecord")
                      .replace("from flowfn import App", "import flowfn\nfrom flowfn import App"))
    app = load_app(str(module), fresh=True)
    assert [h.name for h in app.handlers] == ["handle", "on_change"]


class Order(BaseModel):
    n: int


def test_annotations_of_the_triggers_own_kind_and_models_pass() -> None:
    app = App("fine")

    @app.on_kinesis(Stream("clicks"), batch=True)
    def per_batch(batch: KinesisBatch) -> None: ...

    @app.on_sqs(Queue("jobs"))
    def per_message(record: SqsRecord) -> None: ...

    @app.on_dynamodb_stream(Table("orders", key="pk", stream=True), model=Order,
                            filters=[{"eventName": ["INSERT", "MODIFY"]}])
    def per_order(order: Order) -> None: ...

    assert len(app.handlers) == 3
