"""The registry: decorators record and return the function unchanged; one plain call beneath."""

from __future__ import annotations

from typing import Any

import pytest

from flowfn import App, Bucket, NotBoundError, Queue
from flowfn.app import MODULE_APP_ATTR, module_app
from flowfn.errors import FrozenAppError
from flowfn.function import make_settings
from flowfn.triggers import HttpTrigger, S3Trigger, ScheduleTrigger, SqsTrigger
from flowfn.triggers.s3 import make_s3_trigger


def test_decorators_record_specs_and_return_the_function() -> None:
    app = App("shop")
    uploads, thumbs, jobs = Bucket("uploads"), Bucket("thumbnails"), Queue("jobs", max_receive_count=3)

    def make_thumbnail(event: Any, context: Any) -> str:
        return "made"

    decorated = app.on_s3(uploads, events=["created"], prefix="incoming/", suffix=".jpg",
                          uses=[uploads.read(), thumbs.write()], memory_mb=512, timeout_s=30)(make_thumbnail)
    assert decorated is make_thumbnail
    assert decorated(None, None) == "made"

    @app.on_sqs(jobs, batch_size=5, uses=[thumbs.read()])
    def process(record: Any, context: Any) -> None: ...

    @app.on_schedule("cron(0 3 * * ? *)", name="nightly-report")
    def nightly() -> None: ...

    @app.on_http("get", "/thumbnails/{name}", uses=[thumbs.read()])
    def get_thumbnail(request: Any) -> None: ...

    assert [h.name for h in app.handlers] == ["make_thumbnail", "process", "nightly-report", "get_thumbnail"]
    s3 = app.handler("make_thumbnail")
    assert s3.trigger == S3Trigger(bucket=uploads, events=("s3:ObjectCreated:*",), prefix="incoming/",
                                   suffix=".jpg")
    assert s3.settings.memory_mb == 512 and s3.settings.timeout_s == 30
    assert isinstance(app.handler("process").trigger, SqsTrigger)
    assert isinstance(app.handler("nightly-report").trigger, ScheduleTrigger)
    assert app.handler("nightly-report").arity == 0
    http = app.handler("get_thumbnail").trigger
    assert isinstance(http, HttpTrigger) and http.route_key == "GET /thumbnails/{name}"
    assert [r.logical_name for r in app.all_resources()] == ["uploads", "thumbnails", "jobs", "jobs-dlq"]
    assert app.consumer_of(jobs) is app.handler("process")
    with pytest.raises(KeyError, match=r"no handler named 'missing'.*make_thumbnail"):
        app.handler("missing")


def test_specs_are_frozen() -> None:
    trigger = make_s3_trigger(Bucket("uploads"), ["created"], "", "", False, "handler 'x'")
    with pytest.raises(AttributeError):
        trigger.prefix = "other/"  # type: ignore[misc]


def test_add_is_the_plain_call_beneath() -> None:
    app = App("t")

    def fn(event: Any, context: Any) -> None: ...

    trigger = make_s3_trigger(Bucket("uploads"), ["created"], "", "", False, "handler 'fn'")
    settings = make_settings(name="fn", memory_mb=128, timeout_s=3, ephemeral_storage_mb=512,
                             environment={"MODE": "fast"}, reserved_concurrency=None,
                             architecture="x86_64", log_level="DEBUG", uses=None)
    handler = app.add(fn, trigger, settings)
    assert handler.fn is fn and handler.settings.env == {"MODE": "fast"}


def test_frozen_app_refuses_new_handlers() -> None:
    app = App("t").freeze()
    with pytest.raises(FrozenAppError, match="handler 'late'"):
        app.on_schedule("rate(1 day)", name="late")(_noop)


def _noop() -> None: ...


def test_module_level_decorators_fill_the_module_app() -> None:
    namespace: dict[str, Any] = {"__name__": "shop.handlers"}
    exec(
        "from flowfn import Bucket, on_s3\n"
        "b = Bucket('uploads')\n"
        "@on_s3(b)\n"
        "def f(event, context):\n"
        "    return 1\n",
        namespace,
    )
    app = namespace[MODULE_APP_ATTR]
    assert module_app(namespace) is app
    assert app.name == "handlers"
    assert [h.name for h in app.handlers] == ["f"]
    assert namespace["f"](None, None) == 1
    # Re-running the module (a reload) replaces, instead of clashing with, its own handlers.
    exec("@on_s3(b)\ndef f(event, context):\n    return 2\n", namespace)
    assert app.handler("f").fn(None, None) == 2


