"""Any declaration gives a valid spec or one ConfigError: schedules, routes and every decorator argument.

Hypothesis builds the inputs (derandomized, so CI sees the same examples every run). An input that
validates must also work downstream: a schedule fires and describes itself, a route matches its
own paths. Nothing else (AttributeError, TypeError, OverflowError ...) may escape.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from flowfn import App, Bucket, ConfigError, Queue
from flowfn.triggers.http import HttpTrigger, match_path
from flowfn.triggers.schedule import ScheduleTrigger

FUZZ = settings(max_examples=200, deadline=None, derandomize=True)
NOW = datetime(2026, 11, 22, 10, 30, tzinfo=UTC)


class Order(BaseModel):
    id: str


def handler(event: Any, context: Any) -> None:
    """Takes what every trigger passes."""


uploads, jobs, orders = Bucket("uploads"), Queue("jobs"), Queue("orders.fifo")

#: Values of every sort, the wrong ones included.
anything = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**65), 2**65), st.floats(), st.text(max_size=12),
    st.binary(max_size=6), st.lists(st.text(max_size=4), max_size=3),
    st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2),
    st.sampled_from([uploads, jobs, orders, uploads.read(), jobs.send(), Order, object(), handler, str, ...]),
)

# -- schedules -------------------------------------------------------------------------------

_numbers = st.one_of(st.integers(0, 60), st.integers(1965, 2205), st.integers(-1, 10**6)).map(str)
_names = st.sampled_from(["JAN", "feb", "DEC", "MON", "fri", "SUN", "XYZ", "\u00b2", "\u0663", ""])
_atoms = st.one_of(_numbers, _names, st.sampled_from(["*", "?", "L", "LW", "W", "#"]))
_items = st.one_of(
    _atoms,
    st.builds(lambda a, b: f"{a}-{b}", _atoms, _atoms),
    st.builds(lambda a, step: f"{a}/{step}", _atoms, _numbers),
    st.builds(lambda a, suffix: f"{a}{suffix}", _numbers, st.sampled_from(["W", "L", "#1", "#5", "#6"])),
)
_field = st.lists(_items, min_size=1, max_size=3).map(",".join)


def _plausible(low: int, high: int, special: list[str]) -> st.SearchStrategy[str]:
    """Fields that are mostly in range, so that many expressions validate and are then checked."""
    number = st.integers(low, high).map(str)
    item = st.one_of(
        number, number, st.just("*"),
        st.builds(lambda a, b: f"{a}-{b}", number, number),
        st.builds(lambda a, step: f"{a}/{step}", st.one_of(st.just("*"), number), st.integers(1, high)),
    )
    listed = st.lists(item, min_size=1, max_size=3).map(",".join)
    return st.one_of(listed, listed, st.sampled_from(special)) if special else listed


@st.composite
def _six_fields(draw: st.DrawFn) -> str:
    by_week = draw(st.booleans())
    dom = "?" if by_week else draw(_plausible(1, 31, ["L", "LW", "15W", "31W", "?"]))
    dow = draw(_plausible(1, 7, ["5L", "2#1", "6#5", "L", "?"])) if by_week else "?"
    fields = [draw(_plausible(0, 59, [])), draw(_plausible(0, 23, [])), dom,
              draw(_plausible(1, 12, ["JAN-MAR", "FEB"])), dow, draw(_plausible(1970, 2199, ["*"]))]
    return " ".join(fields)


cron_bodies = st.one_of(
    _six_fields(), _six_fields(),
    st.lists(_field, min_size=6, max_size=6).map(" ".join),
    st.lists(_field, min_size=0, max_size=8).map(" ".join),
    st.text(max_size=30),
)
rate_bodies = st.one_of(
    st.builds(lambda n, unit: f"{n} {unit}", st.integers(-5, 10**10),
              st.sampled_from(["minute", "minutes", "hour", "hours", "day", "days", "second", "weeks"])),
    st.text(max_size=16),
)
expressions = st.one_of(
    cron_bodies.map(lambda body: f"cron({body})"), cron_bodies.map(lambda body: f"cron({body})"),
    rate_bodies.map(lambda body: f"rate({body})"),
    st.text(max_size=20), anything,
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(expressions, st.one_of(st.none(), st.sampled_from(["UTC", "Europe/Paris", "Nowhere/Else", ""]), anything))
def test_schedule_is_valid_or_config_error(expression: Any, timezone: Any) -> None:
    app = App("t")
    try:
        app.on_schedule(expression, timezone=timezone)(handler)
    except ConfigError as exc:
        assert exc.argument in ("expression", "timezone")
        return
    trigger = app.handlers[0].trigger
    assert isinstance(trigger, ScheduleTrigger)
    assert trigger.english()
    fires = trigger.next_fires(datetime(1969, 12, 31, tzinfo=UTC), 2)
    assert fires and all(t.year <= 2199 for t in fires)  # it fires at least once
    trigger.next_fires(NOW, 3)


# -- routes ----------------------------------------------------------------------------------

_segments = st.one_of(
    st.sampled_from(["items", "{id}", "{key+}", "{}", "{a b}", "{id", "id}", "", "..", "a%20b", "ü", "{+}",
                     "x{y}", "{_x1}", "{1x}"]),
    st.text(alphabet="abc{}+/%-_. ", max_size=6),
)
paths = st.one_of(
    st.lists(_segments, max_size=4).map(lambda parts: "/" + "/".join(parts)),
    st.text(max_size=16), anything,
)
methods = st.one_of(st.sampled_from(["GET", "get", "POST", "ANY", "FETCH", ""]), anything)


@FUZZ
@given(methods, paths)
def test_route_is_valid_or_config_error(method: Any, path: Any) -> None:
    app = App("t")
    try:
        app.on_http(method, path)(handler)
    except ConfigError as exc:
        assert exc.argument in ("method", "path")
        return
    trigger = app.handlers[0].trigger
    assert isinstance(trigger, HttpTrigger)
    concrete = "/" + "/".join("v" if s.startswith("{") else s for s in trigger.segments)
    assert match_path(trigger, concrete) is not None
    assert trigger.route_key and trigger.shape


# -- every decorator argument ----------------------------------------------------------------

COMMON = ("name", "memory_mb", "timeout_s", "ephemeral_storage_mb", "environment", "reserved_concurrency",
          "architecture", "log_level", "uses")
DECORATORS: dict[str, tuple[tuple[Any, ...], tuple[str, ...]]] = {
    "on_s3": ((uploads,), ("events", "prefix", "suffix", "batch", *COMMON)),
    "on_sqs": ((jobs,), ("batch_size", "batching_window_s", "batch", "model", "max_concurrency", *COMMON)),
    "on_schedule": (("rate(1 hour)",), ("timezone", "enabled", *COMMON)),
    "on_http": (("GET", "/items"), COMMON),
}


class Callable_:
    def __call__(self, event: Any, context: Any = None) -> None: ...


def no_arguments() -> None: ...
def keyword_only(event: Any, *, flag: bool) -> None: ...
def any_arguments(*args: Any, **kwargs: Any) -> None: ...


#: What gets decorated: mostly a fitting function, else other callables and other things.
decorated = st.one_of(
    st.just(handler), st.just(handler),
    st.sampled_from([no_arguments, keyword_only, any_arguments, Callable_(), Callable_, len, print,
                     functools.partial(handler, None), lambda event: None]),
    anything,
)


@st.composite
def declarations(draw: st.DrawFn) -> tuple[str, tuple[Any, ...], dict[str, Any], Any]:
    decorator = draw(st.sampled_from(sorted(DECORATORS)))
    positional, names = DECORATORS[decorator]
    if draw(st.booleans()):  # a wrong value in the first positional place
        positional = (draw(anything), *positional[1:])
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
    return decorator, positional, {name: draw(anything) for name in chosen}, draw(decorated)


@FUZZ
@given(declarations())
def test_every_argument_is_valid_or_config_error(
    declaration: tuple[str, tuple[Any, ...], dict[str, Any], Any],
) -> None:
    decorator, positional, keywords, fn = declaration
    app = App("t")
    try:
        getattr(app, decorator)(*positional, **keywords)(fn)
    except ConfigError as exc:
        assert exc.where is not None and exc.where.startswith(__file__)
        return
    (registered,) = app.handlers
    assert registered.settings.name


@pytest.mark.parametrize(
    ("decorator", "args", "keywords", "argument"),
    [
        ("on_http", ("GET", 42), {}, "path"),
        ("on_http", ("GET", None), {}, "path"),
        ("on_http", ("GET", b"/items"), {}, "path"),
        ("on_http", (["GET"], "/items"), {}, "method"),
        ("on_s3", (uploads,), {"events": 3}, "events"),
        ("on_s3", (uploads,), {"events": [None]}, "events"),
        ("on_s3", (uploads,), {"prefix": 5}, "prefix"),
        ("on_s3", (uploads,), {"suffix": None}, "suffix"),
        ("on_s3", (uploads,), {"batch": "yes"}, "batch"),
        ("on_sqs", (jobs,), {"batch": 1}, "batch"),
        ("on_schedule", ("rate(1 hour)",), {"name": 5}, "name"),
        ("on_schedule", ("rate(1 hour)",), {"environment": ["A"]}, "environment"),
        ("on_schedule", ("rate(1 hour)",), {"uses": 5}, "uses"),
        ("on_schedule", ("rate(1 hour)",), {"uses": uploads.read()}, "uses"),
        ("on_schedule", ("rate(1 hour)",), {"architecture": ["arm64"]}, "architecture"),
        ("on_schedule", ("rate(1 hour)",), {"log_level": {}}, "log_level"),
        ("on_schedule", ("rate(1 hour)",), {"memory_mb": 256.0}, "memory_mb"),
    ],
)
def test_a_value_of_the_wrong_type_is_a_config_error(decorator: str, args: tuple[Any, ...],
                                                     keywords: dict[str, Any], argument: str) -> None:
    with pytest.raises(ConfigError) as caught:
        getattr(App("t"), decorator)(*args, **keywords)(handler)
    assert caught.value.argument == argument


# -- declared resources ------------------------------------------------------------------------

QUEUE_OPTIONS = ("max_receive_count", "visibility_timeout_s", "retention_s", "delay_s",
                 "content_based_deduplication", "existing")
names = st.one_of(st.sampled_from(["uploads", "jobs", "orders.fifo", "Bad_Name", "ab"]), anything)


@FUZZ
@given(names, st.one_of(st.none(), names), st.one_of(st.just(""), anything))
def test_a_bucket_is_valid_or_config_error(name: Any, existing: Any, prefix: Any) -> None:
    try:
        bucket = Bucket(name, existing=existing)
        bucket.read(prefix)
    except ConfigError:
        return
    assert bucket.logical_name == name


@FUZZ
@given(names, st.dictionaries(st.sampled_from(QUEUE_OPTIONS), anything, max_size=3))
def test_a_queue_is_valid_or_config_error(name: Any, options: dict[str, Any]) -> None:
    try:
        queue = Queue(name, **options)
    except ConfigError:
        return
    assert queue.logical_name == name
