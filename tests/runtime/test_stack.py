"""Tracebacks in log lines: the text Python prints, without its ``^^^`` marker lines."""

from __future__ import annotations

import functools
import json
import re
import traceback
from collections.abc import Callable
from typing import Any

import pytest

from flowfn import App, Queue, SqsRecord
from flowfn.runtime import dispatch
from flowfn.runtime.stack import exception_keys, format_exception


def python_text(exc: BaseException, markers: bool = False) -> str:
    text = "".join(traceback.format_exception(exc)).rstrip("\n")
    if markers:
        return text
    return "\n".join(line for line in text.split("\n") if not re.fullmatch(r"\s*[~^]+\s*", line))


def raised(fn: Callable[[], Any]) -> BaseException:
    try:
        fn()
    except BaseException as exc:  # whatever it raised is the point
        return exc
    raise AssertionError("expected an exception")


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no")


class Custom(Exception):
    pass


def plain() -> None:
    {}["missing"]


def caused() -> None:
    try:
        plain()
    except KeyError as exc:
        raise Custom("wrapped") from exc


def during() -> None:
    try:
        caused()
    except Custom:
        error = ValueError("while handling")
        error.add_note("first note")
        error.add_note("second\nnote")
        raise error  # noqa: B904 - implicitly chained: "during handling of the above"


def suppressed() -> None:
    try:
        plain()
    except KeyError:
        raise ValueError("context hidden") from None


def recurse(n: int) -> int:
    return recurse(n + 1) if n < 40 else int("x")


@pytest.mark.parametrize(
    "fn",
    [plain, caused, during, suppressed, lambda: recurse(0), lambda: (_ for _ in ()).throw(Unprintable())],
    ids=["plain", "cause", "context-and-notes", "suppressed", "recursion", "unprintable"],
)
def test_text_is_pythons_without_markers(fn: Callable[[], Any]) -> None:
    exc = raised(fn)
    assert format_exception(exc) == python_text(exc)


def group() -> None:
    try:
        plain()
    except KeyError as exc:
        raise ExceptionGroup("many", [exc, ValueError(1)]) from None


@pytest.mark.parametrize("fn", [lambda: exec("x = (", {}), group], ids=["syntax", "group"])
def test_syntax_errors_and_groups_are_pythons_own_text(fn: Callable[[], Any]) -> None:
    exc = raised(fn)
    assert format_exception(exc) == python_text(exc, markers=True)


def odd() -> None:
    error = KeyError("«ü»\n\u2028\x00\x1f \"q\" \\")
    error.__notes__ = "not a list"  # type: ignore[attr-defined]
    raise error


@pytest.mark.parametrize(
    "fn",
    [plain, caused, during, suppressed, lambda: recurse(0), lambda: (_ for _ in ()).throw(Unprintable()),
     lambda: exec("x = (", {}), group, odd],
    ids=["plain", "cause", "context-and-notes", "suppressed", "recursion", "unprintable", "syntax", "group",
         "escapes"],
)
def test_the_json_form_is_the_text_as_json_writes_it(fn: Callable[[], Any]) -> None:
    exc = raised(fn)
    for _ in range(2):  # the frames' text is kept after the first time
        assert format_exception(exc, json=True) == json.dumps(format_exception(exc), ensure_ascii=False)


def test_an_exception_never_raised_has_no_traceback() -> None:
    assert format_exception(Custom("alone")) == f"{__name__}.Custom: alone"
    assert format_exception(ValueError()) == "ValueError"


def test_keys_are_named_as_powertools_names_them() -> None:
    exc = raised(during)
    keys = exception_keys(exc)
    assert keys["exception_name"] == "ValueError"
    assert keys["exception_notes"] == ["first note", "second\nnote"]
    assert keys["exception"].endswith("ValueError: while handling\nfirst note\nsecond\nnote")
    assert "exception_notes" not in exception_keys(raised(plain))


def test_a_failed_sqs_message_logs_its_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    app = App("t")

    @app.on_sqs(Queue("jobs"), name="work")
    def work(record: SqsRecord) -> None:
        raise RuntimeError(f"cannot do {record.body}")

    event = {"Records": [{"messageId": "m1", "body": "job-1", "attributes": {}, "messageAttributes": {}}]}
    assert dispatch(app.handler("work"), event, None) == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert "traceback under 'exception'" in line["message"]
    assert (line["message_id"], line["exception_name"], line["error"]) == ("m1", "RuntimeError", "cannot do job-1")
    text = line["exception"]
    assert text.startswith("Traceback (most recent call last):\n")
    assert 'raise RuntimeError(f"cannot do {record.body}")' in text
    assert text.endswith("RuntimeError: cannot do job-1")
    assert "^^^" not in text


def test_code_loaded_again_from_an_edited_file_shows_its_new_lines(tmp_path: Any) -> None:
    import importlib.util

    path = tmp_path / "edited_handler.py"

    def load_and_fail(source: str) -> str:
        path.write_text(source)
        spec = importlib.util.spec_from_file_location("edited_handler", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return format_exception(raised(module.handle))

    assert "raise ValueError('first')" in load_and_fail("def handle():\n    raise ValueError('first')\n")
    second = load_and_fail("def handle():\n    raise ValueError('second, longer')\n")
    assert "raise ValueError('second, longer')" in second and "'first'" not in second


def test_frames_of_one_function_at_several_lines_show_each_line() -> None:
    def fail(where: int) -> None:
        if where == 1:
            raise ValueError("first")
        if where == 2:
            raise KeyError("second")
        int("third")

    for _ in range(2):  # the second time, each frame's text is one kept from the first
        for where in (1, 2, 3):
            exc = raised(functools.partial(fail, where))
            assert format_exception(exc) == python_text(exc)
