"""The validation matrix: every rule, with inputs AWS accepts and inputs it refuses.

Each bad input must raise ConfigError whose message names the handler (or resource) and the
argument, and says how to fix it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from flowfn import App, Bucket, ConfigError, Queue


def handler(event: Any, context: Any) -> None:
    """A valid two-argument handler."""


def http_handler(request: Any) -> None:
    """A valid HTTP handler."""


class Order(BaseModel):
    id: str


def register_s3(**kw: Any) -> None:
    App("t").on_s3(kw.pop("bucket", Bucket("uploads")), **kw)(handler)


def register_sqs(queue: Queue | None = None, **kw: Any) -> None:
    App("t").on_sqs(queue or Queue("jobs"), **kw)(handler)


def register_schedule(expression: str, **kw: Any) -> None:
    App("t").on_schedule(expression, **kw)(handler)


def register_http(method: str = "GET", path: str = "/items", **kw: Any) -> None:
    App("t").on_http(method, path, **kw)(http_handler)


GOOD: list[tuple[str, Callable[[], Any]]] = [
    ("bucket 3 chars", lambda: Bucket("abc")),
    ("bucket 63 chars", lambda: Bucket("a" * 63)),
    ("bucket dots and hyphens", lambda: Bucket("my.photo-uploads")),
    ("existing bucket by name", lambda: Bucket("logs", existing="company-logs")),
    ("existing bucket by arn", lambda: Bucket("logs", existing="arn:aws:s3:::company-logs")),
    ("queue name", lambda: Queue("Jobs_2-a")),
    ("queue 80 chars", lambda: Queue("q" * 76, max_receive_count=None)),
    ("fifo queue", lambda: Queue("orders.fifo", content_based_deduplication=True)),
    ("existing queue arn", lambda: Queue("ext", existing="arn:aws:sqs:eu-west-1:123456789012:ext-q")),
    ("sqs batch 10000 with window", lambda: register_sqs(batch_size=10_000, batching_window_s=1)),
    ("sqs batch 10 no window", lambda: register_sqs(batch_size=10)),
    ("sqs window 300", lambda: register_sqs(batching_window_s=300)),
    ("fifo batch 10", lambda: register_sqs(Queue("o.fifo"), batch_size=10)),
    ("sqs model", lambda: register_sqs(model=Order)),
    ("sqs max concurrency", lambda: register_sqs(max_concurrency=2)),
    ("visibility equals timeout", lambda: register_sqs(Queue("v", visibility_timeout_s=30), timeout_s=30)),
    ("memory bounds", lambda: register_s3(memory_mb=128)),
    ("memory max", lambda: register_s3(memory_mb=10_240)),
    ("timeout bounds", lambda: register_s3(timeout_s=900)),
    ("ephemeral storage", lambda: register_s3(ephemeral_storage_mb=10_240)),
    ("env just under 4 KB", lambda: register_s3(environment={"BIG": "x" * 4093})),
    ("name 64 chars", lambda: register_s3(name="f" * 64)),
    ("architecture x86", lambda: register_s3(architecture="x86_64")),
    ("reserved concurrency", lambda: register_s3(reserved_concurrency=5)),
    ("s3 full event name", lambda: register_s3(events=["s3:ObjectCreated:Put", "removed"])),
    ("rate 1 minute", lambda: register_schedule("rate(1 minute)")),
    ("rate 5 hours", lambda: register_schedule("rate(5 hours)")),
    ("cron daily", lambda: register_schedule("cron(0 3 * * ? *)")),
    ("cron weekdays", lambda: register_schedule("cron(0/15 8-17 ? * MON-FRI *)")),
    ("cron last day", lambda: register_schedule("cron(0 0 L * ? *)")),
    ("cron weekday nearest", lambda: register_schedule("cron(0 0 15W * ? *)")),
    ("cron nth weekday", lambda: register_schedule("cron(0 9 ? * 2#1 *)")),
    ("cron last friday", lambda: register_schedule("cron(0 9 ? * 6L 2027)")),
    ("cron months", lambda: register_schedule("cron(30 6 1 JAN,JUL ? 2026-2030)")),
    ("schedule timezone", lambda: register_schedule("cron(0 3 * * ? *)", timezone="Europe/Paris")),
    ("http root", lambda: register_http("GET", "/")),
    ("http params", lambda: register_http("post", "/users/{id}/files/{key+}")),
    ("http any", lambda: register_http("ANY", "/proxy/{path+}")),
]


@pytest.mark.parametrize(("label", "build"), GOOD, ids=[g[0] for g in GOOD])
def test_accepts(label: str, build: Callable[[], Any]) -> None:
    build()


# (label, build, words the message must contain: subject, argument, and the gist)
BAD: list[tuple[str, Callable[[], Any], tuple[str, ...]]] = [
    ("bucket too short", lambda: Bucket("ab"), ("Bucket('ab')", "'name'", "3-63")),
    ("bucket too long", lambda: Bucket("a" * 64), ("'name'", "3-63")),
    ("bucket uppercase", lambda: Bucket("Uploads"), ("Bucket('Uploads')", "'name'", "lowercase")),
    ("bucket underscore", lambda: Bucket("my_bucket"), ("'name'",)),
    ("bucket ends hyphen", lambda: Bucket("uploads-"), ("start and end",)),
    ("bucket double dot", lambda: Bucket("a..b"), ("adjacent periods",)),
    ("bucket ip", lambda: Bucket("192.168.1.1"), ("IP address",)),
    ("bucket xn prefix", lambda: Bucket("xn--abc"), ("reserves",)),
    ("bucket s3alias suffix", lambda: Bucket("abc-s3alias"), ("reserves",)),
    ("existing bucket bad", lambda: Bucket("logs", existing="Bad_Name"), ("'existing'",)),
    ("queue bad chars", lambda: Queue("jobs!"), ("Queue('jobs!')", "'name'")),
    ("queue too long", lambda: Queue("q" * 81), ("'name'", "80")),
    ("queue dlq name too long", lambda: Queue("q" * 78), ("dead-letter", "80")),
    ("queue fifo dedup on standard", lambda: Queue("jobs", content_based_deduplication=True),
     ("content_based_deduplication", "FIFO")),
    ("queue max receive 0", lambda: Queue("jobs", max_receive_count=0), ("max_receive_count",)),
    ("queue visibility too long", lambda: Queue("jobs", visibility_timeout_s=50_000),
     ("visibility_timeout_s",)),
    ("queue retention too short", lambda: Queue("jobs", retention_s=10), ("retention_s",)),
    ("sqs batch 0", lambda: register_sqs(batch_size=0), ("handler 'handler'", "'batch_size'")),
    ("sqs batch over standard", lambda: register_sqs(batch_size=10_001, batching_window_s=1),
     ("'batch_size'", "1-10000")),
    ("sqs fifo batch 11", lambda: register_sqs(Queue("o.fifo"), batch_size=11), ("'batch_size'", "1-10")),
    ("sqs batch over 10 needs window", lambda: register_sqs(batch_size=11), ("'batching_window_s'",)),
    ("sqs window 301", lambda: register_sqs(batching_window_s=301), ("'batching_window_s'", "0-300")),
    ("sqs fifo window", lambda: register_sqs(Queue("o.fifo"), batching_window_s=5),
     ("'batching_window_s'", "FIFO")),
    ("sqs model not pydantic", lambda: register_sqs(model=dict), ("'model'", "pydantic")),
    ("sqs max concurrency 1", lambda: register_sqs(max_concurrency=1), ("'max_concurrency'",)),
    ("sqs batch a string", lambda: register_sqs(batch_size="10"), ("'batch_size'", "'10' is not a whole number")),
    ("sqs window a fraction", lambda: register_sqs(batching_window_s=1.5),
     ("'batching_window_s'", "1.5 is not a whole number", "0-300")),
    ("sqs not a queue", lambda: App("t").on_sqs(Bucket("abc"))(handler), ("'queue'",)),  # type: ignore[arg-type]
    ("visibility shorter than timeout", lambda: register_sqs(Queue("v", visibility_timeout_s=10), timeout_s=30),
     ("handler 'handler'", "'timeout_s'", "visibility_timeout_s")),
    ("memory low", lambda: register_s3(memory_mb=127), ("handler 'handler'", "'memory_mb'", "128-10240")),
    ("memory high", lambda: register_s3(memory_mb=10_241), ("'memory_mb'",)),
    ("memory not int", lambda: register_s3(memory_mb=256.0), ("'memory_mb'", "whole number")),
    ("timeout 0", lambda: register_s3(timeout_s=0), ("'timeout_s'", "1-900")),
    ("timeout 901", lambda: register_s3(timeout_s=901), ("'timeout_s'",)),
    ("ephemeral low", lambda: register_s3(ephemeral_storage_mb=256), ("'ephemeral_storage_mb'", "512-10240")),
    ("env over 4 KB", lambda: register_s3(environment={"BIG": "x" * 4094}), ("'environment'", "4096")),
    ("env reserved", lambda: register_s3(environment={"AWS_REGION": "x"}), ("'environment'", "reserved")),
    ("env flowfn prefix", lambda: register_s3(environment={"FLOWFN_X": "x"}), ("'environment'", "FLOWFN_")),
    ("env bad key", lambda: register_s3(environment={"1X": "x"}), ("'environment'",)),
    ("env non-str value", lambda: register_s3(environment={"X": 1}), ("'environment'", "str")),
    ("name too long", lambda: register_s3(name="f" * 65), ("'name'", "64")),
    ("name bad chars", lambda: register_s3(name="my fn"), ("'name'",)),
    ("architecture", lambda: register_s3(architecture="arm"), ("'architecture'", "arm64")),
    ("log level", lambda: register_s3(log_level="LOUD"), ("'log_level'",)),
    ("reserved concurrency negative", lambda: register_s3(reserved_concurrency=-1),
     ("'reserved_concurrency'",)),
    ("uses not a grant", lambda: register_s3(uses=[Bucket("other")]), ("'uses'", "grant")),
    ("s3 unknown event", lambda: register_s3(events=["made"]), ("'events'", "created")),
    ("s3 no events", lambda: register_s3(events=[]), ("'events'",)),
    ("s3 wildcard prefix", lambda: register_s3(prefix="in/*"), ("'prefix'", "wildcard")),
    ("s3 leading slash", lambda: register_s3(prefix="/in/"), ("'prefix'",)),
    ("s3 not a bucket", lambda: App("t").on_s3(Queue("jobs"))(handler), ("'bucket'",)),  # type: ignore[arg-type]
    ("s3 writes where it triggers", lambda: register_s3(prefix="in/", uses=[Bucket("uploads").write()]),
     ("'uses'", "without end")),
    ("rate plural for 1", lambda: register_schedule("rate(1 minutes)"), ("'expression'", "singular")),
    ("rate singular above 1", lambda: register_schedule("rate(5 minute)"), ("'expression'", "plural")),
    ("rate unit", lambda: register_schedule("rate(5 seconds)"), ("'expression'", "unit")),
    ("rate zero", lambda: register_schedule("rate(0 minutes)"), ("'expression'",)),
    ("cron five fields", lambda: register_schedule("cron(0 3 * * *)"), ("'expression'", "6 fields")),
    ("cron both days set", lambda: register_schedule("cron(0 3 1 * MON *)"), ("'expression'", "'?'")),
    ("cron both days ?", lambda: register_schedule("cron(0 3 ? * ? *)"), ("'expression'", "'?'")),
    ("cron minute 60", lambda: register_schedule("cron(60 3 * * ? *)"), ("minutes", "0-59")),
    ("cron dow 0 (unix sunday)", lambda: register_schedule("cron(0 3 ? * 0 *)"), ("day-of-week", "1-7")),
    ("cron year", lambda: register_schedule("cron(0 3 * * ? 1969)"), ("year",)),
    ("cron # in dom", lambda: register_schedule("cron(0 3 1#2 * ? *)"), ("'#'",)),
    ("cron bad #", lambda: register_schedule("cron(0 3 ? * 2#6 *)"), ("1-5",)),
    ("not an expression", lambda: register_schedule("every day"), ("'expression'", "cron(")),
    ("bad timezone", lambda: register_schedule("rate(1 day)", timezone="Mars/Base"), ("'timezone'",)),
    ("http method", lambda: register_http("FETCH"), ("handler 'http_handler'", "'method'")),
    ("http no slash", lambda: register_http(path="items"), ("'path'", "start with '/'")),
    ("http trailing slash", lambda: register_http(path="/items/"), ("'path'",)),
    ("http empty segment", lambda: register_http(path="/a//b"), ("'path'", "empty")),
    ("http partial param", lambda: register_http(path="/a/x{id}"), ("'path'",)),
    ("http greedy not last", lambda: register_http(path="/a/{p+}/b"), ("'path'", "greedy")),
    ("http duplicate param", lambda: register_http(path="/a/{id}/{id}"), ("'path'", "twice")),
]


@pytest.mark.parametrize(("label", "build", "words"), BAD, ids=[b[0] for b in BAD])
def test_refuses(label: str, build: Callable[[], Any], words: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError) as info:
        build()
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} missing from: {message}"
    assert "Fix:" in message


def test_signature_mismatches() -> None:
    app = App("t")
    bucket = Bucket("uploads")

    def three(a: Any, b: Any, c: Any) -> None: ...
    def none() -> None: ...
    def kwonly(event: Any, *, flag: bool) -> None: ...

    with pytest.raises(ConfigError, match=r"handler 'three', argument 'fn': .*requires 3"):
        app.on_s3(bucket)(three)
    with pytest.raises(ConfigError, match=r"handler 'none', argument 'fn': .*takes 0"):
        app.on_s3(bucket)(none)
    with pytest.raises(ConfigError, match=r"handler 'kwonly', argument 'fn': .*keyword-only"):
        app.on_s3(bucket)(kwonly)
    app.on_schedule("rate(1 day)")(none)  # a schedule may take nothing

    def star(*args: Any) -> None: ...

    assert app.on_sqs(Queue("jobs"))(star) is star
    assert app.handler("star").arity == 2


def test_app_level_conflicts() -> None:
    app = App("t")
    uploads = Bucket("uploads")
    app.on_s3(uploads, prefix="in/", suffix=".jpg", name="a")(handler)
    # Same events, nested prefixes, overlapping suffixes: S3 rejects this pair.
    with pytest.raises(ConfigError, match=r"handler 'b', argument 's3': .*'a'.*overlapping"):
        app.on_s3(uploads, prefix="in/raw/", name="b")(handler)
    # Different suffixes do not overlap; different event families do not either.
    app.on_s3(uploads, prefix="in/", suffix=".png", name="c")(handler)
    app.on_s3(uploads, prefix="in/", suffix=".jpg", events=["removed"], name="d")(handler)
    with pytest.raises(ConfigError, match=r"handler 'e', argument 's3'"):
        app.on_s3(uploads, events=["s3:ObjectRemoved:Delete"], name="e")(handler)

    jobs = Queue("jobs")
    app.on_sqs(jobs, name="consumer")(handler)
    with pytest.raises(ConfigError, match=r"handler 'consumer2', argument 'sqs': .*both consume"):
        app.on_sqs(jobs, name="consumer2")(handler)

    app.on_http("GET", "/items/{id}", name="get_item")(http_handler)
    app.on_http("DELETE", "/items/{id}", name="delete_item")(http_handler)
    with pytest.raises(ConfigError, match=r"handler 'get2', argument 'http'"):
        app.on_http("GET", "/items/{other}", name="get2")(http_handler)

    with pytest.raises(ConfigError, match=r"handler 'a', argument 'name': .*already registered"):
        app.on_schedule("rate(1 day)", name="a")(http_handler)


def test_conflicting_resource_declarations() -> None:
    app = App("t")
    app.on_sqs(Queue("jobs", max_receive_count=3), name="one")(handler)
    with pytest.raises(ConfigError, match="disagree"):
        app.on_schedule("rate(1 day)", name="two", uses=[Queue("jobs", max_receive_count=5).send()])(handler)
    with pytest.raises(ConfigError, match="same environment variable"):
        app.declare(Bucket("my-files"), Bucket("my.files"))