def test_module_apps_share_nothing_not_even_a_failure_destination() -> None:
    # Two modules, each with its own queue named "bad": each module's app holds its own.
    code = (
        "from flowfn import Queue, Stream, on_kinesis\n"
        "bad = Queue('bad', max_receive_count={n})\n"
        "@on_kinesis(Stream('clicks'), on_failure=bad)\n"
        "def h(record, context):\n"
        "    pass\n"
    )
    apps = []
    for n in (3, 7):
        namespace: dict[str, Any] = {"__name__": f"module{n}"}
        exec(code.format(n=n), namespace)
        apps.append(namespace[MODULE_APP_ATTR])
    for app, n in zip(apps, (3, 7), strict=True):
        bad = next(r for r in app.queues() if r.logical_name == "bad")
        assert bad.max_receive_count == n


def test_resources_read_physical_names_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    uploads, jobs = Bucket("photo-uploads"), Queue("jobs.fifo")
    assert uploads.env_key == "FLOWFN_BUCKET_PHOTO_UPLOADS"
    assert jobs.env_key == "FLOWFN_QUEUE_JOBS_FIFO_URL"
    with pytest.raises(NotBoundError, match=r"Bucket\('photo-uploads'\) has no bucket name bound here"):
        _ = uploads.name
    with pytest.raises(NotBoundError, match="FLOWFN_QUEUE_JOBS_FIFO_URL"):
        _ = jobs.url
    monkeypatch.setenv(uploads.env_key, "stack-photouploads-1x2y")
    monkeypatch.setenv(jobs.env_key, "http://127.0.0.1:5000/123456789012/stack-jobs.fifo")
    assert uploads.name == "stack-photouploads-1x2y"
    assert jobs.name == "stack-jobs.fifo"
    assert jobs.fifo and jobs.dlq is not None and jobs.dlq.logical_name == "jobs-dlq.fifo"


def test_existing_resources() -> None:
    logs = Bucket("logs", existing="arn:aws:s3:::company-logs")
    assert logs.existing == "company-logs" and not logs.managed
    assert logs.name == "company-logs"  # known without a function environment
    queue = Queue("ext", existing="https://sqs.eu-west-1.amazonaws.com/123456789012/their-queue")
    assert queue.existing_name == "their-queue" and queue.dlq is None and not queue.managed


def test_grants_describe_scope() -> None:
    reports = Bucket("reports")
    assert reports.read("daily/").describe() == "read bucket reports daily/*"
    assert Queue("jobs").send().describe() == "send queue jobs"


def test_a_dead_letter_queue_granted_directly_is_listed_once() -> None:
    app = App("t")
    jobs = Queue("jobs")
    assert jobs.dlq is not None

    def peek(request: Any) -> None: ...

    app.on_sqs(jobs, name="work")(_noop_record)
    app.on_http("GET", "/dead", uses=[jobs.dlq.consume()])(peek)
    names = [r.logical_name for r in app.all_resources()]
    assert names == ["jobs", "jobs-dlq"]
    assert [q.logical_name for q in app.queues()] == ["jobs", "jobs-dlq"]


def _noop_record(record: Any, context: Any) -> None: ...


def test_visibility_timeout_is_declared_or_derived_from_the_consumer() -> None:
    app = App("t")
    derived, declared, idle = Queue("derived"), Queue("declared", visibility_timeout_s=200), Queue("idle")
    app.on_sqs(derived, name="slow", timeout_s=120)(_noop_record)
    app.on_sqs(declared, name="fast", timeout_s=10)(_noop_record)
    app.declare(idle)
    assert app.visibility_timeout(derived) == 720  # six times the consumer's timeout
    assert app.visibility_timeout(declared) == 200
    assert app.visibility_timeout(idle) == 30
    app.on_sqs(Queue("long"), name="longest", timeout_s=900)(_noop_record)
    assert app.visibility_timeout(Queue("long")) == 5400


def test_consumer_of_follows_handlers_added_after_it_was_asked() -> None:
    app = App("shop")
    jobs, other = Queue("jobs"), Queue("other")
    assert app.consumer_of(jobs) is None

    @app.on_sqs(jobs)
    def work(record: Any) -> None: ...

    @app.on_sqs(other, name="second")
    def also(record: Any) -> None: ...

    assert app.consumer_of(jobs) is app.handler("work")
    assert app.consumer_of(other) is app.handler("second")
    assert app.consumer_of(Queue("idle")) is None
